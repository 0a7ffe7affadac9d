import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from amt_helpers import data
from amt_helpers.notes import read_midi

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", data.example_names())
def test_load_example(name):
    x, sr, notes = data.load_example(name)
    assert sr == 22050 and x.dtype == np.float32 and x.ndim == 1
    assert notes == data.example_notes(name) or all(
        abs(a.onset - b.onset) < 1e-5 and a.pitch == b.pitch for a, b in zip(notes, data.example_notes(name))
    )
    # The audio covers the notes and is not silent where they play.
    last_offset = max(n.offset for n in notes)
    assert len(x) / sr >= last_offset
    assert np.sqrt(np.mean(x ** 2)) > 0.01
    # The committed MIDI holds the same notes.
    midi_notes = read_midi(data.example_path(name, "mid"))
    assert [n.pitch for n in midi_notes] == [n.pitch for n in notes]


def test_example_definitions():
    assert data.example_names() == ["scale", "bach_prelude", "cadence", "bach_prelude_recorded"]
    assert data.example_notes("bach_prelude_recorded") == data.example_notes("bach_prelude")
    scale = data.example_notes("scale")
    assert [n.pitch for n in scale] == [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60]
    bach = data.example_notes("bach_prelude")
    assert sorted({n.pitch for n in bach}) == [59, 60, 62, 64, 67, 69, 72, 74, 76, 77]
    # Bar 1, first half bar: C4 held 8 sixteenths, E4 7, then G C E G C E as sixteenths.
    sixteenth = bach[1].onset - bach[0].onset
    first_half = bach[:8]
    assert [n.pitch for n in first_half] == [60, 64, 67, 72, 76, 67, 72, 76]
    assert [round((n.offset - n.onset) / sixteenth) for n in first_half] == [8, 7, 1, 1, 1, 1, 1, 1]
    cadence = data.example_notes("cadence")
    onsets = {}
    for n in cadence:
        onsets.setdefault(round(n.onset, 3), []).append(n.pitch)
    assert max(len(v) for v in onsets.values()) >= 5  # chords in two hands
    assert min(n.pitch for n in cadence) < 48 < 72 < max(n.pitch for n in cadence)


def test_unknown_example_lists_names():
    with pytest.raises(KeyError, match="valid names: scale, bach_prelude, cadence, bach_prelude_recorded"):
        data.load_example("moonlight")
    with pytest.raises(KeyError, match="valid names"):
        data.example_piano("moonlight")


def test_every_example_has_a_piano_with_its_provenance_in_the_manifest():
    from amt_helpers import sampler

    manifest = data.read_manifest()
    assert manifest["examples"] == {name: data.example_piano(name) for name in data.example_names()}
    assert data.example_piano("bach_prelude") == data.SOUNDFONT_PIANO == "FluidR3_GM"
    recorded = {piano for piano in data.EXAMPLE_PIANOS.values() if piano != data.SOUNDFONT_PIANO}
    assert recorded == {"vsco2"} == set(manifest["recorded_pianos"])
    for piano in recorded:
        entry = manifest["recorded_pianos"][piano]
        assert entry["npm_archives_sha256"] == sampler.SAMPLE_SETS[piano].archives
        assert "CC BY 3.0" in entry["licence"]  # the credit the licence asks for


def test_verify_detects_corruption_and_missing(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, copy)
    assert data.verify(copy) == []
    target = copy / "scale.flac"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    (copy / "cadence.csv").unlink()
    assert data.verify(copy) == ["cadence.csv: missing", "scale.flac: corrupt (SHA-256 differs from the manifest)"]


@pytest.mark.parametrize("manifest, problem", [
    ("{}", 'has no "files" table'),
    ("[]", 'has no "files" table'),
    ('{"files": []}', 'has no "files" table'),
    ('{"files": {}}', "manifest: scale.flac is not listed"),
    (b"\xff\xfe", "manifest: 'utf-8' codec can't decode"),
])
def test_verify_names_a_malformed_manifest(tmp_path, manifest, problem):
    path = tmp_path / data.MANIFEST_NAME
    path.write_bytes(manifest if isinstance(manifest, bytes) else manifest.encode())
    assert any(problem in line for line in data.verify(tmp_path)), data.verify(tmp_path)


def test_verify_wants_every_example_listed_by_a_plain_name(tmp_path):
    import json

    copy = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, copy)
    manifest = json.loads((copy / data.MANIFEST_NAME).read_text())
    del manifest["files"]["scale.flac"]
    manifest["files"]["../README.md"] = "0" * 64
    manifest["files"]["cadence.mid"] = 42
    (copy / data.MANIFEST_NAME).write_text(json.dumps(manifest))
    assert data.verify(copy) == ["manifest: scale.flac is not listed",
                                 "manifest: '../README.md' is not a plain file name in data/",
                                 "manifest: the SHA-256 of cadence.mid is not 64 hex digits: 42"]


def test_example_path_knows_its_kinds():
    assert data.example_path("scale", "csv").name == "scale.csv"
    with pytest.raises(ValueError, match="kind must be one of flac, mid, csv, got '../x'"):
        data.example_path("scale", "../x")


def test_a_failed_render_leaves_the_data_folder_as_it_was(tmp_path, monkeypatch):
    from amt_helpers import sampler

    copy = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    tone = np.sin(2 * np.pi * 440 * np.arange(2205) / data.SAMPLE_RATE).astype(np.float32)
    monkeypatch.setattr(data, "render_notes", lambda notes, soundfont: 0.5 * tone)  # other audio than shipped
    monkeypatch.setattr(data, "renderer_version", lambda name="fluidsynth": "FluidSynth 0.0")

    def no_samples(sample_set, folder):
        raise RuntimeError("npm is needed to fetch the samples")

    monkeypatch.setattr(sampler, "fetch", no_samples)  # the last example fails, after three rendered
    soundfont = tmp_path / "piano.sf2"
    soundfont.write_bytes(b"a SoundFont")
    with pytest.raises(RuntimeError, match="npm"):
        data.render_examples(copy, soundfont, samples_cache=tmp_path)
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == before
    with pytest.raises(data.RendererMissing, match="SoundFont not found"):
        data.render_examples(copy, tmp_path / "typo.sf2", samples_cache=tmp_path)


def test_an_empty_amt_data_dir_means_the_default(tmp_path):
    env = {**os.environ, "AMT_DATA_DIR": ""}
    code = "from amt_helpers import data; print(data.DATA_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert Path(out.stdout.strip()) == ROOT / "data", out.stderr


def test_verify_without_manifest(tmp_path):
    problems = data.verify(tmp_path)
    assert len(problems) == 1 and "manifest not found" in problems[0]


def _data_fetch(*args, env_data=None):
    env = None
    if env_data is not None:
        import os

        env = {**os.environ, "AMT_DATA_DIR": str(env_data)}
    return subprocess.run([sys.executable, str(ROOT / "data_fetch.py"), *args], capture_output=True, text=True, env=env)


def test_data_fetch_cli_verifies(tmp_path):
    ok = _data_fetch()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "data OK" in ok.stdout
    copy = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, copy)
    with open(copy / "bach_prelude.flac", "r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 1]))
    bad = _data_fetch(env_data=copy)
    assert bad.returncode == 1
    assert "bach_prelude.flac: corrupt" in bad.stdout
    (copy / "piano_dictionary.npz").write_bytes(b"truncated")
    bad = _data_fetch(env_data=copy)
    assert bad.returncode == 1 and "piano_dictionary.npz: " in bad.stdout and "not a dictionary" in bad.stdout


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth not installed")
def test_render_notes_makes_sound():
    from amt_helpers.notes import Note

    x = data.render_notes([Note(0.1, 0.6, 69, 100)], data.find_soundfont(), tail=0.2)
    assert len(x) == int(round(0.8 * 22050))
    spectrum = np.abs(np.fft.rfft(x[2205:11025]))
    peak_hz = np.argmax(spectrum) * 22050 / len(x[2205:11025])
    assert abs(peak_hz - 440) < 10  # A4 sounds at 440 Hz


FREEPATS = "/etc/timidity/freepats.cfg"


@pytest.mark.skipif(shutil.which("timidity") is None or not os.path.isfile(FREEPATS),
                    reason="TiMidity++ and FreePats not installed")
def test_render_notes_with_timidity_and_gus_patches():
    from amt_helpers.notes import Note

    x = data.render_notes([Note(0.1, 0.6, 69, 100)], FREEPATS, tail=0.2)
    assert len(x) == int(round(0.8 * 22050))
    # The note starts at 0.1 s, not at 0 (TiMidity++ drops leading silence by default).
    assert np.abs(x[: int(0.09 * 22050)]).max() < 0.01 * np.abs(x).max()
    spectrum = np.abs(np.fft.rfft(x[2205:11025]))
    peak_hz = np.argmax(spectrum) * 22050 / len(x[2205:11025])
    assert abs(peak_hz - 440) < 10


def test_render_notes_names_the_missing_renderer(monkeypatch, tmp_path):
    from amt_helpers.notes import Note

    monkeypatch.setattr(data.shutil, "which", lambda name: None)
    with pytest.raises(data.RendererMissing, match="apt-get install timidity"):
        data.render_notes([Note(0.1, 0.6, 69, 100)], tmp_path / "patches.cfg")
    with pytest.raises(data.RendererMissing, match="apt-get install fluidsynth"):
        data.render_notes([Note(0.1, 0.6, 69, 100)], tmp_path / "piano.sf2")


def test_find_soundfont_missing(tmp_path):
    with pytest.raises(data.RendererMissing, match="apt-get install"):
        data.find_soundfont([tmp_path / "none.sf2"])


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth not installed")
def test_rendering_reproduces_the_committed_files(tmp_path):
    try:
        soundfont = data.find_soundfont()
    except data.RendererMissing:
        pytest.skip("FluidR3_GM SoundFont not installed")
    if data.sha256(soundfont) != data.read_manifest()["soundfont"]["sha256"]:
        pytest.skip("a different FluidR3_GM build is installed")
    from amt_helpers import sampler

    cache = ROOT / "build"
    for piano in data.read_manifest()["recorded_pianos"]:
        try:
            sampler.fetch(sampler.SAMPLE_SETS[piano], cache / piano)
        except RuntimeError as err:  # no npm, or offline
            pytest.skip(f"the {piano} samples cannot be fetched: {err}")
    data.render_examples(tmp_path, soundfont, samples_cache=cache)
    assert data.read_manifest(tmp_path)["files"] == data.read_manifest()["files"]


def test_manifest_names_the_soundfont_that_really_played(tmp_path, monkeypatch):
    """Another SoundFont than FluidR3_GM must not be recorded as FluidR3_GM."""
    from amt_helpers import sampler

    tone = np.sin(2 * np.pi * 440 * np.arange(2205) / data.SAMPLE_RATE).astype(np.float32)
    monkeypatch.setattr(data, "render_notes", lambda notes, soundfont: tone)
    monkeypatch.setattr(data, "renderer_version", lambda name="fluidsynth": "FluidSynth 0.0")
    monkeypatch.setattr(sampler, "fetch", lambda sample_set, folder: folder)
    monkeypatch.setattr(sampler, "render", lambda notes, sample_set, folder, sr: tone)
    soundfont = tmp_path / "MyGrand.sf2"
    soundfont.write_bytes(b"not really a SoundFont")
    data.render_examples(tmp_path / "out", soundfont, samples_cache=tmp_path)
    manifest = data.read_manifest(tmp_path / "out")
    assert manifest["soundfont"]["name"] == "MyGrand.sf2"
    assert manifest["soundfont"]["sha256"] == data.sha256(soundfont)
    assert manifest["examples"] == {name: "MyGrand" if piano == data.SOUNDFONT_PIANO else piano
                                    for name, piano in data.EXAMPLE_PIANOS.items()}
    assert data.verify(tmp_path / "out") == []

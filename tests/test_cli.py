"""The command line: round trip on a shipped example, one-line errors with status 2, silence."""

import json
import subprocess
import sys

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from amt_helpers import cli
from amt_helpers.data import example_path
from amt_helpers.notes import read_csv, read_midi


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_round_trip_on_shipped_example(tmp_path, capsys):
    mid, csv = tmp_path / "scale.mid", tmp_path / "scale.csv"
    code, out, err = run(capsys, "transcribe", str(example_path("scale")), "-o", str(mid), "--csv", str(csv))
    assert code == 0, err
    assert "notes from" in out and "real-time factor" in out
    notes = read_midi(mid)
    assert len(notes) > 0
    assert [n.pitch for n in read_csv(csv)] == [n.pitch for n in notes]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scale.csv", "scale.mid"]  # no temp files left

    code, out, err = run(capsys, "evaluate", str(example_path("scale", "mid")), str(mid))
    assert code == 0 and "note (onset, 50 ms)" in out
    code, out, err = run(capsys, "evaluate", str(example_path("scale", "csv")), str(csv), "--json")
    metrics = json.loads(out)
    assert metrics["note_f"] > 0.8 and set(metrics) >= {"note_offset_f", "frame_f"}


def test_score_informed_pitches(tmp_path, capsys):
    mid = tmp_path / "s.mid"
    code, _, err = run(capsys, "transcribe", str(example_path("scale")), "-o", str(mid), "--pitches", "60,62,64-65,67,69,71,72", "-q")
    assert code == 0, err
    assert {n.pitch for n in read_midi(mid)} <= {60, 62, 64, 65, 67, 69, 71, 72}


def test_preset_reaches_transcribe(tmp_path, capsys, monkeypatch):
    import amt_helpers.transcribe as tr

    seen = {}
    real = tr.transcribe

    def spy(x, sr, **kw):
        seen.update(kw)
        return real(x, sr, **kw)

    monkeypatch.setattr(tr, "transcribe", spy)
    mid = tmp_path / "o.mid"
    code, _, err = run(capsys, "transcribe", str(example_path("scale")), "-o", str(mid), "--preset", "acoustic", "-q")
    assert code == 0, err
    assert seen["preset"] == "acoustic" and seen["pitches"] is None
    assert [n.pitch for n in read_midi(mid)][:3] == [60, 62, 64]


@pytest.mark.parametrize(
    "make, argv, message",
    [
        (None, ["transcribe", "{tmp}/missing.wav", "-o", "{tmp}/o.mid"], "not found"),
        ("junk", ["transcribe", "{tmp}/junk.wav", "-o", "{tmp}/o.mid"], "cannot read"),
        (None, ["transcribe", "{tmp}/a.xyz", "-o", "{tmp}/o.mid"], "unknown audio extension"),
        ("nan", ["transcribe", "{tmp}/nan.wav", "-o", "{tmp}/o.mid"], "NaN"),
        ("empty", ["transcribe", "{tmp}/empty.wav", "-o", "{tmp}/o.mid"], "empty"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/nodir/o.mid"], "does not exist"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.txt"], "unknown extension"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--csv", "{tmp}/o.mid"], "unknown extension"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--pitches", "60,x"], "--pitches"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--pitches", "12"], "piano key"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--pitches", "72-60"], "--pitches"),
        (None, ["evaluate", "{tmp}/a.mid", "{tmp}/b.mid"], "not found"),
        (None, ["evaluate", "{tmp}/a.txt", "{tmp}/b.mid"], "unknown extension"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--preset", "concert"], "invalid choice"),
        ("folder", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/out.mid"], "is a folder"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--offset-ratio", "-0.1"],
         "--offset-ratio must be a number >= 0, got -0.1"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--min-duration", "inf"],
         "--min-duration must be a number >= 0, got inf"),
        ("tone", ["transcribe", "{tmp}/tone.wav", "-o", "{tmp}/o.mid", "--threshold", "0"], "--threshold must be > 0"),
        (None, ["frobnicate"], "invalid choice"),
        (None, ["transcribe"], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, make, argv, message):
    if make == "junk":
        (tmp_path / "junk.wav").write_text("not audio")
    elif make == "nan":
        sf.write(tmp_path / "nan.wav", np.full(100, np.nan), 22050, subtype="FLOAT")
    elif make == "empty":
        sf.write(tmp_path / "empty.wav", np.zeros(0), 22050)
    elif make in ("tone", "folder"):
        sf.write(tmp_path / "tone.wav", 0.1 * np.sin(np.arange(22050) * 0.1), 22050)
        if make == "folder":
            (tmp_path / "out.mid").mkdir()
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not (tmp_path / "o.mid").exists()


def test_silence_gives_empty_midi_and_warning(tmp_path, capsys):
    sf.write(tmp_path / "silence.wav", np.zeros(22050), 22050)
    code, out, err = run(capsys, "transcribe", str(tmp_path / "silence.wav"), "-o", str(tmp_path / "s.mid"))
    assert code == 0
    assert "warning" in err and "silent" in err
    assert read_midi(tmp_path / "s.mid") == []
    pretty_midi.PrettyMIDI(str(tmp_path / "s.mid"))  # a valid MIDI file


def test_failed_run_leaves_existing_output_untouched(tmp_path, capsys):
    out = tmp_path / "o.mid"
    out.write_bytes(b"previous")
    (tmp_path / "bad.wav").write_text("junk")
    code, _, _ = run(capsys, "transcribe", str(tmp_path / "bad.wav"), "-o", str(out))
    assert code == 2 and out.read_bytes() == b"previous"


def test_a_csv_that_cannot_be_written_leaves_the_midi_file_as_it_was(tmp_path, capsys, monkeypatch):
    from amt_helpers import notes

    def disk_full(path, rows):
        raise OSError(28, "No space left on device")

    out = tmp_path / "o.mid"
    out.write_bytes(b"previous")
    monkeypatch.setattr(notes, "_write_csv_to", disk_full)
    code, _, err = run(capsys, "transcribe", str(example_path("scale")), "-o", str(out), "--csv", str(tmp_path / "o.csv"))
    assert code == 2 and err.count("\n") == 1
    assert "cannot write" in err and "No space left on device; nothing was written" in err
    assert out.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["o.mid"]


def test_an_output_name_too_long_for_the_file_system_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "transcribe", str(example_path("scale")), "-o", str(tmp_path / ("x" * 300 + ".mid")))
    assert code == 2 and err.count("\n") == 1 and "too long" in err


def test_help_explains_every_option():
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["transcribe"].format_help()
    for option in ("-o", "--csv", "--pitches", "--preset", "--threshold", "--offset-ratio", "--min-duration", "--quiet"):
        assert option in help_text
    evaluate_help = cli.build_parser()._subparsers._group_actions[0].choices["evaluate"].format_help()
    assert "--json" in evaluate_help and "REF" in evaluate_help


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "amt_helpers", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "transcribe" in result.stdout and "evaluate" in result.stdout


@pytest.mark.parametrize("content", [None, b"not a dictionary"])
def test_missing_or_broken_dictionary_is_one_line_and_status_1(tmp_path, capsys, monkeypatch, content):
    import amt_helpers.dictionary as dictionary

    fake = tmp_path / "piano_dictionary.npz"
    if content is not None:
        fake.write_bytes(content)
    monkeypatch.setattr(dictionary, "DEFAULT_PATH", fake)
    mid = tmp_path / "o.mid"
    code, _, err = run(capsys, "transcribe", str(example_path("scale")), "-o", str(mid))
    assert code == 1 and not mid.exists()
    assert len(err.strip().splitlines()) == 1 and str(fake) in err
    assert ("not found" in err) if content is None else ("not a dictionary" in err)

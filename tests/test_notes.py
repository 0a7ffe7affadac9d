import pytest

from amt_helpers import notes as notes_mod
from amt_helpers.notes import Note, read_csv, read_notes, validate_notes, write_notes

SAMPLE = [Note(0.5, 1.0, 64, 90), Note(0.0, 0.75, 60, 80), Note(0.5, 2.0, 48, 70)]


@pytest.mark.parametrize("ext", [".mid", ".csv"])
def test_roundtrip_sorted(tmp_path, ext):
    path = write_notes(tmp_path / f"n{ext}", SAMPLE)
    back = read_notes(path)
    assert [n.pitch for n in back] == [60, 48, 64]
    for got, want in zip(back, sorted(SAMPLE, key=lambda n: (n.onset, n.pitch))):
        assert got.onset == pytest.approx(want.onset, abs=2e-3)
        assert got.offset == pytest.approx(want.offset, abs=2e-3)
        assert (got.pitch, got.velocity) == (want.pitch, want.velocity)


def test_csv_has_header(tmp_path):
    write_notes(tmp_path / "n.csv", SAMPLE)
    assert (tmp_path / "n.csv").read_text().splitlines()[0] == "onset,offset,pitch,velocity"


def test_empty_roundtrip(tmp_path):
    for ext in (".mid", ".csv"):
        assert read_notes(write_notes(tmp_path / f"e{ext}", [])) == []


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (Note(1.0, 1.0, 60, 80), "ends before"),
        (Note(-1.0, 1.0, 60, 80), "before 0"),
        (Note(0.0, 1.0, 128, 80), "pitch 128"),
        (Note(0.0, float("nan"), 60, 80), "non-finite"),
        (Note(0.0, 1.0, 60, 128), r"notes\[0\] has velocity 128, outside MIDI's 0-127"),
    ],
)
def test_validate_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        notes_mod.validate_notes([bad])


def test_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="unknown note file extension '.txt'"):
        write_notes(tmp_path / "n.txt", SAMPLE)
    with pytest.raises(ValueError, match="unknown note file extension"):
        read_notes(tmp_path / "n.txt")


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="note file not found"):
        read_notes(tmp_path / "none.mid")
    (tmp_path / "bad.mid").write_bytes(b"MThd garbage")
    with pytest.raises(ValueError, match="cannot read MIDI file"):
        read_notes(tmp_path / "bad.mid")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="expected a header"):
        read_notes(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("onset,offset,pitch,velocity\n0.1,x,60,80\n")
    with pytest.raises(ValueError, match="line 2"):
        read_notes(tmp_path / "bad2.csv")


def test_to_arrays_and_pitch_set():
    intervals, pitches = notes_mod.to_arrays(SAMPLE)
    assert intervals.shape == (3, 2) and list(pitches) == [64, 60, 48]
    assert notes_mod.pitch_set(SAMPLE) == [48, 60, 64]
    empty_i, empty_p = notes_mod.to_arrays([])
    assert empty_i.shape == (0, 2) and empty_p.shape == (0,)


@pytest.mark.parametrize("item, message", [
    ((0.0, 1.0, 60.7), "pitch 60.7, not a whole MIDI number"),
    ((0.0, 1.0, float("nan")), "pitch nan"),
    ((0.0, 1.0, 60, 80.5), "velocity 80.5"),
    ((0.0, 1.0), r"not \(onset, offset, pitch"),
    (("soon", 1.0, 60), r"not \(onset, offset, pitch"),
])
def test_validate_notes_refuses_what_is_not_a_note(item, message):
    with pytest.raises(ValueError, match=message):
        validate_notes([Note(0.0, 0.5, 60, 80), item], name="est")
    with pytest.raises(ValueError, match=r"est\[1\]"):
        validate_notes([Note(0.0, 0.5, 60, 80), item], name="est")


def test_whole_float_pitches_are_accepted_and_a_binary_csv_is_named(tmp_path):
    assert validate_notes([(0.0, 1.0, 60.0, 80.0)]) == [Note(0.0, 1.0, 60, 80)]
    path = tmp_path / "notes.csv"
    path.write_bytes(b"onset,offset,pitch\n\xff\xfe")
    with pytest.raises(ValueError, match="notes.csv is not a UTF-8 text file"):
        read_csv(path)


def test_csv_blank_lines_are_skipped_and_velocity_defaults_to_80(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("onset,offset,pitch\n0.5,1.0,60\n\n0.0,0.4,64\n")
    assert notes_mod.read_csv(path) == [Note(0.0, 0.4, 64, 80), Note(0.5, 1.0, 60, 80)]

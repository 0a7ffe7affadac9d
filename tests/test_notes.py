import warnings

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


def test_a_csv_from_a_spreadsheet_with_whole_floats_reads(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("onset,offset,pitch,velocity\n0.0,1.0,60.0,80.0\n0.5,1.0,61.5,80\n")
    with pytest.raises(ValueError, match=r"n.csv row\[1\] has pitch 61.5, not a whole MIDI number"):
        read_csv(path)
    path.write_text("onset,offset,pitch,velocity\n0.0,1.0,60.0,80.0\n")
    assert read_csv(path) == [Note(0.0, 1.0, 60, 80)]
    path.write_text("onset,offset,pitch\n0.0,1.0\n")
    with pytest.raises(ValueError, match=r"line 2: cannot parse .*\(too few fields\)"):
        read_csv(path)


def test_a_note_shorter_than_the_csv_resolution_is_refused_not_written(tmp_path):
    path = tmp_path / "n.csv"
    with pytest.raises(ValueError, match="shorter than a microsecond"):
        notes_mod.write_csv(path, [Note(1.0000001, 1.0000004, 60)])
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_overlapping_notes_of_one_key_are_ended_at_the_next_onset_in_midi(tmp_path):
    # A MIDI key cannot be down twice: pretty_midi would end both notes at the first note-off.
    notes = [Note(0.0, 1.0, 60, 90), Note(0.5, 2.0, 60, 70), Note(3.0, 3.5, 62), Note(3.0, 4.0, 62), Note(0.2, 0.8, 64)]
    with pytest.warns(UserWarning, match=r"2 note\(s\) overlapped"):
        path = notes_mod.write_midi(tmp_path / "o.mid", notes)
    back = read_notes(path)
    assert [(n.pitch, round(n.onset, 3), round(n.offset, 3)) for n in back] == [
        (60, 0.0, 0.5), (64, 0.2, 0.8), (60, 0.5, 2.0), (62, 3.0, 4.0)]  # the longer of the two D4s


def test_midi_keeps_a_note_shorter_than_a_tick_and_checks_the_program(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # lengthening a note to one tick is not worth a warning
        back = read_notes(notes_mod.write_midi(tmp_path / "s.mid", [Note(1.0, 1.0001, 72), Note(0.0, 0.5, 60)]))
    assert [n.pitch for n in back] == [60, 72]
    assert back[1].offset - back[1].onset == pytest.approx(notes_mod.MIDI_TICK, abs=1e-4)
    for program in (-1, 128, 1.5, True):
        with pytest.raises(ValueError, match="program must be a General MIDI program number 0-127"):
            notes_mod.notes_to_midi([Note(0.0, 0.5, 60)], program=program)


def test_write_note_files_writes_all_or_none(tmp_path):
    mid, csv_path = tmp_path / "a.mid", tmp_path / "a.csv"
    mid.write_bytes(b"old midi")
    # The CSV cannot hold a note shorter than a microsecond: neither file is written.
    with pytest.raises(ValueError, match="microsecond"):
        notes_mod.write_note_files([Note(0.0, 0.5, 60), Note(1.0, 1.0000002, 62)], mid, csv_path)
    assert mid.read_bytes() == b"old midi" and not csv_path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid"]
    assert notes_mod.write_note_files(SAMPLE, mid, csv_path) == [mid, csv_path]
    assert read_notes(csv_path) == validate_notes(SAMPLE)
    assert [n.pitch for n in read_notes(mid)] == [60, 48, 64]
    with pytest.raises(ValueError, match="unknown note file extension '.txt'"):
        notes_mod.write_note_files(SAMPLE, tmp_path / "a.txt")


def test_atomic_writes_keep_permissions_and_take_any_legal_name(tmp_path):
    import os

    private = tmp_path / "private.csv"
    private.write_text("x")
    os.chmod(private, 0o600)
    write_notes(private, SAMPLE)
    assert oct(os.stat(private).st_mode & 0o777) == "0o600"
    longest = tmp_path / ("n" * (255 - len(".csv")) + ".csv")  # the longest name most file systems allow
    assert read_notes(write_notes(longest, SAMPLE)) == validate_notes(SAMPLE)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([private.name, longest.name])

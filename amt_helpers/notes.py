"""Notes as data: the :class:`Note` type and its two file formats, CSV and Standard MIDI.

A transcription, a ground truth and an example piece are all lists of :class:`Note`. Times are
in seconds, pitches are MIDI note numbers (60 = C4 = 261.63 Hz), velocities are MIDI velocities
(1–127). MIDI files are read and written with :mod:`pretty_midi`; every write is atomic.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pretty_midi

from amt_helpers._atomic import atomic_path, atomic_paths

CSV_HEADER = ("onset", "offset", "pitch", "velocity")
NOTE_EXTENSIONS = (".mid", ".midi", ".csv")
#: Duration of one MIDI tick as written here: pretty_midi's 220 ticks per beat at 120 beats per
#: minute, 1/440 s (2.27 ms). MIDI files store times in ticks; CSV files to the microsecond.
MIDI_TICK = 60.0 / (120 * 220)


class Note(NamedTuple):
    """One note: when it starts and ends (seconds), which key (MIDI number), how hard (1–127)."""

    onset: float
    offset: float
    pitch: int
    velocity: int = 80


def validate_notes(notes: Iterable[Sequence[float]], *, name: str = "notes") -> list[Note]:
    """Return ``notes`` as a list of :class:`Note` sorted by onset then pitch.

    Raises
    ------
    ValueError
        If a note is not (onset, offset, pitch[, velocity]), has a non-finite or negative onset,
        an offset not after its onset, a pitch or velocity that is not a whole number in 0–127.
        The message names the note.
    """
    checked = []
    for i, item in enumerate(notes):
        try:
            fields = [float(v) for v in item[:4]]
        except (TypeError, ValueError, IndexError) as err:
            raise ValueError(f"{name}[{i}] is not (onset, offset, pitch[, velocity]): {item!r}") from err
        if len(fields) < 3:
            raise ValueError(f"{name}[{i}] is not (onset, offset, pitch[, velocity]): {item!r}")
        for label, value in zip(("pitch", "velocity"), fields[2:]):
            if not (math.isfinite(value) and value == round(value)):
                raise ValueError(f"{name}[{i}] has {label} {value}, not a whole MIDI number")
        note = Note(fields[0], fields[1], int(fields[2]), int(fields[3]) if len(fields) > 3 else 80)
        if not (math.isfinite(note.onset) and math.isfinite(note.offset)):
            raise ValueError(f"{name}[{i}] has a non-finite time: {note}")
        if note.onset < 0:
            raise ValueError(f"{name}[{i}] starts before 0 s: {note}")
        if note.offset <= note.onset:
            raise ValueError(f"{name}[{i}] ends before it starts (offset <= onset): {note}")
        if not 0 <= note.pitch <= 127:
            raise ValueError(f"{name}[{i}] has pitch {note.pitch}, outside MIDI's 0-127")
        if not 0 <= note.velocity <= 127:
            raise ValueError(f"{name}[{i}] has velocity {note.velocity}, outside MIDI's 0-127")
        checked.append(note)
    return sorted(checked, key=lambda n: (n.onset, n.pitch))


def to_arrays(notes: Sequence[Note]) -> tuple[np.ndarray, np.ndarray]:
    """Split notes into ``intervals`` (shape (n, 2), seconds) and ``pitches`` (shape (n,), MIDI).

    This is the layout :mod:`mir_eval` expects (after converting pitches to Hz).
    """
    if len(notes) == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=int)
    arr = np.asarray([(n.onset, n.offset, n.pitch) for n in notes], dtype=float)
    return arr[:, :2], arr[:, 2].astype(int)


def pitch_set(notes: Iterable[Note]) -> list[int]:
    """The sorted distinct MIDI pitches that occur in ``notes``."""
    return sorted({int(n.pitch) for n in notes})


def notes_to_midi(notes: Iterable[Note], *, program: int = 0) -> pretty_midi.PrettyMIDI:
    """A one-track :class:`pretty_midi.PrettyMIDI` (General MIDI program 0: acoustic grand).

    A MIDI key is either down or up, so two notes of one pitch cannot overlap in a MIDI file:
    a note that is still sounding when its key starts again is ended at that onset (with a
    :class:`UserWarning` that counts them), and of two notes of one pitch with the same onset
    only the longer is kept. Times are written in ticks of :data:`MIDI_TICK` (1/440 s); a note
    shorter than one tick is lengthened to one, so that no note vanishes.
    """
    if isinstance(program, bool) or not isinstance(program, (int, np.integer)) or not 0 <= program <= 127:
        raise ValueError(f"program must be a General MIDI program number 0-127, got {program!r}")
    kept, cut = _one_key_down_at_a_time(validate_notes(notes))
    if cut:
        warnings.warn(f"{cut} note(s) overlapped a later note of the same pitch: ended at its onset (or dropped "
                      "when both start together), since a MIDI key cannot be down twice", UserWarning, stacklevel=2)
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=int(program), name="piano")
    piano.notes = [
        pretty_midi.Note(velocity=max(1, n.velocity), pitch=n.pitch, start=n.onset,
                         end=max(n.offset, n.onset + MIDI_TICK))
        for n in kept
    ]
    midi.instruments.append(piano)
    return midi


def _one_key_down_at_a_time(notes: list[Note]) -> tuple[list[Note], int]:
    """``notes`` (sorted by onset) with every note of a pitch ended at the next onset of that
    pitch, and of notes of one pitch with the same onset only the longest; and how many changed."""
    kept: list[Note] = []
    last: dict[int, int] = {}  # pitch -> index in kept of its latest note
    changed = 0
    for note in sorted(notes, key=lambda n: (n.onset, n.pitch, -n.offset)):
        i = last.get(note.pitch)
        if i is not None and kept[i].offset > note.onset:
            changed += 1
            if kept[i].onset == note.onset:  # the longer one, sorted first, stays
                continue
            kept[i] = kept[i]._replace(offset=note.onset)
        last[note.pitch] = len(kept)
        kept.append(note)
    return kept, changed


def midi_to_notes(midi: pretty_midi.PrettyMIDI) -> list[Note]:
    """All non-drum notes of a :class:`pretty_midi.PrettyMIDI`, merged across tracks."""
    return validate_notes(
        Note(n.start, n.end, n.pitch, n.velocity)
        for inst in midi.instruments
        if not inst.is_drum
        for n in inst.notes
        if n.end > n.start
    )


def write_midi(path: str | os.PathLike[str], notes: Iterable[Note]) -> Path:
    """Write ``notes`` to a Standard MIDI file, atomically. Returns ``path``.

    Times are rounded to MIDI ticks (:data:`MIDI_TICK`, 1/440 s); overlapping notes of one
    pitch are ended at the next onset (see :func:`notes_to_midi`).
    """
    midi = notes_to_midi(notes)
    path = Path(path)
    with atomic_path(path) as tmp:
        midi.write(str(tmp))
    return path


def _write_midi_to(path: Path, notes: list[Note]) -> None:
    notes_to_midi(notes).write(str(path))


def read_midi(path: str | os.PathLike[str]) -> list[Note]:
    """Read the notes of a Standard MIDI file (all non-drum tracks)."""
    path = _existing(path)
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # mido/pretty_midi raise many types for a corrupt file
        raise ValueError(f"cannot read MIDI file {path}: {str(err) or type(err).__name__ + ' (not a MIDI file?)'}") from err
    return midi_to_notes(midi)


def write_csv(path: str | os.PathLike[str], notes: Iterable[Note]) -> Path:
    """Write ``notes`` as CSV with the header ``onset,offset,pitch,velocity``, atomically.

    Times are written to the microsecond.

    Raises
    ------
    ValueError
        For invalid notes (:func:`validate_notes`), and for a note shorter than a microsecond,
        which would be written with its offset equal to its onset (and then not read back).
    """
    notes = validate_notes(notes)
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_csv_to(tmp, notes)
    return path


def _write_csv_to(path: Path, notes: list[Note]) -> None:
    rows = [(f"{n.onset:.6f}", f"{n.offset:.6f}", n.pitch, n.velocity) for n in notes]
    for note, row in zip(notes, rows):
        if row[0] == row[1]:
            raise ValueError(f"{note} is shorter than a microsecond, the CSV format's time resolution")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)


def read_csv(path: str | os.PathLike[str]) -> list[Note]:
    """Read notes from a CSV file written by :func:`write_csv` (header required)."""
    path = _existing(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = tuple(h.strip().lower() for h in next(reader, ()))
            if header[:3] != CSV_HEADER[:3]:
                raise ValueError(
                    f"{path}: expected a header starting with {','.join(CSV_HEADER)}, got {','.join(header)!r}"
                )
            rows = []
            for line_no, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < 3:
                    raise ValueError(f"{path}, line {line_no}: cannot parse {row!r} as a note (too few fields)")
                try:  # whole numbers may be written 60.0 (spreadsheets, pandas); validate_notes checks
                    rows.append(tuple(float(v) for v in row[:4]))
                except ValueError as err:
                    raise ValueError(f"{path}, line {line_no}: cannot parse {row!r} as a note") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a UTF-8 text file: {err.reason} at byte {err.start}") from err
    return validate_notes(rows, name=f"{path} row")


def read_notes(path: str | os.PathLike[str]) -> list[Note]:
    """Read notes from a ``.mid``/``.midi`` or ``.csv`` file, by extension."""
    suffix = Path(path).suffix.lower()
    if suffix in (".mid", ".midi"):
        return read_midi(path)
    if suffix == ".csv":
        return read_csv(path)
    raise ValueError(f"{path}: unknown note file extension {suffix!r}; use one of {', '.join(NOTE_EXTENSIONS)}")


def write_notes(path: str | os.PathLike[str], notes: Iterable[Note]) -> Path:
    """Write notes to a ``.mid``/``.midi`` or ``.csv`` file, by extension, atomically."""
    return write_note_files(notes, path)[0]


def write_note_files(notes: Iterable[Note], *paths: str | os.PathLike[str]) -> list[Path]:
    """Write the same notes to several ``.mid``/``.midi``/``.csv`` files: all of them, or none.

    Every file is written completely to a temporary file first; only then do they replace the
    destinations (:func:`amt_helpers._atomic.atomic_paths`), so a failure (a bad note, a full
    disk) leaves every existing file as it was.

    Returns
    -------
    list of Path
        ``paths``, as paths.
    """
    notes = validate_notes(notes)
    dests = [Path(p) for p in paths]
    for dest in dests:
        if dest.suffix.lower() not in NOTE_EXTENSIONS:
            raise ValueError(f"{dest}: unknown note file extension {dest.suffix.lower()!r}; "
                             f"use one of {', '.join(NOTE_EXTENSIONS)}")
    with atomic_paths(*dests) as tmps:
        for dest, tmp in zip(dests, tmps):
            (_write_csv_to if dest.suffix.lower() == ".csv" else _write_midi_to)(tmp, notes)
    return dests


def _existing(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"note file not found: {path}")
    return path

"""Notes as data: the :class:`Note` type and its two file formats, CSV and Standard MIDI.

A transcription, a ground truth and an example piece are all lists of :class:`Note`. Times are
in seconds, pitches are MIDI note numbers (60 = C4 = 261.63 Hz), velocities are MIDI velocities
(1–127). MIDI files are read and written with :mod:`pretty_midi`; every write is atomic.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pretty_midi

from amt_helpers._atomic import atomic_path

CSV_HEADER = ("onset", "offset", "pitch", "velocity")
NOTE_EXTENSIONS = (".mid", ".midi", ".csv")


class Note(NamedTuple):
    """One note: when it starts and ends (seconds), which key (MIDI number), how hard (1–127)."""

    onset: float
    offset: float
    pitch: int
    velocity: int = 80


def validate_notes(notes: Iterable[Note], *, name: str = "notes") -> list[Note]:
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
    """A one-track :class:`pretty_midi.PrettyMIDI` (General MIDI program 0: acoustic grand)."""
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=program, name="piano")
    piano.notes = [
        pretty_midi.Note(velocity=max(1, n.velocity), pitch=n.pitch, start=n.onset, end=n.offset)
        for n in validate_notes(notes)
    ]
    midi.instruments.append(piano)
    return midi


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
    """Write ``notes`` to a Standard MIDI file, atomically. Returns ``path``."""
    midi = notes_to_midi(notes)
    path = Path(path)
    with atomic_path(path) as tmp:
        midi.write(str(tmp))
    return path


def read_midi(path: str | os.PathLike[str]) -> list[Note]:
    """Read the notes of a Standard MIDI file (all non-drum tracks)."""
    path = _existing(path)
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # mido/pretty_midi raise many types for a corrupt file
        raise ValueError(f"cannot read MIDI file {path}: {err}") from err
    return midi_to_notes(midi)


def write_csv(path: str | os.PathLike[str], notes: Iterable[Note]) -> Path:
    """Write ``notes`` as CSV with the header ``onset,offset,pitch,velocity``, atomically."""
    notes = validate_notes(notes)
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_HEADER)
            writer.writerows((f"{n.onset:.6f}", f"{n.offset:.6f}", n.pitch, n.velocity) for n in notes)
    return path


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
                try:
                    rows.append(Note(float(row[0]), float(row[1]), int(row[2]), int(row[3]) if len(row) > 3 else 80))
                except (ValueError, IndexError) as err:
                    raise ValueError(f"{path}, line {line_no}: cannot parse {row!r} as a note") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a UTF-8 text file: {err.reason} at byte {err.start}") from err
    return validate_notes(rows, name=str(path))


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
    suffix = Path(path).suffix.lower()
    if suffix in (".mid", ".midi"):
        return write_midi(path, notes)
    if suffix == ".csv":
        return write_csv(path, notes)
    raise ValueError(f"{path}: unknown note file extension {suffix!r}; use one of {', '.join(NOTE_EXTENSIONS)}")


def _existing(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"note file not found: {path}")
    return path

"""Evaluating a transcription against ground truth with :mod:`mir_eval` (Raffel et al. 2014).

Three standard views of the same two note lists:

**Note level, onset only** (the scores of :func:`mir_eval.transcription.precision_recall_f1_overlap`
with ``offset_ratio=None``, from its matching, :func:`mir_eval.transcription.match_notes`). An
estimated note matches a reference note when their pitches differ by at most 50 cents and their
onsets by at most 50 ms; each note matches at most once (a maximum
bipartite matching). Precision = matched / estimated, recall = matched / reference,
F = 2PR / (P + R).

**Note level, with offsets** (the same with ``offset_ratio=0.2``). Additionally the offsets
must agree within 20 % of the reference note's duration, or 50 ms, whichever is larger.

**Frame level** (:func:`mir_eval.multipitch.evaluate`). Both note lists are sampled on a common
grid of 10 ms frames (frame ``i`` at time ``i * 0.01`` s); at each frame the set of sounding
pitches (``onset <= t < offset``) is compared, and precision, recall and F count pitches over
all frames.

Two conversions are classic sources of wrong numbers, and both are done here, once:
mir_eval wants pitches in **Hz** (we convert MIDI numbers with
:func:`librosa.midi_to_hz`, A4 = 69 = 440 Hz), and times in **seconds** (frame indices never
reach mir_eval; the 10 ms grid is built in seconds).

By mir_eval's convention, an empty reference or estimate scores 0.

mir_eval compares every reference note with every estimated note, so its memory grows with
their product (8000 notes each take over 2 GB). A match needs onsets at most 50 ms apart, so
wherever the onsets of both lists leave a longer gap, no match crosses it: the notes are cut
into blocks at such gaps, :func:`mir_eval.transcription.match_notes` matches each block, and
the matches are added up. The maximum matching of the whole is the sum of the blocks' maxima,
so the scores are exactly mir_eval's.

References
----------
C. Raffel, B. McFee, E. J. Humphrey, J. Salamon, O. Nieto, D. Liang, D. P. W. Ellis,
"mir_eval: A transparent implementation of common MIR metrics", ISMIR 2014.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import librosa
import mir_eval
import numpy as np

from amt_helpers.notes import Note, to_arrays, validate_notes

__all__ = ["evaluate", "frame_grid", "format_metrics", "ONSET_TOLERANCE", "OFFSET_RATIO", "FRAME_HOP", "MAX_SECONDS"]

#: Onset tolerance in seconds (mir_eval's and MIREX's default).
ONSET_TOLERANCE = 0.05
#: Offset tolerance as a fraction of the reference note's duration.
OFFSET_RATIO = 0.2
#: Hop of the frame-level grid in seconds.
FRAME_HOP = 0.01
#: Longest piece :func:`evaluate` accepts, in seconds (a day): a note list that ends later is
#: almost certainly in the wrong unit (milliseconds, samples), and its frame grid would not fit
#: in memory.
MAX_SECONDS = 24 * 3600.0
#: About how many notes (reference and estimate together) are matched at once; see the module
#: docstring. A block only ends at a gap in the onsets, so it can hold more.
_BLOCK_NOTES = 256
#: How much longer than the onset tolerance a gap must be to cut at it: mir_eval rounds onset
#: distances to 4 decimals before comparing them with the tolerance.
_CUT_MARGIN = 1e-3


def _onset_blocks(ref_onsets: np.ndarray, est_onsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Block index of every reference and every estimated note: no match can cross blocks.

    Onsets of both lists are sorted together; consecutive onsets more than
    ``ONSET_TOLERANCE`` apart start a new group, and groups are gathered into blocks of about
    ``_BLOCK_NOTES`` notes.
    """
    onsets = np.concatenate([ref_onsets, est_onsets])
    order = np.argsort(onsets, kind="stable")
    group = np.concatenate([[0], np.cumsum(np.diff(onsets[order]) > ONSET_TOLERANCE + _CUT_MARGIN)])
    group_start = np.searchsorted(group, np.arange(group[-1] + 1))  # position of each group's first note
    block = np.empty(onsets.size, dtype=np.intp)
    block[order] = (group_start // _BLOCK_NOTES)[group]
    return block[:ref_onsets.size], block[ref_onsets.size:]


def _note_scores(ref_iv: np.ndarray, ref_hz: np.ndarray, est_iv: np.ndarray, est_hz: np.ndarray,
                 offset_ratio: float | None) -> tuple[float, float, float]:
    """mir_eval's note-level precision, recall and F, matched block by block."""
    if len(ref_hz) == 0 or len(est_hz) == 0:
        return 0.0, 0.0, 0.0
    ref_block, est_block = _onset_blocks(ref_iv[:, 0], est_iv[:, 0])
    matches = 0
    for b in np.intersect1d(ref_block, est_block):
        r, e = ref_block == b, est_block == b
        matches += len(mir_eval.transcription.match_notes(
            ref_iv[r], ref_hz[r], est_iv[e], est_hz[e], onset_tolerance=ONSET_TOLERANCE,
            pitch_tolerance=50.0, offset_ratio=offset_ratio, offset_min_tolerance=0.05))
    precision, recall = matches / len(est_hz), matches / len(ref_hz)
    return precision, recall, float(mir_eval.util.f_measure(precision, recall))


def frame_grid(notes: Sequence[Note], times: np.ndarray) -> list[np.ndarray]:
    """Pitches (Hz) sounding at each time: the frame-level view of a note list.

    Parameters
    ----------
    notes : sequence of Note
        Onsets and offsets in seconds, MIDI pitches.
    times : array_like, shape (n_frames,)
        Frame times in seconds, increasing.

    Returns
    -------
    list of ndarray
        ``freqs[i]`` holds the frequencies in Hz of the notes with ``onset <= times[i] < offset``
        (each pitch once, ascending), the format of :func:`mir_eval.multipitch.evaluate`.
    """
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise ValueError(f"times must be a 1-D increasing array of seconds, got shape {times.shape}")
    intervals, pitches = to_arrays(validate_notes(notes))
    # A piano roll (frames x 128 MIDI pitches) from each note's first and past-the-last frame:
    # memory grows with the frames, not with frames x notes.
    first = np.searchsorted(times, intervals[:, 0], side="left")
    stop = np.searchsorted(times, intervals[:, 1], side="left")
    changes = np.zeros((times.size + 1, 128), dtype=np.int32)
    np.add.at(changes, (first, pitches), 1)
    np.add.at(changes, (stop, pitches), -1)
    sounding = np.cumsum(changes[:-1], axis=0) > 0
    hz = librosa.midi_to_hz(np.arange(128, dtype=float))
    return [hz[np.flatnonzero(row)] for row in sounding]


def evaluate(ref_notes: Sequence[Note], est_notes: Sequence[Note]) -> dict[str, float]:
    """Note-level and frame-level precision, recall and F-measure of a transcription.

    Parameters
    ----------
    ref_notes : sequence of Note
        The ground truth (onset and offset in seconds, MIDI pitch).
    est_notes : sequence of Note
        The transcription.

    Returns
    -------
    dict
        ``note_precision``, ``note_recall``, ``note_f``: onset-only matching (50 ms, 50 cents);
        ``note_offset_precision``, ``note_offset_recall``, ``note_offset_f``: the same with
        offsets (``offset_ratio=0.2``, at least 50 ms);
        ``frame_precision``, ``frame_recall``, ``frame_f``: multi-pitch metrics on a 10 ms grid;
        ``n_ref``, ``n_est``: the number of notes. All metrics are floats in [0, 1].

    Examples
    --------
    >>> from amt_helpers.notes import Note
    >>> ref = [Note(0.0, 1.0, 60), Note(1.0, 2.0, 62)]
    >>> est = [Note(0.03, 0.9, 60), Note(1.2, 2.0, 62)]   # second onset 200 ms late
    >>> m = evaluate(ref, est)
    >>> m["note_precision"], m["note_recall"], m["note_f"]
    (0.5, 0.5, 0.5)
    """
    ref = validate_notes(ref_notes, name="ref_notes")
    est = validate_notes(est_notes, name="est_notes")
    ref_iv, ref_p = to_arrays(ref)
    est_iv, est_p = to_arrays(est)
    ref_hz = librosa.midi_to_hz(ref_p.astype(float)) if ref else np.zeros(0)
    est_hz = librosa.midi_to_hz(est_p.astype(float)) if est else np.zeros(0)

    end = max([n.offset for n in ref + est], default=0.0)
    if end > MAX_SECONDS:
        raise ValueError(f"the notes end at {end:.6g} s, after more than {MAX_SECONDS / 3600:.0f} hours: "
                         "times must be in seconds")

    out: dict[str, float] = {}
    for prefix, ratio in (("note", None), ("note_offset", OFFSET_RATIO)):
        p, r, f = _note_scores(ref_iv, ref_hz, est_iv, est_hz, ratio)
        out.update({f"{prefix}_precision": p, f"{prefix}_recall": r, f"{prefix}_f": f})

    times = np.arange(int(np.ceil(end / FRAME_HOP)) + 1) * FRAME_HOP
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mir_eval warns when a list has no notes
        scores = mir_eval.multipitch.evaluate(times, frame_grid(ref, times), times, frame_grid(est, times))
    p, r = float(scores["Precision"]), float(scores["Recall"])
    out.update({"frame_precision": p, "frame_recall": r,
                "frame_f": 0.0 if p + r == 0 else 2 * p * r / (p + r)})
    out.update({"n_ref": len(ref), "n_est": len(est)})
    return out


def format_metrics(metrics: dict[str, float]) -> str:
    """A short human-readable table of :func:`evaluate`'s result."""
    rows = [("note (onset, 50 ms)", "note"), ("note (+ offset 20 %)", "note_offset"), ("frame (10 ms)", "frame")]
    lines = [f"{'':22s} {'precision':>9s} {'recall':>9s} {'F':>9s}"]
    for label, key in rows:
        lines.append(f"{label:22s} {metrics[key + '_precision']:9.3f} {metrics[key + '_recall']:9.3f} "
                     f"{metrics[key + '_f']:9.3f}")
    lines.append(f"{metrics['n_ref']} reference notes, {metrics['n_est']} estimated notes")
    return "\n".join(lines)

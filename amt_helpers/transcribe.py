"""From audio to notes: supervised KL-NMF with attack/sustain templates, then a note rule.

The pipeline of :func:`transcribe`:

1. **Representation.** The audio's DC offset is removed, it is resampled to 22 050 Hz, its
   tuning relative to A4 = 440 Hz is estimated (:func:`amt_helpers.dictionary.estimate_tuning`),
   and a log-frequency magnitude spectrogram ``V`` (n_bands × n_frames) is computed with filter centres moved by that tuning,
   so the templates fit a piano tuned slightly sharp or flat.
2. **Activations.** ``V ≈ W H`` with the learned piano dictionary ``W`` (n_bands × R, one attack
   and a few sustain templates per key; :mod:`amt_helpers.dictionary`) held fixed and ``H``
   (R × n_frames) learned by KL-NMF multiplicative updates (:func:`amt_helpers.nmf.nmf`,
   ``beta=1, fixed_W=True``). ``H`` starts from a constant, so the result is deterministic.
   Score-informed transcription (``pitches=[...]``) factorises with all 88 keys' templates and
   reads out only the given pitches (``restrict_templates=True``: only their templates).
3. **Adaptation to the recorded piano** (:func:`refine_templates`, ``refine_iter > 0``, on by
   default). The notes of a first pass (step 4 on the model of step 2, without the two tests
   that let soft notes in: :data:`FIRST_PASS_RULE`) serve as a score: each
   template's activation is kept only around the notes of its key, the transcribed keys'
   templates are re-learned from those frames with ``H`` fixed, mixed back with the learned
   templates (``refine_mix`` of the learned ones), and ``H`` is estimated again. (The older
   ``adapt_iter`` option, joint unconstrained updates of ``W`` and ``H`` within each template's
   harmonic support, gave no gain on the validation pianos and is off.)
4. **Notes** (:func:`notes_from_activations`). Per key, the summed activation of its
   templates, the activation of its attack template (onset cue) and the sustain part (offset
   cue) go through :func:`activations_to_notes` (onset peak picking, with a lower bar for a
   note that starts from silence; minimum length; offset by decay level or damper-like drop),
   then :func:`suppress_ghosts` removes notes that are weak copies of a simultaneous stronger
   note an octave/twelfth/semitone away, or far weaker than anything starting with them
   (hammer noise leaking into other keys) unless their key explains most of the energy in its
   own bands (:meth:`Activations.key_share`: a soft note, not leakage).

The defaults of every option were tuned on validation pianos that the dictionary was not
learned from: a SoundFont piano rendered by FluidSynth and two sampled pianos rendered by
TiMidity++ (see ``benchmarks/README.md``, "Transcription quality"). ``preset="acoustic"``
changes a few of them for recordings of an acoustic piano (:data:`ACOUSTIC_CHANGES`).

References
----------
- P. Smaragdis, J. C. Brown, "Non-negative matrix factorization for polyphonic music
  transcription", IEEE WASPAA 2003.
- D. D. Lee, H. S. Seung, "Algorithms for non-negative matrix factorization", NeurIPS 2000.
- T. Cheng, M. Mauch, E. Benetos, S. Dixon, "An attack/decay model for piano transcription",
  ISMIR 2016.
- S. Ewert, M. Müller, "Using score-informed constraints for NMF-based source separation",
  ICASSP 2012.
- M. Müller, *Fundamentals of Music Processing*, 2nd ed., Springer 2021, §8.3.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import librosa
import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

try:  # installed with scikit-learn; only used to keep BLAS single-threaded
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    import contextlib

    def threadpool_limits(*args, **kwargs):
        return contextlib.nullcontext()

from amt_helpers.audio import AudioError, validate_audio, validate_sample_rate
from amt_helpers.dictionary import Dictionary, estimate_tuning, load_dictionary, log_filterbank, stft_magnitude
from amt_helpers.nmf import nmf
from amt_helpers.notes import Note

__all__ = [
    "activations_to_notes",
    "refine_templates",
    "suppress_ghosts",
    "transcribe",
    "compute_activations",
    "transcription_model",
    "notes_from_activations",
    "note_shares",
    "key_activations",
    "Activations",
    "BLIND_DEFAULTS",
    "INFORMED_DEFAULTS",
    "FIRST_PASS_RULE",
    "ACOUSTIC_CHANGES",
    "PRESETS",
    "SILENCE_DBFS",
    "default_options",
    "note_rule",
]


def _whole_numbers(name: str, values, *, low: int, high: int, what: str = "numbers",
                   span: str | None = None, allow_empty: bool = True) -> list[int]:
    """``values`` as a list of ints, each a whole number in ``[low, high]``; else a ValueError naming ``name``.

    ``what`` names the numbers in the messages, ``span`` the range (default "lie in low..high").
    """
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of whole {what}, got the string {values!r}")
    try:
        arr = np.asarray(list(values), dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a sequence of whole {what}, got {values!r}") from err
    if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be a sequence of whole {what}, got {list(values)!r}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must be a non-empty sequence of {what}")
    if arr.size and (arr.min() < low or arr.max() > high):
        raise ValueError(f"{name} must {span or f'lie in {low}..{high}'}, got {sorted(set(arr.astype(int).tolist()))}")
    return arr.astype(int).tolist()


def _check_count(name: str, value, *, minimum: int = 0) -> int:
    """A number of iterations or frames: an integer >= ``minimum`` (0 or 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a {'positive' if minimum else 'non-negative'} integer, got {value!r}")
    return int(value)


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


def activations_to_notes(
    H: np.ndarray,
    pitches: Sequence[int],
    frame_rate: float,
    *,
    threshold: float = 0.05,
    min_duration: float = 0.05,
    onset_strength: np.ndarray | None = None,
    onset_threshold: float | None = None,
    quiet_threshold: float | None = None,
    quiet_ratio: float = 0.1,
    quiet_frames: int = 4,
    restrike_ratio: float = 0.0,
    min_ioi: float = 0.06,
    sustain: np.ndarray | None = None,
    offset_ratio: float = 0.01,
    offset_threshold: float = 0.002,
    drop_db: float | None = 8.0,
    drop_frames: int = 3,
    drop_range_db: float = 30.0,
    drop_accel_db: float | None = None,
    drop_floor_db: float | None = None,
    drop_floor_slope_db: float = 0.0,
    smooth_frames: int = 3,
    bridge_frames: int = 1,
    normalize: bool = True,
    time_offset: float = 0.0,
    offset_shift: float = 0.0,
) -> list[Note]:
    """Turn a pitch-activation matrix into notes.

    The rule, per row ``r`` (pitch ``pitches[r]``):

    1. **Normalisation.** If ``normalize``, ``H`` (and ``onset_strength``, ``sustain``) are
       divided by the maximum of ``H`` over all rows and frames, so thresholds are fractions of
       the loudest activation of the piece. Call the normalised row ``a[t]``.
    2. **Onset strength.** ``o[t] = onset_strength[r, t]`` if given (e.g. the activation of an
       attack template), else the positive temporal difference ``o[t] = max(a[t] - a[t-1], 0)``
       (with ``a[-1] = 0``).
    3. **Onsets (peak picking).** Frame ``t0`` is an onset if ``o[t0] >= onset_threshold``
       (default: ``threshold``), ``o[t0]`` is the largest value of ``o`` within ``± min_ioi``
       seconds (the earliest frame wins a tie), and the activation reaches ``threshold`` within
       two frames: ``peak = max(a[t0 : t0 + 3]) >= threshold``. The peak frame is ``tp``.
       With ``quiet_threshold``, a note that starts from silence needs less:
       ``o[t0] >= quiet_threshold`` is enough when the key was quiet just before,
       ``min(a[t0 - quiet_frames : t0]) < quiet_ratio * peak`` (frames before the start count
       as silent). A soft note spreads its rise over several frames, so its largest one-frame
       rise stays small although its activation clears ``threshold``; inside a sounding note,
       the full ``onset_threshold`` still guards against fluctuations taken for re-strikes.
       With ``restrike_ratio``, every onset also needs ``o[t0] >= restrike_ratio * a[t0 - 1]``:
       a key struck again while it sounds must add energy in proportion to what is already
       there. A slow swell or beating of a held tone (partials drifting in and out of phase)
       makes a small rise on a high level and fails; a note starting from silence, with
       ``a[t0 - 1]`` near 0, is not affected.
    4. **Minimum length.** The note must stay at or above ``threshold`` for ``min_duration``
       seconds: with ``te`` the first frame ``>= tp`` where ``a < threshold`` (or the next onset
       of the pitch), notes with ``(te - t0) / frame_rate < min_duration`` are dropped. This is
       what removes short blips of activation.
    5. **Offset (decay and damper).** On the sustain activation ``s`` (``sustain[r]``, default
       ``a``; first replaced by its centred running maximum over ``bridge_frames`` frames) with
       its peak ``ps = max(s[t0 : t0 + 3])`` and its level in dB smoothed over
       ``smooth_frames`` frames, ``L[t]`` (moving average of ``20 log10 s``), the note ends at
       the first frame ``t >= tp + drop_frames`` where

       - ``s`` has decayed: ``L[t] < 20 log10(offset_ratio * ps)`` or ``s[t] < offset_threshold``
         (piano notes decay exponentially: a ratio to the note's own peak treats soft and loud
         notes alike; the absolute floor stops noise) — the note ends at ``t``; or
       - ``s`` drops fast, as when a damper stops the string: ``L[t + drop_frames] - L[t] <
         -drop_db`` and ``L[t + 2 drop_frames] - L[t] < -drop_db`` (the drop lasts), while the
         note is still within ``drop_range_db`` of its peak (``L[t] >= 20 log10(ps) -
         drop_range_db``: further down, fluctuations of a faint activation are not a damper)
         — the note ends at ``t + drop_frames // 2``; ``drop_db=None`` disables this test.
         Two optional conditions make the test tell a damper from the note's own decay:
         with ``drop_accel_db``, the fall must also be steeper than the decay over the
         ``drop_frames`` frames before ``t`` by more than ``drop_accel_db`` dB (high notes
         and the fast first decay of a piano tone fall quickly but steadily; a damper makes
         the decay accelerate); with ``drop_floor_db``, the level must end up more than
         ``drop_floor_db`` dB below the peak (``L[t + 2 drop_frames] < 20 log10(ps) -
         drop_floor_db``: a tone whose fast first decay settles into a slow one is still
         sounding). ``drop_floor_slope_db`` raises that floor by so many dB per octave above
         middle C (MIDI 60) and lowers it below, never under 0 dB: the higher the string, the
         faster and deeper its own decay;

       and at the latest at the next onset of the same pitch (a re-strike) or the end of ``H``.
    6. **Times.** Frame ``t`` is at ``t / frame_rate + time_offset`` seconds (frame centres; for
       a centred STFT with hop ``h`` at ``sr`` Hz, ``frame_rate = sr / h``). A note from onset
       frame ``t0`` to end frame ``t1`` spans ``[t0, t1) / frame_rate + time_offset``; then
       ``offset_shift`` seconds are taken off the offset (the analysis window makes energy
       linger after a note ends), never leaving less than ``min_duration``. Onsets before 0 s
       are clipped to 0 s, and a note whose end frame falls before 0 s is dropped. The velocity is
       ``round(127 * sqrt(peak))`` clipped to 1-127 (a rough loudness, not calibrated).

    Parameters
    ----------
    H : ndarray, shape (n_pitches, n_frames)
        Non-negative activations, one row per pitch.
    pitches : sequence of int, length n_pitches
        MIDI pitch of each row.
    frame_rate : float
        Frames per second.
    threshold : float
        Minimum (normalised) activation of a note (steps 3 and 4).
    min_duration : float
        Shortest note kept, in seconds (step 4).
    onset_strength : ndarray, shape (n_pitches, n_frames), optional
        Onset detection function per pitch; default: positive difference of ``H``.
    onset_threshold : float, optional
        Minimum onset strength; default ``threshold``.
    quiet_threshold : float, optional
        Minimum onset strength of a note that starts from silence (step 3); default: no
        separate minimum.
    quiet_ratio : float
        The key counts as silent when its activation over the ``quiet_frames`` frames before
        the onset falls below this fraction of the note's peak.
    quiet_frames : int
        Frames before the onset looked at for that test.
    restrike_ratio : float
        Minimum onset strength as a fraction of the activation in the frame before the onset
        (step 3); 0 disables the test.
    min_ioi : float
        Minimum inter-onset interval of one pitch in seconds (the peak-picking window).
    sustain : ndarray, shape (n_pitches, n_frames), optional
        Activation whose decay decides the offsets (e.g. without the attack templates);
        default ``H``.
    offset_ratio : float
        A note ends when its sustain activation decays below this fraction of its peak
        (0.01 = -40 dB)...
    offset_threshold : float
        ... or below this absolute (normalised) floor.
    drop_db : float or None
        A fall of more than ``drop_db`` decibels within ``drop_frames`` frames ends the note.
    drop_frames : int
        Length of that window in frames; the decay tests start ``drop_frames`` after the peak.
    drop_range_db : float
        The drop test applies while the note is within this many dB of its peak.
    drop_accel_db : float or None
        If given, a drop counts only where it is this many dB steeper than the decay of the
        preceding ``drop_frames`` frames.
    drop_floor_db : float or None
        If given, a drop counts only if the level ends up this many dB below the peak...
    drop_floor_slope_db : float
        ... plus this many dB per octave above middle C (minus, below it; at least 0 dB).
    smooth_frames : int
        Moving-average length (frames) of the dB level used by the decay tests (1: none).
    bridge_frames : int
        Before that, ``s`` is replaced by its running maximum over this many frames (centred),
        so that a dip of a few frames (another template briefly taking over the energy) does
        not end a note (1: none).
    normalize : bool
        Divide by the global maximum of ``H`` first.
    time_offset : float
        Seconds added to every time (e.g. to compensate an analysis latency).
    offset_shift : float
        Seconds subtracted from every offset.

    Returns
    -------
    list of Note
        Sorted by onset, then pitch.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.zeros((2, 10)); H[0, 2:6] = 1.0; H[1, 5:9] = 0.5
    >>> activations_to_notes(H, [60, 64], frame_rate=10.0, threshold=0.2, min_duration=0.1)
    [Note(onset=0.2, offset=0.6, pitch=60, velocity=127), Note(onset=0.5, offset=0.9, pitch=64, velocity=90)]
    """
    H = np.asarray(H, dtype=float)
    if H.ndim != 2:
        raise ValueError(f"H must be 2-D (n_pitches, n_frames), got shape {H.shape}")
    pitches = _whole_numbers("pitches", pitches, low=0, high=127)
    if len(set(pitches)) != len(pitches):
        raise ValueError(f"pitches must be distinct (one row per key), got {pitches}")
    if len(pitches) != H.shape[0]:
        raise ValueError(f"H has {H.shape[0]} rows but {len(pitches)} pitches were given")
    if not np.all(np.isfinite(H)) or (H.size and H.min() < 0):
        raise ValueError("H must be finite and non-negative")
    frame_rate = _check_positive("frame_rate", frame_rate)
    threshold = _check_positive("threshold", threshold)
    onset_threshold = threshold if onset_threshold is None else _check_positive("onset_threshold", onset_threshold)
    min_duration, min_ioi, offset_ratio, offset_threshold, offset_shift, quiet_ratio, restrike_ratio, drop_range_db = (
        _check_positive(name, value, allow_zero=True) for name, value in (
            ("min_duration", min_duration), ("min_ioi", min_ioi), ("offset_ratio", offset_ratio),
            ("offset_threshold", offset_threshold), ("offset_shift", offset_shift), ("quiet_ratio", quiet_ratio),
            ("restrike_ratio", restrike_ratio), ("drop_range_db", drop_range_db)))
    quiet_threshold, drop_db, drop_accel_db, drop_floor_db = (
        None if value is None else _check_positive(name, value, allow_zero=zero_allowed)
        for name, value, zero_allowed in (
            ("quiet_threshold", quiet_threshold, False), ("drop_db", drop_db, False),
            ("drop_accel_db", drop_accel_db, True), ("drop_floor_db", drop_floor_db, True)))
    for name, value in (("drop_floor_slope_db", drop_floor_slope_db), ("time_offset", time_offset)):
        if not (isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    for name, value in (("drop_frames", drop_frames), ("smooth_frames", smooth_frames),
                        ("bridge_frames", bridge_frames), ("quiet_frames", quiet_frames)):
        _check_count(name, value, minimum=1)
    if H.size == 0:
        return []
    scale = H.max() if normalize else 1.0
    if scale <= 0:
        return []

    # 1.-2. Normalised activation, onset strength and sustain activation.
    A = H / scale
    if onset_strength is None:
        O = np.maximum(np.diff(A, axis=1, prepend=0.0), 0.0)
    else:
        O = _scaled_like(H, onset_strength, scale, name="onset_strength")
    S = A if sustain is None else _scaled_like(H, sustain, scale, name="sustain")

    # 3. Onsets, and the two cues of step 5, for every key at once.
    reach = maximum_filter1d(A, size=3, axis=1, origin=-1, mode="nearest")  # max(a[t:t+3])
    is_onset = _onset_frames(A, O, reach, threshold=threshold, onset_threshold=onset_threshold,
                             window=max(int(round(min_ioi * frame_rate)), 0), quiet_threshold=quiet_threshold,
                             quiet_ratio=quiet_ratio, quiet_frames=int(quiet_frames), restrike_ratio=restrike_ratio)
    cues = _decay_cues(S, drop_frames=int(drop_frames), smooth_frames=int(smooth_frames),
                       bridge_frames=int(bridge_frames), drop_accel_db=drop_accel_db)

    n_frames = A.shape[1]
    notes = []
    for r, p in enumerate(pitches):
        onsets = np.flatnonzero(is_onset[r]).tolist()
        for t0, limit in zip(onsets, onsets[1:] + [n_frames]):
            tp = min(t0 + int(np.argmax(A[r, t0 : t0 + 3])), limit)
            # 4. minimum length above the threshold
            below = np.flatnonzero(A[r, tp:limit] < threshold)
            te = tp + int(below[0]) if below.size else limit
            if (te - t0) / frame_rate < min_duration - 1e-9:
                continue
            t1 = _end_frame(cues, r, p, t0, tp, limit, offset_ratio=offset_ratio,
                            offset_threshold=offset_threshold, drop_db=drop_db, drop_range_db=drop_range_db,
                            drop_floor_db=drop_floor_db, drop_floor_slope_db=drop_floor_slope_db)
            if t1 / frame_rate + time_offset <= 0:
                continue  # shifted to before the recording starts: not a note at 0 s
            notes.append(_timed_note(t0, t1, p, reach[r, t0], frame_rate=frame_rate, time_offset=time_offset,
                                     offset_shift=offset_shift, min_duration=min_duration))
    notes.sort(key=lambda n: (n.onset, n.pitch))
    return notes


def _scaled_like(H: np.ndarray, M, scale: float, *, name: str) -> np.ndarray:
    """``M`` as a float array of ``H``'s shape, divided by ``H``'s normalisation ``scale``."""
    M = np.asarray(M, dtype=float)
    if M.shape != H.shape:
        raise ValueError(f"{name} has shape {M.shape}, expected {H.shape}")
    if not np.all(np.isfinite(M)) or (M.size and M.min() < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return M / scale


def _lagged(M: np.ndarray, lags: int, reduce: np.ufunc, fill: float) -> np.ndarray:
    """``reduce`` (``np.maximum`` or ``np.minimum``) of ``M[:, t - j]`` over ``j = 1 .. lags``, ``fill`` where none."""
    out = np.full_like(M, fill)
    for j in range(1, lags + 1):  # a handful of frames, each step vectorised over keys and frames
        reduce(out[:, j:], M[:, :-j], out=out[:, j:])
    return out


def _onset_frames(A: np.ndarray, O: np.ndarray, reach: np.ndarray, *, threshold: float, onset_threshold: float,
                  window: int, quiet_threshold: float | None, quiet_ratio: float, quiet_frames: int,
                  restrike_ratio: float) -> np.ndarray:
    """Step 3 of :func:`activations_to_notes` for every key at once.

    ``A``, ``O`` and ``reach`` (shape (n_pitches, n_frames)) are the normalised activation, the
    onset strength and ``max(A[:, t : t + 3])``; ``window`` is the peak-picking half-width in
    frames. Returns a bool array of the same shape, True at onsets.
    """
    # o[t] must be the maximum of its window and larger than every earlier value in it, so that
    # a plateau gives its first frame.
    win_max = maximum_filter1d(O, size=2 * window + 1, axis=1, mode="constant", cval=0.0)
    earlier_max = _lagged(O, window, np.maximum, -np.inf)
    strong = O >= onset_threshold
    if quiet_threshold is not None:
        before = _lagged(A, quiet_frames, np.minimum, np.inf)
        before[:, :quiet_frames] = 0.0  # frames before the start count as silent
        strong |= (O >= quiet_threshold) & (before < quiet_ratio * reach)
    if restrike_ratio > 0:
        strong &= O >= restrike_ratio * _lagged(A, 1, np.maximum, 0.0)
    return strong & (O >= win_max) & (O > earlier_max) & (reach >= threshold)


class _DecayCues(NamedTuple):
    """What step 5 of :func:`activations_to_notes` reads, each of shape (n_pitches, n_frames)."""

    S: np.ndarray  # sustain activation, bridged
    L: np.ndarray  # its smoothed level in dB
    drop: np.ndarray  # the smaller fall of L over the next k and the next 2k frames (dB, +inf near the end)
    steeper: np.ndarray  # bool: that fall is steeper than the decay before (all True without drop_accel_db)
    level_after: np.ndarray  # L 2k frames later (the last frame near the end)
    k: int  # drop_frames


def _decay_cues(S: np.ndarray, *, drop_frames: int, smooth_frames: int, bridge_frames: int,
                drop_accel_db: float | None) -> _DecayCues:
    """The decay and damper cues of step 5 of :func:`activations_to_notes`, for every key at once."""
    if bridge_frames > 1:
        S = maximum_filter1d(S, size=bridge_frames, axis=1, mode="nearest")
    L = 20 * np.log10(np.maximum(S, 1e-6))
    if smooth_frames > 1:
        L = uniform_filter1d(L, smooth_frames, axis=1, mode="nearest")
    n_frames, k = L.shape[1], drop_frames
    one, two = max(n_frames - k, 0), max(n_frames - 2 * k, 0)  # frames with k (2k) frames after them
    drop = np.full_like(L, np.inf)
    drop[:, :one] = L[:, n_frames - one:] - L[:, :one]
    later = np.full_like(L, np.inf)
    later[:, :two] = L[:, n_frames - two:] - L[:, :two]
    later[:, two:one] = drop[:, two:one]
    np.maximum(drop, later, out=drop)
    steeper = np.ones(L.shape, dtype=bool)
    if drop_accel_db is not None:  # the fall ahead against the decay just before
        decay_before = np.zeros_like(L)
        decay_before[:, k:] = np.minimum(L[:, k:] - L[:, :-k], 0.0)
        steeper = drop - decay_before < -drop_accel_db
    level_after = L[:, np.minimum(np.arange(n_frames) + 2 * k, n_frames - 1)]
    return _DecayCues(S, L, drop, steeper, level_after, k)


def _end_frame(cues: _DecayCues, r: int, pitch: int, t0: int, tp: int, limit: int, *, offset_ratio: float,
               offset_threshold: float, drop_db: float | None, drop_range_db: float, drop_floor_db: float | None,
               drop_floor_slope_db: float) -> int:
    """Step 5 of :func:`activations_to_notes`: the end frame of row ``r``'s note from ``t0`` (peak at ``tp``).

    The first frame from ``tp + k`` where the sustain activation has decayed or drops like
    under a damper; ``limit`` (the key's next onset, or the end) at the latest.
    """
    S, L, k = cues.S, cues.L, cues.k
    ps = float(S[r, t0 : t0 + 3].max())
    peak_db = 20 * np.log10(max(ps, 1e-6))
    level_db = 20 * np.log10(max(offset_ratio * ps, 1e-6)) if offset_ratio > 0 else -np.inf
    span = np.arange(min(tp + k, limit), limit)
    decayed = (L[r, span] < level_db) | (S[r, span] < offset_threshold)
    fell = np.zeros(span.size, dtype=bool)
    if drop_db is not None:
        fell = (cues.drop[r, span] < -drop_db) & (L[r, span] >= peak_db - drop_range_db) & cues.steeper[r, span]
        if drop_floor_db is not None:
            floor_db = max(drop_floor_db + drop_floor_slope_db * (pitch - 60) / 12, 0.0)
            fell &= cues.level_after[r, span] < peak_db - floor_db
    hit = np.flatnonzero(decayed | fell)
    if hit.size == 0:
        return max(limit, t0 + 1)
    i = hit[0]
    t1 = int(span[i]) if decayed[i] else min(int(span[i]) + k // 2, limit)
    return max(t1, t0 + 1)


def _timed_note(t0: int, t1: int, pitch: int, peak: float, *, frame_rate: float, time_offset: float,
                offset_shift: float, min_duration: float) -> Note:
    """Step 6 of :func:`activations_to_notes`: frames ``[t0, t1)`` to seconds, the peak to a velocity."""
    onset = max(float(t0 / frame_rate + time_offset), 0.0)
    offset = float(max(t1 / frame_rate + time_offset - offset_shift, onset + max(min_duration, 1e-3)))
    velocity = int(np.clip(round(127 * math.sqrt(min(peak, 1.0))), 1, 127))
    return Note(onset, offset, pitch, velocity)


def suppress_ghosts(
    notes: Sequence[Note],
    *,
    intervals: Sequence[int] = (12, 19, 24, 1, -1),
    ratio: float = 0.5,
    max_onset_gap: float = 0.05,
    any_ratio: float = 0.0,
    shares: Sequence[float] | None = None,
    any_share: float = 0.5,
) -> list[Note]:
    """Drop notes that are weak copies of a simultaneous stronger note.

    With templates that do not fit a piano exactly, NMF explains part of a note's partials with
    the templates of related pitches: the octave, twelfth and double octave above (whose
    fundamentals are the note's 2nd, 3rd and 4th partials) and, for detuned or unfamiliar
    timbres, the semitone neighbours. (The octave *below* is not in the default list: in
    octave-doubled bass lines the upper note is often the weaker one, and it is real.) A note at pitch ``q`` is removed when some note at ``q - d`` (``d`` in
    ``intervals``) starts within ``max_onset_gap`` seconds of it and is at least ``1 / ratio``
    times louder (velocity, i.e. the square root of the peak activation, compared squared).

    Parameters
    ----------
    notes : sequence of Note
        Notes with velocities from :func:`activations_to_notes`.
    intervals : sequence of int
        Semitone distances ``d`` (the suspect is at ``q``, its cause at ``q - d``).
    ratio : float
        A suspect is dropped when ``peak(suspect) < ratio * peak(cause)``.
    max_onset_gap : float
        Seconds within which the two onsets must coincide.
    any_ratio : float
        Also drop a note whose peak is below ``any_ratio`` × the peak of *any* note starting
        with it (the hammer noise of a loud note leaks into many templates; 0 disables).
    shares : sequence of float, optional
        One per note: the share of the energy in the note's own frequency bands that its
        key's templates explain at its onset (:meth:`Activations.key_share`). Leakage is
        energy that other keys' notes put into a key's templates, so its share is small; a
        soft note played with loud ones explains its own bands. Notes with a share of at
        least ``any_share`` are exempt from the ``any_ratio`` test (not from the interval
        test: an octave ghost sits on the stronger note's partials).
    any_share : float
        See ``shares``.

    Returns
    -------
    list of Note
        The kept notes, in the input order.
    """
    for name, value in (("ratio", ratio), ("max_onset_gap", max_onset_gap), ("any_ratio", any_ratio),
                        ("any_share", any_share)):
        _check_positive(name, value, allow_zero=True)
    intervals = _whole_numbers("intervals", intervals, low=-127, high=127)
    notes = list(notes)
    if not notes:
        return notes
    on = np.array([n.onset for n in notes])
    p = np.array([n.pitch for n in notes])
    peak = (np.array([n.velocity for n in notes], dtype=float) / 127.0) ** 2
    same_time = np.abs(on[:, None] - on[None, :]) <= max_onset_gap  # (suspect, cause)
    related = np.isin(p[:, None] - p[None, :], np.asarray(intervals))
    weaker = peak[:, None] < ratio * peak[None, :]
    ghost = (same_time & related & weaker).any(axis=1)
    if any_ratio > 0:  # far weaker than anything starting with it: leakage of an attack
        leak = (same_time & (peak[:, None] < any_ratio * peak[None, :])).any(axis=1)
        if shares is not None:
            share = np.asarray(shares, dtype=float)
            if share.shape != (len(notes),):
                raise ValueError(f"shares must have one value per note ({len(notes)}), got shape {share.shape}")
            leak &= ~(share >= any_share)
        ghost |= leak
    return [n for n, g in zip(notes, ghost) if not g]


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Activations:
    """What :func:`compute_activations` returns: the NMF model of a recording.

    Attributes
    ----------
    V : ndarray, shape (n_bands, n_frames)
        Log-frequency magnitude spectrogram that was factorised.
    W : ndarray, shape (n_bands, R)
        Templates used (after adaptation, if any).
    H : ndarray, shape (R, n_frames)
        Activations of every template.
    pitch, kind : ndarray, shape (R,)
        MIDI pitch and kind (0 attack, 1.. sustain) of each template.
    pitches : list of int, length P
        The distinct pitches, ascending.
    pitch_activation : ndarray, shape (P, n_frames)
        Sum of each pitch's template activations, weighted by the templates' energies
        (templates sum to 1, so this is the part of ``V`` explained by the pitch per frame).
    attack_activation : ndarray, shape (P, n_frames)
        Activation of each pitch's attack template.
    frame_rate : float
        Frames per second; frame ``t`` is centred on ``t / frame_rate`` seconds.
    tuning : float
        Tuning offset (semitones) the filterbank was moved by.
    cost : ndarray
        KL divergence after each NMF iteration.
    """

    V: np.ndarray
    W: np.ndarray
    H: np.ndarray
    pitch: np.ndarray
    kind: np.ndarray
    pitches: list[int]
    pitch_activation: np.ndarray
    attack_activation: np.ndarray
    frame_rate: float
    tuning: float
    cost: np.ndarray

    def select(self, pitches: Sequence[int]) -> "Activations":
        """The same model read out for some pitches only (rows of the per-pitch activations).

        ``V``, ``W``, ``H`` are kept whole; ``pitches``, ``pitch_activation`` and
        ``attack_activation`` keep the rows of the given pitches.
        """
        wanted = sorted(set(int(p) for p in pitches))
        missing = sorted(set(wanted) - set(self.pitches))
        if missing:
            raise ValueError(f"pitch(es) {missing} are not in this model")
        rows = [self.pitches.index(p) for p in wanted]
        return dataclasses.replace(self, pitches=wanted, pitch_activation=self.pitch_activation[rows],
                                   attack_activation=self.attack_activation[rows])

    def key_share(self) -> np.ndarray:
        """How much of the energy in each key's own bands the key's templates explain.

        With ``w_p`` the sum of key ``p``'s templates scaled to unit sum (where the key puts
        its energy), the share of key ``p`` in frame ``t`` is ``w_p · (W_p H_p)[:, t] /
        w_p · (W H)[:, t]``: the model's energy in the key's bands, weighted by ``w_p``, that
        comes from the key's own templates ``W_p``. Near 1 for a note playing on its own (even
        a soft one); small for a key whose activation is other notes' leakage into its
        templates, since the energy in its bands is mostly explained by those notes.

        Returns
        -------
        ndarray, shape (P, n_frames)
            In [0, 1], one row per key of ``pitches``; 0 where the model is silent.
        """
        pitch = np.asarray(self.pitch)
        own = pitch[None, :] == np.asarray(self.pitches)[:, None]  # (P, R): key p's templates
        where = own.astype(self.W.dtype) @ self.W.T  # (P, n_bands)
        where /= np.maximum(where.sum(axis=1, keepdims=True), 1e-12)
        weight = where @ self.W  # (P, R): each template's energy in each key's bands
        total = weight @ self.H
        mine = (weight * own) @ self.H
        return np.where(total > 1e-12, mine / np.maximum(total, 1e-12), 0.0)

    def __repr__(self) -> str:
        return (f"Activations(V {self.V.shape}, W {self.W.shape}, H {self.H.shape}, "
                f"{len(self.pitches)} pitches, frame_rate={self.frame_rate:g}, tuning={self.tuning:+.3f})")


def compute_activations(
    x: np.ndarray,
    sr: int,
    *,
    pitches: Sequence[int] | None = None,
    dictionary: Dictionary | str | None = None,
    n_iter: int = 50,
    adapt_iter: int = 0,
    support: float = 0.02,
    tuning: float | None = None,
    beta: float = 1.0,
) -> Activations:
    """Fixed-dictionary NMF of a recording (steps 1 and 2 of :func:`transcribe`).

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        Mono audio.
    sr : int
        Its sample rate in Hz.
    pitches : sequence of int, optional
        Restrict the dictionary to these MIDI pitches (score-informed); default all 88 keys.
    dictionary : Dictionary or path, optional
        Default: the shipped piano dictionary (:func:`amt_helpers.dictionary.load_dictionary`).
    n_iter : int
        NMF iterations for ``H`` with ``W`` fixed.
    adapt_iter : int
        Iterations of masked template adaptation after that (0: none).
    support : float
        Template entries below ``support`` × the template's peak are zeroed before adaptation.
    tuning : float, optional
        Tuning offset in semitones; default: estimated from the audio.
    beta : float
        The β-divergence that ``H`` minimises (:func:`amt_helpers.nmf.nmf`; 1: KL, the
        divergence the dictionary was learned with).

    Returns
    -------
    Activations
    """
    n_iter, adapt_iter = _check_count("n_iter", n_iter), _check_count("adapt_iter", adapt_iter)
    d = dictionary if isinstance(dictionary, Dictionary) else load_dictionary(dictionary)
    if pitches is not None:
        d = d.select(pitches)
    rep = d.rep
    x = _without_dc(validate_audio(x, name="x")).astype(np.float32, copy=False)
    sr = validate_sample_rate(sr)
    if tuning is not None and not (np.isfinite(tuning) and abs(tuning) <= 0.5):
        raise ValueError(f"tuning must be a number of semitones within ±0.5, got {tuning!r}")
    if sr != rep.sr:
        x = librosa.resample(x, orig_sr=sr, target_sr=rep.sr).astype(np.float32, copy=False)
    X = stft_magnitude(x, rep)
    if tuning is None:
        tuning = estimate_tuning(magnitude=X, sr=rep.sr, n_fft=rep.n_fft)
    V = log_filterbank(rep, tuning=tuning) @ X
    V = V / max(float(V.max()), 1e-12)
    W0 = d.W.astype(np.float32)
    H0 = _constant_start(V, W0.shape[1])
    V = V + np.float32(1e-7)  # a noise floor keeps KL's ratio V / WH finite everywhere
    # One BLAS thread: these products are small, and extra threads mostly spin (CPU time that
    # does no work when the machine is busy).
    with threadpool_limits(limits=1, user_api="blas"):
        res = nmf(V, W0, H0, n_iter=n_iter, beta=beta, fixed_W=True)
        W, H, cost = res.W, res.H, res.cost
        if adapt_iter > 0:
            Wm = np.where(W0 >= support * W0.max(axis=0, keepdims=True), W0, 0).astype(np.float32)
            res = nmf(V, Wm, H, n_iter=adapt_iter, beta=beta, fixed_W=False)
            W, H = res.W, res.H
            cost = np.concatenate([cost, res.cost[1:]])
    return _read_out(V, W, H, d.pitch, d.kind, frame_rate=rep.frame_rate, tuning=float(tuning), cost=cost)


def _without_dc(x: np.ndarray) -> np.ndarray:
    """``x`` minus its mean. A DC offset is not music, but the centred STFT's zero padding turns
    it into a step at each end of the signal: a click that lights up the lowest keys."""
    return x - x.mean(dtype=np.float64).astype(x.dtype)


def key_activations(W: np.ndarray, H: np.ndarray, template_pitch: Sequence[int],
                    pitches: Sequence[int] | None = None) -> np.ndarray:
    """One activation row per key: the activations of its templates, summed and weighted by their energy.

    Row ``i`` is ``sum over templates r of key pitches[i] of W[:, r].sum() * H[r]``: the part of
    the model's magnitude (summed over frequency) that the key explains in each frame, so that
    keys with several templates (attack and sustain) and templates of different scale compare
    fairly.

    Parameters
    ----------
    W : ndarray, shape (n_bands, R)
        Templates.
    H : ndarray, shape (R, n_frames)
        Their activations.
    template_pitch : sequence of int, length R
        MIDI pitch of each template.
    pitches : sequence of int, optional
        The keys, in the order of the rows; default: the sorted distinct ``template_pitch``.
        A key without templates gets a row of zeros.

    Returns
    -------
    ndarray, shape (len(pitches), n_frames), float32
    """
    of_template = np.asarray(template_pitch, dtype=int)
    if W.ndim != 2 or H.ndim != 2 or W.shape[1] != H.shape[0] or of_template.shape != (H.shape[0],):
        raise ValueError(f"W (n_bands, R), H (R, n_frames) and template_pitch (R,) must agree, got W {W.shape}, "
                         f"H {H.shape}, template_pitch {of_template.shape}")
    keys = sorted(set(of_template.tolist())) if pitches is None else [int(p) for p in pitches]
    row = {p: i for i, p in enumerate(keys)}
    missing = sorted(set(of_template.tolist()) - set(row))
    if missing:
        raise ValueError(f"templates of pitches {missing} have no row in pitches")
    P = np.zeros((len(keys), H.shape[1]), dtype=np.float32)
    np.add.at(P, [row[p] for p in of_template.tolist()], H * W.sum(axis=0)[:, None])
    return P


def _read_out(V, W, H, pitch, kind, **extra) -> Activations:
    """Per-key activations from template activations (the energy each key explains per frame)."""
    uniq = sorted(set(int(p) for p in pitch))
    # Weighted by the templates' energy, which adaptation may change.
    P = key_activations(W, H, pitch, uniq)
    att = kind == 0
    Att = key_activations(W[:, att], H[att], pitch[att], uniq)
    return Activations(V=V, W=W, H=H, pitch=pitch, kind=kind, pitches=uniq, pitch_activation=P,
                       attack_activation=Att, **extra)


def _constant_start(V: np.ndarray, R: int) -> np.ndarray:
    """The deterministic starting H: every activation equal, scaled so that WH matches V on average."""
    return np.full((R, V.shape[1]), float(V.mean()) * V.shape[0] / R + 1e-6, dtype=np.float32)


def _note_mask(template_pitch, template_kind, n_frames, frame_rate, notes, *, attack_frames, margin_frames,
               release_frames, time_offset, offset_shift) -> np.ndarray:
    """Where each template may be active given notes (see :func:`refine_templates`): bool (R, n_frames)."""
    mask = np.zeros((len(template_pitch), n_frames), dtype=bool)
    attack = np.asarray(template_kind) == 0
    for note in notes:
        key = np.asarray(template_pitch) == note.pitch
        onset = int(_frame_of_onset(note.onset, time_offset, frame_rate))  # the frame the rule found
        end = int(round((note.offset - time_offset + offset_shift) * frame_rate))
        start = max(onset - margin_frames, 0)
        mask[key & attack, start:min(onset + attack_frames, n_frames)] = True
        mask[key & ~attack, start:min(end + release_frames, n_frames)] = True
    return mask


def refine_templates(
    act: Activations,
    notes: Sequence[Note],
    *,
    n_iter: int = 10,
    mix: float = 0.8,
    n_iter_h: int = 50,
    attack_frames: int = 3,
    margin_frames: int = 3,
    release_frames: int = 4,
    time_offset: float = 0.0,
    offset_shift: float = 0.0,
    beta: float = 1.0,
) -> Activations:
    """Adapt the templates to the recording, using a first transcription as the score; factorise again.

    Step 3 of :func:`transcribe`. The notes of a first pass play the part of the score in
    score-informed NMF (Ewert & Müller 2012): each template's activation is kept only where its
    key was transcribed (the attack template from ``margin_frames`` before an onset to
    ``attack_frames`` after it, the sustain templates from ``margin_frames`` before the onset to
    ``release_frames`` after the offset) and set to zero elsewhere. With these activations
    fixed, ``n_iter`` KL multiplicative updates of ``W`` (Lee & Seung 2000) re-learn the
    templates of the transcribed keys from the frames where they sound, so their partial
    strengths move toward the recorded piano; templates of keys that were not transcribed stay
    as they are (their activations are left free, to explain what the first pass missed). The
    new templates are mixed back with the learned ones, ``mix · W_learned + (1 - mix) ·
    W_adapted``, renormalised, and ``H`` is estimated again from the constant start with ``W``
    fixed (``n_iter_h`` iterations).

    The mixture guards against the first pass's errors: a template re-learned from frames where
    a wrong note was transcribed drifts toward the notes that really sound there.

    Parameters
    ----------
    act : Activations
        The first-pass model (:func:`compute_activations`).
    notes : sequence of Note
        The first-pass notes (:func:`notes_from_activations` on ``act``).
    n_iter : int
        Updates of ``W`` (0 returns ``act`` unchanged).
    mix : float
        Weight of the learned templates in the result, in [0, 1] (1: no adaptation).
    n_iter_h : int
        Updates of ``H`` with the adapted templates.
    attack_frames, margin_frames, release_frames : int
        Extent of the activation mask around each note, in frames (see above): counted from
        the onset frame and the end frame that the note rule found.
    time_offset, offset_shift : float
        The note rule's time shifts in seconds (:func:`activations_to_notes`), undone to find
        the onset and end frames of ``notes``.
    beta : float
        The β-divergence of the new ``H`` (as in :func:`compute_activations`). The templates are
        always re-learned with KL, the divergence of the dictionary.

    Returns
    -------
    Activations
        The model with the adapted ``W`` and the new ``H``.

    References
    ----------
    S. Ewert, M. Müller, "Using score-informed constraints for NMF-based source separation",
    ICASSP 2012.
    """
    for name, value in (("n_iter", n_iter), ("n_iter_h", n_iter_h), ("attack_frames", attack_frames),
                        ("margin_frames", margin_frames), ("release_frames", release_frames)):
        _check_count(name, value)
    if not (isinstance(mix, (int, float, np.integer, np.floating)) and 0.0 <= mix <= 1.0):
        raise ValueError(f"mix must be a number in [0, 1], got {mix!r}")
    if n_iter == 0 or mix == 1.0 or not notes:
        return act
    V, W0, H = act.V, act.W, act.H
    R, N = H.shape
    fr = act.frame_rate
    mask = _note_mask(act.pitch, act.kind, N, fr, notes, attack_frames=attack_frames, margin_frames=margin_frames,
                      release_frames=release_frames, time_offset=time_offset, offset_shift=offset_shift)
    transcribed = np.asarray(mask.any(axis=1))  # (R,) bool: the templates of keys that were transcribed
    mask[~transcribed] = True
    Hm = np.where(mask, H, 0).astype(np.float32)
    tiny = np.float32(1e-12)
    with threadpool_limits(limits=1, user_api="blas"):
        adapted = W0.copy()
        h_total = Hm.sum(axis=1)[None, :] + tiny
        for _ in range(n_iter):  # KL update of W with H fixed (Lee & Seung 2000)
            ratio = V / (adapted @ Hm + tiny)
            step = adapted * (ratio @ Hm.T) / h_total
            # Only the transcribed keys' templates move; they keep unit sum, as in the dictionary.
            adapted = np.where(transcribed[None, :], step / np.maximum(step.sum(axis=0, keepdims=True), tiny), W0)
        mixed = mix * W0[:, transcribed] + (1.0 - mix) * adapted[:, transcribed]
        W = W0.astype(np.float32, copy=True)
        W[:, transcribed] = mixed / mixed.sum(axis=0, keepdims=True)
        res = nmf(V, W, _constant_start(V, R), n_iter=n_iter_h, beta=beta, fixed_W=True)
    return _read_out(V, W, res.H, act.pitch, act.kind, frame_rate=fr, tuning=act.tuning,
                     cost=np.concatenate([act.cost, res.cost[1:]]))


#: Note-rule settings of :func:`transcribe`, tuned on the validation split (see
#: benchmarks/README.md): blind (88 keys) and score-informed (``pitches`` given).
BLIND_DEFAULTS = dict(threshold=0.045, onset_threshold=None, quiet_threshold=0.02, quiet_ratio=0.1,
                      quiet_frames=4, restrike_ratio=0.15, min_duration=0.05, min_ioi=0.06,
                      offset_ratio=0.005, offset_threshold=0.001, drop_db=8.0, drop_frames=5, drop_range_db=30.0,
                      drop_accel_db=4.0, drop_floor_db=10.0, drop_floor_slope_db=8.0,
                      bridge_frames=5, offset_shift=0.05, time_offset=-0.012, ghost_ratio=0.6,
                      leak_ratio=0.3, leak_share=0.5, ghost_intervals=(12, 19, 24, 1, -1), attack_weight=1.25,
                      n_iter=50, beta=1.0, adapt_iter=0, refine_iter=10, refine_mix=0.8)
# Knowing the pitch set, a lower threshold and a stronger onset cue pay off (the stronger cue
# needs a stricter re-strike test); and the whole-tone neighbour below is then often a ghost
# too (its key is in the piece, its note is not).
INFORMED_DEFAULTS = dict(BLIND_DEFAULTS, threshold=0.04, leak_ratio=0.2, restrike_ratio=0.25,
                         ghost_intervals=(12, 19, 24, 1, -1, -2), attack_weight=1.5)
#: What the first pass's note rule leaves out: its notes only teach the templates the piano's
#: sound (step 3), where a false note does more harm than a missed one, so the two tests that
#: let softer notes in (onsets from silence, leakage suspects that explain their own bands)
#: wait for the final pass. On validation this gained +0.003 (blind) over using them in both.
FIRST_PASS_RULE = dict(quiet_threshold=None, leak_share=None)
#: What ``preset="acoustic"`` changes, blind and score-informed: for a recorded acoustic piano,
#: whose attacks carry a mechanical knock that lights up unrelated keys' templates (stricter
#: leakage and ghost tests) and whose sound fades more gradually at a key release than under
#: a SoundFont's release envelope (a more sensitive damper test; the recorded pianos of the
#: evaluation set lose 60 dB per second after note-off, as their sample library's player
#: plays them). Searched on validation with a recorded piano given a third of the weight
#: (benchmarks/README.md, ninth test run): on the recorded test piano they gain 0.03-0.04 note
#: F with offsets and 0.01-0.02 frame F; on the SoundFont test piano they lose about 0.02 of
#: both, which is why they are not the defaults.
ACOUSTIC_CHANGES = dict(blind=dict(leak_ratio=0.5, ghost_ratio=0.8, leak_share=0.55, drop_db=6.0),
                        informed=dict(leak_ratio=0.3, drop_db=6.0))
#: Audio whose peak is below this level (dB relative to full scale, 1.0) is silence for
#: :func:`transcribe`: 16-bit dither is about -90 dBFS, a quiet piano recording peaks far above.
SILENCE_DBFS = -60.0
#: The names :func:`transcribe` accepts as ``preset``.
PRESETS = ("default", "acoustic")
#: The options of :func:`transcribe` that shape the NMF model; the others are the note rule's.
_MODEL_OPTIONS = ("n_iter", "beta", "adapt_iter", "refine_iter", "refine_mix")


def default_options(*, informed: bool = False, preset: str = "default") -> dict:
    """The defaults of :func:`transcribe` for one mode and preset.

    Parameters
    ----------
    informed : bool
        ``True`` for score-informed transcription (``pitches`` given), else blind.
    preset : {"default", "acoustic"}
        ``"default"``: :data:`BLIND_DEFAULTS` or :data:`INFORMED_DEFAULTS`. ``"acoustic"``:
        those with :data:`ACOUSTIC_CHANGES` applied, for recordings of an acoustic piano.

    Returns
    -------
    dict
        A new dict of every option of :func:`transcribe` that has a default.

    Examples
    --------
    >>> default_options(preset="acoustic")["leak_ratio"], default_options()["leak_ratio"]
    (0.5, 0.3)
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, got {preset!r}")
    options = dict(INFORMED_DEFAULTS if informed else BLIND_DEFAULTS)
    if preset == "acoustic":
        options.update(ACOUSTIC_CHANGES["informed" if informed else "blind"])
    return options


def note_rule(options: dict) -> dict:
    """The note-rule part of a set of :func:`transcribe` options (for :func:`notes_from_activations`).

    Everything but the options that shape the NMF model (``n_iter``, ``beta``, ``adapt_iter``,
    ``refine_iter``, ``refine_mix``).
    """
    return {k: v for k, v in options.items() if k not in _MODEL_OPTIONS}


def transcribe(
    x: np.ndarray,
    sr: int,
    *,
    pitches: Sequence[int] | None = None,
    preset: str = "default",
    dictionary: Dictionary | str | None = None,
    threshold: float | None = None,
    onset_threshold: float | None = None,
    quiet_threshold: float | None = None,
    quiet_ratio: float | None = None,
    quiet_frames: int | None = None,
    restrike_ratio: float | None = None,
    min_duration: float | None = None,
    min_ioi: float | None = None,
    offset_ratio: float | None = None,
    offset_threshold: float | None = None,
    drop_db: float | None = None,
    drop_frames: int | None = None,
    drop_range_db: float | None = None,
    drop_accel_db: float | None = None,
    drop_floor_db: float | None = None,
    drop_floor_slope_db: float | None = None,
    bridge_frames: int | None = None,
    offset_shift: float | None = None,
    time_offset: float | None = None,
    ghost_ratio: float | None = None,
    leak_ratio: float | None = None,
    leak_share: float | None = None,
    ghost_intervals: Sequence[int] | None = None,
    attack_weight: float | None = None,
    n_iter: int | None = None,
    beta: float | None = None,
    adapt_iter: int | None = None,
    refine_iter: int | None = None,
    refine_mix: float | None = None,
    tuning: float | None = None,
    restrict_templates: bool = False,
) -> list[Note]:
    """Transcribe piano audio into notes.

    Every option left at ``None`` takes its value from :data:`BLIND_DEFAULTS` (when
    ``pitches`` is None) or :data:`INFORMED_DEFAULTS` (when it is given): settings tuned on
    the validation pianos, never on the test pianos. ``preset="acoustic"`` changes a few of
    them for recordings of an acoustic piano (:data:`ACOUSTIC_CHANGES`). Because ``None``
    means "the default" here, a test that :func:`activations_to_notes` disables with ``None``
    (``drop_db``, ``drop_floor_db``, ...) cannot be switched off from this function: apply
    :func:`notes_from_activations` to :func:`transcription_model` for that.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        Mono audio, any sample rate (resampled to the dictionary's, 22 050 Hz).
    sr : int
        Sample rate of ``x`` in Hz.
    pitches : sequence of int, optional
        ``None`` (default): blind transcription over the 88 piano keys, MIDI 21-108. A list of
        MIDI pitches: score-informed transcription, only these pitches can occur.
    preset : {"default", "acoustic"}
        Which defaults the options left at ``None`` take (:func:`default_options`).
        ``"default"`` suits sampled and synthesised pianos (SoundFonts) best. ``"acoustic"``
        suits recordings of an acoustic piano: stricter tests against leakage from the
        mechanical noise of the attacks, and a damper test for slower dampers. The defaults
        quoted below are those of ``"default"``.
    dictionary : Dictionary or path, optional
        Templates; default the shipped piano dictionary.
    restrict_templates : bool
        Score-informed only. ``False`` (default): the NMF still uses the templates of all the
        dictionary's keys, and only the given pitches are read out: the other templates absorb
        energy that the given pitches' templates cannot explain (partials of an unfamiliar
        piano, noise), instead of forcing it onto allowed pitches. ``True``: the classic
        score-informed NMF with the given pitches' templates only (half the CPU, but on an
        unfamiliar piano it turns such energy into wrong notes).
    threshold : float
        Minimum activation of a note as a fraction of the loudest activation (default 0.045;
        score-informed 0.04).
    onset_threshold : float, optional
        Minimum onset strength (default: ``threshold``).
    quiet_threshold, quiet_ratio, quiet_frames
        A note that starts from silence (the key's activation over the ``quiet_frames``
        frames before, default 4, below ``quiet_ratio``, default 0.1, × the note's peak)
        needs an onset strength of only ``quiet_threshold`` (default 0.02; a value of
        ``onset_threshold`` or more disables this): soft notes rise over several frames.
    restrike_ratio : float
        An onset also needs an onset strength of at least ``restrike_ratio`` × the key's
        activation in the frame before (default 0.15; score-informed 0.25; 0 disables this):
        a key struck again while it sounds adds energy, the swell or beating of a held tone
        does not.
    min_duration : float
        Shortest note, seconds (default 0.05).
    min_ioi : float
        Shortest interval between two onsets of one key, seconds (default 0.06).
    offset_ratio, offset_threshold, drop_db, drop_frames, drop_range_db, drop_accel_db, drop_floor_db, drop_floor_slope_db, bridge_frames
        Offset rule (see :func:`activations_to_notes`): a note ends when its sustain
        activation, bridged over ``bridge_frames`` (default 5) frames, decays below
        ``offset_ratio`` × its peak (default 0.005, -46 dB) or below ``offset_threshold``
        (default 0.001), or drops by more than ``drop_db`` (default 8) dB within
        ``drop_frames`` (default 5, 116 ms) frames while within ``drop_range_db`` (default 30)
        dB of its peak, as under a damper (or in a room, as its reverberation dies away) —
        a drop at least ``drop_accel_db`` (default 4) dB steeper than the decay just before
        it, that takes the level more than ``drop_floor_db`` (default 10) dB plus
        ``drop_floor_slope_db`` (default 8) dB per octave above middle C below the peak (C6:
        26 dB; from A2, MIDI 45, down, no floor).
    offset_shift : float
        Seconds taken off every offset (default 0.05: the analysis window's latency).
    time_offset : float
        Seconds added to every time (default -0.012, chosen by an early search on the
        validation set and kept: later searches put the best value between -0.009 and -0.006,
        within 0.002 of it on the validation objective; 0 loses 0.004). It is not a latency
        correction: the onsets come out about 15 ms early with it (a centred window sees an
        attack before its centre reaches it), well inside the 50 ms onset tolerance; what
        the shift moves is where the offsets and frames fall.
    ghost_ratio, leak_ratio : float
        :func:`suppress_ghosts`: drop a note weaker than ``ghost_ratio`` (default 0.6) × a
        simultaneous note an octave, twelfth, double octave or semitone away, or weaker than
        ``leak_ratio`` (default 0.3; score-informed 0.2) × any simultaneous note (``0``
        disables either).
    leak_share : float
        A note whose key explains at least this share of the energy in its own bands at its
        onset (:meth:`Activations.key_share`) is a soft note, not leakage: the ``leak_ratio``
        test spares it (default 0.5; a value above 1 spares none).
    ghost_intervals : sequence of int
        The semitone distances ``ghost_ratio`` applies to (default ``(12, 19, 24, 1, -1)``;
        score-informed also ``-2``; see :func:`suppress_ghosts`).
    attack_weight : float
        The onset strength of a key is ``attack_weight`` × its attack-template activation plus
        the positive temporal difference of its total activation (default 1.25; score-informed
        1.5).
    n_iter, beta, adapt_iter, tuning
        See :func:`compute_activations` (defaults 50, 1, 0, estimated). ``beta=0.5``, with
        the note rule searched again for it, was better on the validation pianos and worse on
        both test pianos (``benchmarks/README.md``, "β = 0.5 instead of KL"), so KL stays.
    refine_iter : int
        Updates of the templates in :func:`refine_templates`, the second pass that adapts them
        to the recording using the first pass's notes (default 10; 0: one pass only).
    refine_mix : float
        Weight of the learned templates in the adapted ones (default 0.8; see
        :func:`refine_templates`).

    Returns
    -------
    list of Note
        Onsets/offsets in seconds, MIDI pitches, velocities from the activation peaks. An empty
        list for silent audio, whose peak is below :data:`SILENCE_DBFS` (with a
        :class:`UserWarning`): every threshold of the note rule is relative to the loudest
        activation, so the dither or hiss of a silent recording would otherwise be
        transcribed as notes.

    Raises
    ------
    AudioError
        If ``x`` is empty, not mono, or holds NaN/infinite samples, or ``sr`` is not a
        positive whole number of Hz (:func:`~amt_helpers.audio.validate_sample_rate`).
    ValueError
        For invalid options or pitches without templates.

    Notes
    -----
    Deterministic: the NMF starts from a constant ``H`` and there is no random step. The rule
    that turns activations into notes is :func:`activations_to_notes` (applied to each key's
    summed activation, with the attack activations as onset cue and the sustain activations
    for the offsets), followed by :func:`suppress_ghosts`.

    Examples
    --------
    >>> from amt_helpers.data import load_example
    >>> from amt_helpers.transcribe import transcribe
    >>> x, sr, ref = load_example("scale")
    >>> notes = transcribe(x, sr)
    >>> [n.pitch for n in notes[:4]]
    [60, 62, 64, 65]
    """
    x = validate_audio(x, name="x")
    sr = validate_sample_rate(sr)
    if pitches is not None:
        pitches = _check_piano_keys(pitches)
    given = dict(threshold=threshold, onset_threshold=onset_threshold, quiet_threshold=quiet_threshold,
                 quiet_ratio=quiet_ratio, quiet_frames=quiet_frames, restrike_ratio=restrike_ratio,
                 min_duration=min_duration,
                 min_ioi=min_ioi, offset_ratio=offset_ratio, offset_threshold=offset_threshold,
                 drop_db=drop_db, drop_frames=drop_frames, drop_range_db=drop_range_db,
                 drop_accel_db=drop_accel_db, drop_floor_db=drop_floor_db, drop_floor_slope_db=drop_floor_slope_db,
                 bridge_frames=bridge_frames,
                 offset_shift=offset_shift, time_offset=time_offset,
                 ghost_ratio=ghost_ratio, leak_ratio=leak_ratio, leak_share=leak_share,
                 ghost_intervals=ghost_intervals, attack_weight=attack_weight, n_iter=n_iter, beta=beta, adapt_iter=adapt_iter,
                 refine_iter=refine_iter, refine_mix=refine_mix)
    opt = default_options(informed=pitches is not None, preset=preset)
    opt.update({k: v for k, v in given.items() if v is not None})
    peak_db = 20 * math.log10(max(float(np.max(np.abs(_without_dc(x)))), 1e-12))
    if peak_db < SILENCE_DBFS:
        dc = float(np.mean(x, dtype=np.float64))
        dc_note = f" once its DC offset of {dc:+.3g} is removed" if abs(dc) >= 10 ** (SILENCE_DBFS / 20) else ""
        warnings.warn(f"the audio is silent (peak {max(peak_db, -200):.0f} dBFS{dc_note}, below {SILENCE_DBFS:.0f} "
                      "dBFS): no notes", UserWarning, stacklevel=2)
        return []
    act = transcription_model(x, sr, opt, pitches=pitches, dictionary=dictionary, tuning=tuning,
                              restrict_templates=restrict_templates)
    return notes_from_activations(act, **note_rule(opt))


def transcription_model(
    x: np.ndarray,
    sr: int,
    options: dict,
    *,
    pitches: Sequence[int] | None = None,
    dictionary: Dictionary | str | None = None,
    tuning: float | None = None,
    restrict_templates: bool = False,
) -> Activations:
    """Steps 1-3 of :func:`transcribe`: the model whose activations the note rule reads.

    Parameters
    ----------
    x, sr
        Audio and its sample rate in Hz (validated by :func:`transcribe`).
    options : dict
        Every option of :func:`transcribe` (e.g. ``BLIND_DEFAULTS``): ``n_iter``, ``beta``,
        ``adapt_iter``, ``refine_iter`` and ``refine_mix`` shape the NMF; the others, the note
        rule (:func:`note_rule`, with :data:`FIRST_PASS_RULE` on top), make the first pass's
        notes that :func:`refine_templates` adapts the templates to.
    pitches, dictionary, tuning, restrict_templates
        As in :func:`transcribe`.

    Returns
    -------
    Activations
        Read out for ``pitches`` when they are given.
    """
    _check_count("refine_iter", options["refine_iter"])
    act = compute_activations(x, sr, pitches=pitches if restrict_templates else None, dictionary=dictionary,
                              n_iter=options["n_iter"], adapt_iter=options["adapt_iter"], tuning=tuning,
                              beta=options["beta"])
    read = (lambda a: a.select(pitches)) if pitches is not None and not restrict_templates else (lambda a: a)
    if options["refine_iter"] > 0:
        score = notes_from_activations(read(act), **dict(note_rule(options), **FIRST_PASS_RULE))
        act = refine_templates(act, score, n_iter=options["refine_iter"], mix=options["refine_mix"],
                               n_iter_h=options["n_iter"], time_offset=options["time_offset"],
                               offset_shift=options["offset_shift"], beta=options["beta"])
    return read(act)


def notes_from_activations(
    act: "Activations",
    *,
    ghost_ratio: float = 0.5,
    leak_ratio: float = 0.0,
    ghost_intervals: Sequence[int] = (12, 19, 24, 1, -1),
    attack_weight: float = 1.0,
    leak_share: float | None = 0.5,
    **rule,
) -> list[Note]:
    """Step 4 of :func:`transcribe`: the note rule applied to a model from :func:`compute_activations`.

    The onset strength of each key is ``attack_weight`` × its attack activation plus the
    positive difference of its summed activation; offsets follow its sustain activation (the
    summed activation minus the attack part). ``rule`` goes to :func:`activations_to_notes`;
    then :func:`suppress_ghosts` with ``ratio=ghost_ratio``, ``any_ratio=leak_ratio``,
    ``intervals=ghost_intervals`` and, unless ``leak_share`` is None, ``any_share=leak_share``
    with each note's key share at its onset (:func:`note_shares`).

    The defaults of this function (and of :func:`activations_to_notes`) are a plain rule, not
    the tuned settings of :func:`transcribe`; to read a model exactly as ``transcribe`` does,
    pass ``**note_rule(default_options())`` (or ``default_options(informed=True)``).
    """
    if leak_share is not None:
        leak_share = _check_positive("leak_share", leak_share, allow_zero=True)
    attack_weight = _check_positive("attack_weight", attack_weight, allow_zero=True)
    P = act.pitch_activation
    onset_strength = attack_weight * act.attack_activation + np.maximum(np.diff(P, axis=1, prepend=0.0), 0.0)
    sustain = np.maximum(P - act.attack_activation, 0.0)
    notes = activations_to_notes(P, act.pitches, act.frame_rate, onset_strength=onset_strength,
                                 sustain=sustain, **rule)
    if notes and (ghost_ratio > 0 or leak_ratio > 0):
        spare: dict[str, Any] = {}
        if leak_ratio > 0 and leak_share is not None:
            spare = dict(shares=note_shares(act, notes, rule.get("time_offset", 0.0)), any_share=leak_share)
        notes = suppress_ghosts(notes, ratio=ghost_ratio, any_ratio=leak_ratio, intervals=ghost_intervals, **spare)
    return notes


def note_shares(act: "Activations", notes: Sequence[Note], time_offset: float = 0.0) -> np.ndarray:
    """Each note's key share (:meth:`Activations.key_share`) at its onset.

    Parameters
    ----------
    act : Activations
        The model the notes were read from.
    notes : sequence of Note
        Notes of keys in ``act.pitches``, as :func:`activations_to_notes` returns them.
    time_offset : float
        The ``time_offset`` the notes were made with (seconds), to find their onset frames.

    Returns
    -------
    ndarray, shape (n_notes,)
        The largest share of each note's key over the four frames from its onset frame.
    """
    share = act.key_share()
    row = {p: i for i, p in enumerate(act.pitches)}
    rows = np.array([row[n.pitch] for n in notes], dtype=int)
    start = _frame_of_onset(np.array([n.onset for n in notes], dtype=float), time_offset, act.frame_rate)
    frames = np.clip(start[:, None] + np.arange(4), 0, share.shape[1] - 1)
    return share[rows[:, None], frames].max(axis=1)


def _frame_of_onset(onset, time_offset: float, frame_rate: float) -> np.ndarray:
    """The frame that :func:`activations_to_notes` found an onset (seconds) at: step 6 undone.

    Step 6 clips onsets at 0 s; with a negative ``time_offset`` an onset of 0 s comes from the
    first frame, not from ``-time_offset`` seconds in.
    """
    onset = np.asarray(onset, dtype=float)
    return np.where(onset <= 0, 0, np.rint((onset - time_offset) * frame_rate)).astype(int)


def _check_piano_keys(pitches) -> list[int]:
    """The sorted distinct keys of a score-informed pitch set (templates exist only for whole keys)."""
    keys = _whole_numbers("pitches", pitches, low=21, high=108, what="MIDI numbers",
                          span="be piano keys, MIDI 21-108", allow_empty=False)
    return sorted(set(keys))

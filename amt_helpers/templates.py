"""Harmonic pitch templates (for ``W``) and score-informed activations (for ``H``).

Both build *initialisations* for NMF, ``V ≈ W · H`` with ``V`` of shape (n_bins, n_frames),
``W`` of shape (n_bins, R) and ``H`` of shape (R, n_frames). Under multiplicative updates
(Lee & Seung 2000) an entry that starts at zero stays zero, so the zeros of these matrices are
*constraints*: a harmonic comb in column ``r`` of ``W`` keeps template ``r`` harmonic, and a
score-informed ``H`` lets pitch ``r`` sound only where the score allows it (Müller, FMP §8.3).

Conventions used throughout
---------------------------
- Frequency bin ``k`` of an STFT with ``n_fft`` points at sampling rate ``sr`` is centred on
  ``k * sr / n_fft`` Hz, ``k = 0 .. n_fft // 2`` (``n_bins = 1 + n_fft // 2``).
- Frame ``t`` (``center=True``) is centred on time ``t / frame_rate`` seconds, where
  ``frame_rate = sr / hop_length`` (this is :func:`librosa.frames_to_time`).
- Pitches are MIDI note numbers: 69 = A4 = 440 Hz, 60 = C4 ≈ 261.63 Hz.
- Every template is scaled so that its **maximum is 1** (with the default ``1/h`` weights the
  fundamental has weight 1 and harmonic ``h`` has weight ``1/h``). The scale of a column of ``W``
  is arbitrary in NMF anyway (it trades off against the row of ``H``); max = 1 keeps the weights
  readable in plots.

The tolerance trade-off
-----------------------
Each harmonic ``h * f0`` gets a band of bins around it. Width matters:

- Too narrow and a harmonic falls between bins, or the true (slightly inharmonic, slightly
  detuned) partial misses the band; because zeros stay zero under multiplicative updates, the
  template can never learn it. For this reason the bin nearest to each harmonic is **always**
  included, even when the band is narrower than one bin (at ``n_fft = 2048`` and 22 050 Hz a bin
  is 10.8 Hz wide, wider than a semitone below about MIDI 53).
- Too wide and neighbouring pitches share bins, so NMF can explain one pitch with its neighbour's
  template. A relative tolerance of 8 % (the original course notebook's choice) is wider than a
  semitone (``2 ** (1 / 12) - 1 ≈ 5.9 %``): adjacent pitches' fundamentals overlap. A tolerance
  of ±50 cents (the default) makes the bands of adjacent semitones tile the frequency axis: they
  touch at the quarter-tone between them but do not overlap (except where a semitone is narrower
  than a bin and the forced nearest bin is shared).

References
----------
- M. Müller, *Fundamentals of Music Processing*, 2nd ed., Springer 2021, §8.3
  (score-informed NMF, template and activation constraints).
- P. Smaragdis, J. C. Brown, "Non-negative matrix factorization for polyphonic music
  transcription", IEEE WASPAA 2003.
- D. D. Lee, H. S. Seung, "Algorithms for non-negative matrix factorization", NeurIPS 2000.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, SupportsFloat, Union, cast

import librosa
import numpy as np

from amt_helpers.audio import validate_sample_rate

__all__ = [
    "midi_to_hz",
    "hz_to_midi",
    "note_name",
    "harmonic_template",
    "pitch_templates",
    "score_informed_activations",
]

#: Default tolerance around each harmonic, in cents (half a semitone).
DEFAULT_TOL_CENTS = 50.0

HarmonicWeights = Union[None, Callable[[np.ndarray], Any], Sequence[float], np.ndarray]

# Frame boundaries are computed as ceil/floor of ``time * frame_rate``; a product such as
# 0.3 * 10 = 3.0000000000000004 must still count as frame 3, so we forgive this much.
_FRAME_SLACK = 1e-9


# ---------------------------------------------------------------------------------------------
# Pitch <-> frequency
# ---------------------------------------------------------------------------------------------


def midi_to_hz(pitch: float | np.ndarray) -> float | np.ndarray:
    """Frequency in Hz of MIDI pitch(es), equal temperament with A4 (69) = 440 Hz.

    Thin wrapper around :func:`librosa.midi_to_hz` that returns a Python ``float`` for a scalar.

    Parameters
    ----------
    pitch : float or array_like
        MIDI note number(s); fractional values are allowed (60.5 is a quarter-tone above C4).

    Returns
    -------
    float or ndarray
        Frequency in Hz, same shape as ``pitch``.

    Examples
    --------
    >>> midi_to_hz(69)
    440.0
    >>> midi_to_hz([57, 81])
    array([220., 880.])
    """
    f = librosa.midi_to_hz(np.asarray(pitch, dtype=float))
    return float(f) if np.ndim(f) == 0 else np.asarray(f)


def hz_to_midi(freq: float | np.ndarray) -> float | np.ndarray:
    """MIDI pitch (fractional) of frequency/frequencies in Hz; inverse of :func:`midi_to_hz`.

    Parameters
    ----------
    freq : float or array_like
        Frequency in Hz (> 0).

    Returns
    -------
    float or ndarray
        Fractional MIDI note number(s), same shape as ``freq``.

    Examples
    --------
    >>> hz_to_midi(440.0)
    69.0

    Raises
    ------
    ValueError
        For a frequency that is not finite and above 0 Hz (0 Hz has no pitch: it would be -inf).
    """
    f = np.asarray(freq, dtype=float)
    bad = f[~(np.isfinite(f) & (f > 0))]
    if bad.size:
        raise ValueError(f"frequencies must be finite and > 0 Hz to have a pitch, got {bad.ravel()[:5].tolist()}")
    m = librosa.hz_to_midi(f)
    return float(m) if np.ndim(m) == 0 else np.asarray(m)


def note_name(pitch: float | Iterable[float]) -> str | list[str]:
    """Scientific pitch name(s) such as ``"C4"`` or ``"F#5"`` for axis labels.

    Uses ASCII ``#`` (not the Unicode sharp sign) so labels render in every font.

    Parameters
    ----------
    pitch : int or iterable of int
        MIDI note number(s).

    Returns
    -------
    str or list of str

    Examples
    --------
    >>> note_name(60)
    'C4'
    >>> note_name([69, 70])
    ['A4', 'A#4']
    """
    if not isinstance(pitch, Iterable) or getattr(pitch, "ndim", 1) == 0:  # a number, or a 0-d array
        return _key_name(cast(SupportsFloat, pitch))
    return [_key_name(p) for p in pitch]


def _key_name(pitch: SupportsFloat) -> str:
    return librosa.midi_to_note(int(round(float(pitch))), unicode=False)


# ---------------------------------------------------------------------------------------------
# Harmonic templates
# ---------------------------------------------------------------------------------------------


def _check_stft_params(sr: float, n_fft: int) -> None:
    validate_sample_rate(sr, integer=False)
    if isinstance(n_fft, bool) or not isinstance(n_fft, (int, np.integer)) or n_fft < 2:
        raise ValueError(f"n_fft must be an integer >= 2, got {n_fft!r}")


def _tolerance_factors(tol_cents: float | None, tol_relative: float | None) -> tuple[float, float]:
    """Return (lower, upper) multipliers so harmonic f has the band [lower * f, upper * f]."""
    if tol_cents is not None and tol_relative is not None:
        raise ValueError(
            "give either tol_cents or tol_relative, not both "
            f"(got tol_cents={tol_cents!r}, tol_relative={tol_relative!r})"
        )
    if tol_relative is not None:
        if not (math.isfinite(tol_relative) and 0 <= tol_relative < 1):
            raise ValueError(f"tol_relative must be in [0, 1), got {tol_relative!r}")
        return 1.0 - tol_relative, 1.0 + tol_relative
    if tol_cents is None:
        tol_cents = DEFAULT_TOL_CENTS
    if not (math.isfinite(tol_cents) and tol_cents >= 0):
        raise ValueError(f"tol_cents must be a finite number >= 0, got {tol_cents!r}")
    ratio = 2.0 ** (tol_cents / 1200.0)
    return 1.0 / ratio, ratio


def _harmonic_weights(
    n: int, harmonic_weights: HarmonicWeights, n_harmonics: int | None
) -> np.ndarray:
    """Weights of harmonics 1..n as a float array of length <= n (shorter if the array is)."""
    h = np.arange(1, n + 1)
    if harmonic_weights is None:
        w = 1.0 / h
    elif callable(harmonic_weights):
        w = np.asarray(harmonic_weights(h), dtype=float)
        if w.shape != h.shape:
            raise ValueError(
                "harmonic_weights(h) must return one weight per harmonic "
                f"(shape {h.shape}), got shape {w.shape}"
            )
    else:
        w = np.asarray(harmonic_weights, dtype=float)
        if w.ndim != 1 or w.size == 0:
            raise ValueError("harmonic_weights must be a callable or a non-empty 1-D array")
        if n_harmonics is not None and w.size < n_harmonics:
            raise ValueError(
                f"harmonic_weights has {w.size} entries but n_harmonics={n_harmonics}"
            )
        w = w[:n]
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("harmonic_weights must be finite and non-negative")
    return w


def _n_harmonics(f0: np.ndarray, sr: float, n_harmonics: int | None) -> np.ndarray:
    """Number of harmonics h with h * f0 <= Nyquist, capped at n_harmonics."""
    if n_harmonics is not None and (
        isinstance(n_harmonics, bool) or not isinstance(n_harmonics, (int, np.integer)) or n_harmonics < 1
    ):
        raise ValueError(f"n_harmonics must be a positive integer or None, got {n_harmonics!r}")
    # The tiny slack keeps a harmonic that lands exactly on Nyquist despite rounding.
    n = np.floor((sr / 2.0) / f0 * (1 + 1e-12)).astype(int)
    if n_harmonics is not None:
        n = np.minimum(n, n_harmonics)
    return n


def _check_pitches(pitches: Any, sr: float) -> np.ndarray:
    """Pitches as a float array; fractional MIDI numbers are fine (a template for a detuned key)."""
    p = np.atleast_1d(np.asarray(pitches, dtype=float))
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"pitches must be a non-empty 1-D sequence of MIDI numbers, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("pitches must be finite MIDI numbers")
    f0 = np.asarray(librosa.midi_to_hz(p), dtype=float)
    too_high = f0 > sr / 2.0
    if np.any(too_high):
        raise ValueError(
            f"pitch {p[too_high][0]:g} ({f0[too_high][0]:.1f} Hz) is above the Nyquist frequency "
            f"{sr / 2:g} Hz: its template would be empty"
        )
    return p


def harmonic_template(
    pitch: float,
    sr: float,
    n_fft: int,
    *,
    tol_cents: float | None = None,
    tol_relative: float | None = None,
    n_harmonics: int | None = None,
    harmonic_weights: HarmonicWeights = None,
) -> np.ndarray:
    """Harmonic comb for one pitch: one column of ``W``.

    Harmonic ``h`` (``h = 1, 2, ...`` while ``h * f0`` is at most the Nyquist frequency
    ``sr / 2``, and at most ``n_harmonics``) puts weight ``w[h]`` on every bin whose centre
    frequency lies in its tolerance band, **and always on the bin nearest to** ``h * f0``, so that
    no harmonic is lost when the band is narrower than a bin. All other bins are exactly zero.
    Where the bands of two harmonics overlap (high harmonics with wide tolerances) a bin gets the
    larger of the two weights. The template is then scaled so that its maximum is 1.

    This function is the readable reference (a loop over harmonics); :func:`pitch_templates`
    computes many pitches at once without Python loops and gives identical results.

    Parameters
    ----------
    pitch : float
        MIDI note number (fractional allowed), e.g. 60 for C4.
    sr : float
        Sampling rate in Hz.
    n_fft : int
        FFT length of the STFT the template is meant for.
    tol_cents : float, optional
        Half-width of each band in cents: harmonic ``f`` covers
        ``[f * 2**(-tol_cents/1200), f * 2**(tol_cents/1200)]``. Default 50 (half a semitone,
        see the module notes on the trade-off). Mutually exclusive with ``tol_relative``.
    tol_relative : float, optional
        Half-width as a fraction of the harmonic's frequency: ``[f * (1 - r), f * (1 + r)]``;
        ``tol_relative=0.08`` reproduces the original course notebook's 8 %.
    n_harmonics : int, optional
        Maximum number of harmonics (default: all up to Nyquist).
    harmonic_weights : callable or array_like, optional
        Weight of harmonic ``h``. Default ``1 / h``. A callable gets the integer array
        ``h = [1, 2, ..., H]`` and returns ``H`` weights (e.g. ``lambda h: h ** -2.0``); an array
        gives the weights of harmonics ``1, 2, ...`` directly (harmonics beyond its length are
        left out). Weights must be finite and non-negative, not all zero.

    Returns
    -------
    template : ndarray, shape (1 + n_fft // 2,)
        Non-negative, maximum 1.

    Raises
    ------
    ValueError
        For invalid ``sr``, ``n_fft``, tolerances, ``n_harmonics`` or weights, a pitch above
        Nyquist, or weights that leave the template empty.

    See Also
    --------
    pitch_templates : the same for several pitches, as a matrix ``W``.

    Examples
    --------
    >>> t = harmonic_template(69, 22050, 2048)        # A4 = 440 Hz
    >>> t.shape
    (1025,)
    >>> int(round(440 * 2048 / 22050))                 # bin of the fundamental
    41
    >>> float(t[41]), float(t[82])                     # harmonics 1 and 2: weights 1 and 1/2
    (1.0, 0.5)
    """
    _check_stft_params(sr, n_fft)
    lower, upper = _tolerance_factors(tol_cents, tol_relative)
    p = _check_pitches(pitch, sr)
    if p.size != 1:
        raise ValueError("harmonic_template takes one pitch; use pitch_templates for several")
    f0 = float(midi_to_hz(p[0]))
    n_h = int(_n_harmonics(np.array([f0]), sr, n_harmonics)[0])
    weights = _harmonic_weights(n_h, harmonic_weights, n_harmonics)

    n_bins = 1 + n_fft // 2
    bins = np.arange(n_bins)
    bin_per_hz = n_fft / sr
    template = np.zeros(n_bins)
    for h, w in enumerate(weights, start=1):
        centre = h * f0 * bin_per_hz  # fractional bin of harmonic h
        in_band = (bins >= lower * centre) & (bins <= upper * centre)
        in_band[min(int(np.floor(centre + 0.5)), n_bins - 1)] = True
        template[in_band] = np.maximum(template[in_band], w)
    peak = template.max()
    if peak <= 0:
        raise ValueError(f"harmonic_weights are all zero for pitch {pitch!r}: the template is empty")
    return template / peak


def pitch_templates(
    pitches: Sequence[float] | np.ndarray,
    sr: float,
    n_fft: int,
    *,
    tol_cents: float | None = None,
    tol_relative: float | None = None,
    n_harmonics: int | None = None,
    harmonic_weights: HarmonicWeights = None,
) -> np.ndarray:
    """Template matrix ``W``: one harmonic comb per pitch, built without Python loops.

    Column ``r`` equals ``harmonic_template(pitches[r], sr, n_fft, ...)``; see there for the
    meaning of the options. Instead of looping over pitches and harmonics, every (pitch,
    harmonic) pair becomes a run of bins ``[lo, hi]``; the runs are expanded into flat index
    arrays and written with :func:`numpy.maximum.at`. Memory is proportional to the number of
    non-zero entries, not to ``R * n_harmonics * n_bins``.

    Parameters
    ----------
    pitches : sequence of float, length R
        MIDI note numbers, one per template (column).
    sr, n_fft, tol_cents, tol_relative, n_harmonics, harmonic_weights
        As in :func:`harmonic_template`.

    Returns
    -------
    W : ndarray, shape (1 + n_fft // 2, R)
        Non-negative; each column has maximum 1.

    Examples
    --------
    >>> W = pitch_templates([60, 64, 67], 22050, 2048)   # C major triad
    >>> W.shape
    (1025, 3)
    >>> W.max(axis=0)
    array([1., 1., 1.])
    """
    _check_stft_params(sr, n_fft)
    lower, upper = _tolerance_factors(tol_cents, tol_relative)
    p = _check_pitches(pitches, sr)
    f0 = np.asarray(librosa.midi_to_hz(p), dtype=float)  # (R,)
    n_h = _n_harmonics(f0, sr, n_harmonics)  # (R,)
    weights = _harmonic_weights(int(n_h.max()), harmonic_weights, n_harmonics)  # (H,)
    n_bins = 1 + n_fft // 2
    R, H = p.size, weights.size

    # Grid of (pitch r, harmonic h); keep only harmonics this pitch actually has.
    h = np.arange(1, H + 1)
    centre = f0[:, None] * h[None, :] * (n_fft / sr)  # (R, H) fractional bins
    valid = h[None, :] <= n_h[:, None]
    r_idx = np.broadcast_to(np.arange(R)[:, None], (R, H))[valid]
    w = np.broadcast_to(weights[None, :], (R, H))[valid]
    centre = centre[valid]

    # Bins k with lower*centre <= k <= upper*centre, widened to include the nearest bin
    # (the union is contiguous because the nearest bin is within half a bin of the centre).
    nearest = np.minimum(np.floor(centre + 0.5), n_bins - 1)
    lo = np.minimum(np.ceil(lower * centre), nearest).astype(np.int64)
    hi = np.minimum(np.maximum(np.floor(upper * centre), nearest), n_bins - 1).astype(np.int64)

    # Expand each run [lo, hi] into its bins: run j contributes lo[j], lo[j]+1, ..., hi[j].
    length = hi - lo + 1
    starts = np.cumsum(length) - length
    run = np.repeat(np.arange(length.size), length)
    k = lo[run] + (np.arange(run.size) - starts[run])

    W = np.zeros((n_bins, R))
    np.maximum.at(W, (k, r_idx[run]), w[run])
    peak = W.max(axis=0)
    if np.any(peak <= 0):
        raise ValueError(
            f"harmonic_weights leave the template of pitch {p[np.argmin(peak)]:g} empty"
        )
    return W / peak


# ---------------------------------------------------------------------------------------------
# Score-informed activations
# ---------------------------------------------------------------------------------------------


def score_informed_activations(
    notes: Iterable[Any],
    pitches: Sequence[int] | np.ndarray,
    n_frames: int,
    frame_rate: float,
    *,
    onset_tol: float = 0.1,
    offset_tol: float = 0.1,
    value: float = 1.0,
    ignore_unknown: bool = False,
) -> np.ndarray:
    """Activation initialisation ``H`` that is zero wherever the score says a pitch is silent.

    Row ``r`` belongs to ``pitches[r]``. For each note, the frames ``t`` whose centre time
    ``t / frame_rate`` lies in the widened span ``[onset - onset_tol, offset + offset_tol]``
    (both ends included) are set to ``value``; everything else is 0. Because multiplicative
    updates keep zeros at zero, NMF started from this ``H`` can only place pitch ``r`` near where
    the score has it (Müller, FMP §8.3). The tolerances absorb imprecise alignment between score
    and audio; make them larger for a rough alignment.

    Parameters
    ----------
    notes : iterable of note objects
        Anything with attributes ``onset``, ``offset`` (seconds) and ``pitch`` (MIDI), e.g.
        :class:`amt_helpers.notes.Note`.
    pitches : sequence of int, length R
        The pitch of each row of ``H`` (the same order as the columns of ``W``). No duplicates.
    n_frames : int
        Number of STFT frames (columns of ``V``).
    frame_rate : float
        Frames per second, ``sr / hop_length``. With ``center=True`` frame ``t`` is centred on
        ``t / frame_rate`` seconds, as :func:`librosa.frames_to_time` computes.
    onset_tol, offset_tol : float
        Seconds by which each note's span is widened before its onset and after its offset.
    value : float
        Value written inside the spans (> 0).
    ignore_unknown : bool
        If False (default), a note whose pitch is not in ``pitches`` raises ValueError (it would
        otherwise silently vanish from the model); if True, such notes are skipped.

    Returns
    -------
    H : ndarray, shape (R, n_frames)
        ``value`` inside the widened note spans, 0 elsewhere. Spans are clipped to the frames
        that exist.

    Raises
    ------
    ValueError
        For invalid arguments, notes with ``offset < onset`` or non-finite times, duplicate
        pitches, or (unless ``ignore_unknown``) a note pitch missing from ``pitches``.

    References
    ----------
    M. Müller, *Fundamentals of Music Processing*, §8.3.

    Examples
    --------
    >>> from collections import namedtuple
    >>> Note = namedtuple("Note", "onset offset pitch velocity")
    >>> H = score_informed_activations([Note(0.3, 0.5, 60, 80)], [60, 62], n_frames=10,
    ...                                frame_rate=10.0, onset_tol=0.1, offset_tol=0.0)
    >>> H.astype(int)
    array([[0, 0, 1, 1, 1, 1, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    """
    p = np.asarray(pitches)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"pitches must be a non-empty 1-D sequence, got shape {p.shape}")
    if np.unique(p).size != p.size:
        raise ValueError(f"pitches must not contain duplicates, got {p.tolist()}")
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    if not (math.isfinite(frame_rate) and frame_rate > 0):
        raise ValueError(f"frame_rate must be positive (frames per second), got {frame_rate!r}")
    for name, tol in (("onset_tol", onset_tol), ("offset_tol", offset_tol)):
        if not (math.isfinite(tol) and tol >= 0):
            raise ValueError(f"{name} must be a finite number >= 0 seconds, got {tol!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"value must be a positive number, got {value!r}")

    row_of = {float(q): r for r, q in enumerate(p.tolist())}
    H = np.zeros((p.size, n_frames))
    for i, note in enumerate(notes):
        onset, offset, pitch = float(note.onset), float(note.offset), float(note.pitch)
        if not (math.isfinite(onset) and math.isfinite(offset)) or offset < onset:
            raise ValueError(f"notes[{i}] has an invalid span: onset={onset!r}, offset={offset!r}")
        r = row_of.get(pitch)
        if r is None:
            if ignore_unknown:
                continue
            raise ValueError(
                f"notes[{i}] has pitch {note.pitch!r}, which is not in pitches; add it to "
                "pitches or pass ignore_unknown=True"
            )
        # Frames whose centre t / frame_rate lies in [start, end].
        first = math.ceil((onset - onset_tol) * frame_rate - _FRAME_SLACK)
        last = math.floor((offset + offset_tol) * frame_rate + _FRAME_SLACK)
        first, last = max(first, 0), min(last, n_frames - 1)
        if first <= last:
            H[r, first : last + 1] = value
    return H

"""The learned piano dictionary: a log-frequency spectrogram and per-pitch attack/sustain templates.

Supervised NMF transcription (Smaragdis & Brown 2003; Müller, FMP §8.3) fixes the templates
``W`` and learns only the activations ``H``. Templates learned from recordings of isolated notes
beat generic harmonic combs by a wide margin, because a real piano note is not a comb: its
partials are stretched (inharmonicity), their strengths differ from key to key, and the hammer
adds a broadband burst at the onset. Following the attack/decay idea of Cheng et al. (ISMIR
2016), every key gets

- one **attack** template, active only during the first frames of a note (the hammer noise and
  the brightest partials), and
- ``n_sustain`` **sustain** templates, active while the note rings (early and late decay, as the
  high partials die out faster than the low ones).

The dictionary shipped in ``data/piano_dictionary.npz`` was learned by
``scripts/build_dictionary.py`` from isolated notes of two SoundFont pianos; its provenance
(SoundFonts, programs, velocities, settings) is stored in the file and in
``data/piano_dictionary.json``.

The representation
------------------
``V = F · |STFT(x)|``: the magnitude STFT (Hann window ``n_fft`` samples, hop ``hop_length``,
centred frames, mono at ``sr`` Hz) mapped through a **log-frequency triangular filterbank**
``F`` with ``bins_per_semitone`` filters per semitone between ``fmin`` and ``fmax``. Filters
that would fall between two FFT bins at the low end are merged, so the bank has a few hundred
rows instead of ``1 + n_fft // 2``. On this axis a change of pitch is a shift, and a detuned
recording is handled by moving the filter centres by the estimated tuning offset (see
:func:`estimate_tuning`), so the same templates fit a piano tuned slightly sharp or flat.

References
----------
- P. Smaragdis, J. C. Brown, "Non-negative matrix factorization for polyphonic music
  transcription", IEEE WASPAA 2003.
- D. D. Lee, H. S. Seung, "Algorithms for non-negative matrix factorization", NeurIPS 2000.
- T. Cheng, M. Mauch, E. Benetos, S. Dixon, "An attack/decay model for piano transcription",
  ISMIR 2016.
- M. Müller, *Fundamentals of Music Processing*, 2nd ed., Springer 2021, §8.3.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amt_helpers._atomic import atomic_path
from amt_helpers.audio import validate_audio, validate_sample_rate
from amt_helpers.data import DATA_DIR
from amt_helpers.templates import hz_to_midi, midi_to_hz

__all__ = [
    "Representation",
    "Dictionary",
    "log_filterbank",
    "spectrogram",
    "stft_magnitude",
    "estimate_tuning",
    "learn_pitch_templates",
    "load_dictionary",
    "DictionaryError",
    "save_dictionary",
    "DEFAULT_PATH",
    "PIANO_PITCHES",
]

#: The 88 keys of a piano, A0 (21) to C8 (108).
PIANO_PITCHES = tuple(range(21, 109))

#: Where the shipped dictionary lives: next to the examples, in :data:`amt_helpers.data.DATA_DIR`.
DEFAULT_PATH = DATA_DIR / "piano_dictionary.npz"


@dataclass(frozen=True)
class Representation:
    """Parameters of the log-frequency magnitude spectrogram the templates live in.

    Attributes
    ----------
    sr : int
        Sample rate in Hz the audio is resampled to.
    n_fft : int
        STFT window length in samples (Hann).
    hop_length : int
        Hop in samples; the frame rate is ``sr / hop_length`` frames per second.
    bins_per_semitone : int
        Filters per semitone of the log-frequency bank.
    fmin, fmax : float
        Range of the grid of filter centres in Hz (at the low end, where centres merge, the
        first band's centre lies up to one FFT bin above ``fmin``; see :func:`log_filterbank`).
    """

    sr: int = 22050
    n_fft: int = 4096
    hop_length: int = 512
    bins_per_semitone: int = 3
    fmin: float = 27.5
    fmax: float = 8000.0

    def __post_init__(self) -> None:
        for name in ("sr", "n_fft", "hop_length", "bins_per_semitone"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Representation.{name} must be a positive whole number, got {value!r}")
        if not (isinstance(self.fmin, (int, float, np.integer, np.floating)) and 0 < self.fmin < self.fmax
                and self.fmin < self.sr / 2 and math.isfinite(self.fmax)):
            raise ValueError(f"Representation needs 0 < fmin < fmax and fmin below sr / 2 = {self.sr / 2:g} Hz, "
                             f"got fmin={self.fmin!r}, fmax={self.fmax!r}")

    @property
    def frame_rate(self) -> float:
        """Frames per second (``sr / hop_length``)."""
        return self.sr / self.hop_length

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("sr", "n_fft", "hop_length", "bins_per_semitone", "fmin", "fmax")}


def log_filterbank(rep: Representation = Representation(), *, tuning: float = 0.0) -> np.ndarray:
    """Triangular log-frequency filterbank mapping STFT magnitudes to ``bins_per_semitone`` per semitone.

    Filter centres are at MIDI pitches ``hz_to_midi(fmin) + tuning + k / bins_per_semitone``
    (``k = 0, 1, ...`` up to ``fmax``), placed at fractional FFT bins. Of centres that round to
    the same FFT bin only the first is kept (the idea of madmom's ``LogarithmicFilterbank``,
    which however centres a merged filter on its FFT bin), so at the low end, where a third of
    a semitone is narrower than an FFT bin (below about 280 Hz with the defaults), there is one
    band per FFT bin, centred at the first grid point past the midpoint between two bins; in
    the lowest octaves that is just past the midpoint, so such a band averages two neighbouring
    bins about equally (the lowest, 29.8 Hz, takes bins 5 and 6 at 0.47 and 0.53). The
    dictionary was learned in this representation, so it is consistent; it is not the finest
    the STFT allows down there, but bands of one bin each (with a rebuilt dictionary) lowered
    the validation objectives (``benchmarks/README.md``). Each filter is a triangle from the
    previous centre bin to the next one, with unit area (so that a filter's output is a
    weighted *average*, independent of its width).

    Parameters
    ----------
    rep : Representation
        ``sr``, ``n_fft``, ``bins_per_semitone``, ``fmin``, ``fmax``.
    tuning : float
        Offset of the filter centres in semitones (e.g. +0.2 for a piano 20 cents sharp).

    Returns
    -------
    F : ndarray, shape (n_bands, 1 + n_fft // 2), float32
        Rows sum to 1. The number of bands depends on ``rep`` only: which centres merge is
        decided on the untuned grid and ``tuning`` only moves them, so the rows of a template
        mean the same thing at every tuning.
    """
    n_bins = 1 + rep.n_fft // 2
    m0 = float(hz_to_midi(rep.fmin))
    m1 = float(hz_to_midi(min(rep.fmax, rep.sr / 2)))
    n = int(np.floor((m1 - m0) * rep.bins_per_semitone)) + 1
    grid = m0 + np.arange(-1, n + 1) / rep.bins_per_semitone  # one extra on each side for edges
    # The merge pattern comes from the untuned grid, so the band count never depends on tuning.
    ref_bins = np.round(midi_to_hz(grid) * rep.n_fft / rep.sr).astype(int)
    keep = np.concatenate([[True], np.diff(ref_bins) > 0])
    bins = midi_to_hz(grid[keep] + tuning) * rep.n_fft / rep.sr  # fractional bins
    bins = np.clip(bins, 0, n_bins - 1)
    freqs = np.arange(n_bins, dtype=float)
    lo, mid, hi = bins[:-2], bins[1:-1], bins[2:]
    # Triangles on the fractional-bin axis, at least one bin wide on each side.
    left = np.maximum(mid - lo, 1.0)
    right = np.maximum(hi - mid, 1.0)
    k = freqs[None, :]
    up = 1 - (mid[:, None] - k) / left[:, None]
    down = 1 - (k - mid[:, None]) / right[:, None]
    F = np.clip(np.where(k <= mid[:, None], up, down), 0, None)
    F /= F.sum(axis=1, keepdims=True)
    return F.astype(np.float32)


#: Frames per block in :func:`stft_magnitude` (a few MB of scratch memory).
_STFT_BLOCK_FRAMES = 512


def stft_magnitude(x: np.ndarray, rep: Representation = Representation()) -> np.ndarray:
    """``|STFT(x)|`` with a periodic Hann window and centred frames, as ``librosa.stft`` computes it.

    Written with NumPy/SciPy directly: same numbers as ``np.abs(librosa.stft(x, n_fft=...,
    hop_length=..., center=True))`` (zero padding), but without the seconds that librosa's
    lazily imported spectral module costs on its first call in a fresh process (a command-line
    run pays that every time).

    Returns
    -------
    ndarray, shape (1 + n_fft // 2, 1 + n_samples // hop_length), float32
        Frame ``t`` is centred on sample ``t * hop_length``.
    """
    import scipy.fft

    x = validate_audio(x, name="x").astype(np.float32, copy=False)
    n_fft, hop = rep.n_fft, rep.hop_length
    n_frames = 1 + x.size // hop
    padded = np.pad(x, n_fft // 2)
    if padded.size < n_fft + (n_frames - 1) * hop:
        padded = np.pad(padded, (0, n_fft + (n_frames - 1) * hop - padded.size))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    magnitude = np.empty((1 + n_fft // 2, n_frames), dtype=np.float32)
    # A block of frames at a time: the windowed frames and their complex spectra would otherwise
    # take four times the memory of the result (about 1 GB for ten minutes of audio).
    for start in range(0, n_frames, _STFT_BLOCK_FRAMES):
        block = frames[start:start + _STFT_BLOCK_FRAMES]
        magnitude[:, start:start + len(block)] = np.abs(scipy.fft.rfft(block * window, axis=1, workers=1)).T
    return magnitude


def spectrogram(x: np.ndarray, rep: Representation = Representation(), *, tuning: float = 0.0,
                filterbank: np.ndarray | None = None) -> np.ndarray:
    """Log-frequency magnitude spectrogram ``V = F · |STFT(x)|``.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        Mono audio at ``rep.sr`` Hz.
    rep : Representation
        Analysis parameters.
    tuning : float
        Tuning offset in semitones passed to :func:`log_filterbank`.
    filterbank : ndarray, optional
        A precomputed :func:`log_filterbank` (saves its construction).

    Returns
    -------
    V : ndarray, shape (n_bands, n_frames), float32
        Frame ``t`` is centred on ``t * hop_length / sr`` seconds.
    """
    X = stft_magnitude(x, rep)
    F = log_filterbank(rep, tuning=tuning) if filterbank is None else filterbank
    return (F @ X).astype(np.float32, copy=False)


def estimate_tuning(x: np.ndarray | None = None, sr: int = 22050, *, magnitude: np.ndarray | None = None,
                    n_fft: int = 2048, hop_length: int = 512, fmin: float = 80.0, fmax: float = 2500.0) -> float:
    """Deviation of a recording's tuning from A4 = 440 Hz, in semitones (in [-0.5, 0.5]).

    Every spectral peak between ``fmin`` and ``fmax`` (a local maximum of the magnitude STFT
    within 26 dB of its frame's maximum) gets a precise frequency by parabolic interpolation of
    the log magnitude; its fractional MIDI pitch ``m`` is a point ``exp(2πi m)`` on the unit
    circle, and the tuning is the angle of their magnitude-weighted mean, divided by ``2π``.
    The circular mean handles the wrap-around at ±50 cents that a plain average gets wrong.
    Vectorised, about 10 ms per 10 s of audio (librosa's ``estimate_tuning`` gives the same
    answers to within a few cents, but costs seconds on its first call).

    Parameters
    ----------
    x : ndarray, shape (n_samples,), optional
        Mono audio at ``sr`` Hz (ignored if ``magnitude`` is given).
    sr : int
        Sample rate in Hz.
    magnitude : ndarray, shape (1 + n_fft // 2, n_frames), optional
        A magnitude STFT of the audio computed with ``n_fft`` (saves recomputing it).
    n_fft, hop_length : int
        STFT parameters.
    fmin, fmax : float
        Frequency range of the peaks used, in Hz (high partials of a piano are stretched sharp
        by inharmonicity, so they are left out).

    Returns
    -------
    float
        E.g. ``0.2`` for a piano tuned 20 cents sharp; 0 for silence.
    """
    sr = validate_sample_rate(sr)
    if magnitude is None:
        if x is None:
            raise ValueError("estimate_tuning needs the audio x or its magnitude STFT")
        magnitude = stft_magnitude(x, Representation(sr=sr, n_fft=n_fft, hop_length=hop_length))
    X = np.asarray(magnitude)
    if X.shape[0] < 3 or not np.any(X):
        return 0.0
    frame_max = X.max(axis=0, keepdims=True)
    # Only the bins between fmin and fmax (and their two neighbours) are needed: a fifth of a
    # long recording's STFT, and of the memory its logarithm takes.
    first = max(1, int(fmin * n_fft / sr))
    last = min(X.shape[0] - 2, int(np.ceil(fmax * n_fft / sr)))
    if first > last:
        return 0.0
    X = X[first - 1:last + 2]
    L = np.log(X + 1e-9)
    left, centre, right = L[:-2], L[1:-1], L[2:]
    k = np.arange(first, last + 1, dtype=float)[:, None]
    freq_of_bin = k * sr / n_fft
    peak = (centre > left) & (centre >= right) & (X[1:-1] > 0.05 * frame_max)
    peak &= (freq_of_bin > fmin) & (freq_of_bin < fmax)
    if not peak.any():
        return 0.0
    curvature = left - 2 * centre + right
    delta = 0.5 * (left - right)[peak] / np.where(curvature[peak] == 0, -1.0, curvature[peak])
    freq = (np.broadcast_to(k, peak.shape)[peak] + delta) * sr / n_fft
    midi = 12 * np.log2(freq / 440.0)
    z = np.sum(X[1:-1][peak] * np.exp(2j * np.pi * midi))
    return float(np.angle(z) / (2 * np.pi)) if abs(z) > 0 else 0.0


@dataclass(frozen=True)
class Dictionary:
    """Templates ``W`` for fixed-``W`` NMF, one column per (pitch, kind) component.

    Attributes
    ----------
    W : ndarray, shape (n_bands, n_components), float32
        Non-negative templates on the :class:`Representation` axis, each column summing to 1.
    pitch : ndarray, shape (n_components,), int
        MIDI pitch of each column.
    kind : ndarray, shape (n_components,), int
        0 for an attack template, 1, 2, ... for the sustain templates.
    rep : Representation
        The spectrogram the templates belong to.
    provenance : dict
        How the dictionary was made (SoundFonts, velocities, script, settings).
    """

    W: np.ndarray
    pitch: np.ndarray
    kind: np.ndarray
    rep: Representation = Representation()
    provenance: dict = field(default_factory=dict)

    @property
    def pitches(self) -> list[int]:
        """The distinct MIDI pitches the dictionary covers, ascending."""
        return sorted(set(int(p) for p in self.pitch))

    def select(self, pitches: Iterable[int]) -> "Dictionary":
        """The sub-dictionary of the given pitches (score-informed transcription).

        Raises
        ------
        ValueError
            If a pitch has no template.
        """
        wanted = sorted(set(int(p) for p in pitches))
        missing = sorted(set(wanted) - set(self.pitches))
        if missing:
            raise ValueError(f"no templates for pitch(es) {missing}; the dictionary covers "
                             f"{min(self.pitches)}-{max(self.pitches)}")
        cols = np.flatnonzero(np.isin(self.pitch, wanted))
        return Dictionary(self.W[:, cols], self.pitch[cols], self.kind[cols], self.rep,
                          self.provenance)


def save_dictionary(path: str | os.PathLike[str], d: Dictionary) -> Path:
    """Write a dictionary as a compressed ``.npz`` (atomically)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, W=d.W.astype(np.float32), pitch=d.pitch.astype(np.int16),
                                kind=d.kind.astype(np.int8), rep=json.dumps(d.rep.to_dict()),
                                provenance=json.dumps(d.provenance))
    return path


class DictionaryError(ValueError):
    """A file that is not a dictionary written by :func:`save_dictionary`."""


_CACHE: dict[tuple[str, int, int], Dictionary] = {}


def load_dictionary(path: str | os.PathLike[str] | None = None) -> Dictionary:
    """Load a dictionary written by :func:`save_dictionary` (default: the shipped piano one).

    The result is cached per file (path, size and modification time), so repeated calls are
    free and a rewritten file is read again. Its arrays are read-only: they are shared by every
    caller.

    Raises
    ------
    FileNotFoundError
        If there is no such file (the shipped one lives in ``data/`` of the repository, or in
        ``$AMT_DATA_DIR``).
    DictionaryError
        If the file is not a dictionary written by :func:`save_dictionary`.

    Examples
    --------
    >>> from amt_helpers.dictionary import load_dictionary
    >>> d = load_dictionary()
    >>> d.pitches[0], d.pitches[-1], d.W.shape[1] == len(d.pitch)
    (21, 108, True)
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"dictionary must be a Dictionary, a path or None, got {type(path).__name__}")
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        raise FileNotFoundError(f"dictionary not found: {path} (rebuild it with scripts/build_dictionary.py, "
                                "or set AMT_DATA_DIR to a folder that holds piano_dictionary.npz)")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        try:
            with np.load(path, allow_pickle=False) as z:
                d = Dictionary(np.asarray(z["W"], dtype=np.float32), z["pitch"].astype(int), z["kind"].astype(int),
                               Representation(**json.loads(str(z["rep"]))), json.loads(str(z["provenance"])))
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            raise DictionaryError(f"{path} is not a dictionary written by save_dictionary: {err}") from err
        for array in (d.W, d.pitch, d.kind):
            array.flags.writeable = False
        _CACHE[key] = d
    return _CACHE[key]


def learn_pitch_templates(
    segments: Sequence[np.ndarray],
    onset_frames: Sequence[int],
    *,
    n_sustain: int = 2,
    attack_frames: int = 3,
    n_iter: int = 100,
) -> np.ndarray:
    """Learn one attack and ``n_sustain`` sustain templates of one pitch from isolated notes.

    All segments of the pitch (several velocities, several pianos) are concatenated into
    ``V`` and factorised with KL-NMF (:func:`amt_helpers.nmf.nmf`, ``beta=1``) with a
    constrained activation initialisation: the attack component may only be active in the
    ``attack_frames`` frames starting one frame before each onset (a centred analysis window
    sees the attack early), sustain component ``j`` starts on the
    ``j``-th part of each note's decay (zeros stay zeros under multiplicative updates, so this
    is a constraint on *where* each template may explain the data). Templates are initialised
    with the mean spectrum of their region.

    Parameters
    ----------
    segments : sequence of ndarray, each shape (n_bands, n_frames_i)
        Log-frequency spectrograms of isolated notes of this pitch.
    onset_frames : sequence of int
        Frame of each segment's onset.
    n_sustain : int
        Number of sustain templates.
    attack_frames : int
        Length of the attack region in frames.
    n_iter : int
        KL-NMF iterations.

    Returns
    -------
    W : ndarray, shape (n_bands, 1 + n_sustain)
        Column 0 is the attack template, then the sustain templates; each column sums to 1.
    """
    from amt_helpers.nmf import nmf

    V = np.concatenate(segments, axis=1).astype(np.float64)
    R = 1 + n_sustain
    H0 = np.zeros((R, V.shape[1]))
    W0 = np.zeros((V.shape[0], R))
    start = 0
    for seg, on in zip(segments, onset_frames, strict=True):
        n = seg.shape[1]
        a0, a1 = start + max(on - 1, 0), start + min(on + attack_frames - 1, n)
        H0[0, a0:a1] = 1.0
        # sustain j: active from the onset to the end, initially split into n_sustain parts
        bounds = np.linspace(on, n, n_sustain + 1).astype(int)
        for j in range(n_sustain):
            H0[1 + j, start + max(on - 1, 0): start + n] = 0.1
            H0[1 + j, start + bounds[j]: start + bounds[j + 1]] = 1.0
        start += n
    for r in range(R):
        w = V @ H0[r]
        W0[:, r] = w / max(w.sum(), 1e-12) + 1e-6
    scale = V.sum() / max((W0 @ H0).sum(), 1e-12)
    res = nmf(V, W0, H0 * scale, n_iter=n_iter, beta=1, dtype=np.float64)
    W = res.W / np.maximum(res.W.sum(axis=0, keepdims=True), 1e-12)
    return W.astype(np.float32)

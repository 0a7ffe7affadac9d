"""Listening to NMF components: from ``W``, ``H`` and the mixture STFT back to sound.

NMF works on a non-negative ``V`` (here ``V = |X|``, the magnitude of the complex STFT ``X``;
say which domain you use — ``|X|``, ``|X|**2`` or ``log(1 + γ|X|)`` — before recombining it with
a phase). To hear component ``k`` we need a *complex* STFT again. Two ways:

``mode="mask"`` (recommended)
    A soft, Wiener-like mask ``M_k = W_k H_k / (W H)`` applied to the mixture: ``Y_k = M_k · X``.
    The masks sum to 1 wherever ``W H > 0``, so the components add up to the mixture exactly,
    and each component keeps the mixture's phase *and* its fine magnitude detail. It works the
    same whatever domain ``V`` is in, because only ratios are used.
``mode="phase"``
    The model magnitude with the mixture's phase: ``Y_k = W_k H_k · exp(1j · angle(X))``. This is
    what the original course notebook intended; it only makes sense when ``V`` is a magnitude
    ``|X|``, and the components do not add up to the mixture (``W H`` is only an approximation).

A classic bug is ``W_k H_k * np.angle(X)``: that multiplies a magnitude by an angle in radians
(a real number between -π and π) instead of by a unit phasor ``exp(1j · angle)``.

:func:`listen` plays several clips side by side at **one common gain**. ``IPython.display.Audio``
normalises every clip to full scale separately, so a quiet residual would sound as loud as the
mix it came from.

References
----------
- M. Müller, *Fundamentals of Music Processing*, 2nd ed., Springer 2021, §8.3 (NMF-based
  audio decomposition with soft masks).
- P. Smaragdis, J. C. Brown, "Non-negative matrix factorization for polyphonic music
  transcription", IEEE WASPAA 2003.
"""

from __future__ import annotations

import base64
import html
import io
import math
import wave
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from amt_helpers.audio import validate_sample_rate
from amt_helpers.notes import validate_notes
from amt_helpers.templates import midi_to_hz

__all__ = ["component_stft", "component_signals", "listen", "synthesize_notes"]

ComponentIndex = Union[int, slice, Sequence[int], np.ndarray]

#: Peak level (full scale = 1) that :func:`listen` scales the loudest clip to by default.
DEFAULT_PEAK = 0.9

# component_signals works on stacks of this many complex STFT entries at most (~128 MB of
# complex128), so that many components of a long recording do not exhaust memory.
_MAX_STACK_ENTRIES = 2**23


def _check_factors(X: Any, W: Any, H: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X)
    W = np.asarray(W, dtype=float)
    H = np.asarray(H, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D STFT (n_bins, n_frames), got shape {X.shape}")
    if not np.iscomplexobj(X):
        raise ValueError(
            "X must be the complex STFT of the mixture (its phase is needed), got a real array; "
            "pass X, not V = np.abs(X)"
        )
    if W.ndim != 2 or H.ndim != 2:
        raise ValueError(f"W and H must be 2-D, got W.shape={W.shape}, H.shape={H.shape}")
    if W.shape[0] != X.shape[0]:
        raise ValueError(f"W has {W.shape[0]} rows but X has {X.shape[0]} frequency bins")
    if H.shape[1] != X.shape[1]:
        raise ValueError(f"H has {H.shape[1]} columns but X has {X.shape[1]} frames")
    if W.shape[1] != H.shape[0]:
        raise ValueError(
            f"W has {W.shape[1]} components (columns) but H has {H.shape[0]} (rows)"
        )
    for name, M in (("W", W), ("H", H)):
        if not np.all(np.isfinite(M)) or np.any(M < 0):
            raise ValueError(f"{name} must be finite and non-negative")
    return X, W, H


def _component_indices(k: ComponentIndex, R: int) -> np.ndarray:
    """Indices selected by ``k`` (int, slice, sequence of ints or boolean mask) out of R."""
    # numpy would take these as indices of another kind (None adds an axis) or say "out of range"
    if isinstance(k, (bool, np.bool_, str, bytes, float, np.floating)) or k is None or k is Ellipsis:
        raise ValueError(f"k must be a component index, slice or sequence of indices, got {k!r}")
    try:
        idx = np.arange(R)[k]
    except IndexError as err:
        raise ValueError(f"k={k!r} is out of range for {R} components: {err}") from None
    idx = np.atleast_1d(idx)
    if idx.size == 0:
        raise ValueError(f"k={k!r} selects no component")
    return idx


def _check_mode(mode: str) -> None:
    if mode not in ("mask", "phase"):
        raise ValueError(f"mode must be 'mask' or 'phase', got {mode!r}")


def component_stft(
    X: np.ndarray,
    W: np.ndarray,
    H: np.ndarray,
    k: ComponentIndex,
    *,
    mode: str = "mask",
    eps: float = 0.0,
) -> np.ndarray:
    """Complex STFT of NMF component ``k`` (or of the sum of a group of components).

    Parameters
    ----------
    X : ndarray, shape (n_bins, n_frames), complex
        STFT of the mixture that ``V`` was computed from.
    W : ndarray, shape (n_bins, R)
        Templates, non-negative.
    H : ndarray, shape (R, n_frames)
        Activations, non-negative.
    k : int, slice, sequence of int or boolean mask
        The component, or a group of components whose contributions are summed (e.g. all
        templates of one pitch, or ``slice(0, 3)``). Negative indices count from the end.
    mode : {"mask", "phase"}
        ``"mask"``: ``(W_k H_k) / (W H + eps) · X`` — the components sum to ``X`` (to float
        precision wherever ``W H > 0``). ``"phase"``: ``W_k H_k · exp(1j · angle(X))`` — the model
        magnitude with the mixture's phase; assumes ``V = |X|``.
    eps : float
        Added to the mask's denominator (``mode="mask"`` only). With the default 0, bins where
        ``W H = 0`` get a mask of 0 (no component explains them) instead of a division by zero.
        A small positive ``eps`` damps bins the model barely explains, at the price of the
        components no longer summing exactly to ``X``.

    Returns
    -------
    Y : ndarray, shape (n_bins, n_frames), complex
        Invert with :func:`amt_helpers.audio.istft` (or :func:`librosa.istft`).

    Raises
    ------
    ValueError
        If shapes disagree, ``X`` is not complex, ``W`` or ``H`` is negative or not finite,
        ``k`` is out of range, or ``mode`` / ``eps`` is invalid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(5, 4)) + 1j * rng.normal(size=(5, 4))
    >>> W, H = rng.random((5, 2)), rng.random((2, 4))
    >>> Y0 = component_stft(X, W, H, 0)
    >>> Y1 = component_stft(X, W, H, 1)
    >>> bool(np.allclose(Y0 + Y1, X))           # soft masks: the parts add up to the whole
    True
    >>> Y = component_stft(X, W, H, 0, mode="phase")
    >>> bool(np.allclose(np.abs(Y), np.outer(W[:, 0], H[0])))
    True
    """
    X, W, H = _check_factors(X, W, H)
    _check_mode(mode)
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    idx = _component_indices(k, W.shape[1])
    part = W[:, idx] @ H[idx, :]  # (n_bins, n_frames), magnitude of the selected components
    if mode == "phase":
        # A unit phasor per bin; angle(0) = 0, so silent mixture bins keep the model magnitude.
        return part * np.exp(1j * np.angle(X))
    total = W @ H + eps
    mask = np.divide(part, total, out=np.zeros_like(part), where=total > 0)
    return mask * X


def component_signals(
    X: np.ndarray,
    W: np.ndarray,
    H: np.ndarray,
    *,
    mode: str = "mask",
    hop_length: int = 512,
    n_fft: int | None = None,
    window: str = "hann",
    length: int | None = None,
    eps: float = 0.0,
) -> np.ndarray:
    """Time signals of all NMF components, one row each.

    Every component's complex STFT (see :func:`component_stft`) is inverted with one call of
    :func:`amt_helpers.audio.istft` on a stack ``(R, n_bins, n_frames)`` — librosa's ISTFT
    accepts leading dimensions. For long recordings with many components the stack is processed
    in a few batches to bound memory.

    Parameters
    ----------
    X : ndarray, shape (n_bins, n_frames), complex
        STFT of the mixture (``center=True``, as :func:`amt_helpers.audio.stft`).
    W : ndarray, shape (n_bins, R)
    H : ndarray, shape (R, n_frames)
    mode : {"mask", "phase"}
        See :func:`component_stft`. With ``"mask"`` the rows sum to the resynthesised mixture.
    hop_length, n_fft, window
        As used for the forward STFT.
    length : int, optional
        Number of samples of each output signal; pass the original signal's length to get
        sample-aligned components. Default: what the ISTFT gives,
        ``hop_length * (n_frames - 1)``.
    eps : float
        See :func:`component_stft`.

    Returns
    -------
    signals : ndarray, shape (R, n_samples)

    Examples
    --------
    >>> from amt_helpers.audio import stft
    >>> x = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> X = stft(x)
    >>> W = np.abs(X).mean(axis=1, keepdims=True)               # one flat-ish template ...
    >>> H = np.abs(X).sum(axis=0, keepdims=True) / W.sum()      # ... and its activation
    >>> component_signals(X, W, H, length=x.size).shape
    (1, 22050)
    """
    from amt_helpers.audio import istft

    X, W, H = _check_factors(X, W, H)
    _check_mode(mode)
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    if length is not None and (isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1):
        raise ValueError(f"length must be a positive number of samples or None, got {length!r}")
    R = W.shape[1]
    if mode == "phase":
        scale = np.exp(1j * np.angle(X))  # unit phasors
    else:
        total = W @ H + eps
        safe = np.where(total > 0, total, 1.0)
        scale = np.where(total > 0, X / safe, 0.0)  # mask_k * X == W_k H_k * (X / WH)
    per_batch = max(1, _MAX_STACK_ENTRIES // X.size)
    out = []
    for start in range(0, R, per_batch):
        sel = slice(start, min(start + per_batch, R))
        # (r, n_bins, n_frames): outer product W[:, r] H[r] for each r in the batch
        Y = W.T[sel, :, None] * H[sel, None, :] * scale[None]
        out.append(istft(Y, hop_length=hop_length, n_fft=n_fft, window=window, length=length))
    return np.concatenate(out, axis=0)


# ---------------------------------------------------------------------------------------------
# Listening at one common gain
# ---------------------------------------------------------------------------------------------


class _HTML:
    """Minimal stand-in for :class:`IPython.display.HTML` when IPython is not installed."""

    def __init__(self, data: str) -> None:
        self.data = data

    def _repr_html_(self) -> str:
        return self.data


def _wav_base64(x: np.ndarray, sr: int) -> str:
    """16-bit PCM mono WAV of ``x`` (already within [-1, 1]) as base64 text."""
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return base64.b64encode(buf.getvalue()).decode("ascii")


def listen(
    *signals: np.ndarray,
    sr: int,
    labels: Sequence[str] | None = None,
    gain: float | None = None,
    peak: float = DEFAULT_PEAK,
) -> Any:
    """Players for several clips, all at **one common gain**, as one block of plain HTML.

    All clips are multiplied by the same factor, so their loudness relations survive: by
    default the loudest sample of all clips is scaled to ``peak`` (0.9 of full scale); with
    ``gain`` the factor is given explicitly (useful to keep the same gain across cells). Each clip
    becomes a 16-bit mono WAV embedded as base64 in an ``<audio>`` tag with its label, so the
    output also plays in static HTML (nbconvert). Cost: about ``sr * 2 * 4 / 3`` bytes per second
    of audio (59 kB/s at 22 050 Hz) — keep clips short.

    Parameters
    ----------
    *signals : ndarray, shape (n_samples,)
        Mono signals (1-D, finite). To play the rows of a 2-D array ``S``, call
        ``listen(*S, sr=sr)``.
    sr : int
        Sampling rate in Hz, common to all clips.
    labels : sequence of str, optional
        One label per clip (default ``"clip 1"``, ``"clip 2"``, ...). HTML is escaped.
    gain : float, optional
        Common factor to apply. It must not push any sample beyond full scale (no silent
        clipping): a ValueError says which gain would fit.
    peak : float
        Target level of the loudest sample when ``gain`` is None, in (0, 1].

    Returns
    -------
    IPython.display.HTML
        Display it (``display(listen(...))`` or as the last expression of a cell); nothing is
        displayed here. The applied factor is stored in its ``gain`` attribute. Without IPython,
        a small object with ``data`` and ``_repr_html_`` is returned instead.

    Raises
    ------
    ValueError
        For no signals, non-1-D, empty or non-finite signals, a wrong number of labels, a bad
        ``sr``, ``peak`` or ``gain``, or a ``gain`` that would clip.

    Examples
    --------
    >>> t = np.arange(2205) / 22050
    >>> mix = np.sin(2 * np.pi * 440 * t)
    >>> out = listen(mix, 0.1 * mix, sr=22050, labels=["mix", "residual"])
    >>> out.data.count("<audio")
    2
    >>> round(out.gain, 3)                               # loudest peak (1.0) -> 0.9
    0.9
    """
    if not signals:
        raise ValueError("listen needs at least one signal")
    sr = validate_sample_rate(sr)  # WAV headers store an integer rate: 22050.0 is fine, 22050.5 is not
    clips = []
    for i, s in enumerate(signals):
        a = np.asarray(s, dtype=float)
        if a.ndim != 1:
            raise ValueError(
                f"signal {i} must be 1-D (mono), got shape {a.shape}; "
                "for the rows of a 2-D array S use listen(*S, sr=sr)"
            )
        if a.size == 0:
            raise ValueError(f"signal {i} is empty")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"signal {i} contains NaN or infinite samples")
        clips.append(a)
    if labels is None:
        labels = [f"clip {i + 1}" for i in range(len(clips))]
    else:
        labels = [str(label) for label in labels]
        if len(labels) != len(clips):
            raise ValueError(f"got {len(labels)} labels for {len(clips)} signals")
    if not (math.isfinite(peak) and 0 < peak <= 1):
        raise ValueError(f"peak must be in (0, 1], got {peak!r}")

    loudest = max(float(np.max(np.abs(a))) for a in clips)
    if gain is None:
        factor = peak / loudest if loudest > 0 else 1.0
    else:
        if not (math.isfinite(gain) and gain > 0):
            raise ValueError(f"gain must be a positive finite number, got {gain!r}")
        if gain * loudest > 1.0:
            raise ValueError(
                f"gain={gain:g} would clip: the loudest sample would reach {gain * loudest:.3g} "
                f"(full scale is 1); use gain <= {1.0 / loudest:.4g} or leave gain=None"
            )
        factor = float(gain)

    db = 20 * math.log10(factor)
    items = []
    for label, a in zip(labels, clips):
        items.append(
            '<figure style="display:inline-block;margin:0 1.5em 0.5em 0">'
            f'<figcaption style="font-family:sans-serif;font-size:90%">{html.escape(label)}</figcaption>'
            f'<audio controls preload="none" src="data:audio/wav;base64,{_wav_base64(a * factor, sr)}">'
            "</audio></figure>"
        )
    note = (
        '<div style="font-family:sans-serif;font-size:80%;color:#666">'
        f"all clips at one common gain: ×{factor:.3g} ({db:+.1f} dB)</div>"
    )
    text = '<div class="amt-listen">' + "".join(items) + note + "</div>"
    html_class: Any
    try:
        from IPython.display import HTML as html_class
    except ImportError:  # IPython is only needed to display, not to build the players
        html_class = _HTML
    out = html_class(text)
    out.gain = factor  # the factor applied, for reuse in a later call: listen(..., gain=out.gain)
    return out


def synthesize_notes(
    notes: Sequence[Any],
    sr: int,
    duration: float | None = None,
    *,
    n_harmonics: int = 8,
    release: float = 0.1,
) -> np.ndarray:
    """Render notes with a small additive piano-like synthesizer (no SoundFont needed).

    Each note is a sum of harmonics ``h = 1..n_harmonics`` (below 0.45 ``sr``) with amplitude
    ``1/h`` that decay exponentially, faster for higher harmonics (``exp(-(1 + 0.8 h) t)``),
    a 5 ms attack ramp, and a linear ``release`` after the note's offset. Loudness follows the
    velocity. It is meant for *listening to a transcription* next to the recording, not as a
    realistic piano.

    Parameters
    ----------
    notes : sequence of Note
        Objects with ``onset``, ``offset`` (seconds), ``pitch`` (MIDI) and ``velocity``.
    sr : int
        Sample rate in Hz.
    duration : float, optional
        Length of the output in seconds (default: the last offset plus ``release``). Notes that
        reach beyond it are cut.
    n_harmonics : int
        Number of partials per note.
    release : float
        Fade-out after each offset, in seconds.

    Returns
    -------
    ndarray, shape (round(duration * sr),)
        Not normalised: play it with :func:`listen`, which applies one common gain.
    """
    sr = validate_sample_rate(sr)
    if isinstance(n_harmonics, bool) or not isinstance(n_harmonics, (int, np.integer)) or n_harmonics < 1:
        raise ValueError(f"n_harmonics must be a positive whole number, got {n_harmonics!r}")
    if not (isinstance(release, (int, float, np.integer, np.floating)) and 0 < release < math.inf):
        raise ValueError(f"release must be a finite number of seconds > 0, got {release!r}")
    notes = validate_notes(notes)
    if duration is None:
        duration = max((n.offset for n in notes), default=0.0) + release
    elif not (isinstance(duration, (int, float, np.integer, np.floating)) and 0 <= duration < math.inf):
        raise ValueError(f"duration must be a finite number of seconds >= 0, got {duration!r}")
    y = np.zeros(int(round(duration * sr)))
    harmonics = np.arange(1, n_harmonics + 1)[:, None]
    for note in notes:  # a loop over notes, not samples: each note is rendered vectorised
        start = int(round(note.onset * sr))
        sounding = note.offset - note.onset + release
        length = min(int(round(sounding * sr)), y.size - start)
        if length <= 0:
            continue
        t = np.arange(length) / sr
        f0 = float(midi_to_hz(note.pitch))
        h = harmonics[harmonics[:, 0] * f0 < 0.45 * sr]
        partials = np.sin(2 * np.pi * f0 * h * t) * np.exp(-(1.0 + 0.8 * h) * t) / h
        envelope = np.clip(t / 0.005, 0, 1) * np.clip((sounding - t) / release, 0, 1)
        y[start : start + length] += (note.velocity / 127) * envelope * partials.sum(axis=0)
    return y

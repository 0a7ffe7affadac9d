"""Audio in and out: loading with clear errors, validation, and the STFT pair used everywhere.

All lessons use one analysis setting unless they say otherwise: 22 050 Hz mono, a Hann window
of ``n_fft = 2048`` samples (93 ms) and a hop of 512 samples (23 ms), centred frames. Frame
``t`` is centred on sample ``t * hop_length``, i.e. at time ``t * hop_length / sr`` seconds,
which is what :func:`librosa.frames_to_time` computes.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, overload

import librosa
import numpy as np
import soundfile as sf

from amt_helpers._atomic import atomic_path

DEFAULT_SR = 22050
DEFAULT_N_FFT = 2048
DEFAULT_HOP = 512

#: Extensions :func:`load` accepts (decoded by libsndfile through soundfile).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, empty, silent where sound is needed, or not finite."""


def validate_audio(x: np.ndarray, *, name: str = "audio", allow_silence: bool = True) -> np.ndarray:
    """Check that ``x`` is a usable mono signal and return it as a float array.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        The signal.
    name : str
        How the error messages call the signal (a file name, an argument name).
    allow_silence : bool
        If False, an all-zero signal is an error (NMF of silence has nothing to factorise).

    Returns
    -------
    ndarray, shape (n_samples,)
        ``x`` as a floating-point array (not copied when it already is one). Integer samples
        (PCM) are scaled by their type's full scale, so int16 32767 becomes 0.99997.

    Raises
    ------
    AudioError
        If ``x`` is not one-dimensional, is empty, is complex or not numeric, holds NaN or
        infinite samples, or is silent while ``allow_silence`` is False.
    """
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise AudioError(f"{name} is complex; pass a real signal (e.g. audio.istft of an STFT)")
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        half = (float(info.max) + 1.0 - float(info.min)) / 2  # 32768 for int16 and for uint16
        x = ((x.astype(np.float64) - (float(info.min) + half)) / half).astype(np.float32)
    elif not np.issubdtype(x.dtype, np.floating):
        raise AudioError(f"{name} must hold numbers, got dtype {x.dtype}")
    if x.ndim != 1:
        raise AudioError(f"{name} must be mono (one-dimensional), got shape {x.shape}")
    if x.size == 0:
        raise AudioError(f"{name} is empty (0 samples)")
    finite = np.isfinite(x)
    if not finite.all():
        bad = int(np.size(x) - np.count_nonzero(finite))
        first = int(np.argmin(finite))
        raise AudioError(f"{name} has {bad} NaN or infinite samples (first at sample {first})")
    if not allow_silence and not np.any(x):
        raise AudioError(f"{name} is silent (all samples are zero)")
    return x


@overload
def validate_sample_rate(sr: float, *, name: str = ..., integer: Literal[True] = ...) -> int: ...
@overload
def validate_sample_rate(sr: float, *, name: str = ..., integer: Literal[False]) -> float: ...


def validate_sample_rate(sr: float, *, name: str = "sr", integer: bool = True) -> int | float:
    """Check that ``sr`` is a usable sample rate and return it.

    The one rule for every function of the package that takes a sample rate.

    Parameters
    ----------
    sr : int or float
        Sample rate in Hz.
    name : str
        How the error message calls it.
    integer : bool
        Require a whole number of samples per second, as audio files, resampling and playback
        do (``22050.0`` is accepted as ``22050``). If False, any positive finite rate will do:
        for a rate that only places frequencies on an axis or partials in a template.

    Returns
    -------
    int or float
        ``sr`` as an ``int`` if ``integer`` is True, else as a ``float``.

    Raises
    ------
    AudioError
        If ``sr`` is not a positive finite real number (``True`` is not a rate), or is not a
        whole number below 2**31 while ``integer`` is True.

    Examples
    --------
    >>> validate_sample_rate(22050.0)
    22050
    >>> validate_sample_rate(22050.5, integer=False)
    22050.5
    """
    usable = not isinstance(sr, bool) and isinstance(sr, numbers.Real) and math.isfinite(sr) and sr > 0
    if not integer:
        if not usable:
            raise AudioError(f"{name} must be a positive sample rate in Hz, got {sr!r}")
        return float(sr)
    if not (usable and float(sr).is_integer() and sr < 2**31):
        raise AudioError(f"{name} must be a positive integer sample rate in Hz, got {sr!r}")
    return int(sr)


def load(path: str | os.PathLike[str], sr: int | None = DEFAULT_SR) -> tuple[np.ndarray, int]:
    """Read an audio file as a mono float32 signal, resampled to ``sr``.

    Parameters
    ----------
    path : str or path-like
        A ``.wav``, ``.flac``, ``.ogg``, ``.mp3`` or ``.aif(f)`` file.
    sr : int or None
        Target sample rate in Hz; ``None`` keeps the file's rate.

    Returns
    -------
    x : ndarray, shape (n_samples,), float32
        The signal, channels averaged.
    sr : int
        Its sample rate in Hz.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or is a folder.
    AudioError
        If the file cannot be decoded (the message names the file and the decoder's reason),
        is empty, or holds NaN/infinite samples.

    Examples
    --------
    >>> from amt_helpers import audio, data
    >>> x, sr = audio.load(data.example_path("scale"))
    >>> sr
    22050
    """
    if sr is not None:
        sr = validate_sample_rate(sr)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"audio file not found: {path}")
    if path.is_dir():
        raise FileNotFoundError(f"expected an audio file, got a folder: {path}")
    try:
        with _decoder_messages() as messages:
            x, file_sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        reason = str(err)
        if "does not exist" in reason:  # what libsndfile says of an existing file that no decoder takes
            reason = f"no decoder can read it as {path.suffix or 'audio'} audio"
        detail = f" ({messages[0].strip()})" if messages else ""
        raise AudioError(f"cannot read audio file {path}: {reason}{detail}") from err
    x = validate_audio(x.mean(axis=1), name=str(path))
    if sr is not None and sr != file_sr:
        x = librosa.resample(x, orig_sr=file_sr, target_sr=sr).astype(np.float32)
    else:
        sr = file_sr
    return x, int(sr)


@contextlib.contextmanager
def _decoder_messages() -> Iterator[list[str]]:
    """Collect, instead of showing, what the C decoders print on the process's standard error.

    libsndfile's mp3 decoder (mpg123) prints a line per bad frame straight to file descriptor 2;
    the caller reports one clear error instead. Yields a list that holds those lines after the
    block.
    """
    lines: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to redirect
        yield lines
        return
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode(errors="replace").splitlines())


#: Extensions :func:`write` can write: libsndfile's format and subtype for each.
WRITE_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".aif": ("AIFF", "PCM_16"),
                 ".aiff": ("AIFF", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def write(path: str | os.PathLike[str], x: np.ndarray, sr: int) -> Path:
    """Write a mono signal atomically; the format follows the extension (``.wav``, ``.flac``,
    ``.aif(f)``: 16-bit PCM; ``.ogg``: Vorbis).

    Parameters
    ----------
    path : str or path-like
        Destination; its folder must exist. An existing file is replaced only once the new one
        is complete.
    x : ndarray, shape (n_samples,)
        Samples in [-1, 1] (as :func:`validate_audio` sees them).
    sr : int
        Sample rate in Hz.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    AudioError
        If the extension is not one of :data:`WRITE_FORMATS`, ``sr`` is not a positive
        integer, or ``x`` is not valid audio.
    """
    path = Path(path)
    if path.suffix.lower() not in WRITE_FORMATS:
        raise AudioError(f"cannot write {path}: unknown extension {path.suffix!r}; "
                         f"use one of {', '.join(WRITE_FORMATS)}")
    with atomic_path(path) as tmp:  # invalid audio raises in here: the destination is left as it was
        _write_to(tmp, x, sr)
    return path


def _write_to(path: Path, x: np.ndarray, sr: int) -> None:
    """Write ``x`` to ``path`` in the format of its extension, one of :data:`WRITE_FORMATS`
    (not atomically: the callers pass a temporary path)."""
    file_format, subtype = WRITE_FORMATS[path.suffix.lower()]
    sf.write(path, validate_audio(x, name="x"), validate_sample_rate(sr), format=file_format, subtype=subtype)


def stft(
    x: np.ndarray,
    *,
    n_fft: int = DEFAULT_N_FFT,
    hop_length: int = DEFAULT_HOP,
    window: str = "hann",
) -> np.ndarray:
    """Short-time Fourier transform with centred frames.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        Mono signal.
    n_fft : int
        Window (and FFT) length in samples.
    hop_length : int
        Hop between frames in samples.
    window : str
        Window name understood by :func:`scipy.signal.get_window`.

    Returns
    -------
    X : ndarray, shape (1 + n_fft // 2, n_frames), complex
        Bin ``k`` is centred on ``k * sr / n_fft`` Hz; frame ``t`` on ``t * hop_length / sr`` s.
    """
    x = validate_audio(x, name="x")
    n_fft, hop_length = _samples("n_fft", n_fft), _samples("hop_length", hop_length)
    return librosa.stft(x, n_fft=n_fft, hop_length=hop_length, window=window, center=True)


def istft(
    X: np.ndarray,
    *,
    hop_length: int = DEFAULT_HOP,
    n_fft: int | None = None,
    window: str = "hann",
    length: int | None = None,
) -> np.ndarray:
    """Inverse of :func:`stft` (weighted overlap-add).

    Parameters
    ----------
    X : ndarray, shape (..., 1 + n_fft // 2, n_frames), complex
        One or a stack of complex spectrograms.
    hop_length, n_fft, window
        As used for the forward transform.
    length : int, optional
        Pad or trim the output to exactly this many samples (pass the original signal's length
        to get it back sample-aligned).

    Returns
    -------
    ndarray, shape (..., n_samples)
    """
    X = np.asarray(X)
    if not np.iscomplexobj(X):
        raise ValueError(
            "istft needs a complex STFT; to invert a magnitude, combine it with a phase first, "
            "e.g. V * np.exp(1j * np.angle(X))"
        )
    if X.ndim < 2 or X.shape[-1] == 0 or X.shape[-2] < 2:
        raise ValueError(f"X must be (..., n_bins >= 2, n_frames >= 1), got shape {X.shape}")
    hop_length = _samples("hop_length", hop_length)
    n_fft = None if n_fft is None else _samples("n_fft", n_fft)
    length = None if length is None else _samples("length", length)
    n_bins = X.shape[-2]
    orientation = "is X transposed? stft returns shape (1 + n_fft // 2, n_frames)"
    if n_fft is not None and n_bins != 1 + n_fft // 2:
        raise ValueError(f"X has {n_bins} frequency rows, but an STFT with n_fft={n_fft} has {1 + n_fft // 2}; "
                         f"{orientation}")
    # Windows shorter than the hop leave gaps that overlap-add cannot fill: librosa would
    # return samples of the wrong length and scale instead of failing.
    if (n_fft or 2 * (n_bins - 1)) < hop_length:
        raise ValueError(f"X has {n_bins} frequency rows, a window of {n_fft or 2 * (n_bins - 1)} samples, "
                         f"shorter than hop_length={hop_length}; {orientation}")
    return librosa.istft(X, hop_length=hop_length, n_fft=n_fft, window=window, length=length)


def frames_to_time(frames: np.ndarray | int, *, sr: int, hop_length: int = DEFAULT_HOP) -> np.ndarray | np.floating:
    """Times in seconds of frame indices (centre of each frame), as :func:`librosa.frames_to_time`."""
    return librosa.frames_to_time(frames, sr=validate_sample_rate(sr, integer=False),
                                  hop_length=_samples("hop_length", hop_length))


def _samples(name: str, value: Any) -> int:
    """A positive whole number of samples (a window, hop or signal length), else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive whole number of samples, got {value!r}")
    return int(value)

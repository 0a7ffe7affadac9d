"""The figures of the lessons: spectrograms, NMF factors, templates, cost curves, activations, piano rolls.

Every function returns the :class:`matplotlib.figure.Figure` it drew into and never calls
``plt.show()``. Functions that draw a single panel accept ``ax=`` to draw into an existing
axes (the figure of that axes is returned). In a notebook end the call with ``;`` (or assign the
result): the inline backend shows each new figure once by itself, and returning it as the last
expression of a cell would show it a second time.

Magnitudes are displayed with logarithmic compression ``log(1 + γ · x)`` (natural log): with
``γ`` around 1-100 quiet partials become visible without the noise floor of a dB scale.
``gamma=None`` (or 0) shows values linearly. Conventions as in :mod:`amt_helpers.audio`: bin
``k`` is centred on ``k * sr / n_fft`` Hz with ``n_fft = 2 * (n_bins - 1)``, frame ``t`` on
``t * hop_length / sr`` seconds.

References
----------
M. Müller, *Fundamentals of Music Processing*, 2nd ed., Springer 2021, §8.3 (the layout of
:func:`plot_nmf` follows its figures of ``V ≈ W H``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from amt_helpers.audio import validate_sample_rate
from amt_helpers.templates import note_name

__all__ = ["plot_spectrogram", "plot_nmf", "plot_templates", "plot_cost", "plot_activations", "plot_pianoroll"]

#: Default upper frequency limit of spectrogram-like panels: piano fundamentals and their
#: first few partials, where most of the visible structure is.
DEFAULT_FMAX = 4000.0

#: At most this many tick labels on a component/pitch axis (every n-th label otherwise).
_MAX_TICK_LABELS = 24

_BLACK_KEYS = {1, 3, 6, 8, 10}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _compress(M: np.ndarray, gamma: float | None) -> np.ndarray:
    if gamma is None or gamma == 0:
        return M
    if not (math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive number or None, got {gamma!r}")
    return np.log1p(gamma * M)


def _matrix(M: Any, name: str, ndim: int = 2) -> np.ndarray:
    if np.iscomplexobj(M):  # casting would silently keep the real part
        raise ValueError(f"{name} is complex: plot a magnitude, e.g. np.abs(X)")
    M = np.asarray(M, dtype=float)
    if M.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {M.shape}")
    if M.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(M)) or np.any(M < 0):
        raise ValueError(f"{name} must be finite and non-negative (a magnitude, e.g. np.abs(X))")
    return M


def _check_sr_hop(sr: float, hop_length: int | None) -> None:
    validate_sample_rate(sr, integer=False)
    if hop_length is not None and (
        isinstance(hop_length, bool) or not isinstance(hop_length, (int, np.integer)) or hop_length < 1
    ):
        raise ValueError(f"hop_length must be a positive integer, got {hop_length!r}")


def _n_bins_shown(n_bins: int, sr: float, fmax: float | None) -> tuple[int, float]:
    """How many bins lie at or below fmax (plus one for the edge), and the bin spacing in Hz."""
    df = sr / (2 * (n_bins - 1)) if n_bins > 1 else sr / 2
    if fmax is None:
        return n_bins, df
    if not (math.isfinite(fmax) and fmax > 0):
        raise ValueError(f"fmax must be a positive frequency in Hz or None, got {fmax!r}")
    return min(n_bins, int(fmax // df) + 2), df


def _component_labels(R: int, pitches: Sequence[int] | None) -> list[str]:
    if pitches is None:
        return [str(r) for r in range(R)]
    pitches = list(np.atleast_1d(pitches))
    if len(pitches) != R:
        raise ValueError(f"pitches has {len(pitches)} entries but there are {R} components")
    return list(note_name(pitches))


def _label_components(axis: Any, labels: list[str], *, rotate: bool = False) -> None:
    """Put component labels on an x or y axis, thinning them when there are many."""
    step = max(1, math.ceil(len(labels) / _MAX_TICK_LABELS))
    ticks = np.arange(0, len(labels), step)
    axis.set_ticks(ticks)
    axis.set_ticklabels([labels[i] for i in ticks], rotation=90 if rotate else 0)


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _time_extent(n_frames: int, sr: float, hop_length: int) -> tuple[float, float]:
    dt = hop_length / sr  # frame t is centred on t * dt
    return -dt / 2, (n_frames - 0.5) * dt


# ---------------------------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------------------------


def plot_spectrogram(
    V: np.ndarray,
    *,
    sr: float,
    hop_length: int,
    gamma: float | None = 10.0,
    fmax: float | None = DEFAULT_FMAX,
    title: str | None = None,
    cmap: str = "gray_r",
    colorbar: bool = False,
    ax: Any = None,
    figsize: tuple[float, float] = (8.0, 3.5),
) -> Figure:
    """Show a magnitude spectrogram with time in seconds and frequency in Hz.

    Parameters
    ----------
    V : ndarray, shape (n_bins, n_frames)
        Non-negative spectrogram, e.g. ``np.abs(X)`` or ``W @ H``; ``n_fft = 2 * (n_bins - 1)``.
    sr : float
        Sampling rate in Hz.
    hop_length : int
        Hop of the STFT in samples.
    gamma : float or None
        Compression ``log(1 + gamma * V)``; None shows ``V`` linearly.
    fmax : float or None
        Upper frequency limit in Hz (default 4 kHz); None shows up to Nyquist.
    title : str, optional
    cmap : str
        Colormap; dark = loud with the default ``"gray_r"``.
    colorbar : bool
        Add a colour bar (of the compressed values).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.
    figsize : (float, float)
        Size of a new figure in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> V = np.abs(np.random.default_rng(0).normal(size=(1025, 50)))
    >>> fig = plot_spectrogram(V, sr=22050, hop_length=512)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('time (s)', 'frequency (Hz)')
    """
    V = _matrix(V, "V")
    _check_sr_hop(sr, hop_length)
    K, df = _n_bins_shown(V.shape[0], sr, fmax)
    fig, ax = _new_axes(ax, figsize)
    img = ax.imshow(
        _compress(V[:K], gamma),
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        extent=(*_time_extent(V.shape[1], sr, hop_length), -df / 2, (K - 0.5) * df),
    )
    if fmax is not None:
        ax.set_ylim(0, min(fmax, (K - 0.5) * df))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    if title is not None:
        ax.set_title(title)
    if colorbar:
        fig.colorbar(img, ax=ax, label="log(1 + γ·x)" if gamma else "magnitude")
    return fig


def plot_nmf(
    V: np.ndarray,
    W: np.ndarray,
    H: np.ndarray,
    *,
    sr: float,
    hop_length: int,
    pitches: Sequence[int] | None = None,
    gamma: float | None = 10.0,
    fmax: float | None = DEFAULT_FMAX,
    title: str | None = None,
    cmap: str = "gray_r",
    figsize: tuple[float, float] = (11.0, 7.5),
) -> Figure:
    """The NMF picture ``V ≈ W · H`` in a 2 × 2 layout.

    Top left: an info panel (shapes and the relative error ``‖V − WH‖_F / ‖V‖_F``). Top right:
    activations ``H`` over time. Bottom left: templates ``W`` over frequency. Bottom right: the
    approximation ``W H``. ``H`` and ``W H`` share the time axis, ``W`` and ``W H`` the frequency
    axis, so a template lines up with the partials it explains. Each panel uses
    ``log(1 + γ · x)`` and its own colour scale.

    Parameters
    ----------
    V : ndarray, shape (n_bins, n_frames)
        The factorised spectrogram (used for the info panel).
    W : ndarray, shape (n_bins, R)
        Templates.
    H : ndarray, shape (R, n_frames)
        Activations.
    sr : float
        Sampling rate in Hz.
    hop_length : int
        Hop of the STFT in samples.
    pitches : sequence of int, length R, optional
        MIDI pitch of each template: components are then labelled with note names (C4, ...)
        instead of indices 0 .. R-1.
    gamma : float or None
        Compression constant; None for linear display.
    fmax : float or None
        Upper frequency limit in Hz (default 4 kHz).
    title : str, optional
        Figure title.
    cmap : str
        Colormap.
    figsize : (float, float)
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        With four axes in the order info, H, W, W·H.

    Raises
    ------
    ValueError
        If the shapes of ``V``, ``W``, ``H`` and ``pitches`` disagree or entries are negative.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W, H = rng.random((1025, 3)), rng.random((3, 40))
    >>> fig = plot_nmf(W @ H, W, H, sr=22050, hop_length=512, pitches=[60, 64, 67])
    >>> [t.get_text() for t in fig.axes[1].get_yticklabels()]
    ['C4', 'E4', 'G4']
    """
    V, W, H = _matrix(V, "V"), _matrix(W, "W"), _matrix(H, "H")
    _check_sr_hop(sr, hop_length)
    if W.shape[0] != V.shape[0]:
        raise ValueError(f"W has {W.shape[0]} rows but V has {V.shape[0]} frequency bins")
    if H.shape[1] != V.shape[1]:
        raise ValueError(f"H has {H.shape[1]} columns but V has {V.shape[1]} frames")
    if W.shape[1] != H.shape[0]:
        raise ValueError(f"W has {W.shape[1]} components (columns) but H has {H.shape[0]} (rows)")
    R = W.shape[1]
    labels = _component_labels(R, pitches)
    what = "pitch" if pitches is not None else "component"
    WH = W @ H
    K, df = _n_bins_shown(V.shape[0], sr, fmax)
    t0, t1 = _time_extent(V.shape[1], sr, hop_length)
    f_ext = (-df / 2, (K - 0.5) * df)
    r_ext = (-0.5, R - 0.5)
    image: dict[str, Any] = dict(origin="lower", aspect="auto", interpolation="nearest", cmap=cmap)

    fig = plt.figure(figsize=figsize, layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1, 3), height_ratios=(1, 2))
    ax_info = fig.add_subplot(grid[0, 0])
    ax_H = fig.add_subplot(grid[0, 1])
    ax_W = fig.add_subplot(grid[1, 0])
    ax_V = fig.add_subplot(grid[1, 1], sharex=ax_H, sharey=ax_W)

    norm_V = np.linalg.norm(V)
    rel = np.linalg.norm(V - WH) / norm_V if norm_V > 0 else float("nan")
    ax_info.axis("off")
    ax_info.text(
        0.0,
        1.0,
        f"V: {V.shape[0]} bins × {V.shape[1]} frames\n"
        f"W: {W.shape[0]} × {R}   H: {R} × {H.shape[1]}\n"
        f"‖V − WH‖ / ‖V‖ = {rel:.3f}  (Frobenius)\n"
        + (f"display: log(1 + {gamma:g}·x)" if gamma else "display: linear"),
        va="top",
        ha="left",
        family="monospace",
        fontsize="small",
        transform=ax_info.transAxes,
    )

    ax_H.imshow(_compress(H, gamma), extent=(t0, t1, *r_ext), **image)
    ax_H.set_title("H (activations)")
    ax_H.set_ylabel(what)
    _label_components(ax_H.yaxis, labels)
    ax_H.tick_params(labelbottom=False)

    ax_W.imshow(_compress(W[:K], gamma), extent=(*r_ext, *f_ext), **image)
    ax_W.set_title("W (templates)")
    ax_W.set_xlabel(what)
    ax_W.set_ylabel("frequency (Hz)")
    _label_components(ax_W.xaxis, labels, rotate=pitches is not None)

    ax_V.imshow(_compress(WH[:K], gamma), extent=(t0, t1, *f_ext), **image)
    ax_V.set_title("V ≈ W·H")
    ax_V.set_xlabel("time (s)")
    ax_V.tick_params(labelleft=False)
    if fmax is not None:
        ax_W.set_ylim(0, min(fmax, f_ext[1]))
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_templates(
    W: np.ndarray,
    *,
    sr: float,
    pitches: Sequence[int] | None = None,
    kind: str = "image",
    gamma: float | None = None,
    fmax: float | None = DEFAULT_FMAX,
    title: str | None = None,
    cmap: str = "gray_r",
    ax: Any = None,
    figsize: tuple[float, float] = (8.0, 4.0),
) -> Figure:
    """Show spectral templates (columns of ``W``) over frequency.

    Parameters
    ----------
    W : ndarray, shape (n_bins, R) or (n_bins,)
        Templates; a 1-D array is one template.
    sr : float
        Sampling rate in Hz (``n_fft = 2 * (n_bins - 1)``).
    pitches : sequence of int, length R, optional
        Label templates with note names instead of indices.
    kind : {"image", "lines"}
        ``"image"``: a matrix image, template index on x and frequency on y (as in
        :func:`plot_nmf`). ``"lines"``: each template as a curve over frequency, stacked with an
        offset of 1.1 × the largest value so that harmonic combs can be compared one by one.
    gamma : float or None
        Compression ``log(1 + gamma * W)``; default None (linear), which shows the harmonic
        weights (e.g. ``1/h``) as they are.
    fmax : float or None
        Upper frequency limit in Hz (default 4 kHz).
    title : str, optional
    cmap : str
        Colormap for ``kind="image"``.
    ax : matplotlib Axes, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from amt_helpers.templates import pitch_templates
    >>> W = pitch_templates([60, 64, 67], 22050, 2048)
    >>> fig = plot_templates(W, sr=22050, pitches=[60, 64, 67], kind="lines")
    >>> len(fig.axes[0].lines)
    3
    """
    W = np.asarray(W, dtype=float)
    W = _matrix(W[:, None] if W.ndim == 1 else W, "W")
    _check_sr_hop(sr, None)
    if kind not in ("image", "lines"):
        raise ValueError(f"kind must be 'image' or 'lines', got {kind!r}")
    R = W.shape[1]
    labels = _component_labels(R, pitches)
    what = "pitch" if pitches is not None else "template"
    K, df = _n_bins_shown(W.shape[0], sr, fmax)
    shown = _compress(W[:K], gamma)
    fig, ax = _new_axes(ax, figsize)
    if kind == "image":
        ax.imshow(
            shown,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            cmap=cmap,
            extent=(-0.5, R - 0.5, -df / 2, (K - 0.5) * df),
        )
        ax.set_xlabel(what)
        ax.set_ylabel("frequency (Hz)")
        _label_components(ax.xaxis, labels, rotate=pitches is not None)
        if fmax is not None:
            ax.set_ylim(0, min(fmax, (K - 0.5) * df))
    else:
        freqs = np.arange(K) * df
        offset = 1.1 * float(shown.max()) if shown.max() > 0 else 1.0
        for r in range(R):
            ax.plot(freqs, shown[:, r] + r * offset, lw=1, label=labels[r])
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel(what)
        ax.set_yticks(np.arange(R) * offset, labels)
        ax.set_xlim(0, freqs[-1])
    if title is not None:
        ax.set_title(title)
    return fig


def plot_cost(
    cost: Sequence[float] | np.ndarray | Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
    ylabel: str = "objective",
    ax: Any = None,
    figsize: tuple[float, float] = (6.0, 3.5),
) -> Figure:
    """Objective value per iteration on a logarithmic y axis.

    Parameters
    ----------
    cost : array_like, shape (n_iter + 1,), or mapping of label -> array_like
        ``cost[i]`` is the objective after ``i`` iterations (``cost[0]`` the initial value), as
        in :class:`amt_helpers.nmf.NMFResult`. A mapping draws one labelled curve per entry,
        e.g. ``{"random init": c1, "harmonic init": c2}``.
    title : str, optional
    ylabel : str
        Label of the y axis (say which objective: Euclidean, KL, ...).
    ax : matplotlib Axes, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Multiplicative updates never increase the objective (Lee & Seung 2000), so every curve
    should fall monotonically. If a curve reaches exactly 0 the y axis falls back to linear.

    Examples
    --------
    >>> fig = plot_cost(100.0 / np.arange(1, 51))
    >>> fig.axes[0].get_yscale()
    'log'
    """
    curves = dict(cost) if isinstance(cost, Mapping) else {None: cost}
    if not curves:
        raise ValueError("cost is empty")
    arrays = {}
    for label, c in curves.items():
        a = np.asarray(c, dtype=float)
        name = "cost" if label is None else f"cost[{label!r}]"
        if a.ndim != 1 or a.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {a.shape}")
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must be finite and non-negative")
        arrays[label] = a
    fig, ax = _new_axes(ax, figsize)
    for label, a in arrays.items():
        ax.plot(np.arange(a.size), a, lw=1.5, label=label)
    if all(np.all(a > 0) for a in arrays.values()):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    if any(label is not None for label in arrays):
        ax.legend()
    if title is not None:
        ax.set_title(title)
    return fig


def _pitch_ticks(ax: Any, lo: int, hi: int) -> None:
    """Every key's name on a short pitch axis, only the C's on a long one."""
    step = 1 if hi - lo + 1 <= _MAX_TICK_LABELS else 12
    first = lo if step == 1 else lo + (-lo) % 12
    ticks = list(range(first, hi + 1, step))
    ax.set_yticks(ticks, note_name(ticks) if ticks else [])


def plot_activations(
    A: Any,
    pitches: Sequence[int],
    frame_rate: float,
    ref: Iterable[Any] | None = None,
    *,
    lo: int | None = None,
    hi: int | None = None,
    compact: bool = False,
    normalize: str = "global",
    gamma: float | None = 100.0,
    title: str | None = None,
    ax: Any = None,
    figsize: tuple[float, float] = (10.0, 4.0),
) -> Figure:
    """Activations, one row per key, as an image over time, with the reference notes outlined.

    The row of key ``pitches[i]`` is drawn at that MIDI pitch on a keyboard axis from ``lo``
    to ``hi`` (keys without a row stay blank), so that octaves and neighbours sit where they
    are on the piano; ``compact=True`` draws only the given rows, one after the other. Each
    reference note is a hollow orange box on its key's row: activation inside the boxes is
    right, activation outside them is a confusion.

    Parameters
    ----------
    A : ndarray, shape (n_keys, n_frames)
        Non-negative activations (e.g. ``Activations.pitch_activation``, or ``H`` of a model
        with one template per key).
    pitches : sequence of int, length n_keys
        MIDI pitch of each row.
    frame_rate : float
        Frames per second; frame ``t`` is centred on ``t / frame_rate`` seconds.
    ref : iterable of note objects, optional
        Reference notes (anything with ``onset``, ``offset`` in seconds and ``pitch``), as
        in :func:`plot_pianoroll`.
    lo, hi : int, optional
        The lowest and highest key shown (default: the range of ``pitches``); ignored with
        ``compact``.
    compact : bool
        One row per entry of ``pitches``, in their order, instead of a keyboard axis.
    normalize : {"global", "row"}
        Divide by the largest activation of all (rows keep their relative loudness), or scale
        every row to a maximum of 1 (the shape of each row, whatever its level).
    gamma : float or None
        Display compression ``log(1 + gamma · a)`` of the normalised activation ``a``; ``None``
        or 0 shows it linearly.
    title : str, optional
    ax : matplotlib Axes, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from collections import namedtuple
    >>> Note = namedtuple("Note", "onset offset pitch")
    >>> A = np.zeros((2, 50)); A[0, 5:20] = 1.0; A[1, 25:45] = 0.5
    >>> fig = plot_activations(A, [60, 64], 10.0, [Note(0.5, 2.0, 60), Note(2.5, 4.5, 64)])
    >>> fig.axes[0].get_ylabel()
    'key'
    """
    A = _matrix(A, "A")
    keys = [int(p) for p in pitches]
    if len(keys) != A.shape[0]:
        raise ValueError(f"pitches has {len(keys)} entries but A has {A.shape[0]} rows")
    if normalize not in ("global", "row"):
        raise ValueError(f"normalize must be 'global' or 'row', got {normalize!r}")
    if frame_rate <= 0:
        raise ValueError(f"frame_rate must be positive, got {frame_rate!r}")
    if normalize == "row":
        a = A / np.maximum(A.max(axis=1, keepdims=True), np.finfo(float).tiny)  # a row may be all zero
    else:
        a = A / max(float(A.max()), np.finfo(float).tiny)
    if compact:  # row i of the image at height i
        image, row_of, bottom, top = a, {p: i for i, p in enumerate(keys)}, 0, len(keys) - 1
    else:  # the row of key p at height p
        bottom = min(keys) if lo is None else int(lo)
        top = max(keys) if hi is None else int(hi)
        if top < bottom:
            raise ValueError(f"hi ({top}) is below lo ({bottom})")
        image = np.zeros((top - bottom + 1, a.shape[1]))
        shown = [i for i, p in enumerate(keys) if bottom <= p <= top]
        image[[keys[i] - bottom for i in shown]] = a[shown]
        row_of = {p: p for p in range(bottom, top + 1)}
    fig, ax = _new_axes(ax, figsize)
    extent = (-0.5 / frame_rate, (a.shape[1] - 0.5) / frame_rate, bottom - 0.5, top + 0.5)
    ax.imshow(_compress(image, gamma), origin="lower", aspect="auto", cmap="gray_r", extent=extent,
              interpolation="nearest")
    boxes = [(on, off, row_of[int(round(p))]) for on, off, p in _note_boxes(ref, "ref")
             if int(round(p)) in row_of] if ref is not None else []
    rects = [Rectangle((on, row - 0.45), off - on, 0.9) for on, off, row in boxes]
    ax.add_collection(PatchCollection(rects, facecolor="none", edgecolor="C1", linewidth=1.0, zorder=2))
    if compact:
        ax.set_yticks(range(len(keys)), note_name(keys))
        ax.set_ylabel("pitch")
    else:
        _pitch_ticks(ax, bottom, top)
        ax.set_ylabel("key")
    ax.set_xlabel("time (s)")
    if title is not None:
        ax.set_title(title)
    return fig


def _note_boxes(notes: Iterable[Any], name: str) -> list[tuple[float, float, float]]:
    boxes = []
    for i, n in enumerate(notes):
        try:
            onset, offset, pitch = float(n.onset), float(n.offset), float(n.pitch)
        except AttributeError:
            raise ValueError(f"{name}[{i}] has no onset/offset/pitch attributes: {n!r}") from None
        if not (math.isfinite(onset) and math.isfinite(offset) and math.isfinite(pitch)) or offset < onset:
            raise ValueError(f"{name}[{i}] has an invalid span or pitch: {n!r}")
        boxes.append((onset, offset, pitch))
    return boxes


def plot_pianoroll(
    notes: Iterable[Any],
    ref: Iterable[Any] | None = None,
    *,
    labels: tuple[str, str] = ("estimate", "reference"),
    title: str | None = None,
    color: str = "C0",
    ax: Any = None,
    figsize: tuple[float, float] = (10.0, 4.0),
) -> Figure:
    """Piano roll of (estimated) notes, optionally over a reference, in one axes.

    The reference is drawn as hollow grey boxes, the estimate as filled coloured boxes on top,
    so hits (box inside box), misses (empty grey box) and false alarms (coloured box alone) can
    be read off directly. Rows of black keys are shaded lightly.

    Parameters
    ----------
    notes : iterable of note objects
        Estimated notes: anything with ``onset``, ``offset`` (seconds) and ``pitch`` (MIDI),
        e.g. :class:`amt_helpers.notes.Note`.
    ref : iterable of note objects, optional
        Reference (ground-truth) notes.
    labels : (str, str)
        Legend entries for the estimate and the reference.
    title : str, optional
    color : str
        Colour of the estimate's boxes.
    ax : matplotlib Axes, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure
        Its axes holds one :class:`~matplotlib.collections.PatchCollection` per note set
        (estimate first).

    Examples
    --------
    >>> from collections import namedtuple
    >>> Note = namedtuple("Note", "onset offset pitch velocity")
    >>> est = [Note(0.0, 0.5, 60, 80), Note(0.5, 1.0, 64, 80)]
    >>> fig = plot_pianoroll(est, ref=[Note(0.0, 0.5, 60, 80)])
    >>> fig.axes[0].get_ylabel()
    'pitch'
    """
    est = _note_boxes(notes, "notes")
    reference = _note_boxes(ref, "ref") if ref is not None else []
    fig, ax = _new_axes(ax, figsize)

    every = est + reference
    if every:
        lo = int(min(p for *_, p in every))
        hi = int(math.ceil(max(p for *_, p in every)))
        t_end = max(off for _, off, _ in every)
    else:
        lo, hi, t_end = 60, 72, 1.0
    for p in range(lo, hi + 1):
        if p % 12 in _BLACK_KEYS:
            ax.axhspan(p - 0.5, p + 0.5, color="0.93", zorder=0, lw=0)

    def boxes(items: list[tuple[float, float, float]], **style: Any) -> PatchCollection:
        rects = [Rectangle((on, p - 0.4), off - on, 0.8) for on, off, p in items]
        return ax.add_collection(PatchCollection(rects, **style))

    handles = []
    if ref is not None:
        boxes(reference, facecolor="none", edgecolor="0.4", linewidth=1.5, zorder=2)
        handles.append(Patch(facecolor="none", edgecolor="0.4", linewidth=1.5, label=labels[1]))
    boxes(est, facecolor=color, edgecolor=color, alpha=0.6, linewidth=1.0, zorder=3)
    handles.insert(0, Patch(facecolor=color, edgecolor=color, alpha=0.6, label=labels[0]))

    ax.set_xlim(0, t_end * 1.02 if t_end > 0 else 1.0)
    ax.set_ylim(lo - 0.5, hi + 0.5)
    _pitch_ticks(ax, lo, hi)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    # outside the axes, so it never hides a note
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    if title is not None:
        ax.set_title(title)
    return fig

"""Tests for amt_helpers.plot: every function returns a Figure with the expected axes and labels."""

from collections import namedtuple

import matplotlib

matplotlib.use("Agg")  # headless; set here so this module does not depend on any conftest

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from amt_helpers import plot as P  # noqa: E402
from amt_helpers.templates import pitch_templates  # noqa: E402

SR, N_FFT, HOP = 22050, 2048, 512
N_BINS = 1 + N_FFT // 2
Note = namedtuple("Note", "onset offset pitch velocity")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def factors():
    rng = np.random.default_rng(1)
    pitches = [60, 64, 67]
    W = pitch_templates(pitches, SR, N_FFT)
    H = rng.random((3, 40))
    return W @ H + 0.01, W, H, pitches


def ticklabels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


def test_plot_nmf_layout_and_labels(factors):
    V, W, H, pitches = factors
    fig = P.plot_nmf(V, W, H, sr=SR, hop_length=HOP, pitches=pitches, title="C major")
    assert isinstance(fig, Figure)
    info, ax_H, ax_W, ax_V = fig.axes
    assert len(fig.axes) == 4
    assert not info.axison  # an info panel, not a plot
    assert "‖V − WH‖ / ‖V‖" in info.texts[0].get_text()  # the relative error is reported
    assert ticklabels(ax_H.yaxis) == ["C4", "E4", "G4"]
    assert ticklabels(ax_W.xaxis) == ["C4", "E4", "G4"]
    assert ax_V.get_xlabel() == "time (s)"
    assert ax_W.get_ylabel() == "frequency (Hz)"
    assert ax_W.get_ylim() == pytest.approx((0, P.DEFAULT_FMAX))
    # time axis in seconds: the last frame is centred on (n_frames - 1) * hop / sr
    assert ax_V.get_xlim()[1] == pytest.approx((H.shape[1] - 0.5) * HOP / SR)
    assert fig._suptitle.get_text() == "C major"


def test_plot_nmf_without_pitches_uses_indices_and_thins_many_labels():
    rng = np.random.default_rng(2)
    W, H = rng.random((N_BINS, 40)), rng.random((40, 10))
    fig = P.plot_nmf(W @ H, W, H, sr=SR, hop_length=HOP, fmax=None, gamma=None)
    ax_H = fig.axes[1]
    labels = ticklabels(ax_H.yaxis)
    assert labels[:2] == ["0", "2"] and len(labels) <= 24
    assert ax_H.get_ylabel() == "component"


def test_plot_nmf_validates_shapes(factors):
    V, W, H, pitches = factors
    with pytest.raises(ValueError, match="rows"):
        P.plot_nmf(V, W[:-1], H, sr=SR, hop_length=HOP)
    with pytest.raises(ValueError, match="frames"):
        P.plot_nmf(V, W, H[:, :-1], sr=SR, hop_length=HOP)
    with pytest.raises(ValueError, match="pitches"):
        P.plot_nmf(V, W, H, sr=SR, hop_length=HOP, pitches=[60, 62])
    with pytest.raises(ValueError, match="non-negative"):
        P.plot_nmf(V, -W, H, sr=SR, hop_length=HOP)
    with pytest.raises(ValueError, match="hop_length"):
        P.plot_nmf(V, W, H, sr=SR, hop_length=0)
    with pytest.raises(ValueError, match="gamma"):
        P.plot_nmf(V, W, H, sr=SR, hop_length=HOP, gamma=-1.0)


def test_plot_spectrogram_axes_and_into_existing_axes(factors):
    V = factors[0]
    fig = P.plot_spectrogram(V, sr=SR, hop_length=HOP, title="V", colorbar=True)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # image + colour bar
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("time (s)", "frequency (Hz)", "V")
    assert ax.get_ylim() == pytest.approx((0, 4000.0))
    fig2, axes = plt.subplots(1, 2)
    assert P.plot_spectrogram(V, sr=SR, hop_length=HOP, ax=axes[1]) is fig2
    assert len(axes[1].images) == 1 and len(axes[0].images) == 0


def test_plot_templates_image_and_lines():
    pitches = [57, 69]
    W = pitch_templates(pitches, SR, N_FFT)
    fig = P.plot_templates(W, sr=SR, pitches=pitches)
    (ax,) = fig.axes
    assert len(ax.images) == 1 and ticklabels(ax.xaxis) == ["A3", "A4"]
    fig = P.plot_templates(W, sr=SR, pitches=pitches, kind="lines", fmax=None)
    (ax,) = fig.axes
    assert len(ax.lines) == 2 and ticklabels(ax.yaxis) == ["A3", "A4"]
    assert ax.get_xlabel() == "frequency (Hz)"
    assert ax.get_xlim()[1] == pytest.approx(SR / 2)
    fig = P.plot_templates(W[:, 0], sr=SR, kind="lines")  # a single 1-D template
    assert len(fig.axes[0].lines) == 1
    with pytest.raises(ValueError, match="kind"):
        P.plot_templates(W, sr=SR, kind="bars")


def test_plot_cost_log_scale_and_several_curves():
    c = 10.0 / np.arange(1, 31)
    fig = P.plot_cost(c, title="Euclidean")
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "iteration"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(30))  # cost[0] = initial
    fig = P.plot_cost({"random": c, "harmonic": c / 2})
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["random", "harmonic"]
    assert P.plot_cost([1.0, 0.0]).axes[0].get_yscale() == "linear"  # exact fit: no log of 0
    with pytest.raises(ValueError, match="cost"):
        P.plot_cost([1.0, np.nan])


def test_plot_pianoroll_estimate_over_reference():
    ref = [Note(0.0, 0.5, 60, 80), Note(0.5, 1.0, 64, 80), Note(1.0, 2.0, 67, 80)]
    est = [Note(0.02, 0.45, 60, 70), Note(1.0, 1.6, 66, 70)]
    fig = P.plot_pianoroll(est, ref=ref, title="estimate vs reference")
    (ax,) = fig.axes
    collections = [c for c in ax.collections if isinstance(c, PatchCollection)]
    assert [len(c.get_paths()) for c in collections] == [3, 2]  # reference drawn first, below
    assert ticklabels(ax.yaxis) == ["C4", "C#4", "D4", "D#4", "E4", "F4", "F#4", "G4"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time (s)", "pitch")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["estimate", "reference"]
    assert ax.get_xlim()[1] >= 2.0
    # estimate only, many pitches: only the C's are labelled
    wide = [Note(0.0, 1.0, p, 80) for p in (36, 84)]
    labels = ticklabels(P.plot_pianoroll(wide).axes[0].yaxis)
    assert labels == ["C2", "C3", "C4", "C5", "C6"]
    assert P.plot_pianoroll([]).axes  # empty input still gives a figure
    with pytest.raises(ValueError, match="onset"):
        P.plot_pianoroll([(0.0, 1.0, 60)])


def test_plot_activations_places_rows_on_a_keyboard_axis_with_the_notes():
    A = np.zeros((3, 50))
    A[0, 5:20], A[1, 25:45], A[2, 10:15] = 1.0, 0.5, 0.25
    notes = [Note(0.5, 2.0, 60, 80), Note(2.5, 4.5, 64, 80), Note(1.0, 1.5, 90, 80)]  # 90: off the axis
    fig = P.plot_activations(A, [60, 64, 67], 10.0, notes, gamma=None, title="H")
    (ax,) = fig.axes
    image = ax.get_images()[0].get_array()
    assert image.shape == (67 - 60 + 1, 50)  # one row per key C4..G4, blank between
    np.testing.assert_allclose(image[[0, 4, 7]], A)  # global normalisation: the maximum is 1
    assert not image[[1, 2, 3, 5, 6]].any()
    assert ax.get_images()[0].get_extent() == [-0.05, 4.95, 59.5, 67.5]
    (boxes,) = [c for c in ax.collections if isinstance(c, PatchCollection)]
    assert len(boxes.get_paths()) == 2  # the note at key 90 is outside lo..hi
    assert ticklabels(ax.yaxis)[:3] == ["C4", "C#4", "D4"] and ax.get_ylabel() == "key"
    assert (ax.get_xlabel(), ax.get_title()) == ("time (s)", "H")


def test_plot_activations_row_normalisation_compact_rows_and_range():
    A = np.zeros((2, 20))
    A[0, :5], A[1, 5:] = 4.0, 0.5
    compact = P.plot_activations(A, [59, 77], 20.0, normalize="row", compact=True, gamma=None).axes[0]
    np.testing.assert_allclose(compact.get_images()[0].get_array(), A / A.max(axis=1, keepdims=True))
    assert ticklabels(compact.yaxis) == ["B3", "F5"] and compact.get_ylabel() == "pitch"
    wide = P.plot_activations(A, [21, 108], 20.0, lo=36, hi=84).axes[0]
    assert wide.get_images()[0].get_array().shape == (49, 20)  # rows outside lo..hi are not drawn
    assert ticklabels(wide.yaxis) == ["C2", "C3", "C4", "C5", "C6"]
    fig, ax = plt.subplots()
    assert P.plot_activations(A, [60, 61], 20.0, ax=ax) is fig


@pytest.mark.parametrize("kwargs, message", [
    (dict(pitches=[60]), "pitches has 1 entries but A has 2 rows"),
    (dict(normalize="max"), "normalize must be"),
    (dict(frame_rate=0.0), "frame_rate must be positive"),
    (dict(lo=70, hi=60), "below lo"),
    (dict(A=-np.ones((2, 5))), "non-negative"),
])
def test_plot_activations_names_bad_input(kwargs, message):
    args = dict(A=np.ones((2, 5)), pitches=[60, 62], frame_rate=10.0) | kwargs
    with pytest.raises(ValueError, match=message):
        P.plot_activations(args.pop("A"), args.pop("pitches"), args.pop("frame_rate"), **args)


_N = namedtuple("_N", "onset offset pitch")


@pytest.mark.parametrize("call, message", [
    (lambda: P.plot_spectrogram(np.ones(5), sr=8000, hop_length=64), r"V must be 2-D, got shape \(5,\)"),
    (lambda: P.plot_spectrogram(np.ones((0, 4)), sr=8000, hop_length=64), "V is empty"),
    (lambda: P.plot_spectrogram(np.ones((5, 4)), sr=8000, hop_length=64, fmax=-1.0), "fmax must be a positive"),
    (lambda: P.plot_nmf(np.ones((5, 4)), np.ones((5, 2)), np.ones((3, 4)), sr=8000, hop_length=64),
     r"W has 2 components \(columns\) but H has 3 \(rows\)"),
    (lambda: P.plot_cost({}), "cost is empty"),
    (lambda: P.plot_cost({"KL": []}), r"cost\['KL'\] must be a non-empty 1-D sequence"),
    (lambda: P.plot_pianoroll([_N(1.0, 0.5, 60)]), r"notes\[0\] has an invalid span or pitch"),
    (lambda: P.plot_spectrogram(np.ones((5, 4), complex), sr=8000, hop_length=64),
     r"V is complex: plot a magnitude, e.g. np.abs\(X\)"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
    plt.close("all")


def test_plot_templates_title():
    fig = P.plot_templates(np.ones((5, 2)), sr=8000, title="two combs")
    assert fig.axes[0].get_title() == "two combs"
    plt.close(fig)

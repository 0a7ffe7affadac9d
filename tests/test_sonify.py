"""Tests for amt_helpers.sonify: component resynthesis and common-gain listening."""

import base64
import io
import re
import wave

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amt_helpers import sonify as S
from amt_helpers.audio import istft, stft

SR, N_FFT, HOP = 22050, 512, 128


@pytest.fixture
def mixture():
    """Two harmonic tones and a seeded random factorisation of their magnitude STFT."""
    rng = np.random.default_rng(0)
    t = np.arange(int(0.5 * SR)) / SR
    x = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 330 * t) * (t > 0.25)
    X = stft(x, n_fft=N_FFT, hop_length=HOP)
    R = 3
    W = rng.random((X.shape[0], R))
    H = rng.random((R, X.shape[1]))
    return x, X, W, H


def test_masks_sum_to_the_mixture(mixture):
    _, X, W, H = mixture
    total = sum(S.component_stft(X, W, H, k) for k in range(W.shape[1]))
    np.testing.assert_allclose(total, X, rtol=1e-12, atol=1e-12 * np.abs(X).max())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_masks_sum_to_the_mixture_property(n_bins, n_frames, R, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_bins, n_frames)) + 1j * rng.normal(size=(n_bins, n_frames))
    # sparse non-negative factors: W H has exact zeros in places, where the mask must be 0
    W = rng.random((n_bins, R)) * (rng.random((n_bins, R)) < 0.7)
    H = rng.random((R, n_frames)) * (rng.random((R, n_frames)) < 0.7)
    total = sum(S.component_stft(X, W, H, k) for k in range(R))
    explained = (W @ H) > 0
    np.testing.assert_allclose(total[explained], X[explained], rtol=1e-12, atol=1e-12)
    assert not total[~explained].any()


def test_mask_where_model_is_zero_gives_zero_not_nan(mixture):
    _, X, W, H = mixture
    W = W.copy()
    W[:10] = 0.0  # the model explains nothing in the lowest 10 bins
    Y = S.component_stft(X, W, H, 0)
    assert np.all(np.isfinite(Y))
    assert not Y[:10].any()
    total = sum(S.component_stft(X, W, H, k) for k in range(W.shape[1]))
    np.testing.assert_allclose(total[10:], X[10:], rtol=1e-12, atol=1e-12 * np.abs(X).max())


def test_groups_of_components_sum(mixture):
    _, X, W, H = mixture
    parts = [S.component_stft(X, W, H, k) for k in range(3)]
    np.testing.assert_allclose(S.component_stft(X, W, H, [0, 2]), parts[0] + parts[2], atol=1e-12)
    np.testing.assert_allclose(S.component_stft(X, W, H, slice(0, 2)), parts[0] + parts[1], atol=1e-12)
    np.testing.assert_allclose(S.component_stft(X, W, H, -1), parts[2])
    np.testing.assert_allclose(S.component_stft(X, W, H, slice(None)), X, atol=1e-12)


def test_phase_mode_has_model_magnitude_and_mixture_phase(mixture):
    _, X, W, H = mixture
    Y = S.component_stft(X, W, H, 1, mode="phase")
    np.testing.assert_allclose(np.abs(Y), np.outer(W[:, 1], H[1]), rtol=1e-12)
    loud = np.abs(X) > 1e-3 * np.abs(X).max()
    np.testing.assert_allclose(np.angle(Y)[loud], np.angle(X)[loud], atol=1e-9)


def test_seed_angle_bug_differs_from_unit_phasors(mixture):
    # The original notebook multiplied the magnitude by np.angle(X) (radians, real-valued)
    # instead of np.exp(1j * np.angle(X)) (unit phasors).
    _, X, W, H = mixture
    k = 0
    buggy = np.outer(W[:, k], H[k]) * np.angle(X)
    correct = S.component_stft(X, W, H, k, mode="phase")
    assert not np.iscomplexobj(buggy)  # no phase at all: a real "spectrum"
    assert np.iscomplexobj(correct)
    # Magnitudes differ by the factor |angle(X)| in [0, pi], not by a unit phasor.
    ratio = np.abs(buggy) / np.abs(correct)
    np.testing.assert_allclose(ratio, np.abs(np.angle(X)), rtol=1e-12)
    assert ratio.max() > 2.0 and ratio.min() < 0.5
    assert not np.allclose(np.abs(buggy), np.abs(correct), rtol=0.1)
    # and the resulting sounds differ too
    n = (X.shape[1] - 1) * HOP
    assert not np.allclose(istft(buggy + 0j, hop_length=HOP, length=n), istft(correct, hop_length=HOP, length=n))


@pytest.mark.parametrize("mode", ["mask", "phase"])
def test_component_signals_length_and_stack_matches_single(mixture, mode):
    x, X, W, H = mixture
    sig = S.component_signals(X, W, H, mode=mode, hop_length=HOP, length=x.size)
    assert sig.shape == (W.shape[1], x.size)
    for k in range(W.shape[1]):
        single = istft(S.component_stft(X, W, H, k, mode=mode), hop_length=HOP, length=x.size)
        np.testing.assert_allclose(sig[k], single, atol=1e-10)
    default = S.component_signals(X, W, H, mode=mode, hop_length=HOP)
    assert default.shape == (W.shape[1], HOP * (X.shape[1] - 1))


def test_component_signals_in_mask_mode_sum_to_the_signal(mixture, monkeypatch):
    x, X, W, H = mixture
    monkeypatch.setattr(S, "_MAX_STACK_ENTRIES", X.size)  # force one component per batch
    sig = S.component_signals(X, W, H, hop_length=HOP, length=x.size)
    np.testing.assert_allclose(sig.sum(axis=0), x, atol=1e-9)


def test_shape_and_argument_validation(mixture):
    _, X, W, H = mixture
    with pytest.raises(ValueError, match="rows"):
        S.component_stft(X, W[:-1], H, 0)
    with pytest.raises(ValueError, match="frames"):
        S.component_stft(X, W, H[:, :-1], 0)
    with pytest.raises(ValueError, match="components"):
        S.component_stft(X, W[:, :2], H, 0)
    with pytest.raises(ValueError, match="complex"):
        S.component_stft(np.abs(X), W, H, 0)
    with pytest.raises(ValueError, match="non-negative"):
        S.component_stft(X, -W, H, 0)
    with pytest.raises(ValueError, match="out of range"):
        S.component_stft(X, W, H, 3)
    with pytest.raises(ValueError, match="selects no"):
        S.component_stft(X, W, H, [])
    with pytest.raises(ValueError, match="mode"):
        S.component_stft(X, W, H, 0, mode="angle")
    with pytest.raises(ValueError, match="eps"):
        S.component_stft(X, W, H, 0, eps=-1.0)
    with pytest.raises(ValueError, match="length"):
        S.component_signals(X, W, H, length=0)


# --- listen -----------------------------------------------------------------------------------


def decode_clips(html_text):
    """The int16 samples and rate of every embedded WAV, in order."""
    out = []
    for b64 in re.findall(r'src="data:audio/wav;base64,([^"]+)"', html_text):
        with wave.open(io.BytesIO(base64.b64decode(b64))) as w:
            assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
            out.append((np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()))
    return out


def test_listen_one_audio_tag_per_clip_and_common_gain():
    t = np.arange(2000) / 8000
    mix = 0.4 * np.sin(2 * np.pi * 300 * t)
    residual = 0.1 * mix  # 20 dB quieter; IPython's Audio would normalise it to full scale
    out = S.listen(mix, residual, sr=8000, labels=["mix", "resid<ual>"])
    text = out._repr_html_() if hasattr(out, "_repr_html_") else out.data
    assert text.count("<audio") == 2
    assert "mix" in text and "resid&lt;ual&gt;" in text  # labels shown and escaped
    clips = decode_clips(text)
    assert [sr for _, sr in clips] == [8000, 8000]
    (a, _), (b, _) = clips
    assert a.size == b.size == t.size
    assert np.abs(a).max() == round(0.9 * 32767)  # loudest peak at 0.9 of full scale
    assert out.gain == pytest.approx(0.9 / 0.4)
    loud = np.abs(a) > 1000
    np.testing.assert_allclose(b[loud] / a[loud], 0.1, atol=2e-3)  # ratio between clips kept


def test_listen_builds_its_players_without_ipython(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "IPython.display", None)  # `from IPython.display import` fails
    out = S.listen(0.5 * np.ones(100), sr=8000)
    assert type(out).__name__ == "_HTML" and out.gain == pytest.approx(0.9 / 0.5)
    assert out._repr_html_().count("<audio") == 1


def test_listen_explicit_gain_and_size():
    x = 0.25 * np.ones(1000)
    out = S.listen(x, sr=16000, gain=2.0)
    (a, _), = decode_clips(out.data)
    assert np.all(a == round(0.5 * 32767))
    assert out.data.count("<audio") == 1 and "clip 1" in out.data
    # lean: base64 16-bit WAV (~ n * 2 * 4/3 bytes) plus a little markup
    assert len(out.data) < 1000 * 2 * 4 / 3 + 1000
    silent = S.listen(np.zeros(10), sr=8000)  # silence must not divide by zero
    assert silent.gain == 1.0


def test_listen_validation():
    x = np.zeros(100)
    with pytest.raises(ValueError, match="at least one"):
        S.listen(sr=8000)
    with pytest.raises(ValueError, match="1-D"):
        S.listen(np.zeros((2, 100)), sr=8000)
    with pytest.raises(ValueError, match="NaN"):
        S.listen(np.array([0.0, np.nan]), sr=8000)
    with pytest.raises(ValueError, match="labels"):
        S.listen(x, x, sr=8000, labels=["only one"])
    with pytest.raises(ValueError, match="sr"):
        S.listen(x, sr=8000.5)
    assert S.listen(x, sr=8000.0).data.count("<audio") == 1  # an integral float rate is fine
    with pytest.raises(ValueError, match="clip"):
        S.listen(np.ones(10), sr=8000, gain=2.0)
    with pytest.raises(ValueError, match="empty"):
        S.listen(np.zeros(0), sr=8000)


def test_synthesize_notes_pitch_length_and_silence_outside_notes():
    from amt_helpers.notes import Note
    from amt_helpers.sonify import synthesize_notes

    sr = 8000
    y = synthesize_notes([Note(0.5, 1.0, 69, 127)], sr, 2.0, release=0.1)
    assert y.shape == (16000,)
    assert not np.any(y[: int(0.5 * sr)]) and not np.any(y[int(1.11 * sr) :])
    segment = y[int(0.55 * sr) : int(0.95 * sr)]
    peak_hz = np.argmax(np.abs(np.fft.rfft(segment))) * sr / segment.size
    assert abs(peak_hz - 440) < 5
    quiet = synthesize_notes([Note(0.5, 1.0, 69, 32)], sr, 2.0)
    np.testing.assert_allclose(quiet, y * 32 / 127)
    assert synthesize_notes([], sr).shape == (round(0.1 * sr),)
    # Default duration covers the last note and its release.
    assert synthesize_notes([Note(0.0, 0.3, 60, 80)], sr).size == round(0.4 * sr)


@pytest.mark.parametrize("call, message", [
    (lambda: S.component_stft(np.ones(4, complex), np.ones((4, 1)), np.ones((1, 3)), 0),
     r"X must be a 2-D STFT \(n_bins, n_frames\), got shape \(4,\)"),
    (lambda: S.component_stft(np.ones((4, 3), complex), np.ones(4), np.ones((1, 3)), 0), "W and H must be 2-D"),
    (lambda: S.component_stft(np.ones((4, 3), complex), np.ones((4, 1)), np.ones((1, 3)), "first"),
     "k must be a component index, slice or sequence of indices, got 'first'"),
    (lambda: S.component_signals(np.ones((4, 3), complex), np.ones((4, 1)), np.ones((1, 3)), eps=-1.0),
     "eps must be a finite number >= 0, got -1.0"),
    (lambda: S.listen(np.ones(10), sr=8000, peak=1.5), r"peak must be in \(0, 1\], got 1.5"),
    (lambda: S.listen(np.ones(10), sr=8000, gain=float("inf")), "gain must be a positive finite number"),
    (lambda: S.synthesize_notes([], 8000, n_harmonics=0), "n_harmonics must be a positive whole number, got 0"),
    (lambda: S.synthesize_notes([], 8000, n_harmonics="8"), "n_harmonics must be a positive whole number, got '8'"),
    (lambda: S.synthesize_notes([], 8000, release=float("inf")), "release must be a finite number of seconds > 0"),
    (lambda: S.synthesize_notes([], 8000, duration=-1), "duration must be a finite number of seconds >= 0, got -1"),
    (lambda: S.synthesize_notes([], 8000, duration=float("nan")), "duration must be a finite number of seconds >= 0"),
    (lambda: S.component_signals(np.ones((4, 3), complex), np.ones((4, 1)), np.ones((1, 3)), hop_length=0),
     "hop_length must be a positive whole number of samples, got 0"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_synthesize_notes_cuts_what_reaches_beyond_the_duration():
    from amt_helpers.notes import Note

    y = S.synthesize_notes([Note(0.1, 0.3, 69, 100), Note(0.6, 0.9, 72, 100)], 8000, duration=0.5)
    assert y.size == 4000 and np.abs(y[800:2400]).max() > 0.1  # the first note, whole; the second, gone

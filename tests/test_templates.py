"""Tests for amt_helpers.templates: harmonic combs for W, score-informed H."""

from collections import namedtuple

import numpy as np
import pytest

from amt_helpers import templates as T

SR, N_FFT = 22050, 2048
N_BINS = 1 + N_FFT // 2

# Duck-typed stand-in for amt_helpers.notes.Note (same field names and order).
Note = namedtuple("Note", "onset offset pitch velocity")


def expected_bin(pitch, h, sr=SR, n_fft=N_FFT):
    return int(round(h * 440.0 * 2 ** ((pitch - 69) / 12) * n_fft / sr))


# --- pitch <-> frequency ----------------------------------------------------------------------


def test_midi_hz_roundtrip_and_names():
    assert T.midi_to_hz(69) == pytest.approx(440.0)
    assert isinstance(T.midi_to_hz(60), float)
    np.testing.assert_allclose(T.midi_to_hz([57, 69, 81]), [220.0, 440.0, 880.0])
    p = np.arange(21, 109)
    np.testing.assert_allclose(T.hz_to_midi(T.midi_to_hz(p)), p)
    assert T.note_name(60) == "C4"
    assert T.note_name([61, 69]) == ["C#4", "A4"]


# --- harmonic_template ------------------------------------------------------------------------


@pytest.mark.parametrize("pitch", [45, 60, 69, 83])
def test_peaks_at_harmonic_bins_with_1_over_h_weights(pitch):
    t = T.harmonic_template(pitch, SR, N_FFT)
    assert t.shape == (N_BINS,)
    assert t.max() == 1.0
    f0 = T.midi_to_hz(pitch)
    for h in range(1, 6):
        k = expected_bin(pitch, h)
        assert t[k] == pytest.approx(1.0 / h), (pitch, h)
        # ... and the harmonic's bins are the local maximum of the comb around it
        assert t[k] == t[max(k - 2, 0) : k + 3].max()
    # Nothing outside the bands: bins far from every harmonic are exactly zero.
    # "Far" = more than 50 cents from the nearest harmonic and not its nearest bin.
    freqs = np.arange(1, N_BINS) * SR / N_FFT
    h = np.maximum(np.round(freqs / f0), 1)
    cents = 1200 * np.log2(freqs / (h * f0))
    far = (np.abs(cents) > 50) & (np.abs(freqs - h * f0) > 0.6 * SR / N_FFT)
    assert far.sum() > 50  # not vacuous (high harmonics of low notes cover every bin)
    assert np.all(t[1:][far] == 0)


def test_number_of_harmonics_stops_at_nyquist():
    pitch = 100  # 2637 Hz: 4 harmonics below 11025 Hz
    f0 = T.midi_to_hz(pitch)
    n_expected = int((SR / 2) // f0)
    t = T.harmonic_template(pitch, SR, N_FFT, tol_cents=1.0)
    # With a 1-cent tolerance each harmonic is just its nearest bin.
    assert np.count_nonzero(t) == n_expected
    assert np.flatnonzero(t).max() < N_BINS  # no bin above Nyquist exists, and none is used
    assert T.harmonic_template(pitch, SR, N_FFT, tol_cents=1.0, n_harmonics=2).astype(bool).sum() == 2


def test_lowest_piano_note_gets_a_bin_for_every_harmonic():
    # A0 = 27.5 Hz; bins are 10.8 Hz apart, so a +-50-cent band (1.6 Hz) usually holds no bin
    # centre. The nearest bin must be used anyway, or the template would be (almost) empty.
    t = T.harmonic_template(21, SR, N_FFT)
    f0 = T.midi_to_hz(21)
    n_h = int((SR / 2) // f0)
    assert t[expected_bin(21, 1)] == 1.0
    for h in (1, 2, 3, 10, n_h):
        assert t[expected_bin(21, h)] > 0, h
    # also with a very tight tolerance
    tight = T.harmonic_template(21, SR, N_FFT, tol_cents=0.0)
    assert np.count_nonzero(tight) > 0
    assert tight[expected_bin(21, 1)] == 1.0


def test_custom_weights_callable_and_array():
    t = T.harmonic_template(57, SR, N_FFT, tol_cents=1.0, harmonic_weights=lambda h: h**-2.0)
    assert t[expected_bin(57, 3)] == pytest.approx(1 / 9)
    t = T.harmonic_template(57, SR, N_FFT, tol_cents=1.0, harmonic_weights=[2.0, 1.0, 1.0])
    assert np.count_nonzero(t) == 3  # array length bounds the number of harmonics
    assert t[expected_bin(57, 1)] == 1.0 and t[expected_bin(57, 2)] == 0.5


def test_relative_tolerance_reproduces_the_seed_width():
    pitch, r = 69, 0.08
    t = T.harmonic_template(pitch, SR, N_FFT, tol_relative=r)
    c = 440.0 * N_FFT / SR  # fractional bin of the fundamental, 40.87
    band = np.flatnonzero(t[: int(1.5 * c)])
    assert band.min() == int(np.ceil((1 - r) * c))
    assert band.max() == int(np.floor((1 + r) * c))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(tol_cents=50.0, tol_relative=0.08),
        dict(tol_cents=-1.0),
        dict(tol_relative=1.5),
        dict(n_harmonics=0),
        dict(harmonic_weights=[1.0, -1.0]),
        dict(harmonic_weights=lambda h: np.ones(3)),
        dict(harmonic_weights=[0.0, 0.0]),
        dict(harmonic_weights=[1.0], n_harmonics=3),
    ],
)
def test_invalid_options_raise(kwargs):
    with pytest.raises(ValueError):
        T.harmonic_template(60, SR, N_FFT, **kwargs)


def test_invalid_pitch_sr_nfft_raise():
    with pytest.raises(ValueError, match="Nyquist"):
        T.harmonic_template(140, SR, N_FFT)
    with pytest.raises(ValueError, match="sr"):
        T.harmonic_template(60, 0, N_FFT)
    with pytest.raises(ValueError, match="n_fft"):
        T.harmonic_template(60, SR, 1)
    with pytest.raises(ValueError, match="pitches"):
        T.pitch_templates([], SR, N_FFT)


# --- pitch_templates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(tol_relative=0.08),
        dict(tol_cents=0.0),
        dict(tol_cents=100.0, n_harmonics=12),
        dict(harmonic_weights=lambda h: np.exp(-0.3 * h)),
    ],
)
@pytest.mark.parametrize("n_fft", [512, 2048, 4096])
def test_pitch_templates_equals_stacked_harmonic_templates(kwargs, n_fft):
    pitches = [21, 22, 40, 59.5, 60, 69, 88, 108]
    W = T.pitch_templates(pitches, SR, n_fft, **kwargs)
    assert W.shape == (1 + n_fft // 2, len(pitches))
    stacked = np.stack([T.harmonic_template(p, SR, n_fft, **kwargs) for p in pitches], axis=1)
    np.testing.assert_array_equal(W, stacked)


def test_eight_percent_tolerance_overlaps_adjacent_semitones_but_50_cents_does_not():
    # 2 ** (1/12) - 1 = 5.9 % < 8 %: a relative tolerance of 8 % is wider than a semitone.
    assert 2 ** (1 / 12) - 1 < 0.08
    n_fft = 4096  # fine enough that the nearest-bin rule does not merge neighbours here
    for p in (60, 69, 76):
        region = slice(0, int(1.5 * T.midi_to_hz(p) * n_fft / SR))  # the fundamentals only
        wide = T.pitch_templates([p, p + 1], SR, n_fft, tol_relative=0.08)[region] > 0
        narrow = T.pitch_templates([p, p + 1], SR, n_fft, tol_cents=50.0)[region] > 0
        assert np.any(wide[:, 0] & wide[:, 1]), p
        assert not np.any(narrow[:, 0] & narrow[:, 1]), p


# --- score_informed_activations ---------------------------------------------------------------


def test_score_informed_activations_hand_made_example():
    notes = [
        Note(0.3, 0.5, 60, 100),  # frames at 0.2 .. 0.6 s -> 2..6
        Note(0.0, 0.15, 64, 80),  # -0.1 .. 0.25 s -> 0..2 (clipped at 0)
        Note(0.85, 2.0, 64, 80),  # 0.75 .. 2.1 s -> 8..9 (clipped at the end)
    ]
    H = T.score_informed_activations(
        notes, [60, 62, 64], n_frames=10, frame_rate=10.0, onset_tol=0.1, offset_tol=0.1, value=2.0
    )
    expected = np.array(
        [
            [0, 0, 2, 2, 2, 2, 2, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [2, 2, 2, 0, 0, 0, 0, 0, 2, 2],
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(H, expected)


def test_score_informed_activations_accepts_the_project_note_type():
    from amt_helpers.notes import Note as ProjectNote

    H = T.score_informed_activations(
        [ProjectNote(0.3, 0.5, 60, 100)], [60], n_frames=8, frame_rate=10.0, onset_tol=0.0, offset_tol=0.0
    )
    np.testing.assert_array_equal(H[0], [0, 0, 0, 1, 1, 1, 0, 0])  # 0.3 * 10 is frame 3, not 4


def test_score_informed_activations_frame_times_match_librosa():
    import librosa

    sr, hop, n_frames = 22050, 512, 200
    frame_rate = sr / hop
    note = Note(1.0, 2.0, 69, 90)
    H = T.score_informed_activations([note], [69], n_frames, frame_rate, onset_tol=0.0, offset_tol=0.0)
    times = librosa.frames_to_time(np.arange(n_frames), sr=sr, hop_length=hop)
    np.testing.assert_array_equal(H[0] > 0, (times >= 1.0) & (times <= 2.0))


def test_score_informed_activations_unknown_pitch_and_validation():
    notes = [Note(0.0, 1.0, 61, 80)]
    with pytest.raises(ValueError, match="not in pitches"):
        T.score_informed_activations(notes, [60], 10, 10.0)
    H = T.score_informed_activations(notes, [60], 10, 10.0, ignore_unknown=True)
    assert not H.any()
    with pytest.raises(ValueError, match="duplicates"):
        T.score_informed_activations([], [60, 60], 10, 10.0)
    with pytest.raises(ValueError, match="n_frames"):
        T.score_informed_activations([], [60], 0, 10.0)
    with pytest.raises(ValueError, match="frame_rate"):
        T.score_informed_activations([], [60], 10, 0.0)
    with pytest.raises(ValueError, match="onset_tol"):
        T.score_informed_activations([], [60], 10, 10.0, onset_tol=-0.1)
    with pytest.raises(ValueError, match="invalid span"):
        T.score_informed_activations([Note(1.0, 0.5, 60, 80)], [60], 10, 10.0)


_Note = namedtuple("_Note", "onset offset pitch")


@pytest.mark.parametrize("call, message", [
    (lambda: T.harmonic_template(60, SR, N_FFT, harmonic_weights=[]), "a callable or a non-empty 1-D array"),
    (lambda: T.pitch_templates([60, float("nan")], SR, N_FFT), "pitches must be finite MIDI numbers"),
    (lambda: T.harmonic_template([60, 64], SR, N_FFT), "takes one pitch; use pitch_templates"),
    (lambda: T.pitch_templates([60], SR, N_FFT, harmonic_weights=lambda h: 0.0 * h), "leave the template of pitch 60"),
    (lambda: T.score_informed_activations([], [], 10, 10.0), r"non-empty 1-D sequence, got shape \(0,\)"),
    (lambda: T.score_informed_activations([_Note(0.0, 0.5, 60)], [60], 10, 10.0, value=0.0),
     "value must be a positive number, got 0.0"),
    (lambda: T.hz_to_midi(0.0), r"frequencies must be finite and > 0 Hz to have a pitch, got \[0.0\]"),
    (lambda: T.hz_to_midi([440.0, -440.0, float("nan")]), r"got \[-440.0, nan\]"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()

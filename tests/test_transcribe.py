"""The note rule on hand-made activations (exact notes), ghost suppression, and transcribe()."""

import dataclasses

import numpy as np
import pytest

from amt_helpers.audio import AudioError
from amt_helpers.dictionary import Representation, estimate_tuning, load_dictionary, log_filterbank
from amt_helpers.notes import Note
from amt_helpers.transcribe import (
    Activations,
    activations_to_notes,
    compute_activations,
    key_activations,
    note_shares,
    notes_from_activations,
    suppress_ghosts,
    transcribe,
)

FR = 10.0  # frames per second: frame t is at t / 10 s


def _notes(H, pitches=(60,), **kw):
    """The rule with its decay tests reduced to a plain level test (one frame, no smoothing)."""
    kw.setdefault("threshold", 0.2)
    kw.setdefault("min_duration", 0.0)
    kw.setdefault("min_ioi", 0.0)
    kw.setdefault("offset_threshold", kw["threshold"])
    kw.setdefault("offset_ratio", 0.0)
    kw.setdefault("drop_db", None)
    kw.setdefault("drop_frames", 1)
    kw.setdefault("smooth_frames", 1)
    return activations_to_notes(np.asarray(H, dtype=float), list(pitches), FR, **kw)


def test_single_block_gives_one_note():
    H = np.zeros((1, 10))
    H[0, 2:6] = 1.0
    assert _notes(H) == [Note(0.2, 0.6, 60, 127)]


def test_two_pitches_sorted_and_velocity_from_sqrt_peak():
    H = np.zeros((2, 10))
    H[0, 5:9] = 0.25
    H[1, 1:3] = 1.0
    assert _notes(H, (60, 64)) == [Note(0.1, 0.3, 64, 127), Note(0.5, 0.9, 60, 64)]


def test_normalisation_by_global_maximum():
    H = np.zeros((1, 10))
    H[0, 2:6] = 7.0  # scale does not matter when normalize=True
    assert _notes(H) == [Note(0.2, 0.6, 60, 127)]
    assert _notes(H, normalize=False, threshold=10.0) == []


def test_exponential_decay_ends_at_offset_ratio_of_peak():
    # peak 1 at frame 1, then halves every frame: 1, .5, .25, .125, .0625 ...
    H = np.zeros((1, 12))
    H[0, 1:] = 0.5 ** np.arange(11)
    # ratio 0.2 (-14 dB): frames 1, 2, 3 (0.25) sound, frame 4 (0.125) does not
    assert _notes(H, threshold=0.05, offset_ratio=0.2) == [Note(0.1, 0.4, 60, 127)]
    # with a smaller ratio the absolute floor 0.05 decides: 0.0625 >= 0.05 at frame 5, 0.031 at frame 6
    assert _notes(H, threshold=0.05, offset_ratio=0.01) == [Note(0.1, 0.6, 60, 127)]


def test_fast_drop_ends_a_note_before_its_level_falls():
    # A slow decay (1 dB per frame) from frame 1, then a damper: -12 dB per frame from frame 10.
    db = np.concatenate([[-200.0], -np.arange(9.0), -8 - 12 * np.arange(1, 11)])
    H = (10 ** (db / 20))[None, :]
    # Level test alone (floor 0.001 = -60 dB): the note lasts until -60 dB, frame 14.
    assert _notes(H, threshold=0.05, offset_threshold=0.001) == [Note(0.1, 1.4, 60, 127)]
    # The drop test (more than 10 dB within 1 frame) fires at frame 9 (-8 -> -20 dB): the
    # note ends there; slow decay (1 dB per frame) never triggers it.
    assert _notes(H, threshold=0.05, offset_threshold=0.001, drop_db=10.0) == [Note(0.1, 0.9, 60, 127)]
    # With a 2-frame window the drop (> 10 dB within 2 frames) is seen from frame 8 (-7 -> -20),
    # and the note ends in the middle of the window, at frame 8 + 2 // 2 = 9.
    assert _notes(H, threshold=0.05, offset_threshold=0.001, drop_db=10.0, drop_frames=2) == [Note(0.1, 0.9, 60, 127)]


def test_drop_must_be_steeper_than_the_decay_before_it():
    # A high note: a steady, fast decay (4 dB per frame) from frame 1, then a damper at frame 8
    # (-40 dB per frame).
    db = np.concatenate([[-200.0], -4 * np.arange(8.0), -28 - 40 * np.arange(1, 5)])
    H = (10 ** (db / 20))[None, :]
    rule = dict(threshold=0.05, offset_threshold=0.001, drop_db=3.0)
    # A plain drop test takes the steady decay for a damper at its first frame, 2.
    assert _notes(H, **rule) == [Note(0.1, 0.2, 60, 127)]
    # Compared with the decay before it (4 dB per frame), only the damper is 6 dB steeper.
    assert _notes(H, **rule, drop_accel_db=6.0) == [Note(0.1, 0.8, 60, 127)]


#: A piano tone's fast first decay (0, -10, -20 dB) settles into a slow one (1 dB per frame
#: from -21 dB); a damper at frame 12 (-50 dB per frame). Levels in dB, frame 0 silent.
TWO_STAGE_DECAY_DB = np.concatenate([[-200.0], [0.0, -10.0, -20.0], -21 - np.arange(9.0), -29 - 50 * np.arange(1, 4)])


def test_drop_must_end_far_below_the_peak():
    H = (10 ** (TWO_STAGE_DECAY_DB / 20))[None, :]
    rule = dict(threshold=0.05, offset_threshold=0.001, drop_db=8.0)
    # The first decay looks like a damper ...
    assert _notes(H, **rule) == [Note(0.1, 0.2, 60, 127)]
    # ... unless the drop has to take the level more than 25 dB below the peak.
    assert _notes(H, **rule, drop_floor_db=25.0) == [Note(0.1, 1.2, 60, 127)]


def test_drop_floor_deepens_with_pitch():
    # The same tone on three keys: 10 dB of floor at middle C plus 8 dB per octave.
    H = np.tile(10 ** (TWO_STAGE_DECAY_DB / 20), (3, 1))
    rule = dict(threshold=0.05, offset_threshold=0.001, drop_db=8.0, drop_floor_db=10.0, drop_floor_slope_db=8.0)
    # C2: no floor; C4: 10 dB; both take the first decay for a damper. C6: 26 dB, it does not.
    assert _notes(H, (36, 60, 84), **rule) == [Note(0.1, 0.2, 36, 127), Note(0.1, 0.2, 60, 127),
                                               Note(0.1, 1.2, 84, 127)]
    with pytest.raises(ValueError, match="drop_floor_slope_db"):
        _notes(H, (36, 60, 84), **dict(rule, drop_floor_slope_db=float("nan")))


def test_sustain_activation_decides_offsets_and_offset_shift():
    H = np.zeros((1, 10))
    H[0, 1:8] = 1.0
    S = np.zeros_like(H)
    S[0, 1:5] = 1.0  # the sustain part stops earlier than the total activation
    assert _notes(H, sustain=S) == [Note(0.1, 0.5, 60, 127)]
    assert _notes(H, sustain=S, offset_shift=0.15) == [Note(0.1, 0.35, 60, 127)]
    # offset_shift never makes a note shorter than min_duration
    (note,) = _notes(H, sustain=S, offset_shift=1.0, min_duration=0.2)
    assert note.offset == pytest.approx(0.3) and note.onset == 0.1


def test_minimum_length_counts_frames_above_threshold():
    H = np.zeros((1, 10))
    H[0, 2] = 1.0
    H[0, 3:8] = 0.1  # below the threshold: the note is 1 frame long for step 4 ...
    assert _notes(H, min_duration=0.15, offset_threshold=0.05) == []
    # ... even though its offset (floor 0.05) would be at frame 8
    assert _notes(H, min_duration=0.1, offset_threshold=0.05) == [Note(0.2, 0.8, 60, 127)]


def test_restrike_inside_a_held_note_splits_it():
    H = np.zeros((1, 12))
    H[0, 1:5] = 0.5
    H[0, 5:9] = 1.0  # a second, louder attack while the first still sounds
    assert _notes(H) == [Note(0.1, 0.5, 60, 90), Note(0.5, 0.9, 60, 127)]


def test_restrike_ratio_tells_a_restrike_from_a_swell():
    H = np.zeros((2, 12))
    H[0, 1:5] = 0.75
    H[0, 5:10] = 1.0  # a held note swells: a rise of 0.25 on a level of 0.75
    H[1, 1:5] = 0.25
    H[1, 5:10] = 0.75  # a key struck again: a rise of 0.5 on a level of 0.25
    # Both rises clear the threshold (0.2): without the test, both keys restrike.
    assert _notes(H, (60, 64)) == [Note(0.1, 0.5, 60, 110), Note(0.1, 0.5, 64, 64),
                                   Note(0.5, 1.0, 60, 127), Note(0.5, 1.0, 64, 110)]
    # A restrike must rise by at least half the level before it: 0.25 < 0.5 x 0.75, 0.5 >= 0.5 x 0.25.
    assert _notes(H, (60, 64), restrike_ratio=0.5) == [Note(0.1, 1.0, 60, 110), Note(0.1, 0.5, 64, 64),
                                                       Note(0.5, 1.0, 64, 110)]
    # Onsets from silence (level 0 before) are not affected, however high the ratio.
    assert [n.onset for n in _notes(H, (60, 64), restrike_ratio=100.0)] == [0.1, 0.1]
    with pytest.raises(ValueError, match="restrike_ratio"):
        _notes(H, (60, 64), restrike_ratio=-0.1)


def test_a_note_from_silence_needs_only_the_quiet_threshold():
    H = np.zeros((3, 14))
    H[0, 10:13] = 1.0  # a loud note: the normalisation
    H[1, 2:9] = [0.0625, 0.1875, 0.3125, 0.4375, 0.5, 0.5, 0.5]  # a soft note rising slowly
    H[2, 0:12] = 0.5  # a held note ...
    H[2, 6:12] = [0.625, 0.75, 0.875, 0.875, 0.875, 0.875]  # ... that swells as slowly
    # Every one-frame rise of the soft note is 0.125 < threshold 0.2: it is not found.
    assert [n.pitch for n in _notes(H, (60, 64, 67), min_ioi=0.3)] == [67, 60]
    # With quiet_threshold 0.1 it is: its key was silent over the 4 frames before frame 3 (the
    # earliest of the three equal rises), peak = max(a[3:6]) = 0.4375. The held note's swell
    # has the same rises but its key was sounding: still one note.
    notes = _notes(H, (60, 64, 67), min_ioi=0.3, quiet_threshold=0.1)
    assert notes == [Note(0.0, 1.2, 67, 90), Note(0.3, 0.9, 64, 84), Note(1.0, 1.3, 60, 127)]
    # A key counts as silent only below quiet_ratio x the peak.
    assert [n.pitch for n in _notes(H, (60, 64, 67), min_ioi=0.3, quiet_threshold=0.1, quiet_ratio=0.0)] == [67, 60]
    for name, value in (("quiet_threshold", 0.0), ("quiet_ratio", -1.0), ("quiet_frames", 0)):
        with pytest.raises(ValueError, match=name):
            _notes(H, (60, 64, 67), **{name: value})


def test_min_ioi_merges_close_onsets():
    H = np.zeros((1, 12))
    H[0, 1:3] = 0.5
    H[0, 3:9] = 1.0
    # without a minimum inter-onset interval: two notes; with 0.25 s only the stronger onset
    # (frame 1: rise 0.5; frame 3: rise 0.5 -> tie, the earliest wins) survives.
    assert len(_notes(H)) == 2
    assert _notes(H, min_ioi=0.25) == [Note(0.1, 0.9, 60, 127)]  # peak = max(a[t:t+3]) = 1


def test_min_duration_drops_short_notes():
    H = np.zeros((1, 10))
    H[0, 2:3] = 1.0
    H[0, 5:9] = 1.0
    assert _notes(H, min_duration=0.15) == [Note(0.5, 0.9, 60, 127)]


def test_below_threshold_is_silent_and_onset_strength_is_used():
    H = np.zeros((1, 10))
    H[0, 2:6] = 1.0
    H[0, 7:9] = 0.1  # normalised 0.1 < threshold: no note
    assert _notes(H) == [Note(0.2, 0.6, 60, 127)]
    # An explicit onset function: only frame 4 may start a note.
    O = np.zeros_like(H)
    O[0, 4] = 1.0
    assert _notes(H, onset_strength=O) == [Note(0.4, 0.6, 60, 127)]


def test_time_offset_and_note_at_the_end():
    H = np.zeros((1, 5))
    H[0, 3:] = 1.0
    assert _notes(H, time_offset=0.05) == [Note(0.35, 0.55, 60, 127)]
    # Shifted before 0 s: the onset is clipped to 0 s while the note still ends after it ...
    [note] = _notes(H, time_offset=-0.4)
    assert (note.onset, note.pitch) == (0.0, 60) and note.offset == pytest.approx(0.1)
    # ... and a note that ends before the recording starts is no note at all (it used to
    # become a note at 0 s).
    assert _notes(H, time_offset=-0.5) == []
    assert _notes(H, time_offset=-100.0) == []


def test_empty_and_invalid_activations():
    assert _notes(np.zeros((1, 10))) == []
    assert _notes(np.zeros((0, 10)), ()) == []
    with pytest.raises(ValueError, match="rows"):
        _notes(np.zeros((2, 10)), (60,))
    with pytest.raises(ValueError, match="non-negative"):
        _notes(-np.ones((1, 10)))
    with pytest.raises(ValueError, match="threshold"):
        _notes(np.ones((1, 10)), threshold=0)
    for name in ("drop_accel_db", "drop_floor_db"):
        with pytest.raises(ValueError, match=name):
            _notes(np.ones((1, 10)), drop_db=8.0, **{name: float("nan")})
    # Times and levels that would turn into NaN onsets or silently disable a test.
    with pytest.raises(ValueError, match=r"time_offset must be a finite number, got nan"):
        _notes(np.ones((1, 10)), time_offset=float("nan"))
    with pytest.raises(ValueError, match=r"drop_range_db must be a finite number >= 0, got -1"):
        _notes(np.ones((1, 10)), drop_range_db=-1)
    with pytest.raises(ValueError, match=r"H must be 2-D \(n_pitches, n_frames\), got shape \(10,\)"):
        activations_to_notes(np.ones(10), [60], FR)
    for name in ("onset_strength", "sustain"):
        with pytest.raises(ValueError, match=rf"{name} has shape \(1, 9\), expected \(1, 10\)"):
            activations_to_notes(np.ones((1, 10)), [60], FR, **{name: np.ones((1, 9))})
        for bad in (np.nan, -1.0):
            with pytest.raises(ValueError, match=f"{name} must be finite and non-negative"):
                activations_to_notes(np.ones((1, 10)), [60], FR, **{name: np.full((1, 10), bad)})


def test_suppress_ghosts_removes_weak_octave_only():
    loud, weak = 127, 40  # peaks 1.0 and about 0.1
    notes = [Note(1.0, 2.0, 48, loud), Note(1.02, 2.0, 60, weak),  # weak octave: ghost
             Note(1.0, 2.0, 55, loud),  # a strong twelfth: a real note
             Note(3.0, 4.0, 72, weak)]  # weak but alone: real
    kept = suppress_ghosts(notes, ratio=0.3)
    assert [n.pitch for n in kept] == [48, 55, 72]
    assert suppress_ghosts([], ratio=0.3) == []


def test_suppress_ghosts_any_interval_leakage():
    notes = [Note(1.0, 2.0, 60, 127), Note(1.01, 2.0, 66, 30),  # tritone, peak 0.056: leakage
             Note(1.0, 2.0, 64, 100),  # peak 0.62: a real chord note
             Note(3.0, 4.0, 66, 30)]  # weak but alone
    assert [n.pitch for n in suppress_ghosts(notes, ratio=0.5, any_ratio=0.15)] == [60, 64, 66]
    assert len(suppress_ghosts(notes, ratio=0.5, any_ratio=0.0)) == 4
    for name in ("ratio", "max_onset_gap", "any_ratio", "any_share"):
        with pytest.raises(ValueError, match=rf"{name} must be a finite number >= 0, got nan"):
            suppress_ghosts(notes, **{name: float("nan")})


# --- representation and the shipped dictionary -------------------------------------------


def test_suppress_ghosts_spares_leakage_suspects_that_explain_their_own_bands():
    notes = [Note(1.0, 2.0, 60, 127), Note(1.01, 2.0, 66, 30), Note(1.0, 2.0, 70, 30)]
    assert [n.pitch for n in suppress_ghosts(notes, ratio=0.5, any_ratio=0.15)] == [60]
    kept = suppress_ghosts(notes, ratio=0.5, any_ratio=0.15, shares=[1.0, 0.9, 0.2], any_share=0.5)
    assert [n.pitch for n in kept] == [60, 66]
    with pytest.raises(ValueError, match="shares"):
        suppress_ghosts(notes, any_ratio=0.15, shares=[1.0, 0.9])


def _model(W, H, pitch):
    """An Activations by hand: sustain templates only, one per key (unit-sum columns)."""
    W, H = np.asarray(W, dtype=float), np.asarray(H, dtype=float)
    return Activations(V=W @ H, W=W, H=H, pitch=np.asarray(pitch), kind=np.ones(len(pitch), int),
                       pitches=sorted(pitch), pitch_activation=H, attack_activation=np.zeros_like(H),
                       frame_rate=FR, tuning=0.0, cost=np.zeros(1))


def test_key_share_by_hand():
    # key 60 on bands 0-1, key 64 on bands 1-3; frames: 60 alone, both, silence
    W = [[0.5, 0.0], [0.5, 0.2], [0.0, 0.4], [0.0, 0.4]]
    H = [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    # frame 1, key 60: w60.W60 = 0.5, w60.W64 = 0.1 -> 0.5 / 0.6; key 64: 0.36 / (0.36 + 0.1)
    expected = [[1.0, 5 / 6, 0.0], [0.0, 18 / 23, 0.0]]
    np.testing.assert_allclose(_model(W, H, [60, 64]).key_share(), expected)
    # at a note's onset: the largest share over its first four frames (frames 1-2 here)
    shares = note_shares(_model(W, H, [60, 64]), [Note(0.1, 0.3, 64, 100), Note(0.0, 0.3, 60, 127)])
    np.testing.assert_allclose(shares, [18 / 23, 1.0])
    assert note_shares(_model(W, H, [60, 64]), []).shape == (0,)


def test_notes_from_activations_keeps_soft_notes_and_drops_leakage():
    W = np.zeros((6, 3))
    W[0:2, 0] = 0.5  # key 60
    W[4:6, 1] = 0.5  # key 66: bands of its own
    W[0:3, 2] = [0.4, 0.4, 0.2]  # key 67: mostly key 60's bands (share 0.036 / 0.436)
    H = np.zeros((3, 12))
    H[0, 2:9] = 1.0
    H[1:, 2:9] = 0.1  # 10x weaker than the note they start with
    act = _model(W, H, [60, 66, 67])
    rule = dict(threshold=0.05, ghost_ratio=0.0, leak_ratio=0.3, drop_db=None)
    assert [n.pitch for n in notes_from_activations(act, **rule)] == [60, 66]
    assert [n.pitch for n in notes_from_activations(act, leak_share=None, **rule)] == [60]
    assert [n.pitch for n in notes_from_activations(act, leak_share=1.01, **rule)] == [60]
    with pytest.raises(ValueError, match="leak_share"):
        notes_from_activations(act, leak_share=-1.0, **rule)
    with pytest.raises(ValueError, match="attack_weight must be a finite number >= 0, got -1"):
        notes_from_activations(act, attack_weight=-1, **rule)


def test_filterbank_shape_independent_of_tuning_and_rows_sum_to_one():
    rep = Representation()
    F0, F1 = log_filterbank(rep), log_filterbank(rep, tuning=0.3)
    assert F0.shape == F1.shape and F0.shape[1] == 1 + rep.n_fft // 2
    np.testing.assert_allclose(F0.sum(axis=1), 1.0, rtol=1e-5)


def test_estimate_tuning_of_a_detuned_tone():
    sr = 22050
    t = np.arange(sr) / sr
    for cents in (-30, 0, 20):
        f = 440 * 2 ** (cents / 1200)
        x = sum(np.sin(2 * np.pi * h * f * t) / h for h in (1, 2, 3))
        assert estimate_tuning(x.astype(np.float32), sr) == pytest.approx(cents / 100, abs=0.03)


def test_estimate_tuning_needs_sound_and_says_so():
    with pytest.raises(ValueError, match="needs the audio x or its magnitude"):
        estimate_tuning()
    assert estimate_tuning(np.zeros(22050, np.float32), 22050) == 0.0  # silence: no peaks, no tuning
    assert estimate_tuning(magnitude=np.ones((2, 5))) == 0.0  # too few bins for a peak
    hum = np.sin(2 * np.pi * 50 * np.arange(22050) / 22050).astype(np.float32)
    assert estimate_tuning(hum, 22050) == 0.0  # its only peak lies below fmin (80 Hz)


@pytest.mark.filterwarnings("ignore:n_fft=1024 is too large")  # librosa's, for the 100-sample case
@pytest.mark.parametrize("n_samples", [100, 4096, 22050 + 77])
def test_stft_magnitude_is_librosas_in_blocks_of_any_size(n_samples, monkeypatch):
    import librosa

    from amt_helpers import dictionary

    x = np.random.default_rng(n_samples).standard_normal(n_samples).astype(np.float32)
    rep = Representation(sr=22050, n_fft=1024, hop_length=256)
    expected = np.abs(librosa.stft(x, n_fft=1024, hop_length=256, center=True, pad_mode="constant"))
    whole = dictionary.stft_magnitude(x, rep)
    monkeypatch.setattr(dictionary, "_STFT_BLOCK_FRAMES", 7)  # many blocks, the last one short
    blocks = dictionary.stft_magnitude(x, rep)
    assert blocks.dtype == np.float32 and blocks.shape == expected.shape
    np.testing.assert_array_equal(blocks, whole)
    np.testing.assert_allclose(blocks, expected, rtol=1e-4, atol=1e-4 * expected.max())


def test_spectrogram_is_the_filterbank_applied_to_the_stft_magnitude():
    from amt_helpers.dictionary import spectrogram, stft_magnitude

    rep, x = Representation(), _tone(60, 22050)
    F = log_filterbank(rep, tuning=0.1)
    V = spectrogram(x, rep, tuning=0.1)
    assert V.dtype == np.float32 and V.shape == (F.shape[0], 1 + x.size // rep.hop_length)
    np.testing.assert_allclose(V, F @ stft_magnitude(x, rep), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(spectrogram(x, rep, filterbank=F), V)


def test_learn_pitch_templates_recovers_an_attack_and_two_sustain_spectra():
    """Notes made of known attack, early-sustain and late-sustain spectra, in the regions the
    constrained initialisation allows: the learned templates are those spectra."""
    from amt_helpers.dictionary import learn_pitch_templates

    rng = np.random.default_rng(0)
    truth = np.full((12, 3), 0.01)
    truth[:, 0] += rng.uniform(0.5, 1.0, 12)  # attack: broadband
    truth[[2, 5, 8, 11], 1] += [1.0, 0.6, 0.4, 0.3]  # early sustain: four partials
    truth[[2, 5], 2] += [1.0, 0.3]  # late sustain: the high partials have died
    truth /= truth.sum(axis=0)
    segments, onsets = [], []
    for loudness, onset, n in ((1.0, 3, 30), (0.3, 5, 24), (0.6, 2, 36)):
        H = np.zeros((3, n))
        H[0, onset - 1 : onset + 2] = loudness  # attack_frames = 3, from one frame before the onset
        half = onset + (n - onset) // 2
        H[1, onset:half] = loudness * np.exp(-0.1 * np.arange(half - onset))
        H[2, half:] = loudness * 0.5 * np.exp(-0.05 * np.arange(n - half))
        segments.append(truth @ H)
        onsets.append(onset)
    W = learn_pitch_templates(segments, onsets, n_sustain=2, attack_frames=3, n_iter=300)
    assert W.shape == (12, 3) and W.dtype == np.float32
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=1e-5)
    cosine = (W * truth).sum(axis=0) / np.linalg.norm(W, axis=0) / np.linalg.norm(truth, axis=0)
    assert cosine.min() > 0.99, cosine


def test_compute_activations_repr_and_a_bad_tuning():
    act = compute_activations(_tone(60, 22050), 22050, pitches=[60, 64])
    assert repr(act).startswith("Activations(V (") and "2 pitches" in repr(act)
    with pytest.raises(ValueError, match="tuning must be a number of semitones within ±0.5, got 0.7"):
        compute_activations(_tone(60, 22050), 22050, tuning=0.7)


def test_compute_activations_with_adapted_templates_keeps_their_support():
    x = _tone(60, 22050)
    fixed = compute_activations(x, 22050, pitches=[60, 64])
    adapted = compute_activations(x, 22050, pitches=[60, 64], adapt_iter=5, support=0.02)
    assert adapted.cost.size == fixed.cost.size + 5  # the fixed-W iterations, then the joint ones
    assert not np.allclose(adapted.W, fixed.W)
    outside = fixed.W < 0.02 * fixed.W.max(axis=0, keepdims=True)
    assert np.all(adapted.W[outside] == 0)  # a template never grows outside its support


def test_shipped_dictionary_covers_the_piano():
    d = load_dictionary()
    assert d.pitches == list(range(21, 109))
    assert d.W.shape == (log_filterbank(d.rep).shape[0], len(d.pitch))
    np.testing.assert_allclose(d.W.sum(axis=0), 1.0, rtol=1e-4)
    assert "pianos" in d.provenance
    sub = d.select([60, 64])
    assert sub.pitches == [60, 64]
    with pytest.raises(ValueError, match="no templates"):
        d.select([10])


def test_load_dictionary_reads_a_rewritten_file_and_shares_read_only_arrays(tmp_path):
    import os

    from amt_helpers.dictionary import Dictionary, DictionaryError, save_dictionary

    path = tmp_path / "d.npz"
    small = Dictionary(np.full((4, 2), 0.25, np.float32), np.array([60, 60]), np.array([0, 1]), Representation(), {})
    save_dictionary(path, small)
    first = load_dictionary(path)
    assert first.W.shape == (4, 2) and load_dictionary(path) is first  # cached
    with pytest.raises(ValueError, match="read-only"):
        first.W[0, 0] = 99.0
    bigger = Dictionary(np.full((4, 3), 0.25, np.float32), np.array([60, 60, 62]), np.array([0, 1, 0]),
                        Representation(), {})
    save_dictionary(path, bigger)
    os.utime(path, ns=(1, 1))  # a different modification time even on a coarse clock
    assert load_dictionary(path).W.shape == (4, 3)
    path.write_bytes(b"not a dictionary")
    with pytest.raises(DictionaryError, match="not a dictionary"):
        load_dictionary(path)
    with pytest.raises(FileNotFoundError, match="AMT_DATA_DIR"):
        load_dictionary(tmp_path / "missing.npz")


# --- transcribe() ---------------------------------------------------------------------------


def test_transcribe_rejects_bad_audio_and_pitches():
    with pytest.raises(AudioError):
        transcribe(np.array([0.0, np.nan, 0.0]), 22050)
    with pytest.raises(AudioError):
        transcribe(np.zeros(0), 22050)
    with pytest.raises(ValueError, match="piano keys"):
        transcribe(np.ones(100), 22050, pitches=[10])
    with pytest.raises(ValueError, match="sr"):
        transcribe(np.ones(100), 0)


@pytest.mark.parametrize("pitches, message", [
    (60, "a sequence of whole MIDI numbers, got 60"),
    (["C4"], "a sequence of whole MIDI numbers"),
    ([], "non-empty"),
    ([60, 60.5], "whole MIDI numbers, got \\[60, 60.5\\]"),
    ([float("nan")], "whole MIDI numbers"),
    ([20, 60, 109], r"piano keys, MIDI 21-108, got \[20, 60, 109\]"),
])
def test_transcribe_names_a_bad_pitch_set(pitches, message):
    with pytest.raises(ValueError, match=message):
        transcribe(np.ones(100), 22050, pitches=pitches)


def test_transcribe_silence_warns_and_returns_nothing():
    with pytest.warns(UserWarning, match="silent"):
        assert transcribe(np.zeros(22050, dtype=np.float32), 22050) == []


def _tone(pitch, sr, dur=1.0, start=0.25):
    t = np.arange(int(sr * (dur + 2 * start))) / sr
    f = 440 * 2 ** ((pitch - 69) / 12)
    env = np.where(t >= start, np.exp(-3 * (t - start)), 0.0) * (t < start + dur)
    return (env * sum(np.sin(2 * np.pi * h * f * t) / h for h in range(1, 6))).astype(np.float32)


def test_transcribe_synthetic_tone_any_sample_rate_deterministic():
    for sr in (22050, 16000):
        x = _tone(69, sr)
        a, b = transcribe(x, sr), transcribe(x, sr)
        assert a == b
        assert [n.pitch for n in a] == [69]
        assert a[0].onset == pytest.approx(0.25, abs=0.05)


def test_compute_activations_shapes():
    x = _tone(60, 22050)
    act = compute_activations(x, 22050, pitches=[60, 64])
    assert act.pitches == [60, 64]
    assert act.pitch_activation.shape == (2, act.V.shape[1])
    assert act.H.shape == (act.W.shape[1], act.V.shape[1])
    assert act.pitch_activation[0].max() > 5 * act.pitch_activation[1].max()


def test_transcribe_shipped_example_above_floor():
    from amt_helpers.data import load_example
    from amt_helpers.evaluate import evaluate

    x, sr, ref = load_example("bach_prelude")
    m = evaluate(ref, transcribe(x, sr))
    # Measured 1.00 / 0.48 / 0.92 (note F / with offsets / frame F, blind); floors about 0.8x that.
    assert m["note_f"] >= 0.8
    assert m["note_offset_f"] >= 0.38
    assert m["frame_f"] >= 0.73


def test_score_informed_reads_out_only_the_given_pitches():
    x = _tone(60, 22050) + _tone(67, 22050)
    for restrict in (False, True):
        notes = transcribe(x, 22050, pitches=[60, 64, 67], restrict_templates=restrict)
        assert {n.pitch for n in notes} == {60, 67}
    act = compute_activations(x, 22050)
    assert act.select([67, 60]).pitches == [60, 67]
    with pytest.raises(ValueError, match="not in this model"):
        act.select([60]).select([61])


def _odd_timbre_tone(pitch, sr=22050, start=0.25, dur=1.0):
    """A tone whose partial strengths are unlike any piano's: strong 3rd and 5th partials."""
    t = np.arange(int(sr * (dur + 2 * start))) / sr
    f = 440 * 2 ** ((pitch - 69) / 12)
    env = np.where(t >= start, np.exp(-2 * (t - start)), 0.0) * (t < start + dur)
    amps = {1: 0.3, 2: 0.1, 3: 1.0, 4: 0.1, 5: 0.8}
    return (env * sum(a * np.sin(2 * np.pi * h * f * t) for h, a in amps.items())).astype(np.float32)


def test_refine_templates_fits_the_recording_better_and_moves_only_transcribed_keys():
    from amt_helpers.nmf import beta_divergence
    from amt_helpers.transcribe import refine_templates

    x = _odd_timbre_tone(57)
    act = compute_activations(x, 22050)
    notes = [Note(0.25, 1.25, 57, 100)]
    refined = refine_templates(act, notes, mix=0.0)
    # Same shapes and read-out; templates still have unit sum.
    assert refined.W.shape == act.W.shape and refined.H.shape == act.H.shape
    np.testing.assert_allclose(refined.W.sum(axis=0), 1.0, rtol=1e-5)
    moved = np.flatnonzero(np.abs(refined.W - act.W).max(axis=0) > 0)
    assert set(act.pitch[moved]) == {57}
    # Re-learned on the recording, the key's templates explain it better (KL, same V).
    before = beta_divergence(act.V, act.W, act.H, 1)
    after = beta_divergence(refined.V, refined.W, refined.H, 1)
    assert after < 0.9 * before
    # The key now explains a larger share of the tone (less of it leaks into other keys).
    row = act.pitches.index(57)
    share = lambda a: a.pitch_activation[row].sum() / a.pitch_activation.sum()  # noqa: E731
    assert share(refined) > share(act) + 0.1
    again = refine_templates(act, notes, mix=0.0)
    np.testing.assert_array_equal(again.W, refined.W)


def test_refine_templates_mix_one_or_no_notes_changes_nothing():
    from amt_helpers.transcribe import refine_templates

    act = compute_activations(_tone(60, 22050), 22050)
    note = [Note(0.25, 1.25, 60, 100)]
    assert refine_templates(act, note, mix=1.0) is act
    assert refine_templates(act, note, n_iter=0) is act
    assert refine_templates(act, [], mix=0.5) is act
    half = refine_templates(act, note, mix=0.5)
    full = refine_templates(act, note, mix=0.0)
    cols = np.flatnonzero(act.pitch == 60)
    # The mixture lies between the learned and the adapted templates.
    d_half = np.abs(half.W[:, cols] - act.W[:, cols]).sum()
    d_full = np.abs(full.W[:, cols] - act.W[:, cols]).sum()
    assert 0 < d_half < d_full


@pytest.mark.parametrize("kw, word", [(dict(mix=1.5), "mix"), (dict(mix=-0.1), "mix"),
                                      (dict(n_iter=-1), "n_iter"), (dict(n_iter=2.5), "n_iter"),
                                      (dict(release_frames=-2), "release_frames")])
def test_refine_templates_rejects_bad_options(kw, word):
    from amt_helpers.transcribe import refine_templates

    act = compute_activations(_tone(60, 22050), 22050)
    with pytest.raises(ValueError, match=word):
        refine_templates(act, [Note(0.25, 1.25, 60, 100)], **kw)


def test_transcribe_with_and_without_refinement_finds_the_tone():
    x = _tone(64, 22050)
    for refine_iter in (0, 5, 20):
        assert [n.pitch for n in transcribe(x, 22050, refine_iter=refine_iter)] == [64]
    with pytest.raises(ValueError, match="mix"):
        transcribe(x, 22050, refine_mix=2.0)


def test_beta_reaches_both_passes_and_is_checked():
    from amt_helpers.nmf import beta_divergence
    from amt_helpers.transcribe import BLIND_DEFAULTS, transcription_model

    x = _tone(64, 22050) + 0.3 * _tone(71, 22050)
    for refine_iter in (0, 10):
        options = dict(BLIND_DEFAULTS, refine_iter=refine_iter)
        kl = transcription_model(x, 22050, options)
        half = transcription_model(x, 22050, dict(options, beta=0.5))
        assert not np.allclose(kl.H, half.H)
        if refine_iter == 0:  # the same templates: each fit is the better one under its own divergence
            for act, beta, other in ((kl, 1, half), (half, 0.5, kl)):
                assert beta_divergence(act.V, act.W, act.H, beta) < beta_divergence(act.V, other.W, other.H, beta)
    assert [n.pitch for n in transcribe(x, 22050, beta=0.5)] == [64, 71]
    with pytest.raises(ValueError, match=r"beta must be a number in \(0, 2\]"):
        transcribe(x, 22050, beta=3)


def test_transcription_model_is_what_transcribe_reads():
    from amt_helpers.transcribe import (BLIND_DEFAULTS, INFORMED_DEFAULTS, note_rule, notes_from_activations,
                                        transcription_model)

    x = _tone(60, 22050) + _tone(67, 22050)
    for pitches, options in ((None, BLIND_DEFAULTS), ([60, 64, 67], INFORMED_DEFAULTS)):
        act = transcription_model(x, 22050, options, pitches=pitches)
        assert notes_from_activations(act, **note_rule(options)) == transcribe(x, 22050, pitches=pitches)
    assert transcription_model(x, 22050, INFORMED_DEFAULTS, pitches=[60, 64, 67]).pitches == [60, 64, 67]


def test_every_default_is_an_option_of_transcribe():
    import inspect

    from amt_helpers.transcribe import BLIND_DEFAULTS, INFORMED_DEFAULTS

    options = set(inspect.signature(transcribe).parameters)
    assert set(BLIND_DEFAULTS) <= options and set(INFORMED_DEFAULTS) <= options
    x = _tone(64, 22050)
    # each one is passed on: a bad value of the newest rule option is refused by name
    with pytest.raises(ValueError, match="restrike_ratio"):
        transcribe(x, 22050, restrike_ratio=-1.0)
    assert [n.pitch for n in transcribe(x, 22050, restrike_ratio=0.0)] == [64]


def test_default_options_of_each_preset():
    from amt_helpers.transcribe import ACOUSTIC_CHANGES, BLIND_DEFAULTS, INFORMED_DEFAULTS, PRESETS, default_options

    assert default_options() == BLIND_DEFAULTS and default_options(informed=True) == INFORMED_DEFAULTS
    for informed, mode in ((False, "blind"), (True, "informed")):
        base, acoustic = default_options(informed=informed), default_options(informed=informed, preset="acoustic")
        assert set(acoustic) == set(base)
        assert {k for k in base if acoustic[k] != base[k]} == set(ACOUSTIC_CHANGES[mode])
    # stricter leakage test and a more sensitive damper test than the default
    assert default_options(preset="acoustic")["leak_ratio"] > BLIND_DEFAULTS["leak_ratio"]
    assert default_options(preset="acoustic")["drop_db"] < BLIND_DEFAULTS["drop_db"]
    default_options(preset="acoustic")["threshold"] = 1.0  # a copy: the defaults stay as they are
    assert default_options()["threshold"] == BLIND_DEFAULTS["threshold"] < 1.0
    assert PRESETS == ("default", "acoustic")
    with pytest.raises(ValueError, match="preset"):
        default_options(preset="concert")


def test_transcribe_takes_the_presets_defaults_and_explicit_options_win(monkeypatch):
    import amt_helpers.transcribe as tr

    seen = []
    real = tr.notes_from_activations

    def spy(act, **rule):
        seen.append(rule)
        return real(act, **rule)

    monkeypatch.setattr(tr, "notes_from_activations", spy)
    x = _tone(64, 22050)
    for pitches, informed in ((None, False), ([60, 64], True)):
        seen.clear()
        notes = transcribe(x, 22050, pitches=pitches, preset="acoustic", leak_ratio=0.45)
        assert [n.pitch for n in notes] == [64]
        expected = dict(tr.note_rule(tr.default_options(informed=informed, preset="acoustic")), leak_ratio=0.45)
        assert seen[-1] == expected  # the final pass's rule
    with pytest.raises(ValueError, match="preset"):
        transcribe(x, 22050, preset="Acoustic")


def test_first_pass_score_leaves_out_the_soft_note_tests(monkeypatch):
    import amt_helpers.transcribe as tr

    x = _tone(60, 22050) + 0.05 * _tone(67, 22050)
    options = dict(tr.BLIND_DEFAULTS, refine_iter=2)
    seen = {}
    real = tr.refine_templates

    def spy(act, notes, **kw):
        seen["model"], seen["notes"] = act, notes
        return real(act, notes, **kw)

    monkeypatch.setattr(tr, "refine_templates", spy)
    tr.transcription_model(x, 22050, options)
    rule = tr.note_rule(options)
    assert seen["notes"] == tr.notes_from_activations(seen["model"], **dict(rule, **tr.FIRST_PASS_RULE))
    assert set(tr.FIRST_PASS_RULE) <= set(rule)
    assert all(value is None for value in tr.FIRST_PASS_RULE.values())  # None: the test is off


def test_key_activations_sums_each_keys_templates_weighted_by_energy():
    W = np.array([[1.0, 0.0, 2.0], [1.0, 3.0, 0.0]])  # template energies 2, 3, 2
    H = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]])
    P = key_activations(W, H, [60, 60, 64])
    np.testing.assert_allclose(P, [[2 * 1.0 + 3 * 0.5, 3 * 1.0], [0.0, 2 * 2.0]])
    # rows follow the pitches asked for; a key without templates is a row of zeros
    P2 = key_activations(W, H, [60, 60, 64], pitches=[64, 62, 60])
    np.testing.assert_allclose(P2, [P[1], [0.0, 0.0], P[0]])


def test_key_activations_names_bad_input():
    W, H = np.ones((4, 3)), np.ones((3, 5))
    with pytest.raises(ValueError, match="must agree"):
        key_activations(W, H[:2], [60, 61, 62])
    with pytest.raises(ValueError, match="must agree"):
        key_activations(W, H, [60, 61])
    with pytest.raises(ValueError, match=r"pitches \[62\] have no row"):
        key_activations(W, H, [60, 61, 62], pitches=[60, 61])



def test_refine_mask_finds_the_frames_the_note_rule_found_despite_its_time_shifts():
    from amt_helpers.transcribe import _note_mask

    H = np.zeros((1, 40))
    H[0, 10:25] = np.linspace(1.0, 0.5, 15)  # a note from frame 10; it ends (falls to 0) at frame 25
    rule = dict(threshold=0.1, min_duration=0.05, time_offset=-0.012, offset_shift=0.05, drop_db=None,
                offset_ratio=0.0, smooth_frames=1)
    (note,) = activations_to_notes(H, [60], FR, **rule)
    assert note.onset == pytest.approx(10 / FR - 0.012) and note.offset == pytest.approx(25 / FR - 0.012 - 0.05)
    mask = _note_mask(np.array([60, 60, 62]), np.array([0, 1, 0]), 40, FR, [note], attack_frames=3,
                      margin_frames=2, release_frames=4, time_offset=-0.012, offset_shift=0.05)
    assert np.flatnonzero(mask[0]).tolist() == list(range(8, 13))  # attack: 2 frames before to 3 after the onset
    assert np.flatnonzero(mask[1]).tolist() == list(range(8, 29))  # sustain: to 4 frames after the end
    assert not mask[2].any()  # another key's template


def test_a_note_in_the_first_frame_maps_back_to_the_first_frame(monkeypatch):
    from amt_helpers.transcribe import _note_mask

    # With a negative time_offset, frames 0 and 1 of a 43-frames-per-second model give onsets
    # 0 s (clipped) and 0.0112 s; undoing the shift must give frames 0 and 1, not 1 and 1.
    fr, shift = 22050 / 512, -0.012
    H = np.zeros((2, 30))
    H[0, 0:12] = 1.0
    H[1, 1:12] = 1.0
    notes = activations_to_notes(H, [60, 64], fr, threshold=0.1, time_offset=shift, drop_db=None)
    assert [n.onset for n in notes] == [0.0, pytest.approx(1 / fr + shift)]
    mask = _note_mask(np.array([60, 64]), np.array([0, 0]), 30, fr, notes, attack_frames=3, margin_frames=0,
                      release_frames=0, time_offset=shift, offset_shift=0.0)
    assert np.flatnonzero(mask[0]).tolist() == [0, 1, 2] and np.flatnonzero(mask[1]).tolist() == [1, 2, 3]
    share = np.zeros((2, 30))
    share[0, 0] = share[1, 4] = 1.0  # key 60 explains its bands in frame 0 only, key 64 in frame 4 only
    act = dataclasses.replace(_model(np.eye(2), H, [60, 64]), frame_rate=fr)
    monkeypatch.setattr(Activations, "key_share", lambda self: share)
    # four frames from the onset frame: 0-3 for key 60, 1-4 for key 64
    assert note_shares(act, notes, shift).tolist() == [1.0, 1.0]


def test_dither_and_faint_hiss_are_silence_not_notes():
    rng = np.random.default_rng(0)
    dither = rng.integers(-1, 2, 66150).astype(np.int16)  # 16-bit digital silence, +-1 LSB
    hiss = (2e-4 * rng.standard_normal(66150)).astype(np.float32)  # -66 dBFS peak or so
    for x in (dither, hiss):
        with pytest.warns(UserWarning, match="silent .peak -[0-9]+ dBFS, below -60 dBFS"):
            assert transcribe(x, 22050) == []
    quiet_tone = 10 ** (-40 / 20) * _tone(69, 22050)  # a real note 40 dB down is still a note
    assert [n.pitch for n in transcribe(quiet_tone, 22050)] == [69]


def test_a_dc_offset_is_neither_notes_nor_sound():
    # Without removing it, the STFT's zero padding turns a DC offset into a click at each end of
    # the signal, and the click into notes on the lowest keys (7 from this one second).
    with pytest.warns(UserWarning, match=r"silent .peak -200 dBFS once its DC offset of \+0.3 is removed"):
        assert transcribe(np.full(22050, 0.3, dtype=np.float32), 22050) == []
    tone = _tone(69, 22050)
    assert transcribe(tone + np.float32(0.2), 22050) == transcribe(tone, 22050)


def test_arguments_that_are_not_what_they_say_are_named():
    H = np.zeros((2, 10))
    H[0, 2:6], H[1, 5:9] = 1.0, 0.5
    for pitches, message in (([60, 200], r"pitches must lie in 0..127, got \[60, 200\]"),
                             ([60.7, -5], "pitches must be a sequence of whole numbers"),
                             ("ab", "pitches must be a sequence of whole numbers, got the string 'ab'"),
                             ([60, 60], "pitches must be distinct")):
        with pytest.raises(ValueError, match=message):
            activations_to_notes(H, pitches, FR, threshold=0.2)
    notes = [Note(0.0, 1.0, 60, 127), Note(0.0, 1.0, 72, 30)]
    for intervals in ("abc", [1.5]):
        with pytest.raises(ValueError, match="intervals must be a sequence of whole numbers"):
            suppress_ghosts(notes, intervals=intervals)
    x = _tone(69, 22050)
    for kw, message in ((dict(refine_iter=-1), "refine_iter must be a non-negative integer"),
                        (dict(adapt_iter=-1), "adapt_iter must be a non-negative integer"),
                        (dict(pitches="60"), "pitches must be a sequence of whole MIDI numbers, got the string '60'")):
        with pytest.raises(ValueError, match=message):
            transcribe(x, 22050, **kw)
    with pytest.raises(TypeError, match="dictionary must be a Dictionary, a path or None, got int"):
        transcribe(x, 22050, dictionary=123)

"""evaluate(): mir_eval note- and frame-level metrics, cross-checked against hand-computed cases."""

import json

import librosa
import mir_eval
import numpy as np
import pytest

from amt_helpers import evaluate as evaluate_module
from amt_helpers.evaluate import evaluate, format_metrics, frame_grid
from amt_helpers.notes import Note


def test_hand_computed_case():
    # Reference: three notes. Estimate:
    #  - C4: onset 30 ms late (within 50 ms), offset 0.95 vs 1.0 (within max(50 ms, 20% of 1 s)) -> match with offset
    #  - E4: onset exact, but offset 1.2 vs 2.0: onset match only
    #  - G4 reference has no estimate; the estimate at F4 (65) matches nothing.
    ref = [Note(0.0, 1.0, 60), Note(1.0, 2.0, 64), Note(2.0, 3.0, 67)]
    est = [Note(0.03, 0.95, 60), Note(1.0, 1.2, 64), Note(2.0, 3.0, 65)]
    m = evaluate(ref, est)
    # onset-only: 2 matches out of 3 ref and 3 est
    assert m["note_precision"] == pytest.approx(2 / 3)
    assert m["note_recall"] == pytest.approx(2 / 3)
    assert m["note_f"] == pytest.approx(2 / 3)
    # with offsets: only C4 matches
    assert m["note_offset_precision"] == pytest.approx(1 / 3)
    assert m["note_offset_recall"] == pytest.approx(1 / 3)
    assert m["note_offset_f"] == pytest.approx(1 / 3)
    # frames of 10 ms on [0, 3]: reference pitches active in 300 frames (one at a time);
    # estimate: C4 frames 3..94 (92 correct), E4 frames 100..119 (20 correct), F4 100 frames (wrong).
    # precision = 112 / (92 + 20 + 100) ; recall = 112 / 300.
    p, r = 112 / 212, 112 / 300
    assert m["frame_precision"] == pytest.approx(p)
    assert m["frame_recall"] == pytest.approx(r)
    assert m["frame_f"] == pytest.approx(2 * p * r / (p + r))
    assert (m["n_ref"], m["n_est"]) == (3, 3)


def test_perfect_and_semitone_off():
    ref = [Note(0.5, 1.5, 69), Note(0.5, 1.5, 57)]
    assert evaluate(ref, ref)["note_offset_f"] == 1.0
    assert evaluate(ref, ref)["frame_f"] == 1.0
    # One semitone off is 100 cents: no match at all (pitch tolerance is 50 cents, in Hz space).
    off = [n._replace(pitch=n.pitch + 1) for n in ref]
    m = evaluate(ref, off)
    assert m["note_f"] == 0.0 and m["frame_f"] == 0.0


def test_onset_tolerance_is_50_ms():
    ref = [Note(1.0, 2.0, 60)]
    assert evaluate(ref, [Note(1.049, 2.0, 60)])["note_f"] == 1.0
    assert evaluate(ref, [Note(1.06, 2.0, 60)])["note_f"] == 0.0


def test_offset_tolerance_is_20_percent_or_50_ms():
    ref = [Note(0.0, 2.0, 60), Note(3.0, 3.1, 62)]
    # 2 s note: offsets within 0.4 s are fine; 0.1 s note: within 50 ms.
    est = [Note(0.0, 2.35, 60), Note(3.0, 3.14, 62)]
    assert evaluate(ref, est)["note_offset_f"] == 1.0
    est = [Note(0.0, 2.45, 60), Note(3.0, 3.2, 62)]
    assert evaluate(ref, est)["note_offset_f"] == 0.0
    assert evaluate(ref, est)["note_f"] == 1.0


def _mir_eval_in_one_piece(ref, est, offset_ratio):
    """mir_eval's own note scores, all notes matched at once."""
    ref_iv = np.array([[n.onset, n.offset] for n in ref])
    est_iv = np.array([[n.onset, n.offset] for n in est])
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, librosa.midi_to_hz(np.array([n.pitch for n in ref], float)),
        est_iv, librosa.midi_to_hz(np.array([n.pitch for n in est], float)),
        onset_tolerance=0.05, pitch_tolerance=50.0, offset_ratio=offset_ratio, offset_min_tolerance=0.05)
    return p, r, f


@pytest.mark.parametrize("seed", range(6))
def test_matching_block_by_block_gives_mir_evals_scores(seed, monkeypatch):
    # Blocks of a few notes, so that many cuts happen. Onsets on a 10 ms grid put many pairs
    # exactly 50 ms apart (a match, after mir_eval's rounding) and many gaps at exactly 50 and
    # 60 ms (no cut, and a cut); jittered estimates and a few pitches make matchings ambiguous.
    monkeypatch.setattr(evaluate_module, "_BLOCK_NOTES", 3)
    rng = np.random.default_rng(seed)
    on = np.cumsum(rng.choice([0.0, 0.01, 0.05, 0.06, 0.3], size=300, p=[0.2, 0.2, 0.3, 0.2, 0.1]))
    ref = [Note(float(o), float(o + d), int(p))
           for o, d, p in zip(on, rng.uniform(0.05, 1.0, on.size), rng.integers(60, 64, on.size))]
    keep = rng.random(on.size) < 0.8
    shift = rng.choice([-0.05, -0.02, 0.0, 0.03, 0.05, 0.07], size=on.size)
    est = [Note(n.onset + s, n.offset + s + float(rng.uniform(-0.2, 0.2)) * (n.offset - n.onset), n.pitch)
           for n, s, k in zip(ref, shift, keep) if k and n.onset + s >= 0]
    est += [Note(float(o), float(o) + 0.2, int(p)) for o, p in zip(rng.uniform(0, on[-1], 40), rng.integers(60, 64, 40))]
    m = evaluate(ref, est)
    blocks = evaluate_module._onset_blocks(np.array([n.onset for n in ref]), np.array([n.onset for n in est]))
    assert len(np.unique(np.concatenate(blocks))) > 20  # the cuts did happen
    for prefix, ratio in (("note", None), ("note_offset", 0.2)):
        p, r, f = _mir_eval_in_one_piece(ref, est, ratio)
        assert 0 < f < 1
        assert (m[f"{prefix}_precision"], m[f"{prefix}_recall"]) == (p, r)
        assert m[f"{prefix}_f"] == pytest.approx(f, abs=1e-15)


def test_blocks_are_cut_only_at_gaps_longer_than_the_onset_tolerance(monkeypatch):
    monkeypatch.setattr(evaluate_module, "_BLOCK_NOTES", 1)
    ref_block, est_block = evaluate_module._onset_blocks(np.array([0.0, 0.05, 0.2, 0.3]), np.array([0.1, 0.25]))
    # Sorted onsets 0, 0.05, 0.1 | 0.2, 0.25, 0.3: only the 0.1 s gap is over 50 ms (+ margin).
    assert ref_block.tolist() == [0, 0, 3, 3] and est_block.tolist() == [0, 3]


def test_frame_grid_uses_hz_and_half_open_intervals():
    times = [0.0, 0.5, 1.0]
    freqs = frame_grid([Note(0.0, 1.0, 69), Note(0.5, 2.0, 57)], np.asarray(times))
    assert freqs[0].tolist() == [440.0]
    assert sorted(freqs[1].tolist()) == [220.0, 440.0]
    assert freqs[2].tolist() == [220.0]


def test_frame_grid_counts_a_key_once_and_takes_a_list_of_times():
    # Two overlapping notes of one key sound as one pitch; a frame at an offset is not sounding.
    freqs = frame_grid([Note(0.0, 1.0, 69), Note(0.5, 1.5, 69), Note(0.5, 0.6, 57)], [0.0, 0.5, 1.0, 1.5])
    assert [f.tolist() for f in freqs] == [[440.0], [220.0, 440.0], [440.0], []]
    for bad in ([0.5, 0.0], [[0.0, 0.5]], [0.0, float("nan")]):
        with pytest.raises(ValueError, match="times must be a 1-D increasing array of seconds"):
            frame_grid([Note(0.0, 1.0, 69)], bad)


def test_a_note_list_that_ends_after_a_day_is_refused_not_allocated():
    # 1e9 s on a 10 ms grid would be 745 GiB of frames: almost certainly milliseconds or samples.
    with pytest.raises(ValueError, match=r"the notes end at 1e\+09 s, after more than 24 hours"):
        evaluate([Note(0.0, 1e9, 60)], [Note(0.0, 1e9, 60)])


def test_empty_inputs_score_zero():
    ref = [Note(0.0, 1.0, 60)]
    for a, b in (([], []), (ref, []), ([], ref)):
        m = evaluate(a, b)
        assert m["note_f"] == 0.0 and m["frame_f"] == 0.0


def test_result_is_json_and_formats():
    m = evaluate([Note(0.0, 1.0, 60)], [Note(0.0, 1.0, 60)])
    json.dumps(m)
    text = format_metrics(m)
    assert "note (onset, 50 ms)" in text and "frame (10 ms)" in text


def test_invalid_notes_raise():
    with pytest.raises(ValueError, match="ends before it starts"):
        evaluate([Note(1.0, 0.5, 60)], [])

"""evaluate(): mir_eval note- and frame-level metrics, cross-checked against hand-computed cases."""

import json

import pytest

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


def test_frame_grid_uses_hz_and_half_open_intervals():
    times = [0.0, 0.5, 1.0]
    import numpy as np

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

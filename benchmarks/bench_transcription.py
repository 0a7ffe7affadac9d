"""Transcription quality and speed: our NMF transcription against the seed's recipe (and Basic Pitch).

Usage::

    python benchmarks/make_eval_set.py                 # once: renders build/eval_set/
    python benchmarks/bench_transcription.py           # the test split (unseen piano), all methods
    python benchmarks/bench_transcription.py --split val --methods blind,informed --per-piece

For each method and clip it prints mir_eval's note F (onset, 50 ms), note F with offsets
(offset_ratio 0.2) and frame F (10 ms), then the means per piano and condition, the "dry" and
"recording-like" (detune, room, noise, all three) means, the CPU real-time factor of each method
(``time.process_time()`` per second of audio, one pass over the set), and the CPU time of one
blind transcription of 60 s of audio (best of three, every BLAS call on one thread).

``--true-offsets`` adds a diagnostic row per method, ``<method>+true_offsets``: the same notes,
but every note that matches a reference note (onset and pitch) gets that note's offset. It
shows how much of what the method misses is offsets, the part of a note that a piano's
decayed sound often no longer holds.

Methods
-------
``seed``
    The original course notebook's recipe, given the piece's pitch set: |STFT| (2048/512),
    harmonic combs with 8 % relative tolerance (:func:`amt_helpers.templates.pitch_templates`),
    scikit-learn's multiplicative-update NMF (Euclidean, 200 iterations, W and H learned from
    the combs), activations normalised by their maximum and thresholded at 0.1; every run of
    frames above the threshold is a note.
``seed_blind``
    The same over all 88 keys.
``informed``
    :func:`amt_helpers.transcribe.transcribe` with ``pitches`` = the piece's pitch set (all 88
    keys' templates in the NMF, the given pitches read out).
``informed_restrict``
    The same with ``restrict_templates=True``: classic score-informed NMF with the given
    pitches' templates only.
``blind``
    :func:`amt_helpers.transcribe.transcribe` over the 88 keys.
``basic_pitch``
    Spotify's Basic Pitch (ICASSP 2022), if importable (an optional peer, not a dependency).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from amt_helpers import audio  # noqa: E402
from amt_helpers.evaluate import evaluate  # noqa: E402
from amt_helpers.notes import Note, pitch_set  # noqa: E402
from amt_helpers.transcribe import transcribe  # noqa: E402

RECORDING_LIKE = ("detune", "room", "noise", "recording")
METRICS = ("note_f", "note_offset_f", "frame_f")
TRUE_OFFSETS = "+true_offsets"


def seed_transcribe(x, sr, pitches=None, *, threshold=0.1, n_iter=200):
    """The seed notebook's recipe (see the module docstring)."""
    from sklearn.decomposition import NMF

    from amt_helpers.templates import pitch_templates

    pitches = list(range(21, 109)) if pitches is None else list(pitches)
    V = np.abs(audio.stft(x, n_fft=2048, hop_length=512)).astype(np.float64)
    W0 = pitch_templates(pitches, sr, 2048, tol_relative=0.08)
    H0 = np.full((len(pitches), V.shape[1]), max(V.mean(), 1e-9))
    model = NMF(n_components=len(pitches), init="custom", solver="mu", beta_loss="frobenius",
                max_iter=n_iter, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Ht = model.fit_transform(V.T, W=np.ascontiguousarray(H0.T), H=np.ascontiguousarray(W0.T))
    H = Ht.T
    H = H / max(H.max(), 1e-12)
    return runs_to_notes(H >= threshold, pitches, sr / 512)


def runs_to_notes(active, pitches, frame_rate):
    """The seed's note rule: every run of active frames of a row is a note (no onset detection,
    no minimum length); frames ``[n0, n1)`` become ``[n0, n1) / frame_rate`` seconds."""
    edges = np.diff(np.pad(active, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)  # row-major: each row's runs in time order
    _, stops = np.nonzero(edges == -1)
    return [Note(float(s / frame_rate), float(e / frame_rate), int(pitches[r]), 80) for r, s, e in zip(rows, starts, stops)]


def basic_pitch_transcribe(path):
    from basic_pitch.inference import predict  # optional

    _, midi, _ = predict(str(path))
    return [Note(n.start, n.end, n.pitch, n.velocity) for inst in midi.instruments for n in inst.notes
            if n.end > n.start]


def run_method(method, x, sr, ref, path, options):
    pitches = pitch_set(ref)
    if method == "seed":
        return seed_transcribe(x, sr, pitches)
    if method == "seed_blind":
        return seed_transcribe(x, sr, None)
    if method == "informed":
        return transcribe(x, sr, pitches=pitches, **options)
    if method == "informed_restrict":
        return transcribe(x, sr, pitches=pitches, restrict_templates=True, **options)
    if method == "blind":
        return transcribe(x, sr, **options)
    if method == "basic_pitch":
        return basic_pitch_transcribe(path)
    raise ValueError(method)


def parse_options(items):
    options = {}
    for item in items or []:
        key, _, value = item.partition("=")
        for kind in (int, float, str):  # e.g. n_iter=30, threshold=0.06, preset=acoustic
            try:
                options[key] = kind(value)
                break
            except ValueError:
                continue
    return options


def main(argv=None) -> int:
    import make_eval_set

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument("--methods", default="seed,seed_blind,informed,informed_restrict,blind,basic_pitch")
    parser.add_argument("--pianos", default=None,
                        help="comma-separated pianos (default: all of the split; none: only --examples)")
    parser.add_argument("--conditions", default=",".join(make_eval_set.CONDITIONS))
    parser.add_argument("--examples", action="store_true", help="also the shipped examples (one row for the SoundFont ones, one per recorded piano)")
    parser.add_argument("--per-piece", action="store_true", help="print one line per clip")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a transcribe() option, e.g. --set threshold=0.06 or --set preset=acoustic")
    parser.add_argument("--true-offsets", action="store_true",
                        help="also score each method with the true offsets of its matched notes (a diagnostic)")
    args = parser.parse_args(argv)
    methods = available_methods(args.methods.split(","))
    items = select_items(args.split, args.conditions.split(","), args.pianos, args.examples)
    if not items and args.pianos == "none":
        parser.error("--pianos none selects no clip: add --examples")
    if not items:
        split = [c for c in make_eval_set.load_index() if c["split"] == args.split]
        parser.error(f"no clip of the {args.split} split matches --pianos {args.pianos} --conditions {args.conditions}; "
                     f"it has pianos {','.join(sorted({c['piano'] for c in split}))} and conditions "
                     f"{','.join(sorted({c['condition'] for c in split}))}")
    results, cpu, seconds = score_items(items, methods, parse_options(args.set), per_piece=args.per_piece,
                                        true_offsets=args.true_offsets)
    rows = [m for method in methods for m in (method, method + TRUE_OFFSETS) if any(k[0] == m for k in results)]
    print_means(results, rows, args.split)
    print(f"\nCPU real-time factor (process_time / audio duration) over {seconds:.0f} s of audio:")
    for method in methods:
        print(f"  {method:12s} {cpu[method] / seconds:.4f}  ({60 * cpu[method] / seconds:.2f} s CPU per 60 s)")
    speed_60s(items)
    return 0


def available_methods(methods: list[str]) -> list[str]:
    """The methods asked for, without Basic Pitch when it is not installed (it is optional)."""
    if "basic_pitch" in methods:
        try:
            import basic_pitch  # noqa: F401
        except ImportError:
            print("basic_pitch not installed: skipped (pip install basic-pitch in a separate venv)")
            return [m for m in methods if m != "basic_pitch"]
    return methods


def select_items(split: str, conditions: list[str], pianos: str | None, examples: bool) -> list[tuple]:
    """The clips to score: (piano, condition, piece, audio path, loader of (x, sr, ref))."""
    import make_eval_set

    index = [] if pianos == "none" else make_eval_set.load_index()  # none: the examples need no eval set
    clips = [c for c in index if c["split"] == split and c["condition"] in conditions
             and (pianos is None or c["piano"] in pianos.split(","))]
    items = [(c["piano"], c["condition"], c["piece"], make_eval_set.OUT / c["audio"],
              lambda c=c: make_eval_set.load_clip(c)) for c in clips]
    if examples:
        from amt_helpers.data import SOUNDFONT_PIANO, example_names, example_path, example_piano, load_example

        def label(name):  # the SoundFont examples, and one row per recorded piano
            return "examples" if example_piano(name) == SOUNDFONT_PIANO else f"examples_{example_piano(name)}"

        items += [(label(n), "dry", n, example_path(n), lambda n=n: load_example(n)) for n in example_names()]
    return items


def with_true_offsets(ref: list[Note], est: list[Note]) -> list[Note]:
    """``est`` with every note matched to a reference note (mir_eval, onset only) ending when
    that reference note ends."""
    import librosa
    import mir_eval

    from amt_helpers.notes import to_arrays

    if not ref or not est:
        return list(est)
    (ref_iv, ref_p), (est_iv, est_p) = to_arrays(ref), to_arrays(est)
    pairs = mir_eval.transcription.match_notes(ref_iv, librosa.midi_to_hz(ref_p.astype(float)), est_iv,
                                               librosa.midi_to_hz(est_p.astype(float)), offset_ratio=None)
    out = list(est)
    for i, j in pairs:  # a matched onset can lie after the reference offset (at most 50 ms)
        out[j] = est[j]._replace(offset=max(ref[i].offset, est[j].onset + 0.01))
    return out


def score_items(items, methods, options, *, per_piece: bool, true_offsets: bool = False):
    """Transcribe every clip with every method and score it.

    Returns the metric dicts by (method, piano, condition) (with ``true_offsets``, also by
    (method + "+true_offsets", ...)), the CPU seconds by method, and the seconds of audio.
    """
    results = defaultdict(list)
    cpu = defaultdict(float)
    seconds = 0.0
    if per_piece:
        print(f"{'method':12s} {'piano':14s} {'condition':10s} {'piece':21s} {'noteF':>6s} {'+offF':>6s} {'frameF':>6s}")
    for piano, condition, piece, path, load in items:
        x, sr, ref = load()
        seconds += x.size / sr
        for method in methods:
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = run_method(method, x, sr, ref, path, options)
            cpu[method] += time.process_time() - t0
            scored = [(method, evaluate(ref, est))]
            if true_offsets:
                scored.append((method + TRUE_OFFSETS, evaluate(ref, with_true_offsets(ref, est))))
            for name, m in scored:
                results[(name, piano, condition)].append(m)
                if per_piece:
                    print(f"{name:12s} {piano:14s} {condition:10s} {piece:21s} "
                          + " ".join(f"{m[k]:6.3f}" for k in METRICS), flush=True)
    return results, cpu, seconds


def print_means(results, methods, split: str) -> None:
    """One row per method and piano: the means per condition, dry and recording-like."""
    import make_eval_set

    def mean(ms):
        return "/".join(f"{v:.3f}" for v in ([float(np.mean([m[k] for m in ms])) for k in METRICS] if ms
                                             else [float("nan")] * 3))

    pianos = sorted({p for _, p, _ in results})
    conditions = [c for c in make_eval_set.CONDITIONS if any(c == k[2] for k in results)]
    width = max(12, *map(len, methods))
    print(f"\nmeans over pieces: note F / note F with offsets / frame F ({split} split)")
    print(f"{'method':{width}s} {'piano':14s} " + " ".join(f"{c:>20s}" for c in conditions)
          + f" {'dry':>20s} {'recording-like':>20s}")
    for method in methods:
        for piano in pianos:
            row = [mean(results[(method, piano, c)]) for c in conditions]
            row.append(mean(results[(method, piano, "dry")]))
            row.append(mean([m for c in RECORDING_LIKE for m in results[(method, piano, c)]]))
            print(f"{method:{width}s} {piano:14s} " + " ".join(f"{r:>20s}" for r in row))


def speed_60s(items) -> None:
    """CPU time of one blind transcription of 60 s of audio (clips of the set, concatenated)."""
    parts, total = [], 0.0
    for *_, load in items:
        x, sr, _ = load()
        if sr != 22050:
            continue
        parts.append(x)
        total += x.size / sr
        if total >= 60:
            break
    if not parts:
        print("\nno clip at 22 050 Hz: the 60-s speed test is skipped")
        return
    x = np.resize(np.concatenate(parts), 60 * 22050)  # repeated if the clips are shorter
    transcribe(x[: 22050], 22050)  # warm-up: imports and caches, as in a long-running session
    times = []
    with threadpool_limits(limits=1):  # every BLAS call on one thread: CPU time that does work
        for _ in range(3):
            t0 = time.process_time()
            notes = transcribe(x, 22050)
            times.append(time.process_time() - t0)
    cpu = min(times)
    print(f"\n60 s of audio, blind (88 keys), one BLAS thread, best of 3: {cpu:.2f} s CPU (process_time), "
          f"real-time factor {cpu / (x.size / 22050):.4f}, {len(notes)} notes")


if __name__ == "__main__":
    raise SystemExit(main())

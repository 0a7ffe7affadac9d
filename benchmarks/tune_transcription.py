"""Tune the note rule on the validation split, and test dictionaries leave-one-piano-out.

Usage::

    python benchmarks/tune_transcription.py search                 # blind; --informed for pitch sets
    python benchmarks/tune_transcription.py lopo                   # the leave-one-piano-out table
    python benchmarks/tune_transcription.py refine                 # the second pass's settings
    python benchmarks/tune_transcription.py pipeline --set threshold=0.05   # transcribe itself
    python benchmarks/tune_transcription.py search --weights acoustic       # how preset="acoustic" was found

``search`` is a coordinate search over the options of :func:`amt_helpers.transcribe.transcribe`
that act after the NMF (``SPACE``), starting from ``BLIND_DEFAULTS`` (or ``INFORMED_DEFAULTS``),
on the validation clips of the unfamiliar validation pianos (``WEIGHTS``: sf_GMbank ½, the two
FreePats pianos ¼ each, one half per sample library) in the ``dry``, ``room`` and ``recording``
conditions. The objective is the weighted mean of note F, note F with offsets and frame F; a
value is taken when it raises the objective by more than 0.001. The model of each clip is
computed once, as ``transcribe`` computes it with the default rule (first pass, then
``refine_templates`` from the first pass's notes); the search varies the rule that reads the
final model (a rule change would also move the first pass slightly: that is not searched), so a
search takes minutes. It prints every improvement and the
final settings; copying them into ``BLIND_DEFAULTS`` is left to a person.

``lopo`` rebuilds dictionaries from subsets of the non-test pianos
(``scripts/build_dictionary.py --pianos``, into ``build/dicts/``) and scores each on a piano
it was not learned from, with the current defaults (blind, mean over dry/room/recording).

``refine`` scores ``transcribe`` itself (both passes) on the same validation groups and with
the same objective as ``search``, for several ``refine_iter`` / ``refine_mix`` settings
(``REFINE``; ``refine_mix=1`` is a single pass). ``pipeline`` does the same for the defaults
and, with ``--set KEY=VALUE`` (repeatable), for options changed from them (``--informed``:
score-informed); about 40 s per setting on this machine.

The test split is never read here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from multiprocessing import Pool, get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import make_eval_set  # noqa: E402

from amt_helpers.dictionary import load_dictionary  # noqa: E402
from amt_helpers.evaluate import evaluate  # noqa: E402
from amt_helpers.notes import pitch_set  # noqa: E402
from amt_helpers.transcribe import (  # noqa: E402
    BLIND_DEFAULTS,
    INFORMED_DEFAULTS,
    note_rule,
    notes_from_activations,
    transcribe,
    transcription_model,
)

METRICS = ("note_f", "note_offset_f", "frame_f")
CONDITIONS = ("dry", "room", "recording")
WEIGHTS = {"gmbank": 0.5, "freepats_grand": 0.25, "freepats_bright": 0.25}
#: The objectives ``--weights`` chooses: the defaults were tuned with ``default``; the settings of
#: ``preset="acoustic"`` with ``acoustic``, one third per kind of piano (the recorded VSCO 2 piano
#: one third, sf_GMbank one third, the two FreePats pianos one sixth each).
WEIGHT_SETS = {"default": WEIGHTS,
               "acoustic": {"gmbank": 1 / 3, "freepats_grand": 1 / 6, "freepats_bright": 1 / 6, "vsco2": 1 / 3}}
SPACE = {
    "restrike_ratio": [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5],
    "threshold": [0.03, 0.035, 0.04, 0.045, 0.05, 0.06],
    "leak_ratio": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35],
    "ghost_ratio": [0.3, 0.4, 0.5, 0.6, 0.7],
    "ghost_intervals": [(12, 19, 24, 1, -1), (12, 19, 24, 1, -1, -2), (12, 19, 24, 1, -1, -2, 2),
                        (12, 19, 24, 1, -1, -2, -3)],
    "attack_weight": [0.5, 1.0, 1.25, 1.5, 2.0, 3.0],
    "quiet_threshold": [0.01, 0.015, 0.02, 0.025, 0.03],
    "quiet_ratio": [0.05, 0.1, 0.15, 0.2],
    "quiet_frames": [2, 3, 4, 6],
    "leak_share": [0.4, 0.45, 0.5, 0.55, 0.6],
    "min_duration": [0.03, 0.05, 0.07, 0.09],
    "drop_db": [6.0, 8.0, 10.0],
    "drop_floor_db": [10.0, 12.0, 15.0, 20.0, 25.0],
    "drop_floor_slope_db": [0.0, 4.0, 6.0, 8.0, 10.0],
    "drop_accel_db": [2.0, 4.0, 6.0],
    "offset_shift": [0.03, 0.05, 0.07],
    "bridge_frames": [3, 5, 7],
}
#: The grids of the search that chose ``preset="acoustic"``: ``SPACE`` widened where that search
#: ended on an edge.
ACOUSTIC_SPACE = dict(SPACE, leak_ratio=SPACE["leak_ratio"] + [0.4, 0.5, 0.6], ghost_ratio=SPACE["ghost_ratio"] + [0.8, 0.9])
#: (training pianos of the dictionary, held-out piano of the eval set) pairs of the lopo table.
LOPO = [
    ("FluidR3_GM,TimGM6mb", "gmbank"),
    ("FluidR3_GM,TimGM6mb,FreePats_Grand,FreePats_Bright", "gmbank"),
    ("FluidR3_GM,TimGM6mb", "freepats_grand"),
    ("FluidR3_GM,TimGM6mb,sf_GMbank", "freepats_grand"),
    ("FluidR3_GM,TimGM6mb", "freepats_bright"),
    ("FluidR3_GM,TimGM6mb,sf_GMbank", "freepats_bright"),
    ("TimGM6mb,sf_GMbank", "fluidr3"),
    ("TimGM6mb,sf_GMbank,FreePats_Grand,FreePats_Bright", "fluidr3"),
    ("FluidR3_GM,sf_GMbank", "timgm6mb"),
    ("FluidR3_GM,sf_GMbank,FreePats_Grand,FreePats_Bright", "timgm6mb"),
]

#: (refine_iter, refine_mix) settings scored by ``refine``; mix 1 keeps the learned templates.
REFINE = [(20, 1.0), (20, 0.0), (20, 0.6), (20, 0.7), (20, 0.8), (20, 0.9), (10, 0.8), (40, 0.8)]

_GROUPS: dict[tuple[str, str], list] = {}  # (piano, condition) -> [(activations, reference notes)]


def _model(clip, dictionary=None, informed=False):
    """The model the note rule reads, as ``transcribe`` computes it with the default options."""
    x, sr, ref = make_eval_set.load_clip(clip)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        act = transcription_model(x, sr, INFORMED_DEFAULTS if informed else BLIND_DEFAULTS,
                                  pitches=pitch_set(ref) if informed else None, dictionary=dictionary)
    return act, ref


def _load_groups(informed: bool, weights: dict = WEIGHTS) -> None:
    clips = make_eval_set.load_index()
    for piano in weights:
        for condition in CONDITIONS:
            _GROUPS[(piano, condition)] = [
                _model(c, informed=informed) for c in clips
                if c["split"] == "val" and c["piano"] == piano and c["condition"] == condition]


def _score_group(args) -> list[float]:
    group, rule = args
    metrics = [evaluate(ref, notes_from_activations(act, **rule)) for act, ref in _GROUPS[group]]
    return [float(np.mean([m[k] for m in metrics])) for k in METRICS]


def _fmt(values) -> str:
    return "/".join(f"{v:.3f}" for v in values)


def search(informed: bool, rounds: int = 2, weights: dict = WEIGHTS, space: dict = SPACE) -> dict:
    defaults = dict(INFORMED_DEFAULTS if informed else BLIND_DEFAULTS)
    rule = note_rule(defaults)
    groups = [(p, c) for p in weights for c in CONDITIONS]
    weight = np.array([weights[p] for p, _ in groups]) / len(CONDITIONS)
    _load_groups(informed, weights)  # once, before the pool: forked workers inherit the models
    with get_context("fork").Pool(2) as pool:
        def score(r):
            res = np.array(pool.map(_score_group, [(g, r) for g in groups]))
            return float(res.mean(axis=1) @ weight), res

        best, res = score(rule)
        print(f"start: objective {best:.4f}, unweighted means {_fmt(res.mean(axis=0))}", flush=True)
        for n in range(rounds):
            changed = False
            for key, values in space.items():
                for value in values:
                    if value == rule[key]:
                        continue
                    trial = dict(rule, **{key: value})
                    objective, trial_res = score(trial)
                    if objective > best + 0.001:
                        best, res, rule, changed = objective, trial_res, trial, True
                        print(f"  {key}={value}: {objective:.4f} {_fmt(res.mean(axis=0))}", flush=True)
            print(f"round {n + 1}: objective {best:.4f}", flush=True)
            if not changed:
                break
    print("settings:", {k: rule[k] for k in space if rule[k] != defaults[k]} or "the defaults")
    for (piano, condition), values in zip(groups, res):
        print(f"  {piano:16s} {condition:10s} {_fmt(values)}")
    return rule


def _lopo_row(args):
    pianos, held_out = args
    out = ROOT / "build" / "dicts" / f"{pianos.replace(',', '+')}.npz"
    if not out.is_file():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build_dictionary.py"), "--pianos", pianos,
                        "--out", str(out)], check=True, capture_output=True)
    dictionary = load_dictionary(out)
    rule = note_rule(BLIND_DEFAULTS)
    clips = [c for c in make_eval_set.load_index()
             if c["split"] == "val" and c["piano"] == held_out and c["condition"] in CONDITIONS]
    metrics = []
    for c in clips:
        act, ref = _model(c, dictionary)
        metrics.append(evaluate(ref, notes_from_activations(act, **rule)))
    return pianos, held_out, [float(np.mean([m[k] for m in metrics])) for k in METRICS]


def lopo() -> None:
    print(f"{'held-out piano':16s} {'dictionary from':52s} note F / +offsets / frame F")
    with Pool(2) as pool:
        for pianos, held_out, values in pool.imap(_lopo_row, LOPO):
            print(f"{held_out:16s} {pianos:52s} {_fmt(values)}", flush=True)


def _score_pipeline(args) -> tuple[str, str, list[float]]:
    clip, options, informed = args
    x, sr, ref = make_eval_set.load_clip(clip)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = evaluate(ref, transcribe(x, sr, pitches=pitch_set(ref) if informed else None, **options))
    return clip["piano"], clip["condition"], [m[k] for k in METRICS]


def pipeline(settings: list[tuple[str, dict]], informed: bool = False, weights: dict = WEIGHTS) -> None:
    """Score ``transcribe`` itself (both passes) with each set of option overrides."""
    clips = [c for c in make_eval_set.load_index()
             if c["split"] == "val" and c["piano"] in weights and c["condition"] in CONDITIONS]
    groups = [(p, c) for p in weights for c in CONDITIONS]
    weight = np.array([weights[p] for p, _ in groups]) / len(CONDITIONS)
    width = max(len(label) for label, _ in settings)
    print(f"{'setting':{width}s} objective  " + "  ".join(f"{p:>18s}" for p in weights))
    with Pool(2) as pool:
        for label, options in settings:
            rows = pool.map(_score_pipeline, [(c, options, informed) for c in clips])
            res = np.array([np.mean([v for p, c, v in rows if (p, c) == g], axis=0) for g in groups])
            per_piano = [res[[i for i, (p, _) in enumerate(groups) if p == q]].mean(axis=0) for q in weights]
            print(f"{label:{width}s} {float(res.mean(axis=1) @ weight):9.4f}  "
                  + "  ".join(_fmt(v) for v in per_piano), flush=True)


def refine() -> None:
    pipeline([(f"refine_iter={n} refine_mix={mix}", dict(refine_iter=n, refine_mix=mix)) for n, mix in REFINE])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["search", "lopo", "refine", "pipeline"])
    parser.add_argument("--informed", action="store_true",
                        help="search, pipeline: score-informed (the pitch set given)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="pipeline: also score transcribe() with these options, e.g. --set threshold=0.05")
    parser.add_argument("--weights", choices=list(WEIGHT_SETS), default="default",
                        help="search, pipeline: the objective's pianos and weights (WEIGHT_SETS); 'acoustic' "
                             "adds the recorded VSCO 2 piano and, for search, the wider grids of ACOUSTIC_SPACE")
    args = parser.parse_args(argv)
    weights = WEIGHT_SETS[args.weights]
    if args.what == "search":
        search(args.informed, weights=weights, space=ACOUSTIC_SPACE if args.weights == "acoustic" else SPACE)
    elif args.what == "refine":
        refine()
    elif args.what == "pipeline":
        from bench_transcription import parse_options

        settings = [("defaults", {})]
        if args.set:
            settings.append((" ".join(args.set), parse_options(args.set)))
        pipeline(settings, args.informed, weights)
    else:
        lopo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

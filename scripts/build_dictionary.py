"""Rebuild data/piano_dictionary.npz (+ .json provenance) from isolated piano notes.

For every training piano (General MIDI program 0 of a SoundFont rendered by FluidSynth, or of
a TiMidity++ patch set, reverb and chorus off) every key A0-C8 is played alone at several
velocities; each note is held for ``HOLD`` seconds and followed by silence. The renders are
analysed with the dictionary's log-frequency spectrogram (filter centres moved by the tuning
that :func:`amt_helpers.dictionary.estimate_tuning` measures on the render, exactly as
:func:`amt_helpers.transcribe.transcribe` does on a recording), and for each key one attack and
``N_SUSTAIN`` sustain templates are learned by KL-NMF from all its notes
(:func:`amt_helpers.dictionary.learn_pitch_templates`).

Usage (needs ``fluidsynth`` and the SoundFont packages named in ``PIANOS``; ``timidity`` and
``freepats`` for the FreePats pianos)::

    python scripts/build_dictionary.py            # the shipped dictionary (DEFAULT_PIANOS)
    python scripts/build_dictionary.py --pianos FluidR3_GM --out build/dicts/fluidr3.npz

Renders are cached in build/dictionary/. The shipped dictionary uses ``DEFAULT_PIANOS`` only:
the validation pianos (sf_GMbank, FreePats) and the test piano (MuseScore General) of
benchmarks/make_eval_set.py are not in it; ``--pianos`` with other pianos is for
leave-one-piano-out experiments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amt_helpers import audio, data  # noqa: E402
from amt_helpers._atomic import atomic_path  # noqa: E402
from amt_helpers.dictionary import (  # noqa: E402
    PIANO_PITCHES,
    Dictionary,
    Representation,
    estimate_tuning,
    learn_pitch_templates,
    log_filterbank,
    save_dictionary,
    spectrogram,
)
from amt_helpers.notes import Note  # noqa: E402

#: Pianos a dictionary can be learned from: (Debian package, SoundFont or TiMidity++
#: configuration, General MIDI program). The test piano of benchmarks/make_eval_set.py
#: (MuseScore General) is deliberately not here.
PIANOS = {
    "FluidR3_GM": ("fluid-soundfont-gm", "/usr/share/sounds/sf2/FluidR3_GM.sf2", 0),
    "TimGM6mb": ("timgm6mb-soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2", 0),
    "sf_GMbank": ("csound-soundfont", "/usr/share/sounds/sf2/sf_GMbank.sf2", 0),
    "FreePats_Grand": ("freepats", "/etc/timidity/freepats.cfg", 0),
    "FreePats_Bright": ("freepats", "/etc/timidity/freepats.cfg", 1),
}
RENDERER_NAMES = {"fluidsynth": "FluidSynth", "timidity": "TiMidity++"}
#: The pianos of the shipped dictionary.
DEFAULT_PIANOS = ("FluidR3_GM", "TimGM6mb")
VELOCITIES = (30, 55, 80, 105, 127)
HOLD = 2.5  # seconds each note is held
SPACING = 3.5  # seconds between onsets
START = 0.5
N_SUSTAIN = 2
ATTACK_FRAMES = 3
REP = Representation()
CACHE = ROOT / "build" / "dictionary"
OUT = ROOT / "data" / "piano_dictionary.npz"


def isolated_notes() -> list[Note]:
    notes, t = [], START
    for p in PIANO_PITCHES:
        for v in VELOCITIES:
            notes.append(Note(t, t + HOLD, p, v))
            t += SPACING
    return notes


def render(name: str) -> np.ndarray:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.flac"
    if not path.is_file():
        _, sf, program = PIANOS[name]
        x = data.render_notes(isolated_notes(), sf, sr=REP.sr, program=program, gain=0.3)
        audio.write(path, 0.9 * x / np.abs(x).max(), REP.sr)
    x, _ = audio.load(path, sr=REP.sr)
    return x


def main(argv=None) -> int:
    global REP, N_SUSTAIN, ATTACK_FRAMES
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output .npz (default data/piano_dictionary.npz)")
    parser.add_argument("--n-fft", type=int, default=REP.n_fft, help="STFT window (default %(default)s)")
    parser.add_argument("--bins-per-semitone", type=int, default=REP.bins_per_semitone)
    parser.add_argument("--fmax", type=float, default=REP.fmax)
    parser.add_argument("--n-sustain", type=int, default=N_SUSTAIN, help="sustain templates per key")
    parser.add_argument("--attack-frames", type=int, default=ATTACK_FRAMES)
    parser.add_argument("--per-piano", action="store_true",
                        help="learn the sustain templates of each training piano separately")
    parser.add_argument("--pianos", default=",".join(DEFAULT_PIANOS),
                        help="comma-separated training pianos (default: %(default)s; known: "
                             f"{', '.join(PIANOS)})")
    args = parser.parse_args(argv)
    unknown = set(args.pianos.split(",")) - set(PIANOS)
    if unknown:
        parser.error(f"unknown piano(s) {sorted(unknown)}; choose from {list(PIANOS)}")
    pianos = {name: PIANOS[name] for name in args.pianos.split(",")}
    REP = Representation(n_fft=args.n_fft, bins_per_semitone=args.bins_per_semitone, fmax=args.fmax)
    N_SUSTAIN, ATTACK_FRAMES = args.n_sustain, args.attack_frames
    notes = isolated_notes()
    per_pitch: dict[int, list] = {p: [] for p in PIANO_PITCHES}
    piano_of: dict[int, list] = {p: [] for p in PIANO_PITCHES}
    tunings = {}
    for name in pianos:
        x = render(name)
        tuning = estimate_tuning(x, REP.sr)
        tunings[name] = round(tuning, 4)
        V = spectrogram(x, REP, filterbank=log_filterbank(REP, tuning=tuning))
        V /= V.max()
        for n in notes:
            on = int(round(n.onset * REP.frame_rate))
            a = max(on - 2, 0)
            b = min(int(round((n.onset + SPACING - 0.1) * REP.frame_rate)), V.shape[1])
            per_pitch[n.pitch].append((V[:, a:b], on - a))
            piano_of[n.pitch].append(name)
        print(f"{name}: tuning {tuning:+.3f} semitones, {V.shape[1]} frames", flush=True)

    cols, pitch, kind = [], [], []
    for p in PIANO_PITCHES:
        segs = [s for s, _ in per_pitch[p]]
        ons = [o for _, o in per_pitch[p]]
        W = learn_pitch_templates(segs, ons, n_sustain=N_SUSTAIN, attack_frames=ATTACK_FRAMES)
        if args.per_piano:  # one attack (all pianos) + N_SUSTAIN sustain templates per piano
            parts = [W[:, :1]]
            for name in pianos:
                sel = [i for i, q in enumerate(piano_of[p]) if q == name]
                Wp = learn_pitch_templates([segs[i] for i in sel], [ons[i] for i in sel],
                                           n_sustain=N_SUSTAIN, attack_frames=ATTACK_FRAMES)
                parts.append(Wp[:, 1:])
            W = np.concatenate(parts, axis=1)
        cols.append(W)
        pitch += [p] * W.shape[1]
        kind += list(range(W.shape[1]))
    W = np.concatenate(cols, axis=1)
    renderers = sorted({"timidity" if sf.endswith(".cfg") else "fluidsynth" for _, sf, _ in pianos.values()})
    version = "; ".join(data.renderer_version(exe) for exe in renderers)
    provenance = {
        "about": "Per-key attack + sustain templates learned by KL-NMF from isolated notes; "
                 "rebuild with scripts/build_dictionary.py",
        "renderer": version,
        "pianos": [{"soundfont": Path(sf).name, "package": pkg, "program": prog, "sha256": data.sha256(sf),
                    "estimated_tuning_semitones": tunings[name]}
                   for name, (pkg, sf, prog) in pianos.items()],
        "render_settings": f"{' and '.join(RENDERER_NAMES[r] for r in renderers)}, reverb off, chorus off, gain 0.3, 44.1 kHz resampled to "
                           f"{REP.sr} Hz, peak-normalised",
        "velocities": list(VELOCITIES),
        "hold_seconds": HOLD,
        "pitches": [PIANO_PITCHES[0], PIANO_PITCHES[-1]],
        "n_sustain": N_SUSTAIN,
        "per_piano": bool(args.per_piano),
        "attack_frames": ATTACK_FRAMES,
        "representation": REP.to_dict(),
        "learning": "amt_helpers.dictionary.learn_pitch_templates (KL-NMF, 100 iterations, "
                    "constrained activations)",
    }
    d = Dictionary(W, np.asarray(pitch), np.asarray(kind), REP, provenance)
    save_dictionary(args.out, d)
    with atomic_path(args.out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {args.out.name}: W {W.shape}, {args.out.stat().st_size / 1024:.0f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

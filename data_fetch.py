#!/usr/bin/env python3
"""Check, re-render or extend the example data in ``data/``.

    python data_fetch.py            verify data/ against data/manifest.json, and that the piano
                                    dictionary loads
    python data_fetch.py --render   re-render the examples from their notes (amt_helpers/data.py),
                                    rewriting their FLAC, MIDI and CSV files and the manifest
                                    (needs FluidSynth and a SoundFont: apt-get install fluidsynth
                                    fluid-soundfont-gm; and npm the first time, to fetch the
                                    recorded piano's samples into build/)
    python data_fetch.py --real     download real piano recordings (needs internet) through
                                    librosa's checksummed example registry into data/real/

Exit status: 0 when all is well, 1 on a problem (each named on its own line).

Nothing half-written ever lands in data/: a render writes all its files and the manifest to
temporary names and renames them only when every one is complete, so a failed render leaves
data/ as it was. A render on another FluidSynth or SoundFont build may not give the same
bytes: the files that changed are listed.
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
    from amt_helpers import data, dictionary

    problems = data.verify()
    try:  # the dictionary is not rendered, so it has no entry in the manifest: check that it loads
        dictionary.load_dictionary(data.DATA_DIR / dictionary.DEFAULT_PATH.name)
    except (FileNotFoundError, dictionary.DictionaryError) as err:
        problems.append(f"{dictionary.DEFAULT_PATH.name}: {err}")
    for line in problems:
        print(f"PROBLEM {line}")
    if problems:
        print(f"{len(problems)} problem(s) in {data.DATA_DIR}; `git checkout -- data/` restores the shipped files.")
        return 1
    print(f"data OK: {len(data.read_manifest()['files'])} files in {data.DATA_DIR.name}/ match the manifest, and the piano dictionary loads")
    return 0


def render() -> int:
    from amt_helpers import data

    try:
        before = data.read_manifest().get("files", {})
    except (FileNotFoundError, ValueError, AttributeError):
        before = {}
    try:
        written = data.render_examples()
    except (data.RendererMissing, RuntimeError) as err:
        print(f"cannot render: {err}; data/ is unchanged", file=sys.stderr)
        return 1
    after = data.read_manifest()["files"]
    changed = sorted(name for name in after if before.get(name) != after[name])
    print(f"rendered {len(written)} files; manifest rewritten")
    for name in changed:
        print(f"CHANGED {name}: differs from the previous render (another FluidSynth, SoundFont or sample build?)")
    if not changed:
        print("every file is byte for byte the previous render")
    return verify()


def fetch_real() -> int:
    # librosa reads LIBROSA_DATA_DIR once, at import: set it before anything imports librosa.
    created = not REAL_DIR.exists()
    REAL_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["LIBROSA_DATA_DIR"] = str(REAL_DIR)
    import librosa

    status = 0
    for key, credit in REAL_EXAMPLES.items():
        try:
            path = librosa.example(key)  # pooch downloads to a temp file, checks SHA-256, renames
        except Exception as err:  # requests/pooch raise many types
            hint = "; are you offline?" if isinstance(err, OSError) else ""
            print(f"could not download {key!r} ({type(err).__name__}: {err}){hint}", file=sys.stderr)
            status = 1
            continue
        print(f"{key}: {Path(path).relative_to(HERE)}  [{credit}]")
    if created and not any(REAL_DIR.iterdir()):
        REAL_DIR.rmdir()  # leave no empty folder behind
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

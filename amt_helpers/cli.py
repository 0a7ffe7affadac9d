"""Command line: ``python -m amt_helpers`` (installed as ``amt``).

::

    amt transcribe AUDIO -o OUT.mid [--pitches 59,60,62] [--csv OUT.csv] [--preset acoustic]
    amt evaluate REF EST [--json]

Exit status: 0 on success, 2 for bad input (the one-line message on standard error names the
problem: a missing or unreadable file, an unknown extension, empty or NaN audio, a missing
output folder, malformed ``--pitches``). Silent audio is not an error: it gives a valid MIDI
file without notes, a warning, and status 0. Output files are written atomically: a reader sees
the previous file or the complete new one, never half a file; with ``--csv``, both files are
replaced or neither. A file that cannot be written (a full disk, no permission) is reported in
one line, status 2. Status 1, with one line, means
the installation is broken: the piano dictionary is missing or unreadable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

__all__ = ["main", "build_parser"]

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def parse_pitches(text: str) -> list[int]:
    """Parse ``--pitches``: comma-separated MIDI numbers (21-108) or ranges such as ``60-72``.

    Examples
    --------
    >>> parse_pitches("59,60,62")
    [59, 60, 62]
    >>> parse_pitches("60-64,72")
    [60, 61, 62, 63, 64, 72]
    """
    pitches: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo, hi = (int(v) for v in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                pitches.update(range(lo, hi + 1))
            else:
                pitches.add(int(part))
        except ValueError:
            raise UsageError(f"--pitches: {part!r} is not a MIDI number or range (expected e.g. 59,60,62 or 60-72)") from None
    bad = sorted(p for p in pitches if not 21 <= p <= 108)
    if bad:
        raise UsageError(f"--pitches: {bad[0]} is not a piano key (MIDI 21-108)")
    return sorted(pitches)


def _output_path(path: str, extensions: tuple[str, ...], option: str) -> Path:
    out = Path(path)
    if out.suffix.lower() not in extensions:
        raise UsageError(f"{option} {path}: unknown extension {out.suffix or '(none)'!r}; use {' or '.join(extensions)}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: output folder {folder} does not exist")
    try:
        is_folder = out.is_dir()
    except OSError as err:  # e.g. a name longer than the file system allows
        raise UsageError(f"{option} {path}: {err.strerror or err}") from None
    if is_folder:
        raise UsageError(f"{option} {path} is a folder")
    return out


def cmd_transcribe(args) -> int:
    from amt_helpers import audio
    from amt_helpers.notes import write_note_files

    src = Path(args.audio)
    if src.suffix.lower() not in audio.AUDIO_EXTENSIONS:
        raise UsageError(f"{src}: unknown audio extension {src.suffix or '(none)'!r}; "
                         f"use one of {', '.join(audio.AUDIO_EXTENSIONS)}")
    midi_out = _output_path(args.output, (".mid", ".midi"), "-o")
    csv_out = _output_path(args.csv, (".csv",), "--csv") if args.csv else None
    pitches = parse_pitches(args.pitches) if args.pitches is not None else None
    for name in ("threshold", "offset_ratio", "min_duration"):
        value = getattr(args, name)
        if value is not None and not (value >= 0 and value < float("inf")):
            raise UsageError(f"--{name.replace('_', '-')} must be a number >= 0, got {value}")
    if args.threshold is not None and not args.threshold > 0:
        raise UsageError("--threshold must be > 0")

    try:
        x, sr = audio.load(src, sr=None)
    except (FileNotFoundError, audio.AudioError) as err:
        raise UsageError(str(err)) from None
    from amt_helpers.dictionary import DictionaryError
    from amt_helpers.transcribe import transcribe

    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            notes = transcribe(x, sr, pitches=pitches, preset=args.preset, threshold=args.threshold,
                               offset_ratio=args.offset_ratio, min_duration=args.min_duration)
        except (FileNotFoundError, DictionaryError) as err:  # the installation, not the input
            print(f"amt transcribe: error: {err}", file=sys.stderr)
            return 1
    cpu = time.process_time() - t0
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"amt transcribe: warning: {src}: {w.message}", file=sys.stderr)
    outputs = [midi_out] + ([csv_out] if csv_out is not None else [])
    try:  # both files, or neither: an existing MIDI file is not replaced if the CSV cannot be written
        write_note_files(notes, *outputs)
    except OSError as err:
        raise UsageError(f"cannot write {' and '.join(map(str, outputs))}: {err.strerror or err}; "
                         "nothing was written") from None
    if not args.quiet:
        dur = x.size / sr
        print(f"{len(notes)} notes from {dur:.1f} s of audio -> {midi_out}"
              + (f", {csv_out}" if csv_out else "")
              + f" ({cpu:.2f} s CPU, real-time factor {cpu / max(dur, 1e-9):.3f})")
    return 0


def cmd_evaluate(args) -> int:
    from amt_helpers.evaluate import evaluate, format_metrics
    from amt_helpers.notes import NOTE_EXTENSIONS, read_notes

    loaded = []
    for label, path in (("REF", args.ref), ("EST", args.est)):
        p = Path(path)
        if p.suffix.lower() not in NOTE_EXTENSIONS:
            raise UsageError(f"{label} {path}: unknown extension {p.suffix or '(none)'!r}; use .mid, .midi or .csv")
        try:
            loaded.append(read_notes(p))
        except (FileNotFoundError, ValueError, OSError) as err:
            raise UsageError(f"{label}: {err}") from None
    metrics = evaluate(*loaded)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(format_metrics(metrics))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from amt_helpers.transcribe import BLIND_DEFAULTS as B, INFORMED_DEFAULTS as I, PRESETS

    parser = _Parser(prog="amt", description="Piano transcription with NMF, and its evaluation (mir_eval).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    t = sub.add_parser("transcribe", help="transcribe a piano recording to MIDI (and CSV)",
                       description="Transcribe a piano recording into notes with supervised KL-NMF "
                                   "(learned attack/sustain templates of the 88 keys) and write them as MIDI.")
    t.add_argument("audio", metavar="AUDIO", help="audio file (.wav, .flac, .ogg, .mp3, .aif, .aiff); mono or stereo, any sample rate")
    t.add_argument("-o", "--output", required=True, metavar="OUT.mid", help="MIDI file to write (.mid or .midi); its folder must exist")
    t.add_argument("--csv", metavar="OUT.csv", help="also write the notes as CSV (onset,offset,pitch,velocity; seconds and MIDI numbers)")
    t.add_argument("--pitches", metavar="LIST",
                   help="score-informed: the only MIDI pitches that may occur, comma-separated numbers or "
                        "ranges, e.g. 59,60,62 or 48-72 (default: all 88 piano keys, 21-108)")
    t.add_argument("--preset", choices=PRESETS, default="default",
                   help="defaults for the kind of piano: 'default' suits sampled and synthesised pianos "
                        "(SoundFonts); 'acoustic' suits recordings of an acoustic piano (stricter tests against "
                        "leakage from the attacks' mechanical noise, a damper test for slower dampers). "
                        "The defaults quoted below are those of 'default'")
    t.add_argument("--threshold", type=float, default=None, metavar="T",
                   help="minimum activation of a note, as a fraction of the loudest activation "
                        f"(default {B['threshold']:g}; {I['threshold']:g} with --pitches)")
    t.add_argument("--offset-ratio", type=float, default=None, metavar="R",
                   help="a note ends when its activation decays below this fraction of its peak, "
                        f"unless a damper-like drop ends it first (default {B['offset_ratio']:g})")
    t.add_argument("--min-duration", type=float, default=None, metavar="S",
                   help=f"shortest note kept, in seconds (default {B['min_duration']:g})")
    t.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    t.set_defaults(func=cmd_transcribe)

    e = sub.add_parser("evaluate", help="compare a transcription with the ground truth",
                       description="Note-level (onset 50 ms; with offsets, offset_ratio 0.2) and frame-level "
                                   "(10 ms) precision, recall and F-measure, computed by mir_eval.")
    e.add_argument("ref", metavar="REF", help="ground truth (.mid, .midi or .csv)")
    e.add_argument("est", metavar="EST", help="transcription (.mid, .midi or .csv)")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2, already reported)
        return int(stop.code or 0)
    try:
        return args.func(args)
    except UsageError as err:
        print(f"amt {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())

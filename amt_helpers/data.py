"""The built-in example pieces: real piano sound with exact ground truth, offline.

Each example is defined here symbolically, as a list of :class:`~amt_helpers.notes.Note`. From
that definition we write a MIDI file, render it to mono FLAC at 22 050 Hz, and commit audio,
MIDI and a CSV of the notes under ``data/`` together with ``data/manifest.json`` (SHA-256 of
every file, and where each piano comes from). Two pianos play them (:data:`EXAMPLE_PIANOS`):
a sampled-piano SoundFont (FluidSynth with FluidR3_GM, MIT licence, program 0 "Acoustic Grand
Piano"; reverb and chorus off), and a recorded piano, the VSCO 2 Community Edition piano
(samples CC BY 3.0, fetched from npm and played by :mod:`amt_helpers.sampler`). FluidR3 is
one of the pianos the transcription templates were learned from; the recorded piano brings a
timbre, attack noise and tuning they have never heard. Users need neither renderer; only
``python data_fetch.py --render`` does (FluidSynth and npm).

The examples:

``scale``
    C major scale C4–C5, up and down (the original course's "piano scale").
``bach_prelude``
    J. S. Bach, Prelude in C major, BWV 846, bars 1–4, with the real rhythm: in each half bar
    the first note is held for 8 sixteenths, the second for 7, then notes 3-4-5-3-4-5 are
    sixteenths. Pitch set {59, 60, 62, 64, 67, 69, 72, 74, 76, 77}.
``cadence``
    A two-hand I–IV–V7–I cadence in C: octave bass in the left hand, chords and a melody on top
    in the right hand.
``bach_prelude_recorded``
    The notes of ``bach_prelude``, played by the recorded piano.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pretty_midi

from amt_helpers import audio, sampler
from amt_helpers._atomic import atomic_paths, sha256
from amt_helpers.notes import Note, _write_csv_to, _write_midi_to, notes_to_midi, read_csv, validate_notes

SAMPLE_RATE = audio.DEFAULT_SR
MANIFEST_NAME = "manifest.json"

#: Where the examples live: ``$AMT_DATA_DIR`` if set, else ``data/`` at the top of the repository.
DATA_DIR = Path(os.environ.get("AMT_DATA_DIR") or Path(__file__).resolve().parent.parent / "data")

#: SoundFonts tried in order by :func:`find_soundfont`.
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)


def _scale() -> list[Note]:
    up = [60, 62, 64, 65, 67, 69, 71, 72]
    pitches = up + up[-2::-1]
    step, start = 0.5, 0.25
    return [Note(start + i * step, start + i * step + 0.45, p, 80) for i, p in enumerate(pitches)]


def _bach_prelude() -> list[Note]:
    bars = [  # the five notes of each bar's broken chord, bottom to top
        (60, 64, 67, 72, 76),  # C major
        (60, 62, 69, 74, 77),  # D minor 7 over C
        (59, 62, 67, 74, 77),  # G7 over B
        (60, 64, 67, 72, 76),  # C major
    ]
    sixteenth, start = 0.2, 0.25
    notes = []
    for bar_index, chord in enumerate(bars):
        for half in range(2):
            t0 = start + (bar_index * 16 + half * 8) * sixteenth
            notes.append(Note(t0, t0 + 8 * sixteenth, chord[0], 72))
            notes.append(Note(t0 + sixteenth, t0 + 8 * sixteenth, chord[1], 68))
            for j, index in enumerate((2, 3, 4, 2, 3, 4)):
                onset = t0 + (2 + j) * sixteenth
                notes.append(Note(onset, onset + sixteenth, chord[index], 76 if j % 3 == 0 else 66))
    return notes


def _cadence() -> list[Note]:
    beat, start = 0.6, 0.25
    # (bass octave, chord, melody as (beat offset, pitch, length in beats)); 3 beats per chord
    harmony = [
        ((36, 48), (64, 67), [(0, 72, 2), (2, 76, 1)]),
        ((41, 53), (65, 69), [(0, 77, 1), (1, 76, 1), (2, 74, 1)]),
        ((43, 55), (65, 71), [(0, 74, 2), (2, 79, 1)]),
        ((36, 48), (64, 67), [(0, 72, 3)]),
    ]
    notes = []
    for i, (bass, chord, melody) in enumerate(harmony):
        t0 = start + 3 * i * beat
        end = t0 + 3 * beat - 0.05
        notes += [Note(t0, end, p, 70) for p in bass]
        notes += [Note(t0, end, p, 60) for p in chord]
        notes += [Note(t0 + b * beat, t0 + (b + n) * beat - 0.05, p, 88) for b, p, n in melody]
    return sorted(notes, key=lambda n: (n.onset, n.pitch))


#: The examples by name, each a function returning its notes.
EXAMPLES = {"scale": _scale, "bach_prelude": _bach_prelude, "cadence": _cadence,
            "bach_prelude_recorded": _bach_prelude}
#: The piano that plays each example: the SoundFont (:data:`SOUNDFONT_PIANO`), or a recorded
#: piano of :data:`amt_helpers.sampler.SAMPLE_SETS`.
SOUNDFONT_PIANO = "FluidR3_GM"
EXAMPLE_PIANOS = {"scale": SOUNDFONT_PIANO, "bach_prelude": SOUNDFONT_PIANO, "cadence": SOUNDFONT_PIANO,
                  "bach_prelude_recorded": "vsco2"}


def example_names() -> list[str]:
    """The names of the built-in examples."""
    return list(EXAMPLES)


def example_notes(name: str) -> list[Note]:
    """The ground-truth notes of example ``name`` from its symbolic definition."""
    return EXAMPLES[_check_name(name)]()


def example_piano(name: str) -> str:
    """The piano that plays example ``name`` (:data:`EXAMPLE_PIANOS`)."""
    return EXAMPLE_PIANOS[_check_name(name)]


#: The files of each example, by extension.
EXAMPLE_KINDS = ("flac", "mid", "csv")


def example_path(name: str, kind: str = "flac") -> Path:
    """Path of example ``name``'s file of ``kind`` (``"flac"``, ``"mid"`` or ``"csv"``)."""
    if kind not in EXAMPLE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EXAMPLE_KINDS)}, got {kind!r}")
    return DATA_DIR / f"{_check_name(name)}.{kind}"


def load_example(name: str) -> tuple[np.ndarray, int, list[Note]]:
    """Load an example: its audio, sample rate and ground-truth notes.

    Parameters
    ----------
    name : str
        One of :func:`example_names`: ``"scale"``, ``"bach_prelude"``, ``"cadence"``,
        ``"bach_prelude_recorded"``.

    Returns
    -------
    x : ndarray, shape (n_samples,), float32
        Mono audio.
    sr : int
        Sample rate in Hz (22 050).
    notes : list of Note
        The exact notes the audio was rendered from (onset, offset in seconds; MIDI pitch;
        velocity).

    Raises
    ------
    KeyError
        For an unknown name; the message lists the valid names.
    FileNotFoundError
        If the example's files are missing (run ``python data_fetch.py`` to see what is wrong).

    Examples
    --------
    >>> from amt_helpers.data import load_example
    >>> x, sr, notes = load_example("scale")
    >>> sr, len(notes), notes[0].pitch
    (22050, 15, 60)
    """
    x, sr = audio.load(example_path(name, "flac"), sr=None)
    return x, sr, read_csv(example_path(name, "csv"))


def _check_name(name: str) -> str:
    if name not in EXAMPLES:
        raise KeyError(f"unknown example {name!r}; valid names: {', '.join(EXAMPLES)}")
    return name


# --- checking the committed files ----------------------------------------------------------


def read_manifest(data_dir: str | os.PathLike[str] = DATA_DIR) -> dict:
    """The manifest: provenance of the rendered files and the SHA-256 of each."""
    path = Path(data_dir) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def verify(data_dir: str | os.PathLike[str] = DATA_DIR) -> list[str]:
    """Check every file listed in the manifest; return one line per problem (empty: all good).

    The manifest must list the FLAC, MIDI and CSV file of every example (:data:`EXAMPLE_KINDS`),
    each by its plain file name and SHA-256.
    """
    data_dir = Path(data_dir)
    try:
        manifest = read_manifest(data_dir)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError) as err:
        return [f"manifest: {err}"]
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return [f"manifest: {MANIFEST_NAME} has no \"files\" table of file name -> SHA-256"]
    problems = [f"manifest: {name} is not listed" for name in sorted(_example_files()) if name not in files]
    for name, expected in sorted(files.items()):
        path = data_dir / str(name)
        if not isinstance(name, str) or Path(name).name != name:
            problems.append(f"manifest: {name!r} is not a plain file name in {data_dir.name}/")
        elif not (isinstance(expected, str) and len(expected) == 64):
            problems.append(f"manifest: the SHA-256 of {name} is not 64 hex digits: {expected!r}")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256(path) != expected:
            problems.append(f"{name}: corrupt (SHA-256 differs from the manifest)")
    return problems


def _example_files() -> list[str]:
    return [f"{name}.{kind}" for name in EXAMPLES for kind in EXAMPLE_KINDS]


# --- rendering (maintainers only: needs FluidSynth) ------------------------------------------


class RendererMissing(RuntimeError):
    """FluidSynth or a SoundFont is not installed."""


def find_soundfont(candidates: Sequence[str | os.PathLike[str]] = SOUNDFONT_CANDIDATES) -> Path:
    """The first SoundFont of ``candidates`` that exists (FluidR3_GM from Debian by default)."""
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RendererMissing(
        "no SoundFont found (looked for " + ", ".join(map(str, candidates)) + "); "
        "on Debian/Ubuntu: sudo apt-get install fluidsynth fluid-soundfont-gm"
    )


def renderer_version(name: str = "fluidsynth") -> str:
    """The first line of ``name --version`` (``"fluidsynth"`` or ``"timidity"``), for provenance.

    Raises
    ------
    RendererMissing
        If the program is not installed.
    """
    out = subprocess.run([_renderer(name), "--version"], capture_output=True, text=True, check=False).stdout
    return out.strip().split("\n")[0].strip()


def _renderer(name: str) -> str:
    """The path of the program ``name`` (a synthesiser), or :class:`RendererMissing` naming it."""
    exe = shutil.which(name)
    if exe is None:
        raise RendererMissing(f"{name} not found; on Debian/Ubuntu: sudo apt-get install {name}")
    return exe


def render_notes(
    notes: Sequence[Note],
    soundfont: str | os.PathLike[str],
    *,
    sr: int = SAMPLE_RATE,
    program: int = 0,
    gain: float = 0.5,
    tail: float = 1.0,
) -> np.ndarray:
    """Render notes to mono audio with FluidSynth (a SoundFont) or TiMidity++ (GUS patches).

    Parameters
    ----------
    notes : sequence of Note
        What to play.
    soundfont : path
        A ``.sf2``/``.sf3`` SoundFont, rendered by FluidSynth with reverb and chorus off; or a
        TiMidity++ configuration file (``.cfg``, e.g. Debian's ``/etc/timidity/freepats.cfg``
        for the FreePats GUS patches), rendered by ``timidity`` with reverb and chorus off.
    sr : int
        Output sample rate in Hz. Both synthesisers render at 44 100 Hz; we resample.
    program : int
        General MIDI program (0 = acoustic grand piano).
    gain : float
        Master gain (FluidSynth's ``-g``; TiMidity++'s amplification ``-A`` is ``200 × gain``
        per cent); 0.5 leaves headroom for chords.
    tail : float
        Seconds rendered after the last note-off, so that releases are not cut.

    Returns
    -------
    ndarray, shape (n_samples,), float32
    """
    sr = audio.validate_sample_rate(sr)
    timidity = Path(soundfont).suffix.lower() == ".cfg"
    name = "timidity" if timidity else "fluidsynth"
    exe = _renderer(name)
    if not Path(soundfont).is_file():  # FluidSynth would play on with its default sounds
        raise RendererMissing(f"SoundFont or TiMidity++ configuration not found: {soundfont}")
    midi = notes_to_midi(notes, program=program)
    end = max((n.offset for n in notes), default=0.0) + tail
    # A harmless controller event after the last note keeps the synthesiser rendering the release.
    midi.instruments[0].control_changes.append(pretty_midi.ControlChange(number=7, value=100, time=end))
    with tempfile.TemporaryDirectory() as tmp:
        mid_path, wav_path = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        midi.write(str(mid_path))
        if timidity:
            # TiMidity++ drops leading silence unless told not to: the notes' times would shift.
            cmd = [exe, "-c", str(soundfont), "-Ow", "--output-mono", "--output-24bit", "--preserve-silence",
                   "-s", "44100", "-EFreverb=0", "-EFchorus=0", f"-A{round(200 * gain)}",
                   "-o", str(wav_path), str(mid_path)]
        else:
            cmd = [exe, "-ni", "-q", "-R", "0", "-C", "0", "-g", str(gain), "-r", "44100",
                   "-F", str(wav_path), str(soundfont), str(mid_path)]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav_path.is_file():
            raise RuntimeError(f"{name} failed ({result.returncode}): {result.stderr.strip()}")
        x, _ = audio.load(wav_path, sr=sr)
    return x[: int(round(end * sr))]


def render_examples(
    data_dir: str | os.PathLike[str] = DATA_DIR,
    soundfont: str | os.PathLike[str] | None = None,
    samples_cache: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Re-render every example's FLAC, MIDI and CSV into ``data_dir`` and rewrite the manifest.

    Parameters
    ----------
    data_dir : path
        Where the files and the manifest go.
    soundfont : path, optional
        The SoundFont that plays the SoundFont examples (default: FluidR3_GM, found by
        :func:`find_soundfont`). The manifest records its file name and checksum, and names it
        as those examples' piano.
    samples_cache : path, optional
        Folder for the recorded pianos' samples, one subfolder per piano (default: ``build/``
        next to ``data/``, which ``benchmarks/make_eval_set.py`` shares). They are fetched with
        ``npm pack`` the first time (:func:`amt_helpers.sampler.fetch`).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    RendererMissing
        If FluidSynth or the SoundFont is missing.
    RuntimeError
        If the recorded piano's samples cannot be fetched.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    soundfont = Path(soundfont) if soundfont else find_soundfont()
    if not soundfont.is_file():
        raise RendererMissing(f"SoundFont not found: {soundfont}")
    samples_cache = Path(samples_cache) if samples_cache else DATA_DIR.parent / "build"
    version = renderer_version("fluidsynth")
    rendered = {}  # everything is rendered before anything is written: a failure changes nothing
    for name in EXAMPLES:
        notes = example_notes(name)
        piano = EXAMPLE_PIANOS[name]
        if piano == SOUNDFONT_PIANO:
            x = render_notes(notes, soundfont)
        else:
            sample_set = sampler.SAMPLE_SETS[piano]
            x = sampler.render(notes, sample_set, sampler.fetch(sample_set, samples_cache / piano), SAMPLE_RATE)
        rendered[name] = (0.9 * x / np.max(np.abs(x)), validate_notes(notes))  # one loudness for all
    recorded = {piano: sampler.SAMPLE_SETS[piano] for piano in EXAMPLE_PIANOS.values() if piano != SOUNDFONT_PIANO}
    manifest = {
        "about": "Example pieces rendered from their notes (amt_helpers/data.py), with MIDI and CSV of the same notes.",
        "renderer": version,
        "soundfont": {"name": soundfont.name, "sha256": sha256(soundfont), "program": 0,
                      "settings": "reverb off, chorus off, gain 0.5, 44.1 kHz resampled to 22.05 kHz"},
        "recorded_pianos": {
            piano: {"renderer": "amt_helpers.sampler", "npm_archives_sha256": sample_set.archives,
                    "licence": sample_set.licence}
            for piano, sample_set in recorded.items()},
        # The piano that really played each example: the SoundFont given may not be FluidR3_GM.
        "examples": {name: soundfont.stem if piano == SOUNDFONT_PIANO else piano
                     for name, piano in EXAMPLE_PIANOS.items()},
    }
    written = [data_dir / file_name for file_name in _example_files()]
    with atomic_paths(*written, data_dir / MANIFEST_NAME) as tmps:  # all files and the manifest, or none
        for (x, notes), (flac, mid, csv) in zip(rendered.values(), zip(*[iter(tmps)] * 3)):
            audio._write_to(flac, x, SAMPLE_RATE)
            _write_midi_to(mid, notes)
            _write_csv_to(csv, notes)
        manifest["files"] = {path.name: sha256(tmp) for path, tmp in zip(written, tmps)}
        tmps[-1].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written

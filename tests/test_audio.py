import numpy as np
import pytest
import soundfile as sf

from amt_helpers import audio


@pytest.fixture
def tone():
    sr = 22050
    t = np.arange(sr // 2) / sr
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".aiff"])
def test_load_reads_formats_and_resamples(tmp_path, tone, ext):
    x, sr = tone
    path = tmp_path / f"tone{ext}"
    sf.write(path, np.stack([x, x], axis=1), 44100)  # stereo at another rate
    y, sr_out = audio.load(path, sr=sr)
    assert sr_out == sr
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(x) // 2) <= 1


def test_load_keeps_native_rate(tmp_path, tone):
    x, sr = tone
    sf.write(tmp_path / "a.wav", x, 16000)
    assert audio.load(tmp_path / "a.wav", sr=None)[1] == 16000


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found: .*nope.wav"):
        audio.load(tmp_path / "nope.wav")


def test_load_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder"):
        audio.load(tmp_path)


def test_load_unreadable_file_names_file_and_reason(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"this is not audio at all")
    with pytest.raises(audio.AudioError, match=r"cannot read audio file .*broken\.wav: .+"):
        audio.load(bad)


def test_load_empty_audio(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(audio.AudioError, match="empty"):
        audio.load(tmp_path / "empty.wav")


def test_load_nan_audio(tmp_path):
    x = np.zeros(100, dtype=np.float32)
    x[10] = np.nan
    sf.write(tmp_path / "nan.wav", x, 22050, subtype="FLOAT")
    with pytest.raises(audio.AudioError, match="NaN or infinite"):
        audio.load(tmp_path / "nan.wav")


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.zeros((2, 10)), "mono"),
        (np.zeros(0), "empty"),
        (np.array([0.0, np.inf]), "infinite"),
    ],
)
def test_validate_audio_rejects(x, match):
    with pytest.raises(audio.AudioError, match=match):
        audio.validate_audio(x)


def test_validate_audio_silence_flag():
    audio.validate_audio(np.zeros(10))
    with pytest.raises(audio.AudioError, match="silent"):
        audio.validate_audio(np.zeros(10), allow_silence=False)


def test_stft_shape_and_istft_roundtrip(tone):
    x, _ = tone
    X = audio.stft(x, n_fft=1024, hop_length=256)
    assert X.shape == (513, 1 + len(x) // 256)
    y = audio.istft(X, hop_length=256, length=len(x))
    np.testing.assert_allclose(y, x, atol=1e-4)


def test_istft_rejects_magnitude(tone):
    X = audio.stft(tone[0])
    with pytest.raises(ValueError, match="complex"):
        audio.istft(np.abs(X))


def test_write_is_atomic_and_leaves_no_temp(tmp_path, tone):
    x, sr = tone
    out = audio.write(tmp_path / "out.flac", x, sr)
    y, _ = audio.load(out, sr=None)
    np.testing.assert_allclose(y, x, atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["out.flac"]


def test_write_failure_keeps_old_file(tmp_path, tone):
    x, sr = tone
    target = tmp_path / "keep.wav"
    target.write_bytes(b"old")
    with pytest.raises(audio.AudioError):
        audio.write(target, np.array([np.nan]), sr)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_write_into_missing_folder(tmp_path, tone):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        audio.write(tmp_path / "no" / "x.wav", *tone)


def test_frames_to_time():
    np.testing.assert_allclose(audio.frames_to_time(np.array([0, 43]), sr=22050, hop_length=512), [0, 43 * 512 / 22050])


def test_integer_pcm_is_scaled_and_complex_or_text_is_refused():
    np.testing.assert_allclose(audio.validate_audio(np.array([16384, -32768, 0], np.int16)), [0.5, -1.0, 0.0])
    np.testing.assert_allclose(audio.validate_audio(np.array([0, 128, 255], np.uint8)), [-1.0, 0.0, 127 / 128])
    with pytest.raises(audio.AudioError, match="complex"):
        audio.validate_audio(np.ones(4, dtype=complex))
    with pytest.raises(audio.AudioError, match="numbers"):
        audio.validate_audio(np.array(["a", "b"]))


@pytest.mark.parametrize("ext", [".wav", ".flac", ".aiff", ".ogg"])
def test_write_round_trips_every_format_it_accepts(tmp_path, ext):
    x = (0.5 * np.sin(2 * np.pi * 440 * np.arange(4410) / 22050)).astype(np.float32)
    y, sr = audio.load(audio.write(tmp_path / f"tone{ext}", x, 22050), sr=None)
    assert sr == 22050 and y.size == x.size
    assert np.abs(y - x).max() < (0.05 if ext == ".ogg" else 1e-4)  # Vorbis is lossy


@pytest.mark.parametrize("name, sr, message", [
    ("tone.mp3", 22050, "unknown extension '.mp3'"),
    ("tone.txt", 22050, "unknown extension '.txt'"),
    ("tone.wav", 0, "sr must be a positive integer"),
    ("tone.wav", 22050.5, "sr must be a positive integer"),
])
def test_write_names_what_it_cannot_do(tmp_path, name, sr, message):
    with pytest.raises(audio.AudioError, match=message) as err:
        audio.write(tmp_path / name, np.zeros(10, np.float32), sr)
    assert str(tmp_path) in str(err.value) or "sr" in message
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize("sr, integer, expected", [
    (22050, True, 22050), (22050.0, True, 22050), (np.int64(8000), True, 8000),
    (np.float32(8000), True, 8000), (22050.5, False, 22050.5), (np.int32(100), False, 100.0),
])
def test_validate_sample_rate_accepts_and_normalises(sr, integer, expected):
    out = audio.validate_sample_rate(sr, integer=integer)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize("sr", [0, -22050, float("nan"), float("inf"), True, "22050", None, 22050.5, 2**31])
def test_validate_sample_rate_names_the_bad_rate(sr):
    with pytest.raises(audio.AudioError, match=r"^fs must be a positive integer sample rate in Hz, got "):
        audio.validate_sample_rate(sr, name="fs")


def test_every_function_that_takes_a_rate_follows_one_rule(tmp_path, tone):
    """The package's entry points accept 22050.0 where they accept 22050, and refuse 0 alike."""
    from amt_helpers import dictionary, plot, sonify, templates
    from amt_helpers.transcribe import compute_activations, transcribe

    x, sr = tone
    assert audio.load(audio.write(tmp_path / "a.wav", x, float(sr)), sr=16000.0)[1] == 16000
    assert sonify.synthesize_notes([], float(sr), duration=0.1).size == 2205
    assert transcribe(x, float(sr)) == transcribe(x, sr)
    calls = [
        lambda rate: audio.write(tmp_path / "b.wav", x, rate),
        lambda rate: audio.load(tmp_path / "a.wav", sr=rate),
        lambda rate: sonify.listen(x, sr=rate),
        lambda rate: sonify.synthesize_notes([], rate, duration=0.1),
        lambda rate: transcribe(x, rate),
        lambda rate: compute_activations(x, rate),
        lambda rate: audio.frames_to_time(3, sr=rate),
        lambda rate: templates.harmonic_template(60, rate, 2048),
        lambda rate: dictionary.estimate_tuning(x, rate),
        lambda rate: plot.plot_spectrogram(np.ones((5, 4)), sr=rate, hop_length=512),
    ]
    for call in calls:
        with pytest.raises(audio.AudioError, match="sr must be a positive"):
            call(0)
    assert not (tmp_path / "b.wav").exists()


@pytest.mark.parametrize("call, message", [
    (lambda x: audio.stft(x, n_fft=0), "n_fft must be a positive whole number of samples, got 0"),
    (lambda x: audio.stft(x, hop_length=0), "hop_length must be a positive whole number of samples, got 0"),
    (lambda x: audio.stft(x, n_fft="2048"), "n_fft must be a positive whole number of samples, got '2048'"),
    (lambda x: audio.istft(audio.stft(x), hop_length=0), "hop_length must be a positive whole number"),
    (lambda x: audio.istft(audio.stft(x)[:, :0]), r"X must be \(..., n_bins >= 2, n_frames >= 1\)"),
    # an STFT of 40 frames, transposed
    (lambda x: audio.istft(np.ones((40, 1025), complex)), r"X has 40 frequency rows, a window of 78 samples, shorter than hop_length=512; is X transposed"),
    (lambda x: audio.istft(np.ones((40, 1025), complex), n_fft=2048), r"X has 40 frequency rows, but an STFT with n_fft=2048 has 1025; is X transposed"),
    (lambda x: audio.istft(audio.stft(x, n_fft=1024), n_fft=2048), r"X has 513 frequency rows, but an STFT with n_fft=2048 has 1025"),
    (lambda x: audio.frames_to_time(3, sr=22050, hop_length=0), "hop_length must be a positive whole number"),
])
def test_window_hop_and_length_are_checked_before_librosa_sees_them(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.sin(np.arange(4096) * 0.1))


def test_a_file_no_decoder_takes_is_one_clear_error_without_decoder_noise(tmp_path, capfd):
    path = tmp_path / "text.mp3"
    path.write_text("this is not audio\n" * 20)
    with pytest.raises(audio.AudioError, match=r"cannot read audio file .*text.mp3: no decoder can read it as .mp3"):
        audio.load(path)
    assert capfd.readouterr().err == ""  # the mp3 decoder's own complaints are in the message, not on stderr


def test_representation_checks_its_fields():
    from amt_helpers.dictionary import Representation

    for kwargs, message in ((dict(sr=0), "Representation.sr must be a positive whole number, got 0"),
                            (dict(n_fft=2.5), "Representation.n_fft must be a positive whole number"),
                            (dict(fmin=10000.0), "0 < fmin < fmax and fmin below sr / 2")):
        with pytest.raises(ValueError, match=message):
            Representation(**kwargs)

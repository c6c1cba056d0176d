"""Bad and awkward image files through `transfer_cookbook.vision.data`, on a fresh folder per test.

The notebook nbs/02_data.ipynb shows these cases to a reader; these tests pin the contracts on their own,
including modes the page does not show (LA, big-endian 16-bit, 32-bit 'I', palette PNG, truncated PNG).
"""
import pickle
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from transfer_cookbook.vision.data import (BadImageError, BadImagesError, ImageFolderDataset, image_transforms, load_image, scan_image_folder)
from transfer_cookbook.core.files import sample_per_class, split_by_class

RNG = np.random.default_rng(0)


def _photo(h=64, w=80):
    "A smooth RGB test image (a gradient plus noise), so JPEG round trips stay close."
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)], -1)
    return np.clip(img + RNG.integers(-10, 10, img.shape), 0, 255).astype(np.uint8)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


@pytest.fixture
def messy(tmp_path):
    "A two-class folder with good JPEGs in both classes (one named .JPG), four unreadable files and a stray text file."
    root = tmp_path / 'photos'
    for c in ('cat', 'dog'):
        (root / c).mkdir(parents=True)
        for i in range(2): Image.fromarray(_photo()).save(root / c / f'good{i}.jpg')
    bad = {
        'cat/empty.jpg': lambda p: p.write_bytes(b''),
        'cat/page.png': lambda p: p.write_text('<html>404 Not Found</html>'),
        'dog/cut.jpg': lambda p: (Image.fromarray(_photo(200, 200)).save(p), _truncate(p)),
        'dog/cut.png': lambda p: (Image.fromarray(_photo(200, 200)).save(p), _truncate(p)),
    }
    for rel, make in bad.items(): make(root / rel)
    (root / 'cat' / 'notes.txt').write_text('stray')
    Image.fromarray(_photo()).save(root / 'dog' / 'PHONE.JPG')  # extensions match in any case
    return root, [root / rel for rel in bad]


# --- load_image: every mode becomes 8-bit RGB with the right pixels ---------------------------------------------

def test_gray_and_la_convert_to_rgb(tmp_path):
    gray = _photo()[..., 0]
    Image.fromarray(gray).save(tmp_path / 'g.png')
    img = load_image(tmp_path / 'g.png')
    assert img.mode == 'RGB'
    assert np.array_equal(np.asarray(img), np.repeat(gray[..., None], 3, -1))
    la = Image.fromarray(np.dstack([gray, np.full_like(gray, 255)])).convert('LA')
    la.putpixel((0, 0), (0, 0))  # one transparent black pixel
    la.save(tmp_path / 'la.png')
    out = np.asarray(load_image(tmp_path / 'la.png'))
    assert out.shape == gray.shape + (3,)
    assert out[0, 0].tolist() == [255, 255, 255]
    assert np.array_equal(out[1:, 1:, 0], gray[1:, 1:])


@pytest.mark.parametrize('dtype', ['<u2', '>u2', 'int32'])
def test_16bit_is_scaled_not_clipped(tmp_path, dtype):
    eight = _photo()[..., 1]
    sixteen = (eight.astype(np.uint32) * 257).astype(dtype)  # full 16-bit range, up to 65535
    im = Image.fromarray(sixteen)
    assert im.mode in ('I;16', 'I;16B', 'I')
    path = tmp_path / 'a.tif'
    im.save(path)
    out = np.asarray(load_image(path))
    assert out.shape == eight.shape + (3,)
    assert np.array_equal(out[..., 0], eight)  # 65535 -> 255, proportionally: not all white
    assert out.mean() < 250


def test_16bit_png_keeps_brightness_proportional(tmp_path):
    a = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(a).save(tmp_path / 'ramp.png')
    with Image.open(tmp_path / 'ramp.png') as im: assert im.mode == 'I;16'
    out = np.asarray(load_image(tmp_path / 'ramp.png'))[..., 0].astype(float)
    assert abs(out.mean() - a.mean() / 257) < 0.6
    assert (out.min(), out.max()) == (0, 255)


def test_float_image_is_stretched_by_its_range(tmp_path):
    a = np.linspace(-3.0, 5.0, 50 * 40, dtype=np.float32).reshape(50, 40)
    Image.fromarray(a).save(tmp_path / 'depth.tif')
    out = np.asarray(load_image(tmp_path / 'depth.tif'))
    assert (out.min(), out.max()) == (0, 255)
    assert abs(out[..., 0].astype(float).mean() - 127.5) < 1


def test_cmyk_jpeg_converts_to_matching_rgb(tmp_path):
    rgb = _photo()
    Image.fromarray(rgb).convert('CMYK').save(tmp_path / 'print.jpg', quality=95)
    with Image.open(tmp_path / 'print.jpg') as im: assert im.mode == 'CMYK'
    out = np.asarray(load_image(tmp_path / 'print.jpg')).astype(int)
    assert out.shape == rgb.shape
    assert np.abs(out - rgb).mean() < 8


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.dstack([_photo(), np.full((64, 80), 255, np.uint8)])
    rgba[:, :20] = 0  # transparent and black underneath
    rgba[:, 20:40, 3] = 128  # half transparent
    Image.fromarray(rgba).save(tmp_path / 'logo.png')
    out = np.asarray(load_image(tmp_path / 'logo.png')).astype(int)
    assert out.shape == (64, 80, 3)
    assert (out[:, :20] == 255).all()
    assert np.array_equal(out[:, 40:], rgba[:, 40:, :3])
    expected_half = (rgba[:, 20:40, :3].astype(int) * 128 + 255 * 127) / 255
    assert np.abs(out[:, 20:40] - expected_half).max() <= 1


@pytest.mark.parametrize('suffix', ['.gif', '.png'])
def test_palette_images_with_and_without_transparency(tmp_path, suffix):
    p = Image.fromarray(_photo()).convert('P', palette=Image.Palette.ADAPTIVE, colors=200)
    p.save(tmp_path / f'plain{suffix}')
    plain = load_image(tmp_path / f'plain{suffix}')
    assert plain.mode == 'RGB'
    assert np.array_equal(np.asarray(plain), np.asarray(p.convert('RGB')))
    p.paste(5, (0, 0, 80, 10))  # palette index 5, declared transparent below
    p.save(tmp_path / f'clear{suffix}', transparency=5)
    out, idx = np.asarray(load_image(tmp_path / f'clear{suffix}')), np.asarray(p)
    assert (out[idx == 5] == 255).all() and idx[:10].tolist() == [[5] * 80] * 10
    assert np.array_equal(out[idx != 5], np.asarray(p.convert('RGB'))[idx != 5])


@pytest.mark.parametrize('rel, words', [('cat/empty.jpg', 'empty (0 bytes)'),
                                        ('cat/page.png', "starts with b'<html>404"),
                                        ('dog/cut.jpg', 'truncated'),
                                        ('dog/cut.png', 'truncated')])
def test_unreadable_files_raise_bad_image_error(messy, rel, words):
    root, _ = messy
    with pytest.raises(BadImageError) as info: load_image(root / rel)
    e = info.value
    assert isinstance(e, ValueError)
    assert e.path == root / rel and words in e.reason
    assert str(root / rel) in str(e) and words in str(e)
    again = pickle.loads(pickle.dumps(e))  # survives the trip back from a DataLoader worker
    assert (again.path, again.reason) == (e.path, e.reason)


def test_truncated_images_are_not_loaded_by_a_global_switch(messy):
    from PIL import ImageFile
    root, _ = messy
    with pytest.raises(BadImageError): load_image(root / 'dog' / 'cut.jpg')
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_missing_file_is_not_a_bad_image(tmp_path):
    with pytest.raises(FileNotFoundError): load_image(tmp_path / 'nope.jpg')


# --- scanning and the dataset ------------------------------------------------------------------------------------

def test_combined_error_names_every_bad_file(messy):
    root, bad = messy
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(BadImagesError) as info: ImageFolderDataset(root)
    e = info.value
    assert isinstance(e, ValueError)
    assert sorted(p for p, _ in e.bad) == sorted(bad)
    msg = str(e)
    for p in bad: assert str(p) in msg
    assert msg.startswith('4 of 9 image files cannot be read')
    assert msg.rstrip().endswith('pass skip_bad=True to train without them.')


def test_skip_bad_drops_them_and_warns_once(messy):
    root, bad = messy
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ds = ImageFolderDataset(root, skip_bad=True)
    skipped = [w for w in caught if 'cannot be read' in str(w.message)]
    assert len(skipped) == 1 and all(str(p) in str(skipped[0].message) for p in bad)
    assert ds.classes == ['cat', 'dog']
    assert len(ds) == 5 and ds.targets == [0, 0, 1, 1, 1]
    assert sorted(p for p, _ in ds.skipped) == sorted(bad)
    assert not {p for p, _ in ds.items} & set(bad)
    img, target = ds[4]
    assert img.mode == 'RGB' and target == 1


def test_stray_files_are_reported(messy):
    root, _ = messy
    with pytest.warns(UserWarning, match='notes.txt'):
        items, classes = scan_image_folder(root)
    assert classes == ['cat', 'dog']
    assert len(items) == 9 and not any(p.suffix == '.txt' for p, _ in items)
    assert root / 'dog' / 'PHONE.JPG' in [p for p, _ in items]


def test_empty_class_folder_is_named(messy):
    root, _ = messy
    (root / 'bird').mkdir()
    (root / 'bird' / '.DS_Store').write_bytes(b'\x00')
    with pytest.raises(ValueError, match=r"class folder 'bird' \(.*bird\) holds no images: add images or remove the folder"):
        scan_image_folder(root)
    with pytest.raises(ValueError, match="class folder 'bird'"):
        ImageFolderDataset(root, skip_bad=True)


def test_skip_bad_leaving_a_class_empty_is_an_error(messy):
    root, _ = messy
    (root / 'bird').mkdir()
    (root / 'bird' / 'only.jpg').write_bytes(b'')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(ValueError, match="class 'bird' .* has no readable images left"):
            ImageFolderDataset(root, skip_bad=True)


@pytest.mark.parametrize('layout, words', [('missing', 'does not exist'), ('file', 'is a file, not a folder'),
                                           ('flat', 'no class subfolders'), ('one', 'only one class folder')])
def test_bad_layouts_say_what_was_expected(tmp_path, layout, words):
    root = tmp_path / 'data'
    if layout == 'file': root.write_text('x')
    if layout == 'flat': root.mkdir(); Image.fromarray(_photo()).save(root / 'a.jpg')
    if layout == 'one': (root / 'cat').mkdir(parents=True); Image.fromarray(_photo()).save(root / 'cat' / 'a.jpg')
    with pytest.raises(ValueError, match=words): scan_image_folder(root)


def test_dataloader_batch_shape(messy):
    root, _ = messy
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ds = ImageFolderDataset(root, transform=image_transforms(train=True), skip_bad=True)
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=5)))
    assert tuple(xb.shape) == (5, 3, 224, 224) and xb.dtype == torch.float32
    assert yb.tolist() == [0, 0, 1, 1, 1]


# --- sampling and splitting --------------------------------------------------------------------------------------

def test_sample_per_class_exact_sorted_nested_and_checked():
    labels = np.repeat(np.arange(3), [50, 7, 3])
    one, three = sample_per_class(labels, 1, seed=4), sample_per_class(labels, 3, seed=4)
    assert np.bincount(labels[three]).tolist() == [3, 3, 3]
    assert np.array_equal(three, np.sort(three)) and set(one) <= set(three)
    assert np.array_equal(three, sample_per_class(labels, 3, seed=4))
    with pytest.raises(ValueError, match='class 2 has only 3'): sample_per_class(labels, 4)


def test_split_by_class_is_stratified():
    labels = np.repeat(np.arange(4), [10, 5, 2, 1])
    tr, va = split_by_class(labels, valid_frac=0.2, seed=0)
    assert np.bincount(labels[va], minlength=4).tolist() == [2, 1, 1, 0]
    assert np.bincount(labels[tr], minlength=4).tolist() == [8, 4, 1, 1]
    assert sorted([*tr, *va]) == list(range(len(labels)))

"""Bad and awkward input for the mask-folder recipe (recipe 43): every image format is converted by the documented rule,
and every pair that cannot be used is refused with the file's name and what to do; the saved model round-trips, is
never written over a user's folder, and refuses weights from another model; validation keeps each volume on one side. Plain pytest on tiny images written to a
fresh folder per test; the training tests take two optimiser steps."""
import hashlib
import json
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from transfer_cookbook.vision.data import BadImageError
from transfer_cookbook.vision.mask_folder import (BadMaskPairsError, load_mask_folder, load_segmenter, predict_segmenter, read_mask,
                                                  read_mask_image, scan_mask_folder, train_segmenter, volume_split)

SIZE = 32


def square(k=0):
    "A 32 x 32 grey image with a bright square, and its mask (1 on the square)."
    img = np.full((SIZE, SIZE), 40, np.uint8); mask = np.zeros((SIZE, SIZE), np.uint8)
    r = 4 + 3 * (k % 4)
    img[r:r + 12, r:r + 12] = 220; mask[r:r + 12, r:r + 12] = 1
    return img, mask


def make_folder(root, n=4):
    "A valid folder of `n` 8-bit grey PNG pairs."
    (root/'images').mkdir(parents=True); (root/'masks').mkdir()
    for k in range(n):
        img, mask = square(k)
        Image.fromarray(img).save(root/'images'/f'case{k}.png'); Image.fromarray(mask).save(root/'masks'/f'case{k}.png')
    return root


def refused(root, **kw):
    "The BadMaskPairsError that loading `root` raises."
    with pytest.raises(BadMaskPairsError) as e: load_mask_folder(root, **kw)
    return e.value


# --- one pair's problems: each named, with what to do ----------------------------------------------------------

def test_missing_mask_names_the_image_and_the_mask_to_add(tmp_path):
    root = make_folder(tmp_path/'d'); Image.fromarray(square()[0]).save(root/'images'/'lonely.png')
    err = refused(root)
    assert [p.name for p, _ in err.bad] == ['lonely.png']
    assert 'images/lonely.png: no mask for this image: add masks/lonely.png' in str(err) and 'skip_bad=True' in str(err)


def test_mask_without_image_is_named(tmp_path):
    root = make_folder(tmp_path/'d'); Image.fromarray(square()[1]).save(root/'masks'/'orphan.png')
    assert 'masks/orphan.png: a mask without an image: add images/orphan.png' in str(refused(root))


def test_mask_of_another_size_is_refused_with_both_sizes(tmp_path):
    root = make_folder(tmp_path/'d'); Image.fromarray(square()[1][:16]).save(root/'masks'/'case2.png')
    assert ('masks/case2.png: the mask is 32 x 16 pixels but its image case2.png is 32 x 32: export the mask at the image'
            in str(refused(root)))


def test_label_values_outside_the_declared_classes(tmp_path):
    root = make_folder(tmp_path/'d')
    Image.fromarray(square()[1] * 3).save(root/'masks'/'case0.png')  # class 3 with n_classes=2
    msg = str(refused(root, n_classes=2))
    assert 'masks/case0.png: label values [3] are outside 0..1 (n_classes=2): remap them, or declare more classes' in msg
    assert load_mask_folder(root, n_classes=4)['n_classes'] == 4  # declared: accepted


def test_binary_mask_saved_as_0_255_is_refused_when_classes_are_counted(tmp_path):
    root = make_folder(tmp_path/'d')
    for k in range(4): Image.fromarray(square(k)[1] * 255).save(root/'masks'/f'case{k}.png')
    with pytest.raises(ValueError, match=r'label values up to 255 \(4 of them, e.g. masks/case0.png\).*saved as 0/255\? Save it as 0/1'):
        load_mask_folder(root)
    assert 'label values [255]' in str(refused(root, n_classes=2))


def test_rgb_colour_mask_is_refused_but_grey_saved_as_rgb_is_read(tmp_path):
    _, mask = square()
    colour = np.stack([mask * 200, mask * 30, np.full_like(mask, 90)], -1)
    Image.fromarray(colour).save(tmp_path/'colour.png')
    with pytest.raises(BadImageError, match=r'colour.png: an RGB colour mask \(2 colours\), not class indices: save it'):
        read_mask(tmp_path/'colour.png')
    Image.fromarray(np.repeat(mask[..., None], 3, -1)).convert('RGB').save(tmp_path/'grey.png')
    np.testing.assert_array_equal(read_mask(tmp_path/'grey.png'), mask)


def test_palette_mask_is_read_as_its_indices(tmp_path):
    mask = square()[1] * 2
    im = Image.fromarray(mask).convert('P'); im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759); im.save(tmp_path/'p.png')
    with Image.open(tmp_path/'p.png') as check: assert check.mode == 'P'
    np.testing.assert_array_equal(read_mask(tmp_path/'p.png'), mask)  # indices, not the colours they are drawn in


def test_jpeg_mask_is_refused(tmp_path):
    Image.fromarray(square()[1]).save(tmp_path/'m.jpg')
    with pytest.raises(BadImageError, match=r'm.jpg: masks must be PNG files.*Export the mask .* again as PNG'): read_mask(tmp_path/'m.jpg')


# --- images: bit depth and format -------------------------------------------------------------------------------

def test_16bit_image_is_scaled_from_its_own_min_to_max(tmp_path):
    a = np.array([[1000, 1500], [2000, 3000]], np.uint16)
    Image.fromarray(a).save(tmp_path/'i16.png')
    with Image.open(tmp_path/'i16.png') as im: assert im.mode.startswith('I')
    out = read_mask_image(tmp_path/'i16.png')
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[..., 0], [[0, 64], [128, 255]])  # (v - 1000) / 2000 * 255, rounded
    assert (out[..., 0] == out[..., 2]).all()


def test_float_image_is_scaled_and_nan_is_refused_by_name(tmp_path):
    Image.fromarray(np.array([[-2.0, 0.0], [2.0, 6.0]], np.float32)).save(tmp_path/'f.tif')
    np.testing.assert_array_equal(read_mask_image(tmp_path/'f.tif')[..., 0], [[0, 64], [128, 255]])
    Image.fromarray(np.array([[0.0, np.nan], [1.0, 2.0]], np.float32)).save(tmp_path/'nan.tif')
    with pytest.raises(BadImageError, match=r'nan.tif: 1 pixels are NaN or infinite: export the image again'):
        read_mask_image(tmp_path/'nan.tif')


def test_8bit_rgb_and_jpeg_images_are_kept(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path/'rgb.png')
    np.testing.assert_array_equal(read_mask_image(tmp_path/'rgb.png'), rgb)


def test_16bit_and_float_images_load_in_a_folder(tmp_path):
    root = make_folder(tmp_path/'d')
    img = square(1)[0].astype(np.uint16) * 10; (root/'images'/'case1.png').unlink(); Image.fromarray(img).save(root/'images'/'case1.png')
    (root/'images'/'case2.png').unlink(); Image.fromarray(square(2)[0].astype(np.float32) / 7).save(root/'images'/'case2.tif')
    data = load_mask_folder(root)
    assert data['images'].dtype == np.uint8 and data['images'][1].max() == 255 and data['images'][2].max() == 255


@pytest.mark.parametrize('content, says', [(b'', r'the file is empty \(0 bytes\)'), (b'not an image at all', 'not an image format'),
                                           (None, 'truncated')])
def test_unreadable_images_are_named(tmp_path, content, says):
    root = make_folder(tmp_path/'d'); bad = root/'images'/'case3.png'
    bad.write_bytes(bad.read_bytes()[:60] if content is None else content)
    msg = str(refused(root))
    assert re.search(rf'images/case3.png: [^\n]*{says}[^\n]*Copy or export it again', msg), msg


def test_two_files_of_one_name_are_refused(tmp_path):
    root = make_folder(tmp_path/'d'); Image.fromarray(square()[0]).save(root/'images'/'case0.jpg')
    assert "several files are named 'case0' (case0.jpg, case0.png" in str(refused(root))


# --- the folder as a whole --------------------------------------------------------------------------------------

def test_all_background_masks_are_refused(tmp_path):
    root = make_folder(tmp_path/'d')
    for k in range(4): Image.fromarray(np.zeros((SIZE, SIZE), np.uint8)).save(root/'masks'/f'case{k}.png')
    with pytest.raises(ValueError, match=r'masks is all background \(0\): there is nothing to learn'): load_mask_folder(root)


def test_every_problem_in_one_error_and_skip_bad(tmp_path):
    root = make_folder(tmp_path/'d', n=5)
    (root/'masks'/'case0.png').unlink()
    Image.fromarray(square()[1][:8]).save(root/'masks'/'case1.png')
    Image.fromarray(square()[1] * 9).save(root/'masks'/'case2.png')
    err = refused(root, n_classes=2)
    assert sorted(p.name for p, _ in err.bad) == ['case0.png', 'case1.png', 'case2.png'] and str(err).startswith('3 of 5 image/mask pairs')
    with pytest.warns(UserWarning, match=r'Skipping 3 of 5 image/mask pairs[\s\S]*case1.png: the mask is'):
        data = load_mask_folder(root, n_classes=2, skip_bad=True)
    assert data['names'] == ['case3', 'case4'] and data['masks'].shape == (2, SIZE, SIZE)


def test_folder_layout_errors(tmp_path):
    with pytest.raises(ValueError, match='does not exist'): scan_mask_folder(tmp_path/'nope')
    (tmp_path/'d'/'images').mkdir(parents=True)
    with pytest.raises(ValueError, match=r'has no masks/ folder'): scan_mask_folder(tmp_path/'d')


def test_images_of_other_sizes_are_resized_to_one(tmp_path):
    root = make_folder(tmp_path/'d')
    img, mask = square()
    Image.fromarray(np.kron(img, np.ones((2, 2), np.uint8))).save(root/'images'/'big.png')
    Image.fromarray(np.kron(mask, np.ones((2, 2), np.uint8))).save(root/'masks'/'big.png')
    data = load_mask_folder(root)
    assert data['size'] == (SIZE, SIZE) and data['sizes'][0] == (2 * SIZE, 2 * SIZE)
    np.testing.assert_array_equal(data['masks'][0], mask)  # nearest neighbour: labels stay labels


# --- label slips and volumes: caught before any training -----------------------------------------------------------

def test_a_stray_label_warns_and_names_its_mask(tmp_path):
    root = make_folder(tmp_path/'d')
    mask = square(2)[1]; mask[0:2, 0:2] = 7; Image.fromarray(mask).save(root/'masks'/'case2.png')
    with pytest.warns(UserWarning, match=r'No mask holds labels 2, 3, 4, 5, 6, but label 7 in 1 mask: \S*case2.png\. With n_classes=None the model gets 8 classes, 5 of which'):
        assert load_mask_folder(root)['n_classes'] == 8
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert load_mask_folder(root, n_classes=8)['n_classes'] == 8  # declared: no warning


def test_volume_from_name_and_volumes_kept_on_one_side():
    files = [f'scans/case{v:02d}_{s:03d}.png' for v in range(6) for s in range(5)] + ['brain3-12.png', 'brain3-13.png']
    train_idx, valid_idx, volumes = volume_split(files, valid_frac=0.3)
    assert volumes[:5].tolist() == ['case00'] * 5 and volumes[-1] == 'brain3'
    assert not set(volumes[train_idx]) & set(volumes[valid_idx]) and len(train_idx) + len(valid_idx) == len(files)
    assert volume_split(files, groups=lambda p: p.name[:6])[2][0] == 'case00'
    assert volume_split(files, groups=None)[2] is None


def test_names_without_volumes_are_refused_with_what_to_do():
    with pytest.raises(ValueError, match=r"groups=VOLUME_FROM_NAME puts all 3 files in one volume \('', e.g. from 001.png\).*VOLUME_SLICE.*groups=None"):
        volume_split(['001.png', '002.png', '003.png'])
    with pytest.raises(ValueError, match=r'cannot tell the volume of 1 file\(s\) whose name ends in no slice number: left.png'):
        volume_split(['a_001.png', 'b_002.png', 'left.png'])
    with pytest.raises(ValueError, match='matches no part'):
        volume_split(['a_001.png', 'b_002.png'], groups=r'patient(\d+)')


def test_one_volume_stops_training_before_a_network_is_loaded(tmp_path, monkeypatch):
    root = make_folder(tmp_path/'d')  # case0.png ... case3.png: one volume, 'case'
    import transfer_cookbook.vision.mask_folder as mf
    monkeypatch.setattr(mf, 'load_backbone', lambda *a, **k: pytest.fail('a network was loaded'))
    with pytest.raises(ValueError, match=r"puts all 4 files in one volume \('case'"):
        train_segmenter(root, tmp_path/'out', steps=1)
    assert not (tmp_path/'out').exists()


# --- train, save, load, predict ---------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('seg')
    root = make_folder(tmp/'data', n=6)
    model, report = train_segmenter(root, tmp/'model', steps=2, batch_size=2, valid_frac=0.34, groups=None)
    return tmp, root, model, report


def test_report_follows_the_contract(trained):
    _, _, _, report = trained
    assert report['classes'] == ['class 0', 'class 1'] and list(report['valid_dice']) == report['classes']
    assert all(np.isnan(d) or 0 <= d <= 1 for d in report['valid_dice'].values())
    assert (report['steps'], report['train_items'], report['valid_items'], report['skipped']) == (2, 4, 2, [])
    assert report['train_groups'] is None and report['valid_groups'] is None and len(report['history']) == 2


def test_save_and_load_give_the_same_predictions(trained):
    tmp, root, model, _ = trained
    assert sorted(p.name for p in (tmp/'model').iterdir()) == ['config.json', 'model.onnx', 'model.safetensors']
    assert not (tmp/'model.partial').exists()
    meta = json.loads((tmp/'model'/'config.json').read_text())
    assert meta['task'] == 'segmenter' and meta['classes'] == ['class 0', 'class 1'] and meta['size'] == [SIZE, SIZE]
    assert meta['backbone'] == 'efficientnet_lite0' and meta['divide_by'] == 255
    loaded = load_segmenter(tmp/'model')
    paths = sorted((root/'images').iterdir())
    (_, a), (tb, b) = predict_segmenter(model, paths), predict_segmenter(loaded, paths, out_dir=tmp/'pred')
    assert all(x.shape == (SIZE, SIZE) and np.array_equal(x, y) for x, y in zip(a, b))
    assert tb.columns.tolist() == ['file', 'height', 'width', 'mean_probability', 'share_class 0', 'share_class 1'] and len(tb) == len(paths)
    np.testing.assert_allclose(tb[['share_class 0', 'share_class 1']].sum(axis=1), 1)
    np.testing.assert_array_equal(read_mask(tmp/'pred'/'case0.png'), b[0])
    with pytest.raises(FileExistsError, match='already exist'): predict_segmenter(loaded, paths[:1], out_dir=tmp/'pred')


def test_a_non_empty_out_dir_is_refused_and_left_untouched(trained, tmp_path):
    _, root, _, _ = trained
    out = tmp_path/'mine'; out.mkdir(); (out/'notes.txt').write_text('my notes')
    with pytest.raises(FileExistsError, match='already holds notes.txt: pass overwrite=True'):
        train_segmenter(root, out, steps=1, groups=None)
    assert [p.name for p in out.iterdir()] == ['notes.txt'] and (out/'notes.txt').read_text() == 'my notes'
    with pytest.raises(FileExistsError):  # checked before the folder is even read
        train_segmenter(tmp_path/'no_such_folder', out, steps=1)


def test_a_saved_model_is_not_overwritten(trained):
    tmp, root, _, _ = trained
    before = hashlib.sha256((tmp/'model'/'model.safetensors').read_bytes()).hexdigest()
    with pytest.raises(FileExistsError): train_segmenter(root, tmp/'model', steps=1, groups=None)
    assert hashlib.sha256((tmp/'model'/'model.safetensors').read_bytes()).hexdigest() == before


def test_load_refuses_weights_of_another_model_and_other_folders(trained, tmp_path):
    tmp, _, _, _ = trained
    other = tmp_path/'other'; other.mkdir()
    (other/'model.safetensors').write_bytes((tmp/'model'/'model.safetensors').read_bytes())
    meta = json.loads((tmp/'model'/'config.json').read_text()); meta['classes'] = ['a', 'b', 'c']  # the config describes a 3-class head
    (other/'config.json').write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r'does not fit this model.*shape mismatch.*head.classifier'):
        load_segmenter(other)
    (other/'config.json').write_text(json.dumps({**meta, 'task': 'image-classifier'}))
    with pytest.raises(ValueError, match="holds a 'image-classifier' model, not a 'segmenter'"): load_segmenter(other)
    with pytest.raises(FileNotFoundError, match='holds no config.json'): load_segmenter(tmp_path)

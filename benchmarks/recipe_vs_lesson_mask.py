"""The mask-folder recipe against lesson 41's best method, on the lesson's data, paired by seed.

Data: lesson 40's `brain_slices()`, the data lesson 41 (nbs/vision/41_unet_transfer.ipynb) measures on: 128 x 96
axial slices of the MNI152 2009a T1 template (nilearn; an average of 152 real brains) with tissue labels (background,
grey matter, white matter) from the template's own probability maps, and lesson 40's slab split. The slices are
real; every training image the lesson's side sees is a synthetic augmentation of them, made inside `train_unet`; the
recipe's side gets the labelled slices as they are (a user's folder holds no augmentations) and augments them its own
way. All of it is one brain.

Test set, shared by both sides: the test slabs and the validation slab (16 + 8 slices), unaugmented. Neither side
trains or chooses anything on them (the lesson's fixed budget never looks at its validation slab), and both are at
least three slices from any training slice.

Labelled items per (size, seed): at 2 slices, one slice drawn at random (by the seed) from each half of the training
stack (the lesson's `spread_pick` takes the middle of each part; a seeded position in each part keeps the spread and
lets the seed vary the slices); with all slices, all 31 training slices. Both sides get the same slices.

- Recipe: the slices written as images/ + masks/ PNGs named `slabSS_ZZZ.png` (lesson 40's slabs of eight slices as
  the volumes, as recipe 43's own practice folder names them), `train_segmenter(folder, out_dir, seed=seed)` with its
  defaults, then `predict_segmenter` on the test slices written as PNG files.
- Lesson: its best method at that size, through `train_unet` with the lesson's budget (80 steps of 8 augmented
  slices, lr 2e-3): fine-tuned at 2 slices (lesson 41's record: Dice 0.793 against 0.772 frozen), frozen encoder with
  all slices (0.748 against 0.744 fine-tuned: the lesson's own `best` at all slices, though the two are not told apart).

Score: mean foreground Dice as lesson 41 defines it (`dice_per_class` pooled over the test pixels, NaN for a class
absent from both, nanmean over grey and white matter). The summary per size gives the mean paired difference
recipe - lesson, its standard error (sd of the differences / sqrt(seeds)), a 95 % t-interval, and whether the recipe
is below the lesson by more than two standard errors.

Run (12 minutes on one thread of a 2-core machine that was running other work too, load average 3-4):
    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/recipe_vs_lesson_mask.py
    ... --quick   (2 slices, seed 0, 4 test slices, 4 lesson steps: checks that the script runs; writes nothing)
"""
import argparse, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from transfer_cookbook.datasets.brain import SliceDataset, brain_slices
from transfer_cookbook.vision.mask_folder import predict_segmenter, train_segmenter
from transfer_cookbook.vision.segment import dice_per_class, predict_masks, train_unet

from paired_report import machine, report, summarise

LESSON = dict(steps=80, batch_size=8, lr=2e-3)  # lesson 41's budget per run (STEPS, BATCH, LR in the full lesson)
LESSON_BEST = {2: 'fine-tuned', 'all': 'frozen encoder'}  # its best method at each size, from its results of record (5, 10: fine-tuned)


def foreground_dice(pred, truth) -> float:
    "Lesson 41's score: pooled Dice of grey and white matter (NaN for a class absent from both), averaged."
    return float(np.nanmean(dice_per_class(np.asarray(pred), np.asarray(truth), 3)[1:]))


def draw_slices(train: np.ndarray, n, seed: int, slab: np.ndarray) -> np.ndarray:
    "`n` training slices, one at a seeded random position in each of n equal parts of the stack; all of them for 'all'."
    if n == 'all' or n >= len(train): return train
    rng, edges = np.random.default_rng(seed), (np.arange(n + 1) * len(train) / n).astype(int)
    while True:  # the recipe validates on whole volumes (slabs): a draw inside one slab, which it must refuse, is drawn again
        pick = train[[rng.integers(a, b) for a, b in zip(edges[:-1], edges[1:])]]
        if len(set(slab[pick])) > 1: return pick


def write_pairs(images, labels, names, folder: Path) -> list:
    "Each slice as folder/images/NAME.png (8-bit grey) and, with labels, folder/masks/NAME.png (class indices); the image paths."
    (folder/'images').mkdir(parents=True); (folder/'masks').mkdir()
    for img, name in zip(images, names): Image.fromarray((img * 255).round().astype(np.uint8)).save(folder/'images'/f'{name}.png')
    for lab, name in zip(labels if labels is not None else [], names): Image.fromarray(lab.astype(np.uint8)).save(folder/'masks'/f'{name}.png')
    return [folder/'images'/f'{name}.png' for name in names]


def recipe_side(images, labels, names, test_files, test_labels, seed, work: Path) -> dict:
    "The recipe with its defaults on the labelled slices written as a mask folder, scored on the test files."
    write_pairs(images, labels, names, work/'labelled')
    start = time.perf_counter()
    model, rep = train_segmenter(work/'labelled', work/'model', seed=seed)
    seconds = time.perf_counter() - start
    _, masks = predict_segmenter(model, test_files)
    return {'dice': foreground_dice(np.stack(masks), test_labels), 'seconds': seconds, 'steps': rep['steps'],
            'train_items': rep['train_items']}


def lesson_side(method, images, labels, test_images, test_labels, seed, budget) -> dict:
    "Lesson 41's `method` through its `train_unet`, on the same labelled slices, scored on the same test slices."
    start = time.perf_counter()
    train_ds = SliceDataset(images, labels, length=budget['steps'] * budget['batch_size'], seed=seed)  # one pass = the budget
    _, learn = train_unet(method, train_ds, batch_size=budget['batch_size'], lr=budget['lr'], seed=seed)
    seconds = time.perf_counter() - start
    return {'dice': foreground_dice(predict_masks(learn.model, test_images), test_labels), 'seconds': seconds}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', nargs='+', default=['2', 'all'], help="labelled training slices: numbers or 'all'")
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--quick', action='store_true', help='2 slices, seed 0, 4 test slices, 4 lesson steps; writes nothing')
    args = ap.parse_args()
    sizes = [s if s == 'all' else int(s) for s in args.sizes]
    budget, n_test = dict(LESSON), None
    if args.quick: sizes, args.seeds, budget['steps'], n_test = [2], [0], 4, 4
    info = machine()
    print(f"torch {info['torch']}, {info['torch_threads']} thread(s), commit {info['commit']}, load {info['load_average_at_start']}")

    data = brain_slices()
    images, labels, split, z = data['images'], data['labels'], data['split'], data['z']
    slab = (z - z.min()) // 8  # lesson 40's slabs (slab_split's default of 8 slices): the recipe's volumes
    names = np.array([f'slab{s:02d}_{v:03d}' for s, v in zip(slab, z)])
    test = np.concatenate([split['test'], split['valid']])[:n_test]
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='tc-bench-mask-') as tmp:
        test_files = write_pairs(images[test], None, names[test], Path(tmp)/'test')
        for n in sizes:
            method = LESSON_BEST.get(n, 'fine-tuned')
            for seed in args.seeds:
                pick = draw_slices(split['train'], n, seed, slab)
                r = recipe_side(images[pick], labels[pick], names[pick], test_files, labels[test], seed, Path(tmp)/f'n{n}_seed{seed}')
                l = lesson_side(method, images[pick], labels[pick], images[test], labels[test], seed, budget)
                rows.append({'labelled_slices': n if n == 'all' else len(pick), 'seed': seed, 'recipe_dice': r['dice'],
                             'lesson_dice': l['dice'], 'difference': r['dice'] - l['dice'], 'lesson_method': method,
                             'recipe_seconds': round(r['seconds'], 1), 'lesson_seconds': round(l['seconds'], 1),
                             'recipe_steps': r['steps'], 'recipe_train_slices': r['train_items'], 'slices': ' '.join(map(str, z[pick])) if n != 'all' else 'all'})
                print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1), flush=True)
    runs = pd.DataFrame(rows)
    wall = time.perf_counter() - start
    notes = (f"Recipe: `train_segmenter(folder, out_dir, seed=seed)` with its defaults (images/ + masks/ PNGs named by lesson 40's slabs). "
             f"Lesson: lesson 41's `train_unet` with its best method at that size ({', '.join(f'{k}: {v}' for k, v in LESSON_BEST.items())}), "
             f"{budget['steps']} steps of {budget['batch_size']} augmented slices, lr {budget['lr']}. Data: MNI152 2009a T1 template slices "
             f"(real; the lesson's training images are synthetic augmentations of them), lesson 40's slab split; labelled slices: {len(split['train'])} "
             f"training slices, or one seeded draw per equal part of the stack (`slices`: their z); test: {len(test)} slices (test slabs + validation slab), "
             f"unaugmented, shared. Dice: mean pooled foreground Dice (lesson 41's). `difference` = recipe - lesson; seconds: each side's "
             f"training call (the recipe's includes reading its folder and saving its model). Benchmark wall time: {wall / 60:.1f} min.")
    report('mask', 'Mask-folder recipe vs lesson 41 (U-Net transfer), MNI152 brain slices', notes, runs,
           {'Dice': summarise(runs, 'labelled_slices', 'dice')},
           {**info, 'wall_minutes': round(wall / 60, 1), 'test_slices': len(test), 'lesson_budget': budget}, write=not args.quick)


if __name__ == '__main__':
    main()

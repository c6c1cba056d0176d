"""The image-folder recipe against lesson 10's best method, on the lesson's data, paired by seed.

Data: Fashion-MNIST (Zalando; real photographs of clothing, read offline from Debian's dataset-fashion-mnist), the
data lesson 10 (nbs/lessons/10_vision_cnn.ipynb) measures on. Nothing is synthesized. The labelled items of a run are
`sample_per_class(train labels, k, seed)`, exactly the images the lesson's own seeded runs use at k labels per class;
the test set is the lesson's: 500 test images per class (5,000, `sample_per_class(test labels, 500, seed=123)`),
the same for every run and both sides.

- Recipe: the labelled images written as PNG class folders, `train_image_classifier(folder, out_dir, seed=seed)`
  with its defaults, then `predict_image_classifier` on the test images written as PNG files.
- Lesson: its best method at 20 to 100 labels per class, fine-tuning (`transfer('fine-tuning', ...)`: head warm-up on
  cached features, then the whole network at depth-wise rates, 200 optimiser steps, 64 x 64 inputs). The lesson finds
  fine-tuning ahead of frozen features by more than two standard errors over three seeds at 20, 50 and 100 labels
  per class, and both far ahead of training from scratch.

Sizes: 20 and 100 labels per class (the smallest and largest of the sizes lesson 10 runs with three seeds), seeds
0, 1, 2. Scores: accuracy and macro-F1 (scikit-learn). The summary per size gives the mean paired difference
recipe - lesson, its standard error (sd of the differences / sqrt(seeds)), a 95 % t-interval, and whether the recipe
is below the lesson by more than two standard errors.

Run (35 minutes on one thread of a 2-core machine that was running other work too, load average 3-4; most of it is
the recipe's 200-250 whole-network steps at 128 x 128 per run, and scoring it on 5,000 test files):
    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/recipe_vs_lesson_image.py
    ... --quick   (tiny sizes, one seed, a small test set: checks that the script runs; writes nothing)
"""
import argparse, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.metrics import accuracy_score, f1_score

from transfer_cookbook.core.files import sample_per_class
from transfer_cookbook.core.learner import predict_batches
from transfer_cookbook.datasets.fashion import FASHION_CLASSES, images_to_tensor, load_fashion_mnist
from transfer_cookbook.lessons.vision_cnn import transfer
from transfer_cookbook.vision.image_folder import predict_image_classifier, train_image_classifier

from paired_report import machine, report, summarise

LESSON_STEPS = 200  # lesson 10's budget per run (STEPS in the full lesson)
FOLDERS = [f'{c:02d}_' + ''.join(ch if ch.isalnum() else '_' for ch in name.lower()) for c, name in enumerate(FASHION_CLASSES)]


def scores(y_true, y_pred) -> dict:
    return {'accuracy': accuracy_score(y_true, y_pred), 'macro_f1': f1_score(y_true, y_pred, average='macro')}


def write_pngs(images: np.ndarray, labels: np.ndarray, folder: Path) -> list:
    "Each 28 x 28 greyscale image as folder/<class>/<index>.png; the paths, in the order given."
    paths = []
    for i, (img, c) in enumerate(zip(images, labels)):
        (folder/FOLDERS[c]).mkdir(parents=True, exist_ok=True)
        paths.append(folder/FOLDERS[c]/f'{i:05d}.png'); Image.fromarray(img).save(paths[-1])
    return paths


def recipe_side(images, labels, test_files, y_test, seed, work: Path) -> dict:
    "The recipe with its defaults on the labelled images written as class folders, scored on the test files."
    write_pngs(images, labels, work/'labelled')
    start = time.perf_counter()
    model, rep = train_image_classifier(work/'labelled', work/'model', seed=seed)
    seconds = time.perf_counter() - start
    predicted = predict_image_classifier(model, test_files).predicted.map({f: c for c, f in enumerate(FOLDERS)})
    return {**scores(y_test, predicted.to_numpy()), 'seconds': seconds, 'whole_network_steps': rep['steps']}


def lesson_side(images, labels, x_test, y_test, seed, steps) -> dict:
    "Lesson 10's fine-tuning, through the lesson's `transfer`, on the same labelled images, scored on the same test images."
    x = images_to_tensor(images)  # 64 x 64, ImageNet-normalised: the lesson's input
    start = time.perf_counter()
    # `transfer` scores its model on the test set it is given: one image here, the full test set below with scikit-learn
    _, model = transfer('fine-tuning', x, labels, x_test[:1], y_test[:1], steps=steps, seed=seed)
    seconds = time.perf_counter() - start
    predicted = predict_batches(model, x_test, 256).argmax(1).numpy()
    return {**scores(y_test, predicted), 'seconds': seconds}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[20, 100], help='labelled images per class')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--test-per-class', type=int, default=500, help="test images per class (the lesson's: 500)")
    ap.add_argument('--quick', action='store_true', help='3 labels per class, seed 0, 20 test images per class, 20 lesson steps; writes nothing')
    args = ap.parse_args()
    steps = LESSON_STEPS
    if args.quick: args.sizes, args.seeds, args.test_per_class, steps = [3], [0], 20, 20
    info = machine()
    print(f"torch {info['torch']}, {info['torch_threads']} thread(s), commit {info['commit']}, load {info['load_average_at_start']}")

    x_pool, y_pool = load_fashion_mnist('train')
    x_all, y_all = load_fashion_mnist('test')
    t_idx = sample_per_class(y_all, args.test_per_class, seed=123)  # lesson 10's test sample
    x_test, y_test = x_all[t_idx], y_all[t_idx]
    x_test_t = images_to_tensor(x_test)
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='tc-bench-image-') as tmp:
        test_files = write_pngs(x_test, y_test, Path(tmp)/'test')
        for k in args.sizes:
            for seed in args.seeds:
                idx = sample_per_class(y_pool, k, seed=seed)  # the lesson's labelled images for (k, seed)
                work = Path(tmp)/f'k{k}_seed{seed}'
                r = recipe_side(x_pool[idx], y_pool[idx], test_files, y_test, seed, work)
                l = lesson_side(x_pool[idx], y_pool[idx], x_test_t, y_test, seed, steps)
                rows.append({'labels_per_class': k, 'seed': seed, 'recipe_accuracy': r['accuracy'], 'lesson_accuracy': l['accuracy'],
                             'difference': r['accuracy'] - l['accuracy'], 'recipe_macro_f1': r['macro_f1'], 'lesson_macro_f1': l['macro_f1'],
                             'recipe_seconds': round(r['seconds'], 1), 'lesson_seconds': round(l['seconds'], 1),
                             'recipe_steps': r['whole_network_steps']})
                print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1), flush=True)
    runs = pd.DataFrame(rows)
    wall = time.perf_counter() - start
    notes = (f"Recipe: `train_image_classifier(folder, out_dir, seed=seed)` with its defaults (PNG class folders of the labelled "
             f"images). Lesson: lesson 10's fine-tuning (`transfer('fine-tuning', ..., steps={steps})`, 64 x 64), its best method "
             f"at 20-100 labels per class. Data: Fashion-MNIST (real, not synthesized); labelled images `sample_per_class(train, k, seed)` "
             f"(the lesson's); test: {len(y_test)} test images ({args.test_per_class} per class, seed 123, the lesson's), shared. "
             f"`difference` = recipe - lesson accuracy; seconds: each side's training call (the recipe's includes reading its folder "
             f"and saving its model). Benchmark wall time: {wall / 60:.1f} min.")
    report('image', 'Image-folder recipe vs lesson 10 (fine-tuning), Fashion-MNIST', notes, runs,
           {'accuracy': summarise(runs, 'labels_per_class', 'accuracy'), 'macro-F1': summarise(runs, 'labels_per_class', 'macro_f1')},
           {**info, 'wall_minutes': round(wall / 60, 1), 'test_images': len(y_test), 'lesson_steps': steps}, write=not args.quick)


if __name__ == '__main__':
    main()

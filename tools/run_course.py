"""Run the whole course: execute every lesson in nbs/ in a real Jupyter kernel, then summarise what each measured.

Executed copies go to _build/executed/, the lessons' results JSON files (`save_results`) to _build/results/,
and the summary of those results to _build/summary.md. nbs/ itself is never written to.

    .venv/bin/python tools/run_course.py                # full run on the offline defaults
    .venv/bin/python tools/run_course.py --quick        # small budgets, as the tests use
    .venv/bin/python tools/run_course.py --only '1*'    # only the notebooks whose names match
    .venv/bin/python tools/run_course.py --build-dir /tmp/b   # executed/, results/, summary.md under /tmp/b
    .venv/bin/python tools/run_course.py --jobs 2       # two notebooks side by side, one torch thread each
    .venv/bin/python tools/run_course.py --force        # execute everything, even what the cache holds

Executed notebooks are cached (jupyter-cache, in BUILD/cache/): a notebook runs again only when its code cells,
the library modules it imports (directly or through other modules), the mode or, for a page that reads other lessons' results, those results
changed; a hit restores the executed copy and the results it saved.

With --jobs N, notebooks run side by side in N kernels, each with cores/N torch threads; a notebook that reads other
lessons' saved results (the summary page) runs after all of them. Seconds measured that way are marked as such.
"""
import argparse, copy, fcntl, fnmatch, hashlib, json, os, re, shutil, signal, sys, tempfile, time
from concurrent.futures import ProcessPoolExecutor, as_completed
import multiprocessing
from configparser import ConfigParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbcells import ANSI, directives  # noqa: E402

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.main import NbArtifacts
except ImportError as e:
    sys.exit(f"{e}: run this with the project's Python, .venv/bin/python (create it with `make setup`).")

ROOT = Path(__file__).resolve().parents[1]
NBS, BUILD = ROOT/'nbs', ROOT/'_build'
EXECUTED, RESULTS = BUILD/'executed', BUILD/'results'
SKIP_TAG = 'skip-execution'  # nbclient leaves cells with this tag unexecuted


def shown(path):
    "`path` as a user reads it: relative to the repository when it lies inside."
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def notebooks(pattern):
    "The lessons to run, in course order: notebooks under nbs/ whose names match `pattern`, minus `_private` ones."
    found = [p for p in NBS.rglob('*.ipynb')
             if not any(part.startswith(('_', '.')) for part in p.relative_to(NBS).parts)
             and (fnmatch.fnmatch(p.stem, pattern) or fnmatch.fnmatch(p.name, pattern))]
    return sorted(found, key=lambda p: p.stem)  # the numbers give the order, whichever package folder holds it


def mark_skipped_cells(nb, skip_flags):
    "Tag the cells nbdev's test runner would also skip: `#| eval: false`, flagged cells, and `nbdev_export()` calls."
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        d = directives(cell.source)[0]
        # the export call would write into transfer_cookbook/: the course runner only reads the library
        if d.get('eval') == 'false' or skip_flags & d.keys() or 'nbdev_export(' in cell.source:
            tags = cell.metadata.setdefault('tags', [])
            if SKIP_TAG not in tags: tags.append(SKIP_TAG)


def where(nb, index):
    "A cell as a reader finds it: its number from 1 and its first line of code."
    first_line = next((l for l in nb.cells[index].source.splitlines() if not l.startswith('#|')), '')
    return f"cell {index + 1} ({first_line.strip()[:60]!r})"


def reads_other_results(path):
    "True if the notebook reads lessons' saved results (`course_curves`, or `load_results` of another notebook)."
    code = '\n'.join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == 'code')
    names = re.findall(r"load_results\(\s*['\"]([^'\"]+)['\"]", code)
    lessons = {p.stem for p in NBS.rglob('*.ipynb')} - {path.stem}
    return 'course_curves(' in code or bool(lessons & set(names))


def timed_run(path, skip_flags, timeout, executed):
    "`run_notebook` with its wall-clock seconds: (ok, error message, seconds). Top-level, so a worker process can run it."
    start = time.time()
    ok, err = run_notebook(path, skip_flags, timeout, executed)
    return ok, err, time.time() - start


def run_notebook(path, skip_flags, timeout, executed=None):
    "Execute `path` in a fresh kernel with cwd = its folder; write the executed copy; return (ok, error message)."
    nb = nbformat.read(path, as_version=4)
    out = (executed or EXECUTED)/path.relative_to(NBS)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not any(c.cell_type == 'code' for c in nb.cells):  # a page of prose (the home page): nothing to run
        nbformat.write(nb, out)
        return True, None
    mark_skipped_cells(nb, skip_flags)
    running = {}  # the cell being executed, and the kernel's process (to tell how it ended if it dies)
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', store_widget_state=True,
                            resources={'metadata': {'path': str(path.parent)}},
                            extra_arguments=['--IPKernelApp.log_level=ERROR'],  # no 'TCP without encryption' noise
                            on_notebook_start=lambda notebook: running.update(
                                process=getattr(getattr(client.km, 'provisioner', None), 'process', None)),
                            on_cell_start=lambda cell, cell_index: running.update(index=cell_index))
    err = None
    # The kernel's temporary files (the recipes save whole models under tempfile.mkdtemp(): 500 MB for the text one) go in
    # a folder of its own, removed when the notebook ends, so repeated runs and test runs do not fill the disk.
    scratch = tempfile.mkdtemp(prefix='tc-k-')  # short: the site shows paths under it as …/ (build_site.TEMP_DIR)
    try: client.execute(env={**os.environ, 'TMPDIR': scratch})
    except CellExecutionError as e: err = f"{e.ename}: {e.evalue}"
    except Exception as e:  # a timeout, a dead kernel
        while e.__context__ is not None and not e.__suppress_context__:
            e = e.__context__  # nbclient's clean-up can fail on top of the error that matters
        err = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
        proc = running.get('process')
        if isinstance(e, DeadKernelError) and proc is not None and (proc.poll() or 0) < 0:
            err += f" (it got {signal.Signals(-proc.returncode).name})"  # SIGKILL: out of memory, or killed
    finally: shutil.rmtree(scratch, ignore_errors=True)
    if err and 'index' in running: err = f"{where(nb, running['index'])}: {err}"
    nbformat.write(nb, out)  # failed notebooks too: the error is in the copy, next to the cell that raised it
    return err is None, err




def traceback_of(executed):
    "The traceback of the error an executed notebook holds (colour codes stripped), or ''."
    try: nb = nbformat.read(executed, as_version=4)
    except Exception: return ''
    errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.output_type == 'error']
    return ANSI.sub('', '\n'.join(errors[-1].traceback)) if errors else ''


def write_status(path, ok, err, secs, executed, mode=None):
    "`executed`/NAME.status.json: how a notebook's run ended (and in which mode), for the test suite and the site."
    out = (executed/path.relative_to(NBS)).with_suffix('.status.json')
    tb = '' if ok else traceback_of(executed/path.relative_to(NBS))
    tmp = out.with_name(out.name + '.tmp')
    tmp.write_text(json.dumps(dict(notebook=path.stem, ok=ok, error=err, seconds=round(secs, 1), mode=mode,
                                   traceback=tb[-8000:])))
    tmp.replace(out)  # atomic: a reader never sees half a file


# --- the cache of executed notebooks ---------------------------------------------------------------------------------
def digest(files):
    "sha256 over the names and contents of `files`."
    h = hashlib.sha256()
    for f in sorted(files): h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f.name).encode()); h.update(f.read_bytes())
    return h.hexdigest()[:16]


def library_files(code):
    "The library's files that `code` imports, directly or through other modules of the library (plus its assets)."
    pkg = ROOT/'transfer_cookbook'
    def module_file(dotted):  # 'vision.segment' -> transfer_cookbook/vision/segment.py (or a package's __init__.py)
        base = pkg.joinpath(*dotted.split('.')) if dotted else pkg
        return next((f for f in (base.with_suffix('.py'), base/'__init__.py') if f.is_file()), None)
    def refs(text, package=''):  # modules named by `transfer_cookbook.X.Y`, `from .X import`, `from ..X import a, b`
        found = set(re.findall(r'\btransfer_cookbook\.([a-z_0-9.]*[a-z_0-9])', text))
        for dots, name, names in re.findall(r'from\s+(\.+)([a-z_0-9.]*)\s+import\s+\(?([a-zA-Z_0-9, \n]+)', text):
            parts = package.split('.') if package else []
            base = '.'.join(parts[:len(parts) - (len(dots) - 1)] + ([name] if name else []))
            found.add(base)
            found |= {f"{base}.{n.strip()}".strip('.') for n in names.split(',') if n.strip()}
        for names in re.findall(r'from\s+transfer_cookbook\s+import\s+([a-z_0-9, ]+)', text):
            found |= {n.strip() for n in names.split(',')}
        return {m for m in found if module_file(m) is not None}
    todo, seen = refs(code), set()
    while todo:
        m = todo.pop(); seen.add(m)
        f = module_file(m)
        package = m if f.name == '__init__.py' else m.rpartition('.')[0]
        todo |= refs(f.read_text(), package) - seen
    assets = [p for p in (pkg/'assets').rglob('*') if p.is_file()] if (pkg/'assets').exists() else []
    return sorted({pkg/'__init__.py', *(module_file(m) for m in seen), *assets})


def cache_key(path, quick, skip_flags, results):
    "What, besides the notebook's code, decides what executing it gives: the library code it imports, mode, results read."
    code = '\n'.join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == 'code')
    lib = digest(library_files(code))
    read = digest(p for p in results.glob('*.json') if p.stem != path.stem) if reads_other_results(path) else '-'
    return f"# run_course cache key: mode={'quick' if quick else 'full'} skip={','.join(sorted(skip_flags)) or '-'} library={lib} results_read={read}"


def keyed(nb, key):
    "`nb` as the cache sees it: the key as a first code cell, no kernelspec, cells' metadata reduced to their tags."
    nb = copy.deepcopy(nb)
    nb.metadata.pop('kernelspec', None)
    for c in nb.cells:
        tags = c.metadata.get('tags')
        c.metadata = nbformat.from_dict({'tags': tags} if tags else {})
    nb.cells.insert(0, nbformat.v4.new_code_cell(key, id='run-course-cache-key'))
    return nb


def from_cache(cache, path, key, skip_flags, executed, results):
    "On a hit: write the cached executed copy and the results it saved; return True. On a miss: False."
    source = nbformat.read(path, as_version=4)
    mark_skipped_cells(source, skip_flags)  # as run_notebook tags them before executing
    try: pk, nb = cache.merge_match_into_notebook(keyed(source, key))
    except KeyError: return False
    del nb.cells[0]  # the key
    out = executed/path.relative_to(NBS)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    with cache.cache_artefacts_temppath(pk) as folder:
        for f in Path(folder).glob('*.json'): shutil.copy2(f, results/f.name)
    return True


def to_cache(cache, path, key, executed, results):
    "Keep a successful execution (and the results file it saved) for the next run."
    nb = keyed(nbformat.read(executed/path.relative_to(NBS), as_version=4), key)
    saved = [results/f'{path.stem}.json'] if (results/f'{path.stem}.json').exists() else []
    cache.cache_notebook_bundle(CacheBundleIn(nb, str(path), artifacts=NbArtifacts(saved, in_folder=results)),
                                check_validity=False, overwrite=True)


def fmt(v):
    "A value for the summary: floats to 3 significant digits, long lists shortened."
    if isinstance(v, float): return f'{v:.3g}'
    if isinstance(v, dict): return '{' + ', '.join(f'{k}: {fmt(x)}' for k, x in v.items()) + '}'
    if isinstance(v, list):
        items = [fmt(x) for x in v[:8]] + ([f'... ({len(v)} items)'] if len(v) > 8 else [])
        return '[' + ', '.join(items) + ']'
    return str(v)


def table(records, indent):
    "A list of dicts (one per run, say) as an aligned table."
    cols = list(dict.fromkeys(k for r in records for k in r))
    rows = [cols] + [[fmt(r.get(c, '')) for c in cols] for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    line = lambda cells: indent + '| ' + ' | '.join(c.ljust(w) for c, w in zip(cells, widths)) + ' |'
    return [line(rows[0]), indent + '|' + '|'.join('-' * (w + 2) for w in widths) + '|', *map(line, rows[1:])]


def result_lines(d, depth=0):
    for k, v in d.items():
        pad = '  ' * depth
        if isinstance(v, dict) and v:
            yield f"{pad}- {k}:"
            yield from result_lines(v, depth + 1)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            yield f"{pad}- {k}:"
            yield from table(v, pad + '  ')
        else: yield f"{pad}- {k}: {fmt(v)}"


# The course's time budgets for one notebook on a 2-core machine: its quick run (the tests) and its full run (a learner's).
BUDGET = {True: 30, False: 15 * 60}


def over_budget(runs, quick):
    "(name, seconds) of every notebook that ran (not cached) longer than its mode's budget."
    return [(name, secs) for name, ok, secs, _, hit in runs if not hit and secs > BUDGET[quick]]


def summary(runs, quick, jobs=1):
    "Markdown: how each notebook ran (and which ran over the time budget), then every lesson's saved results."
    lines = [f"# Transfer Cookbook: course run ({'quick' if quick else 'full'} mode)", '']
    if jobs > 1: lines += [f"{jobs} notebooks ran side by side: their seconds, and the training times they report, "
                           "were measured beside another run.", '']
    lines += ['| notebook | status | seconds |', '|---|---|---|']
    lines += [f"| {name} | {'ok' if ok else 'FAILED'}{' (cached)' if hit else ''} | {'-' if hit else f'{secs:.0f}'}"
              f"{' (over budget)' if not hit and secs > BUDGET[quick] else ''} |" for name, ok, secs, _, hit in runs]
    over = over_budget(runs, quick)
    lines += ['', f"Time budget per notebook in {'quick' if quick else 'full'} mode: {BUDGET[quick]} s on 2 cores. "
              + (f"Over it: {', '.join(f'{n} ({s:.0f} s)' for n, s in over)}." if over else "Every notebook that ran is within it.")]
    files = sorted(RESULTS.glob('*.json'))
    if not files: lines += ['', '(no lesson saved results)']
    for f in files:
        data = json.loads(f.read_text())
        mode = ' (quick run)' if data.pop('quick_mode', False) else ''
        lines += ['', f'## {f.stem}{mode}', *result_lines(data)]
    return '\n'.join(lines) + '\n'


def main():
    global BUILD, EXECUTED, RESULTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true', help='small budgets (TC_QUICK=1), as the tests run')
    ap.add_argument('--only', default='*', metavar='PATTERN', help="glob on notebook names, e.g. '1*' or '10_vision_cnn'")
    ap.add_argument('--timeout', type=int, default=1800, help='seconds one cell may run (default 1800)')
    ap.add_argument('--build-dir', type=Path, default=BUILD, metavar='DIR',
                    help='where executed/, results/ and summary.md go (default _build/)')
    ap.add_argument('--force', action='store_true', help='execute every notebook, even those the cache holds')
    ap.add_argument('--jobs', type=int, default=1, metavar='N',
                    help='notebooks executed side by side, each kernel with cores/N threads (default 1)')
    args = ap.parse_args()
    BUILD = args.build_dir.resolve()
    EXECUTED, RESULTS = BUILD/'executed', BUILD/'results'

    BUILD.mkdir(exist_ok=True)
    lock = open(BUILD/'.run_course.lock', 'w')  # two runs in one tree would overwrite each other's results
    try: fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError: sys.exit(f"Another run_course.py is running in {ROOT}: wait for it to finish.")

    nbs = notebooks(args.only)
    if not nbs: sys.exit(f"No notebook in {NBS} matches {args.only!r}.")
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    # flagged cells (`#| slow`) are part of a full run; quick mode skips them as the tests do
    skip_flags = set(cfg['DEFAULT'].get('tst_flags', '').split()) if args.quick else set()

    # the kernel inherits this environment
    os.environ['TC_QUICK'] = '1' if args.quick else '0'
    os.environ.pop('IN_TEST', None)
    os.environ.pop('MPLBACKEND', None)  # let the kernel's inline backend put figures into the notebooks
    os.environ['TC_RESULTS_DIR'] = str(RESULTS)
    os.environ['JUPYTER_PREFER_ENV_PATH'] = '1'  # the venv's 'python3' kernel before a user-wide one
    os.environ.setdefault('PYDEVD_DISABLE_FILE_VALIDATION', '1')
    RESULTS.mkdir(parents=True, exist_ok=True)

    jobs = max(1, min(args.jobs, len(nbs)))
    if jobs > 1:  # never more threads than cores: OpenMP threads waiting on each other slow training many-fold
        os.environ['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // jobs))
    print(f"Running {len(nbs)} notebook(s) in {'quick' if args.quick else 'full'} mode"
          f"{f', {jobs} at a time' if jobs > 1 else ''} -> {shown(EXECUTED)}/", flush=True)
    for path in nbs:  # no numbers or verdicts left from an earlier run
        (RESULTS/f'{path.stem}.json').unlink(missing_ok=True)
        (EXECUTED/path.relative_to(NBS)).with_suffix('.status.json').unlink(missing_ok=True)
    label = lambda path: str(path.relative_to(NBS).with_suffix(''))
    cache, keys, done = get_cache(str(BUILD/'cache')), {}, {}
    def report(path, ok, err, secs, started=False, cached=False):  # started: "[i/n] name ..." is already printed
        done[path] = (label(path), ok, secs, err, cached)
        write_status(path, ok, err, secs, EXECUTED, 'quick' if args.quick else 'full')
        if ok and not cached: to_cache(cache, path, keys[path], EXECUTED, RESULTS)
        print(('' if started else f"[{len(done)}/{len(nbs)}] {label(path)} ... ")
              + ('ok (cached)' if cached else f"{'ok' if ok else 'FAILED'} ({secs:.1f} s)")
              + ('' if ok else f"\n      {err}"), flush=True)
    def cached(path):  # a cache hit is reported at once and not executed
        keys[path] = cache_key(path, args.quick, skip_flags, RESULTS)
        if args.force or not from_cache(cache, path, keys[path], skip_flags, EXECUTED, RESULTS): return False
        report(path, True, None, 0.0, cached=True)
        return True
    # readers of other lessons' results (the summary page) go after everything they could read
    waves = [[p for p in nbs if not reads_other_results(p)], [p for p in nbs if reads_other_results(p)]]
    for wave in waves:
        wave = [p for p in wave if not cached(p)]
        if jobs == 1:
            for path in wave:
                print(f"[{len(done) + 1}/{len(nbs)}] {label(path)} ...", end=' ', flush=True)
                report(path, *timed_run(path, skip_flags, args.timeout, EXECUTED), started=True)
            continue
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context('spawn')) as pool:
            futures = {pool.submit(timed_run, path, skip_flags, args.timeout, EXECUTED): path for path in wave}
            for f in as_completed(futures): report(futures[f], *f.result())
    runs = [done[p] for p in nbs]
    failures = [(n, err) for n, ok, _, err, _ in runs if not ok]

    text = summary(runs, args.quick, jobs)
    (BUILD/'summary.md').write_text(text)
    print('\n' + text + f"\n(written to {shown(BUILD/'summary.md')})")
    if failures:
        print(f"\n{len(failures)} notebook(s) failed (executed copies with the tracebacks are in "
              f"{shown(EXECUTED)}/):", file=sys.stderr)
        for name, err in failures: print(f"  {name}: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()

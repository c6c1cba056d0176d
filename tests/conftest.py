import os, tempfile

# Plain tests that import the library run in quick mode and write results to a scratch folder rather than the user's
# ~/.cache, so a test run never overwrites the numbers a full course run saved.
os.environ.setdefault('IN_TEST', '1')
os.environ.setdefault('TC_RESULTS_DIR', tempfile.mkdtemp(prefix='tc-test-results-'))
os.environ.setdefault('MPLBACKEND', 'Agg')
# The course run below uses both cores; one torch thread here keeps the plain tests from oversubscribing a 2-core
# machine, where OpenMP threads that wait for each other can slow training ten-fold. Set before anything imports torch.
os.environ.setdefault('OMP_NUM_THREADS', '1')


# --- one execution of every notebook, shared by the notebook tests and the website tests ---------------------------
# Started as soon as collection ends, in a subprocess, in a scratch folder (_build/ is left alone):
#   1. tools/run_course.py --quick --jobs 2: every notebook once, in a real Jupyter kernel; each notebook's verdict
#      lands in executed/NAME.status.json as soon as it finishes (test_notebooks.py waits for it);
#   2. tools/build_site.py --allow-errors: the website from those same executed notebooks (test_site.py);
#   3. with TC_TEST_FULL=1 only (`make test-full`): tools/run_course.py --only '*_recipe' --jobs 2 in full mode
#      (test_recipes_full.py, which is not collected otherwise). Full mode costs about 600 CPU-seconds, as much as
#      everything else together; the default run guards what it was added for by plain tests at full data size
#      (test_text_csv_roundtrip.py, every tweet) and each recipe's default budget path (test_recipe_defaults.py).
# A failing notebook does not stop the chain: it is test_notebooks.py's finding, and the site is still built.
import json, shlex, signal, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE_RUN = pytest.StashKey()
FULL = os.environ.get('TC_TEST_FULL', '').strip().lower() in ('1', 'true', 'yes')
collect_ignore = [] if FULL else ['test_recipes_full.py']  # not collected, so never reported as passed or skipped


class CourseRun:
    "The background execution: where its outputs go, and waiting for one of them."
    def __init__(self, proc, scratch, keep=True):
        self.proc, self.scratch, self.keep = proc, scratch, keep
        self.quick, self.full, self.log = scratch/'quick', scratch/'full', scratch/'run.log'

    def wait_for(self, path, what, timeout=3600):
        "Wait until `path` exists; fail (never skip) if the run ended without writing it."
        t0 = time.time()
        while not path.exists():
            if self.proc.poll() is not None and not path.exists():
                pytest.fail(f"the course run ended (exit {self.proc.returncode}) without {what}:\n"
                            f"{self.log.read_text()[-5000:] if self.log.exists() else '(no log)'}", pytrace=False)
            if time.time() - t0 > timeout: pytest.fail(f"no {what} after {timeout} s (log: {self.log})", pytrace=False)
            time.sleep(0.5)
        return path

    def status(self, nb, full=False):
        "How `nb` ran: {ok, error, seconds, traceback} from run_course.py's status file."
        folder = (self.full if full else self.quick)/'executed'
        f = self.wait_for((folder/nb.relative_to(ROOT/'nbs')).with_suffix('.status.json'), f"a verdict for {nb.name}")
        return json.loads(f.read_text())


def course_command(scratch):
    py, tools = shlex.quote(sys.executable), ROOT/'tools'
    q, f = shlex.quote(str(scratch/'quick')), shlex.quote(str(scratch/'full'))
    return (f"{py} {tools/'run_course.py'} --quick --jobs 2 --build-dir {q}; "
            f"{py} {tools/'build_site.py'} --allow-errors --build-dir {q}"
            + (f"; {py} {tools/'run_course.py'} --only '*_recipe' --jobs 2 --build-dir {f}" if FULL else ''))


def pytest_collection_modifyitems(session, config, items):
    "The full-mode recipe runs come last in the chain, so their tests go last: the site's tests need not wait for them."
    items.sort(key=lambda item: item.nodeid.startswith('tests/test_recipes_full.py'))


def pytest_collection_finish(session):
    if session.config.option.collectonly: return
    if not any(item.nodeid.startswith(('tests/test_notebooks.py', 'tests/test_site.py', 'tests/test_recipes_full.py'))
               for item in session.items): return
    if os.environ.get('TC_COURSE_RUN_DIR'):  # a run made earlier (the same three commands into that folder): reuse it
        scratch = Path(os.environ['TC_COURSE_RUN_DIR']).resolve()
        session.config.stash[COURSE_RUN] = CourseRun(subprocess.Popen(['true']), scratch)
        return
    scratch = Path(tempfile.mkdtemp(prefix='tc-course-'))
    env = {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'TC_RESULTS_DIR', 'MPLBACKEND', 'OMP_NUM_THREADS')}
    log = (scratch/'run.log').open('w')
    proc = subprocess.Popen(['bash', '-c', course_command(scratch)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own process group: stopped whole, kernels included
    session.config.stash[COURSE_RUN] = CourseRun(proc, scratch, keep=False)


@pytest.fixture(scope='session')
def course_run(request):
    run = request.config.stash.get(COURSE_RUN, None)
    if run is None: pytest.fail('the course run was not started (conftest.py starts it after collection)')
    return run


def budget_lines(run):
    "Each notebook's seconds against its time budget, from the course run's summaries; read once (the folder may go)."
    if getattr(run, 'budget', None) is None:
        run.budget = []
        for mode, folder in (('quick', run.quick), ('full (recipes)', run.full)):
            if not (folder/'summary.md').exists(): continue
            text = (folder/'summary.md').read_text().splitlines()
            rows = [l.split('|') for l in text if l.startswith('| ') and not l.startswith('| notebook')]
            run.budget += [f'course run, {mode} mode: seconds per notebook',
                           ', '.join(f"{r[1].strip().rpartition('/')[2]} {r[3].strip()}" for r in rows),
                           *[l for l in text if l.startswith('Time budget')]]
    return run.budget


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    "Printed, never asserted: how long each notebook took, and which went over its budget."
    run = config.stash.get(COURSE_RUN, None)
    if run is not None and not FULL:
        terminalreporter.write_line('The recipes in full mode were not run (tests/test_recipes_full.py): `make test-full` runs them.')
    for i, line in enumerate(budget_lines(run) if run is not None else []):
        if line.startswith('course run,'): terminalreporter.write_sep('-', line)
        else: terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    run = session.config.stash.get(COURSE_RUN, None)
    if run is not None and exitstatus == 0 and run.proc.poll() is None:  # the last verdict is in; the summary follows it
        try: run.proc.wait(timeout=60)
        except subprocess.TimeoutExpired: pass
    if run is not None: budget_lines(run)  # before the folder goes
    if run is not None and not run.keep and exitstatus == 0:  # kept after a failure: its log and notebooks tell why
        import shutil; shutil.rmtree(run.scratch, ignore_errors=True)
    elif run is not None and exitstatus != 0:
        print(f"\nthe course run's executed notebooks and log are kept in {run.scratch}")


def pytest_unconfigure(config):
    run = config.stash.get(COURSE_RUN, None)
    if run and run.proc.poll() is None:  # pytest stopped early (-x, Ctrl-C): stop the run and its kernels too
        try: os.killpg(run.proc.pid, signal.SIGTERM)
        except ProcessLookupError: pass

import os, tempfile

# Notebooks run as tests in quick mode, and write their results to a scratch folder rather than
# the user's ~/.cache, so a test run never overwrites the numbers a full course run saved.
os.environ.setdefault('IN_TEST', '1')
os.environ.setdefault('TC_RESULTS_DIR', tempfile.mkdtemp(prefix='tc-test-results-'))
os.environ.setdefault('MPLBACKEND', 'Agg')
# The site build (below) executes the notebooks in a second process while the notebook tests run here. One torch thread
# each keeps the two from oversubscribing a 2-core machine, where OpenMP threads that wait for each other can slow
# training ten-fold. Set before anything imports torch.
os.environ.setdefault('OMP_NUM_THREADS', '1')


# --- the website build for tests/test_site.py ---------------------------------------------------------------------
# Started as soon as collection ends, in a subprocess, so it executes the notebooks (one kernel, one core) while the
# notebook tests run beside it; test_site.py waits for it. Built in a scratch folder: _build/ is left alone.
import subprocess, sys
from pathlib import Path
import pytest

SITE_BUILD = pytest.StashKey()
SITE_SCRATCH = pytest.StashKey()


def pytest_collection_finish(session):
    if not any(item.nodeid.startswith('tests/test_site.py') and 'site' in getattr(item, 'fixturenames', ())
               for item in session.items): return
    root = Path(__file__).resolve().parents[1]
    if os.environ.get('TC_SITE_BUILD_DIR'):  # a site built earlier (tools/build_site.py --build-dir DIR): no build
        build_dir = Path(os.environ['TC_SITE_BUILD_DIR']).resolve()
        session.config.stash[SITE_BUILD] = (subprocess.Popen(['true']), build_dir, build_dir/'build.log')
        return
    build_dir = Path(tempfile.mkdtemp(prefix='tc-site-'))
    log = build_dir/'build.log'
    env = {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'TC_RESULTS_DIR', 'MPLBACKEND')}
    env['TC_RESULTS_DIR'] = str(build_dir/'results')
    # --allow-errors: a notebook that fails is test_notebooks.py's finding; the site is still built and checked
    proc = subprocess.Popen([sys.executable, str(root/'tools'/'build_site.py'), '--quick', '--allow-errors',
                             '--build-dir', str(build_dir)], cwd=root, env=env,
                            stdout=log.open('w'), stderr=subprocess.STDOUT)
    session.config.stash[SITE_BUILD] = (proc, build_dir, log)
    session.config.stash[SITE_SCRATCH] = build_dir


def pytest_sessionfinish(session, exitstatus):
    scratch = session.config.stash.get(SITE_SCRATCH, None)
    if scratch is not None and exitstatus == 0:  # kept after a failure: its build.log and pages tell why
        import shutil; shutil.rmtree(scratch, ignore_errors=True)


def pytest_unconfigure(config):
    build = config.stash.get(SITE_BUILD, None)
    if build and build[0].poll() is None: build[0].kill()

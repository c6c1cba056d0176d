import os, tempfile

# Notebooks run as tests in quick mode, and write their results to a scratch folder rather than
# the user's ~/.cache, so a test run never overwrites the numbers a full course run saved.
os.environ.setdefault('IN_TEST', '1')
os.environ.setdefault('TC_RESULTS_DIR', tempfile.mkdtemp(prefix='tc-test-results-'))
os.environ.setdefault('MPLBACKEND', 'Agg')

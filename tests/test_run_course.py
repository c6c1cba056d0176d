"""The course runner's own logic, without executing a notebook: what a cache key depends on, which pages wait for
the others' results, and the status file a failed notebook leaves."""
import json, sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import run_course  # noqa: E402


def test_library_files_follow_imports_through_the_library():
    files = {p.name for p in run_course.library_files('from transfer_cookbook.core.learner import Learner')}
    assert {'__init__.py', 'learner.py', 'env.py'} <= files  # learner imports env
    assert 'text.py' not in files and '_modidx.py' not in files
    assert {p.name for p in run_course.library_files('import numpy')} == {'__init__.py'} | \
           {p.name for p in (ROOT/'transfer_cookbook'/'assets').rglob('*') if p.is_file()}


def test_only_pages_that_read_other_lessons_results_wait_for_them():
    readers = [p.stem for p in run_course.notebooks('*') if run_course.reads_other_results(p)]
    assert readers == ['59_promises'], readers


def test_the_cache_key_changes_with_the_mode_and_with_results_a_reader_reads(tmp_path):
    page = ROOT/'nbs'/'lessons'/'59_promises.ipynb'
    (tmp_path/'10_vision_cnn.json').write_text('{"curve": []}')
    k1 = run_course.cache_key(page, True, {'slow'}, tmp_path)
    assert k1 == run_course.cache_key(page, True, {'slow'}, tmp_path)
    assert k1 != run_course.cache_key(page, False, set(), tmp_path)
    (tmp_path/'10_vision_cnn.json').write_text('{"curve": [1]}')
    assert k1 != run_course.cache_key(page, True, {'slow'}, tmp_path)
    lesson = ROOT/'nbs'/'lessons'/'10_vision_cnn.ipynb'  # a lesson does not depend on other results
    assert run_course.cache_key(lesson, True, set(), tmp_path).endswith('results_read=-')


def test_a_failed_notebook_leaves_its_error_and_traceback(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1/0')])
    nb.cells[0].outputs = [nbformat.v4.new_output('error', ename='ZeroDivisionError', evalue='division by zero',
                                                  traceback=['\x1b[31mZeroDivisionError\x1b[39m: division by zero'])]
    path = ROOT/'nbs'/'99_fake.ipynb'  # where it would be; only its name is used
    nbformat.write(nb, tmp_path/'99_fake.ipynb')
    run_course.write_status(path, False, "cell 1 ('1/0'): ZeroDivisionError: division by zero", 1.0, tmp_path)
    status = json.loads((tmp_path/'99_fake.status.json').read_text())
    assert status['ok'] is False and 'cell 1' in status['error']
    assert status['traceback'] == 'ZeroDivisionError: division by zero'  # colour codes stripped


def test_the_summary_names_notebooks_over_their_time_budget():
    runs = [('lessons/10_vision_cnn', True, 31.0, None, False), ('core/00_env', True, 3.0, None, False),
            ('lessons/20_text_sentiment', True, 0.0, None, True)]  # cached: not timed, never over
    assert run_course.over_budget(runs, quick=True) == [('lessons/10_vision_cnn', 31.0)]
    assert run_course.over_budget(runs, quick=False) == []
    text = run_course.summary(runs, quick=True)
    assert '| lessons/10_vision_cnn | ok | 31 (over budget) |' in text and 'Over it: lessons/10_vision_cnn (31 s).' in text
    assert 'Every notebook that ran is within it.' in run_course.summary(runs[1:], quick=True)


def test_a_notebooks_temporary_files_are_removed_when_it_ends(tmp_path, monkeypatch):
    "The recipes save whole models under tempfile.mkdtemp() (500 MB for the text one); a run must not leave them behind."
    monkeypatch.setattr(run_course, 'NBS', tmp_path)
    made = "import tempfile, pathlib\nd = pathlib.Path(tempfile.mkdtemp()); (d/'model.bin').write_bytes(b'x' * 1000)\nprint(d)"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(made)]), tmp_path/'t.ipynb')
    ok, err = run_course.run_notebook(tmp_path/'t.ipynb', set(), 120, tmp_path/'out')
    assert ok, err
    folder = Path(nbformat.read(tmp_path/'out'/'t.ipynb', as_version=4).cells[0].outputs[0]['text'].strip())
    assert folder.parent.name.startswith('tc-k-'), folder  # the kernel's own scratch folder...
    assert not folder.parent.exists()  # ...gone, with what the notebook wrote there

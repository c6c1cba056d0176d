"""Every notebook in nbs/ runs top to bottom in quick mode, in a real Jupyter kernel.

The execution is the one conftest.py starts after collection (tools/run_course.py --quick --jobs 2): each notebook
is executed once, and the same executed copies become the website that test_site.py checks. One pytest test per
notebook waits for that notebook's verdict, so a failure names its notebook, the cell and the traceback, and the run
ends with pytest's summary line. Cells tagged with a flag from settings.ini's `tst_flags` (`#| slow`) and
`#| eval: false` cells are skipped, as nbdev's own test runner skips them.
"""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
                   if '.ipynb_checkpoints' not in p.parts and not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1, f"no notebooks found under {ROOT/'nbs'}"


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NOTEBOOKS])
def test_notebook_runs(nb, course_run):
    s = course_run.status(nb)
    if not s['ok']:
        pytest.fail(f"{nb.name} failed in quick mode after {s['seconds']:.0f} s: {s['error']}\n{s['traceback'][-6000:]}\n"
                    f"(executed copy: {course_run.quick/'executed'/nb.relative_to(ROOT/'nbs')})", pytrace=False)

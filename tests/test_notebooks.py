"""Every notebook in nbs/ runs top to bottom through nbdev's own test machinery, in quick mode.

One pytest test per notebook, so a failure names its notebook and the run ends with pytest's summary line.
Cells tagged with a flag from settings.ini's `tst_flags` (`#| slow`) and `#| eval: false` cells are skipped,
exactly as `nbdev_test` skips them.
"""
from pathlib import Path

import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook  # aliased: pytest would collect `test_nb`

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
                   if '.ipynb_checkpoints' not in p.parts and not p.name.startswith('_'))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1, f"no notebooks found under {ROOT/'nbs'}"


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NOTEBOOKS])
def test_notebook_runs(nb, capsys):
    ok, secs = run_notebook(nb, skip_flags=get_config(ROOT).tst_flags.split(), basepath=ROOT)
    if not ok:
        err = capsys.readouterr().err
        pytest.fail(f'{nb.name} failed after {secs:.0f}s:\n{err[-6000:]}', pytrace=False)

"""Every recipe notebook (`nbs/*_recipe.ipynb`) also runs in FULL mode, on the data sizes a learner's run uses.

Quick mode once hid a recipe that could not read back its own CSV: 16 tweets per class held none of the characters
that 400 did. The recipes are cheap at full size (about a minute each on two cores), so the suite runs them as a
learner would, `#| slow` cells included, in addition to their quick run in test_notebooks.py.
"""
from pathlib import Path

import pytest
from nbdev.test import test_nb as run_notebook  # aliased: pytest would collect `test_nb`

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT/'nbs').rglob('*_recipe.ipynb'))


def test_there_are_recipes():
    assert len(RECIPES) >= 4, f"expected the four recipe notebooks under {ROOT/'nbs'}, found {RECIPES}"


@pytest.mark.parametrize('nb', RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_runs_in_full_mode(nb, capsys, monkeypatch):
    monkeypatch.setenv('TC_QUICK', '0')  # `quick(full, small)` picks full although IN_TEST is set
    ok, secs = run_notebook(nb, skip_flags=[], basepath=ROOT)
    if not ok:
        err = capsys.readouterr().err
        pytest.fail(f'{nb.name} failed in full mode after {secs:.0f}s:\n{err[-6000:]}', pytrace=False)

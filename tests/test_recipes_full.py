"""Every recipe notebook (`nbs/*_recipe.ipynb`) also runs in FULL mode, on the data sizes a learner's run uses.

Quick mode once hid a recipe that could not read back its own CSV: 16 tweets per class held none of the characters
that 400 did. `make test-full` (TC_TEST_FULL=1) runs them as a learner would, `#| slow` cells included
(tools/run_course.py --only '*_recipe' in full mode, started by conftest.py after the quick run), in addition to their
quick run in test_notebooks.py. It takes about 600 CPU-seconds, as much as the rest of the suite, so plain `make test`
does not collect this file; it guards the same failures more cheaply with test_text_csv_roundtrip.py (every tweet of
the corpus, through every CSV writer) and test_recipe_defaults.py (each recipe's default `steps=None` budget path).
"""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT/'nbs').rglob('*_recipe.ipynb'))


def test_there_are_recipes():
    assert len(RECIPES) >= 4, f"expected the four recipe notebooks under {ROOT/'nbs'}, found {RECIPES}"


@pytest.mark.parametrize('nb', RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_runs_in_full_mode(nb, course_run):
    s = course_run.status(nb, full=True)
    if not s['ok']:
        pytest.fail(f"{nb.name} failed in FULL mode after {s['seconds']:.0f} s: {s['error']}\n{s['traceback'][-6000:]}\n"
                    f"(executed copy: {course_run.full/'executed'/nb.relative_to(ROOT/'nbs')})", pytrace=False)

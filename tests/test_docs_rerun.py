"""Cells that nbdev re-runs when it builds the docs must be able to run there.

nbdev's docs processing (`exec_show_docs`) executes again every exported cell, every `show_doc` cell and every cell
that contains an import, in a fresh namespace made of those cells alone. A lesson cell that imports something and then
uses a name from an ordinary cell (a temp folder, a trained model) fails the site build only, minutes into the course
run (it did: `06_files`, `tmp` undefined). So: a cell with an import holds imports only. The one exception is the
lesson clock, `_lesson_start = _time.perf_counter()`, which needs nothing but `_time`.
"""
import ast, warnings
from pathlib import Path

import pytest
from execnb.nbio import mk_cell, new_nb
from nbdev.process import NBProcessor
from nbdev.processors import _do_eval

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
RERUN_ANYWAY = {'export', 'exports', 'exporti', 'exec_doc'}   # meant to run in the docs: nbdev's own directives
ALLOWED = {'_lesson_start = _time.perf_counter()'}


def rerun_trouble(cell):
    "What in `cell` nbdev's docs build would re-run although it is lesson code (empty when nothing)."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')          # nbdev warns about exactly these cells; the test names them instead
        if not _do_eval(cell) or cell.directives_.keys() & RERUN_ANYWAY: return []
    trees = cell.parsed_()
    if not any(isinstance(n, (ast.Import, ast.ImportFrom)) for t in trees for n in ast.walk(t)):
        return []                                # a show_doc cell
    return [ast.unparse(t) for t in trees
            if not isinstance(t, (ast.Import, ast.ImportFrom)) and ast.unparse(t) not in ALLOWED]


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_with_imports_hold_only_imports(nb):
    found = {cell.idx_: rerun_trouble(cell) for cell in NBProcessor(nb).nb.cells if cell.cell_type == 'code'}
    found = {i: stmts for i, stmts in found.items() if stmts}
    assert not found, (f'{nb.relative_to(ROOT)}: cells {sorted(found)} mix imports with other code, which nbdev re-runs '
                       f'when it builds the site (first: {found[min(found)][0]!r}). Move the imports into a cell of '
                       f'their own (tests/test_docs_rerun.py says why).')


def test_the_check_catches_a_mixed_cell():
    mixed, *fine = NBProcessor(nb=new_nb([mk_cell(s) for s in (
        'import torch\nnet = make(tmp)',
        'import torch\nfrom pathlib import Path', 'import time as _time\n_lesson_start = _time.perf_counter()',
        'net = make(tmp)', '#| export\nimport torch\nX = 1')])).nb.cells
    assert rerun_trouble(mixed) == ['net = make(tmp)']
    for cell in fine: assert rerun_trouble(cell) == [], cell.source

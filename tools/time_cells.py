"""Time every code cell of a notebook in quick mode (as the tests run it): python tools/time_cells.py nbs/04_learner.ipynb

TC_SHOW=1 also prints each cell's text output; TC_QUICK=0 runs the full budgets."""
import os, sys, time
from pathlib import Path
os.environ.setdefault('IN_TEST', '1'); os.environ.setdefault('MPLBACKEND', 'Agg')
from execnb.nbio import read_nb
from execnb.shell import CaptureShell

nb_path = Path(sys.argv[1]).resolve()
os.chdir(nb_path.parent); sys.path.insert(0, str(nb_path.parent.parent))
shell = CaptureShell(nb_path)
total = 0.0
for i, cell in enumerate(read_nb(nb_path).cells):
    if cell.cell_type != 'code' or 'nbdev_export(' in cell.source or 'eval: false' in cell.source: continue
    t = time.perf_counter(); outs = shell.run(cell.source); dt = time.perf_counter() - t; total += dt
    if os.environ.get('TC_SHOW'):  # also print each cell's text output (TC_SHOW=1)
        for o in outs or []:
            text = o.get('text') or (o.get('data') or {}).get('text/plain') or ''
            print(''.join(text) if isinstance(text, list) else text)
    if shell.exc: print(f'cell {i} FAILED:', ''.join(__import__('traceback').format_exception(shell.exc))[-3000:]); break
    print(f'{dt:7.2f}s  cell {i}: {cell.source.strip().splitlines()[0][:70]}')
print(f'{total:7.2f}s  total')

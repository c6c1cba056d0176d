"""The GPU-machine scripts without a GPU: the carry covers every package lessons 10 and 41 import, the run script
parses, and the comparison puts two runs' tables side by side."""
import json, re, subprocess, sys
from importlib.metadata import packages_distributions
from pathlib import Path

import nbformat
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import gpu_carry, gpu_compare, run_course  # noqa: E402


def imported_distributions(notebook):
    "The installed distributions that a notebook's executed cells, and the library modules they use, import."
    cells = [c.source for c in nbformat.read(notebook, as_version=4).cells
             if c.cell_type == 'code' and 'nbdev_export(' not in c.source]  # the runner skips the export cell
    code = '\n'.join(cells + [f.read_text() for f in run_course.library_files('\n'.join(cells)) if f.suffix == '.py'])
    tops = set(re.findall(r'^\s*(?:from|import)\s+([A-Za-z_]\w*)', code, re.M))
    tops -= set(sys.stdlib_module_names) | {'transfer_cookbook', '__future__'}
    dists = packages_distributions()
    missing = sorted(t for t in tops if t not in dists)
    assert not missing, f"{notebook.name} imports {missing}, which no installed distribution provides"
    return {canonicalize_name(d) for t in tops for d in dists[t]}


def test_the_carry_and_the_device_hold_every_package_the_two_lessons_import():
    carried = {canonicalize_name(n) for names in gpu_carry.PARTS.values() for n in names}
    for lesson in gpu_carry.CALLS:
        notebook = next((ROOT/'nbs').rglob(f'{lesson}.ipynb'))
        lacking = imported_distributions(notebook) - carried - gpu_carry.DEVICE_HAS
        assert not lacking, f"{lesson} imports {sorted(lacking)}: add them to PARTS in tools/gpu_carry.py"


def test_the_run_script_parses():
    subprocess.run(['bash', '-n', str(ROOT/'tools'/'gpu_lessons.sh')], check=True)


def test_compare_puts_the_cpu_run_beside_the_gpu_run(tmp_path, capsys):
    for run, acc, secs in (('cpu', 0.81, 100), ('gpu', 0.8, 20)):
        (tmp_path/run/'results').mkdir(parents=True)
        (tmp_path/run/'results'/'10_vision_cnn.json').write_text(json.dumps(
            {'accuracy': {'10 labels/class': {'fine-tuning': acc}}, 'lesson_seconds': secs, 'data': 'words'}))
    sys.argv = ['gpu_compare.py', str(tmp_path/'gpu'), str(tmp_path/'cpu'/'results')]
    gpu_compare.main()
    out = capsys.readouterr().out
    assert '- lesson_seconds: 100 / 20 (the GPU run 5x as fast)' in out
    assert '| 10 labels/class | 0.81 / 0.8 |' in out and 'accuracy (CPU / GPU)' in out

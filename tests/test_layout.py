"""The library's layout rules (README, "Where code goes"), checked on the generated modules' imports.

- core/ (environment, learner, interpretation, files and splits) imports no domain, no course dataset, no lesson code;
- the domain packages (vision/, text/, audio/) import core/ and their own package only: no other domain, no course
  dataset (datasets/), no lesson code (lessons/);
- datasets/ may use the API; lessons/ may use anything;
- every module is generated from one notebook that sits in the folder of the same name under nbs/, so the notebook
  behind any function is one step away (`nbs/<package>/NN_name.ipynb`, named in the module's first lines).
"""
import ast, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'transfer_cookbook'
CORE, DOMAINS, COURSE = {'core'}, {'vision', 'text', 'audio'}, {'datasets', 'lessons'}

# Known exceptions, each with the change that removes it. The test fails if one disappears without being removed here.
KNOWN = {}


def modules():
    return sorted(p for p in PKG.rglob('*.py') if not p.name.startswith('_'))


def dotted(path):
    return '.'.join(path.relative_to(PKG).with_suffix('').parts)


def imported(path, text=None):
    "The transfer_cookbook modules `path` (or `text`, as if it were that file) imports, as dotted names ('core.env')."
    package = dotted(path).rpartition('.')[0].split('.') if path.name != '__init__.py' else dotted(path).split('.')[:-1]
    found = set()
    for node in ast.walk(ast.parse(text if text is not None else path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] + (node.module.split('.') if node.module else [])
                found.add('.'.join(base))
            elif node.module and node.module.startswith('transfer_cookbook.'):
                found.add(node.module.removeprefix('transfer_cookbook.'))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix('transfer_cookbook.') for a in node.names if a.name.startswith('transfer_cookbook.')}
    return found


def test_the_layout_has_its_packages():
    assert {p.name for p in PKG.iterdir() if p.is_dir() and (p/'__init__.py').exists()} >= CORE | DOMAINS | COURSE
    assert not [p.name for p in PKG.glob('*.py') if p.name not in ('__init__.py', '_modidx.py')], \
        "a module at the top of the package: put it in core/, a domain, datasets/ or lessons/"


def allowed(me, other):
    "May module `me` import module `other` (dotted names under transfer_cookbook)?"
    mine, theirs = me.split('.')[0], other.split('.')[0]
    if mine in CORE: return theirs == 'core'
    if mine in DOMAINS: return theirs in {'core', mine}
    if mine == 'datasets': return theirs != 'lessons'
    return True


def test_imports_follow_the_placement_rule():
    broken, seen_known = [], set()
    for path in modules():
        me = dotted(path)
        for other in sorted(imported(path)):
            if allowed(me, other): continue
            if (me, other) in KNOWN: seen_known.add((me, other)); continue
            broken.append(f"{me} imports {other}")
    assert not broken, ("reusable code imports what it must not (README, 'Where code goes'): " + '; '.join(broken))
    assert seen_known == set(KNOWN), f"fixed, so remove from KNOWN: {set(KNOWN) - seen_known}"


def test_the_rule_catches_each_kind_of_forbidden_import():
    probe = PKG/'audio'/'keywords.py'
    text = ('from ..core.env import seed_everything\nfrom .features import log_mel\n'
            'from ..datasets.speech import synthesize\nfrom transfer_cookbook.lessons.promises import course_curves\n'
            'from ..vision.models import load_backbone\n')
    found = imported(probe, text)
    assert found == {'core.env', 'audio.features', 'datasets.speech', 'lessons.promises', 'vision.models'}, found
    assert [o for o in sorted(found) if not allowed('audio.keywords', o)] == ['datasets.speech', 'lessons.promises', 'vision.models']
    assert not allowed('core.learner', 'vision.models') and allowed('datasets.brain', 'vision.segment')
    assert not allowed('datasets.speech', 'lessons.promises') and allowed('lessons.shift', 'datasets.fashion')


@pytest.mark.parametrize('path', modules(), ids=dotted)
def test_each_module_names_its_notebook_in_the_folder_of_its_package(path):
    m = re.search(r'File to edit: (\S+?)\.?$', path.read_text().split('\n__all__')[0], re.M)
    assert m, f"{path.relative_to(ROOT)} does not say which notebook it is generated from"
    nb = (path.parent/m[1]).resolve()
    assert nb.exists(), nb
    assert nb.parent.relative_to(ROOT/'nbs').as_posix() == path.parent.relative_to(PKG).as_posix(), \
        f"{path.relative_to(ROOT)} comes from {nb.relative_to(ROOT)}: move the notebook to nbs/{path.parent.relative_to(PKG)}/"
    cells = json.loads(nb.read_text())['cells']
    assert any(re.search(r'#\|\s*default_exp\s+' + re.escape(dotted(path)) + r'\b', ''.join(c['source'])) for c in cells)


# Jobs every domain needs, each solved once (issue 14 listed them solved once per domain): the definition's one home,
# and a mark of the job's code that must not appear in a second module (a copy that does not call the shared one).
SHARED_DEFINITIONS = {
    'files_under': 'core.files', 'is_hidden': 'core.files', 'broken_link': 'core.files', 'short_list': 'core.files',
    'BadFilesError': 'core.files', 'refuse_or_skip': 'core.files', 'check_none_emptied': 'core.files',
    'split_by_class': 'core.files', 'split_by_group': 'core.files', 'group_of': 'core.files',
    'check_out_dir': 'core.files', 'writing_dir': 'core.files', 'export_onnx': 'core.files', 'read_model_config': 'core.files',
    'predict_batches': 'core.learner', 'count_parameters': 'core.learner', 'BATCHNORM_TYPES': 'core.learner',
    'quiet_transformers': 'core.env',
}
SHARED_CODE = {  # the job -> (a regular expression its code matches, the one module allowed to hold it)
    'walking a folder': (r'os\.walk\(', 'core.files'),
    'exporting to ONNX': (r'torch\.onnx\.export\(', 'core.files'),
    'warning about skipped bad files': (r'warn\(f"Skipping \{len\(bad\)\}', 'core.files'),
    'the bad-files error message': (r'pass skip_bad=True to train without them', 'core.files'),
    'counting parameters': (r'\.numel\(\) for p in', 'core.learner'),
    'listing BatchNorm types': (r'nn\.BatchNorm1d', 'core.learner'),
    'silencing transformers': (r'set_verbosity', 'core.env'),
}


def defined_names(path):
    "Names a module defines at its top level (functions, classes, assignments)."
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(node.name)
        elif isinstance(node, ast.Assign): names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_each_shared_job_is_defined_once():
    homes = {name: sorted(dotted(p) for p in modules() if name in defined_names(p)) for name in SHARED_DEFINITIONS}
    assert homes == {name: [home] for name, home in SHARED_DEFINITIONS.items()}, homes


@pytest.mark.parametrize('job', SHARED_CODE)
def test_each_shared_job_has_one_copy(job):
    pattern, home = SHARED_CODE[job]
    holders = sorted(dotted(p) for p in modules() if re.search(pattern, p.read_text()))
    assert holders == [home], f"{job}: found in {holders}, expected only in {home} (call it from there instead of copying it)"


def test_the_copy_check_finds_a_copy(tmp_path):
    copy = tmp_path/'copy.py'
    copy.write_text('def n(model): return sum(p.numel() for p in model.parameters())\nclass BadFilesError(ValueError): pass\n')
    assert re.search(SHARED_CODE['counting parameters'][0], copy.read_text())
    assert 'BadFilesError' in defined_names(copy)

"""Build the course website from executed notebooks, and write README.md from nbs/index.ipynb.

The pages are the notebooks as tools/run_course.py executed them (their outputs come from the current code),
processed by nbdev (`show_doc` for every exported symbol, `#| hide` cells dropped, exported source folded away)
and rendered by Sphinx + myst-nb with sphinx-book-theme into _build/site/. Each `show_doc` becomes a Sphinx
Python-domain entry (class, method under its class, function; a parameter table from the docments), so the site has
a general index, an objects.inv, backticked names linked to their entries (tools/site/tc_api.py), and a first
reference page listing every module's `__all__`. The home page is for readers (tools/site/landing.md: a figure from a
lesson, where to start, a card per lesson, how to run it); nbs/index.ipynb, the README, is the page `readme`. Nothing is fetched when a page is
viewed: the widget renderer and MathJax are vendored from npm, at pinned versions, when the site is built.

    .venv/bin/python tools/build_site.py                # from _build/executed/ (a quick execution when empty)
    .venv/bin/python tools/build_site.py --quick        # execute every notebook quickly first, then build
    .venv/bin/python tools/build_site.py --readme       # only write README.md from nbs/index.ipynb
    .venv/bin/python tools/build_site.py --check-readme # fail when README.md is not what --readme writes
"""
import argparse, base64, copy, dataclasses, functools, hashlib, inspect, json, re, shutil, subprocess, sys, tarfile, time
from configparser import ConfigParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbcells import ANSI, directives  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NBS, BUILD = ROOT/'nbs', ROOT/'_build'
SITE_CONF = ROOT/'tools'/'site'

# Vendored JavaScript: npm package, version, the tarball's sha512 (npm's `integrity`) and the files the site needs.
VENDOR = {
    'html-manager': ('@jupyter-widgets/html-manager', '1.0.15',
                     'sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==',
                     ['dist/embed.js', 'dist/embed.js.LICENSE.txt', 'dist/*.woff*', 'dist/*.ttf',
                                      'dist/*.eot', 'dist/*.svg', 'LICENSE']),
    'mathjax': ('mathjax', '2.7.9',
                'sha512-NOGEDTIM9+MrsqnjPEjVGNx4q0GQxqm61yQwSK+/5S59i26wId5IC5gNu9/bu8+CCVl5p9G2IHcAl/wJa+5+BQ==',
                ['MathJax.js', 'LICENSE', 'config/TeX-AMS_CHTML.js', 'extensions/**', 'jax/input/TeX/**',
                 'jax/element/**', 'jax/output/CommonHTML/**', 'fonts/HTML-CSS/TeX/woff/**',
                 'fonts/HTML-CSS/TeX/otf/**', 'localization/en/**']),
}

WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
# A scratch folder a notebook made (tempfile's /tmp/tmpk3t4fac0/, /tmp/tc-02-data-5u8g0018/), inside the kernel's own
# one when tools/run_course.py ran it (/tmp/tc-k-1x2y3z4w/tmpk3t4fac0/), or the checkout the run happened in: its name
# means nothing to a reader, and changes with every run. The files under it are what matter.
# Left alone: /tmp/ipykernel_*, the mark of a warning printed with the cell's file and line, which core.env's
# notebook display should have kept from the output (tests/test_site.py looks for it).
TEMP_DIR = re.compile(r'/tmp/(?!ipykernel_)(?:tc-k-[^/\s\'"<>]+/)?[^/\s\'"<>]+/')


def settings():
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    return cfg['DEFAULT']


def page_notebooks(folder):
    "Notebooks in `folder` that become pages, in course order: the README (index), lessons and recipes, API reference."
    nbs = [p for p in folder.rglob('*.ipynb') if not any(part.startswith(('_', '.')) for part in p.relative_to(folder).parts)]
    order = lambda p: (p.stem != 'index', p.stem[:1] == '0', p.stem)
    return sorted(nbs, key=order)


# --- README from nbs/index.ipynb -------------------------------------------------------------------------------------
def readme_text():
    "README.md: the markdown cells of nbs/index.ipynb, with links to notebooks pointing into nbs/."
    nb = json.loads((NBS/'index.ipynb').read_text())
    cells = [''.join(c['source']).strip() for c in nb['cells'] if c['cell_type'] == 'markdown']
    text = '\n\n'.join(c for c in cells if c)
    text = re.sub(r'\]\((?!\w+://)([\w./-]+\.ipynb)\)', r'](nbs/\1)', text)
    return ('<!-- Generated from nbs/index.ipynb by tools/build_site.py (make readme): edit the notebook, '
            'not this file. -->\n\n' + text + '\n')


def write_readme():
    (ROOT/'README.md').write_text(readme_text())
    print('wrote README.md from nbs/index.ipynb')


def check_readme():
    if (ROOT/'README.md').read_text() != readme_text():
        sys.exit('README.md is not what nbs/index.ipynb says: run `make readme` (tools/build_site.py --readme) '
                 'and commit README.md.')
    print('README.md matches nbs/index.ipynb')


# --- vendored JavaScript --------------------------------------------------------------------------------------------
def vendor(dest, cache):
    "Unpack the pinned npm packages' needed files into `dest`/<name>/ (tarballs kept in `cache`)."
    cache.mkdir(parents=True, exist_ok=True)
    for name, (pkg, version, integrity, patterns) in VENDOR.items():
        tgz = cache/f"{pkg.lstrip('@').replace('/', '-')}-{version}.tgz"
        if not tgz.exists():
            r = subprocess.run(['npm', 'pack', f'{pkg}@{version}', '--pack-destination', str(cache), '--silent'],
                               capture_output=True, text=True)
            if r.returncode or not tgz.exists():
                sys.exit(f"npm pack {pkg}@{version} failed (npm needs its cache or the registry):\n{r.stderr}")
        digest = 'sha512-' + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if digest != integrity:
            tgz.unlink()
            sys.exit(f"{pkg}@{version}: the tarball's {digest} is not the pinned {integrity}")
        out = dest/name
        if out.exists(): shutil.rmtree(out)
        with tarfile.open(tgz) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and any(
                Path(m.name).relative_to('package').match(p) or _under(m.name, p) for p in patterns)]
            for m in members:
                target = out/Path(m.name).relative_to('package')
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(m).read())
        if not (out/Path(patterns[0]).name).exists() and not (out/patterns[0]).exists():
            sys.exit(f"vendoring {pkg}@{version}: {patterns[0]} missing from the package")


def _under(member, pattern):
    "True if tar `member` (package/...) lies under `pattern` when it ends in /**."
    return pattern.endswith('/**') and Path(member).relative_to('package').as_posix().startswith(pattern[:-2])


# --- nbdev's processing ---------------------------------------------------------------------------------------------
def nbdev_process(sources, dest, workers):
    "Run nbdev's docs processors (what `nbdev.serve.proc_nbs` runs on each notebook) on `sources` into `dest`."
    from fastcore.parallel import parallel
    from nbdev.processors import FilterDefaults
    import nbdev.serve_drv
    dest.mkdir(parents=True, exist_ok=True)
    jobs = [(src, dest/src.name, FilterDefaults) for src in sources]
    parallel(nbdev.serve_drv.main, jobs, n_workers=min(workers, len(jobs)), pause=0.01, method='spawn')
    missing = [d for _, d, _ in jobs if not d.exists()]
    if missing: sys.exit(f"nbdev's processing wrote no {', '.join(p.name for p in missing)}")


# --- API entries: the library's public names as Sphinx Python-domain objects -----------------------------------------
# nbdev's show_doc writes a heading and a `def name(...)` block: a class looks like a function, a method patched onto
# its class (`def fit(self: Learner, ...)`, `Learner.fit = fit`) like a free function, and the docments end up as
# trailing comments. Each show_doc cell becomes instead a `py:class` / `py:function` / `py:method` entry written from
# the object itself: its signature, its docstring and a Type / Default / Details table from its docments. Sphinx then
# lists them in genindex.html and objects.inv, and tools/site/tc_api.py links backticked names to them.
LIB = 'transfer_cookbook'


def default_exp(stem):
    "The module notebook `stem` exports to (its `#| default_exp`), as a full name, or None."
    src = NBS/source_path(stem)
    if not src.exists(): return None
    for cell in json.loads(src.read_text())['cells']:
        m = re.search(r'^#\|\s*default_exp\s+([\w.]+)', ''.join(cell['source']), flags=re.M)
        if cell['cell_type'] == 'code' and m: return f'{LIB}.{m[1]}'
    return None


@functools.cache
def library():
    "{module name: module} for every module of the library, in the order of the course's packages."
    import importlib, pkgutil
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    pkg = importlib.import_module(LIB)
    names = [m.name for m in pkgutil.walk_packages(pkg.__path__, LIB + '.') if not m.ispkg and '._' not in m.name]
    order = ['core', 'vision', 'text', 'audio', 'datasets', 'lessons']
    key = lambda n: (order.index(n.split('.')[1]) if n.split('.')[1] in order else len(order), n)
    return {n: importlib.import_module(n) for n in sorted(names, key=key)}


def public_names(module):
    "The names in `module`'s `__all__`, in its order."
    return list(getattr(module, '__all__', []))


def home_of(name, module_name):
    "(module name, object) for `name` shown by show_doc in the notebook exporting `module_name`; None if not public."
    mods = library()
    if module_name in mods and name in public_names(mods[module_name]): return module_name, getattr(mods[module_name], name)
    found = [(m, getattr(mod, name)) for m, mod in mods.items() if name in public_names(mod)]
    return found[0] if len(found) == 1 else None


class _Text(str):
    "An annotation written as text (modules use `from __future__ import annotations`): shown as written, unquoted."
    def __repr__(self): return str(self)


def _anno(a):
    return '' if a is inspect.Parameter.empty else a if isinstance(a, str) else inspect.formatannotation(a)


def _default(v):
    if v is inspect.Parameter.empty: return ''
    if callable(v) and hasattr(v, '__name__'): return v.__name__
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + '...'


def method_class(obj):
    "The class a module-level function is patched onto (its first parameter `self: Cls`), or None."
    if not inspect.isfunction(obj): return None
    params = list(inspect.signature(obj).parameters.values())
    if not params or params[0].name != 'self': return None
    cls = params[0].annotation
    if isinstance(cls, str): cls = getattr(sys.modules[obj.__module__], cls, None)
    return cls if inspect.isclass(cls) else None


def signature(obj, drop_self=False):
    "`(a: int, b: str = 'x') -> float` with annotations as the source writes them; '' when there is none."
    try: sig = inspect.signature(obj)
    except (TypeError, ValueError): return ''
    params = list(sig.parameters.values())[1 if drop_self else 0:]
    params = [p.replace(annotation=_Text(_anno(p.annotation)) if _anno(p.annotation) else p.empty,
                        default=_Text(_default(p.default)) if p.default is not p.empty else p.empty) for p in params]
    ret = _anno(sig.return_annotation)
    return str(sig.replace(parameters=params, return_annotation=_Text(ret) if ret else sig.empty))


def param_table(obj, drop_self=False):
    "nbdev's docments table: a row per parameter (Type, Default, Details) and one for what it returns."
    from fastcore.docments import docments
    try: docs = docments(obj, full=True)
    except Exception: docs = {}
    try: params = list(inspect.signature(obj).parameters.values())[1 if drop_self else 0:]
    except (TypeError, ValueError): return ''
    cell = lambda t: t.replace('|', '\\|').replace('\n', ' ')
    code = lambda t: f'`{cell(t)}`' if t else ''
    rows = []
    for p in params:
        star = '*' if p.kind is p.VAR_POSITIONAL else '**' if p.kind is p.VAR_KEYWORD else ''
        rows.append(f'| {star}{p.name} | {code(_anno(p.annotation))} | {code(_default(p.default))} | '
                    f'{cell((docs.get(p.name) or {}).get("docment") or "")} |')
    ret = docs.get('return') or {}
    try: ret_anno = _anno(inspect.signature(obj).return_annotation)
    except (TypeError, ValueError): ret_anno = ''
    if rows and (ret.get('docment') or ret_anno):
        rows.append(f'| **Returns** | {code(ret_anno)} |  | {cell(ret.get("docment") or "")} |')
    if not rows: return ''
    return '|  | Type | Default | Details |\n|:--|:--|:--|:--|\n' + '\n'.join(rows)


def directive(kind, sig, opts, body, fence=':::'):
    "A MyST Python-domain directive `py:kind` (colon fence: a longer one can hold shorter ones)."
    text = '\n\n'.join(b.strip() for b in body if b and b.strip())
    return f"{fence}{{py:{kind}}} {sig}\n" + ''.join(f'{o}\n' for o in opts) + f"\n{text}\n{fence}"


def constant_comment(module_name, name):
    "The comment on the line that assigns a public constant (`NAME = ...  # what it is`), or ''."
    try: src = inspect.getsource(sys.modules[module_name])
    except (OSError, TypeError): return ''
    m = re.search(rf'^{re.escape(name)}\s*(?::[^=\n]+)?=.*?#\s*(.+)$', src, flags=re.M)
    return m[1].strip() if m else ''


def member_entries(cls, index):
    "Entries for a class's own public methods and properties that have a docstring."
    out, no_index = [], [] if index else [':no-index:']
    for m, member in vars(cls).items():
        f = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        if m.startswith('_') or not getattr(f, '__doc__', None): continue
        if inspect.isfunction(f) and not f.__qualname__.startswith(cls.__qualname__ + '.'): continue  # patched on later
        if isinstance(member, property):
            out.append(directive('property', m, no_index, [inspect.getdoc(member)]))
        elif inspect.isfunction(f):
            drop = not isinstance(member, staticmethod)
            opts = ([':classmethod:'] if isinstance(member, classmethod) else
                    [':staticmethod:'] if isinstance(member, staticmethod) else []) + no_index
            out.append(directive('method', m + signature(f, drop_self=drop), opts,
                                 [inspect.getdoc(f), param_table(f, drop_self=drop)]))
    return out


def doc_entry(name, module_name, obj, index=True):
    "A MyST Python-domain entry for public `name` of `module_name`: signature, docstring, parameter table, members."
    opts = [f':module: {module_name}'] + ([] if index else [':no-index:'])
    cls = method_class(obj)
    if cls is not None:  # a function patched onto its class: documented as the method it is, under its class's name
        if index: opts.append(f':canonical: {module_name}.{name}')
        return directive('method', f'{cls.__name__}.{name}' + signature(obj, drop_self=True), opts,
                         [inspect.getdoc(obj), param_table(obj, drop_self=True)])
    if inspect.isclass(obj):
        dc = dataclasses.is_dataclass(obj)
        own_init = dc or '__init__' in vars(obj)
        init = obj if dc else obj.__init__
        return directive('exception' if issubclass(obj, BaseException) else 'class',
                         name + (signature(obj) if own_init else ''), opts,
                         [inspect.getdoc(obj), param_table(init, drop_self=not dc) if own_init else '',
                          *member_entries(obj, index)], fence='::::')
    if callable(obj):
        return directive('function', name + signature(obj), opts, [inspect.getdoc(obj), param_table(obj)])
    value = _default(obj)
    if value and '\n' not in value: opts.append(f':value: {json.dumps(value)}')  # a YAML string: any repr parses
    return directive('data', name, opts, [constant_comment(module_name, name)])


# --- from nbdev's (Quarto-flavoured) notebooks to what myst-nb renders ------------------------------------------------
def collapse_carriage_returns(text):
    "What a terminal would show: on each line, only what follows the last carriage return (one line per progress bar)."
    return '\n'.join(line.rstrip('\r').rsplit('\r', 1)[-1] for line in text.split('\n'))


def shorten_temp_dirs(text):
    "`/tmp/tmpk3t4fac0/cats/b.jpg` (or `/tmp/tc-k-1x2y3z4w/tmpk3t4fac0/cats/b.jpg`) as `…/cats/b.jpg`: the scratch folders' random names dropped, the path kept."
    return TEMP_DIR.sub('…/', text)


def map_text(o, f):
    "Output `o` with `f` applied to every text it holds: a stream, an error, each text/* representation."
    if o['output_type'] == 'stream': o = {**o, 'text': f(o['text'])}
    if o['output_type'] == 'error': o = {**o, 'evalue': f(o['evalue']), 'traceback': [f(t) for t in o['traceback']]}
    if 'data' in o:
        o = {**o, 'data': {m: f(''.join(v) if isinstance(v, list) else v) if m.startswith('text/') else v
                           for m, v in o['data'].items()}}
    return o


def clean_outputs(outputs, widget_models):
    "Streams merged, carriage returns and ANSI codes resolved, scratch folders shortened; closed widgets' views dropped."
    result = []
    for o in outputs:
        data = o.get('data', {})
        if WIDGET_VIEW in data and data[WIDGET_VIEW].get('model_id') not in widget_models:
            continue  # a closed widget (a finished `leave=False` progress bar): the live notebook shows nothing either
        if o['output_type'] == 'stream':
            text = ''.join(o['text']) if isinstance(o['text'], list) else o['text']
            if result and result[-1]['output_type'] == 'stream' and result[-1]['name'] == o['name']:
                result[-1]['text'] += text; continue
            o = {**o, 'text': text}
        if o['output_type'] == 'error':
            o = {**o, 'traceback': [ANSI.sub('', t) for t in o['traceback']]}
        result.append(o)
    for o in result:
        if o['output_type'] == 'stream':
            o['text'] = collapse_carriage_returns(ANSI.sub('', o['text']))
    result = [map_text(o, shorten_temp_dirs) for o in result]
    return [o for o in result if o['output_type'] != 'stream' or o['text'].strip()]


# Widget models that only show something (layouts, styles, boxes, text, images, progress bars): a widget made of these
# alone looks the same on the site as in a kernel. Anything else (a slider, a dropdown, an upload button) takes input.
DISPLAY_ONLY_WIDGETS = {'Layout', 'Box', 'HBox', 'VBox', 'GridBox', 'Accordion', 'Tab', 'Stack', 'Output', 'HTML',
                        'HTMLMath', 'Label', 'Image', 'Audio', 'Video', 'FloatProgress', 'IntProgress', 'Valid'}
KERNEL_NOTE = ('<p class="tc-needs-kernel"><strong>Needs a running kernel.</strong> These controls show the state saved '
               'when the notebook ran: here they move, but nothing below them changes. Run the notebook in JupyterLab '
               '(<a href="notebooks/{stem}.ipynb" download>download it</a>) to use them.</p>')


def takes_input(model_id, state, seen=None):
    "True when widget `model_id`, or a widget it holds, is a control (a slider, a dropdown, an upload...)."
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state: return False
    seen.add(model_id)
    model = state[model_id]
    name = model.get('model_name', '').removesuffix('Model')
    if not name.endswith('Style') and name not in DISPLAY_ONLY_WIDGETS: return True
    held = re.findall(r'IPY_MODEL_([\w-]+)', json.dumps(model.get('state', {})))
    return any(takes_input(m, state, seen) for m in held)


# --- bookkeeping out of the reader's path ---------------------------------------------------------------------------
# A lesson times itself (`_lesson_start = _time.perf_counter()` with its imports, a closing `lesson_seconds` cell) and
# saves what it measured for notebook 59 (`save_results(...)`, which returns the file's path). The site keeps that out
# of the reader's way by rule, not by hand in each notebook: the timing lines are not shown in the import cell, a cell
# that only keeps the books is collapsed, a save's returned path is not shown, and a long plain-text repr (a 63-line
# `Sequential(`) is collapsed.
TIMERS = {'_lesson_start', '_nb_start', 'lesson_seconds'}
LONG_REPR_LINES = 25


def _is_bookkeeping(stmt, last, result):
    "True for a statement that only times the lesson or saves its results (see above)."
    import ast
    if isinstance(stmt, ast.Assign):
        return all(isinstance(t, ast.Name) and t.id in TIMERS for t in stmt.targets)
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return all((a.asname or '').startswith('_') for a in stmt.names)
    if isinstance(stmt, ast.Expr):
        v = stmt.value
        if isinstance(v, ast.Call) and getattr(v.func, 'id', None) == 'save_results': return True
        if last and isinstance(v, ast.Dict):  # the closing {'lesson wall-clock seconds': ..., 'quick mode': ...}
            return any(isinstance(n, ast.Name) and n.id in TIMERS for n in ast.walk(v))
        if last and isinstance(v, ast.Name) and result in ('True', 'False', 'None'): return True  # a bare flag
    return False


def bookkeeping(code, outputs):
    "(code to show, outputs to show, tags, cell metadata): the rules above applied to one code cell."
    import ast
    try: body = ast.parse(code).body
    except SyntaxError: return code, outputs, [], {}
    if not body: return code, outputs, [], {}
    results = [o for o in outputs if o['output_type'] == 'execute_result']
    result = ''.join(results[-1]['data'].get('text/plain', '')).strip() if results else None
    kept = [st for i, st in enumerate(body) if not _is_bookkeeping(st, i == len(body) - 1, result)]
    if not kept:  # the whole cell keeps the books: collapsed, with its outputs
        return code, outputs, ['hide-cell'], {'mystnb': {'code_prompt_show': 'Show the bookkeeping (timing, saved results)',
                                                         'code_prompt_hide': 'Hide the bookkeeping'}}
    lines, drop = code.split('\n'), set()
    for st in body:
        private = isinstance(st, ast.Assign) and all(getattr(t, 'id', 'x').startswith('_') for t in st.targets)  # not lesson_seconds
        if (isinstance(st, ast.Import) or private) and st not in kept and st.col_offset == 0:
            drop.update(range(st.lineno - 1, st.end_lineno))
        elif isinstance(st, ast.Import) and any((a.asname or '').startswith('_') for a in st.names):
            names = ', '.join(a.name + (f' as {a.asname}' if a.asname else '') for a in st.names if not (a.asname or '').startswith('_'))
            if st.lineno == st.end_lineno: lines[st.lineno - 1] = lines[st.lineno - 1][:st.col_offset] + f'import {names}'
    shown = '\n'.join(l for i, l in enumerate(lines) if i not in drop)
    last = body[-1]
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and getattr(last.value.func, 'id', None) == 'save_results':
        outputs = [o for o in outputs if o['output_type'] != 'execute_result']  # the results file's path
    tags = []
    if results and set(results[-1]['data']) <= {'text/plain'} and result and result.count('\n') >= LONG_REPR_LINES:
        tags = ['hide-output']  # a long repr, collapsed
    return shown, outputs, tags, ({'mystnb': {'code_prompt_show': f'Show the output ({result.count(chr(10)) + 1} lines)',
                                               'code_prompt_hide': 'Hide the output'}} if tags else {})


def markdown_cell(source, **metadata):
    return {'cell_type': 'markdown', 'metadata': metadata, 'source': source}


def to_myst(nb, stem, cfg, mode=None):
    "Map a notebook processed by nbdev onto myst-nb: frontmatter to a title, Quarto cell options to cell tags."
    nb = copy.deepcopy(nb)
    widget_state = nb.get('metadata', {}).get('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
    widget_models = set(widget_state)
    cells, errors, title = [], [], None
    module = default_exp(stem)
    # No "Open in Colab": the lessons need Debian packages (datasets, speech engines) that Colab does not have.
    links = f'<p class="tc-links"><a class="tc-download" href="notebooks/{stem}.ipynb" download>Download the notebook</a></p>'
    for cell in nb['cells']:
        src = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
        if cell['cell_type'] == 'raw' and src.startswith('---') and title is None:
            import yaml
            fm = yaml.safe_load(src.strip().strip('-')) or {}
            title = fm.get('title', stem)
            cells.append(markdown_cell(f"# {title}"))
            if fm.get('description'):
                cells.append(markdown_cell(f"```{{container}} tc-summary\n{fm['description']}\n```"))
            cells.append(markdown_cell(links))
            continue
        if cell['cell_type'] == 'markdown':
            if src.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
            cells.append(markdown_cell(flat_links(src))); continue
        if cell['cell_type'] != 'code': continue
        opts, code = directives(src)
        outputs = clean_outputs(cell.get('outputs', []), widget_models)
        errors += [f"{stem}: {o['ename']}: {o['evalue']}" for o in outputs if o['output_type'] == 'error']
        if opts.get('include') == 'false': continue
        entry = api_entry(code, module)
        if entry:  # show_doc(name): a Python-domain entry (see doc_entry)
            cells.append(markdown_cell(entry[0], tags=['tc-doc'], **({'tc_api': entry[1]} if entry[1] else {})))
            continue
        if opts.get('output') == 'asis':  # other markdown output: part of the page (headings, search)
            md = [''.join(o['data']['text/markdown']) for o in outputs if 'text/markdown' in o.get('data', {})]
            text = '\n\n'.join(re.sub(r'^---\s*\n', '', m.lstrip()) for m in md)
            if text.strip(): cells.append(markdown_cell(text, tags=['tc-doc']))
            if opts.get('echo') != 'false': cells.append(markdown_cell(f"```python\n{code}\n```"))
            continue
        tags = []
        if opts.get('echo') == 'false': tags.append('remove-input')
        if opts.get('output') == 'false': tags.append('remove-output')
        if opts.get('eval') == 'false': tags.append('tc-not-run')
        if not code.strip() and not outputs: continue
        controls = any(takes_input(o['data'][WIDGET_VIEW].get('model_id'), widget_state)
                       for o in outputs if WIDGET_VIEW in o.get('data', {}))
        if controls: tags.append('tc-widget')
        code, outputs, more, meta = bookkeeping(code, outputs)
        cells.append({'cell_type': 'code', 'execution_count': None, 'metadata': {'tags': tags + more, **meta},
                      'outputs': outputs, 'source': code})
        if controls:  # saved widget state renders, but the callbacks that redraw the output need Python
            cells.append(markdown_cell(KERNEL_NOTE.format(stem=stem), tags=['tc-needs-kernel']))
    cells = drop_empty_headings(cells)
    at = next((i for i, c in enumerate(cells) if c['source'] == links), None)
    if at is None:  # no frontmatter: the notebook's first heading is its title; the links go right under it
        at = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown'), -1) + 1
        cells.insert(at, markdown_cell(links))
    if mode == 'quick' and any(c['cell_type'] == 'code' and c['outputs'] for c in cells):
        cells.insert(at + 1, markdown_cell(quick_banner(stem), tags=['tc-quick']))
    if errors:  # a page whose execution failed says so at its top: its outputs stop at the cell that raised
        cells.insert(at + 1, markdown_cell(failed_banner(stem, errors), tags=['tc-failed']))
    for i, c in enumerate(cells): c['id'] = f'tc{i}'
    nb['cells'] = cells
    nb['metadata'].pop('jupytext', None)
    return nb, errors


HEADING = re.compile(r'(#{1,6})\s+\S')


def drop_empty_headings(cells):
    "Cells without a markdown cell that is only a heading and is followed at once by a heading of its level or higher."
    level = lambda c: (m := c['cell_type'] == 'markdown' and HEADING.match(c['source'].lstrip())) and len(m[1])
    keep = []
    for i, c in enumerate(cells):
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        only_heading = level(c) and len(c['source'].strip().splitlines()) == 1
        if only_heading and nxt is not None and level(nxt) and level(nxt) <= level(c): continue  # an empty section
        keep.append(c)
    return keep


def api_entry(code, module):
    "(MyST entry, its full name or None when not indexed here) for a `show_doc(name)` cell; None for other code."
    m = re.fullmatch(r'\s*show_doc\((\w+)\)\s*', code)
    found = m and home_of(m[1], module)
    if not found: return None
    home, obj = found
    index = module is None or home == module  # an imported name is indexed on its own module's page
    return doc_entry(m[1], home, obj, index=index), f'{home}.{m[1]}' if index else None


def source_path(stem):
    "Where notebook `stem` lives under nbs/ (its package folder), e.g. 'vision/41_unet_transfer.ipynb'."
    found = [p for p in NBS.rglob(f'{stem}.ipynb') if '.ipynb_checkpoints' not in p.parts]
    return found[0].relative_to(NBS).as_posix() if found else f'{stem}.ipynb'


def flat_links(text):
    "Links between notebooks in their package folders (`../vision/41_unet_transfer.ipynb`) as links between pages (one folder)."
    return re.sub(r'\]\((?!\w+://)(?:\.\./|\./)*(?:[\w-]+/)*([\w-]+\.ipynb)(#[\w-]*)?\)', r'](\1\2)', text)


def failed_banner(stem, errors):
    "The warning a page gets when its notebook raised in the run the site was built from."
    first = errors[0].split(': ', 1)[-1].replace('`', "'").splitlines()[0][:200]
    return (f"```{{error}} This page did not run to the end\n"
            f"When the site was built, this notebook stopped with `{first}`. The outputs below end at the cell that "
            f"raised (its traceback is shown there), and the cells after it show no output. Run "
            f"`.venv/bin/python tools/run_course.py --only {stem}` to reproduce it.\n```")


def quick_banner(stem):
    "The note a page gets when its outputs come from a quick run (small budgets) rather than a full one."
    return (f"```{{admonition}} Built from a quick run\n:class: note tc-quick\n"
            f"The outputs below come from the same cells on their small budgets (`quick(full, small)`), so numbers "
            f"and plots are rougher than a full run's. For full-size results, run the notebook or "
            f"`tools/run_course.py --only {stem}`.\n```")


def run_mode(executed_copy):
    "'quick' or 'full': how tools/run_course.py ran this notebook (its status file, else the run's summary), or None."
    status = executed_copy.with_suffix('.status.json')
    mode = json.loads(status.read_text()).get('mode') if status.exists() else None
    if mode: return mode
    # executed copies from before status files named the mode: the summary of the run that wrote them (BUILD/summary.md)
    summary = next((d/'summary.md' for d in executed_copy.parents[:3] if (d/'summary.md').exists()), None)
    head = summary.read_text().split('\n', 1)[0] if summary else ''
    return 'quick' if '(quick mode)' in head else 'full' if '(full mode)' in head else None


def page_title(nb, stem):
    "A converted notebook's title: its first heading."
    for c in nb['cells']:
        m = c['cell_type'] == 'markdown' and re.match(r'#\s+(.+)', c['source'])
        if m: return m[1].strip()
    return stem


REFERENCE = 'reference'


def reference_page(indexed, pages):
    """The API reference's first page: every module of the library and every name in its `__all__`, each linked to its
    entry (on the page that teaches it), with the entries of names no page documents (constants, mostly) here."""
    mods, homes = library(), {default_exp(stem): (stem, title) for stem, title in pages.items()}
    cells = [markdown_cell(
        "# Library reference\n\n"
        "```{container} tc-summary\nEvery public name of `transfer_cookbook`, module by module: what each module's "
        "`__all__` exports, linked to its entry in the page that teaches it. The [general index](genindex) lists "
        "them all alphabetically.\n```")]
    for module_name, mod in mods.items():
        stem, title = homes.get(module_name, (None, None))
        head = f"## `{module_name.removeprefix(LIB + '.')}`\n\n:::{{py:module}} {module_name}\n:::\n\n"
        about = _first_line(inspect.getdoc(mod))
        if stem: about += f" Written by [{title}]({stem}.ipynb)."
        rows, here = [], []
        for name in public_names(mod):
            obj, full = getattr(mod, name), f'{module_name}.{name}'
            cls = method_class(obj)
            shown = f'{cls.__name__}.{name}' if cls else name
            kind = ('method' if cls else 'exception' if inspect.isclass(obj) and issubclass(obj, BaseException) else
                    'class' if inspect.isclass(obj) else 'function' if callable(obj) else 'constant')
            what = _first_line(inspect.getdoc(obj)) if callable(obj) else constant_comment(module_name, name)
            rows.append(f"| {{py:obj}}`{shown} <{full}>` | {kind} | {what.replace('|', chr(92) + '|')} |")
            if full not in indexed: here.append(doc_entry(name, module_name, obj))
        table = '| Name | Kind | What it is |\n|:--|:--|:--|\n' + '\n'.join(rows)
        cells.append(markdown_cell(head + about.strip() + '\n\n' + table))
        if here: cells.append(markdown_cell('\n\n'.join(here), tags=['tc-doc']))
    for i, c in enumerate(cells): c['id'] = f'ref{i}'
    return {'cells': cells, 'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}},
            'nbformat': 4, 'nbformat_minor': 5}


def _first_line(doc):
    "A docstring's first sentence or line."
    return (doc or '').strip().split('\n\n')[0].replace('\n', ' ')


README_PAGE = 'readme'  # nbs/index.ipynb (the contributor README) on the site; the home page is the landing page


def summary_of(nb):
    "A converted notebook's one-line summary: the first sentence of its description (the `tc-summary` box)."
    for c in nb['cells']:
        m = c['cell_type'] == 'markdown' and re.match(r'```\{container\} tc-summary\n(.*?)\n```', c['source'], flags=re.S)
        if not m: continue
        first = re.split(r'(?<=[.!?])\s+(?=[A-Z])', ' '.join(m[1].split()), maxsplit=1)[0]
        return first if len(first) <= 200 else first[:first.rfind(' ', 0, 190)].rstrip(',;:') + ' …'
    return ''


def kind_of(stem, title):
    "What a course page is, for its card: Lesson, Recipe, Data or Summary, with its number."
    kind = ('Summary' if stem.startswith('59') else 'Recipe' if title.startswith('Recipe') else
            'Data' if source_path(stem).startswith('datasets/') else 'Lesson')
    return f"{kind} {stem.split('_')[0]}"


def inline_html(text):
    "Markdown's `code` and nothing else, as HTML (a card's title and summary)."
    import html
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(text, quote=False))


def card(stem, nb, extra_class=''):
    title = re.sub(r'^(Lesson( \d+)?|Recipe):\s*', '', page_title(nb, stem))
    title = title[:1].upper() + title[1:]
    return (f'<a class="tc-card{extra_class}" href="{stem}.html"><span class="tc-card-kind">{kind_of(stem, page_title(nb, stem))}'
            f'</span><span class="tc-card-title">{inline_html(title)}</span>'
            f'<span class="tc-card-text">{inline_html(summary_of(nb))}</span></a>')


def landing_page(converted, lessons, src_dir):
    """The site's home page for readers (tools/site/landing.md): what the course teaches, a figure from a lesson, where
    to start, every lesson as a card, how to run it. The contributor README is the page `readme`."""
    text = (SITE_CONF/'landing.md').read_text()
    fig = re.search(r'<!-- figure: (\w+) (\d+)\n(.*?)-->', text, flags=re.S)
    if fig:
        pngs = [o['data']['image/png'] for c in converted.get(fig[1], {'cells': []})['cells'] for o in c.get('outputs', [])
                if 'image/png' in o.get('data', {})]
        figure = ''
        if len(pngs) >= int(fig[2]):
            png = pngs[int(fig[2]) - 1]
            (src_dir/'tc-landing.png').write_bytes(base64.b64decode(''.join(png) if isinstance(png, list) else png))
            figure = (f"```{{figure}} tc-landing.png\n:alt: A figure from {fig[1]}\n:class: tc-landing-figure\n\n"
                      f"{' '.join(fig[3].split())} [See the lesson]({fig[1]}.ipynb).\n```")
        text = text.replace(fig[0], figure)
    start = re.search(r'<!-- start: (\w+) -->', text)
    if start: text = text.replace(start[0], '<div class="tc-start">' + card(start[1], converted[start[1]], ' tc-card-start') + '</div>')
    cards = '<div class="tc-cards">\n' + '\n'.join(card(s, converted[s]) for s in lessons) + '\n</div>'
    text = text.replace('<!-- cards -->', cards)
    cells = [markdown_cell(part.strip()) for part in re.split(r'\n(?=## )', text) if part.strip()]
    for i, c in enumerate(cells): c['id'] = f'home{i}'
    return {'cells': cells, 'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}},
            'nbformat': 4, 'nbformat_minor': 5}


def toctree(caption, docs):
    return f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + '\n'.join(docs) + '\n```'


def sphinx_sources(processed, src_dir, cfg, modes=None):
    "Write the Sphinx project: converted notebooks, the sidebar (toctrees on the home page), conf.py and assets."
    errors, stems = [], [p.stem for p in page_notebooks(processed)]
    if 'index' not in stems: sys.exit("no index notebook (nbs/index.ipynb is the README and its page)")
    converted = {}
    for stem in stems:
        converted[stem], errs = to_myst(json.loads((processed/f'{stem}.ipynb').read_text()), stem, cfg, (modes or {}).get(stem))
        errors += errs
    lessons = [s for s in stems if s != 'index' and not s.startswith('0')]
    api = [s for s in stems if s.startswith('0')]
    readme = converted.pop('index')  # the contributor README; the home page is written for readers
    readme['cells'][0]['source'] = re.sub(r'^# .*', '# About the repository', readme['cells'][0]['source'], count=1)
    converted[README_PAGE] = readme
    converted['index'] = landing_page(converted, lessons, src_dir)
    converted['index']['cells'] += [markdown_cell(toctree('Lessons & recipes', lessons)) | {'id': 'toc1'},
                                    markdown_cell(toctree('API reference', [REFERENCE] + api)) | {'id': 'toc2'},
                                    markdown_cell(toctree('The project', [README_PAGE])) | {'id': 'toc3'}]
    indexed = {c['metadata']['tc_api'] for nb in converted.values() for c in nb['cells'] if c['metadata'].get('tc_api')}
    converted[REFERENCE] = reference_page(indexed, {s: page_title(nb, s) for s, nb in converted.items()
                                                    if s not in ('index', README_PAGE)})
    for stem, nb in converted.items():
        (src_dir/f'{stem}.ipynb').write_text(json.dumps(nb, indent=1))
    for f in SITE_CONF.rglob('*'):
        if f.is_file() and '__pycache__' not in f.parts:
            (src_dir/f.relative_to(SITE_CONF)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, src_dir/f.relative_to(SITE_CONF))
    (src_dir/'site.json').write_text(json.dumps({k: cfg[k] for k in (
        'title', 'author', 'copyright', 'version', 'git_url', 'branch', 'nbs_path')}))
    return stems, errors


def build(executed, out, work, workers=2, allow_errors=False):
    "The whole build; returns a dict of figures."
    cfg = settings()
    t0 = time.time()
    sources = page_notebooks(executed)
    expected = {p.name for p in page_notebooks(NBS)}
    missing = sorted(expected - {p.name for p in sources})
    if missing: sys.exit(f"{executed} lacks executed copies of {', '.join(missing)}: run tools/run_course.py first")
    if work.exists(): shutil.rmtree(work)
    processed, src_dir = work/'processed', work/'src'
    src_dir.mkdir(parents=True)
    print(f"nbdev processing {len(sources)} notebooks ...", flush=True)
    nbdev_process(sources, processed, workers)
    t1 = time.time()
    stems, errors = sphinx_sources(processed, src_dir, cfg, {p.stem: run_mode(p) for p in sources})
    if errors:
        msg = 'executed notebooks hold errors:\n  ' + '\n  '.join(errors)
        if not allow_errors: sys.exit(msg + '\n(the site shows what the code produces: fix them, or --allow-errors)')
        print('WARNING: ' + msg, file=sys.stderr)
    vendor(src_dir/'_static'/'npm', BUILD/'npm')
    t2 = time.time()
    if out.exists(): shutil.rmtree(out)
    r = subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-j', str(workers), '-d',
                        str(work/'doctrees'), str(src_dir), str(out)], cwd=ROOT)
    if r.returncode: sys.exit(f"sphinx-build failed ({r.returncode})")
    (out/'notebooks').mkdir(exist_ok=True)
    for p in page_notebooks(NBS): shutil.copy2(p, out/'notebooks'/p.name)
    (out/'.nojekyll').touch()  # GitHub Pages: serve _static/ as it is
    t3 = time.time()
    figures = dict(pages=len(stems), nbdev_seconds=round(t1 - t0, 1), sphinx_seconds=round(t3 - t2, 1),
                   total_seconds=round(t3 - t0, 1))
    print(f"site: {len(stems)} pages in {out} (nbdev {figures['nbdev_seconds']} s, "
          f"Sphinx {figures['sphinx_seconds']} s, {figures['total_seconds']} s in all)")
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true', help='execute every notebook quickly first (run_course --quick)')
    ap.add_argument('--build-dir', type=Path, default=BUILD, metavar='DIR',
                    help='folder with executed/ (read), site/ and site-work/ (written); default _build/')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--allow-errors', action='store_true', help='build even when a notebook failed')
    ap.add_argument('--readme', action='store_true', help='only write README.md from nbs/index.ipynb')
    ap.add_argument('--check-readme', action='store_true', help='only check README.md against nbs/index.ipynb')
    args = ap.parse_args()
    if args.check_readme: return check_readme()
    build_dir = args.build_dir.resolve()
    if args.readme or build_dir == BUILD: write_readme()  # a scratch build (the tests') leaves the tree alone
    if args.readme: return
    executed = build_dir/'executed'
    have = {p.name for p in page_notebooks(executed)} if executed.exists() else set()
    if args.quick or not {p.name for p in page_notebooks(NBS)} <= have:
        if not args.quick: print(f"{executed} lacks executed notebooks: executing them quickly first", flush=True)
        r = subprocess.run([sys.executable, str(ROOT/'tools'/'run_course.py'), '--quick', '--build-dir', str(build_dir)])
        if r.returncode and not args.allow_errors: sys.exit(r.returncode)
    figures = build(executed, build_dir/'site', build_dir/'site-work', args.workers, args.allow_errors)
    (build_dir/'site-build.json').write_text(json.dumps(figures, indent=1))


if __name__ == '__main__':
    main()

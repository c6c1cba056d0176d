"""Build the course website from executed notebooks, and write README.md from the home page.

The pages are the notebooks as tools/run_course.py executed them (their outputs come from the current code),
processed by nbdev (`show_doc` for every exported symbol, `#| hide` cells dropped, exported source folded away)
and rendered by Sphinx + myst-nb with sphinx-book-theme into _build/site/. Nothing is fetched when a page is
viewed: the widget renderer and MathJax are vendored from npm, at pinned versions, when the site is built.

    .venv/bin/python tools/build_site.py                # from _build/executed/ (a quick execution when empty)
    .venv/bin/python tools/build_site.py --quick        # execute every notebook quickly first, then build
    .venv/bin/python tools/build_site.py --readme       # only write README.md from nbs/index.ipynb
    .venv/bin/python tools/build_site.py --check-readme # fail when README.md is not what --readme writes
"""
import argparse, base64, copy, hashlib, json, os, re, shutil, subprocess, sys, tarfile, time
from configparser import ConfigParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbcells import directives  # noqa: E402

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
ANSI = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')
# A scratch folder a notebook made (tempfile's /tmp/tmpk3t4fac0/, /tmp/tc-02-data-5u8g0018/) or the checkout the run
# happened in: its name means nothing to a reader, and changes with every run. The files under it are what matter.
# Left alone: /tmp/ipykernel_*, the mark of a warning printed with the cell's file and line, which core.env's
# notebook display should have kept from the output (tests/test_site.py looks for it).
TEMP_DIR = re.compile(r'/tmp/(?!ipykernel_)[^/\s\'"<>]+/')


def settings():
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    return cfg['DEFAULT']


def page_notebooks(folder):
    "Notebooks in `folder` that become pages, in course order: the home page, lessons and recipes, API reference."
    nbs = [p for p in folder.rglob('*.ipynb') if not any(part.startswith(('_', '.')) for part in p.relative_to(folder).parts)]
    order = lambda p: (p.stem != 'index', p.stem[:1] == '0', p.stem)
    return sorted(nbs, key=order)


# --- README from the home page --------------------------------------------------------------------------------------
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


# --- from nbdev's (Quarto-flavoured) notebooks to what myst-nb renders ------------------------------------------------
def collapse_carriage_returns(text):
    "What a terminal would show: on each line, only what follows the last carriage return (one line per progress bar)."
    return '\n'.join(line.rstrip('\r').rsplit('\r', 1)[-1] for line in text.split('\n'))


def shorten_temp_dirs(text):
    "`/tmp/tmpk3t4fac0/cats/b.jpg` as `…/cats/b.jpg`: the scratch folder's random name dropped, the path kept."
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


def markdown_cell(source, **metadata):
    return {'cell_type': 'markdown', 'metadata': metadata, 'source': source}


def to_myst(nb, stem, cfg, mode=None):
    "Map a notebook processed by nbdev onto myst-nb: frontmatter to a title, Quarto cell options to cell tags."
    nb = copy.deepcopy(nb)
    widget_models = set(nb.get('metadata', {}).get('widgets', {}).get(WIDGET_STATE, {}).get('state', {}))
    cells, errors, title = [], [], None
    colab = (f"https://colab.research.google.com/github/{cfg['user']}/{cfg['repo']}/blob/{cfg['branch']}/"
             f"{cfg['nbs_path']}/{source_path(stem)}")
    links = (f'<p class="tc-links"><a class="tc-colab" href="{colab}">Open in Colab</a> · '
             f'<a class="tc-download" href="notebooks/{stem}.ipynb" download>Download the notebook</a></p>')
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
        if opts.get('output') == 'asis':  # show_doc: its markdown becomes part of the page (headings, search)
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
        cells.append({'cell_type': 'code', 'execution_count': None, 'metadata': {'tags': tags},
                      'outputs': outputs, 'source': code})
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


def toctree(caption, docs):
    return f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + '\n'.join(docs) + '\n```'


def sphinx_sources(processed, src_dir, cfg, modes=None):
    "Write the Sphinx project: converted notebooks, the sidebar (toctrees on the home page), conf.py and assets."
    errors, stems = [], [p.stem for p in page_notebooks(processed)]
    if 'index' not in stems: sys.exit("no index notebook (nbs/index.ipynb is the home page)")
    for stem in stems:
        nb, errs = to_myst(json.loads((processed/f'{stem}.ipynb').read_text()), stem, cfg, (modes or {}).get(stem))
        errors += errs
        if stem == 'index':
            lessons = [s for s in stems if s != 'index' and not s.startswith('0')]
            api = [s for s in stems if s.startswith('0')]
            nb['cells'] += [markdown_cell(toctree('Lessons & recipes', lessons)) | {'id': 'toc1'},
                            markdown_cell(toctree('API reference', api)) | {'id': 'toc2'}]
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

"""The website, built from a quick execution of every notebook and clicked through in Debian's Chromium.

The build (tools/build_site.py --quick into a scratch folder) starts when pytest has collected this module (see
conftest.py), so it runs beside the notebook tests; the tests here wait for it. The browser is Debian's
`chromium` driven by Playwright; nothing is downloaded (`playwright install` is never needed).
"""
import functools, http.server, io, json, re, shutil, sys, threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import build_site  # noqa: E402

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
LESSONS = [p.stem for p in build_site.page_notebooks(ROOT/'nbs') if p.stem != 'index' and not p.stem.startswith('0')]
API = [p.stem for p in build_site.page_notebooks(ROOT/'nbs') if p.stem.startswith('0')]


# --- the parts of the build that need no browser --------------------------------------------------------------------
def test_progress_bar_is_one_line():
    "A text progress bar (tqdm writing to a stream) ends up as one line; a closed widget bar leaves nothing."
    from tqdm import tqdm
    buf = io.StringIO()
    for _ in tqdm(range(300), file=buf, mininterval=0, desc='fit'): pass
    raw = buf.getvalue()
    assert raw.count('\r') > 100  # what the notebook saved: hundreds of redraws
    outputs = [{'output_type': 'stream', 'name': 'stderr', 'text': raw[:len(raw)//2]},
               {'output_type': 'stream', 'name': 'stderr', 'text': raw[len(raw)//2:]},
               {'output_type': 'display_data', 'metadata': {},
                'data': {build_site.WIDGET_VIEW: {'model_id': 'closed-bar'}, 'text/plain': 'HBox()'}},
               {'output_type': 'display_data', 'metadata': {},
                'data': {build_site.WIDGET_VIEW: {'model_id': 'live'}, 'text/plain': 'IntSlider()'}}]
    cleaned = build_site.clean_outputs(outputs, widget_models={'live'})
    assert len(cleaned) == 2, cleaned
    lines = [l for l in cleaned[0]['text'].splitlines() if l.strip()]
    assert len(lines) == 1 and '300/300' in lines[0], lines
    assert cleaned[1]['data'][build_site.WIDGET_VIEW]['model_id'] == 'live'


def test_a_widget_with_controls_gets_a_kernel_note():
    "A widget holding a slider gets the 'needs a running kernel' note under its cell; a progress bar does not."
    state = {'box': {'model_name': 'VBoxModel', 'state': {'children': ['IPY_MODEL_s', 'IPY_MODEL_o']}},
             's': {'model_name': 'IntSliderModel', 'state': {'style': 'IPY_MODEL_st'}},
             'st': {'model_name': 'SliderStyleModel', 'state': {}}, 'o': {'model_name': 'OutputModel', 'state': {}},
             'bar': {'model_name': 'HBoxModel', 'state': {'children': ['IPY_MODEL_p', 'IPY_MODEL_h']}},
             'p': {'model_name': 'FloatProgressModel', 'state': {}}, 'h': {'model_name': 'HTMLModel', 'state': {}}}
    view = lambda m: [{'output_type': 'display_data', 'metadata': {},
                       'data': {build_site.WIDGET_VIEW: {'model_id': m}, 'text/plain': 'VBox()'}}]
    code = lambda src, m: {'cell_type': 'code', 'metadata': {}, 'source': src, 'outputs': view(m)}
    nb = {'metadata': {'widgets': {build_site.WIDGET_STATE: {'state': state}}},
          'cells': [{'cell_type': 'markdown', 'metadata': {}, 'source': '# A lesson'}, code('fit()', 'bar'), code('slider', 'box')]}
    cfg = {'user': 'u', 'repo': 'r', 'branch': 'main', 'nbs_path': 'nbs'}
    new, _ = build_site.to_myst(nb, '10_vision_cnn', cfg)
    tags = [c['metadata'].get('tags', []) for c in new['cells']]
    assert tags[-2] == ['tc-widget'] and tags[-1] == ['tc-needs-kernel'], tags
    assert sum('tc-needs-kernel' in t for t in tags) == 1 and 'notebooks/10_vision_cnn.ipynb' in new['cells'][-1]['source']


def test_bookkeeping_rules():
    "Timing lines leave the import cell, a cell that only keeps the books is collapsed, a save's path and a long repr too."
    result = lambda text: [{'output_type': 'execute_result', 'metadata': {}, 'data': {'text/plain': text}}]
    code, _, tags, _ = build_site.bookkeeping('import io, time as _time\n_lesson_start = _time.perf_counter()\nimport numpy as np', [])
    assert code == 'import io\nimport numpy as np' and tags == []
    closing = ("lesson_seconds = round(_time.perf_counter() - _lesson_start)\nsave_results('10_vision_cnn', lesson_seconds=lesson_seconds)\n"
               "{'lesson wall-clock seconds': lesson_seconds, 'quick mode': is_quick()}")
    code, out, tags, meta = build_site.bookkeeping(closing, result("{'lesson wall-clock seconds': 52}"))
    assert code == closing and tags == ['hide-cell'] and len(out) == 1 and 'bookkeeping' in meta['mystnb']['code_prompt_show']
    assert build_site.bookkeeping("save_results('59_promises', x=1)\nQUICK", result('True'))[2] == ['hide-cell']
    code, out, tags, _ = build_site.bookkeeping("table = f(x)\nsave_results('41', table=table)", result("PosixPath('…/41.json')"))
    assert out == [] and tags == [] and 'save_results' in code  # the call is the lesson's code; its returned path is not shown
    assert build_site.bookkeeping('net', result('Sequential(\n' + '  (0): Conv2d()\n' * 40 + ')'))[2] == ['hide-output']
    assert build_site.bookkeeping('acc', result('0.91'))[2] == []  # a short result stays as it is


def test_cell_options_map_to_myst():
    "`#| echo: false` hides code only, `#| output: false` hides output only, `#| include: false` hides both."
    out = [{'output_type': 'stream', 'name': 'stdout', 'text': 'shown\n'}]
    code = lambda src: {'cell_type': 'code', 'metadata': {}, 'source': src, 'outputs': out}
    nb = {'metadata': {}, 'cells': [code('#| echo: false\nx = 1'), code('#| output: false\ny = 2'),
                                    code('#| include: false\nz = 3'), code('#| eval: false\nw = 4')]}
    cfg = {'user': 'u', 'repo': 'r', 'branch': 'main', 'nbs_path': 'nbs'}
    new, errors = build_site.to_myst(nb, 'x', cfg)
    cells = [c for c in new['cells'] if c['cell_type'] == 'code']
    assert [c['source'] for c in cells] == ['x = 1', 'y = 2', 'w = 4']  # directive lines never shown
    assert [c['metadata']['tags'] for c in cells] == [['remove-input'], ['remove-output'], ['tc-not-run']]
    assert errors == []


def test_a_failed_notebook_is_marked_on_its_page():
    "A notebook that raised gets an error banner at the top of its page that names the error and the command to rerun."
    err = {'output_type': 'error', 'ename': 'BadTextDataError', 'evalue': '5 row(s) have no label', 'traceback': []}
    nb = {'metadata': {}, 'cells': [{'cell_type': 'markdown', 'metadata': {}, 'source': '# A recipe'},
                                    {'cell_type': 'code', 'metadata': {}, 'source': 'read()', 'outputs': [err]},
                                    {'cell_type': 'code', 'metadata': {}, 'source': 'train()', 'outputs': []}]}
    cfg = {'user': 'u', 'repo': 'r', 'branch': 'main', 'nbs_path': 'nbs'}
    new, errors = build_site.to_myst(nb, '21_text_csv_recipe', cfg)
    assert errors == ['21_text_csv_recipe: BadTextDataError: 5 row(s) have no label']
    banner = [c for c in new['cells'] if 'tc-failed' in c['metadata'].get('tags', [])]
    assert len(banner) == 1 and new['cells'].index(banner[0]) == 2  # under the title and the links
    assert 'did not run to the end' in banner[0]['source'] and '5 row(s) have no label' in banner[0]['source']
    assert '--only 21_text_csv_recipe' in banner[0]['source']
    ok, _ = build_site.to_myst({**nb, 'cells': nb['cells'][:1]}, 'x', cfg)
    assert not any('tc-failed' in c['metadata'].get('tags', []) for c in ok['cells'])


def test_scratch_folders_are_shortened():
    "A notebook's temporary folder loses its random name in every text of an output; a warning's kernel file does not."
    err = {'output_type': 'error', 'ename': 'ValueError', 'evalue': 'Image folder /tmp/tc-02-data-5u8g0018/x does not exist',
           'traceback': ['ValueError: Image folder /tmp/tc-02-data-5u8g0018/x does not exist']}
    res = {'output_type': 'execute_result', 'metadata': {}, 'data': {
        'text/plain': "PosixPath('/tmp/tmpk3t4fac0/cats/b.jpg')", 'text/html': '<td>/tmp/tmpk3t4fac0/cats/b.jpg</td>'}}
    warn = {'output_type': 'stream', 'name': 'stderr', 'text': '/tmp/ipykernel_1/2.py:3: UserWarning: skipped\n'}
    nested = {'output_type': 'stream', 'name': 'stdout', 'text': 'a link to /tmp/tc-k-1x2y3z4w/tmpk3t4fac0/annex/key\n'}  # tools/run_course.py's kernel folder
    e, r, w, n = build_site.clean_outputs([err, res, warn, nested], widget_models=set())
    assert n['text'] == 'a link to …/annex/key\n'
    assert e['evalue'] == e['traceback'][0][len('ValueError: '):] == 'Image folder …/x does not exist'
    assert r['data'] == {'text/plain': "PosixPath('…/cats/b.jpg')", 'text/html': '<td>…/cats/b.jpg</td>'}
    assert 'ipykernel_' in w['text']  # left for tests/test_site.py to find: core.env's display should have kept it out


def test_quick_run_pages_say_so(tmp_path):
    "A page whose outputs come from a quick run carries a note saying so under its title; a full run's does not."
    nb = {'metadata': {}, 'cells': [{'cell_type': 'markdown', 'metadata': {}, 'source': '# A lesson'},
                                    {'cell_type': 'code', 'metadata': {}, 'source': 'fit()', 'outputs': [
                                        {'output_type': 'stream', 'name': 'stdout', 'text': 'accuracy 0.5\n'}]}]}
    cfg = {'user': 'u', 'repo': 'r', 'branch': 'main', 'nbs_path': 'nbs'}
    quick, _ = build_site.to_myst(nb, '10_vision_cnn', cfg, mode='quick')
    notes = [c for c in quick['cells'] if 'tc-quick' in c['metadata'].get('tags', [])]
    assert len(notes) == 1 and quick['cells'].index(notes[0]) == 2 and '--only 10_vision_cnn' in notes[0]['source']
    full, _ = build_site.to_myst(nb, '10_vision_cnn', cfg, mode='full')
    assert not any('tc-quick' in c['metadata'].get('tags', []) for c in full['cells'])
    (tmp_path/'executed').mkdir(); copy = tmp_path/'executed'/'10_vision_cnn.ipynb'
    (tmp_path/'summary.md').write_text('# Transfer Cookbook: course run (quick mode)\n')
    assert build_site.run_mode(copy) == 'quick'  # no status file: the run's summary tells
    copy.with_suffix('.status.json').write_text(json.dumps({'ok': True, 'mode': 'full'}))
    assert build_site.run_mode(copy) == 'full'


def test_show_doc_becomes_a_python_entry():
    "show_doc(fit) on the learner's page: `Learner.fit` as a method with a parameter table; an empty heading goes."
    cfg = {'user': 'u', 'repo': 'r', 'branch': 'main', 'nbs_path': 'nbs'}
    md = lambda src: {'cell_type': 'markdown', 'metadata': {}, 'source': src}
    doc = lambda name: {'cell_type': 'code', 'metadata': {}, 'outputs': [],
                        'source': f'#| echo: false\n#| output: asis\nshow_doc({name})'}
    nb = {'metadata': {}, 'cells': [md('# The learner'), doc('Learner'), md('### `fit`'), md('### One process or several'),
                                    doc('fit')]}
    new, _ = build_site.to_myst(nb, '04_learner', cfg)
    sources = [c['source'] for c in new['cells']]
    assert '### `fit`' not in sources and '### One process or several' in sources
    cls, fit = [c for c in new['cells'] if 'tc-doc' in c['metadata'].get('tags', [])]
    assert cls['source'].startswith('::::{py:class} Learner(model: nn.Module, train_dl: DataLoader,'), cls['source'][:200]
    assert fit['source'].startswith(':::{py:method} Learner.fit(epochs: int, lr: float | tuple = 0.001'), fit['source'][:200]
    assert ':canonical: transfer_cookbook.core.learner.fit' in fit['source']
    assert '|  | Type | Default | Details |' in fit['source'] and '| epochs | `int` |  | passes over the training data |' in fit['source']
    assert fit['metadata']['tc_api'] == 'transfer_cookbook.core.learner.fit'


# --- the built site ------------------------------------------------------------------------------------------------
@pytest.fixture(scope='session')
def site(course_run):
    "The built site's folder and the build's figures (waits for the build in the course run that conftest.py starts)."
    figures = course_run.wait_for(course_run.quick/'site-build.json', 'a built website (tools/build_site.py)')
    return course_run.quick/'site', json.loads(figures.read_text())


@pytest.fixture(scope='session')
def server(site):
    "The site served over HTTP on 127.0.0.1, on a free port."
    handler = functools.partial(QuietHandler, directory=str(site[0]))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope='session')
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (tools/setup.sh installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        yield b
        b.close()


class Visit:
    "A page opened in a fresh tab that records console errors, page errors, failed requests and foreign requests."
    def __init__(self, browser, url, width=1280):
        self.ctx = browser.new_context(viewport={'width': width, 'height': 900})
        self.page = self.ctx.new_page()
        self.errors, self.foreign, self.failed = [], [], []
        self.page.on('console', lambda m: m.type == 'error' and self.errors.append(f'console: {m.text}'))
        self.page.on('pageerror', lambda e: self.errors.append(f'page error: {e}'))
        self.page.on('requestfailed', lambda r: self.failed.append(f'{r.url} ({r.failure})'))
        self.page.on('response', lambda r: r.status >= 400 and self.failed.append(f'{r.url} ({r.status})'))
        self.ctx.route('**/*', self._route)
        self.page.goto(url, wait_until='networkidle')

    def _route(self, route):
        if urlsplit(route.request.url).hostname == '127.0.0.1': route.continue_()
        else: self.foreign.append(route.request.url); route.abort()

    def close(self): self.ctx.close()


class Links(HTMLParser):
    "hrefs and ids of an HTML page."
    def __init__(self, text):
        super().__init__(); self.hrefs, self.ids = [], set(); self.feed(text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.hrefs.append(a['href'])


def pages(site_dir):
    return sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob('*.html') if '_static' not in p.parts)


def test_every_notebook_is_a_page(site):
    site_dir, figures = site
    want = {f'{p.stem}.html' for p in build_site.page_notebooks(ROOT/'nbs')}
    assert want <= set(pages(site_dir)), want - set(pages(site_dir))
    assert figures['pages'] == len(want)
    print(f"\nsite: {figures['pages']} notebook pages, build {figures['total_seconds']} s "
          f"(nbdev {figures['nbdev_seconds']} s, Sphinx {figures['sphinx_seconds']} s)")


def test_no_cdn_in_html(site):
    "No script, stylesheet, image or font is referenced from another host."
    bad = []
    for rel in pages(site[0]):
        text = (site[0]/rel).read_text()
        bad += [f'{rel}: {m}' for m in re.findall(r'<(?:script|link|img|iframe)\b[^>]*?(?:src|href)="((?:https?:)?//[^"]+)"', text)
                if not m.startswith('https://github.com/')]  # the theme's repository link is a <a>, not a load
    assert not bad, bad


def test_cell_options_honoured(site):
    "Hidden cells stay hidden, show_doc code is not shown but its docs are, `#| eval: false` code is shown."
    text = lambda stem: (site[0]/f'{stem}.html').read_text()
    for stem in LESSONS + API:
        t = text(stem)
        assert 'nbdev_export' not in t, f'{stem}: a #| hide cell is shown'
        assert '#| ' not in t and '#|' not in re.sub(r'<[^>]+>', '', t), f'{stem}: a cell directive is shown'
        assert 'show_doc(' not in t, f'{stem}: show_doc code is shown'
    assert 'id="transfer_cookbook.core.env.get_device"' in text('00_env') and 'prefer' in text('00_env')  # show_doc rendered
    assert 'id="transfer_cookbook.core.learner.fine_tune"' in text('04_learner')
    assert 'resnet50' in text('01_models') and 'tag_tc-not-run' in text('01_models')  # eval: false, shown


PLOTS_JS = 'els => els.filter(e => !e.closest(".jupyter-widgets") && e.complete && e.naturalWidth > 0).length'
SIZES_JS = """els => els.filter(e => e.complete && e.naturalWidth > 0)
    .map(e => [e.getAttribute('src').split('/').pop(), e.naturalWidth, e.getBoundingClientRect().width])"""
WIDE_JS = """() => {
    const article = document.querySelector('article.bd-article');
    if (!article) return [];
    const column = article.getBoundingClientRect().right;
    return [...article.querySelectorAll('pre')]
      .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > column + 1)
      .map(e => e.innerText.trim().slice(0, 40))}"""


@pytest.fixture(scope='session')
def visited(site, server, browser):
    """Every page opened once at 1280 px, and what the four tests below read from it: its problems (console and page
    errors, failed and foreign requests), how many output images loaded, each image's file, natural and shown width,
    and the code blocks wider than the article's column. One visit serves them all: a tab costs about a second."""
    out = {}
    for rel in pages(site[0]):
        v = Visit(browser, server + rel)
        out[rel] = dict(problems=v.errors + [f'foreign request {u}' for u in v.foreign] + [f'failed request {u}' for u in v.failed],
                        plots=v.page.eval_on_selector_all('.cell_output img', PLOTS_JS),
                        sizes=v.page.eval_on_selector_all('.cell_output img', SIZES_JS), wide=v.page.evaluate(WIDE_JS))
        v.close()
    return out


def test_pages_load_cleanly_and_offline(visited):
    "Every page loads with no console error and no failed request, and no request leaves 127.0.0.1."
    problems = [f'{rel}: {e}' for rel, v in visited.items() for e in v['problems']]
    print(f'\nloaded {len(visited)} pages in Chromium')
    assert len(visited) >= len(LESSONS) and not problems, '\n'.join(problems)


def test_internal_links_resolve(site):
    "Every link that stays on the site reaches a file, and its #fragment an element of that page."
    site_dir, broken, checked = site[0], [], 0
    parsed = {rel: Links((site_dir/rel).read_text()) for rel in pages(site_dir)}
    for rel, links in parsed.items():
        for href in links.hrefs:
            if re.match(r'^[a-z][a-z0-9+.-]*:', href) or href.startswith('//'): continue  # another site, mailto:
            url = urlsplit(urljoin(rel, href))
            target = unquote(url.path) or rel
            path = site_dir/target
            if path.is_dir(): path = path/'index.html'
            checked += 1
            if not path.exists(): broken.append(f'{rel}: {href}'); continue
            if url.fragment and path.suffix == '.html':
                ids = parsed.get(path.relative_to(site_dir).as_posix()) or Links(path.read_text())
                if url.fragment not in ids.ids: broken.append(f'{rel}: {href} (no #{url.fragment})')
    print(f'\nchecked {checked} internal links on {len(parsed)} pages')
    assert checked > 50
    assert not broken, '\n'.join(broken)


def test_sidebar_follows_the_course(site, server, browser):
    "The sidebar: the lessons and recipes, then the API reference, each in notebook order."
    v = Visit(browser, server + 'index.html')
    hrefs = v.page.eval_on_selector_all('.bd-sidebar-primary nav a.reference.internal', 'els => els.map(e => e.getAttribute("href"))')
    captions = v.page.eval_on_selector_all('.bd-sidebar-primary nav p.caption', 'els => els.map(e => e.innerText.trim())')
    v.close()
    stems = [h.split('#')[0].removesuffix('.html').lstrip('./') for h in hrefs]
    assert captions == ['Lessons & recipes', 'API reference', 'The project'], captions
    assert [s for s in stems if s in LESSONS + API] == LESSONS + API, stems
    assert stems.index(build_site.REFERENCE) == stems.index(API[0]) - 1 and stems[-1] == build_site.README_PAGE, stems


def test_search_finds_a_function(site, server, browser):
    v = Visit(browser, server + 'search.html?q=fine_tune')
    v.page.wait_for_selector('#search-results ul.search li', timeout=20000)
    hits = v.page.eval_on_selector_all('#search-results ul.search li a', 'els => els.map(e => e.getAttribute("href"))')
    errors = v.errors; v.close()
    assert any(h.startswith('04_learner.html') for h in hits), hits
    assert not errors, errors


def test_pages_show_their_plots(site, visited):
    "Every image a notebook cell output holds is on its page, loaded; each lesson with plots shows them."
    work = site[0].parent/'site-work'/'src'
    shown = {}
    for stem in LESSONS + API:
        nb = json.loads((work/f'{stem}.ipynb').read_text())
        want = sum(1 for c in nb['cells'] for o in c.get('outputs', []) if 'image/png' in o.get('data', {}))
        shown[stem] = (want, visited[f'{stem}.html']['plots'])
    assert all(w == g for w, g in shown.values()), shown
    assert shown['10_vision_cnn'][0] >= 3, shown


def figure_files(nb):
    "The file names Sphinx gives a notebook's matplotlib figures (myst-nb names an image by the SHA-256 of its bytes)."
    import base64, hashlib
    return {hashlib.sha256(base64.b64decode(''.join(o['data']['image/png']))).hexdigest() + '.png'
            for c in nb['cells'] for o in c.get('outputs', []) if 'image/png' in o.get('data', {})
            and ''.join(o['data'].get('text/plain', '')).startswith('<Figure')}


def test_figures_are_sharp(site, visited):
    "Every matplotlib figure has at least twice as many pixels across as it is shown with (retina), on every page."
    work, blurred, n = site[0].parent/'site-work'/'src', [], 0
    for stem in LESSONS + API:
        files = figure_files(json.loads((work/f'{stem}.ipynb').read_text()))
        if not files: continue
        shown = [(name, nat, w) for name, nat, w in visited[f'{stem}.html']['sizes'] if name in files]
        assert len(shown) == len(files), (stem, len(shown), len(files))
        n += len(shown)
        blurred += [f'{stem}: {nat} px shown at {w:.0f} px' for name, nat, w in shown if nat < 2 * w - 1]
    print(f'\n{n} figures checked')
    assert n >= 20 and not blurred, '\n'.join(blurred)


def test_widget_slider_moves(site, server, browser):
    "Lesson 10's 'Try it' slider renders from the saved widget state and moves when clicked."
    v = Visit(browser, server + '10_vision_cnn.html')
    slider = v.page.wait_for_selector('.widget-slider', timeout=20000)
    readout = v.page.locator('.widget-slider .widget-readout').first
    before = readout.inner_text()
    track = v.page.locator('.widget-slider .noUi-target').first
    box = track.bounding_box()
    track.click(position={'x': box['width'] * 0.8, 'y': box['height'] / 2})  # scrolls it into view first
    v.page.wait_for_function('b => document.querySelector(".widget-slider .widget-readout").innerText != b', arg=before,
                             timeout=5000, polling=100)
    after = readout.inner_text()
    errors = v.errors; v.close()
    assert slider is not None and before != after, (before, after)
    assert int(after) > int(before)
    assert not errors, errors


def test_math_renders(site, server, browser):
    "The Grad-CAM formula on the interpretation page is typeset by the vendored MathJax."
    v = Visit(browser, server + '05_interpret.html')
    v.page.wait_for_selector('.MJXc-display, .mjx-chtml', timeout=20000)
    n = v.page.locator('.mjx-chtml').count()
    errors = v.errors; v.close()
    assert n >= 1 and not errors, (n, errors)


def test_phone_drawer_and_contents_open(site, server, browser):
    "At 390 px the menu button opens the lessons drawer and the contents button the page's contents; one search box."
    v = Visit(browser, server + '10_vision_cnn.html', width=390)
    opened = {}
    for toggle, dialog in (('.primary-toggle', '#pst-primary-sidebar-modal'), ('.secondary-toggle', '#pst-secondary-sidebar-modal')):
        v.page.locator(toggle).click()  # fails if no such button is visible
        v.page.wait_for_function(f'document.querySelector("{dialog}").open', timeout=5000)
        opened[toggle] = v.page.eval_on_selector(f'{dialog}', 'd => [...d.querySelectorAll("a")].filter(a => a.checkVisibility()).length')
        v.page.keyboard.press('Escape')
        v.page.wait_for_function(f'!document.querySelector("{dialog}").open', timeout=5000)
    errors = v.errors; v.close()
    assert opened['.primary-toggle'] >= len(LESSONS) and opened['.secondary-toggle'] >= 5, opened
    assert not errors, errors
    for width in (390, 1280):
        v = Visit(browser, server + '10_vision_cnn.html', width=width)
        boxes = v.page.eval_on_selector_all('.search-button-field, .search-button', 'els => els.filter(e => e.checkVisibility()).length')
        v.close()
        assert boxes == 1, f'{boxes} search boxes at {width} px'


def test_widgets_say_they_need_a_kernel(site, server, browser):
    "Each widget with controls carries a note that it needs a kernel; a slider keeps its track; no light block in dark mode."
    with_widgets = [rel for rel in pages(site[0]) if build_site.WIDGET_VIEW in (site[0]/rel).read_text()]
    found, problems = {}, []
    for rel in with_widgets:
        v = Visit(browser, server + rel)
        v.page.wait_for_selector('.cell_output .jupyter-widgets', timeout=20000)
        v.page.evaluate('document.documentElement.dataset.theme = "dark"')
        cells = v.page.eval_on_selector_all('div.cell:has(.cell_output .jupyter-widgets)', """cells => cells.map(c => {
            const next = c.nextElementSibling;
            const bg = getComputedStyle(c.querySelector('.widget-subarea') || c).backgroundColor.match(/[\\d.]+/g).map(Number);
            return {controls: c.querySelectorAll('.jupyter-widgets :is(input, select, button, textarea, .noUi-target)').length,
                    note: !!(next && (next.matches('.tc-needs-kernel') || next.querySelector('.tc-needs-kernel'))),
                    tracks: [...c.querySelectorAll('.widget-hslider .noUi-target')].map(t => t.getBoundingClientRect().width),
                    light: bg.length > 3 && bg[3] === 0 ? false : (bg[0] + bg[1] + bg[2]) / 3 > 128}})""")
        v.close()
        found[rel] = cells
        problems += [f'{rel}: widget with controls and no note' for c in cells if c['controls'] and not c['note']]
        problems += [f'{rel}: a note under a widget without controls' for c in cells if c['note'] and not c['controls']]
        problems += [f'{rel}: a slider track {w:.0f} px wide' for c in cells for w in c['tracks'] if w < 80]
        problems += [f'{rel}: a light block behind a widget in dark mode' for c in cells if c['light']]
    assert {'10_vision_cnn.html', '31_keyword_spotting.html'} <= set(with_widgets), with_widgets
    assert sum(c['note'] for cells in found.values() for c in cells) >= 3, found
    assert not problems, '\n'.join(problems)


def test_bookkeeping_out_of_the_way(site, server, browser):
    "No page shows the lesson timer or a results file's path outside a collapsed cell; lesson 31's 65-line repr is folded."
    shown = []
    for rel in pages(site[0]):
        text = re.sub(r'<details.*?</details>', '', (site[0]/rel).read_text(), flags=re.S)
        text = page_text_of(text)
        shown += [f'{rel}: {what}' for what in ('_lesson_start', 'lesson wall-clock seconds', "PosixPath(", '_nb_start')
                  if what in text]
    folded = [s for s in LESSONS if 'Show the bookkeeping' in (site[0]/f'{s}.html').read_text()]
    v = Visit(browser, server + '31_keyword_spotting.html')
    seq = v.page.locator('.cell_output pre', has_text='Sequential(').first
    hidden_before = not seq.is_visible()
    v.page.locator('.tag_hide-output summary').first.click()
    visible_after = seq.is_visible()
    v.close()
    assert not shown, shown
    assert len(folded) >= 8, folded
    assert hidden_before and visible_after


def page_text_of(html_text):
    import html
    return html.unescape(re.sub(r'<[^>]+>', '', html_text))


# Code blocks allowed to be wider than the column at 1280 px, as 'page: first characters of the block' (at most a handful).
WIDE_CODE_ALLOWED = set()


def test_no_code_block_wider_than_its_column(visited):
    "At 1280 px no code cell, output or signature scrolls sideways or runs past the article's column: long lines wrap."
    wide = [f'{rel}: {text}' for rel, v in visited.items() for text in v['wide'] if f'{rel}: {text}' not in WIDE_CODE_ALLOWED]
    assert len(WIDE_CODE_ALLOWED) <= 5
    assert not wide, '\n'.join(wide)


def page_text(path):
    "What a page says: its HTML without tags, entities decoded."
    import html
    return html.unescape(re.sub(r'<[^>]+>', '', path.read_text()))


def test_no_stray_logs_or_temp_paths(site):
    "No page shows a temporary path, a warning with its kernel file and line, or a progress log of a model save."
    found = []
    for rel in pages(site[0]):
        text = page_text(site[0]/rel)
        for what, pattern in (('a /tmp/ path', r'/tmp/'), ('a kernel file', r'ipykernel_'),
                              ('a warning with file and line', r'\.py:\d+: \w*Warning'),
                              ('a model-save log', r'Writing model shards')):
            found += [f'{rel}: {what}: ...{text[max(0, m.start() - 60):m.end() + 60]!r}...' for m in re.finditer(pattern, text)]
    assert not found, '\n'.join(found[:30])


def test_tables_are_rounded(site):
    "No table cell on any page shows more than 4 decimals (core.env's notebook display formats pandas' floats)."
    import html
    long = []
    for rel in pages(site[0]):
        cells = re.findall(r'<t[dh]\b[^>]*>(.*?)</t[dh]>', (site[0]/rel).read_text(), flags=re.S)
        texts = [html.unescape(re.sub(r'<[^>]+>', '', c)).strip() for c in cells]
        long += [f'{rel}: {c}' for c in texts if re.search(r'\d\.\d{5,}', c)]
    assert not long, f'{len(long)} cells, e.g.\n' + '\n'.join(long[:20])


def test_display_equations_are_centred(site, server, browser):
    "Each display equation of lessons 05 and 42 sits in the middle of its line, not flush right."
    gaps = {}
    for stem in ('05_interpret', '42_lesion_segmentation'):
        v = Visit(browser, server + f'{stem}.html')
        v.page.wait_for_selector('div.math .MathJax_CHTML', timeout=20000)
        gaps[stem] = v.page.eval_on_selector_all('div.math', """els => els.map(d => {
            const f = d.querySelector('.MathJax_CHTML').getBoundingClientRect(), r = d.getBoundingClientRect();
            return [Math.round(f.left - r.left), Math.round(r.right - f.right)]})""")
        v.close()
    assert all(gaps.values()) and len(gaps['42_lesion_segmentation']) >= 2, gaps
    assert all(abs(left - right) <= 4 for g in gaps.values() for left, right in g), gaps


def test_quick_run_banner(site, server, browser):
    "The site the tests build comes from a quick run: every lesson says so at its top; the home page does not."
    v = Visit(browser, server + '10_vision_cnn.html')
    note = v.page.locator('.tc-quick').first.inner_text()
    v.close()
    assert 'quick run' in note and 'run_course.py --only 10_vision_cnn' in note, note
    assert all('tc-quick' in (site[0]/f'{stem}.html').read_text() for stem in LESSONS)
    assert 'tc-quick' not in (site[0]/'index.html').read_text()


def test_every_page_links_its_notebook_and_none_colab(site):
    "Each notebook's page offers the notebook itself; no page offers Colab (the course needs Debian packages it lacks)."
    for rel in pages(site[0]):
        t = (site[0]/rel).read_text()
        assert 'colab.research.google.com' not in t, rel
        stem = rel.removesuffix('.html')
        if rel in ('genindex.html', 'search.html', 'index.html', f'{build_site.REFERENCE}.html'): continue  # no notebook
        stem = 'index' if stem == build_site.README_PAGE else stem
        assert (ROOT/'nbs'/build_site.source_path(stem)).exists(), rel
        assert f'href="notebooks/{stem}.ipynb"' in t and (site[0]/'notebooks'/f'{stem}.ipynb').exists(), rel


def test_landing_page(site, server, browser):
    "The home page is for readers: a figure from a lesson, 'start here', a card per lesson, how to run it; the README apart."
    v = Visit(browser, server + 'index.html')
    cards = v.page.eval_on_selector_all('.tc-cards a.tc-card', """els => els.map(e => ({href: e.getAttribute('href'),
        kind: e.querySelector('.tc-card-kind').innerText, title: e.querySelector('.tc-card-title').innerText,
        text: e.querySelector('.tc-card-text').innerText}))""")
    start = v.page.eval_on_selector_all('.tc-start a.tc-card', 'els => els.map(e => e.getAttribute("href"))')
    figure = v.page.eval_on_selector_all('img.tc-landing-figure', 'els => els.filter(e => e.complete && e.naturalWidth > 400).length')
    headings = v.page.eval_on_selector_all('article h2', 'els => els.map(e => e.innerText.trim())')
    for card in cards[:3]:  # a card is a link that leads to its lesson
        with v.page.expect_navigation(): v.page.click(f'.tc-cards a.tc-card[href="{card["href"]}"]')
        assert v.page.url.endswith('/' + card['href']), v.page.url
        v.page.go_back()
    errors = v.errors; v.close()
    assert [c['href'] for c in cards] == [f'{s}.html' for s in LESSONS], cards
    assert all((site[0]/c['href']).exists() and c['title'].strip() and len(c['text']) > 20 for c in cards), cards
    assert all(re.fullmatch(r'(LESSON|RECIPE|DATA|SUMMARY) \d+', c['kind'].upper()) for c in cards), cards
    assert start == [f'{LESSONS[0]}.html'] and figure == 1, (start, figure)
    assert {'Start here', 'What you will learn', 'The lessons', 'How to run it'} <= set(headings), headings
    assert not errors, errors
    readme = page_text(site[0]/f'{build_site.README_PAGE}.html')
    assert 'About the repository' in readme and 'make course' in readme and 'Quick start' in readme
    assert 'nbdev_export' not in page_text(site[0]/'index.html')  # the contributor's make targets stay in the README



# --- the API reference ------------------------------------------------------------------------------------------
def public_names():
    "{module: [names]}: every module's `__all__`, read from the library's source (nothing imported)."
    import ast
    found = {}
    for f in sorted((ROOT/'transfer_cookbook').rglob('*.py')):
        if f.name.startswith('_'): continue
        for node in ast.parse(f.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in node.targets):
                module = '.'.join(f.relative_to(ROOT).with_suffix('').parts)
                found[module] = ast.literal_eval(node.value)
    return found


def inventory(site_dir):
    "objects.inv as {(role, name): page#anchor}."
    import posixpath
    from sphinx.util.inventory import InventoryFile
    with open(site_dir/'objects.inv', 'rb') as f: inv = InventoryFile.load(f, '', posixpath.join)
    return {(role, name): getattr(item, 'uri', None) or item[2] for role, items in inv.items() for name, item in items.items()}


def test_api_entries_are_classes_and_methods_with_parameter_tables(site, server, browser):
    "A class is a class, a method patched onto it sits under its name, each with nbdev's Type/Default/Details table."
    want = {'04_learner': [('transfer_cookbook.core.learner.Learner', 'class Learner('),
                           ('transfer_cookbook.core.learner.Learner.fit', 'Learner.fit('),
                           ('transfer_cookbook.core.learner.Learner.validate', 'Learner.validate('),
                           ('transfer_cookbook.core.learner.fine_tune', 'fine_tune(')],
            '41_unet_transfer': [('transfer_cookbook.vision.segment.UNet', 'class UNet(')],
            '20_text_sentiment': [('transfer_cookbook.text.models.train_text', 'train_text(')],
            '31_keyword_spotting': [('transfer_cookbook.audio.keywords.keyword_model', 'keyword_model(')]}
    found, defs, empty = {}, [], []
    for stem, entries in want.items():
        v = Visit(browser, server + f'{stem}.html')
        for anchor, start in entries:
            found[anchor] = v.page.evaluate("""id => {
                const dt = document.getElementById(id); if (!dt) return null;
                const table = dt.parentElement.querySelector(':scope > dd > table, :scope > dd > div > table');
                return {sig: dt.innerText.replace(/\\s+/g, ' ').trim(), kind: dt.parentElement.className,
                        head: table ? [...table.querySelectorAll('thead th')].map(e => e.innerText.trim()) : null,
                        rows: table ? table.querySelectorAll('tbody tr').length : 0}}""", anchor)
            assert found[anchor] and found[anchor]['sig'].startswith(start), (anchor, found[anchor])
            assert found[anchor]['head'] == ['', 'Type', 'Default', 'Details'] and found[anchor]['rows'] >= 2, found[anchor]
        defs += v.page.eval_on_selector_all('article dl.py > dt', 'els => els.map(e => e.innerText).filter(t => t.startsWith("def "))')
        # an empty section: a heading with nothing under it (the `fit` heading nbdev's page had before the entry)
        empty += [f'{stem}: {h}' for h in v.page.eval_on_selector_all('article section', """els => els
            .filter(s => [...s.children].every(c => /^H[1-6]$/.test(c.tagName)))
            .map(s => s.querySelector('h1,h2,h3,h4,h5,h6').innerText)""")]
        v.close()
    v = Visit(browser, server + '04_learner.html', width=390)  # on a phone a parameter table fits the column
    wide = v.page.evaluate("""() => { const col = document.querySelector('article.bd-article').getBoundingClientRect().right;
        return [...document.querySelectorAll('article dl.py table')].filter(t => t.getBoundingClientRect().right > col + 1).length }""")
    v.close()
    assert wide == 0, f'{wide} parameter tables wider than the column at 390 px'
    assert 'py class' in found['transfer_cookbook.core.learner.Learner']['kind']
    assert 'py method' in found['transfer_cookbook.core.learner.Learner.fit']['kind']
    assert not defs and not empty, (defs, empty)


def test_genindex_and_objects_inv_list_the_library(site):
    "genindex.html lists the entries; objects.inv has a Python-domain entry for every name in every module's __all__."
    site_dir = site[0]
    index = Links((site_dir/'genindex.html').read_text())
    entries = [h for h in index.hrefs if '#transfer_cookbook.' in h]
    inv = inventory(site_dir)
    py_names = {name for (role, name) in inv if role.startswith('py:')}
    missing = [f'{m}.{n}' for m, names in public_names().items() for n in names if f'{m}.{n}' not in py_names]
    assert len(entries) >= 200, len(entries)
    assert not missing, missing
    assert ('py:class', 'transfer_cookbook.core.learner.Learner') in inv
    assert ('py:method', 'transfer_cookbook.core.learner.Learner.fit') in inv


def test_every_public_name_is_reachable_from_the_reference(site):
    "The reference's first page links every name of every module's __all__ to its entry (UNet, train_text included)."
    site_dir = site[0]
    inv = inventory(site_dir)
    uri = {name: u for (role, name), u in inv.items() if role.startswith('py:')}
    ref = Links((site_dir/f'{build_site.REFERENCE}.html').read_text())
    targets = {urljoin(build_site.REFERENCE + '.html', h) for h in ref.hrefs} | {f'{build_site.REFERENCE}.html#{i}' for i in ref.ids}
    unreached = [f'{m}.{n}' for m, names in public_names().items() for n in names
                 if urljoin(build_site.REFERENCE + '.html', uri.get(f'{m}.{n}', '?')) not in targets]
    assert not unreached, unreached
    for name in ('vision.segment.UNet', 'text.models.train_text', 'audio.keywords.keyword_model'):
        assert uri[f'transfer_cookbook.{name}'] in {h for h in ref.hrefs}, name


def test_backticked_names_link_to_their_entries(site):
    "In lesson 10's prose, every backticked name of the library links to its entry."
    import html
    names = {n for ns in public_names().values() for n in ns}
    text = (site[0]/'10_vision_cnn.html').read_text()
    article = text[text.index('<article'):text.index('</article>')]
    linked = {html.unescape(re.sub(r'<[^>]+>', '', m)) for m in
              re.findall(r'<a class="[^"]*tc-api-link[^"]*" href="[^"]+"[^>]*>(.*?)</a>', article, flags=re.S)}
    plain = re.sub(r'<a class="[^"]*tc-api-link.*?</a>|<dt.*?</dt>|<h[1-6].*?</h[1-6]>', '', article, flags=re.S)
    unlinked = {html.unescape(re.sub(r'<[^>]+>', '', c)) for c in re.findall(r'<code class="docutils literal[^"]*">(.*?)</code>', plain, flags=re.S)}
    unlinked = {c for c in unlinked if c.removesuffix('()') in names}
    assert len(linked) >= 8, linked
    assert not unlinked, unlinked

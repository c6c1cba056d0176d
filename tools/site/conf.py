"""Sphinx configuration of the course website. tools/build_site.py copies this folder next to the processed
notebooks and runs Sphinx there; `site.json` (written by the build) carries the project's settings.ini values."""
import json, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tc_api, the extension that links backticked names

site = json.loads((Path(__file__).parent/'site.json').read_text())

project = site['title']
author = site['author']
copyright = site['copyright']
version = release = site['version']
root_doc = 'index'

extensions = ['myst_nb', 'tc_api']
exclude_patterns = ['_build', '**.ipynb_checkpoints', 'landing.md']  # landing.md: the home page's template
suppress_warnings = ['myst.header']  # show_doc headings (###) may follow an H1 directly

# The notebooks were executed by tools/run_course.py and processed by nbdev: render their saved outputs.
nb_execution_mode = 'off'
nb_merge_streams = True
nb_output_stderr = 'show'
myst_enable_extensions = ['dollarmath', 'amsmath', 'colon_fence']

# Nothing from a CDN: the widget renderer and MathJax 2 are vendored from npm into _static/npm/ at build time.
nb_ipywidgets_js = {'npm/html-manager/dist/embed.js': {}}
mathjax_path = 'npm/mathjax/MathJax.js?config=TeX-AMS_CHTML'
# myst-nb marks notebook pages tex2jax_ignore (no stray `$` in outputs typeset) and tells MathJax 3+ which classes
# to process all the same; MathJax 2 is told here: the math nodes Sphinx writes carry the class `math`.
mathjax2_config = {'tex2jax': {'processClass': 'tex2jax_process|mathjax_process|math|output_area'}}

# The API entries (tools/build_site.py writes them from the library): `fine_tune(...)` under its page's heading, not
# `transfer_cookbook.core.learner.fine_tune(...)`; a long signature wraps between parameters like prose (its table
# below gives a row per parameter).
add_module_names = False
python_display_short_literal_types = True
html_domain_indices = False   # the reference's first page lists the modules; no separate module index

html_theme = 'sphinx_book_theme'
html_title = site['title']
html_static_path = ['_static']
html_css_files = ['tc.css']
html_favicon = '_static/favicon.svg'   # else browsers ask for /favicon.ico, a 404
html_context = {'default_mode': 'light'}
html_last_updated_fmt = None
html_copy_source = False       # the download link offers the notebooks themselves
html_show_sourcelink = False
html_theme_options = {
    'repository_url': site['git_url'],
    'repository_branch': site['branch'],
    'path_to_docs': site['nbs_path'],
    'use_repository_button': True,
    'use_download_button': False,   # each page carries its own "Download the notebook" link
    'show_toc_level': 2,
    'navigation_with_keys': False,
    # pydata-sphinx-theme (0.17 on) adds a top navbar with a search field and its own hidden sidebar toggles unless
    # navbar_persistent is set: a second search box, and its JavaScript binds `querySelector('.primary-toggle')`, the
    # hidden button, so the book theme's visible drawer and contents buttons do nothing on phones
    # (pydata/pydata-sphinx-theme#2451). No navbar: one search box (the sidebar's), toggles that work.
    'navbar_persistent': [],
}


def setup(app):
    # MathJax on every page, not only on pages with equations: the widget renderer typesets through it too.
    app.set_html_assets_policy('always')

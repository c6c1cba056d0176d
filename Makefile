# Everything starts with `make setup` (apt packages + .venv); the other targets run it first,
# and a warm re-run takes about a second.
SHELL := bash
PY := .venv/bin/python
# make course JOBS=2: two notebooks side by side, one torch thread each (their seconds are then marked as such);
# make course FORCE=1: execute every notebook, even those the cache (_build/cache/) holds
JOBS ?= 1
FORCE ?=

.PHONY: setup course site readme test test-full lab bench clean

setup:
	bash tools/setup.sh

# Execute every lesson on the offline defaults into _build/executed/ (summary in _build/summary.md; a notebook whose
# code, imported library code and inputs did not change since the last run is restored from the cache instead),
# then build the website from those executed notebooks into _build/site/ (and README.md from nbs/index.ipynb).
# A notebook that fails does not stop the rest: the site is still built (the failed page says so at its top),
# and make exits non-zero with the list of failures.
course: setup
	@status=0; $(PY) tools/run_course.py --jobs $(JOBS) $(if $(FORCE),--force) || status=$$?; \
	$(PY) tools/build_site.py --allow-errors || exit $$?; \
	if [ $$status -ne 0 ]; then echo "make course: the site is built in _build/site/, but notebooks failed" \
	  "(listed above; their pages carry an error banner)." >&2; fi; \
	exit $$status

# The website from whatever _build/executed/ holds (a quick execution first when it holds nothing)
site: setup
	$(PY) tools/build_site.py

# README.md from nbs/index.ipynb (on the site: "About the repository"; the home page is tools/site/landing.md)
readme: setup
	$(PY) tools/build_site.py --readme

# Every notebook in quick mode, the nbdev sync and clean checks (README.md against nbs/index.ipynb too), and the
# website built from a quick execution and clicked through in Chromium (tests/test_site.py)
test: setup
	bash tools/check_sync.sh
	$(PY) -m pytest tests -q -p no:cacheprovider

# The same, and the four recipe notebooks once more in full mode, as a learner runs them (about 10 more minutes on
# two cores). Run it before closing an issue that changes a recipe; `make course` runs them in full mode too.
test-full: setup
	bash tools/check_sync.sh
	TC_TEST_FULL=1 $(PY) -m pytest tests -q -p no:cacheprovider

lab: setup
	.venv/bin/jupyter lab nbs/

bench: setup
	@shopt -s nullglob; files=(benchmarks/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks in benchmarks/"; fi; \
	for f in "$${files[@]}"; do echo "==> $$f"; $(PY) "$$f" || exit 1; done

clean:
	rm -rf _build

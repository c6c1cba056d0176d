# Everything starts with `make setup` (apt packages + .venv); the other targets run it first,
# and a warm re-run takes about a second.
SHELL := bash
PY := .venv/bin/python

.PHONY: setup course test lab bench clean

setup:
	bash tools/setup.sh

# Execute every lesson on the offline defaults into _build/executed/; summary in _build/summary.md
course: setup
	$(PY) tools/run_course.py

# Every notebook in quick mode, plus the nbdev sync and clean checks
test: setup
	bash tools/check_sync.sh
	$(PY) -m pytest tests -q -p no:cacheprovider

lab: setup
	.venv/bin/jupyter lab nbs/

bench: setup
	@shopt -s nullglob; files=(benchmarks/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks in benchmarks/"; fi; \
	for f in "$${files[@]}"; do echo "==> $$f"; $(PY) "$$f" || exit 1; done

clean:
	rm -rf _build

#!/usr/bin/env bash
# CI check: the library in transfer_cookbook/ is what the notebooks export, the notebooks are clean, and README.md
# is what tools/build_site.py writes from nbs/index.ipynb.
# Runs nbdev_export and nbdev_clean in a scratch copy of the working tree (tracked files plus untracked,
# not-ignored ones) and fails if they would change anything. The real tree is never touched.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
for tool in nbdev_export nbdev_clean; do
  [ -x "$ROOT/.venv/bin/$tool" ] || { echo "check_sync: $ROOT/.venv/bin/$tool not found: run 'make setup' first." >&2; exit 2; }
done

if ! out=$("$ROOT/.venv/bin/python" tools/build_site.py --check-readme 2>&1); then
  printf 'check_sync: %s\n' "$out" >&2; exit 1
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Files as they are on disk now (tracked and deleted ones skipped), copied with their folders.
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
  | xargs -0 -r cp -a --parents -t "$tmp"
cd "$tmp"
git init -q && git add -A && git -c user.email=check@sync -c user.name=check_sync commit -qm snapshot

for tool in nbdev_export nbdev_clean; do
  if ! out=$(timeout 120 "$ROOT/.venv/bin/$tool" 2>&1); then
    printf 'check_sync: %s failed:\n%s\n' "$tool" "$out" >&2; exit 1
  fi
done

git add -A   # so files the export would create show up too
changed=$(git status --porcelain)
if [ -n "$changed" ]; then
  {
    echo "check_sync: FAILED. nbdev_export / nbdev_clean would change these files:"
    echo "$changed" | sed 's/^/    /'
    echo
    git --no-pager diff --cached --stat
    git --no-pager diff --cached | head -n 60 || true   # head closes the pipe early
    echo
    echo "The library must be exported from the notebooks and the notebooks cleaned:"
    echo "run .venv/bin/nbdev_export and .venv/bin/nbdev_clean, then commit."
  } >&2
  exit 1
fi
echo "check_sync: OK (library matches the notebooks; notebooks are clean; README.md matches nbs/index.ipynb)"

#!/usr/bin/env bash
# Run lessons 10 and 41 in full mode on the lent GPU machine (issue 15), from what tools/gpu_carry.py packed.
#
# That machine has torch, transformers, accelerate, onnxruntime, numpy, pandas, matplotlib, scipy, scikit-image and
# scikit-learn, but no network and no Debian packages; a call sends at most 64 MiB (working tree and carried paths
# together) and a command runs at most 10 minutes. Fashion-MNIST and the Lite0 weights fill most of that, so one
# lesson per call, each call carrying everything it needs:
#
#   here, first:  .venv/bin/python tools/gpu_carry.py     # builds _gpu_carry/, prints each call's size and carry list
#   run tool:     command "bash tools/gpu_lessons.sh 10_vision_cnn", timeout_s 600,
#                   carry ["_gpu_carry/runner.tar.xz", "_gpu_carry/lite0.tar.xz", "_gpu_carry/fashion.tar.xz"]
#                 command "bash tools/gpu_lessons.sh 41_unet_transfer", timeout_s 600,
#                   carry ["_gpu_carry/runner.tar.xz", "_gpu_carry/lite0.tar.xz", "_gpu_carry/brain.tar.xz"]
#                 (the second at once, while the machine is warm; then give it back)
#   here, after:  .venv/bin/python tools/gpu_compare.py FILES_AT/results _build/results   # CPU / GPU side by side
#                 (_build/results, or whichever build folder holds the CPU run's full-mode results)
#
# What comes back in $OUT: gpu_summary.md (the machine, each lesson's status and seconds, the tables it saved),
# run.log, results/NAME.json and the executed NAME.ipynb. The build folder stays in $GPU_WORK (its cache and nested
# folders exceed what $OUT returns: 8 files, 2 folders deep). A lesson still running at GPU_DEADLINE_S (570 s from
# the start, under the command's 600) is stopped, and the summary still written. A session's device time (15 minutes,
# machine starts included) cannot hold two 570-s calls: put a smaller deadline in front of the command when both must
# fit, e.g. "GPU_DEADLINE_S=300 bash tools/gpu_lessons.sh 41_unet_transfer".
# The wheels go to $GPU_WORK/site (pip --target, on PYTHONPATH beside the repository, so torch and the rest stay the
# machine's), the kernel is that same Python, and Fashion-MNIST goes where `load_fashion_mnist` looks after Debian's
# folder: ~/.cache/transfer_cookbook/FashionMNIST/raw (the library needs no change for it).
#
# To try it without a GPU (quick mode, this machine's Python): gpu_carry.py --python-version 3.11 --out DIR, a venv
# holding only what the device has, then GPU_CARRY=DIR PYTHON=VENV/bin/python GPU_QUICK=1 OUT=... HOME=... GPU_WORK=...
# bash tools/gpu_lessons.sh 10_vision_cnn, inside `unshare -m` with an empty folder bound over Debian's Fashion-MNIST.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
CARRY=${GPU_CARRY:-$ROOT/_gpu_carry}
WORK=${GPU_WORK:-/tmp/tc-gpu}
DEADLINE=${GPU_DEADLINE_S:-570}
QUICK=${GPU_QUICK:-}; MODE=full; [ -n "$QUICK" ] && MODE=quick
: "${OUT:?OUT must name the folder whose files come back}"
export HOME=${HOME:-$WORK/home}
LESSONS=("$@"); [ ${#LESSONS[@]} -gt 0 ] || LESSONS=(10_vision_cnn 41_unet_transfer)
mkdir -p "$OUT/results" "$WORK"

main() {
  shopt -s nullglob
  echo "==> unpacking $CARRY into $WORK"
  "$PY" - "$WORK" "$CARRY"/*.tar.xz <<'EOF' || return 1
import sys, tarfile
for archive in sys.argv[2:]:
    with tarfile.open(archive) as tar: tar.extractall(sys.argv[1], filter='data')
    print('   ', archive)
EOF
  local wheels=("$WORK"/wheels/*.whl) stamp=$WORK/site/.carried want
  [ ${#wheels[@]} -gt 0 ] || { echo "No carried wheels: carry _gpu_carry/runner.tar.xz (tools/gpu_carry.py builds it)."; return 1; }
  want=$(printf '%s\n' "${wheels[@]##*/}" | sort | sha256sum)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then  # a warm machine keeps the last call's install
    echo "==> installing ${#wheels[@]} carried wheels into $WORK/site (no index: nothing is fetched)"
    rm -rf "$WORK/site"
    env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$PY" -m pip install -q --no-index --no-deps --no-compile \
      --no-cache-dir --disable-pip-version-check --target "$WORK/site" "${wheels[@]}" || return 1
    echo "$want" > "$stamp"
  fi
  if [ -d "$WORK/fashion" ]; then
    local raw=$HOME/.cache/transfer_cookbook/FashionMNIST/raw
    echo "==> Fashion-MNIST -> $raw"
    mkdir -p "$raw" && ln -sf "$WORK"/fashion/* "$raw/"
  fi

  export PYTHONPATH=$ROOT:$WORK/site${PYTHONPATH:+:$PYTHONPATH} TC_OFFLINE=1 HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
  # the kernel is this Python, whatever else is installed: a kernel spec of our own, first on JUPYTER_PATH
  # and the connection file nbclient gives it (a temporary file) names it on its command line, for the deadline
  export JUPYTER_PATH=$WORK/jupyter TMPDIR=$WORK/tmp
  mkdir -p "$JUPYTER_PATH/kernels/python3" "$TMPDIR"
  local kernel="ipykernel_launcher -f $TMPDIR/"
  local exe; exe=$("$PY" -c 'import sys; print(sys.executable)')
  printf '{"argv": ["%s", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "Python 3", "language": "python"}\n' \
    "$exe" > "$JUPYTER_PATH/kernels/python3/kernel.json"
  "$PY" - > "$WORK/machine.md" <<'EOF' || return 1
import os, platform, torch
from importlib.metadata import version
import nbclient, jupyter_cache, ipykernel, fastcore, ipywidgets, efficientnet_lite_pytorch, transfer_cookbook  # noqa: F401
cuda = torch.cuda.is_available()
print(f"- Python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPU cores")
print('- the machine\'s ' + ', '.join(f'{n} {version(n)}' for n in ('torchvision', 'numpy', 'pandas', 'scipy', 'scikit-learn',
                                                                 'scikit-image', 'matplotlib', 'pillow')))
print(f"- GPU: {torch.cuda.get_device_name()} ({torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB)"
      if cuda else "- GPU: none that torch sees: these lessons ran on the CPU")
EOF
  cat "$WORK/machine.md"

  local lesson left t rc st err watchdog rows='' failed=0
  for lesson in "${LESSONS[@]}"; do
    left=$((DEADLINE - SECONDS - 20))
    if [ $left -lt 60 ]; then failed=$((failed + 1)); rows+="| $lesson | not run: ${left} s left before the deadline | - |"$'\n'; continue; fi
    echo "==> $lesson ($MODE mode, at most $left s)"
    t=$SECONDS; rm -f "$WORK/stopped"
    # at the deadline, kill the kernel: run_course reports the cell it was in and still writes the executed notebook
    # up to there; the outer timeout only backs that up
    # (its sleep ends with it, and it holds no end of the log's pipe: the command returns as soon as the lesson does)
    ( trap 'kill $nap 2>/dev/null; exit' TERM; sleep "$left" & nap=$!; wait $nap
      touch "$WORK/stopped"; pkill -KILL -f -- "$kernel" ) >/dev/null 2>&1 & watchdog=$!
    timeout -s INT -k 10 $((left + 15)) "$PY" tools/run_course.py --only "$lesson" --force --build-dir "$WORK/build" \
      --timeout "$left" ${QUICK:+--quick}
    rc=$?
    kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
    pkill -KILL -f -- "$kernel" 2>/dev/null  # a kernel the outer timeout left behind (it has its own session)
    cp "$WORK/build/results/$lesson.json" "$OUT/results/" 2>/dev/null
    cp "$WORK"/build/executed/*/"$lesson.ipynb" "$OUT/" 2>/dev/null
    st=("$WORK"/build/executed/*/"$lesson.status.json")
    err=$([ ${#st[@]} -gt 0 ] && "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["error"] or "")' "${st[0]}")
    if [ $rc -eq 0 ]; then err=ok
    elif [ -e "$WORK/stopped" ]; then err="stopped at the deadline ($left s)${err:+: $err}"
    else err="FAILED: ${err:-exit $rc, see run.log}"; fi
    [ $rc -eq 0 ] || failed=$((failed + 1))
    rows+="| $lesson | ${err//|/\\|} | $((SECONDS - t)) |"$'\n'
  done

  {
    echo "# Lessons on the device machine ($MODE mode)"
    echo
    cat "$WORK/machine.md"
    echo
    echo "| lesson | status | seconds (run_course, kernel start included) |"
    echo "|---|---|---|"
    printf '%s' "$rows"
    echo
    ls "$OUT"/results/*.json >/dev/null 2>&1 && "$PY" tools/gpu_compare.py "$OUT/results"
    echo "Beside the CPU run (here): .venv/bin/python tools/gpu_compare.py FILES_AT/results _build/results"
  } > "$OUT/gpu_summary.md"
  echo; cat "$OUT/gpu_summary.md"
  [ $failed -eq 0 ]
}

main 2>&1 | tee "$OUT/run.log"
exit "${PIPESTATUS[0]}"

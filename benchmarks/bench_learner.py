"""Benchmarks for the course's Learner, printed as figures (not timed tests).

1. Training throughput of `Learner.fit` against a bare hand-written PyTorch loop: the same model, data,
   optimiser (AdamW), schedule (OneCycleLR) and memory layout, measured alternately in one run.
   Goal: the Learner keeps at least 0.95 of the bare loop's images per second.
2. Ten epochs of head training with a frozen body: recomputing the body's features every epoch against
   caching them once (`cache_features`), and the accuracy each reaches.

Run: .venv/bin/python benchmarks/bench_learner.py [--images 640] [--repeats 3]
"""
import argparse, copy, statistics, time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from transfer_cookbook.core.files import sample_per_class
from transfer_cookbook.datasets.fashion import images_to_tensor, load_fashion_mnist
from transfer_cookbook.core.env import seed_everything
from transfer_cookbook.core.learner import Learner, cache_features
from transfer_cookbook.vision.models import load_backbone, make_classifier


def bare_loop(model, dl, epochs, lr):
    "The loop a reader would write by hand: forward, loss, backward, step."
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(dl), pct_start=0.25)
    for _ in range(epochs):
        for x, y in dl:
            x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sched.step()


def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--images', type=int, default=640, help='training images (Fashion-MNIST, 64x64)')
    ap.add_argument('--repeats', type=int, default=3, help='alternating repeats of each throughput measurement')
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu')

    x_train, y_train = load_fashion_mnist('train')
    idx = sample_per_class(y_train, args.images // 10)
    x, y = images_to_tensor(x_train[idx]), torch.as_tensor(y_train[idx])
    dl = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    seed_everything(0)
    base = make_classifier(load_backbone(), 10).to(memory_format=torch.channels_last)

    # 1. throughput: whole network trains; fresh copies of the same weights each time; alternate the order
    print(f'\n1. Whole-network training throughput, {len(x)} images x 1 epoch, batch 32, 64x64, {args.repeats} repeats')
    bare, learner, learner_bar = [], [], []
    timed(lambda: bare_loop(copy.deepcopy(base), dl, 1, 1e-3))  # warm-up (allocator, kernels)
    for _ in range(args.repeats):
        bare.append(len(x) / timed(lambda: bare_loop(copy.deepcopy(base), dl, 1, 1e-3)))
        learner.append(len(x) / timed(lambda: Learner(copy.deepcopy(base), dl, progress=False).fit(1, 1e-3)))
        learner_bar.append(len(x) / timed(lambda: Learner(copy.deepcopy(base), dl, progress=True).fit(1, 1e-3)))
    b, l, lb = (statistics.median(v) for v in (bare, learner, learner_bar))
    print(f'   bare PyTorch loop          {b:7.1f} images/s  (runs: {", ".join(f"{v:.1f}" for v in bare)})')
    print(f'   Learner.fit                {l:7.1f} images/s  (runs: {", ".join(f"{v:.1f}" for v in learner)})')
    print(f'   Learner.fit, progress bar  {lb:7.1f} images/s  (runs: {", ".join(f"{v:.1f}" for v in learner_bar)})')
    print(f'   ratio Learner / bare loop: {l / b:.3f}   (with progress bar: {lb / b:.3f}; goal >= 0.95)')

    # 2. frozen body for 10 epochs: recompute features every epoch vs cache them once
    print(f'\n2. Frozen body, head trained 10 epochs on {len(x)} images: recompute vs cached features')
    test_x, test_y = load_fashion_mnist('test')
    tidx = sample_per_class(test_y, 50, seed=1)
    valid = DataLoader(TensorDataset(images_to_tensor(test_x[tidx]), torch.as_tensor(test_y[tidx])), batch_size=256)

    seed_everything(0); m1 = copy.deepcopy(base)
    recompute = Learner(m1, dl, progress=False).freeze()
    t_recompute = timed(lambda: recompute.fit(10, 3e-3))

    seed_everything(0); m2 = copy.deepcopy(base)
    def cached_run():
        feats = DataLoader(cache_features(m2.body, dl), batch_size=32, shuffle=True)
        Learner(m2.head, feats, progress=False, channels_last=False).fit(10, 3e-3)
    t_cached = timed(cached_run)
    acc = lambda m: Learner(m, valid, valid, progress=False).validate()['accuracy']
    print(f'   recompute every epoch   {t_recompute:6.2f} s   test accuracy {acc(m1):.3f}')
    print(f'   cache once, then train  {t_cached:6.2f} s   test accuracy {acc(m2):.3f}')
    print(f'   speed-up of caching: {t_recompute / t_cached:.1f}x')


if __name__ == '__main__':
    main()

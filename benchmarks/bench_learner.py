"""Benchmarks for the course's Learner, printed as figures (not timed tests).

1. Training throughput of `Learner.fit` against a bare hand-written PyTorch loop: the same model, data,
   optimiser (AdamW), schedule (OneCycleLR) and memory layout, measured alternately in one run.
   Goal: the Learner keeps at least 0.95 of the bare loop's images per second.
2. Ten epochs of head training with a frozen body: recomputing the body's features every epoch against
   caching them once (`cache_features`), and the accuracy each reaches.
3. Lesson 20's transformer (MiniLM's architecture, random weights) on the airline tweets, seconds per optimiser
   step of 32 tweets, alternating in one run: AdamW's for-loop against its fused kernel (what `Learner.fit` uses on
   CPU and CUDA), and batches drawn at random against batches grouped by length (`text_loader`'s default).

Run: .venv/bin/python benchmarks/bench_learner.py [--images 640] [--repeats 3] [--text-steps 30]
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
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, fused=True)  # as Learner.fit on CPU
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
    ap.add_argument('--text-steps', type=int, default=30, help='optimiser steps per measurement in section 3')
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

    text_steps(args.text_steps, args.repeats)


def text_steps(steps, repeats):
    "Section 3: seconds per step of the text transformer, AdamW fused or not, batches grouped by length or not."
    from transfer_cookbook.datasets.tweets import load_tweets, split_tweets
    from transfer_cookbook.text.models import make_text_classifier, mean_pooled_classifier, text_loader
    train = split_tweets(load_tweets(), test_per_class=400, valid_per_class=0, ood_per_class=200, equal_topics=False)['train']
    hf, tok = make_text_classifier('minilm', 2, pretrained=False)
    base = mean_pooled_classifier(hf.base_model, 2)
    print(f'\n3. Lesson 20\'s transformer from random weights, {len(train):,} airline tweets: seconds per step of 32, {steps} steps, {repeats} repeats')
    def run(fused, by_length):
        model = copy.deepcopy(base).train()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01, fused=fused)
        torch.manual_seed(0)
        dl = text_loader(train.text, train.label, tok, 32, steps=steps, by_length=by_length)
        def loop():
            for b in dl:
                y = b.pop('labels'); F.cross_entropy(model(**b), y).backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return timed(loop) / steps
    run(True, True)  # warm-up
    cases = {'AdamW for-loop, random batches': (False, False), 'AdamW fused, random batches': (True, False),
             'AdamW fused, grouped by length': (True, True)}
    got = {k: [] for k in cases}
    for _ in range(repeats):
        for k, (f, g) in cases.items(): got[k].append(run(f, g))
    med = {k: statistics.median(v) for k, v in got.items()}
    for k, v in med.items(): print(f'   {k:32s} {v:6.3f} s/step  (runs: {", ".join(f"{x:.3f}" for x in got[k])})')
    first = med['AdamW for-loop, random batches']
    print(f'   fused / for-loop: {med["AdamW fused, random batches"] / first:.2f}   fused and grouped / for-loop and random: {med["AdamW fused, grouped by length"] / first:.2f}')


if __name__ == '__main__':
    main()

"""Fine-tune a small CNN with BatchNorm through the course's `Learner` and `fine_tune`, in one process or several.

The script knows nothing about processes: started by torchrun (or `accelerate launch`) it trains in each of them,
and `Learner.fit` joins their process group, splits every batch between them and averages their gradients (PyTorch's
DistributedDataParallel; gloo on CPUs, NCCL on GPUs). Core notebook 04 runs it both ways (in every test run too: its
quick run keeps the check) and compares the weights; benchmarks/bench_ddp.py times it.

    .venv/bin/python tools/ddp_fine_tune.py OUT --batch-size 32                                      # one process
    .venv/bin/torchrun --standalone --nproc_per_node 2 tools/ddp_fine_tune.py OUT --batch-size 16    # two, same steps

OUT gets model.safetensors and history.json (from the first process only) and timing.json.
"""
import argparse, json, time
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from transfer_cookbook.core.env import seed_everything
from transfer_cookbook.core.learner import Learner, distributed, fine_tune, save_weights


def toy_data(n: int, seed: int, size: int = 16) -> TensorDataset:
    "Random images whose class (of 4) is the sign of the mean of their first two channels: learnable, made on the spot."
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    y = (x[:, 0].mean((1, 2)) > 0).long() + 2 * (x[:, 1].mean((1, 2)) > 0).long()
    return TensorDataset(x, y)


def small_cnn(width: int = 16) -> nn.Module:
    "A CNN with BatchNorm in its body and a linear head: the `body`/`head` shape `Learner` freezes and unfreezes."
    body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return nn.Sequential(OrderedDict(body=body, head=nn.Linear(2 * width, 4)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('out', type=Path)
    ap.add_argument('--batch-size', type=int, default=32, help='items per step in each process')
    ap.add_argument('--items', type=int, default=512, help='training items')
    ap.add_argument('--size', type=int, default=16, help='image side in pixels')
    ap.add_argument('--width', type=int, default=16, help='channels of the first convolution')
    ap.add_argument('--epochs', type=int, default=2, help='whole-network epochs after one head epoch')
    args = ap.parse_args()
    rank, world = distributed()
    seed_everything(0)  # the same seed in every process: the same initial weights and the same shuffles
    train = DataLoader(toy_data(args.items, 0, args.size), batch_size=args.batch_size, shuffle=True)
    valid = DataLoader(toy_data(128, 1, args.size), batch_size=64)
    learn = Learner(small_cnn(args.width), train, valid, progress=False, channels_last=False)
    t0 = time.perf_counter()
    history = fine_tune(learn, epochs=args.epochs, lr=1e-2, freeze_epochs=1)
    seconds = time.perf_counter() - t0
    if rank == 0:
        args.out.mkdir(parents=True, exist_ok=True)
        save_weights(learn.model, args.out/'model.safetensors')
        history.to_json(args.out/'history.json')
        items = args.items * (1 + args.epochs)
        (args.out/'timing.json').write_text(json.dumps({'processes': world, 'seconds': seconds, 'items_per_second': items / seconds}))


if __name__ == '__main__':
    main()

"""Training throughput in one process against two (DistributedDataParallel over gloo, on CPUs), printed as figures.

tools/ddp_fine_tune.py runs `fine_tune` on a small CNN with BatchNorm; it is timed as one process with a batch of 2b
and as two processes with b each (the same optimiser steps), alternately, `--repeats` times. Each process gets
cores / processes torch threads, so both use the whole machine. On a laptop CPU, two processes rarely pay: they split
the same cores and add a gradient all-reduce per step; the point of the launcher is machines with several GPUs.

Run: .venv/bin/python benchmarks/bench_ddp.py [--repeats 3] [--items 2048]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'tools'/'ddp_fine_tune.py'


def run(processes, batch, args, out):
    threads = max(1, (os.cpu_count() or 1) // processes)
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads)}
    opts = ['--batch-size', str(batch), '--items', str(args.items), '--size', '32', '--width', '32', '--epochs', '2']
    cmd = ([sys.executable, str(SCRIPT)] if processes == 1 else
           [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(processes), str(SCRIPT)])
    subprocess.run([*cmd, str(out), *opts], check=True, env=env, capture_output=True)
    return json.loads((out/'timing.json').read_text())['items_per_second']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--items', type=int, default=2048)
    ap.add_argument('--batch', type=int, default=64, help='global batch (each of two processes takes half)')
    args = ap.parse_args()
    one, two = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):  # alternately, so a drift in the machine's speed hits both
            one.append(run(1, args.batch, args, Path(tmp)/f'one{i}'))
            two.append(run(2, args.batch // 2, args, Path(tmp)/f'two{i}'))
    ratios = [b / a for a, b in zip(one, two)]
    print(f"fine_tune of a small CNN, {args.items} items x 3 epochs, global batch {args.batch}, {os.cpu_count()} cores, "
          f"{args.repeats} alternating repeats (median, min-max):")
    for name, v in (('1 process ', one), ('2 processes', two)):
        print(f"  {name}: {statistics.median(v):8.0f} items/s  ({min(v):.0f}-{max(v):.0f})")
    print(f"  2 processes / 1 process: {statistics.median(ratios):.2f}x  ({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == '__main__':
    main()

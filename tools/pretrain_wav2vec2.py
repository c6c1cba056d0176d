"""Pretrain the course's wav2vec2 on a GPU, as the shipped checkpoint (transfer_cookbook/assets/wav2vec2-tts-small) was made.

1. Generates an unlabelled synthetic-speech corpus spoken by the keyword dataset's training voices (espeak-ng and flite
   must be installed; festival is not used), with every CPU core.
2. Pretrains one or more runs of `pretrain_wav2vec2` side by side on the same GPU (`--runs`: a JSON list of
   {"name": ..., "config": {Wav2Vec2Config fields}, "train": {pretrain_wav2vec2 arguments}}), each for `--minutes`.
3. Saves each run with `save_wav2vec2` in float16 under OUT/<name>/ (config.json, model.safetensors, pretraining.json).

The linear probe that decides which run the course ships is run afterwards on a CPU (nbs/32_wav2vec2_pretrain.ipynb).

    python tools/pretrain_wav2vec2.py --out /tmp/w2v --hours 12 --minutes 7
    python tools/pretrain_wav2vec2.py --out /tmp/w2v --hours 12 --minutes 7 --runs '[{"name": "a", "train": {"lr": 2e-4}}]'
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

T0 = time.perf_counter()
def say(*a): print(f'[{time.perf_counter() - T0:6.1f}s]', *a, flush=True)

DEFAULT_RUN = dict(name='default', config={}, train={})


def train_one(run: dict, corpus_dir: str, out: Path, minutes: float):
    import torch
    from transfer_cookbook.datasets.speech import load_corpus
    from transfer_cookbook.audio.wav2vec2 import small_wav2vec2_config, pretrain_wav2vec2, save_wav2vec2
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    corpus = load_corpus(corpus_dir)
    cfg = small_wav2vec2_config(**run.get('config', {}))
    train = dict(dict(batch_size=64, crop_seconds=2.0, lr=5e-4, log_every=100), **run.get('train', {}))
    say(run['name'], 'starts', train)
    model, log, info = pretrain_wav2vec2(corpus, cfg, minutes=minutes, device='cuda' if torch.cuda.is_available() else 'cpu',
                                         verbose=True, **train)
    info.update(run=run['name'], settings=train)
    folder = save_wav2vec2(model, out/run['name'], info, log, dtype=torch.float16)
    say(run['name'], 'saved', sorted((p.name, p.stat().st_size) for p in folder.iterdir()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--corpus', default='/tmp/w2v-corpus')
    ap.add_argument('--hours', type=float, default=12)
    ap.add_argument('--minutes', type=float, default=7)
    ap.add_argument('--total-seconds', type=float, default=None, help='finish within this many seconds (shortens pretraining)')
    ap.add_argument('--words', default='/usr/share/dict/words')
    ap.add_argument('--runs', default=json.dumps([DEFAULT_RUN]), help='JSON list of runs to train side by side')
    ap.add_argument('--train-one', default=None, help=argparse.SUPPRESS)  # internal: one run, in its own process
    args = ap.parse_args()
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    if args.train_one: return train_one(json.loads(args.train_one), args.corpus, out, args.minutes)

    from transfer_cookbook.datasets.speech import make_pretrain_corpus, load_corpus
    t = time.perf_counter()
    make_pretrain_corpus(args.corpus, hours=args.hours, n_workers=os.cpu_count(), words_path=args.words, shard_seconds=300)
    corpus = load_corpus(args.corpus)
    gen = dict(hours=round(corpus.hours, 2), utterances=len(corpus), voices=len(set(corpus.voices)),
               seconds=round(time.perf_counter() - t, 1))
    gen['realtime_factor'] = round(corpus.hours * 3600 / gen['seconds'])
    (out/'corpus.json').write_text(json.dumps(gen))
    say('corpus', gen)
    del corpus

    minutes = args.minutes
    if args.total_seconds:
        minutes = max(0.5, min(minutes, (args.total_seconds - (time.perf_counter() - T0) - 45) / 60))
    runs = json.loads(args.runs)
    say(f'{len(runs)} run(s) side by side for {minutes:.2f} min each')
    procs = [subprocess.Popen([sys.executable, __file__, '--out', str(out), '--corpus', args.corpus, '--minutes', str(minutes),
                               '--train-one', json.dumps(r)]) for r in runs]
    codes = [p.wait() for p in procs]
    say('exit codes', codes)
    for r in runs:
        meta = out/r['name']/'pretraining.json'
        if meta.exists():
            m = json.loads(meta.read_text()); m['corpus_generation'] = gen; meta.write_text(json.dumps(m, indent=1))
    sys.exit(max(codes))


if __name__ == '__main__':
    main()

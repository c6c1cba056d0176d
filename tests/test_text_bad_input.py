"""Bad input for the text recipes (lesson 20, recipe 21): each case gets a clear error naming what is wrong, or a
documented handling (truncation with a warning, bad rows left out on request and listed). Plain pytest, no notebook."""
import json

import pandas as pd
import pytest
import torch
from torch import nn

from transfer_cookbook.core.learner import Learner
from transfer_cookbook.text.models import TextModelUnavailableError, make_text_classifier, text_loader
from transfer_cookbook.datasets.tweets import split_tweets
from transfer_cookbook.text.text_csv import (BadTextDataError, check_texts, evaluate_text_classifier, load_text_classifier,
                                             predict_text_classifier, read_text_csv, train_text_classifier)

TEXTS = ['lost my bag again', 'two hours late, no news', 'rude staff at the gate', 'worst flight ever',
         'lovely crew, thank you', 'smooth flight, great service', 'they upgraded me, amazing', 'friendly and on time']
LABELS = ['unhappy'] * 4 + ['happy'] * 4


def write_csv(path, **cols):
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A tiny model trained once for the prediction-time tests (one step on eight texts: its accuracy is not the point)."
    folder = tmp_path_factory.mktemp('model')
    model, report = train_text_classifier(write_csv(folder/'t.csv', text=TEXTS, label=LABELS), folder/'clf', steps=1, batch_size=8)
    return folder/'clf', model, report


def test_missing_columns_are_named_with_the_columns_present(tmp_path):
    p = write_csv(tmp_path/'a.csv', review=TEXTS, stars=LABELS)
    with pytest.raises(BadTextDataError, match=r"no column 'text', 'label'; its columns are 'review', 'stars'"):
        read_text_csv(p)
    assert len(read_text_csv(p, text_col='review', label_col='stars')) == 8  # naming the columns fixes it
    with pytest.raises(BadTextDataError, match=r"no column 'airline'; its columns are 'review', 'stars'"):
        read_text_csv(p, text_col='review', label_col='stars', group_col='airline')


def test_empty_and_whitespace_texts_are_refused_by_line_or_skipped_and_listed(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS[:3] + ['', '   \t'] + TEXTS[5:], label=LABELS)
    with pytest.raises(BadTextDataError, match=r'2 row\(s\) of a.csv have an empty text \(CSV line 5, 6\).*skip_bad=True'):
        read_text_csv(p)
    with pytest.warns(UserWarning, match=r'Skipped 2 row\(s\) of a.csv: an empty text on CSV line 5, 6'):
        df = read_text_csv(p, skip_bad=True)
    assert len(df) == 6 and (df.text.str.strip() != '').all()
    assert df.attrs['skipped'] == ['a.csv line 5: an empty text', 'a.csv line 6: an empty text']


def test_texts_that_look_like_missing_values_stay_texts(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=['NA', 'null'] + TEXTS[2:], label=LABELS)
    assert read_text_csv(p).text[:2].tolist() == ['NA', 'null']


def test_missing_labels_are_refused_by_line_or_skipped(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS, label=LABELS[:7] + [''])
    with pytest.raises(BadTextDataError, match=r'have no label \(CSV line 9\)'):
        read_text_csv(p)
    with pytest.warns(UserWarning, match='no label on CSV line 9'):
        assert read_text_csv(p, skip_bad=True).attrs['skipped'] == ['a.csv line 9: no label']


def test_a_row_with_several_problems_is_skipped_once_with_all_of_them(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=[' '] + TEXTS[1:], label=[''] + LABELS[1:], airline=['x'] * 8)
    with pytest.warns(UserWarning, match=r'Skipped 1 row\(s\)'):
        df = read_text_csv(p, skip_bad=True, group_col='airline')
    assert df.attrs['skipped'] == ['a.csv line 2: an empty text, no label'] and len(df) == 7


def test_a_single_class_is_refused_before_any_model_is_loaded(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS, label=['happy'] * 8)
    with pytest.raises(BadTextDataError, match=r"single label, 'happy'"):
        read_text_csv(p)
    with pytest.raises(BadTextDataError, match=r"single label, 'happy'"):
        train_text_classifier(p, tmp_path/'out')
    assert not (tmp_path/'out').exists()


def test_too_few_rows_to_validate_on_are_refused(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS[:2], label=['happy', 'unhappy'])
    with pytest.raises(BadTextDataError, match='No row of a.csv is left to validate on'):
        train_text_classifier(p, tmp_path/'out')


def test_groups_must_name_a_filled_column_with_two_groups_or_more(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS, label=LABELS, airline=['united'] * 7 + [''])
    with pytest.raises(TypeError, match='groups must be a column name'):
        train_text_classifier(p, tmp_path/'out', groups=lambda path: 'united')
    with pytest.raises(BadTextDataError, match=r'have no group \(CSV line 9\)'):
        train_text_classifier(p, tmp_path/'out', groups='airline')
    with pytest.warns(UserWarning, match='no group'), pytest.raises(ValueError, match='one group'):
        train_text_classifier(p, tmp_path/'out', groups='airline', skip_bad=True)
    assert not (tmp_path/'out').exists()


def test_non_string_texts_and_a_bare_string_are_refused(trained):
    with pytest.raises(BadTextDataError, match=r'2 text value\(s\) are not strings \(position 1, 3; first: 42 of type int\)'):
        check_texts(['fine', 42, 'also fine', None])
    _, model, _ = trained
    with pytest.raises(BadTextDataError, match='not strings'):
        predict_text_classifier(model, ['fine', 3.5])
    with pytest.raises(BadTextDataError, match='wrap it in a list'):
        predict_text_classifier(model, 'late again')


def test_missing_file_and_non_utf8_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match='No CSV file'):
        read_text_csv(tmp_path/'nope.csv')
    p = tmp_path/'latin.csv'
    p.write_bytes('text,label\ncaf\xe9 was great,happy\nawful,unhappy\n'.encode('latin-1'))
    with pytest.raises(BadTextDataError, match='latin.csv is not UTF-8 text: byte 0xe9 on line 2'):
        read_text_csv(p)


def test_texts_longer_than_the_model_reads_are_truncated_with_a_warning(tmp_path):
    long = ' '.join(['delayed'] * 600)
    model, tok = make_text_classifier('minilm')
    batch = next(iter(text_loader([long, 'short'], [0, 1], tok, batch_size=2, max_length=64)))
    assert batch['input_ids'].shape == (2, 64) and batch['attention_mask'][1].sum() < 64
    p = write_csv(tmp_path/'a.csv', text=TEXTS[:7] + [long], label=LABELS)
    with pytest.warns(UserWarning, match=r'1 of 8 texts are longer than 64 tokens \(longest 602\) and were truncated'):
        train_text_classifier(p, tmp_path/'out', steps=1, batch_size=8)


def test_an_existing_model_folder_is_never_overwritten_silently(tmp_path):
    out = tmp_path/'mine'; out.mkdir(); (out/'notes.txt').write_text('my earlier run')
    with pytest.raises(FileExistsError, match='already holds notes.txt: pass overwrite=True'):
        train_text_classifier(write_csv(tmp_path/'a.csv', text=TEXTS, label=LABELS), out)
    assert (out/'notes.txt').read_text() == 'my earlier run'


def test_the_report_and_the_saved_folder_follow_the_recipe_contract(trained):
    out, model, report = trained
    assert {'valid_accuracy', 'valid_loss', 'steps', 'epochs', 'seconds', 'train_items', 'valid_items', 'classes', 'skipped',
            'history'} <= set(report)
    assert (report['steps'], report['train_items'], report['valid_items'], report['skipped']) == (1, 6, 2, [])
    assert sorted(p.name for p in out.iterdir()) == ['config.json', 'model.onnx', 'model.safetensors', 'tokenizer.json',
                                                     'tokenizer_config.json']
    cfg = json.loads((out/'config.json').read_text())
    assert (cfg['task'], cfg['classes'], cfg['max_length'], cfg['pad_id']) == ('text-classifier', ['happy', 'unhappy'], 64, 0)
    assert model.meta == cfg and model.tokenizer is not None


def test_prediction_refuses_bad_texts_and_labels_the_model_never_saw(trained):
    out, model, _ = trained
    model2 = load_text_classifier(out)
    pred = predict_text_classifier(model2, ['late again', 'great crew'])
    assert list(pred.columns) == ['text', 'predicted', 'probability', 'p_happy', 'p_unhappy']
    assert set(pred.predicted) <= {'happy', 'unhappy'} and pred.probability.between(0.5, 1).all()
    assert (pred.probability - predict_text_classifier(model, ['late again', 'great crew']).probability).abs().max() < 1e-5
    with pytest.raises(BadTextDataError, match='empty or only whitespace'):
        predict_text_classifier(model2, ['ok', '  '])
    with pytest.raises(BadTextDataError, match=r"Label\(s\) \['neutral'\] \(row 1\) were not among the labels"):
        evaluate_text_classifier(model2, pd.DataFrame({'text': ['late', 'meh'], 'label': ['unhappy', 'neutral']}))


def test_load_refuses_a_folder_that_is_not_a_text_classifier(tmp_path):
    with pytest.raises(FileNotFoundError, match='holds no config.json'):
        load_text_classifier(tmp_path)
    (tmp_path/'config.json').write_text(json.dumps({'model_type': 'bert', 'architectures': ['BertForSequenceClassification']}))
    with pytest.raises(ValueError, match='save_pretrained folder'):
        load_text_classifier(tmp_path)
    (tmp_path/'config.json').write_text(json.dumps({'task': 'image-classifier'}))
    with pytest.raises(ValueError, match="holds a 'image-classifier' model, not a 'text-classifier'"):
        load_text_classifier(tmp_path)
    (tmp_path/'config.json').write_text(json.dumps({'task': 'text-classifier', 'format': 1}))  # the [CLS]-pooler network
    with pytest.raises(ValueError, match='earlier version of train_text_classifier'):
        load_text_classifier(tmp_path)


def test_an_unknown_model_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv('TC_OFFLINE', '1')
    with pytest.raises(TextModelUnavailableError, match="Use 'minilm'"):
        make_text_classifier('transfer-cookbook/no-such-model')


def test_split_tweets_says_when_a_topic_has_too_few_tweets():
    tweets = pd.DataFrame({'text': [f'tweet {i}' for i in range(40)], 'sentiment': ['negative', 'positive'] * 20,
                           'topic': ['airline'] * 30 + ['apple'] * 10, 'garbled': False, 'confidence': 1.0})
    with pytest.raises(ValueError, match=r"Only 5 'negative' tweets are left for a split that needs 6"):
        split_tweets(tweets, test_per_class=2, valid_per_class=1, ood_per_class=6, out_domain=('apple',))


def test_a_splitter_that_misses_parameters_is_refused():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    dl = [(torch.randn(2, 4), torch.tensor([0, 1]))]
    learn = Learner(model, dl, device='cpu', channels_last=False, progress=False, splitter=lambda m: [list(m[0].parameters())])
    with pytest.raises(ValueError, match='2 missing, 0 repeated'):
        learn.fit(1, 1e-3)

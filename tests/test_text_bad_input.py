"""Bad input for the text recipes (lesson 20, recipe 21): each case gets a clear error naming what is wrong, or a
documented handling (truncation with a warning, empty rows dropped on request). Plain pytest, no notebook."""
import warnings

import pandas as pd
import pytest
import torch
from torch import nn

from transfer_cookbook.core.learner import Learner
from transfer_cookbook.text.models import TextModelUnavailableError, load_text_classifier, text_loader
from transfer_cookbook.datasets.tweets import split_tweets
from transfer_cookbook.text.text_csv import (BadTextDataError, check_texts, evaluate_texts, load_text_model, predict_texts, read_text_csv, train_text_classifier)

TEXTS = ['lost my bag again', 'two hours late, no news', 'rude staff at the gate', 'worst flight ever',
         'lovely crew, thank you', 'smooth flight, great service', 'they upgraded me, amazing', 'friendly and on time']
LABELS = ['unhappy'] * 4 + ['happy'] * 4


def write_csv(path, **cols):
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A tiny model trained once for the prediction-time tests (one epoch on eight texts: its accuracy is not the point)."
    out = tmp_path_factory.mktemp('model')/'clf'
    net, tok, _ = train_text_classifier(pd.DataFrame({'text': TEXTS, 'label': LABELS}), out, epochs=1, batch_size=8, valid_frac=0)
    return out, net, tok


def test_missing_columns_are_named_with_the_columns_present(tmp_path):
    p = write_csv(tmp_path/'a.csv', review=TEXTS, stars=LABELS)
    with pytest.raises(BadTextDataError, match=r"no column 'text', 'label'; its columns are 'review', 'stars'"):
        read_text_csv(p)
    assert len(read_text_csv(p, text_col='review', label_col='stars')) == 8  # naming the columns fixes it


def test_empty_and_whitespace_texts_are_refused_by_line_or_dropped_with_a_warning(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS[:3] + ['', '   \t'] + TEXTS[5:], label=LABELS)
    with pytest.raises(BadTextDataError, match=r'2 row\(s\) of a.csv have an empty text \(CSV line 5, 6\)'):
        read_text_csv(p)
    with pytest.warns(UserWarning, match=r'Dropped 2 row'):
        df = read_text_csv(p, drop_empty=True)
    assert len(df) == 6 and (df.text.str.strip() != '').all()


def test_texts_that_look_like_missing_values_stay_texts(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=['NA', 'null'] + TEXTS[2:], label=LABELS)
    assert read_text_csv(p).text[:2].tolist() == ['NA', 'null']


def test_missing_labels_are_refused_by_line(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS, label=LABELS[:7] + [''])
    with pytest.raises(BadTextDataError, match=r'have no label \(CSV line 9\)'):
        read_text_csv(p)


def test_a_single_class_is_refused_from_a_csv_and_from_a_dataframe(tmp_path):
    p = write_csv(tmp_path/'a.csv', text=TEXTS, label=['happy'] * 8)
    with pytest.raises(BadTextDataError, match=r"single label, 'happy'"):
        read_text_csv(p)
    with pytest.raises(BadTextDataError, match=r"Only one label, 'happy'"):
        train_text_classifier(pd.DataFrame({'text': TEXTS, 'label': ['happy'] * 8}), tmp_path/'out')
    assert not (tmp_path/'out').exists()


def test_non_string_cells_are_refused_with_position_and_type(tmp_path):
    with pytest.raises(BadTextDataError, match=r'2 text value\(s\) are not strings \(position 1, 3; first: 42 of type int\)'):
        check_texts(['fine', 42, 'also fine', None])
    with pytest.raises(BadTextDataError, match='not strings'):
        train_text_classifier(pd.DataFrame({'text': TEXTS[:7] + [3.5], 'label': LABELS}), tmp_path/'out')


def test_missing_file_and_non_utf8_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match='No CSV file'):
        read_text_csv(tmp_path/'nope.csv')
    p = tmp_path/'latin.csv'
    p.write_bytes('text,label\ncaf\xe9 was great,happy\nawful,unhappy\n'.encode('latin-1'))
    with pytest.raises(BadTextDataError, match='latin.csv is not UTF-8 text: byte 0xe9 on line 2'):
        read_text_csv(p)


def test_texts_longer_than_the_model_reads_are_truncated_with_a_warning(tmp_path):
    long = ' '.join(['delayed'] * 600)
    model, tok = load_text_classifier('minilm')
    batch = next(iter(text_loader([long, 'short'], [0, 1], tok, batch_size=2, max_length=64)))
    assert batch['input_ids'].shape == (2, 64) and batch['attention_mask'][1].sum() < 64
    with pytest.warns(UserWarning, match=r'1 of 8 texts are longer than 64 tokens \(longest 602\) and were truncated'):
        train_text_classifier(pd.DataFrame({'text': TEXTS[:7] + [long], 'label': LABELS}), tmp_path/'out',
                              epochs=1, batch_size=8, valid_frac=0)


def test_an_existing_model_folder_is_never_overwritten_silently(tmp_path):
    out = tmp_path/'mine'; out.mkdir(); (out/'notes.txt').write_text('my earlier run')
    with pytest.raises(FileExistsError, match='nothing was trained or changed'):
        train_text_classifier(pd.DataFrame({'text': TEXTS, 'label': LABELS}), out)
    assert (out/'notes.txt').read_text() == 'my earlier run'


def test_prediction_refuses_bad_texts_and_labels_the_model_never_saw(trained):
    out, net, tok = trained
    model, tok2 = load_text_model(out)
    pred = predict_texts(model, tok2, ['late again', 'great crew'])
    assert set(pred.label) <= {'happy', 'unhappy'} and pred.probability.between(0.5, 1).all()
    with pytest.raises(BadTextDataError, match='empty or only whitespace'):
        predict_texts(model, tok2, ['ok', '  '])
    with pytest.raises(BadTextDataError, match=r"Label\(s\) \['neutral'\] \(row 1\) were not among the labels"):
        evaluate_texts(model, tok2, pd.DataFrame({'text': ['late', 'meh'], 'label': ['unhappy', 'neutral']}))


def test_load_text_model_refuses_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match='holds no config.json'):
        load_text_model(tmp_path)


def test_an_unknown_model_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv('TC_OFFLINE', '1')
    with pytest.raises(TextModelUnavailableError, match="Use 'minilm'"):
        load_text_classifier('transfer-cookbook/no-such-model')


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

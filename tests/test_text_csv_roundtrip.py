"""`read_text_csv` reads back every CSV that pandas, Python's `csv` module and Excel write: all 38,158 tweets of the
course's corpus (1,564 of them hold a bare carriage return) and hand-made edge cases come back byte for byte, and a
really malformed file is refused with its line named. Plain pytest, no notebook, no model."""
import csv

import pandas as pd
import pytest

from transfer_cookbook.datasets.tweets import load_tweets
from transfer_cookbook.text.text_csv import BadTextDataError, read_text_csv

EDGE = ['bare\rcarriage return', 'line\nfeed', 'windows\r\nbreak', 'say "hi" twice ""', 'commas, and; semicolons\ttabs',
        '\u00a0non-breaking\u00a0spaces\u00a0', '  leading and trailing  ', 'NA', 'null', 'ends with a return\r',
        '\rstarts with one', 'unicode: café, 東京, 🙂', '=1+1 (a formula in Excel)', "'quoted' in single quotes"]


@pytest.fixture(scope='module')
def tweets():
    t = load_tweets()
    return pd.DataFrame({'text': t.text.astype(str), 'label': t.sentiment.astype(str)})


def write_pandas(df, path): df.to_csv(path, index=False)                     # rows end in \n, a bare \r unquoted
def write_pandas_crlf(df, path): df.to_csv(path, index=False, lineterminator='\r\n')
def write_csv_module(df, path, sep=',', encoding='utf-8'):                  # rows end in \r\n, \r and \n quoted
    with open(path, 'w', newline='', encoding=encoding) as f:
        w = csv.writer(f, delimiter=sep); w.writerow(df.columns); w.writerows(df.itertuples(index=False))
def write_excel_utf8(df, path): write_csv_module(df, path, encoding='utf-8-sig')          # Excel's "CSV UTF-8": a BOM
def write_excel_semicolon(df, path): write_csv_module(df, path, sep=';', encoding='utf-8-sig')  # comma-decimal locales

WRITERS = [write_pandas, write_pandas_crlf, write_csv_module, write_excel_utf8, write_excel_semicolon]


@pytest.mark.parametrize('write', WRITERS, ids=lambda w: w.__name__)
def test_every_tweet_comes_back_byte_for_byte(tweets, write, tmp_path):
    assert tweets.text.str.contains('\r').sum() > 1000  # the corpus really holds the character that broke the recipe
    write(tweets, tmp_path/'all.csv')
    back = read_text_csv(tmp_path/'all.csv')
    assert len(back) == len(tweets)
    assert back.text.tolist() == tweets.text.tolist()
    assert back.label.tolist() == tweets.label.tolist()


@pytest.mark.parametrize('write', WRITERS, ids=lambda w: w.__name__)
def test_edge_cases_come_back_byte_for_byte(write, tmp_path):
    df = pd.DataFrame({'id': range(len(EDGE)), 'text': EDGE, 'label': ['a', 'b'] * (len(EDGE) // 2), 'note': 'x, "y"'})
    write(df, tmp_path/'edge.csv')
    back = read_text_csv(tmp_path/'edge.csv')
    assert back.text.tolist() == EDGE
    assert back.label.tolist() == df.label.tolist()


def test_old_mac_line_endings_end_rows_at_a_carriage_return(tmp_path):
    (tmp_path/'mac.csv').write_bytes(b'text,label\rlovely crew,happy\rlost my bag,unhappy\r"two\rlines",happy\r')
    back = read_text_csv(tmp_path/'mac.csv')
    assert back.text.tolist() == ['lovely crew', 'lost my bag', 'two\rlines']


def test_an_unclosed_quote_is_refused_with_the_line_it_opens_on(tmp_path):
    (tmp_path/'bad.csv').write_text('text,label\nfine,happy\n"never closed,unhappy\nmore,happy\n')
    with pytest.raises(BadTextDataError, match=r'bad.csv is not valid CSV from line 3 on .*must be quoted'):
        read_text_csv(tmp_path/'bad.csv')


def test_a_row_with_extra_fields_is_refused_with_its_line_and_count(tmp_path):
    (tmp_path/'bad.csv').write_text('text,label\nfine,happy\nlate, again,unhappy\n"quoted, fine",happy\n')
    with pytest.raises(BadTextDataError, match=r"1 row\(s\) of bad.csv do not have the header's 2 fields \(CSV line 3 \(3 fields\)\)"):
        read_text_csv(tmp_path/'bad.csv')


def test_lines_are_counted_in_the_file_when_texts_span_lines(tmp_path):
    pd.DataFrame({'text': ['two\nlines', 'three\nmore\nlines', 'fine'], 'label': ['a', 'b', '']}).to_csv(tmp_path/'m.csv', index=False)
    with pytest.raises(BadTextDataError, match=r'have no label \(CSV line 7\)'):  # header 1, rows at 2, 4 and 7
        read_text_csv(tmp_path/'m.csv')


def test_another_encoding_is_named_with_the_fix(tmp_path):
    pd.DataFrame({'text': ['café crème', 'déjà vu'], 'label': ['a', 'b']}).to_csv(tmp_path/'w.csv', index=False, encoding='cp1252')
    with pytest.raises(BadTextDataError, match=r"is not UTF-8 text: byte 0xe9 on line 2 .*encoding='cp1252'"):
        read_text_csv(tmp_path/'w.csv')
    assert read_text_csv(tmp_path/'w.csv', encoding='cp1252').text.tolist() == ['café crème', 'déjà vu']


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path/'e.csv').write_text('')
    with pytest.raises(BadTextDataError, match='is empty'):
        read_text_csv(tmp_path/'e.csv')

"""No result typed into prose: a number a lesson measured is rendered from its results, never written by hand.

A markdown cell fails when, outside code (`0.1`), maths ($...$) and link targets, it holds a decimal number, a
percentage, or a multiplier or fraction in digits or words ("0.897", "20 %", "5x", "30 times fewer", "ten-fold",
"a fifteenth"; a count, "repeat it three times.", is no multiplier). Prose that quotes a result uses a cell that
renders Markdown from the numbers (`IPython.display.Markdown(f"...")` under `#| echo: false`). A number the code sets (a learning rate, a split share)
is written as code, `0.1`, so that the reader can find it in the cell below. The allow-lists hold what is neither:
conventions and names anywhere, and published figures with their source, by notebook.
"""
import json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)

WORD = r'(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|thousand)'
FRACTION = (r'(?:half|third|quarter|fourth|fifth|sixth|seventh|eighth|ninth|tenth|twelfth|fifteenth|twentieth|thirtieth|'
            r'fortieth|fiftieth|hundredth|thousandth)s?')
NOT_A_COUNT = r'(?!\s*(?:[.,;:()]|and\b|or\b|in\b|$))'  # "three times (", "said eight times in": how often, not a multiplier
TYPED = re.compile('|'.join(f'(?:{p})' for p in (
    r'(?<![\w.])\d+\.\d+(?![\w.])',                       # 0.897, 4.7 (not a version like 2.14.1)
    r'(?<![\w.])\d+(?:\.\d+)?\s?%',                        # 20 %, 99.9%
    r'(?<![\w.])\d+(?:\.\d+)?\s?[x×](?!\s*\d)(?!\w)',      # 5x, 0.72x (not a shape, 128 x 96)
    rf'(?<![\w.])(?:\d+(?:\.\d+)?|{WORD})[\s-]+(?:times\b{NOT_A_COUNT}|fold\b)',  # 30 times fewer, ten-fold
    rf'\b(?:a|one)[\s-]+{FRACTION}(?![\w-])',              # a fifth, one tenth (not "a half-written")
)), re.I)

# Conventions and names, allowed anywhere, each with why.
ALLOWED = {
    r'95 ?% (?:confidence |percentile )?interval': "the interval's level, the course's convention (05_interpret)",
    r'wav2vec 2\.0': "a model's name",
    r'44\.1 kHz': "the CD sample rate, a standard's name",
    r'Apache-2\.0': "a licence's name",
    r'Python 3\.\d+\+?': 'a version',
}
# Published figures, by notebook, each with its source.
PUBLISHED = {
    '01_models': {r'75\.1 ?%': "EfficientNet-Lite0's ImageNet top-1, as its authors published it (TensorFlow TPU models)"},
    '32_wav2vec2_pretrain': {
        r'1\.6 hours': "wav2vec2-base's batch per update, as published (Baevski et al. 2020, arXiv:2006.11477, section 4.2)",
        r'6\.658': 'the plateau practitioners report, quoted from fairseq issues #3661 and #3718'},
}


def prose(source):
    "What a reader reads as prose: without code blocks and spans, maths, link targets and HTML tags."
    for pattern in (r'```.*?```', r'`[^`\n]*`', r'\$\$.*?\$\$', r'\$[^$\n]*\$', r'\]\([^)]*\)', r'<[^>]+>'):
        source = re.sub(pattern, ' ', source, flags=re.S)
    return source


def typed_numbers(text, notebook=''):
    "Every typed result in markdown `text`, with a little context, after the allow-lists."
    text = prose(text)
    for pattern in (*ALLOWED, *PUBLISHED.get(notebook, {})): text = re.sub(pattern, ' ', text, flags=re.I)
    return [text[max(0, m.start() - 40):m.end() + 20].replace('\n', ' ') for m in TYPED.finditer(text)]


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_no_number_typed_into_prose(nb):
    cells = json.loads(nb.read_text())['cells']
    found = {i: typed_numbers(''.join(c['source']), nb.stem) for i, c in enumerate(cells) if c['cell_type'] == 'markdown'}
    found = {i: hits for i, hits in found.items() if hits}
    assert not found, (f"{nb.relative_to(ROOT)}: numbers typed into markdown (render them from the results, or write a "
                       f"constant of the code as code; tests/test_typed_numbers.py says how): "
                       + '; '.join(f'cell {i}: ' + ' | '.join(repr(h) for h in hits) for i, hits in found.items()))


@pytest.mark.parametrize('typed', ['Transfer scored 0.897 against 0.672.', 'It needs 30 times fewer labels.',
                                   'a fifteenth of the slices', 'about ten times faster', 'a 5x speed-up',
                                   'accuracy rose by 12 %', 'a ten-fold gain', 'one third of the errors',
                                   'a few hundred times real time', "five times lesson 41's rate"])
def test_a_typed_result_is_found(typed):
    assert typed_numbers(typed)


@pytest.mark.parametrize('fine', ['the rate is `0.1`', 'slices of 128 x 96 pixels', 'torch 2.14.1 and nbdev 2.4.14',
                                  'a 95 % interval for the mean', 'wav2vec 2.0 pretraining', 'never a half-written file',
                                  'lesson 10 and 64 px images', '$\\alpha = 0.5$', '[link](https://x.org/v1.2)',
                                  'repeat the grey channel three times (the first layer)', 'the same photos forty times.',
                                  'paint each slice 12 times and each other slice 8 times', 'the word said eight times in a row',
                                  'a 95 % percentile interval'])
def test_constants_names_and_code_pass(fine):
    assert typed_numbers(fine) == []

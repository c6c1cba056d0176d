"""Every own-data recipe has the same shape (README, "Own-data recipes"): train_<task>(data, out_dir, *, pretrained,
steps=None, valid_frac=0.2, groups, seed=0, overwrite=False, skip_bad=False, ...) -> (model, report);
load_<task>(out_dir) -> model; predict_<task>(model, inputs, ...) -> table. What each one does with real data is
shown and checked in its notebook (quick and full mode): bad files skipped, saved, reloaded, run by onnxruntime
without torch or this package, a second save refused, an interrupted save leaving the first model intact."""
import importlib, inspect

import pytest

RECIPES = {'vision.image_folder': 'image_classifier', 'text.text_csv': 'text_classifier',
           'audio.audio_folder': 'keyword_classifier', 'vision.mask_folder': 'segmenter'}
CONTRACT = [('pretrained', None), ('steps', None), ('valid_frac', 0.2), ('groups', None), ('seed', 0),
            ('overwrite', False), ('skip_bad', False)]  # None for pretrained/groups: any default (domain-specific)
P = inspect.Parameter


@pytest.mark.parametrize('module,task', RECIPES.items())
def test_each_recipe_has_train_load_predict(module, task):
    mod = importlib.import_module(f'transfer_cookbook.{module}')
    for verb in ('train', 'load', 'predict'):
        assert callable(getattr(mod, f'{verb}_{task}', None)), f"{module} has no {verb}_{task}"
        assert f'{verb}_{task}' in mod.__all__, f"{verb}_{task} is not exported by {module}"


@pytest.mark.parametrize('module,task', RECIPES.items())
def test_train_takes_data_and_out_dir_then_the_contracts_keywords(module, task):
    params = list(inspect.signature(getattr(importlib.import_module(f'transfer_cookbook.{module}'), f'train_{task}')).parameters.values())
    assert [p.name for p in params[:2]] == ['data', 'out_dir'], params[:2]
    assert all(p.kind is P.POSITIONAL_OR_KEYWORD and p.default is P.empty for p in params[:2])
    keywords = [p for p in params[2:] if p.kind is P.KEYWORD_ONLY]
    assert [p.name for p in keywords[:len(CONTRACT)]] == [n for n, _ in CONTRACT], \
        f"train_{task}'s keyword-only arguments start {[p.name for p in keywords]}, not {[n for n, _ in CONTRACT]}"
    for p, (name, default) in zip(keywords, CONTRACT):
        if default is not None or name == 'steps': assert p.default == default, (name, p.default)
    assert all(p.kind in (P.KEYWORD_ONLY, P.VAR_KEYWORD) for p in params[2:]), "every argument after out_dir is keyword-only"


@pytest.mark.parametrize('module,task', RECIPES.items())
def test_load_takes_the_folder_and_predict_the_model_and_inputs(module, task):
    mod = importlib.import_module(f'transfer_cookbook.{module}')
    load = [p for p in inspect.signature(getattr(mod, f'load_{task}')).parameters.values() if p.default is P.empty]
    assert [p.name for p in load] == ['out_dir'], load
    predict = list(inspect.signature(getattr(mod, f'predict_{task}')).parameters.values())
    assert [p.name for p in predict[:2]] == ['model', 'inputs'], predict[:2]
    assert all(p.default is not P.empty for p in predict[2:]), "predict's other arguments have defaults"

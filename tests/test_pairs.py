"""Any sharing strategy pairs with any weighting method: each pair trains on built-in data."""

from __future__ import annotations

import math

import pytest

from mtlcore.config import ExperimentConfig
from mtlcore.experiment import build, prepare_data
from mtlcore.models import STRATEGIES
from mtlcore.train import train
from mtlcore.weighting import METHODS

DATASETS = {
    # one table, three task kinds; two tables with different columns
    "penguins": {"builtin": "penguins"},
    "houses": {"builtin": "houses"},
}


def config(dataset: str, strategy: str, method: str) -> ExperimentConfig:
    return ExperimentConfig.parse(
        {
            "data": DATASETS[dataset],
            "model": {"strategy": strategy, "hidden": [16, 8]},
            "weighting": {"method": method},
            "train": {"epochs": 1, "batch_size": 64, "grad_cosine_every": 2},
        }
    )


@pytest.fixture(scope="module")
def prepared():
    return {name: prepare_data(config(name, "hard", "equal")) for name in DATASETS}


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_trains_with_every_method(strategy, method, dataset, prepared):
    cfg = config(dataset, strategy, method)
    data = prepared[dataset]
    model, weighting = build(cfg, data, seed=0)
    out = train(model, weighting, data, cfg.train, seed=0)
    assert out.steps >= 2
    trained = [r for r in out.history if r["epoch"] >= 1]  # epoch 0: the untrained model
    assert len(trained) == 2 * len(data.tasks)
    assert len(out.history) == 2 * len(trained)
    assert all(math.isfinite(r["loss"]) for r in out.history)

"""predictions.csv is written in each target's own precision (14.5, not 14.499999046; a
whole-number target as whole numbers) and classification truth and predictions are the
original labels (4, not 4.0, for a whole-number class column with gaps)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtlcore.config import ExperimentConfig
from mtlcore.data.prepare import decimals_of
from mtlcore.experiment import run_experiment, write_outputs
from tests.messy_csv import cars_frame


def test_decimals_of_reads_the_values_own_precision():
    assert decimals_of(np.array([1200.0, 3750.0, np.nan])) == 0
    assert decimals_of(np.array([14.5, 13.9, 20.0])) == 1
    assert decimals_of(np.array([-25.83417, 8.94956])) == 5
    assert decimals_of(np.array([np.pi, np.e])) == 6  # the cap


def test_predictions_csv_keeps_each_targets_precision_and_labels(tmp_path):
    cars = cars_frame(n=160)
    cars.loc[[3, 7], "cylinders"] = np.nan  # read back as floats: 4.0, 6.0, 8.0
    path = tmp_path / "cars.csv"
    cars.to_csv(path, index=False)
    config = ExperimentConfig.model_validate({
        "data": {"csv": {"cars": str(path)}},
        "tasks": [
            {"name": "mpg", "table": "cars", "target": "mpg"},
            {"name": "weight", "table": "cars", "target": "weight"},
            {"name": "cylinders", "table": "cars", "target": "cylinders"},
        ],
        "model": {"hidden": [8, 8]}, "train": {"epochs": 2}, "seeds": [0], "baselines": False,
    })  # fmt: skip
    result, runs = run_experiment(config)
    paths = write_outputs(tmp_path / "out", config, result, runs)
    text = paths["predictions"].read_text()
    preds = pd.read_csv(paths["predictions"], dtype=str)

    def decimals(task: str, column: str) -> set[int]:
        values = preds.loc[preds["task"] == task, column]
        return {len(v.partition(".")[2]) for v in values}

    assert max(decimals("mpg", "prediction")) == 1 and max(decimals("mpg", "truth")) == 1
    assert decimals("weight", "prediction") == {0} and decimals("weight", "truth") == {0}
    labels = preds.loc[preds["task"] == "cylinders", ["truth", "prediction"]]
    assert set(labels.stack()) <= {"4", "6", "8"}
    assert "99999" not in text and "00000" not in text
    assert result["tasks"]["cylinders"]["classes"] == [4, 6, 8]

"""Plain logic behind the pages, testable without Streamlit: config building and tables."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mtlcore.config import ExperimentConfig


def build_config(
    *,
    dataset: str,
    dataset_options: dict[str, Any],
    tasks: list[str],
    strategy: str,
    hidden: list[int],
    method: str,
    weights: dict[str, float],
    optimizer: str,
    lr: float,
    epochs: int,
    batch_size: int,
    baselines: bool,
    seed: int,
) -> ExperimentConfig:
    """The experiment config the page's controls describe (raises ConfigError if invalid)."""
    return ExperimentConfig.parse(
        {
            "name": f"{dataset}-{strategy}-{method}",
            "data": {"builtin": dataset, "options": dataset_options},
            "tasks": tasks,
            "model": {"strategy": strategy, "hidden": hidden},
            "weighting": {
                "method": method,
                "options": {"weights": weights} if method == "static" else {},
            },
            "train": {"optimizer": optimizer, "lr": lr, "epochs": epochs, "batch_size": batch_size},
            "baselines": baselines,
            "seeds": [seed],
        },
        source="settings",
    )


def comparison_table(result: dict[str, Any]) -> pd.DataFrame:
    """One row per task: metric, MTL value, STL value and relative gain (positive = helped)."""
    rows = []
    for name, t in result["tasks"].items():
        rows.append(
            {
                "task": name,
                "kind": t["kind"],
                "metric": t["metric"] + (" ↑" if t["higher_is_better"] else " ↓"),
                "multi-task": t["mtl"],
                "single-task": t["stl"],
                "gain %": t["gain"],
            }
        )
    return pd.DataFrame(rows)


def gain_verdict(result: dict[str, Any]) -> str:
    """A plain sentence on Δm for the page."""
    dm = result.get("delta_m")
    if dm is None:
        return "Single-task baselines were off, so there is no comparison."
    if dm > 0:
        return f"Sharing helped: on average the tasks did {dm:.1f}% better than alone (Δm)."
    return f"Sharing hurt: on average the tasks did {-dm:.1f}% worse than alone (Δm)."

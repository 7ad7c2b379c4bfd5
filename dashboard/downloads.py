"""Download buttons the pages share: an experiment's zip and tables as CSV.

Every CSV goes through :mod:`mtlcore.csv_safe` (no cell runs as a spreadsheet formula);
the zip is :func:`mtlcore.export.export_experiment`, built only when the button is pressed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import runs_client
from mtlcore.csv_safe import csv_text


def experiment_zip(exp: int, *, key: str) -> None:
    """A button that downloads experiment ``exp`` (its finished seeds) as one zip."""

    def build() -> bytes:  # the zip reads saved weights (torch): imported on the click only
        from mtlcore.export import export_experiment

        return export_experiment(str(exp), store=runs_client.store())

    st.download_button(
        "Download the experiment (zip)", build,
        f"experiment{exp}.zip", "application/zip", key=key, on_click="ignore",
        icon=":material/download:",
        help="Config, result over every seed (verdicts included), metrics, test predictions, "
        "fitted preprocessing and each seed's weights, with a README saying what each file is.",
    )  # fmt: skip


def csv_button(label: str, frame: pd.DataFrame, filename: str, *, key: str) -> None:
    """A button that downloads ``frame`` as CSV (formula cells neutralised)."""
    st.download_button(label, csv_text(frame).encode("utf-8"), filename, "text/csv", key=key,
                       on_click="ignore", icon=":material/download:")  # fmt: skip

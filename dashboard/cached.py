"""Streamlit-cached loaders: datasets, tables, profiles, run results, snapshots, projections.

Thin wrappers around plain functions, keyed by what determines their result (a
file's path and modification time, a config's YAML), so every session shares them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import datasets, runs_client
from mtlcore.data.ingest import profile_table
from mtlcore.data.spec import Dataset


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=16)
def builtin_dataset(name: str, options_json: str) -> Dataset:
    """A built-in dataset (treat as read-only)."""
    return datasets.builtin_dataset(name, json.loads(options_json))


def builtin(name: str, options: dict[str, Any]) -> Dataset:
    return builtin_dataset(name, json.dumps(options, sort_keys=True))


@st.cache_data(show_spinner="Reading the CSV…", max_entries=32)
def _table(path: str, mtime: float) -> pd.DataFrame:
    return datasets.read_table(path)


def table(path: str) -> pd.DataFrame:
    """A CSV table the draft names (raises DataError, e.g. when the file is gone)."""
    p = Path(path)
    return _table(str(p), p.stat().st_mtime if p.exists() else 0.0)


@st.cache_data(show_spinner=False, max_entries=64)
def profile(df: pd.DataFrame) -> pd.DataFrame:
    return profile_table(df)


@st.cache_data(show_spinner=False, max_entries=64)
def _result(path: str, mtime: float) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def result(run_id: int) -> dict[str, Any] | None:
    """A done run's full result.json (None before it is written); re-read when it changes."""
    path = runs_client.artifact_paths(run_id).get("result")
    if path is None or not path.is_file():
        return None
    return _result(str(path), path.stat().st_mtime)


@st.cache_resource(show_spinner=False, max_entries=256)
def snapshot(path: str):
    return runs_client.snapshot(path)


@st.cache_data(show_spinner="Projecting with PCA…", max_entries=64)
def pca(features: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    if features.shape[0] < 2:
        return np.zeros((features.shape[0], 2))
    n = min(2, features.shape[1], features.shape[0])
    out = PCA(n_components=n, random_state=0).fit_transform(features)
    return out if n == 2 else np.column_stack([out, np.zeros(len(out))])


@st.cache_data(show_spinner="Running t-SNE (a few seconds)…", max_entries=16)
def tsne(features: np.ndarray, perplexity: float) -> np.ndarray:
    return tsne_projection(features, perplexity)


def tsne_projection(features: np.ndarray, perplexity: float) -> np.ndarray:
    """t-SNE to 2-D on one thread (OpenMP and BLAS pinned by threadpoolctl).

    Left alone, scikit-learn's Barnes-Hut gradient starts a thread per core; on a busy
    machine those threads wait on each other and on every other page's work (300 points:
    ~120 s against ~6 s on one thread, bench/bench_tsne.py). One thread keeps it a few
    seconds and leaves the other cores to the other sessions and the run workers.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    n = features.shape[0]
    if n < 5:
        return np.zeros((n, 2))
    p = min(perplexity, max(2.0, (n - 1) / 3))
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=p, init="pca", random_state=0).fit_transform(
            features
        )


@st.cache_data(show_spinner=False, max_entries=2048)
def config_summary(config_yaml: str) -> dict[str, Any]:
    """What a run list shows of a run's config (see dashboard.draft.config_summary)."""
    import yaml

    from dashboard.draft import config_summary as summarize

    return summarize(yaml.safe_load(config_yaml) or {})


@st.cache_data(show_spinner=False, max_entries=256)
def run_config(config_yaml: str) -> dict[str, Any]:
    """A run's config as a plain dict (the store saved it validated)."""
    import yaml

    return yaml.safe_load(config_yaml) or {}

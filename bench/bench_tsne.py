"""t-SNE of 300 points as the Representations page runs it (issue 12).

Baseline, same run, interleaved: scikit-learn's TSNE left to its default threads (one
per core, what the page did before); ours: ``dashboard.cached.tsne_projection``
(threads pinned to 1). Prints wall seconds of each repeat, the medians and the ratio,
and the machine's load average. Run on the machine as it is (busy is the case that
matters)::

    PYTHONPATH=. .venv/bin/python bench/bench_tsne.py [--repeats 3] [--points 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from sklearn.manifold import TSNE

from dashboard.cached import tsne_projection


def baseline(features: np.ndarray, perplexity: float) -> np.ndarray:
    n = features.shape[0]
    p = min(perplexity, max(2.0, (n - 1) / 3))
    return TSNE(n_components=2, perplexity=p, init="pca", random_state=0).fit_transform(features)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--points", type=int, default=300)
    args = ap.parse_args()
    rng = np.random.default_rng(0)  # a snapshot's shape: 300 rows of a 64-wide trunk
    centres = rng.normal(size=(3, 64)) * 3
    X = centres[rng.integers(0, 3, args.points)] + rng.normal(size=(args.points, 64))
    X = X.astype(np.float32)
    times: dict[str, list[float]] = {"default threads": [], "pinned (ours)": []}
    for _ in range(args.repeats):
        for name, fn in [("default threads", baseline), ("pinned (ours)", tsne_projection)]:
            t0 = time.perf_counter()
            fn(X, 30.0)
            times[name].append(time.perf_counter() - t0)
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()}, points {args.points}")
    for name, ts in times.items():
        print(
            f"{name:<16} median {statistics.median(ts):6.2f} s   runs {[round(t, 2) for t in ts]}"
        )
    ratio = statistics.median(times["default threads"]) / statistics.median(times["pinned (ours)"])
    print(f"default / pinned: {ratio:.2f}x")


if __name__ == "__main__":
    main()

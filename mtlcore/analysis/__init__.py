"""What the runs show: honest MTL-vs-STL comparisons and transfer analysis.

Computed once here, read by ``result.json``, the CLI table and the dashboard's
pages. Nothing in this package imports streamlit.
"""

from mtlcore.analysis.comparison import (
    CONFIDENCE,
    FINDINGS,
    VERDICTS,
    GainSummary,
    Verdict,
    summarize_gains,
    trivial_metrics,
    verdict_sentence,
)

__all__ = [
    "CONFIDENCE",
    "FINDINGS",
    "VERDICTS",
    "GainSummary",
    "Verdict",
    "summarize_gains",
    "trivial_metrics",
    "verdict_sentence",
]

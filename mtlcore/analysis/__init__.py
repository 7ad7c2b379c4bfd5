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
    combine_results,
    compare,
    compare_task,
    delta_m_sentence,
    interval_text,
    stored_summary,
    summarize_gains,
    trivial_metrics,
    trivial_sentence,
    verdict_label,
    verdict_sentence,
)

__all__ = [
    "CONFIDENCE",
    "FINDINGS",
    "VERDICTS",
    "GainSummary",
    "Verdict",
    "combine_results",
    "compare",
    "compare_task",
    "delta_m_sentence",
    "interval_text",
    "stored_summary",
    "summarize_gains",
    "trivial_metrics",
    "trivial_sentence",
    "verdict_label",
    "verdict_sentence",
]

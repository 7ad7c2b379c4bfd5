"""What the runs show: honest MTL-vs-STL comparisons and transfer analysis.

Computed once here, read by ``result.json``, the CLI table and the dashboard's
pages. Nothing in this package imports streamlit, and importing it does not import
torch (the pair trainings of :func:`train_pairwise` import it when they run).

Transfer analysis: gradient conflict (:mod:`.conflict`), lookahead task affinity
and a suggested grouping (:mod:`.affinity`, Fifty et al. 2021), the pairwise-gain
matrix (:mod:`.pairwise`) and linear CKA between the multi-task and single-task
representations (:mod:`.cka`, Kornblith et al. 2019); :func:`transfer_summary`
gathers them for ``result.json``.
"""

from mtlcore.analysis.affinity import (
    GROUPING_RULE,
    Grouping,
    affinity_matrix,
    grouping_score,
    suggest_grouping,
)
from mtlcore.analysis.cka import CKA_MEANING, cka_rows, linear_cka
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
from mtlcore.analysis.conflict import conflict_summary, pair_matrix
from mtlcore.analysis.pairwise import MAX_PAIRWISE_TASKS, PairwiseSeed, pairwise_summary
from mtlcore.analysis.transfer import combine_transfer, transfer_summary

__all__ = [
    "CKA_MEANING",
    "GROUPING_RULE",
    "MAX_PAIRWISE_TASKS",
    "Grouping",
    "PairwiseSeed",
    "affinity_matrix",
    "cka_rows",
    "combine_transfer",
    "conflict_summary",
    "grouping_score",
    "linear_cka",
    "pair_matrix",
    "pairwise_summary",
    "suggest_grouping",
    "transfer_summary",
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

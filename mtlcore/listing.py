"""Names and titles of the sharing strategies and weighting methods, without torch.

``python -m mtlcore list`` prints these. The registries
(:data:`mtlcore.models.STRATEGIES`, :data:`mtlcore.weighting.METHODS`) are the
source of truth, but importing them imports torch (seconds, hundreds of MB) just
to print a list; ``tests/test_cli_light.py`` checks that this copy matches them,
in order, and its failure message prints the lines to paste here.
"""

from __future__ import annotations

STRATEGY_TITLES: tuple[tuple[str, str], ...] = (
    ("hard", "Hard sharing"),
    ("independent", "Independent (no sharing)"),
    ("soft", "Soft sharing"),
    ("hierarchical", "Hierarchical sharing"),
    ("cross_stitch", "Cross-stitch"),
    ("mmoe", "Multi-gate mixture of experts (MMoE)"),
    ("ple", "Progressive layered extraction (PLE)"),
    ("cgc", "Customized gate control (CGC)"),
)

METHOD_TITLES: tuple[tuple[str, str], ...] = (
    ("equal", "Equal weights"),
    ("static", "Static weights (your own)"),
    ("uncertainty", "Uncertainty weighting"),
    ("dwa", "Dynamic Weight Average (DWA)"),
    ("gradnorm", "GradNorm"),
    ("rlw", "Random loss weighting (RLW)"),
    ("famo", "FAMO (fast adaptive)"),
    ("pcgrad", "PCGrad (gradient surgery)"),
    ("mgda", "MGDA (min-norm gradient)"),
    ("cagrad", "CAGrad (conflict-averse)"),
    ("imtl_g", "IMTL-G (impartial gradients)"),
    ("aligned_mtl", "Aligned-MTL"),
    ("upgrad", "UPGrad (Jacobian descent)"),
    ("nash_mtl", "Nash-MTL (bargaining)"),
)

"""Aligned-MTL: make the task gradients orthogonal and equally long, then combine.

Senushkin, Patakin, Kuznetsov & Konushin (2023), "Independent Component Alignment
for Multi-Task Learning", CVPR. The Gramian's eigen-decomposition gives a linear
map that turns the task gradients into orthogonal vectors of equal norm (the
condition number of the system becomes 1); the aligned gradients are combined with
the preference weights. torchjd's :class:`~torchjd.aggregation.AlignedMTL`; weights ×T.
"""

from __future__ import annotations

from torchjd.aggregation import AlignedMTL

from mtlcore.weighting.gradient import GradientWeighting, pref_vector
from mtlcore.weighting.registry import METHODS


@METHODS.register("aligned_mtl")
class AlignedMTLWeighting(GradientWeighting):
    def make_aggregator(self) -> AlignedMTL:
        pref = pref_vector(self.names, self.options.pref_vector)
        return AlignedMTL(pref_vector=pref, scale_mode=self.options.scale_mode)

"""Lesson 4: conflicting gradients, on the two-objective 2-D toy of CAGrad and Nash-MTL.

A study, not a preset: :mod:`mtlcore.lessons.toy2d` moves one point (x, y) ∈ R² with
Adam on two losses whose gradients conflict, once per weighting method and start,
each step combined by the project's own method (``mtlcore.weighting``). The toy, its
starts, its optimiser and its step budget are those of the papers' code (Liu et al.
2021, ``toy.py`` of Cranial-XIX/CAGrad; Navon et al. 2022, ``experiments/toy`` of
AvivNavon/nash-mtl); see :data:`PUBLISHED`.

This module is torch-free (the dashboard's catalogue imports it); the computation
lives in :mod:`mtlcore.lessons.toy2d`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mtlcore.lessons import Lesson, Study

Method = Literal["equal", "pcgrad", "mgda", "cagrad", "nash_mtl"]
METHODS: tuple[str, ...] = ("equal", "pcgrad", "mgda", "cagrad", "nash_mtl")
Start = tuple[Annotated[float, Field(ge=-10, le=10)], Annotated[float, Field(ge=-10, le=10)]]

# The papers' code. CAGrad (toy.py): 3 starts, Adam lr 0.001, 100 000 steps, c = 0.5.
# Nash-MTL (experiments/toy/trainer.py): 5 starts, Adam lr 0.001, 35 000 steps, the first
# loss scaled by 0.1 (its point: a method should not care about a loss's scale), Nash-MTL
# with max_norm 1, a new solve every step, at most 20 convex-concave iterations.
CAGRAD_STARTS: tuple[tuple[float, float], ...] = ((-8.5, 7.5), (-8.5, -5.0), (9.0, 9.0))
NASH_STARTS: tuple[tuple[float, float], ...] = (
    (-8.5, 7.5), (0.0, 0.0), (9.0, 9.0), (-7.5, -0.5), (9.0, -1.0),
)  # fmt: skip
PUBLISHED: dict[str, dict[str, object]] = {
    "cagrad": {"starts": CAGRAD_STARTS, "steps": 100_000, "lr": 0.001, "scale": 1.0},
    "nash_mtl": {"starts": NASH_STARTS, "steps": 35_000, "lr": 0.001, "scale": 0.1},
}
# The page's starts: CAGrad's Fig. 1. Nash-MTL's other three are a click away on the page.
PAGE_STARTS: tuple[tuple[float, float], ...] = CAGRAD_STARTS
# The page's budget: the papers' optimiser with 5x the step and 8 000 steps, about a minute
# for every method from three starts on 2 cores (bench/RESULTS.md); the papers' 0.001 needs
# their 100 000 steps, about ten minutes. Much above 0.005, or for many more steps at it,
# equal weights creep out of their valleys (at 0.005 by step 20 000).
PAGE_STEPS = 8_000
PAGE_LR = 0.005
# A path ends 'on the Pareto set' within this distance of it (x and y units; see docs/lessons.md).
PARETO_TOLERANCE = 0.05


class Toy2DOptions(BaseModel):
    """Options of the 2-D toy study. The defaults are the page's: CAGrad's starts and the
    papers' optimiser with a 5x larger step and 8 000 steps (``PUBLISHED`` has theirs)."""

    model_config = ConfigDict(extra="forbid")

    methods: list[Method] = Field(default_factory=lambda: list(METHODS), min_length=1)
    starts: list[Start] = Field(
        default_factory=lambda: list(PAGE_STARTS), min_length=1, max_length=12,
        description="Starting points (x, y), each in [-10, 10].",
    )  # fmt: skip
    steps: int = Field(PAGE_STEPS, ge=1, le=200_000, description="Adam steps per path.")
    lr: float = Field(PAGE_LR, gt=0, le=1, description="Adam's learning rate.")
    scale: float = Field(
        1.0, gt=0, le=100,
        description="Factor on the first loss (1 in CAGrad's toy, 0.1 in Nash-MTL's).",
    )  # fmt: skip
    c: float = Field(0.5, ge=0, le=10, description="CAGrad's c (0.5 in the CAGrad paper's toy).")
    seed: int = Field(0, ge=0, description="Seeds PCGrad's random order (no effect with 2 tasks).")
    points: int = Field(
        400, ge=10, le=20_000, description="Points kept per path for the chart (plus the end)."
    )
    workers: int = Field(
        0, ge=0, le=64,
        description="Processes the paths run in, the methods dealt out among them: 0 = one "
        "per CPU (at most one per method; in this process below 4 000 steps); 1 = in this "
        "process. The numbers do not depend on it.",
    )  # fmt: skip


MEASURED = """End points (x, y) in the papers' own settings, with the papers' update rules
(`tests/test_lesson_toy2d.py` checks that our methods take the same steps; see
docs/lessons.md). Every end without a d is on the Pareto set (within 0.001).

| start | equal | PCGrad | MGDA | CAGrad | Nash-MTL |
| --- | --- | --- | --- | --- | --- |
| CAGrad's toy, 100 000 steps, lr 0.001 | | | | | |
| (−8.5, 7.5) | (−5.06, 2.17) d 10.6 | (−4.56, −8.39) | (−3.32, −8.37) | (0.00, −8.36) | (−2.90, −8.37) |
| (−8.5, −5) | (0.00, −8.36) | (−6.43, −8.42) | (−6.99, −8.43) | (0.00, −8.36) | (−6.19, −8.42) |
| (9, 9) | (5.06, 2.35) d 10.8 | (4.44, −8.39) | (3.33, −8.37) | (0.00, −8.36) | (2.90, −8.37) |
| Nash-MTL's toy (L₁ × 0.1), 35 000 steps | | | | | |
| (−8.5, 7.5) | (−5.43, −2.58) d 5.8 | (−4.50, −8.39) | (−1.98, −8.36) | (−5.37, −6.28) d 2.1 | (−2.93, −8.37) |
| (0, 0) | (−5.73, −8.41) | (−3.35, −8.37) | (6.10, −8.42) | (−5.73, −8.41) | (0.00, −8.36) |
| (9, 9) | (5.00, 3.96) d 12.4 | (5.54, 0.88) d 9.3 | (6.98, −8.43) | (6.01, 0.51) d 8.9 | (2.94, −8.37) |
| (−7.5, −0.5) | (−5.73, −8.41) | (−3.82, −8.38) | (−4.26, −8.39) | (−5.73, −8.41) | (−3.28, −8.37) |
| (9, −1) | (−5.73, −8.41) | (5.04, −8.40) | (7.00, −8.43) | (−5.73, −8.41) | (4.89, −8.40) |

The average loss's minimum: (0, −8.36); with L₁ × 0.1, (−5.73, −8.41). Scaling L₁ by
0.1 moves Nash-MTL's ends by at most 0.03, MGDA's by up to 6.1. At the page's setting
(8 000 steps at lr 0.005) CAGrad from the valley starts is at (−5.67, −1.25) and
(6.01, 0.14), on its way down; equal weights at (−5.07, 1.39) and (5.05, 1.40), in the
valleys. Through our methods (five starts) the same holds: equal weights in the valleys
(d 10.1, 9.8), MGDA within 0.02 and Nash-MTL within 0.002 of the set from every start,
CAGrad at the minimum from the three starts below the valleys and at (−3.54, −5.97),
(4.77, −3.20) from the others; with L₁ × 0.1 Nash-MTL within 0.002 of the set from every
start, and from (9, 9) equal weights (d 11.0), PCGrad (d 6.1) and CAGrad (d 7.0) off it.
At lr 0.005 equal weights leave their valleys by step 20 000, at 0.01 by 2 000; at the
papers' 0.001 they are still there at 100 000. CPU time per step of the study here (2
cores, all five methods from three starts moved together): about 6 ms, 46 s for the
page's 8 000 steps; with two tasks our PCGrad, MGDA, CAGrad and Nash-MTL compute their
weights in closed form (one path through torchjd's solvers: MGDA 14 ms per step, CAGrad
19, Nash-MTL 55; through the closed forms 4–5; bench/RESULTS.md)."""


LESSON = Lesson(
    key="conflicting-gradients",
    number=4,
    title="Conflicting gradients",
    claim=(
        "A point (x, y) with two losses: above the x-axis each is a narrow valley, below it "
        "each a wide bowl, the two bowls' floors 14 apart, so the Pareto set is the segment "
        "between them (y ≈ −8.36, x from −7 to 7). With the page's 8 000 Adam steps (lr "
        "0.005) from CAGrad's three starts, equal weights stall in a valley from (−8.5, 7.5) "
        "and (9, 9) and reach the minimum of the average loss from (−8.5, −5). MGDA and "
        "Nash-MTL reach the Pareto set from every start, each at a point that depends on the "
        "start. CAGrad reaches the average loss's minimum from (−8.5, −5) and is still on its "
        "way down from the valley starts: in the papers' own setting (100 000 steps at lr "
        "0.001, from the command line) it ends there from every start, while equal weights "
        "stay in their valleys and PCGrad and MGDA end on the Pareto set away from it. With "
        "L₁ × 0.1 (Nash-MTL's toy) Nash-MTL still reaches the Pareto set from every start; "
        "from (9, 9) equal weights stall, and PCGrad and CAGrad do not reach the Pareto set."
    ),
    what_to_do=(
        "Press *Run the study* (every method from CAGrad's three starts). Then choose the "
        "losses 'L₁ × 0.1' and run again; add Nash-MTL's starts if you like. The papers' "
        "own budget runs from the command line (the command is under the settings)."
    ),
    look_at=(
        "The panels, one per method, on the contour lines of the average loss: where each "
        "path ends — in a valley above the axis, on the grey Pareto set, or on the star (the "
        "average loss's minimum). The loss-space chart shows the same ends as (L₁, L₂) pairs "
        "beside the Pareto front; the table gives each end's distance to the Pareto set."
    ),
    question=(
        "CAGrad starts from the same average gradient that equal weights follow, and MGDA "
        "never takes a step that makes either loss worse. Why does the average gradient "
        "stall in the valley while CAGrad gets out — and why does MGDA end far from the "
        "average loss's minimum?"
    ),
    sources=(
        "Liu, B., Liu, X., Jin, X., Stone, P. & Liu, Q. (2021). Conflict-Averse Gradient "
        "Descent for Multi-task Learning. NeurIPS. (The toy: its Fig. 1 and toy.py.)",
        "Navon, A., Shamsian, A., Achituve, I., Maron, H., Kawaguchi, K., Chechik, G. & "
        "Fetaya, E. (2022). Multi-Task Learning as a Bargaining Game. ICML.",
        "Yu, T., Kumar, S., Gupta, A., Levine, S., Hausman, K. & Finn, C. (2020). Gradient "
        "Surgery for Multi-Task Learning. NeurIPS.",
        "Sener, O. & Koltun, V. (2018). Multi-Task Learning as Multi-Objective "
        "Optimization. NeurIPS.",
    ),
    study=Study(options_model=Toy2DOptions, runner="mtlcore.lessons.toy2d:run"),
    read_on="learn",
    measured=MEASURED,
)

"""Lesson 5: a shared representation forms — and what it holds depends on the partner task.

Presets are the few-labels synthetic pair (``examples/synthetic.yaml``: task1 has 30
labelled rows, task0 all its 600) with three seeds and a snapshot at every epoch, once
with a related partner (relatedness 0.9) and once with an unrelated one (0). They are
read on the Representations page's animated view: the snapshots of task1's validation
rows in one fixed PCA projection over the epochs, multi-task beside single-task, with
the linear CKA between the two (Kornblith et al. 2019) in each frame's title. Caruana
(1997) for the shared representation; the tasks follow Ma et al. (2018).
"""

from __future__ import annotations

from mtlcore.lessons import Lesson, Preset
from mtlcore.lessons.few_labels import LESSON as FEW_LABELS
from mtlcore.lessons.few_labels import example

# The data-poor task and its labelled training rows (examples/synthetic.yaml).
POOR_TASK = "task1"
POOR_LABELS = 30
# A snapshot at every epoch: the animation has a frame per epoch, and the first epochs,
# where most of the change happens, are not skipped.
SNAPSHOTS = {"train.snapshot_every": 1}

LESSON = Lesson(
    key="representation",
    number=5,
    title="A shared representation forms",
    claim=(
        f"Watch the shared layers' picture of {POOR_TASK}'s rows ({POOR_TASK} has only "
        f"{POOR_LABELS} labelled rows) form over training, coloured by its true value. Beside "
        "a related partner (relatedness 0.9) the multi-task picture ends sorted by that value "
        "— the colours run from one side to the other, more clearly than in the picture of "
        f"{POOR_TASK}'s own single-task network, on every seed — and beside an unrelated "
        "partner (relatedness 0) it stays mixed. Over training the shared layers also stay "
        f"closer to what {POOR_TASK} alone learns with the related partner: the linear CKA "
        "between the two pictures, averaged over the epochs, is about 0.6-0.8 against "
        "0.2-0.5 with the unrelated one, on every seed. Either way the multi-task "
        "representation takes most of its final shape in the first few epochs: by epoch 4 "
        "of 20 its CKA to the last epoch's representation has risen from 0.1-0.45 to above "
        "0.85."
    ),
    what_to_do=(
        "Load *Related partner* and press Train; when it is done, load *Unrelated partner* "
        "and train again. Then open Representations for each experiment, choose *Animated "
        f"over training*, pick {POOR_TASK} and press ▶ Play."
    ),
    look_at=(
        f"Representations, animated: whether {POOR_TASK}'s colours line up in the multi-task "
        "panel and in the single-task one, the CKA in the title as the epochs pass, and how "
        "far the dots still move after the first few epochs. The CKA curve below it shows "
        "the same numbers for both tasks."
    ),
    question=(
        f"Both partners train the same shared layers with the same 600 labelled rows. Why "
        f"does the related one leave them closer to what {POOR_TASK} alone would learn, "
        f"while the unrelated one pulls them away — and why does that help {POOR_TASK} only "
        "in the first case?"
    ),
    sources=(
        *FEW_LABELS.sources,  # Caruana (1997); Ma et al. (2018), whose tasks these are
        "Kornblith, S., Norouzi, M., Lee, H. & Hinton, G. (2019). Similarity of Neural "
        "Network Representations Revisited. ICML.",
    ),
    presets=(
        Preset(
            "related",
            "Related partner (relatedness 0.9)",
            example("synthetic.yaml", "lesson5-related", SNAPSHOTS),
        ),
        Preset(
            "unrelated",
            "Unrelated partner (relatedness 0)",
            example(
                "synthetic.yaml",
                "lesson5-unrelated",
                {**SNAPSHOTS, "data.options.relatedness": 0.0},
            ),
        ),
    ),
    read_on="representations",
    measured=(
        f"{POOR_TASK}'s 90 validation rows, per seed (seeds 0-2 / 3-5). How sorted the "
        "animation's last frame is (5-nearest-neighbour R² of the true value in the fixed PCA "
        "plane): related multi-task 0.56 / 0.68 / 0.59, 0.76 / 0.50 / 0.63; its single-task "
        "network 0.49 / 0.10 / −0.02, 0.23 / 0.18 / 0.11; unrelated multi-task 0.24 / −0.15 / "
        "−0.01, −0.04 / −0.16 / −0.24. Linear CKA multi-task vs single-task averaged over "
        "epochs 1-20: related 0.77 / 0.65 / 0.64, 0.66 / 0.73 / 0.64; unrelated 0.48 / 0.44 / "
        "0.34, 0.30 / 0.29 / 0.23 (at epoch 20: related 0.74 / 0.61 / 0.60, 0.64 / 0.67 / "
        "0.59; unrelated 0.47 / 0.44 / 0.34, 0.28 / 0.27 / 0.18). Multi-task CKA to epoch "
        "20: 0.10-0.43 at epoch 0, 0.88-0.97 at epoch 4. Other numbers in docs/lessons.md."
    ),
)

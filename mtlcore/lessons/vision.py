"""Lesson 8: on images, coarse labels that cost little teach a digit reader with few labels.

Presets are ``examples/digits.yaml`` (scikit-learn's 8 × 8 handwritten digits; the
digit task has 50 labelled images, parity and "5 or more" all theirs) with three
seeds, and the same with every digit label for the contrast. Caruana (1997) for
auxiliary tasks; the digits are Alpaydin & Kaynak's (UCI).
"""

from __future__ import annotations

from mtlcore.lessons import Lesson, Preset
from mtlcore.lessons.few_labels import example

# The digit task's labelled training images in the few-labels preset (examples/digits.yaml).
FEW_DIGIT_LABELS = 50
# Every 3rd of the 15 epochs, so Representations also shows the last one.
SNAPSHOTS = {"train.snapshot_every": 3}

LESSON = Lesson(
    key="vision",
    number=8,
    title="Vision: coarse labels help a digit reader that has few",
    claim=(
        f"On 8 × 8 images of handwritten digits, a network that has only {FEW_DIGIT_LABELS} "
        "labelled images to learn the ten digits reads them better when it also learns, from "
        "all the images, two coarse questions about the same digit — even or odd, and 5 or "
        "more: its test accuracy rises on every seed, from about 77 % to 86 % on average "
        "(gain +5 % to +20 % per seed). With every digit label the gain shrinks to about 1 % "
        "or less. On "
        "Representations, coloured by the true digit, training sorts the digit rows into "
        "groups, and over the seeds the multi-task picture groups them more clearly than "
        "the single-task network's (on most seeds, not on every one)."
    ),
    what_to_do=(
        "Load *50 digit labels* and press Train; when it is done, load *All digit labels* "
        "and train again. Then open Representations for the first experiment, pick the "
        "digit task, colour by truth and step through the epochs, multi-task beside "
        "single-task."
    ),
    look_at=(
        "Compare: the digit task's accuracy, gain and verdict in each experiment (parity "
        "and 5-or-more are easy either way). Representations: how the ten colours sort "
        "themselves from epoch 0 on, in the multi-task picture and in the single-task one."
    ),
    question=(
        "Knowing only that a digit is odd and 5 or more leaves three candidates (5, 7, 9). "
        "How can labels that never name the digit make a digit reader better, and why "
        "does that help fade once every image carries its digit?"
    ),
    sources=(
        "Caruana, R. (1997). Multitask Learning. Machine Learning 28, 41-75.",
        "Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of Handwritten Digits. UCI "
        "Machine Learning Repository, https://doi.org/10.24432/C50P49 (CC BY 4.0); the copy "
        "in scikit-learn's load_digits.",
    ),
    presets=(
        Preset(
            "few-digit-labels",
            f"{FEW_DIGIT_LABELS} digit labels, parity and 5-or-more all theirs",
            example("digits.yaml", "lesson8-few-digit-labels", SNAPSHOTS),
        ),
        Preset(
            "all-digit-labels",
            "All digit labels",
            example(
                "digits.yaml",
                "lesson8-all-digit-labels",
                {**SNAPSHOTS, "data.options.labelled_rows": None},
            ),
        ),
    ),
    read_on="compare",
    measured=(
        "Digit-task gain of multi-task over single-task, per seed (accuracy on 270 test "
        "images). 50 digit labels: seeds 0-2 +13.0 / +13.7 / +19.6 % (accuracy 0.872 vs "
        "0.756, 'helps'); seeds 3-5 +12.4 / +11.1 / +4.9 % (0.853 vs 0.779; interval "
        "[−0.5, +19.4], 'within the noise'). All digit labels: seeds 0-2 +0.0 / −0.8 / +0.8 "
        "% (0.981 vs 0.981); seeds 3-5 +0.8 / +0.8 / −0.7 %. Representations (the digit "
        "task's 200 snapshot rows in the PCA plane, 5-nearest-neighbour digit accuracy): "
        "0.22-0.33 before training; at the last epoch multi-task 0.71 / 0.71 / 0.73 vs "
        "single-task 0.49 / 0.50 / 0.60 (seeds 0-2), 0.72 / 0.65 / 0.67 vs 0.48 / 0.53 / "
        "0.57 (3-5)."
    ),
)

"""Small running statistics the weighting methods keep for ``state()``.

``state()`` goes into result.json and the dashboard, so it stays small: the last
step's values and running means since the start of training, never a full
history (the training loop already logs the per-epoch mean of the weights that
``backward`` returns). Values stay tensors between steps so that recording them
costs no device sync; they become plain floats only when ``state()`` is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


class RunningMean:
    """The last value and the running mean of a tensor recorded once per step."""

    def __init__(self) -> None:
        self.last: Tensor | None = None
        self.total: Tensor | None = None
        self.count = 0

    def add(self, value: Tensor) -> None:
        value = value.detach()
        self.last = value
        self.total = value.double() if self.total is None else self.total + value.double()
        self.count += 1

    @property
    def mean(self) -> Tensor | None:
        return None if self.total is None else self.total / self.count

    def __bool__(self) -> bool:
        return self.count > 0


def per_task(names: Sequence[str], values: Tensor) -> dict[str, float]:
    """``{task: value}`` as plain floats, for JSON."""
    return dict(zip(names, (float(v) for v in values.detach().cpu().tolist()), strict=True))


def last_and_mean(key: str, names: Sequence[str], stat: RunningMean) -> dict[str, object]:
    """``{key: {task: last}, "mean_" + key: {task: mean}}``, or {} before the first step."""
    if not stat:
        return {}
    assert stat.last is not None and stat.mean is not None
    return {key: per_task(names, stat.last), f"mean_{key}": per_task(names, stat.mean)}

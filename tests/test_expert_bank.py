"""Experts run as one batched product (issue 12): MMoE, CGC and PLE store each bank of
same-shaped experts stacked (:class:`mtlcore.models.parts.ExpertBank`).

The stacking must be a pure speed-up: the bank computes what a loop over the experts as
separate modules computes (outputs and every gradient, float64), each expert starts
from its own seeded ``nn.Linear`` initialisation, and weight files saved when the
experts were separate modules still load.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mtlcore.models import Architecture, ModelTask, build_model
from mtlcore.models.base import seeded_mlp
from mtlcore.models.parts import ExpertBank, GroupMLP, distinct_segments, group_in_dims

ARCH = Architecture(hidden=(16, 12, 8))
TASKS = [ModelTask("ya", "a", 3, 1), ModelTask("ca", "a", 3, 1), ModelTask("yb", "b", 5, 2)]


def batches(dtype=torch.float32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    xa = torch.randn(7, 3, generator=g, dtype=dtype)
    return {"ya": xa, "ca": xa, "yb": torch.randn(4, 5, generator=g, dtype=dtype)}


def loop_and_bank(kind: str, arch: Architecture = ARCH):
    """Four experts as separate modules and the bank built from them (float64)."""
    model = build_model("hard", TASKS, arch, seed=1)  # only lends seeds and the arch
    if kind == "groups":
        experts = [GroupMLP(model, group_in_dims(model), arch.hidden, ("e", e)) for e in range(4)]
    else:
        experts = [seeded_mlp(model.component_seed("e", e), [6, *arch.hidden], arch,
                              last_activation=True) for e in range(4)]  # fmt: skip
    experts = nn.ModuleList(experts).double()
    return experts, ExpertBank(list(experts), arch).double()


def run_loop(kind: str, experts: nn.ModuleList, inputs) -> torch.Tensor:
    if kind == "groups":
        return torch.stack([e.on_segments(inputs) for e in experts])
    return torch.stack([e(inputs) for e in experts])


def run_bank(kind: str, bank: ExpertBank, inputs) -> torch.Tensor:
    return bank.on_segments(inputs) if kind == "groups" else bank(inputs)


def inputs_of(kind: str):
    if kind == "groups":
        segments, _ = distinct_segments(TASKS, batches(torch.float64))
        return [(g, x.clone().requires_grad_()) for g, x in segments]
    return torch.randn(9, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2),
                       requires_grad=True)  # fmt: skip


def input_grads(kind: str, inputs) -> list[torch.Tensor]:
    return [x.grad for _, x in inputs] if kind == "groups" else [inputs.grad]


@pytest.mark.parametrize("kind", ["groups", "plain"])
def test_bank_equals_a_loop_of_its_experts_forward_and_gradients(kind):
    experts, bank = loop_and_bank(kind)
    x_loop, x_bank = inputs_of(kind), inputs_of(kind)
    out_loop, out_bank = run_loop(kind, experts, x_loop), run_bank(kind, bank, x_bank)
    assert out_bank.shape == out_loop.shape == (4, out_loop.shape[1], ARCH.hidden[-1])
    torch.testing.assert_close(out_bank, out_loop, rtol=1e-12, atol=1e-12)
    upstream = torch.randn(out_loop.shape, dtype=torch.float64)
    (out_loop * upstream).sum().backward()
    (out_bank * upstream).sum().backward()
    for a, b in zip(input_grads(kind, x_bank), input_grads(kind, x_loop), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # Each expert's layer k is row e of the bank's stacked layer k.
    for e, expert in enumerate(experts):
        linears = [m for m in expert.modules() if isinstance(m, nn.Linear)]
        stacked = [*(bank.encoders.values() if bank.encoders else []), *bank.layers]
        if kind == "groups":  # encoders in group order, then the trunk
            assert len(linears) == len(stacked)
        for lin, layer in zip(linears, stacked, strict=True):
            torch.testing.assert_close(
                layer.weight.grad[e], lin.weight.grad, rtol=1e-12, atol=1e-12
            )
            torch.testing.assert_close(layer.bias.grad[e], lin.bias.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["mmoe", "ple"])
def test_each_expert_starts_from_its_own_kaiming_uniform_linear(name):
    """The bank copies experts built one by one under their own seeds: each expert's
    weights lie within nn.Linear's bound 1/sqrt(fan_in) of its layer, fill it (not a
    scaled copy of another expert), and differ between experts."""
    options = {"n_experts": 3} if name == "mmoe" else {"n_levels": 2, "n_shared_experts": 3}
    model = build_model(name, TASKS, ARCH, seed=4, options=options)
    banks = [m for m in model.modules() if isinstance(m, ExpertBank) and m.n_experts == 3]
    assert banks
    for bank in banks:
        layers = [*(bank.encoders.values() if bank.encoders else []), *bank.layers]
        for layer in layers:
            bound = 1 / math.sqrt(layer.weight.shape[-1])
            for e in range(3):
                w = layer.weight[e].detach()
                assert w.abs().max() <= bound
                assert w.abs().max() > 0.7 * bound
                assert layer.bias[e].abs().max() <= bound
            assert not torch.equal(layer.weight[0], layer.weight[1])


def test_mmoe_experts_are_the_experts_built_one_by_one():
    model = build_model("mmoe", TASKS, ARCH, seed=4, options={"n_experts": 3})
    dims = group_in_dims(model)
    for e in range(3):
        alone = GroupMLP(model, dims, ARCH.hidden, ("expert", e))
        for key, enc in alone.encoders.items():
            assert torch.equal(model.experts.encoders[key].weight[e], enc[0].weight)
        trunk = [m for m in alone.trunk if isinstance(m, nn.Linear)]
        for lin, layer in zip(trunk, model.experts.layers, strict=True):
            assert torch.equal(layer.weight[e], lin.weight)
            assert torch.equal(layer.bias[e], lin.bias)


def old_layout(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s weights as they were saved when every expert was a module of its own:
    ``<bank>.<e>.encoders.<g>.0.*``, ``<bank>.<e>.trunk.<2k>.*`` or ``<bank>.<e>.<2k>.*``
    (Linear, ReLU, Linear, ...)."""
    state = {}
    banks = {n: m for n, m in model.named_modules() if isinstance(m, ExpertBank)}
    for key, value in model.state_dict().items():
        bank = next((n for n in banks if key.startswith(f"{n}.")), None)
        if bank is None:
            state[key] = value
            continue
        rest = key[len(bank) + 1 :]
        part, kind = rest.rsplit(".", 1)
        for e in range(value.shape[0]):
            if part.startswith("encoders."):
                state[f"{bank}.{e}.{part}.0.{kind}"] = value[e]
            else:
                k = int(part.split(".")[1])
                trunk = "trunk." if banks[bank].encoders is not None else ""
                state[f"{bank}.{e}.{trunk}{2 * k}.{kind}"] = value[e]
    return state


@pytest.mark.parametrize(
    "name, options",
    [("mmoe", {"n_experts": 3}), ("cgc", {"n_task_experts": 2}), ("ple", {"n_levels": 3})],
)
def test_weight_files_of_separate_experts_still_load(name, options):
    trained = build_model(name, TASKS, ARCH, seed=1, options=options)
    fresh = build_model(name, TASKS, ARCH, seed=2, options=options)
    old = old_layout(trained)
    assert any(".0.trunk." in k or ".0.0." in k for k in old)
    fresh.load_state_dict(old)
    xs = batches()
    with torch.no_grad():
        a, b = trained(xs).outputs, fresh(xs).outputs
    for task in a:
        assert torch.equal(a[task], b[task])


def test_a_weight_file_with_another_number_of_experts_is_refused_by_name():
    three = build_model("mmoe", TASKS, ARCH, seed=1, options={"n_experts": 3})
    four = build_model("mmoe", TASKS, ARCH, seed=1, options={"n_experts": 4})
    with pytest.raises(ValueError, match=r"'experts\.'.*experts \[0, 1, 2\].*has 4"):
        four.load_state_dict(old_layout(three))


def test_the_regulariser_reads_stacked_weights_not_stacked_biases():
    model = build_model("ple", TASKS, ARCH, seed=1, options={"n_levels": 2})
    names = {id(p): n for n, p in model.named_parameters()}
    picked = [names[id(p)] for p in model.weight_matrices()]
    assert picked and all(n.endswith("weight") for n in picked)
    assert sum(n.endswith("weight") for n in names.values()) == len(picked)

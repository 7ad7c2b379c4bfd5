"""Properties of the sharing strategies: each one does what its paper and docstring promise."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from mtlcore.config import TrainConfig
from mtlcore.data.prepare import PreparedData, prepare
from mtlcore.data.spec import Dataset, TaskSpec
from mtlcore.models import STRATEGIES, Architecture, ModelTask, build_model
from mtlcore.models.parts import task_users
from mtlcore.train import train
from mtlcore.weighting import WeightingTask, build_weighting

ARCH = Architecture(hidden=(16, 8))
NEW = ["soft", "hierarchical", "cross_stitch", "mmoe", "cgc", "ple"]
GATED = ["mmoe", "cgc", "ple"]
CFG = TrainConfig(epochs=2, batch_size=16, lr=0.01, grad_cosine_every=2)


def two_tables(n_a: int = 48, n_b: int = 24) -> Dataset:
    """Houses-vs-apartments in miniature: two tables, different rows and columns."""
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(size=n_a), "z": rng.normal(size=n_a)})
    a["y"] = np.sin(a.x) + 0.5 * a.z + rng.normal(scale=0.1, size=n_a)
    a["cls"] = np.where(a.x + a.z > 0, "pos", "neg")
    b = pd.DataFrame({"x": rng.normal(size=n_b), "w": rng.choice(["u", "v", "s"], n_b)})
    b["y"] = np.sin(b.x) + (b.w == "u") + rng.normal(scale=0.1, size=n_b)
    return Dataset(
        "toy",
        "toy data",
        {"a": a, "b": b},
        [
            TaskSpec("ya", "a", "y", "regression", ("x", "z")),
            TaskSpec("yb", "b", "y", "regression", ("x", "w")),
            TaskSpec("ca", "a", "cls", "binary", ("x", "z")),
        ],
    )


DATA = prepare(two_tables(), two_tables().tasks)


def model_tasks(data: PreparedData) -> list[ModelTask]:
    return [ModelTask(t.name, t.input_group, t.X["train"].shape[1], t.out_dim) for t in data.tasks]


TASKS = model_tasks(DATA)
ONE_TABLE = [t for t in TASKS if t.input_group == TASKS[0].input_group]  # ya, ca


def batch(data: PreparedData = DATA, split: str = "train") -> dict[str, torch.Tensor]:
    return {t.name: torch.from_numpy(t.X[split]) for t in data.tasks}


def build(strategy: str, tasks=TASKS, arch=ARCH, seed: int = 0, **options):
    return build_model(strategy, list(tasks), arch, seed, options or None)


@torch.no_grad()
def outputs(model, xs) -> dict[str, torch.Tensor]:
    model.eval()
    return model(xs).outputs


def assert_same_outputs(a: dict, b: dict, atol: float = 1e-6) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=1e-5)


def by_id(params) -> set[int]:
    return {id(p) for p in params}


# --- every strategy -------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_registered_with_title_summary_paper_and_strict_options(name):
    entry = STRATEGIES.get_entry(name)
    assert entry.title and entry.paper
    assert 200 < len(entry.summary) < 900 and "\n" not in entry.summary
    entry.options(None)  # the defaults are valid
    with pytest.raises(ValidationError, match="extra"):
        entry.options({"no_such_option": 1})


@pytest.mark.parametrize("name", NEW)
def test_two_tables_any_subset_of_tasks_and_rows_never_mix(name):
    model = build(name)
    xs = batch()
    joint = model(xs)
    for t in TASKS:
        n = len(xs[t.name])
        assert joint.outputs[t.name].shape == (n, t.out_dim)
        assert joint.features[t.name].shape[0] == n
    # A task's output does not depend on which other tasks share the batch.
    together = outputs(model, xs)
    for t in TASKS:
        assert_same_outputs(outputs(model, {t.name: xs[t.name]}), {t.name: together[t.name]})
    assert_same_outputs(outputs(model, {k: xs[k] for k in ("yb", "ca")}),
                        {k: together[k] for k in ("yb", "ca")})  # fmt: skip
    assert model({}).outputs == {}


@pytest.mark.parametrize("name", NEW)
def test_reordering_tasks_only_reorders_outputs(name):
    xs = batch()
    forward = outputs(build(name), xs)
    backward = outputs(build(name, tasks=TASKS[::-1]), xs)
    assert_same_outputs(forward, {k: backward[k] for k in forward})


@pytest.mark.parametrize("name", NEW)
def test_same_seed_same_weights(name):
    a, b, c = build(name, seed=1), build(name, seed=1), build(name, seed=2)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa if k != "alpha")


@pytest.mark.parametrize("name", [*NEW, "hard", "independent"])
def test_shared_parameters_are_the_models_own_and_mixing_state_is_json(name):
    model = build(name)
    params = by_id(model.parameters())
    shared = model.shared_parameters()
    assert by_id(shared) <= params and len(by_id(shared)) == len(shared)
    assert by_id(shared) | by_id(model.task_parameters()) == params
    json.dumps(model.mixing_state(), allow_nan=False)
    model(batch())
    json.dumps(model.mixing_state(), allow_nan=False)


@pytest.mark.parametrize("name", [*NEW, "hard", "independent"])
def test_every_parameter_is_used_by_some_task(name):
    assert 0 not in task_users(build(name)).values()


@pytest.mark.parametrize("name", ["hard", "hierarchical", "mmoe", "cgc", "ple"])
def test_shared_means_used_by_more_than_one_task(name):
    """Shared parameters are exactly those that several tasks' outputs depend on (for hard
    sharing, whose list is written by hand, too); one task alone shares nothing."""
    model = build(name)
    names = {id(p): n for n, p in model.named_parameters()}
    several = {n for n, users in task_users(model).items() if users > 1}
    assert {names[id(p)] for p in model.shared_parameters()} == several
    assert several
    assert build(name, tasks=TASKS[:1]).shared_parameters() == []


@pytest.mark.parametrize("name", NEW)
def test_trains_two_epochs_on_two_tables(name):
    model = build(name)
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in DATA.tasks])
    out = train(model, weighting, DATA, CFG, seed=0)
    assert {r["epoch"] for r in out.history} == {0, 1, 2}  # 0: before the first step
    assert all(np.isfinite(r["loss"]) for r in out.history)
    assert bool(out.grad_cosine) == bool(model.shared_parameters())


# --- soft sharing ---------------------------------------------------------------------


def test_soft_penalty_is_zero_for_equal_towers_and_grows_with_distance():
    model = build("soft", tie_lambda=0.5)
    # The towers start as the single-task networks: same-seeded hidden layers, so equal.
    assert model.penalty().item() == 0.0
    w = model.tower("ya").trunk[0].weight
    delta = torch.randn_like(w)
    penalties = []
    for eps in (0.1, 0.2, 0.4):
        with torch.no_grad():
            model.tower("ya").trunk[0].weight.copy_(model.tower("yb").trunk[0].weight + eps * delta)
        penalties.append(model.penalty().item())
    # ya differs from yb and ca by eps·delta: 2 of the 3 pairs, mean over pairs, times λ.
    expected = [0.5 * 2 * (eps * delta).pow(2).sum().item() / 3 for eps in (0.1, 0.2, 0.4)]
    np.testing.assert_allclose(penalties, expected, rtol=1e-4)


def test_soft_ties_input_layers_only_within_a_table():
    model = build("soft", tie_lambda=1.0)
    with torch.no_grad():  # move yb's input layer (table b) and ca's (table a) away
        model.tower("yb").encoders["b_x_w"][0].weight.add_(1.0)
    assert model.penalty().item() == 0.0  # yb's input layer is tied to nobody
    with torch.no_grad():
        model.tower("ca").encoders["a_x_z"][0].weight.add_(1.0)
    assert model.penalty().item() > 0  # ca's is tied to ya's
    state = model.mixing_state()["layers"][0]["distance"]
    assert state[0][1] is None and state[0][2] > 0  # ya-yb untied, ya-ca tied


def test_soft_with_zero_lambda_is_the_independent_baseline():
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in DATA.tasks])
    soft = train(build("soft", tie_lambda=0.0), weighting, DATA, CFG, seed=0).history
    ind = train(build("independent"), weighting, DATA, CFG, seed=0).history
    assert [r["loss"] for r in soft] == pytest.approx([r["loss"] for r in ind])


def test_soft_large_lambda_keeps_towers_together():
    cfg = TrainConfig(epochs=6, batch_size=16, lr=0.02, grad_cosine_every=0)
    distance = {}
    for lam in (0.0, 10.0):
        model = build("soft", tie_lambda=lam)
        weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in DATA.tasks])
        train(model, weighting, DATA, cfg, seed=0)
        top = model.mixing_state()["layers"][-1]["distance"]
        distance[lam] = top[0][1] + top[0][2] + top[1][2]
    assert distance[0.0] > 0.05
    assert distance[10.0] < 0.2 * distance[0.0]


# --- cross-stitch ---------------------------------------------------------------------


def test_cross_stitch_alpha_starts_near_identity_with_rows_summing_to_one():
    model = build("cross_stitch", alpha_self=0.6)
    state = model.mixing_state()
    assert state["tasks"] == ["ya", "yb", "ca"] and len(state["layers"]) == len(ARCH.hidden)
    for layer in state["layers"]:
        np.testing.assert_allclose(
            layer["alpha"], [[0.6, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6]], rtol=1e-6
        )
    assert model.shared_parameters() == [model.alpha]


def set_identity(model) -> None:
    with torch.no_grad():
        model.alpha.copy_(torch.eye(len(model.tasks)).expand_as(model.alpha))


def test_cross_stitch_with_identity_alpha_is_independent_towers():
    xs = batch()
    cs = build("cross_stitch")
    set_identity(cs)
    # Same seed: each tower starts as its task's single-task network.
    assert_same_outputs(outputs(cs, xs), outputs(build("independent"), xs))
    # Other weights: copy an independent model's towers in, and the outputs follow.
    other = build("independent", seed=7)
    for t in TASKS:
        tower, key = other.tower(t.name), cs.keys[t.name]
        group = cs.towers[key].group_keys[t.input_group]
        cs.towers[key].encoders[group].load_state_dict(
            next(iter(tower.encoders.values())).state_dict()
        )
        cs.towers[key].trunk.load_state_dict(tower.trunk.state_dict())
        cs.heads[key].load_state_dict(tower.heads[key].state_dict())
    assert_same_outputs(outputs(cs, xs), outputs(other, xs))


def test_cross_stitch_mixing_carries_gradient_between_towers_only_through_alpha():
    xs = batch()
    cs = build("cross_stitch")
    cs.train()
    yb_tower = list(cs.towers["yb"].parameters())
    grads = torch.autograd.grad(cs(xs).outputs["ya"].sum(), yb_tower, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    set_identity(cs)
    grads = torch.autograd.grad(cs(xs).outputs["ya"].sum(), yb_tower, allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in grads)


# --- gated mixtures (MMoE, CGC, PLE) ------------------------------------------------


def copy_hard_into_expert(hard, bank) -> None:
    """Hard sharing's shared layers as the one expert of ``bank``, given in the layout of
    an expert of its own (``0.encoders.…``, ``0.trunk.…``), which the bank stacks on load."""
    shared = {k: v for k, v in hard.state_dict().items() if k.startswith(("encoders.", "trunk."))}
    bank.load_state_dict({f"0.{k}": v for k, v in shared.items()})


@pytest.mark.parametrize("tasks", [TASKS, ONE_TABLE], ids=["two tables", "one table"])
def test_mmoe_with_one_expert_is_hard_sharing(tasks):
    xs = {t.name: batch()[t.name] for t in tasks}
    hard, mmoe = build("hard", tasks, seed=3), build("mmoe", tasks, n_experts=1)
    copy_hard_into_expert(hard, mmoe.experts)
    mmoe.heads.load_state_dict(hard.heads.state_dict())
    out = mmoe(xs)
    assert all(torch.equal(w, torch.ones_like(w)) for k, w in out.extra.items())
    assert_same_outputs(outputs(mmoe, xs), outputs(hard, xs))


@pytest.mark.parametrize("name", GATED)
def test_gate_weights_are_distributions_per_row_and_on_average(name):
    model = build(name)
    xs = batch()
    out = model(xs)
    for t in TASKS:
        w = out.extra[f"gate:{t.name}"]
        assert w.shape[0] == len(xs[t.name]) and (w >= 0).all()
        torch.testing.assert_close(w.sum(dim=1), torch.ones(len(w)))
    state = model.mixing_state()
    assert state["kind"] == "gates" and state["source"] == "last forward pass"
    for level in state["levels"]:
        gates = [
            *level["gates"].values(),
            *([level["shared_gate"]] if "shared_gate" in level else []),
        ]
        for g in gates:
            assert len(g["experts"]) == len(g["weights"])
            assert sum(g["weights"]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("name", GATED)
def test_mixing_state_of_a_given_batch_keeps_the_last_record(name):
    model = build(name)
    xs = batch()
    model(xs)
    before = model.mixing_state()
    only_yb = model.mixing_state({"yb": xs["yb"][:3]})
    assert only_yb["source"] == "given batch"
    assert list(only_yb["levels"][-1]["gates"]) == ["yb"]
    assert model.mixing_state() == before and model.training


def test_mmoe_gate_weights_are_input_dependent_mixtures_that_training_moves():
    model = build("mmoe", n_experts=3)
    model(batch())
    before = model.mixing_state()["levels"][0]["gates"]["ya"]["weights"]
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in DATA.tasks])
    train(model, weighting, DATA, CFG, seed=0)
    model(batch())
    after = model.mixing_state()["levels"][0]["gates"]["ya"]["weights"]
    assert before != pytest.approx(after, abs=1e-4)


def test_cgc_without_task_experts_is_mmoe():
    xs = batch()
    cgc, mmoe = (
        build("cgc", n_task_experts=0, n_shared_experts=3),
        build("mmoe", n_experts=3, seed=5),
    )
    level = cgc.levels[0]
    level.shared_experts.load_state_dict(mmoe.experts.state_dict())
    for t in TASKS:
        key = cgc.keys[t.name]
        group = level.gates[key].group_keys[t.input_group]
        level.gates[key].layers[group].load_state_dict(mmoe.gates[key].state_dict())
    cgc.heads.load_state_dict(mmoe.heads.state_dict())
    assert_same_outputs(outputs(cgc, xs), outputs(mmoe, xs))


def test_ple_with_one_level_is_cgc():
    xs = batch()
    assert_same_outputs(outputs(build("ple", n_levels=1), xs), outputs(build("cgc"), xs))


def test_cgc_task_experts_are_private_and_shared_experts_shared():
    model = build("cgc")
    shared = by_id(model.shared_parameters())
    level = model.levels[0]
    assert by_id(level.task_experts.parameters()).isdisjoint(shared)
    assert by_id(level.gates.parameters()).isdisjoint(shared)
    assert by_id(level.shared_experts.layers.parameters()) <= shared
    # A table read by one task only: its input layer is that task's alone.
    b_layer = level.shared_experts.encoders[level.shared_experts.group_keys["b:x,w"]]
    assert by_id(b_layer.parameters()).isdisjoint(shared)


def test_ple_levels_split_the_hidden_widths_and_feed_a_shared_gate():
    arch = Architecture(hidden=(16, 12, 8))
    model = build("ple", arch=arch, n_levels=3)
    shared = by_id(model.shared_parameters())
    assert [lv.width for lv in model.levels] == [16, 12, 8]
    assert [lv.shared_gate is None for lv in model.levels] == [False, False, True]
    assert by_id(model.levels[0].shared_gate.parameters()) & shared
    assert by_id(model.levels[0].gates.parameters()) & shared  # level 1 feeds level 2's shared gate
    assert by_id(model.levels[1].gates.parameters()).isdisjoint(shared)
    assert by_id(model.levels[2].gates.parameters()).isdisjoint(shared)
    model(batch())
    levels = model.mixing_state()["levels"]
    assert [lv["level"] for lv in levels] == [1, 2, 3]
    assert len(levels[0]["shared_gate"]["experts"]) == 3 * 1 + 2  # every task's + shared
    assert "shared_gate" not in levels[2]


def test_ple_rejects_more_levels_than_widths():
    with pytest.raises(
        ValueError, match=r"model\.options\.n_levels: 3 levels .* model\.hidden has 2"
    ):
        build("ple", n_levels=3)
    with pytest.raises(ValueError, match=r"model\.options\.expert_hidden has 1"):
        build("ple", expert_hidden=[8])


# --- hierarchical ---------------------------------------------------------------------


def test_hierarchical_with_every_head_on_top_is_hard_sharing():
    xs = batch()
    hier, hard = build("hierarchical"), build("hard")
    assert_same_outputs(outputs(hier, xs), outputs(hard, xs))  # same seeds, same layers
    other = build("hard", seed=9)
    hier.load_state_dict(other.state_dict())  # same module names and shapes
    assert_same_outputs(outputs(hier, xs), outputs(other, xs))
    assert by_id(hier.shared_parameters()) == by_id(hier.encoders["a_x_z"].parameters()) | by_id(
        hier.trunk.parameters()
    )


def test_hierarchical_low_task_gets_no_gradient_from_the_layers_above_it():
    arch = Architecture(hidden=(16, 12, 8))
    model = build("hierarchical", arch=arch, depths={"ca": 2, "yb": 3, "ya": 3})
    xs = batch()
    out = model(xs)
    assert out.features["ca"].shape[1] == 12 and out.features["ya"].shape[1] == 8
    first, second = model.trunk_blocks  # layers 2 and 3
    grads = torch.autograd.grad(out.outputs["ca"].sum(), [*first.parameters(), *second.parameters()],
                                allow_unused=True)  # fmt: skip
    assert all(g is not None for g in grads[:2]) and all(g is None for g in grads[2:])
    shared = by_id(model.shared_parameters())
    assert by_id(first.parameters()) <= shared  # below ca, ya and yb
    assert by_id(second.parameters()) <= shared  # below ya and yb


def test_hierarchical_builds_no_layer_above_the_highest_head():
    model = build(
        "hierarchical", arch=Architecture(hidden=(16, 12, 8)), depths={t.name: 2 for t in TASKS}
    )
    assert len(model.trunk_blocks) == 1


def test_hierarchical_depths_are_validated_by_name_and_range():
    with pytest.raises(ValueError, match=r"model\.options\.depths: no task named 'yc'"):
        build("hierarchical", depths={"yc": 1})
    with pytest.raises(
        ValueError, match=r"model\.options\.depths: 'ya' is at depth 3, .* from 1 to 2"
    ):
        build("hierarchical", depths={"ya": 3})
    with pytest.raises(ValueError, match=r"model\.options\.depths: 'ya' is at depth 0"):
        build("hierarchical", depths={"ya": 0})
    with pytest.raises(ValueError, match=r"model\.hidden"):
        build("hierarchical", arch=Architecture(hidden=(16,)))


# --- through the config -----------------------------------------------------------------


def test_options_are_checked_by_the_config_and_at_build_time():
    from mtlcore.config import ConfigError, ExperimentConfig
    from mtlcore.experiment import build as build_experiment

    with pytest.raises(ConfigError, match=r"model\.options\.n_expert: unknown key"):
        ExperimentConfig.parse({"model": {"strategy": "mmoe", "options": {"n_expert": 3}}})
    with pytest.raises(ConfigError, match=r"model\.options\.alpha_self"):
        ExperimentConfig.parse(
            {"model": {"strategy": "cross_stitch", "options": {"alpha_self": 2}}}
        )
    # What needs the tasks or the widths is checked when the model is built.
    for options, key in [({"depths": {"nope": 1}}, "depths"), ({"n_levels": 3}, "n_levels")]:
        strategy = "hierarchical" if "depths" in options else "ple"
        config = ExperimentConfig.parse(
            {"model": {"strategy": strategy, "hidden": [16, 8], "options": options}}
        )
        with pytest.raises(ConfigError, match=rf"model\.options\.{key}"):
            build_experiment(config, DATA, 0)

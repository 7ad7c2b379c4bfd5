"""What sharing strategies and weighting methods exist, without importing torch.

One entry per strategy or method: its name, kind (sharing strategy, loss weighting
or gradient method), title, a one-paragraph summary, the paper, the pydantic model
of its options, and the module that builds it. The config validates
``model.options`` / ``weighting.options`` against these models, ``mtlcore list``
prints them and the dashboard draws its menus and option widgets from them, all
without torch (seconds and hundreds of MB saved in the Streamlit server and the CLI).

This is the one home of those facts. The torch side only registers a factory under
each name (``@STRATEGIES.register("mmoe")`` in ``mtlcore.models``,
``@METHODS.register("cagrad")`` in ``mtlcore.weighting``) and takes its options class
from here; the module named here is imported only when a model or a weighting is
built. To add a strategy or method: an entry here (with its options model), then its
module with the registered factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SHARING = "sharing strategy"
LOSS_WEIGHTING = "loss weighting"
GRADIENT_METHOD = "gradient method"

Width = Annotated[int, Field(ge=1, le=4096)]


class NoOptions(BaseModel):
    """For a strategy, method or dataset without options: any key given is an error."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    kind: str  # SHARING, LOSS_WEIGHTING or GRADIENT_METHOD
    title: str
    summary: str  # one plain paragraph: what it does, when it helps, its cost
    paper: str  # citation, or "" for the textbook baselines
    options_model: type[BaseModel]
    module: str  # imported (with torch) only to build it

    def options(self, raw: dict[str, Any] | None) -> BaseModel:
        return self.options_model.model_validate(raw or {})


def weight_lr_field() -> Any:
    """The ``weight_lr`` option of a method with learned loss weights (uncertainty,
    GradNorm): the learning rate of its own parameters, None for the model's.

    Chen et al. (2018, GradNorm) train the weights with a learning rate of their own;
    a higher one lets the learned σ_i or w_i reach their balance within a short run.
    """
    return Field(
        None,
        gt=0,
        le=10,
        description="learning rate of the learned loss weights (empty: the model's, "
        "train.lr); higher lets them settle within a short run",
    )


# ---- options of the sharing strategies ----


class SoftOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tie_lambda: float = Field(
        0.1,
        ge=0.0,
        allow_inf_nan=False,
        description="λ, the strength of the L2 tie between the towers' layers "
        "(0: independent towers; large: close to hard sharing)",
    )


class HierarchicalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    depths: dict[str, int] = Field(
        default_factory=dict,
        description="task name -> hidden layer its head reads (1 = the input layer, "
        "len(model.hidden) = the top); tasks left out attach at the top",
    )


class CrossStitchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alpha_self: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="initial weight of a tower on itself; the rest of its row is spread "
        "evenly over the other towers",
    )


class MMoEOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_experts: int = Field(4, ge=1, le=32, description="number of shared experts")
    expert_hidden: list[Width] | None = Field(
        None,
        min_length=1,
        max_length=8,
        description="widths of each expert's layers; default: model.hidden",
    )


class CGCOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_shared_experts: int = Field(2, ge=1, le=16, description="shared experts per level")
    n_task_experts: int = Field(1, ge=0, le=16, description="experts of each task, per level")
    expert_hidden: list[Width] | None = Field(
        None,
        min_length=1,
        max_length=8,
        description="widths of the expert layers, split among the levels; default: model.hidden",
    )


class PLEOptions(CGCOptions):
    n_levels: int = Field(2, ge=1, le=8, description="stacked extraction levels")


# ---- options of the weighting methods ----


class StaticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="task name -> loss weight (>= 0); tasks left out get 1.0",
    )


class UncertaintyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight_lr: float | None = weight_lr_field()


class DWAOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(
        2.0, gt=0, description="softmax temperature τ: larger = weights closer to equal"
    )


class GradNormOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alpha: float = Field(
        1.5,
        ge=0,
        description="strength of the pull towards equal training rates (0 = equal gradient norms)",
    )
    weight_lr: float | None = weight_lr_field()


class FAMOOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    w_lr: float = Field(0.025, gt=0, description="learning rate (Adam) of the task logits")
    gamma: float = Field(0.01, ge=0, description="weight decay of the task logits")


class MGDAOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epsilon: float = Field(
        0.001, gt=0, description="Frank-Wolfe stops when its step size falls below this"
    )
    max_iters: int = Field(100, ge=1, description="most Frank-Wolfe iterations per step")


class CAGradOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    c: float = Field(
        0.4, ge=0, description="radius of the ball around the mean gradient (0 = mean gradient)"
    )
    norm_eps: float = Field(1e-4, ge=0, description="guards the normalisation against zero")


class AlignedMTLOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pref_vector: dict[str, float] = Field(
        default_factory=dict,
        description="task name -> preference (>= 0) for combining the aligned gradients; "
        "tasks left out get 1.0",
    )
    scale_mode: Literal["min", "median", "rmse"] = Field(
        "min",
        description="eigenvalue that sets the aligned gradients' length: the smallest, "
        "the median or the mean (the original code's 'rmse')",
    )


class UPGradOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pref_vector: dict[str, float] = Field(
        default_factory=dict,
        description="task name -> preference (>= 0) for combining the projected gradients; "
        "tasks left out get 1.0",
    )
    norm_eps: float = Field(1e-4, ge=0, description="guards the Gramian's normalisation")
    reg_eps: float = Field(
        1e-4, ge=0, description="added to the Gramian's diagonal so the QP is well posed"
    )


class NashMTLOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_norm: float = Field(
        1.0, ge=0, description="clip the combined gradient's norm to this (0 = no clipping)"
    )
    update_weights_every: int = Field(
        1, ge=1, description="solve for new weights every this many steps (reuse in between)"
    )
    optim_niter: int = Field(20, ge=1, description="most convex-concave iterations per solve")


# ---- the entries ----

_STRATEGY_ENTRIES: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        "hard",
        SHARING,
        title="Hard sharing",
        summary=(
            "All tasks share one trunk of hidden layers; each task keeps only a small output "
            "head. The cheapest and most common form of multi-task learning: sharing acts as "
            "a regulariser and lets a task with few rows borrow structure learned from the "
            "others, but a task unlike the rest can be pulled off course (negative transfer)."
            " Costs no more than one single-task network."
        ),
        paper="Caruana, R. (1997). Multitask Learning. Machine Learning 28, 41-75.",
        options_model=NoOptions,
        module="mtlcore.models.hard",
    ),
    CatalogueEntry(
        "independent",
        SHARING,
        title="Independent (no sharing)",
        summary=(
            "Every task gets its own network of the same shape and nothing is shared. This is"
            " the single-task baseline every multi-task result is measured against: no "
            "transfer, good or bad. Costs as much as all single-task networks together."
        ),
        paper="",
        options_model=NoOptions,
        module="mtlcore.models.independent",
    ),
    CatalogueEntry(
        "soft",
        SHARING,
        title="Soft sharing",
        summary=(
            "Every task keeps its own network, and a penalty λ · Σ ||W_i - W_j||² pulls "
            "corresponding layers of different tasks towards each other instead of forcing "
            "them to be the same. The tasks borrow strength from one another as far as their "
            "data agree and may differ where it does not, so it suits related tasks of uneven"
            " size when hard sharing transfers too much; λ slides from independent networks "
            "(0) towards hard sharing (large). Costs one network per task plus the penalty."
        ),
        paper=(
            "Duong, L., Cohn, T., Bird, S., Cook, P. (2015). Low Resource Dependency Parsing:"
            " Cross-lingual Parameter Sharing in a Neural Network Parser. ACL 2015."
        ),
        options_model=SoftOptions,
        module="mtlcore.models.soft",
    ),
    CatalogueEntry(
        "hierarchical",
        SHARING,
        title="Hierarchical sharing",
        summary=(
            "One shared stack of hidden layers, like hard sharing, but each task's head reads"
            " the layer you choose: simple, low-level tasks near the input, harder tasks that"
            " build on them higher up. The low tasks shape the early features and are "
            "shielded from the upper layers, which only the higher tasks train. Helps when "
            "tasks form a hierarchy (a simple task is a step towards a harder one). Costs no "
            "more than hard sharing."
        ),
        paper=(
            "Søgaard, A., Goldberg, Y. (2016). Deep multi-task learning with low level tasks "
            "supervised at lower layers. ACL 2016. Hashimoto, K., Xiong, C., Tsuruoka, Y., "
            "Socher, R. (2017). A Joint Many-Task Model: Growing a Neural Network for "
            "Multiple NLP Tasks. EMNLP 2017."
        ),
        options_model=HierarchicalOptions,
        module="mtlcore.models.hierarchical",
    ),
    CatalogueEntry(
        "cross_stitch",
        SHARING,
        title="Cross-stitch",
        summary=(
            "Every task has its own network, and after each hidden layer a small learned "
            "matrix α mixes the tasks' activations, so each task continues from a blend of "
            "all tasks' features. α starts near the identity (almost independent) and "
            "training decides, layer by layer, how much the tasks share; the learned α shows "
            "it. Helps when the right amount of sharing is unknown or differs by depth. Costs"
            " one network per task, and each runs on every task's rows: about tasks-squared "
            "times one single-task network per step."
        ),
        paper=(
            "Misra, I., Shrivastava, A., Gupta, A., Hebert, M. (2016). Cross-stitch Networks "
            "for Multi-task Learning. CVPR 2016."
        ),
        options_model=CrossStitchOptions,
        module="mtlcore.models.cross_stitch",
    ),
    CatalogueEntry(
        "mmoe",
        SHARING,
        title="Multi-gate mixture of experts (MMoE)",
        summary=(
            "Several shared expert networks, and for each task a small gate that looks at the"
            " task's input and picks a softmax mixture of the experts for the task's head. "
            "Tasks that want the same features gate to the same experts, tasks that conflict "
            "can drift to different ones, so it helps when some tasks are only loosely "
            "related and hard sharing would force them into one representation. The gate "
            "weights show which experts each task uses. Costs about n_experts times the "
            "shared network of hard sharing, plus one gate per task."
        ),
        paper=(
            "Ma, J., Zhao, Z., Yi, X., Chen, J., Hong, L., Chi, E. H. (2018). Modeling Task "
            "Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts. KDD "
            "2018."
        ),
        options_model=MMoEOptions,
        module="mtlcore.models.mmoe",
    ),
    CatalogueEntry(
        "ple",
        SHARING,
        title="Progressive layered extraction (PLE)",
        summary=(
            "Stacks several levels of experts: at each level every task has its own experts "
            "besides the shared ones, each task's gate mixes its own and the shared experts, "
            "and on the lower levels a shared gate mixes all experts into what the next "
            "level's shared experts read. Task-specific knowledge is extracted step by step "
            "while the shared part still learns from every task, which guards against the "
            "seesaw where one task improves only as another gets worse. Costs the most of the"
            " gated strategies: (tasks x task experts + shared experts) networks per level, "
            "one layer deep each by default, plus a gate per task and level."
        ),
        paper=(
            "Tang, H., Liu, J., Zhao, M., Gong, X. (2020). Progressive Layered Extraction "
            "(PLE): A Novel Multi-Task Learning (MTL) Model for Personalized Recommendations."
            " RecSys 2020."
        ),
        options_model=PLEOptions,
        module="mtlcore.models.ple",
    ),
    CatalogueEntry(
        "cgc",
        SHARING,
        title="Customized gate control (CGC)",
        summary=(
            "Like MMoE, each task has a gate that mixes experts for its head, but besides the"
            " shared experts every task also gets experts of its own that only it uses. "
            "Shared experts carry what the tasks have in common and task experts keep what "
            "would conflict apart, so it helps when tasks are related but hard sharing or "
            "MMoE let one task improve at another's expense. Costs (shared experts + tasks x "
            "task experts) networks the size of hard sharing's shared part, plus one gate per"
            " task."
        ),
        paper=(
            "Tang, H., Liu, J., Zhao, M., Gong, X. (2020). Progressive Layered Extraction "
            "(PLE): A Novel Multi-Task Learning (MTL) Model for Personalized Recommendations."
            " RecSys 2020."
        ),
        options_model=CGCOptions,
        module="mtlcore.models.cgc",
    ),
)
_METHOD_ENTRIES: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        "equal",
        LOSS_WEIGHTING,
        title="Equal weights",
        summary=(
            "Adds the task losses as they are: Σ L_i. The baseline of every weighting study; "
            "works when the losses have similar scales, and lets a task with a larger loss "
            "(or larger units) dominate when they do not. No extra cost."
        ),
        paper="",
        options_model=NoOptions,
        module="mtlcore.weighting.static",
    ),
    CatalogueEntry(
        "static",
        LOSS_WEIGHTING,
        title="Static weights (your own)",
        summary=(
            "Multiplies each task loss by a weight you choose: Σ w_i L_i. Lets you say which "
            "task matters more, or undo a scale difference between losses by hand; finding "
            "good weights by search is what the learned methods try to avoid. No extra cost."
        ),
        paper="",
        options_model=StaticOptions,
        module="mtlcore.weighting.static",
    ),
    CatalogueEntry(
        "uncertainty",
        LOSS_WEIGHTING,
        title="Uncertainty weighting",
        summary=(
            "Learns a noise level σ_i per task alongside the model and divides each loss by "
            "it (plus a log σ_i term so σ cannot grow without bound). Noisy or large-scale "
            "tasks get smaller weights automatically, which removes a manual weight search "
            "when losses have different units. Costs one extra parameter per task."
        ),
        paper=(
            "Kendall, A., Gal, Y. & Cipolla, R. (2018). Multi-Task Learning Using Uncertainty"
            " to Weigh Losses for Scene Geometry and Semantics. CVPR."
        ),
        options_model=UncertaintyOptions,
        module="mtlcore.weighting.uncertainty",
    ),
    CatalogueEntry(
        "dwa",
        LOSS_WEIGHTING,
        title="Dynamic Weight Average (DWA)",
        summary=(
            "After each epoch, compares every task's training loss with the epoch before and "
            "gives more weight next epoch to the tasks whose loss fell the least, so a task "
            "that stalls is pushed and one that is learning fast is left alone. Needs no "
            "gradients, only the loss history, so it costs nothing per step; it reacts once "
            "per epoch and does not correct for losses on different scales."
        ),
        paper=(
            "Liu, S., Johns, E. & Davison, A. J. (2019). End-to-End Multi-Task Learning with "
            "Attention. CVPR."
        ),
        options_model=DWAOptions,
        module="mtlcore.weighting.dwa",
    ),
    CatalogueEntry(
        "gradnorm",
        LOSS_WEIGHTING,
        title="GradNorm",
        summary=(
            "Learns the loss weights alongside the model so that every task's weighted "
            "gradient on the last shared layer has a size that matches how fast the task is "
            "learning: a task whose loss falls slower than the others' gets a larger weight, "
            "α setting how strongly. Helps when tasks learn at very different speeds or have "
            "losses on different scales. Costs one extra partial backward pass per task (to "
            "the last shared layer) per step; the weights sum to the number of tasks."
        ),
        paper=(
            "Chen, Z., Badrinarayanan, V., Lee, C.-Y. & Rabinovich, A. (2018). GradNorm: "
            "Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks. "
            "ICML."
        ),
        options_model=GradNormOptions,
        module="mtlcore.weighting.gradnorm",
    ),
    CatalogueEntry(
        "rlw",
        LOSS_WEIGHTING,
        title="Random loss weighting (RLW)",
        summary=(
            "Draws new random loss weights at every step (a softmax of normal samples, so "
            "they are positive and sum to the number of tasks). A litmus test: many elaborate"
            " methods do no better than this, and the randomness can help the model leave a "
            "point where the tasks are stuck. No extra cost."
        ),
        paper=(
            "Lin, B., Ye, F., Zhang, Y. & Tsang, I. W. (2021). Reasonable Effectiveness of "
            "Random Weighting: A Litmus Test for Multi-Task Learning. arXiv:2111.10603 (TMLR "
            "2022)."
        ),
        options_model=NoOptions,
        module="mtlcore.weighting.rlw",
    ),
    CatalogueEntry(
        "famo",
        LOSS_WEIGHTING,
        title="FAMO (fast adaptive)",
        summary=(
            "Weights the losses so that every task's loss falls by about the same fraction "
            "each step, and keeps learning from what actually happened: a task whose loss "
            "fell less than the others' gets more priority next step. Gets much of the "
            "balance of the gradient methods (conflicts, losses on different scales) from the"
            " losses alone, so it costs almost nothing per step."
        ),
        paper=(
            "Liu, B., Feng, Y., Stone, P. & Liu, Q. (2023). FAMO: Fast Adaptive Multitask "
            "Optimization. NeurIPS."
        ),
        options_model=FAMOOptions,
        module="mtlcore.weighting.famo",
    ),
    CatalogueEntry(
        "pcgrad",
        GRADIENT_METHOD,
        title="PCGrad (gradient surgery)",
        summary=(
            "Where two tasks' gradients on the shared layers point against each other, "
            "removes from each the part that conflicts with the other (projects it onto the "
            "other's normal plane), then adds them up. Helps when one task's update keeps "
            "undoing another's; without conflict it is the plain sum. Costs one backward pass"
            " per task and a T×T Gramian per step."
        ),
        paper=(
            "Yu, T., Kumar, S., Gupta, A., Levine, S., Hausman, K. & Finn, C. (2020). "
            "Gradient Surgery for Multi-Task Learning. NeurIPS."
        ),
        options_model=NoOptions,
        module="mtlcore.weighting.pcgrad",
    ),
    CatalogueEntry(
        "mgda",
        GRADIENT_METHOD,
        title="MGDA (min-norm gradient)",
        summary=(
            "Treats the tasks as objectives to improve together: finds the convex combination"
            " of the task gradients with the smallest norm and steps along it, a direction "
            "that lowers every task's loss at once. Helps when no task should be sacrificed, "
            "but favours the task with the smallest gradient and can stall early (the "
            "direction shrinks to zero near a trade-off point). Costs one backward pass per "
            "task plus a small iterative solve per step."
        ),
        paper=(
            "Sener, O. & Koltun, V. (2018). Multi-Task Learning as Multi-Objective "
            "Optimization. NeurIPS. (MGDA: Désidéri, J.-A. (2012), C. R. Math. 350.)"
        ),
        options_model=MGDAOptions,
        module="mtlcore.weighting.mgda",
    ),
    CatalogueEntry(
        "cagrad",
        GRADIENT_METHOD,
        title="CAGrad (conflict-averse)",
        summary=(
            "Starts from the average of the task gradients and moves it, within a ball whose "
            "size c you choose, towards the direction that most improves the task doing "
            "worst. Helps when tasks conflict but you still want to make progress on the "
            "average loss; c = 0 is the plain average, large c behaves like MGDA. Costs one "
            "backward pass per task and a small convex solve (cvxpy) per step; with two tasks"
            " that solve has a closed form and costs next to nothing."
        ),
        paper=(
            "Liu, B., Liu, X., Jin, X., Stone, P. & Liu, Q. (2021). Conflict-Averse Gradient "
            "Descent for Multi-task Learning. NeurIPS."
        ),
        options_model=CAGradOptions,
        module="mtlcore.weighting.cagrad",
    ),
    CatalogueEntry(
        "imtl_g",
        GRADIENT_METHOD,
        title="IMTL-G (impartial gradients)",
        summary=(
            "Chooses the combination of the task gradients whose projection onto every task's"
            " gradient direction is the same, so each task is pushed equally hard whatever "
            "the size of its gradient. Helps when one task's gradient is much larger than the"
            " others' and would otherwise dominate the shared layers. Costs one backward pass"
            " per task and a T×T pseudo-inverse per step."
        ),
        paper=(
            "Liu, L., Li, Y., Kuang, Z., Xue, J.-H., Chen, Y., Yang, W., Liao, Q. & Zhang, W."
            " (2021). Towards Impartial Multi-task Learning. ICLR."
        ),
        options_model=NoOptions,
        module="mtlcore.weighting.imtl_g",
    ),
    CatalogueEntry(
        "aligned_mtl",
        GRADIENT_METHOD,
        title="Aligned-MTL",
        summary=(
            "Rotates and rescales the task gradients on the shared layers until they are at "
            "right angles and of equal length, then adds them up. Conflicts and differences "
            "in gradient size both disappear from the update, which helps when a few tasks "
            "dominate or cancel each other. Costs one backward pass per task and a T×T eigen-"
            "decomposition per step."
        ),
        paper=(
            "Senushkin, D., Patakin, N., Kuznetsov, A. & Konushin, A. (2023). Independent "
            "Component Alignment for Multi-Task Learning. CVPR."
        ),
        options_model=AlignedMTLOptions,
        module="mtlcore.weighting.aligned_mtl",
    ),
    CatalogueEntry(
        "upgrad",
        GRADIENT_METHOD,
        title="UPGrad (Jacobian descent)",
        summary=(
            "Projects each task's gradient so that it no longer conflicts with any other "
            "task's, then averages the projections. The step never makes any task worse (to "
            "first order) and is the plain average when tasks agree, so it is a safe default "
            "when tasks conflict. Costs one backward pass per task and T small quadratic "
            "programs (quadprog) per step."
        ),
        paper=(
            "Quinton, P. & Rey, V. (2024). Jacobian Descent for Multi-Objective Optimization."
            " arXiv:2406.16232."
        ),
        options_model=UPGradOptions,
        module="mtlcore.weighting.upgrad",
    ),
    CatalogueEntry(
        "nash_mtl",
        GRADIENT_METHOD,
        title="Nash-MTL (bargaining)",
        summary=(
            "Lets the tasks bargain over the shared update: finds the weights of the Nash "
            "bargaining solution, in which no task can gain without another losing more, and "
            "clips the combined step to a maximum norm. Helps when tasks conflict and differ "
            "in gradient size, and is scale invariant. The most expensive method here: one "
            "backward pass per task plus a sequence of convex solves (cvxpy, ECOS) per step "
            "(with two tasks, a closed form instead); update_weights_every trades accuracy "
            "for speed."
        ),
        paper=(
            "Navon, A., Shamsian, A., Achituve, I., Maron, H., Kawaguchi, K., Chechik, G. & "
            "Fetaya, E. (2022). Multi-Task Learning as a Bargaining Game. ICML."
        ),
        options_model=NashMTLOptions,
        module="mtlcore.weighting.nash_mtl",
    ),
)


STRATEGIES: dict[str, CatalogueEntry] = {e.name: e for e in _STRATEGY_ENTRIES}
"""The sharing strategies, in menu order."""

METHODS: dict[str, CatalogueEntry] = {e.name: e for e in _METHOD_ENTRIES}
"""The weighting methods, in menu order: fixed weights, loss weighting, gradient methods."""

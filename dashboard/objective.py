"""The joint objective as LaTeX, with the user's task names and values plugged in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str, limit: int = 24) -> str:
    """User text safe inside ``\\text{...}`` (long names are shortened)."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def objective_latex(
    tasks: Sequence[str],
    *,
    weights: Mapping[str, float] | None,
    method_title: str,
    gradient_method: bool,
    regularization: str,
    reg_lambda: float,
    terms_per_line: int = 2,
) -> str:
    """The joint objective Σ w_i L_i + λR(θ) with the user's values plugged in.

    ``weights`` are fixed weights (equal or static); ``None`` means the method sets
    them during training, shown as w_i(t). An ``aligned`` block of ``terms_per_line``
    terms per line; a gradient method's name on the last line.
    """
    terms = []
    for i, name in enumerate(tasks, start=1):
        loss = rf"L_{{\text{{{latex_escape(name)}}}}}"
        if weights is None:
            terms.append(rf"w_{{{i}}}(t)\,{loss}")
        else:
            terms.append(rf"{_num(weights.get(name, 1.0))}\cdot {loss}")
    if regularization != "none" and reg_lambda > 0:
        norm = r"\lVert\theta\rVert_1" if regularization == "l1" else r"\lVert\theta\rVert_2^2"
        terms.append(rf"{_num(reg_lambda)}\,{norm}")
    # KaTeX never wraps a formula and a page column clips it: a few terms per line, and the
    # gradient method's note on a line of its own, keep it whole in a narrow column.
    rows = [terms[i : i + terms_per_line] for i in range(0, len(terms), terms_per_line)]
    lines = [" + ".join(r) for r in rows] or [r"\dots"]
    text = rf"\min_{{\theta}} \; & {lines[0]}" + "".join(rf" \\ & + {ln}" for ln in lines[1:])
    if gradient_method:  # the name without its gloss: "PCGrad (gradient surgery)" -> PCGrad
        name = latex_escape(method_title.split(" (")[0], 40)
        text += rf" \\ & \text{{(gradients combined by {name})}}"
    return rf"\begin{{aligned}} {text} \end{{aligned}}"


def is_gradient_method(method: str) -> bool:
    """Whether a weighting method combines gradients (PCGrad, MGDA, ...) rather than losses."""
    from mtlcore.catalogue import GRADIENT_METHOD, METHODS

    return METHODS[method].kind == GRADIENT_METHOD


def _num(x: float) -> str:
    s = f"{x:.3g}"
    if "e" in s:
        mant, exp = s.split("e")
        return rf"{mant}\times 10^{{{int(exp)}}}"
    return s

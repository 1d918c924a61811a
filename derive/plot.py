"""`derive plot`: each loss against the prediction (or the residual) and its gradient, side by side.

Location losses (those that depend on the observation y and the prediction θ only through y − θ:
MSE, MAE, Huber, Cauchy, Student-t, log-cosh, pinball) share one pair of axes drawn against the
residual, so robust losses can be compared at a glance; every other loss gets its own row, drawn
against its learned parameter at a few observed values (y = 0 and y = 1 for a binary label).
Fixed parameters take the reference value of their domain (1 for a positive scale).  matplotlib is
an optional extra: ``pip install 'derive-losses[plot]'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy as sp

from .errors import UserError
from .functions import elementary

#: Formats `derive plot -o` writes, by file suffix.
FORMATS = (".png", ".pdf", ".svg")

#: The x-range drawn for a parameter (or residual) of each constraint.
RANGES = {
    "real": (-4.0, 4.0),
    "positive": (0.05, 5.0),
    "unit_interval": (0.005, 0.995),
}

#: The observed values at which a non-location loss is drawn.
OBSERVED_VALUES = {
    "binary": (0.0, 1.0),
    "count": (0.0, 3.0),
    "positive": (1.0,),
    "unit_interval": (0.3,),
    "real": (0.0,),
}


@dataclass
class Curve:
    """One loss and its gradient along x, ready to draw."""

    name: str
    label: str
    x: np.ndarray
    loss: np.ndarray
    gradient: np.ndarray


@dataclass
class Panel:
    """One row of the figure: an x-axis and the curves drawn against it."""

    xlabel: str
    gradient_label: str
    curves: list


def _math(expr) -> str:
    """A matplotlib mathtext label from the one LaTeX printer."""
    from .latex import tex

    return f"${tex(expr)}$"


def _functions(d):
    """loss(y, θ) and ∂loss/∂θ as numpy functions of (y, θ); θ is the first learned output,
    other learned outputs and fixed parameters sit at their domain's reference value."""
    if any(isinstance(s, sp.IndexedBase) for s in (d.observed, *d.learned, *d.fixed)):
        raise UserError(
            f"cannot plot {d.name}: it has a vector (class-axis) variable; "
            "plots are for scalar predictions"
        )
    theta = d.learned[0]
    held = {s: d.variables[s].domain.reference for s in (*d.learned[1:], *d.fixed)}
    loss = d.loss.subs(held)
    gradient = sp.diff(d.loss, theta).subs(held)
    args = (d.observed, theta)
    to_numpy = [{"besseli": "scipy.special.iv"}, "numpy", "scipy"]
    f = sp.lambdify(args, elementary(loss), modules=to_numpy)
    g = sp.lambdify(args, elementary(gradient), modules=to_numpy)

    def vectorised(fn):
        return lambda y, t: np.broadcast_to(np.asarray(fn(y, t), dtype=float), np.shape(t))

    return theta, vectorised(f), vectorised(g)


def _is_location(d, loss, rng) -> bool:
    """True when loss(y + c, θ + c) = loss(y, θ) at random points: a function of y − θ."""
    if {d.variables[s].constraint for s in (d.observed, d.learned[0])} != {"real"}:
        return False
    y, t, c = rng.uniform(-2, 2, (3, 5))
    with np.errstate(all="ignore"):
        a, b = loss(y, t), loss(y + c, t + c)
    return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=1e-9, atol=1e-12))


def panels(derivations, points: int = 401) -> list[Panel]:
    """The rows of the figure: the location losses together against the residual, then one row
    per other loss against its learned parameter."""
    rng = np.random.default_rng(0)
    location, rows = [], []
    for d in derivations:
        theta, loss, gradient = _functions(d)
        title = d.standard.title if d.standard is not None else d.dist.title
        if _is_location(d, loss, rng):
            r = np.linspace(*RANGES["real"], points)
            # at y = 0 the prediction is θ = −r, and ∂L/∂r = −∂L/∂θ (the influence function)
            curve = Curve(d.name, f"{d.name}: {title}", r, loss(0.0, -r), -gradient(0.0, -r))
            location.append((d, theta, curve))
            continue
        var = d.variables[theta]
        lo, hi = RANGES.get(var.constraint, RANGES["real"])
        x = np.linspace(lo, hi, points)
        observed = d.variables[d.observed].constraint
        curves = []
        for value in OBSERVED_VALUES.get(observed, (0.0,)):
            with np.errstate(all="ignore"):
                curves.append(
                    Curve(
                        d.name,
                        f"{_math(d.observed)[:-1]} = {value:g}$",
                        x,
                        loss(value, x),
                        gradient(value, x),
                    )
                )
        rows.append(
            Panel(
                f"{_math(theta)}  ({d.name}: {title})",
                _gradient_label(theta),
                curves,
            )
        )
    if location:
        d, theta, _ = location[0]
        residual = "$r = " + _math(d.observed)[1:-1] + " - " + _math(theta)[1:]
        rows.insert(
            0,
            Panel(
                f"residual {residual}",
                _gradient_label(sp.Symbol("r")),
                [c for _, _, c in location],
            ),
        )
    return rows


def _gradient_label(theta) -> str:
    return r"$\partial \mathcal{L} / \partial " + _math(theta)[1:]


def figure(derivations):
    """The matplotlib figure: loss on the left, gradient on the right, a row per panel."""
    plt = _pyplot()
    rows = panels(derivations)
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 3.4 * len(rows)), squeeze=False)
    for (left, right), panel in zip(axes, rows, strict=True):
        for curve in panel.curves:
            (line,) = left.plot(curve.x, curve.loss, label=curve.label)
            right.plot(curve.x, curve.gradient, color=line.get_color())
        left.set_title("loss")
        right.set_title("gradient " + panel.gradient_label)
        for ax in (left, right):
            ax.set_xlabel(panel.xlabel)
            ax.axhline(0, color="0.8", linewidth=0.8, zorder=0)
            ax.grid(True, alpha=0.3)
        left.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError(
            "derive plot needs matplotlib, an optional extra: pip install 'derive-losses[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image(fig, path: str) -> bytes:
    """The figure as the bytes of the format ``path``'s suffix names (png, pdf or svg)."""
    import io

    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"cannot write {path}: give a file ending in {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix[1:], dpi=150)
    return buffer.getvalue()

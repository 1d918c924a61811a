"""`derive plot`: each loss against the prediction (or the residual) and its gradient, side by side.

Location losses (those that depend on the observation y and the prediction θ only through y − θ:
MSE, MAE, Huber, Cauchy, Student-t, log-cosh, pinball) share one pair of axes drawn against the
residual, so robust losses can be compared at a glance; every other loss gets its own row, drawn
against its learned parameter at a few observed values (y = 0 and y = 1 for a binary label).
Fixed parameters take the reference value of their domain (1 for a positive scale) unless a value
is set (`--set nu=5`: every plotted entry with that parameter uses it, and its label says so).
Curves differ in line style as well as colour, and a loss that dwarfs the others (the MSE
beside robust losses) is cut at the top of the axes rather than flattening them.  matplotlib is
an optional extra: ``pip install 'derive-losses[plot]'``.
"""

from __future__ import annotations

import math
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


def _held(d, values) -> dict:
    """The value of each learned output but the first, and of each fixed parameter: the one
    set in ``values`` (by name), else its domain's reference value."""
    held = {}
    for s in (*d.learned[1:], *d.fixed):
        var = d.variables[s]
        held[s] = sp.Float(values[var.name]) if var.name in values else var.domain.reference
    return held


def check_values(derivations, values) -> None:
    """Every name in ``values`` is a parameter some plotted entry holds fixed, and each value lies
    in that parameter's domain; else one UserError naming the culprit."""
    for name, value in values.items():
        found = [
            (d, d.variables[s])
            for d in derivations
            for s in (*d.learned, *d.fixed)
            if d.variables[s].name == name
        ]
        if not found:
            held = sorted(
                {d.variables[s].name for d in derivations for s in (*d.learned, *d.fixed)}
            )
            raise UserError(
                f"--set {name}: no plotted entry has a parameter {name!r} "
                f"(their parameters: {', '.join(held) or 'none'})"
            )
        for d, var in found:
            if d.variables[d.learned[0]] is var:
                raise UserError(f"--set {name}: {name} is on the x-axis of {d.name}'s plot")
            if not _in_domain(value, var.domain):
                raise UserError(
                    f"--set {name}={value:g}: {name} of {d.name} must be {var.domain.text}"
                )


def _in_domain(value: float, domain) -> bool:
    if not math.isfinite(value):
        return False
    rules = domain.assumptions
    lo, hi = (float(b) if b.is_number else None for b in map(sp.sympify, domain.support))
    ok = not (rules.get("integer") and not float(value).is_integer())
    closed = domain.discrete or rules.get("nonnegative")
    if lo is not None and math.isfinite(lo):
        ok = ok and (value >= lo if closed else value > lo)
    if hi is not None and math.isfinite(hi):
        ok = ok and (value <= hi if domain.discrete else value < hi)
    return ok


def _functions(d, values=None):
    """loss(y, θ) and ∂loss/∂θ as numpy functions of (y, θ); θ is the first learned output,
    other learned outputs and fixed parameters sit at their set value (``values``, by name) or
    their domain's reference value."""
    if any(isinstance(s, sp.IndexedBase) for s in (d.observed, *d.learned, *d.fixed)):
        raise UserError(
            f"cannot plot {d.name}: it has a vector (class-axis) variable; "
            "plots are for scalar predictions"
        )
    theta = d.learned[0]
    held = _held(d, values or {})
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


def _settings(d, values) -> str:
    """ " (ν = 5)" for the parameters of ``d`` that ``values`` sets, in mathtext."""
    shown = [
        f"{_math(s)[:-1]} = {values[d.variables[s].name]:g}$"
        for s in (*d.learned[1:], *d.fixed)
        if d.variables[s].name in values
    ]
    return f" ({', '.join(shown)})" if shown else ""


def panels(derivations, points: int = 401, values=None) -> list[Panel]:
    """The rows of the figure: the location losses together against the residual, then one row
    per other loss against its learned parameter.  ``values`` sets parameters by name."""
    values = dict(values or {})
    check_values(derivations, values)
    rng = np.random.default_rng(0)
    location, rows = [], []
    for d in derivations:
        theta, loss, gradient = _functions(d, values)
        title = d.standard.title if d.standard is not None else d.dist.title
        title += _settings(d, values)
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


#: Line styles cycled with the colours, so that curves that coincide on a stretch stay apart.
STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))


def _cut(extremes):
    """The highest of ``extremes`` when it is at most 2.5 times the next (or not positive), else
    1.6 times the next: one curve that dwarfs the others is cut, the rest stay readable."""
    extremes = sorted(extremes)
    if extremes[-1] <= 0 or extremes[-2] <= 0 or extremes[-1] <= 2.5 * extremes[-2]:
        return extremes[-1]
    return 1.6 * extremes[-2]


def _ylim(arrays):
    """(bottom, top) that shows every curve (see :func:`_cut`, applied at both ends), or None
    where the automatic limits do."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if len(finite) < 2:
        return None
    top, bottom = _cut([a.max() for a in finite]), -_cut([-a.min() for a in finite])
    if top == max(a.max() for a in finite) and bottom == min(a.min() for a in finite):
        return None
    pad = 0.05 * (top - bottom)
    return (float(bottom - pad), float(top + pad))


def figure(derivations, values=None):
    """The matplotlib figure: loss on the left, gradient on the right, a row per panel."""
    plt = _pyplot()
    rows = panels(derivations, values=values)
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 3.4 * len(rows)), squeeze=False)
    for (left, right), panel in zip(axes, rows, strict=True):
        for number, curve in enumerate(panel.curves):
            style = STYLES[number % len(STYLES)]
            (line,) = left.plot(curve.x, curve.loss, label=curve.label, linestyle=style)
            right.plot(curve.x, curve.gradient, color=line.get_color(), linestyle=style)
        for ax, key in ((left, "loss"), (right, "gradient")):
            limits = _ylim([getattr(c, key) for c in panel.curves])
            if limits is not None:
                ax.set_ylim(*limits)
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

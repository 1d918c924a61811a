"""Reference values for `derive code --tests`: the derived formulas evaluated by mpmath.

The values come from the derivation's own expressions (not from the emitted code): ``loss`` and
``nll`` at 40 significant digits, and the derivatives by SymPy on the loss with the class sums
written out for the given number of classes, so no code-generation step is involved.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..numeric import bind, evaluate
from ..spec import N_CLASSES
from .rewrite import elementary

DPS = 40


def points(d, args, count: int = 4, classes: int = 3, seed: int = 20261130):
    """``count`` points drawn from the declared constraints: a list of {argument name: value}."""
    rng = np.random.default_rng(seed)
    observed = [a.name for a in args if a.role == "observed"]
    out = []
    for i in range(count):
        point = {}
        for a in args:
            value = a.var.draw(rng, classes)
            point[a.name] = [float(v) for v in value] if a.vector else value
        if len(observed) > 1:  # bounds (censored): ordered, and equal (exact) at the first point
            ordered = sorted(point[name] for name in observed)
            point.update(
                zip(observed, [ordered[0]] * len(observed) if i == 0 else ordered, strict=True)
            )
        out.append(point)
    return out


def _by_symbol(args, point):
    return {a.symbol: point[a.name] for a in args}


def value(expr, args, point) -> float:
    return float(evaluate(expr, _by_symbol(args, point), DPS))


def derivatives(d, args, point) -> tuple[list, list]:
    """(gradient, hessian diagonal) of the loss at ``point``, one entry per learned argument
    (a list over classes for a vector)."""
    values = _by_symbol(args, point)
    lengths = {len(v) for v in values.values() if isinstance(v, list)}
    expr = elementary(d.loss)
    if lengths:
        expr = expr.subs(N_CLASSES, lengths.pop()).doit()
    grads, hessians = [], []
    for a in args:
        if a.role != "learned":
            continue
        others = {s: v for s, v in values.items() if s != a.symbol}
        bound = bind(expr, others, DPS)
        own = values[a.symbol]
        if a.vector:
            components = [a.symbol[i + 1] for i in range(len(own))]
            at = {c: sp.Float(v, DPS) for c, v in zip(components, own, strict=True)}
        else:
            components = [a.symbol]
            at = {a.symbol: sp.Float(own, DPS)}
        g = [sp.diff(bound, c) for c in components]
        h = [sp.diff(gc, c) for gc, c in zip(g, components, strict=True)]
        g = [float(e.xreplace(at).evalf(DPS)) for e in g]
        h = [float(e.xreplace(at).evalf(DPS)) for e in h]
        grads.append(g if a.vector else g[0])
        hessians.append(h if a.vector else h[0])
    return grads, hessians

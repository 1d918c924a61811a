"""High-precision evaluation of derived expressions (mpmath through SymPy's evalf).

Used as the second, numeric witness of symbolic claims and by tests as the derived formula's value.
Vector variables take sequences; their length fixes the number of classes K.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from .functions import elementary
from .spec import N_CLASSES


def _number(value, symbol, dps):
    if symbol.is_integer and float(value).is_integer():
        return sp.Integer(int(value))
    return sp.Float(float(value), dps)


def bind(expr, values: Mapping[sp.Basic, object], dps: int = 40):
    """Substitute numbers for symbols (and sequences for ``IndexedBase``), expanding class sums."""
    lengths = {len(v) for s, v in values.items() if isinstance(s, sp.IndexedBase)}
    if len(lengths) > 1:
        raise ValueError(f"vector arguments disagree on the number of classes: {sorted(lengths)}")
    expr = sp.sympify(expr)
    if lengths:
        expr = expr.subs(N_CLASSES, lengths.pop()).doit()
    scalars, components = {}, {}
    for symbol, value in values.items():
        if isinstance(symbol, sp.IndexedBase):
            for i, v in enumerate(np.ravel(value), start=1):
                components[symbol[i]] = _number(v, symbol, dps)
        else:
            scalars[symbol] = _number(value, symbol, dps)
    # a sum whose limits are data (the ordinal cutpoint c_y = Σ_{j ≤ y} …) has numeric limits
    # once the scalars are in: expand it (in elementary form, so that a Min of its terms stays
    # comparable) before the components are substituted
    expr = expr.xreplace(scalars).replace(
        lambda e: isinstance(e, sp.Sum) and all(b.is_Integer for _, *ab in e.limits for b in ab),
        lambda e: elementary(e.doit()),
    )
    # the values first, then the elementary forms: xlogy(0, 0) is 0, 0·log 0 would be nan
    return elementary(expr.xreplace(components))


def evaluate(expr, values: Mapping[sp.Basic, object], dps: int = 40) -> sp.Float:
    """The value of ``expr`` at ``values`` with ``dps`` significant digits."""
    out = bind(expr, values, dps).evalf(dps)
    if out.free_symbols:
        names = ", ".join(sorted(map(str, out.free_symbols)))
        raise ValueError(f"no value given for {names}")
    return out

"""How a derivation is written in LaTeX (:class:`Notation`: logarithms, symbol names, line
width, numbering) and the declared density in its paper form (:func:`display_density`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

from ..errors import UserError, shown
from .printer import COLUMNS, PT_PER_UNIT

#: The fraction of the line width beyond which a left-hand side gets a row of its own.
WIDE = 0.3

#: The equations that carry a number and a label under ``number="key"``: the density, the
#: negative log-likelihood, the loss and the relation NLL = a·loss + C (and, for a loss that is
#: not a likelihood, its definition, its normaliser, its bound and the values that witness a
#: normaliser depending on the parameters).
KEY_EQUATIONS = ("density", "nll", "loss", "relation", "definition", "normaliser", "bound")

NUMBERING = ("key", "all", "none")


@dataclass(frozen=True)
class Notation:
    """How a derivation is written: ``\\ln`` or ``\\log``, symbol names by variable name
    (``{"mu": r"\\hat{y}"}``), the line width in points (``columns``: the page layout of the
    standalone document, one column or ``twocolumn``) and which equations are numbered
    (``number``: ``key`` — :data:`KEY_EQUATIONS` —, ``all`` or ``none``)."""

    ln: bool = False
    names: Mapping[str, str] = field(default_factory=dict)
    width: float = COLUMNS[1]
    columns: int = 1
    number: str = "key"

    def __post_init__(self):
        if self.number not in NUMBERING:
            raise UserError(f"numbering {self.number!r}: choose one of {', '.join(NUMBERING)}")
        if not (50 <= self.width <= 2000):
            raise UserError(f"line width {self.width:g} pt: give a width from 50 to 2000 pt")

    @classmethod
    def preset(cls, columns: int | None = None, width: float | None = None, **kw) -> Notation:
        """The notation for a column preset (1: one column of a standard article; 2: a column
        of a two-column article) or an explicit line width in points (one column)."""
        if columns is not None and width is not None:
            raise UserError("give --columns or --width, not both")
        if width is not None:
            return cls(width=width, columns=1, **kw)
        columns = columns or 1
        if columns not in COLUMNS:
            raise UserError(f"--columns {columns}: choose 1 or 2")
        return cls(width=COLUMNS[columns], columns=columns, **kw)

    @property
    def units(self) -> float:
        """The line width in the printer's units (see derive.latex.printer.PT_PER_UNIT)."""
        return self.width / PT_PER_UNIT

    def numbered(self, kind: str) -> bool:
        """Whether the equation of a step of this kind carries a number and a label."""
        return self.number == "all" or (self.number == "key" and kind in KEY_EQUATIONS)

    def check(self, variables, where: str) -> None:
        """Refuse, in one line, a symbol name for a variable none of ``variables`` (spec.Var,
        of the entries ``where`` names) is called: the one check of `derive latex --symbol`
        and `derive new --symbol`."""
        known = list(dict.fromkeys(v.name for v in variables))
        for name in self.names:
            if name not in known:
                raise UserError(
                    f"--symbol {shown(name)}: no such variable in {where[:80]}; "
                    f"the variables are {', '.join(known)[:200]}"
                )

    def settings(self, d) -> dict:
        dist = d.dist
        sample = _sample(d)
        declared = tuple(dist.sym(v) for v in dist.params)
        return {
            "ln_notation": self.ln,
            "names": dict(self.names),
            "density": None,
            "observed": (d.observed, sample),
            "learned": tuple(dict.fromkeys((*d.learned, *declared))),
        }


def _sample(d, y=None):
    """The symbol of the i-th observation (y_i) as the recorded likelihood step uses it; with
    ``y``, that of another observed variable (a censored density's y_upper: y_upper_i)."""
    y = d.observed if y is None else y
    name = f"{y.name if isinstance(y, sp.Symbol) else y.label.name}_i"
    for step in d.steps:
        if step.kind == "likelihood":
            for node in sp.preorder_traversal(step.rhs):
                if isinstance(node, (sp.Symbol, sp.IndexedBase)) and str(node) == name:
                    return node
    return sp.IndexedBase(name) if isinstance(y, sp.IndexedBase) else sp.Symbol(name)


class _Whole(sp.UnevaluatedExpr):
    """A subexpression shown as written (√(2πσ²) stays one root); prints as its content."""

    is_commutative = True


def _at_a_number(expr) -> bool:
    """Whether ``expr`` holds a density evaluated at a number, written out (x⁰, 0!, a + 0)."""
    return any(
        (isinstance(n, sp.Pow) and n.exp == 0)
        or (isinstance(n, sp.factorial) and n.args[0].is_Integer)
        or (isinstance(n, sp.Add) and sp.S.Zero in n.args)
        for n in sp.preorder_traversal(expr)
    )


def _evaluated(expr):
    """``expr`` built again with evaluation on (an unevaluated tree simplified the way SymPy
    simplifies on construction: x⁰ = 1, 0! = 1, Γ(a)/Γ(a) = 1)."""
    with sp.evaluate(True):
        if not expr.args or isinstance(expr, (sp.Indexed, sp.IndexedBase)):
            return expr
        return expr.func(*(_evaluated(a) for a in expr.args))


def display_density(dist, args=None):
    """The density as declared, for display (the paper form every output shows): each √ of a
    product kept whole (√(2πσ²), not √2 √π σ).  ``args``: the symbols to call it with (default
    the declaration's own).  None when the declaration cannot be rebuilt that way."""

    observed = {dist.sym(v) for v in dist.observations}

    def rebuild(e):
        if not e.args or isinstance(e, (sp.Indexed, sp.IndexedBase)):
            return e
        if not e.has(*observed) and _at_a_number(e):
            return _evaluated(e)  # f(0) of a zero-inflation: e^{−λ}, not λ⁰ e^{−λ}/0!
        args = [rebuild(a) for a in e.args]
        if isinstance(e, sp.Pow) and e.exp in (sp.S.Half, -sp.S.Half):
            base = sp.sympify(args[0])
            if isinstance(base, sp.Mul) and len(base.args) > 1:
                root = _Whole(sp.Pow(base, sp.S.Half, evaluate=False))
                return root if e.exp == sp.S.Half else 1 / root
        return e.func(*args)

    def declared():
        with sp.evaluate(False):  # as written: (ν + 1)/2 stays, not ν/2 + 1/2
            return rebuild(dist.density_expr() if args is None else dist.density(*args))

    try:
        return declared()
    except Exception:
        pass
    try:  # a declaration whose helpers compute (and cache) a value, such as Huber's normalising
        # integral, which SymPy cannot do unevaluated: once evaluated, then as written
        dist.density_expr() if args is None else dist.density(*args)
        return declared()
    except Exception:  # a declaration that only builds evaluated: show the recorded form
        return None

"""The LaTeX context of the exponential-family section (``templates/expfamily.tex.j2``): the
form, the one-parameter quantities and the unit deviance, as math fragments (derive.expfamily)."""

from __future__ import annotations

import sympy as sp

from ..expfamily import deviance, verdict
from .notation import _Whole
from .printer import _width, tex

#: The widest term (in derive.latex.printer._width units) run into a sentence; wider ones are
#: displayed.
INLINE = 20

#: A quantity of the section longer than this many lines is named, not written out (the mean
#: of a truncated family holds its normaliser's derivative: a page of terms).
MAX_LINES = 8


def _height(shown: list[str]) -> int:
    """The lines TeX sets for ``shown``: each line, and each row of the cases inside it."""
    return sum(1 + line.count("\\\\") for line in shown)


def _has_root(expr) -> bool:
    return any(isinstance(n, sp.Pow) and not n.exp.is_integer for n in sp.preorder_traversal(expr))


def paper_constant(expr, observed=()):
    """``expr`` with its irrational numeric factor c and the reciprocal powers of parameters
    written as one 1/√q, q = 1/c² · σ² · …, free of roots: 1/√(2πσ²), not √2/(2√πσ) (the
    normaliser as textbooks write it).  Factors with an ``observed`` symbol stay outside."""
    coeff, rest = sp.S.One, []
    under = []
    for f in sp.Mul.make_args(expr):
        if f.is_number:
            coeff *= f
        elif (
            isinstance(f, sp.Pow)
            and f.exp.is_integer
            and f.exp.is_negative
            and f.base.is_Symbol
            and f.base not in observed
        ):
            under.append(f.base ** (-2 * f.exp))
        else:
            rest.append(f)
    if not coeff.is_positive or not _has_root(coeff):
        return expr
    q = sp.expand(sp.powsimp(coeff**-2))
    if _has_root(q) or not q.as_coeff_Mul()[0].is_Integer:  # √2 stays √2, not 1/√(1/2)
        return expr
    root = _Whole(sp.Pow(sp.Mul(q, *under), sp.S.Half, evaluate=False))
    return sp.Mul(sp.Pow(root, -1, evaluate=False), *rest, evaluate=False)


def expfamily_context(
    d,
    T=tex,
    density: str = "p",
    L=None,
    label: str = "",
    numbered: bool = True,
    room: float | None = None,
) -> dict:
    """Math fragments for ``expfamily.tex.j2``: the exponential-family form (or the reason there
    is none) and the unit deviance (or why there is none), from derive.expfamily.  ``L`` breaks a
    long expression into lines (default: one line); ``label`` is the entry's equation label;
    ``numbered``: the deviance carries a number and that label; ``room``: the width a line of
    the section has (a quantity with a wider line, an unbreakable fraction, is named, not
    written out, as is one longer than :data:`MAX_LINES`)."""
    L = L or (lambda expr: [T(expr)])
    v = verdict(d)
    f = v.family

    def many(exprs):
        exprs = list(exprs)
        return L(exprs[0]) if len(exprs) == 1 else L(sp.Tuple(*exprs))

    coupling = L(v.coupling) if v.coupling is not None else None
    out = {
        "label": label or d.dist.name,
        "numbered": numbered,
        "density": density,
        "family": None,
        "reason": v.reason,
        "coupling": T(v.coupling) if v.coupling is not None else None,
        # a wide term (cases, a long sum) is displayed, broken into lines, not run into the text
        "coupling_lines": coupling,
        "coupling_inline": v.coupling is not None and _width(T(v.coupling)) <= INLINE,
        "coupled": ", ".join(T(p) for p in v.params),
        "max_lines": MAX_LINES,
        "coupling_long": coupling is not None and _height(coupling) > MAX_LINES,
        "deviance": None,
    }
    if f is not None:
        y = T(d.observed)
        rows = [
            (r"\eta", many(s.natural for s in f.statistics)),
            (f"T({y})", many(s.stat for s in f.statistics)),
            ("A", L(f.log_partition)),
            (f"h({y})", L(paper_constant(f.base, (d.observed,)))),
            (r"\phi", L(f.dispersion)),
        ]
        if f.mean is not None:
            mu, eta, params = T(f.mean_symbol), T(f.eta_symbol), ", ".join(map(T, f.params))
            rows += [
                (r"\operatorname{E}[T]", L(f.mean)),
                (f"V({mu})", L(f.variance_function) if f.variance_function is not None else None),
                (f"g({mu})", L(f.canonical_link) if f.canonical_link is not None else None),
                (f"g^{{-1}}({eta})", L(f.inverse_link) if f.inverse_link is not None else None),
                (rf"\mathcal{{I}}({params})", L(f.fisher)),
            ]

        def fits(shown):
            return _height(shown) <= MAX_LINES and (
                room is None or all(_width(line) <= room for line in shown)
            )

        rows = [(lhs, shown) for lhs, shown in rows if shown is not None]
        out["family"] = {
            "curved": f.curved,
            "params": ", ".join(T(p) for p in f.params),
            "rows": [{"lhs": lhs, "lines": shown} for lhs, shown in rows if fits(shown)],
            "long": [lhs for lhs, shown in rows if not fits(shown)],
            "one_parameter": f.mean is not None,
            "link": f.canonical_link is not None,
            "convex": f.convex,
            "canonical": f.link_is_canonical,
            "notes": list(f.notes),
        }
    dev = deviance(d)
    if dev.unit is not None:
        ((theta, hat),) = dev.saturated.items()
        out["deviance"] = {
            "theta": T(theta),
            "hat": L(hat),
            "declared": L(dev.declared),
            "constant": L(dev.loss_constant),
            "factor": T(dev.factor) if dev.factor != 1 else "",
            "proof": dev.proof,
        }
    else:
        out["deviance_reason"] = dev.reason
    return out

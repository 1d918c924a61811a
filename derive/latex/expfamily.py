"""The LaTeX context of the exponential-family section (``templates/expfamily.tex.j2``): the
form, the one-parameter quantities and the unit deviance, as math fragments (derive.expfamily)."""

from __future__ import annotations

import sympy as sp

from ..expfamily import deviance, verdict
from .printer import _width, tex

#: The widest term (in derive.latex.printer._width units) run into a sentence; wider ones are
#: displayed.
INLINE = 20


def expfamily_context(d, T=tex, density: str = "p", L=None, label: str = "") -> dict:
    """Math fragments for ``expfamily.tex.j2``: the exponential-family form (or the reason there
    is none) and the unit deviance (or why there is none), from derive.expfamily.  ``L`` breaks a
    long expression into lines (default: one line); ``label`` is the entry's equation label."""
    L = L or (lambda expr: [T(expr)])
    v = verdict(d)
    f = v.family

    def many(exprs):
        exprs = list(exprs)
        return L(exprs[0]) if len(exprs) == 1 else L(sp.Tuple(*exprs))

    out = {
        "label": label or d.dist.name,
        "density": density,
        "family": None,
        "reason": v.reason,
        "coupling": T(v.coupling) if v.coupling is not None else None,
        # a wide term (cases, a long sum) is displayed, broken into lines, not run into the text
        "coupling_lines": L(v.coupling) if v.coupling is not None else None,
        "coupling_inline": v.coupling is not None and _width(T(v.coupling)) <= INLINE,
        "coupled": ", ".join(T(p) for p in v.params),
        "deviance": None,
    }
    if f is not None:
        y = T(d.observed)
        rows = [
            (r"\eta", many(s.natural for s in f.statistics)),
            (f"T({y})", many(s.stat for s in f.statistics)),
            ("A", L(f.log_partition)),
            (f"h({y})", L(f.base)),
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
        out["family"] = {
            "curved": f.curved,
            "params": ", ".join(T(p) for p in f.params),
            "rows": [{"lhs": lhs, "lines": shown} for lhs, shown in rows if shown is not None],
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

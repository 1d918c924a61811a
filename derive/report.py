"""Presenting a derivation: the terminal view of `derive show` and the `--json` object."""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

from .derivation import Derivation, inline
from .latex import equation, tex


def as_dict(d: Derivation) -> dict:
    """The `--json` object of `show` and `new` (every key DESIGN.md requires, and a few more)."""
    dist = d.dist
    return {
        "name": dist.name,
        "title": dist.title,
        "observed": [dist.observed.name],
        "params": [v.name for v in dist.learned],
        "fixed": [v.name for v in dist.fixed],
        "density": str(d.density),
        "nll": str(d.nll),
        "loss": str(d.loss),
        "dropped": str(d.dropped),
        "scale": str(d.scale),
        "standard": d.standard.id if d.standard else None,
        "standard_title": d.standard.title if d.standard else None,
        "latex": {
            "density": tex(d.density),
            "nll": tex(d.nll),
            "loss": tex(d.loss),
            "dropped": tex(d.dropped),
            "scale": tex(d.scale),
        },
        "steps": [
            {"kind": s.kind, "note": s.note, "latex": equation(s.lhs, s.rhs)} for s in d.steps
        ],
        "links": {link.param: f"{link.name}({link.raw.name})" for link in dist.links},
        "notes": dist.notes,
        "references": list(dist.references),
    }


def _printer():
    return PrettyPrinter({"use_unicode": True, "wrap_line": False, "order": "none"})


def _form(expr) -> prettyForm:
    return _printer()._print(expr)


def _equation(lhs, rhs, width: int, indent: str = "   ") -> str:
    """``lhs = rhs`` laid out on a common baseline, indented."""
    form = prettyForm(*_form(lhs).right(prettyForm(" = "), _form(rhs)))
    text = form.render(wrap_line=False)
    return "\n".join(indent + line.rstrip() for line in text.splitlines())


def render(d: Derivation, width: int = 100) -> str:
    """The derivation as a terminal reads it: Unicode maths, a note per step, the summary."""
    dist = d.dist
    out = [f"{dist.name} — {dist.title}"]
    out.append(" · ".join(f"{role} {name} {text}" for role, name, text in _vars(dist)))
    for number, step in enumerate(d.steps, start=1):
        out += ["", f"{number}. {step.note}", _equation(step.lhs, step.rhs, width)]
    out.append("")
    if d.standard is not None:
        out.append(f"standard loss: {d.standard.id} — {d.standard.title} ({d.standard.reference})")
    else:
        out.append("standard loss: none registered matches; the loss below is as derived")
    out.append("NLL = a·loss + dropped, with")
    for label, expr in (("a", d.scale), ("loss", d.loss), ("dropped", d.dropped)):
        out.append(_equation(sp.Symbol(label), expr, width))
    if dist.notes:
        out += ["", f"note: {dist.notes}"]
    return "\n".join(out)


def _vars(dist):
    return [(role, inline(dist.symbols[name]), text) for role, name, text in dist.describe_vars()]

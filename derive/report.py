"""Presenting a derivation: the terminal view of `derive show` and the `--json` object."""

from __future__ import annotations

from functools import singledispatch

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

from .derivation import Derivation, inline
from .latex import RELATIONS, Notation, equation, tex
from .relative import RelativeDerivation


@singledispatch
def as_dict(d: Derivation) -> dict:
    """The `--json` object of `show` and `new` (every key DESIGN.md requires, and a few more)."""
    dist = d.dist
    settings = Notation().settings(d)
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
        "latex": latex_of(d),
        "steps": [
            {"kind": s.kind, "note": s.note, "latex": equation(s.lhs, s.rhs, **settings)}
            for s in d.steps
        ],
        "links": {link.param: f"{link.name}({link.raw.name})" for link in dist.links},
        "notes": dist.notes,
        "references": list(dist.references),
    }


def latex_of(d: Derivation) -> dict:
    """LaTeX of the density, NLL, loss, dropped terms and scale, in the paper's notation."""
    settings = Notation().settings(d)
    parts = {"density": d.density, "nll": d.nll, "loss": d.loss, "dropped": d.dropped}
    return {key: tex(expr, **settings) for key, expr in {**parts, "scale": d.scale}.items()}


def _printer():
    return PrettyPrinter({"use_unicode": True, "wrap_line": False, "order": "none"})


def _form(expr) -> prettyForm:
    return _printer()._print(expr)


def _equation(lhs, rhs, width: int, indent: str = "   ", relation: str = "=") -> str:
    """``lhs = rhs`` (or another relation) laid out on a common baseline, indented."""
    form = prettyForm(*_form(lhs).right(prettyForm(f" {relation} "), _form(rhs)))
    text = form.render(wrap_line=False)
    return "\n".join(indent + line.rstrip() for line in text.splitlines())


@singledispatch
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


# ---------------------------------------------------------------------------- relative losses


@as_dict.register
def _(d: RelativeDerivation) -> dict:
    """The `--json` object for a loss that is not a likelihood (the DESIGN keys that apply, with
    density, nll, dropped and scale null, and what is particular to it)."""
    rel = d.relative
    out = {
        "name": rel.name,
        "title": rel.title,
        "observed": [rel.observed.name],
        "params": [v.name for v in rel.params],
        "fixed": [v.name for v in rel.fixed],
        "density": None,
        "nll": None,
        "loss": str(d.loss),
        "dropped": None,
        "scale": None,
        "standard": None,
        "likelihood": d.normalisable,
        "relative_to": rel.relative_to,
        "statement": d.statement,
        "normaliser": str(d.normaliser),
        "latex": {"loss": tex(d.loss), "normaliser": tex(d.normaliser)},
        "steps": [
            {
                "kind": s.kind,
                "note": s.note,
                "relation": s.data["relation"],
                "latex": f"{tex(s.lhs)} {RELATIONS[s.data['relation']]} {tex(s.rhs)}",
            }
            for s in d.steps
        ],
        "notes": rel.notes,
        "references": list(rel.references),
    }
    if d.bound is not None:
        lhs, rhs, condition = d.bound
        out["bound"] = {"lhs": str(lhs), "rhs": str(rhs), "condition": condition}
    return out


@render.register
def _(d: RelativeDerivation, width: int = 100) -> str:
    rel = d.relative
    verdict = {True: "a likelihood", False: "not a likelihood", None: "not settled"}
    out = [f"{rel.name} — {rel.title} ({verdict[d.normalisable]}; relative to {rel.relative_to})"]
    roles = [("observed", rel.observed), *(("learned", v) for v in rel.params)]
    roles += [("fixed", v) for v in rel.fixed]
    out.append(" · ".join(f"{role} {inline(v.symbol())} {v.domain.text}" for role, v in roles))
    for number, step in enumerate(d.steps, start=1):
        relation = step.data["relation"]
        out += ["", f"{number}. {step.note}", _equation(step.lhs, step.rhs, width, "   ", relation)]
    out += ["", f"likelihood: {d.statement}"]
    if d.bound is not None:
        _, rhs, condition = d.bound
        out.append(f"bound ({condition}):")
        out.append(_equation(sp.Symbol("loss"), rhs, width, relation="≥"))
    out.append("loss:")
    out.append(_equation(sp.Symbol("ℓ"), d.loss, width))
    if rel.notes:
        out += ["", f"note: {rel.notes}"]
    return "\n".join(out)

"""Presenting records for the terminal and as JSON: one ``render`` and one ``as_dict`` for every
record kind (a derivation, a loss that is not a likelihood, an entropy / KL pair)."""

from __future__ import annotations

from functools import partial, singledispatch

import sympy as sp

from .derivation import Derivation
from .display import ascii_text, display, inline, pretty
from .display import equation as _equation_of
from .infotheory import H_P, KL_PQ, PROOFS, SOURCES, Pair, groups
from .latex import RELATIONS, latex_of, steps_of, tex
from .relative import RelativeDerivation


@singledispatch
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
        "latex": latex_of(d),
        "steps": steps_of(d),
        "links": {link.param: f"{link.name}({link.raw.name})" for link in dist.links},
        "notes": dist.notes,
        "references": list(dist.references),
    }


def _text(lines, unicode: bool) -> str:
    text = "\n".join(lines)
    return text if unicode else ascii_text(text)


@singledispatch
def render(d: Derivation, width: int = 100, unicode: bool = True) -> str:
    """The derivation as a terminal reads it: Unicode maths (ASCII where ``unicode`` is false),
    a note per step, the summary."""
    _equation = partial(_equation_of, unicode=unicode)
    dist = d.dist
    out = [f"{dist.name} — {dist.title}"]
    out.append(" · ".join(f"{role} {name} {text}" for role, name, text in _vars(dist, unicode)))
    for number, step in enumerate(d.steps, start=1):
        out += ["", f"{number}. {step.note}", _equation(step.lhs, step.rhs)]
    out.append("")
    if d.standard is not None:
        out.append(f"standard loss: {d.standard.id} — {d.standard.title} ({d.standard.reference})")
    else:
        out.append("standard loss: none registered matches; the loss below is as derived")
    out.append("NLL = a·loss + dropped, with")
    for label, expr in (("a", d.scale), ("loss", d.loss), ("dropped", d.dropped)):
        out.append(_equation(sp.Symbol(label), expr))
    if dist.notes:
        out += ["", f"note: {dist.notes}"]
    return _text(out, unicode)


def _vars(dist, unicode: bool = True):
    return [
        (role, inline(dist.symbols[name], unicode), text)
        for role, name, text in dist.describe_vars()
    ]


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
def _(d: RelativeDerivation, width: int = 100, unicode: bool = True) -> str:
    _equation = partial(_equation_of, unicode=unicode)
    rel = d.relative
    verdict = {True: "a likelihood", False: "not a likelihood", None: "not settled"}
    out = [f"{rel.name} — {rel.title} ({verdict[d.normalisable]}; relative to {rel.relative_to})"]
    roles = [("observed", rel.observed), *(("learned", v) for v in rel.params)]
    roles += [("fixed", v) for v in rel.fixed]
    out.append(
        " · ".join(f"{role} {inline(v.symbol(), unicode)} {v.domain.text}" for role, v in roles)
    )
    for number, step in enumerate(d.steps, start=1):
        relation = step.data["relation"]
        out += ["", f"{number}. {step.note}", _equation(step.lhs, step.rhs, relation=relation)]
    out += ["", f"likelihood: {d.statement}"]
    if d.bound is not None:
        _, rhs, condition = d.bound
        out.append(f"bound ({condition}):")
        out.append(_equation(sp.Symbol("loss"), rhs, relation="≥"))
    out.append("loss:")
    out.append(_equation(sp.Symbol("ℓ"), d.loss))
    if rel.notes:
        out += ["", f"note: {rel.notes}"]
    return _text(out, unicode)


# ---------------------------------------------------------------------------- entropy and KL


def _ptex(expr) -> str:
    return tex(display(expr))


def _who(side_dist, params, unicode: bool = True) -> str:
    return f"{side_dist.name}({', '.join(pretty(s, unicode) for s in params)})"


def _render_steps(steps, unicode: bool = True) -> list[str]:
    _equation = partial(_equation_of, unicode=unicode)
    out, number = [], 0
    for kind, members in groups(steps):
        if kind == "expectation":
            out.append(f"   under P ({members[0].note}):")
            out += [_equation(s.lhs, s.rhs, indent="      ") for s in members]
            continue
        step = members[0]
        number += 1
        out += ["", f"{number}. {step.note}"]
        if kind == "densities" and "q" in step.data:
            out += [
                _equation(step.lhs, step.rhs),
                _equation(step.data["q"], step.data["q_density"]),
            ]
        elif "expectation" in step.data:
            out.append(_equation(step.lhs, step.data["expectation"], step.rhs))
        else:
            out.append(_equation(step.lhs, step.rhs))
    return out


@render.register
def _(pair: Pair, width: int = 100, unicode: bool = True) -> str:
    """The terminal view of `derive kl` / `derive entropy`."""
    _equation = partial(_equation_of, unicode=unicode)
    p, q = pair.p, pair.q
    if q is None:
        out = [f"H({p.name}): entropy of the {p.title}", f"P = {_who(p, pair.params_p, unicode)}"]
    else:
        out = [
            f"KL({p.name} ‖ {q.name}): {p.title} ‖ {q.title}",
            f"P = {_who(p, pair.params_p, unicode)} · Q = {_who(q, pair.params_q, unicode)}",
        ]
    out += _render_steps(pair.steps, unicode)
    if pair.proofs:
        marks = {True: "✓", False: "✗ (not proven)"}
        out += [
            "",
            "proof: " + " · ".join(f"{PROOFS[k]} {marks[ok]}" for k, ok in pair.proofs.items()),
        ]
    out.append("")
    out.append(
        _equation(H_P, pair.entropy_p, indent="")
        if q is None
        else _equation(KL_PQ, pair.kl, indent="")
    )
    out += [f"note: {note}" for note in pair.notes()]
    return _text(out, unicode)


@as_dict.register
def _(pair: Pair) -> dict:
    """The `--json` object: the keys of issue 6 (p, q, params_p, params_q, kl, entropy_p,
    cross_entropy, latex), and a few more.  `entropy` gives the keys about P only."""
    entropy_only = pair.q is None
    data = {"p": pair.p.name}
    if not entropy_only:
        data["q"] = pair.q.name
    data["params_p"] = [str(s) for s in pair.params_p]
    if not entropy_only:
        data["params_q"] = [str(s) for s in pair.params_q]
        data["kl"] = str(pair.kl)
    data["entropy_p"] = str(pair.entropy_p)
    latex = {"entropy_p": _ptex(pair.entropy_p)}
    if not entropy_only:
        data["cross_entropy"] = str(pair.cross_entropy)
        latex = {"kl": _ptex(pair.kl), **latex, "cross_entropy": _ptex(pair.cross_entropy)}
    data["latex"] = latex
    if not entropy_only:
        data["finite"] = pair.infinite is None
        data["infinite_reason"] = pair.infinite
        data["condition"] = str(pair.condition) if pair.condition is not None else None
        data["proofs"] = {PROOFS[k]: ok for k, ok in pair.proofs.items()}
    data["explicit"] = [
        {"statistic": str(e.stat), "value": str(e.value), "why": SOURCES[e.source]}
        for e in pair.explicit
    ]
    data["steps"] = [
        {"kind": s.kind, "note": s.note, "latex": f"{_ptex(s.lhs)} = {_ptex(s.rhs)}"}
        for s in pair.steps
    ]
    return data

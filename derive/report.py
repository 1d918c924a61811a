"""Presenting records for the terminal and as JSON: one ``render`` and one ``as_dict`` for every
record kind (a derivation, a loss that is not a likelihood, an entropy / KL pair)."""

from __future__ import annotations

import textwrap
from functools import singledispatch

import sympy as sp

from .derivation import Derivation
from .display import display, fitted, inline, linear, pretty, reading
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


@singledispatch
def render(d: Derivation, width: int = 80) -> str:
    """The derivation as a terminal reads it, fitted to ``width`` columns: what it is, the
    answer (the standard loss, a, what was dropped and why, NLL = a·loss + dropped), the notes,
    then the steps (a step whose expression is the previous one's says so instead)."""
    dist = d.dist
    out = _wrap(f"{dist.name} — {dist.title}", width, "   ")
    out += _wrap(" · ".join(f"{role} {name} {text}" for role, name, text in _vars(dist)), width)
    out.append("")
    if d.standard is not None:
        out += _wrap(f"standard loss: {d.standard.id} — {d.standard.title}", width, "   ")
        out += _wrap(f"reference: {d.standard.reference}", width, "   ", "   ")
    else:
        out.append("standard loss: none registered matches; the loss below is as derived")
    out.append("NLL = a·loss + dropped, with")
    for label, expr in (("a", d.scale), ("loss", d.loss), ("dropped", d.dropped)):
        out.append(fitted(sp.Symbol(label), expr, width=width))
    out += _wrap(_why_dropped(d), width, "   ", "   ")
    if dist.notes:
        out += ["", *_wrap(f"note: {dist.notes}", width, "      ")]
    out += ["", "derivation:"]
    out += _steps(
        d.steps,
        width,
        lambda step: fitted(step.lhs, step.rhs, width=width),
        lambda step: (reading(step.lhs), reading(step.rhs)),
    )
    return "\n".join(out)


def _why_dropped(d: Derivation) -> str:
    names = ", ".join(inline(t) for t in d.learned)
    if d.dropped == 0:
        return f"dropped: nothing (every term involves {names})"
    return f"dropped: free of {names}, so it does not move the minimiser"


def _wrap(text: str, width: int, indent: str = "", first: str = "") -> list[str]:
    """Prose wrapped to ``width`` columns (continuation lines indented by ``indent``)."""
    return textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=indent, break_on_hyphens=False
    ) or [""]


def _steps(steps, width: int, shown, reads=None) -> list[str]:
    """Numbered steps: the note (wrapped), then the equation; an equation that reads as the one
    just shown (``reads``: a key, by default the text itself) is not repeated."""
    out, previous = [], None
    for number, step in enumerate(steps, start=1):
        text = shown(step)
        key = reads(step) if reads is not None else text
        same = key == previous
        note = f"{number}. {step.note}" + (" (the expression reads as before)" if same else "")
        out += ["", *_wrap(note, width, " " * len(f"{number}. "))]
        if not same:
            out.append(text)
        previous = key
    return out


def _vars(dist):
    return [(role, inline(dist.symbols[name]), text) for role, name, text in dist.describe_vars()]


# ---------------------------------------------------------------------------- relative losses


@as_dict.register
def _(d: RelativeDerivation) -> dict:
    """The `--json` object for a loss that is not a likelihood (the keys of `show --json` that
    apply, with density, nll, dropped and scale null, and what is particular to it)."""
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
def _(d: RelativeDerivation, width: int = 80) -> str:
    """A loss that is not a likelihood: what it is, the verdict and the loss, then the steps."""
    rel = d.relative
    verdict = {True: "a likelihood", False: "not a likelihood", None: "not settled"}
    title = f"{rel.name} — {rel.title} ({verdict[d.normalisable]}; relative to {rel.relative_to})"
    out = _wrap(title, width, "   ")
    roles = [("observed", rel.observed), *(("learned", v) for v in rel.params)]
    roles += [("fixed", v) for v in rel.fixed]
    out += _wrap(
        " · ".join(f"{role} {inline(v.symbol())} {v.domain.text}" for role, v in roles), width
    )
    out += ["", *_wrap(f"likelihood: {d.statement}", width, "   ")]
    out.append("loss:")
    out.append(fitted(sp.Symbol("ℓ"), d.loss, width=width))
    if d.bound is not None:
        _, rhs, condition = d.bound
        out.append(f"bound ({condition}):")
        out.append(fitted(sp.Symbol("loss"), rhs, relation="≥", width=width))
    if rel.notes:
        out += ["", *_wrap(f"note: {rel.notes}", width, "      ")]
    out += ["", "derivation:"]
    out += _steps(
        d.steps,
        width,
        lambda step: fitted(step.lhs, step.rhs, relation=step.data["relation"], width=width),
    )
    return "\n".join(out)


# ---------------------------------------------------------------------------- entropy and KL


def _ptex(expr) -> str:
    return tex(display(expr))


def _who(side_dist, params) -> str:
    return f"{side_dist.name}({', '.join(pretty(s) for s in params)})"


def _render_steps(steps, width: int) -> list[str]:
    out, number = [], 0
    for kind, members in groups(steps):
        if kind == "expectation":
            out += _wrap(f"under P ({members[0].note}):", width, "      ", "   ")
            out += [fitted(s.lhs, s.rhs, indent="      ", width=width) for s in members]
            continue
        step = members[0]
        number += 1
        out += ["", *_wrap(f"{number}. {step.note}", width, " " * len(f"{number}. "))]
        if kind == "densities" and "q" in step.data:
            out += [
                fitted(step.lhs, step.rhs, width=width),
                fitted(step.data["q"], step.data["q_density"], width=width),
            ]
        elif "expectation" in step.data:
            out.append(fitted(step.lhs, step.data["expectation"], step.rhs, width=width))
        else:
            out.append(fitted(step.lhs, step.rhs, width=width))
    return out


@render.register
def _(pair: Pair, width: int = 80) -> str:
    """The terminal view of `derive kl` / `derive entropy`: the result first, then the steps."""
    p, q = pair.p, pair.q
    if q is None:
        out = [f"H({p.name}): entropy of the {p.title}", f"P = {_who(p, pair.params_p)}"]
    else:
        out = _wrap(f"KL({p.name} ‖ {q.name}): {p.title} ‖ {q.title}", width, "   ")
        out.append(f"P = {_who(p, pair.params_p)} · Q = {_who(q, pair.params_q)}")
    out.append("")
    out.append(
        fitted(H_P, pair.entropy_p, indent="", width=width)
        if q is None
        else fitted(KL_PQ, pair.kl, indent="", width=width)
    )
    for note in pair.notes():
        out += _wrap(f"note: {note}", width, "      ")
    if pair.proofs:
        marks = {True: "✓", False: "✗ (not proven)"}
        proofs = [f"{PROOFS[k]} {marks[ok]}" for k, ok in pair.proofs.items()]
        line = "proof: " + " · ".join(proofs)
        out += [line] if len(line) <= width else [f"proof: {p}" for p in proofs]
    out += ["", "derivation:"]
    out += _render_steps(pair.steps, width)
    return "\n".join(out)


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


# ---------------------------------------------------------------------------- Markdown


@singledispatch
def markdown(d: Derivation) -> str:
    """The derivation as Markdown with ``$…$`` math (`derive show --markdown`, Jupyter): the
    summary first, then the numbered steps."""
    dist, shown = d.dist, latex_of(d)
    why = _why_dropped(d).removeprefix("dropped: ")
    out = [f"### {dist.name} — {dist.title}", ""]
    out.append(" · ".join(f"{role} {name} {text}" for role, name, text in _vars(dist)))
    out.append("")
    if d.standard is not None:
        out.append(
            f"**Standard loss:** `{d.standard.id}`, {d.standard.title} ({d.standard.reference})"
        )
    else:
        out.append("**Standard loss:** none registered matches; the loss below is as derived")
    out += [
        "",
        r"$\mathrm{NLL} = a \cdot \mathrm{loss} + \mathrm{dropped}$, with",
        "",
        f"- $a = {shown['scale']}$",
        f"- $\\mathrm{{loss}} = {shown['loss']}$",
        f"- $\\mathrm{{dropped}} = {shown['dropped']}$ ({why})",
    ]
    if dist.notes:
        out += ["", f"*Note:* {dist.notes}"]
    return "\n".join([*out, "", "**Derivation**", "", *_markdown_steps(steps_of(d))])


def _markdown_steps(steps) -> list[str]:
    out, previous = [], None
    for number, step in enumerate(steps, start=1):
        same = step["latex"] == previous
        out.append(f"{number}. {step['note']}" + (" (the expression is unchanged)" if same else ""))
        if not same:
            out += ["", f"   $$ {step['latex']} $$", ""]
        previous = step["latex"]
    return out


@markdown.register
def _(d: RelativeDerivation) -> str:
    rel, data = d.relative, as_dict(d)
    verdict = {True: "a likelihood", False: "not a likelihood", None: "not settled"}
    out = [f"### {rel.name} — {rel.title}", ""]
    out.append(f"{verdict[d.normalisable]}; relative to `{rel.relative_to}`. {d.statement}")
    out += ["", f"$$ \\ell = {data['latex']['loss']} $$"]
    if rel.notes:
        out += ["", f"*Note:* {rel.notes}"]
    return "\n".join([*out, "", "**Derivation**", "", *_markdown_steps(data["steps"])])


@markdown.register
def _(pair: Pair) -> str:
    data = as_dict(pair)
    if pair.q is None:
        out = [f"### H({pair.p.name}): entropy of the {pair.p.title}", ""]
        out.append(f"$$ H(P) = {data['latex']['entropy_p']} $$")
    else:
        out = [f"### KL({pair.p.name} ‖ {pair.q.name}): {pair.p.title} ‖ {pair.q.title}", ""]
        out.append(f"$$ \\mathrm{{KL}}(P \\,\\|\\, Q) = {data['latex']['kl']} $$")
    out += [f"*Note:* {note}" for note in pair.notes()]
    return "\n".join([*out, "", "**Derivation**", "", *_markdown_steps(data["steps"])])


# ---------------------------------------------------------------------------- repr


@singledispatch
def summary_line(d: Derivation) -> str:
    """A short ``repr``: the entry, the loss and its scale, the standard id."""
    standard = d.standard.id if d.standard else "none"
    loss, scale = linear(d.loss), linear(d.scale)
    return f"<Derivation {d.dist.name}: loss = {loss}, a = {scale}, standard {standard}>"


@summary_line.register
def _(d: RelativeDerivation) -> str:
    return f"<RelativeDerivation {d.relative.name}: loss = {linear(d.loss)}>"


@summary_line.register
def _(pair: Pair) -> str:
    if pair.q is None:
        return f"<Pair H({pair.p.name}) = {linear(pair.entropy_p)}>"
    return f"<Pair KL({pair.p.name} ‖ {pair.q.name}) = {linear(pair.kl)}>"

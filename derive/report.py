"""Presenting records for the terminal, as JSON and as Markdown: one ``render``, one ``as_dict``
and one ``markdown`` for every record kind (a derivation, a loss that is not a likelihood, an
entropy / KL pair)."""

from __future__ import annotations

import textwrap
from functools import partial, singledispatch

import sympy as sp

from .derivation import Derivation
from .display import ascii_text, display, fitted, inline, linear, pretty, reading
from .display import equation as _equation_of
from .infotheory import H_P, KL_PQ, PROOFS, SOURCES, Pair, groups
from .latex import RELATIONS, Notation, latex_of, steps_of, tex
from .relative import RelativeDerivation


@singledispatch
def as_dict(d: Derivation, family: bool = True, deviance: bool = False, prior=None) -> dict:
    """The `--json` object of `show` and `new` (every key DESIGN.md requires, and a few more):
    with ``family`` the exponential-family form (null when there is none), with ``deviance`` the
    unit deviance (null when there is none), with ``prior`` (a prior's name) the MAP objective."""
    out = _as_dict(d)
    if family:
        out.update(expfamily_dict(d))
    if deviance:
        out.update(deviance_dict(d))
    if prior is not None:
        out["prior"] = prior_dict(prior, d)
    return out


def _as_dict(d: Derivation) -> dict:
    dist = d.dist
    return {
        "name": dist.name,
        "title": dist.title,
        "observed": [v.name for v in dist.observations],
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
        "support": support_of(dist),
        "steps": steps_of(d),
        "links": {link.param: f"{link.name}({link.raw.name})" for link in dist.links},
        "notes": dist.notes,
        "references": list(dist.references),
    }


def support_of(dist) -> dict:
    """The observed variable's support as declared: its bounds (SymPy ``str``), whether it is
    discrete, and its LaTeX (the set the paper writes)."""
    from .infotheory import support
    from .latex.infotheory import support_tex

    lo, hi = dist.support_bounds
    return {
        "lo": str(lo),
        "hi": str(hi),
        "discrete": dist.observed.domain.discrete,
        "latex": support_tex(support(dist)),
    }


def _strings(exprs) -> str:
    """One SymPy string for one expression, a tuple's string for several."""
    exprs = list(exprs)
    return str(exprs[0]) if len(exprs) == 1 else str(sp.Tuple(*exprs))


def _texs(exprs, settings) -> str:
    exprs = list(exprs)
    if len(exprs) == 1:
        return tex(exprs[0], **settings)
    return r"\left(" + ", ".join(tex(e, **settings) for e in exprs) + r"\right)"


def expfamily_dict(d: Derivation) -> dict:
    """``exponential_family``: the form's pieces as SymPy strings and LaTeX, or null (and
    ``exponential_family_reason``, one line)."""
    from .expfamily import verdict

    v = verdict(d)
    f = v.family
    if f is None:
        return {"exponential_family": None, "exponential_family_reason": v.reason}
    settings = Notation().settings(d)
    pieces = {
        "natural_param": [s.natural for s in f.statistics],
        "sufficient_stat": [s.stat for s in f.statistics],
        "log_partition": [f.log_partition],
        "log_partition_eta": [f.log_partition_eta],
        "base": [f.base],
        "log_base": [f.log_base],
        "dispersion": [f.dispersion],
        "canonical_link": [f.canonical_link],
        "inverse_link": [f.inverse_link],
        "mean": [f.mean],
        "variance": [f.variance_function],
        "variance_in_param": [f.variance],
        "fisher_information": [f.fisher],
    }
    out = {}
    latex = {}
    for key, exprs in pieces.items():
        known = all(e is not None for e in exprs)
        out[key] = _strings(exprs) if known else None
        latex[key] = _texs(exprs, settings) if known else None
    out.update(
        {
            "params": [str(p) for p in f.params],
            "mean_symbol": str(f.mean_symbol) if f.mean_symbol is not None else None,
            "eta_symbol": str(f.eta_symbol) if f.eta_symbol is not None else None,
            "vector": [s.vector for s in f.statistics],
            "curved": f.curved,
            "convex_in_natural_param": f.convex,
            "link_is_canonical": f.link_is_canonical,
            "proven": True,
            "notes": list(f.notes),
            "latex": latex,
        }
    )
    return {"exponential_family": out, "exponential_family_reason": None}


def deviance_dict(d: Derivation) -> dict:
    """``deviance``: the unit deviance, its saturated model and constant, or null (and
    ``deviance_reason``)."""
    from .expfamily import deviance

    dev = deviance(d)
    if dev.unit is None:
        return {"deviance": None, "deviance_reason": dev.reason}
    settings = Notation().settings(d)
    exprs = {
        "unit": dev.unit,
        "declared": dev.declared,
        "saturated_nll": dev.saturated_nll,
        "loss_constant": dev.loss_constant,
        "factor": dev.factor,
    }
    return {
        "deviance": {
            **{key: str(e) for key, e in exprs.items()},
            "saturated": {str(k): str(v) for k, v in dev.saturated.items()},
            "proof": dev.proof,
            "latex": {key: tex(e, **settings) for key, e in exprs.items()},
        },
        "deviance_reason": None,
    }


def prior_record(name: str) -> dict:
    """`derive prior NAME --json`: −log p(w) = penalty + dropped, the penalty recognised."""
    from .prior import derive_prior

    p = derive_prior(name)
    match = p.match
    return {
        "name": p.name,
        "title": p.title,
        "weight": str(p.weight),
        "scales": [str(s) for s in p.scales],
        "density": str(p.density),
        "neglog": str(p.neglog),
        "penalty": str(p.penalty),
        "dropped": str(p.dropped),
        "standard": match.penalty.id if match else None,
        "standard_title": match.penalty.title if match else None,
        "strengths": {k: str(v) for k, v in match.strengths.items()} if match else {},
        "notes": p.notes,
        "latex": {
            "density": tex(p.density),
            "penalty": tex(p.penalty),
            "dropped": tex(p.dropped),
            "strengths": {k: tex(v) for k, v in match.strengths.items()} if match else {},
        },
    }


def prior_dict(name: str, d: Derivation) -> dict:
    """The prior's record and the MAP objective of the linear predictor θ = w·x under it."""
    from .prior import derive_prior, map_objective

    m = map_objective(d, derive_prior(name))
    out = prior_record(name)
    out["strengths_loss"] = {k: str(v) for k, v in m.strengths_loss.items()}
    out["latex"]["strengths_loss"] = {k: tex(v) for k, v in m.strengths_loss.items()}
    (theta,) = d.learned
    out["map_objective"] = (
        f"sum_i {sp.sstr(d.scale)}*loss(y_i, {theta} = x_i.w) + sum_j penalty(w_j)"
    )
    return out


def _text(lines, unicode: bool) -> str:
    text = "\n".join(lines)
    return text if unicode else ascii_text(text)


@singledispatch
def render(d: Derivation, width: int = 80, unicode: bool = True) -> str:
    """The derivation as a terminal reads it, fitted to ``width`` columns: what it is, the
    answer (the standard loss, a, what was dropped and why, NLL = a·loss + dropped), the notes,
    then the steps (a step whose expression is the previous one's says so instead), then the
    exponential-family form.  Unicode maths, or ASCII where ``unicode`` is false."""
    dist = d.dist
    out = _wrap(f"{dist.name} — {dist.title}", width, "   ")
    out += _wrap(
        " · ".join(f"{role} {name} {text}" for role, name, text in _vars(dist, unicode)), width
    )
    out.append("")
    if d.standard is not None:
        out += _wrap(f"standard loss: {d.standard.id} — {d.standard.title}", width, "   ")
        out += _wrap(f"reference: {d.standard.reference}", width, "   ", "   ")
    else:
        out.append("standard loss: none registered matches; the loss below is as derived")
    out.append("NLL = a·loss + dropped, with")
    for label, expr in (("a", d.scale), ("loss", d.loss), ("dropped", d.dropped)):
        out.append(fitted(sp.Symbol(label), expr, width=width, unicode=unicode))
    out += _wrap(_why_dropped(d), width, "   ", "   ")
    if dist.notes:
        out += ["", *_wrap(f"note: {dist.notes}", width, "      ")]
    out += ["", "derivation:"]
    out += _steps(
        d.steps,
        width,
        lambda step: fitted(step.lhs, step.rhs, width=width, unicode=unicode),
        lambda step: (reading(step.lhs), reading(step.rhs)),
    )
    out.append("")
    for line in expfamily_lines(d, unicode):  # its prose wrapped to the width too
        long = len(line) > width and not line.startswith(" ")
        out += _wrap(line, width, "   ") if long else [line]
    return _text(out, unicode)


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


def expfamily_lines(d: Derivation, unicode: bool = True) -> list[str]:
    """The exponential-family section of `derive show`: the form, or the reason."""
    from .expfamily import verdict

    _equation = partial(_equation_of, unicode=unicode)
    v = verdict(d)
    f = v.family
    if f is None:
        return [f"exponential family: no — {v.reason.removeprefix('not an exponential family: ')}"]
    kind = "curved exponential family" if f.curved else "exponential family"
    out = [f"{kind} (proven equal to the density): p = h(y)·exp((η·T(y) − A)/φ), with"]
    rows = [
        ("η", [s.natural for s in f.statistics]),
        ("T(y)", [s.stat for s in f.statistics]),
        ("A", [f.log_partition]),
        ("h(y)", [f.base]),
        ("φ", [f.dispersion]),
    ]
    if f.mean is not None:
        mu, eta = f.mean_symbol, f.eta_symbol
        rows += [
            ("E[T]", [f.mean]),
            (f"V({inline(mu, unicode)})", [f.variance_function]),
            (f"g({inline(mu, unicode)})", [f.canonical_link]),
            (f"g⁻¹({inline(eta, unicode)})", [f.inverse_link]),
            ("I", [f.fisher]),
        ]
    for label, exprs in rows:
        if all(e is not None for e in exprs):
            shown = exprs[0] if len(exprs) == 1 else sp.Tuple(*exprs)
            out.append(_equation(sp.Symbol(label), shown))
    if f.convex:
        out.append("the NLL is convex in η (A″(η) = V > 0, proven)")
    if f.link_is_canonical is not None:
        out.append(
            f"the declared parametrisation is {'' if f.link_is_canonical else 'not '}"
            "the canonical one"
        )
    out += [f"note: {n}" for n in f.notes]
    return out


def deviance_lines(d: Derivation, unicode: bool = True) -> list[str]:
    """`derive show NAME --deviance`: the unit deviance and the constant that gives it."""
    from .expfamily import deviance

    _equation = partial(_equation_of, unicode=unicode)
    dev = deviance(d)
    if dev.unit is None:
        return [f"deviance: {dev.reason}"]
    ((theta, hat),) = dev.saturated.items()
    return [
        "unit deviance d = 2φ(ℓ(y; θ̂) − ℓ(y; θ)), θ̂ the saturated model:",
        _equation(sp.Symbol(f"{inline(theta)}\u0302"), hat),  # θ̂: the saturated model
        _equation(sp.Symbol("d"), dev.declared),
        "in the loss's terms, d = 2φa·(loss − C₀), with the constant C₀ = loss(θ̂):",
        _equation(sp.Symbol("2φa"), dev.factor),
        _equation(sp.Symbol("C₀"), dev.loss_constant),
        _equation(sp.Symbol("d"), dev.unit),
        f"d ≥ 0, = 0 at θ = θ̂: {dev.proof}",
    ]


def prior_lines(name: str, d: Derivation | None = None, unicode: bool = True) -> list[str]:
    """`derive prior NAME` (and, with a derivation, `show NAME --prior PRIOR`)."""
    from .prior import derive_prior, map_objective

    _equation = partial(_equation_of, unicode=unicode)
    p = derive_prior(name)
    w = p.weight
    out = [f"prior {p.name} — {p.title}"]
    out.append(_equation(sp.Symbol(f"p({w})"), p.density))
    out.append(f"−log p({w}) = penalty + dropped, with")
    out.append(_equation(sp.Symbol("penalty"), p.penalty))
    out.append(_equation(sp.Symbol("dropped"), p.dropped))
    if p.match is None:
        out.append("penalty: no registered penalty matches")
    else:
        out.append(f"penalty: {p.match.penalty.id} — {p.match.penalty.title}, strengths λ:")
        for atom, lam in p.match.strengths.items():
            out.append(_equation(sp.Symbol(f"λ({atom})"), lam))
    if d is not None:
        m = map_objective(d, p)
        (theta,) = d.learned
        out += [
            "",
            f"MAP for the linear predictor {inline(theta, unicode)} = w·x: minimise "
            f"Σᵢ a·loss(yᵢ, {inline(theta, unicode)}ᵢ) + Σⱼ penalty(wⱼ), "
            f"a = {inline(d.scale, unicode)};",
        ]
        out.append("in the loss's own units, Σᵢ loss + Σ (λ/a)·P(w), with")
        for atom, lam in m.strengths_loss.items():
            out.append(_equation(sp.Symbol(f"λ({atom})/a"), lam))
    if p.notes:
        out += [f"note: {p.notes}"]
    return out


def _vars(dist, unicode: bool = True):
    return [
        (role, inline(dist.symbols[name], unicode), text)
        for role, name, text in dist.describe_vars()
    ]


@as_dict.register
def _(d: RelativeDerivation, **_options) -> dict:
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
def _(d: RelativeDerivation, width: int = 80, unicode: bool = True) -> str:
    """A loss that is not a likelihood: what it is, the verdict and the loss, then the steps."""
    rel = d.relative
    verdict = {True: "a likelihood", False: "not a likelihood", None: "not settled"}
    title = f"{rel.name} — {rel.title} ({verdict[d.normalisable]}; relative to {rel.relative_to})"
    out = _wrap(title, width, "   ")
    roles = [("observed", rel.observed), *(("learned", v) for v in rel.params)]
    roles += [("fixed", v) for v in rel.fixed]
    out += _wrap(
        " · ".join(f"{role} {inline(v.symbol(), unicode)} {v.domain.text}" for role, v in roles),
        width,
    )
    out += ["", *_wrap(f"likelihood: {d.statement}", width, "   ")]
    out.append("loss:")
    out.append(fitted(sp.Symbol("ℓ"), d.loss, width=width, unicode=unicode))
    if d.bound is not None:
        _, rhs, condition = d.bound
        out.append(f"bound ({condition}):")
        out.append(fitted(sp.Symbol("loss"), rhs, relation="≥", width=width, unicode=unicode))
    if rel.notes:
        out += ["", *_wrap(f"note: {rel.notes}", width, "      ")]
    out += ["", "derivation:"]
    out += _steps(
        d.steps,
        width,
        lambda step: fitted(
            step.lhs, step.rhs, relation=step.data["relation"], width=width, unicode=unicode
        ),
    )
    return _text(out, unicode)


# ---------------------------------------------------------------------------- entropy and KL


def _ptex(expr) -> str:
    return tex(display(expr))


def _who(side_dist, params, unicode: bool = True) -> str:
    return f"{side_dist.name}({', '.join(pretty(s, unicode) for s in params)})"


def _render_steps(steps, width: int, unicode: bool = True) -> list[str]:
    out, number = [], 0
    for kind, members in groups(steps):
        if kind == "expectation":
            out += _wrap(f"under P ({members[0].note}):", width, "      ", "   ")
            out += [
                fitted(s.lhs, s.rhs, indent="      ", width=width, unicode=unicode) for s in members
            ]
            continue
        step = members[0]
        number += 1
        out += ["", *_wrap(f"{number}. {step.note}", width, " " * len(f"{number}. "))]
        if kind == "densities" and "q" in step.data:
            out += [
                fitted(step.lhs, step.rhs, width=width, unicode=unicode),
                fitted(step.data["q"], step.data["q_density"], width=width, unicode=unicode),
            ]
        elif "expectation" in step.data:
            out.append(
                fitted(step.lhs, step.data["expectation"], step.rhs, width=width, unicode=unicode)
            )
        else:
            out.append(fitted(step.lhs, step.rhs, width=width, unicode=unicode))
    return out


@render.register
def _(pair: Pair, width: int = 80, unicode: bool = True) -> str:
    """The terminal view of `derive kl` / `derive entropy`: the result first, then the steps."""
    p, q = pair.p, pair.q
    if q is None:
        out = [f"H({p.name}): entropy of the {p.title}", f"P = {_who(p, pair.params_p, unicode)}"]
    else:
        out = _wrap(f"KL({p.name} ‖ {q.name}): {p.title} ‖ {q.title}", width, "   ")
        out.append(f"P = {_who(p, pair.params_p, unicode)} · Q = {_who(q, pair.params_q, unicode)}")
    out.append("")
    out.append(
        fitted(H_P, pair.entropy_p, indent="", width=width, unicode=unicode)
        if q is None
        else fitted(KL_PQ, pair.kl, indent="", width=width, unicode=unicode)
    )
    for note in pair.notes():
        out += _wrap(f"note: {note}", width, "      ")
    if pair.proofs:
        marks = {True: "✓", False: "✗ (not proven)"}
        proofs = [f"{PROOFS[k]} {marks[ok]}" for k, ok in pair.proofs.items()]
        line = "proof: " + " · ".join(proofs)
        out += [line] if len(line) <= width else [f"proof: {p}" for p in proofs]
    out += ["", "derivation:"]
    out += _render_steps(pair.steps, width, unicode)
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
    when = pair.finite_when
    # finite: true (under `condition` where one is given), false, or null (not shown)
    data["finite"] = pair.finite
    if not entropy_only:
        data["infinite_reason"] = pair.infinite
    data["condition"] = str(when) if when is not None else None
    if not entropy_only:
        data["infinite_otherwise"] = pair.otherwise if when is not None else None
        data["proofs"] = {PROOFS[k]: ok for k, ok in pair.proofs.items()}
    if when is not None:
        latex["condition"] = _ptex(when)
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

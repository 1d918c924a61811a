"""LaTeX of information theory: the contexts of ``infotheory_pair.tex.j2`` (one pair or entropy)
and ``infotheory.tex.j2`` (the standalone document's section, see :data:`.documents.SECTIONS`)."""

from __future__ import annotations

import sympy as sp

from ..derivation import Step, warm_cache
from ..display import display
from ..errors import UserError
from ..infotheory import (
    Classic,
    Expectation,
    Pair,
    divergence,
    entropy,
    expected_loss,
    groups,
    label_smoothing,
    vae_kl,
)
from ..progress import Report, tracked
from ..symbolic import canonical_sums
from .notation import Notation, display_density
from .printer import _width, lines, tex
from .templates import render_template


class _Maths:
    """The one printer under a notation: ``tex`` for one expression, ``lines`` for a row."""

    def __init__(self, notation: Notation | None):
        self.notation = notation or Notation()
        self.settings = {"ln_notation": self.notation.ln, "names": dict(self.notation.names)}

    def tex(self, expr) -> str:
        return tex(display(expr), **self.settings)

    def wide(self, lhs) -> bool:
        """Whether ``lhs`` is set on a line of its own, the right-hand side below it."""
        return _width(lhs) > 0.3 * self.notation.units

    def lines(self, expr, lhs="") -> list[str]:
        """``expr`` as LaTeX lines beside ``lhs`` (derive.latex.lines breaks long rows), or
        below it where it is wide."""
        units = self.notation.units
        room = units - 4 if self.wide(lhs) else units - _width(lhs) - 2
        return lines(display(expr), room - 2, first=room, **self.settings)

    def row(self, lhs, expr, **extra) -> dict:
        return {"lhs": lhs, "lines": self.lines(expr, lhs), "wide": self.wide(lhs), **extra}


def support_tex(support) -> str:
    """A support as LaTeX maths."""
    if support.vector:
        return r"\{0, 1\}^{K}" if support.discrete else r"\Delta^{K - 1}"
    lo, hi = tex(support.lo), tex(support.hi)
    if support.discrete:
        if support.hi == sp.oo:
            return r"\{%s, %s, %s, \dots\}" % (lo, tex(support.lo + 1), tex(support.lo + 2))
        if support.lo.is_Integer and support.hi.is_Integer and support.hi - support.lo < 4:
            values = range(int(support.lo), int(support.hi) + 1)
            return r"\{" + ", ".join(str(v) for v in values) + r"\}"
        return r"\{%s, \dots, %s\}" % (lo, hi)
    return r"\mathbb{R}" if (support.lo, support.hi) == (-sp.oo, sp.oo) else f"({lo}, {hi})"


def _paper_densities(step: Step, pair: Pair) -> tuple:
    """The two densities of a pair in their declared (paper) form, as `derive latex` writes
    them, in the pair's suffixed parameters; the recorded forms where that cannot be built."""
    p = display_density(pair.p, (pair.y, *pair.params_p))
    q = None
    if pair.q is not None:
        q = display_density(pair.q, (pair.q.sym(pair.q.observed), *pair.params_q))
    return (
        step.rhs if p is None else p,
        step.data.get("q_density") if q is None else q,
    )


#: Where an expectation kept explicit is defined: the sum or integral of its statistic against
#: the density, over the support (keys of derive.infotheory.SOURCES).
_DEFINITIONS = {"integral-explicit": sp.Integral, "series-explicit": sp.Sum}


class _Kept:
    """The expectations of a pair kept explicit (an integral or a series with no closed form):
    each shown once, as its definition 𝔼_P[T] = ∫ p(y | θ) T dy (Σ over a discrete support),
    and named 𝔼_P[T] in the results, never repeated inside them."""

    def __init__(self, pair: Pair):
        density = pair.steps[0].lhs  # p(y | θ_p), as the densities step writes it
        self.definitions: dict = {}  # the statistic -> its definition
        self.forms: list[tuple] = []  # (the value as derived or as tidied, 𝔼_P[T])
        for e in pair.explicit:
            build = _DEFINITIONS.get(e.source)
            limits = _limits(e.value)
            if build is None or limits is None:
                continue
            self.definitions[e.stat] = build(sp.Mul(density, e.stat, evaluate=False), limits)
            name = Expectation(e.stat)
            # a result holds the value with its class sums canonical (derive.infotheory.tidy)
            for form in dict.fromkeys((e.value, canonical_sums(e.value))):
                self.forms.append((form, name))

    def definition(self, step: Step):
        """The right-hand side an expectation step is shown with."""
        return self.definitions.get(getattr(step.lhs, "args", (None,))[0], step.rhs)

    def named(self, expr):
        """``expr`` with each explicit value written 𝔼_P[T]; ``expr`` itself where that cannot
        be shown to be the same expression (substituting the values back gives it again)."""
        out, back = expr, {}
        for form, name in self.forms:
            if not out.has(form) or name in back:
                continue
            atom = isinstance(form, (sp.Integral, sp.Sum))  # else a product or sum holding one
            out = out.xreplace({form: name}) if atom else out.subs(form, name)
            back[name] = form
        if not back or sp.expand(out.xreplace(back) - expr) != 0:
            return expr
        return out


def _limits(value):
    """(y, lo, hi) of an integral or series over the observation: the one the value is made of
    (a constant times it, or a sum of such terms once split); None for anything else."""
    found = set()
    for term in sp.Add.make_args(value):
        inner = [f for f in sp.Mul.make_args(term) if isinstance(f, (sp.Integral, sp.Sum))]
        if len(inner) != 1 or len(inner[0].limits) != 1:
            return None
        found.add(inner[0].limits[0])
    return found.pop() if len(found) == 1 else None


def _rows(step: Step, m: _Maths, pair: Pair, kept: _Kept) -> list[dict]:
    lhs = m.tex(step.lhs)
    if "expectation" in step.data:  # KL = 𝔼_P[log p − log q] = value, on two rows
        wide = m.wide(lhs)
        below = {"lhs": "", "lines": m.lines(kept.named(step.rhs), lhs), "wide": wide}
        return [m.row(lhs, step.data["expectation"]), below]
    if step.kind == "densities":
        density, q_density = _paper_densities(step, pair)
        rows = [m.row(lhs, density)]
        if "q" in step.data:
            rows.append(m.row(m.tex(step.data["q"]), q_density))
        return rows
    if step.kind == "expectation":
        return [m.row(lhs, kept.definition(step), source=step.data.get("source"))]
    return [m.row(lhs, kept.named(step.rhs), source=step.data.get("source"))]


def _label(*names) -> str:
    return "kl:" + ":".join(names) if len(names) > 1 else "entropy:" + names[0]


def pair_context(
    pair: Pair, level: str | None = r"\subsection", notation: Notation | None = None
) -> dict:
    """Plain data and maths for ``infotheory_pair.tex.j2`` (no prose)."""
    m = _Maths(notation)
    kept = _Kept(pair)
    names = (pair.p.name,) if pair.q is None else (pair.p.name, pair.q.name)
    return {
        "command": ("entropy " if pair.q is None else "kl ") + " ".join(names),
        "label": _label(*names),
        "level": level,
        "entropy_only": pair.q is None,
        "cross_shown": any(step.kind == "cross-entropy" for step in pair.steps),
        "p_title": pair.p.title,
        "q_title": pair.q.title if pair.q is not None else "",
        "p": pair.p.name,
        "q": pair.q.name if pair.q is not None else "",
        "same_title": pair.q is not None and pair.q.title == pair.p.title,
        "y": m.tex(pair.y),
        "condition": m.tex(pair.condition) if pair.condition is not None else None,
        "groups": [
            {"kind": kind, "rows": [row for step in members for row in _rows(step, m, pair, kept)]}
            for kind, members in groups(pair.steps)
        ],
        "infinite": pair.infinite,
        "supports": [
            {"tex": support_tex(s), "discrete": s.discrete, "vector": s.vector}
            for s in pair.supports
        ],
        "explicit": [{"lhs": m.tex(Expectation(e.stat))} for e in pair.explicit],
        "proofs": [{"key": key, "ok": ok} for key, ok in pair.proofs.items()],
    }


def classic_context(classic: Classic, notation: Notation | None = None) -> dict:
    m = _Maths(notation)
    return {
        "key": classic.key,
        "name": classic.key.removeprefix("expected-loss-"),
        "title": classic.title,
        "proven": classic.proven,
        "steps": [m.row(m.tex(s.lhs), s.rhs) for s in classic.steps],
    }


def latex_section(p_name: str, q_name: str | None = None, notation: Notation | None = None) -> str:
    """The LaTeX section for a pair (or for the entropy of one entry): a fragment for a paper."""
    pair = entropy(p_name) if q_name is None else divergence(p_name, q_name)
    return pair_section(pair, notation)


def pair_section(pair: Pair, notation: Notation | None = None) -> str:
    """The LaTeX section of a computed pair (what `derive kl P Q --latex` writes)."""
    context = pair_context(pair, r"\section", notation)
    return render_template("infotheory_pair.tex.j2", pair=context)


def document_context(
    derivations, notation: Notation | None = None, report: Report | None = None
) -> dict:
    """The information-theory section of the standalone document: for each distribution, its
    pair with a second member of its family; the classics whose families are in the document.
    ``report`` (see derive.progress) hears of each pair (a pair can take seconds)."""
    from ..catalog import CATALOG

    # catalog entries only: composites and `derive new` declarations have no KL registry entry
    names = [d.dist.name for d in derivations if CATALOG.get(d.dist.name) is d.dist]
    pairs = []
    label = "information theory: KL within"
    warm_cache(divergence, [(name, name) for name in names], report, label)  # in parallel
    for name in tracked(names, label, report):
        try:
            pairs.append(pair_context(divergence(name, name), notation=notation))
        except UserError:  # no full density (tweedie): nothing to say
            continue
    chosen = []
    if {"gaussian", "gaussian-hetero"} & set(names):
        chosen.append(vae_kl())
    if {"categorical", "categorical-logit"} & set(names):
        chosen.append(label_smoothing())
    for d in derivations:
        if d.dist.name not in names:
            continue
        if "nll" not in d.dist.unavailable and (classic := _try_expected_loss(d.dist.name)):
            chosen.append(classic)
            break
    return {"pairs": pairs, "classics": [classic_context(c, notation) for c in chosen]}


def _try_expected_loss(name):
    try:
        classic = expected_loss(name)
    except UserError:
        return None
    return classic if classic.proven else None

"""LaTeX documents: the contexts the templates in ``templates/*.tex.j2`` receive — a fragment
per derivation, the standalone document with its sections passed in (:data:`SECTIONS`), never
registered at import."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sympy as sp

from ..composite import named
from ..derivation import derive_cached, stable_form
from ..display import NamedCDF, NamedSurvival
from ..progress import Report, tracked
from .expfamily import expfamily_context
from .notation import WIDE, Notation, _sample, display_density
from .printer import COLUMNS, _width, equation, lines, tex
from .templates import render_template


def _link_equation(dist, link, settings) -> str:
    """``p = σ(z)``; ``p_k = e^{z_k} / Σ_j e^{z_j}`` for a vector parameter."""
    from ..spec import CLASS_INDEX

    param = dist.symbols[link.param]
    shown = param[CLASS_INDEX] if isinstance(param, sp.IndexedBase) else param
    return equation(shown, dist.link_expr(link), **settings)


def _label(text: str) -> str:
    """A name as a label key (\\label{eq:KEY:loss}, \\ref{sec:KEY}): one key per name, the same
    in every label of its section."""
    return re.sub(r"[^A-Za-z0-9.:-]+", "-", text).strip("-") or "x"


#: The widest definition of a primitive (lhs and rhs, in printer units) run into a sentence:
#: inline maths cannot break inside its parentheses, wider ones are displayed.
INLINE_DEFINITION = 25


#: Room kept free at the end of each derivation line (printer units): the widths are estimates.
MARGIN = 0.6

#: A derivation of more lines than this (rows and the text between them, roughly) may break
#: across pages between its rows.
LONG = 45

#: A link's raw output named wider than this (printer units): its sentence is set ragged right.
RAGGED = 5


def _primitive_definitions(expr, before, settings) -> list[str]:
    """``f(x) = definition`` for each stable primitive that ``expr`` introduces (its first use),
    skipped where the primitive already prints as its definition (log-sum-exp, x log y)."""
    from ..functions import PRIMITIVES

    out = []
    seen = set()
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, PRIMITIVES) or type(node) in seen:
            continue
        if before is not None and before.has(type(node)):
            continue
        seen.add(type(node))
        rewrite = getattr(node, "_eval_rewrite_as_exp", None)
        if rewrite is None:
            continue
        node = _on_variables(node)
        with sp.evaluate(False):  # rewrite this primitive only, not its arguments
            definition = rewrite(*node.args)
        lhs, rhs = tex(node, **settings), tex(definition, **settings)
        if lhs != rhs:
            out.append({"lhs": lhs, "rhs": rhs, "inline": _width(lhs + rhs) <= INLINE_DEFINITION})
    return out


#: The variables a primitive is defined on where its arguments are not plain symbols.
_ARGUMENTS = sp.symbols("u v w", real=True)


def _on_variables(node):
    """A primitive applied to plain variables where any argument is compound (log Φ(u) = …,
    not log Φ((log y − μ)/σ) = …); as it is otherwise (σ(z) = 1/(1 + e^{−z}) for a link z)."""
    if all(isinstance(a, (sp.Symbol, sp.Indexed)) for a in node.args):
        return node
    if len(node.args) > len(_ARGUMENTS):
        return node
    return node.func(*_ARGUMENTS[: len(node.args)])


def paper_rhs(d, step, display=None):
    """The right-hand side of a recorded step as every output writes it: the density, the
    likelihood and the NLL in the declared (paper) form, the rest as recorded."""
    display = display_density(d.dist) if display is None else display
    if display is None:
        return step.rhs
    if step.kind == "density":
        return display
    if step.kind == "likelihood":
        i = sp.Symbol("i", integer=True, positive=True)
        over_i = [lim for lim in step.rhs.limits if lim[0] == step.data.get("i", i)]
        observed = [d.observed, *(d.dist.sym(v) for v in d.dist.also_observed)]
        samples = {y: _sample(d, y) for y in observed}
        return sp.Product(display.xreplace(samples), *over_i)
    if step.kind == "nll":
        return -sp.log(display, evaluate=False)
    return step.rhs


#: Steps whose one row may repeat the row before (a rewrite that changed nothing visible):
#: such a row is merged into the one before, and the template says why.
_MERGEABLE = ("expand", "link", "simplex", "stable", "scale", "other")


def _shown_rhs(step, rhs):
    """The right-hand side of a step's one row (the loss for the last step), or None for the
    steps with several rows."""
    if step.kind == "scale":
        return step.data["loss"] if step.data["scale"] == 1 else None
    return None if step.kind == "split" else rhs


def _merge_identical(steps: list[dict], shown: list) -> None:
    """Mark each row equal to the row shown before it (up to the name of a summation index) as
    merged: the template writes no row for it, only the reason; a merged loss lends its
    number and label to the row it joins."""
    from ..functions import rename_index
    from ..spec import CLASS_INDEX

    def canonical(expr):  # as printed, with every class-axis index called k
        return None if expr is None else tex(rename_index(sp.sympify(expr), CLASS_INDEX))

    kept = None  # the context of the row a merged row joins
    before = None
    for ctx, rhs in zip(steps, shown, strict=True):
        now = canonical(rhs)
        kind = ctx["kind"] if ctx["kind"] in _MERGEABLE else None
        if kind and kept is not None and now is not None and now == before:
            ctx["merged"] = True
            if ctx["kind"] == "scale":
                kept["numbered"] = ctx["numbered"]["loss"]
                kept["label"] = ctx["label"].rsplit(":", 1)[0] + ":loss"
            continue
        if rhs is not None:
            kept, before = ctx, now


def _named_forms(dist, rhs, log=False):
    """(symbol, F(y), its definition) and ("S", S(y), …) for those of the base's F and S that
    ``rhs`` uses, at the base's own observed symbol; ``log``: log F(y) and log S(y) in stable
    primitives (the rules of ``dist``, as its derivation applies them)."""
    base = dist.base
    y = base.sym(base.observed)
    args = (y, *(base.sym(v) for v in (*base.params, *base.fixed)))
    out = []
    for kind, declared in ((NamedCDF, base.cdf), (NamedSurvival, base.sf)):
        if rhs.has(kind):
            form = declared(*args)
            f = kind(*args)
            if log:
                f, form = sp.log(f), stable_form(sp.log(form), dist.rules)[0]
            out.append((kind.symbol, f, form))
    return out


def fragment_context(d, notation: Notation | None = None) -> dict:
    """Plain data and math fragments for ``fragment.tex.j2``: everything the template says about
    one derivation (no prose)."""
    from ..spec import CLASS_INDEX, N_CLASSES

    notation = notation or Notation()
    settings = notation.settings(d)
    dist = d.dist

    def T(expr):
        return tex(expr, **settings)

    # Every row of an align starts where its widest left-hand side ends; a left-hand side
    # wider than WIDE of the line is set on a row of its own, its right-hand side below it.
    def wide(lhs_tex) -> bool:
        return _width(lhs_tex) > WIDE * notation.units

    loss_args = ", ".join(T(s) for s in (*(dist.sym(v) for v in dist.observations), *d.learned))
    loss_lhs = r"\mathcal{L}(%s)" % loss_args
    # the rows: where the base declares F and S, the derivation with them named (log S(y_l),
    # not S written out), F and S defined below the density and their logs at the stable step
    shown = named(dist)
    rows = d if shown is None else derive_cached(shown)
    definitions = {
        step.kind: _named_forms(dist, step.rhs, log=step.kind == "stable")
        for step in rows.steps
        if shown is not None and step.kind in ("density", "stable")
    }
    shown_lhs = [T(step.lhs) for step in rows.steps] + [loss_lhs]
    column = max([_width(t) for t in shown_lhs if not wide(t)] + [0])

    def L(expr, extra="", beside=None, below=None):
        if below is None:
            below = beside is not None and wide(beside)
        indent = column + (3 if below else 0)  # \quad =, below
        room = notation.units - indent - _width(extra) - MARGIN
        return lines(expr, room - (3 if below else 2), first=room, **settings)  # \qquad, \quad

    def var(v, role):
        symbol = dist.sym(v)
        domain = v.domain
        lo, hi = dist.support_bounds if role == "observed" else domain.support
        return {
            "name": v.name,
            "tex": T(symbol),
            "role": role,
            "constraint": v.constraint,
            "vector": v.vector,
            "discrete": domain.discrete,
            "simplex": domain.simplex,
            "lo": T(lo),
            "next": T(lo + 1),
            "hi": T(hi),
            "unbounded": hi == sp.oo,
            # a support declared other than the constraint's own ((μ, ∞), {1, 2, …}): as declared
            "declared": (sp.sympify(lo), sp.sympify(hi)) != tuple(map(sp.sympify, domain.support)),
        }

    links = {link.param: link for link in dist.links}
    by_symbol = {dist.sym(v): v for v in dist.variables}
    display = display_density(rows.dist)
    i, n = sp.Symbol("i", integer=True, positive=True), sp.Symbol("n", integer=True, positive=True)

    steps, row_rhs, previous_lhs, previous_rhs, used = [], [], None, None, {}
    for step in rows.steps:
        used[step.kind] = used.get(step.kind, 0) + 1
        label = step.kind if used[step.kind] == 1 else f"{step.kind}-{used[step.kind]}"
        lhs = T(step.lhs)
        rhs = paper_rhs(rows, step, display) if display is not None else step.rhs
        same = previous_lhs is not None and step.lhs == previous_lhs
        ctx = {
            "kind": step.kind,
            "label": f"eq:{_label(dist.name)}:{label}",
            "numbered": notation.numbered(step.kind),
            "lhs": lhs,
            "same_lhs": same,
            "lines": L(rhs, beside=None if same else lhs),
            "wide": wide(lhs),  # the template blanks a repeated left-hand side
            "merged": False,
        }
        data = step.data
        if step.kind == "likelihood":
            ctx.update(n=T(data.get("n", n)), i=T(data.get("i", i)))
        elif step.kind == "expand":
            ctx["assumptions"] = [
                var(by_symbol[s], "assumed")
                for s, _ in data.get("assumptions", ())
                if s in by_symbol and by_symbol[s].constraint != "real"
            ]
        elif step.kind == "link":
            param = data["param"]
            shown = param[CLASS_INDEX] if isinstance(param, sp.IndexedBase) else param
            ctx.update(
                param=T(param),
                raw=T(data["raw"]),
                link=data["link"],
                link_equation=equation(shown, data["inverse"], **settings),
                # a long link leaves the sentence nowhere to break but inside its maths
                ragged=_width(T(data["raw"])) > RAGGED,
                definitions=_primitive_definitions(data["inverse"], None, settings)
                + _primitive_definitions(step.rhs, data["inverse"], settings),
            )
        elif step.kind == "simplex":
            y = data["vector"]
            total = sp.Sum(y[CLASS_INDEX], (CLASS_INDEX, 1, N_CLASSES))
            ctx.update(vector=T(y), constraint=equation(total, 1, **settings))
        elif step.kind == "stable":
            ctx["definitions"] = _primitive_definitions(step.rhs, previous_rhs, settings)
        elif step.kind == "split":
            kept, dropped = data["kept"], data["dropped"]
            ctx.update(
                dropped_numbered=notation.numbered("dropped"),
                kept=L(kept, "+ C,", beside=lhs),
                dropped=L(dropped),
                dropped_zero=dropped == 0,
                learned=[T(t) for t in data["learned"]],
            )
        elif step.kind == "scale":
            split = next((s for s in rows.steps if s.kind == "split"), None)
            before = split.data["dropped"] if split is not None else None
            ctx.update(
                scale=T(data["scale"]),
                numbered={key: notation.numbered(key) for key in ("loss", "relation", "constant")},
                unit_scale=data["scale"] == 1,
                loss=L(data["loss"], beside=loss_lhs),
                loss_wide=wide(loss_lhs),
                dropped=L(data["dropped"]),
                dropped_zero=data["dropped"] == 0,
                dropped_changed=before is not None and sp.expand(data["dropped"] - before) != 0,
                split_shown=before is not None and before != 0,
            )
        ctx["named"] = []
        for symbol, f, form in definitions.get(step.kind, ()):
            below = _width(T(f)) > column  # wider than the column of left-hand sides: a row above
            ctx["named"].append(
                {"lhs": T(f), "lines": L(form, below=below), "wide": below, "symbol": symbol}
            )
        steps.append(ctx)
        row_rhs.append(_shown_rhs(step, rhs))
        previous_lhs, previous_rhs = step.lhs, step.rhs
    _merge_identical(steps, row_rhs)

    standard = d.standard
    shown_lines = sum(
        2 + sum(len(ctx.get(key) or ()) for key in ("lines", "kept", "dropped", "loss"))
        for ctx in steps
    )
    return {
        # a page (or column) break allowed between the rows of a long derivation: one align
        # taller than a column of a two-column page cannot be set otherwise
        "breakable": notation.columns == 2 or shown_lines > LONG,
        "name": dist.name,
        "title": dist.title,
        "observed": var(dist.observed, "observed"),
        "also_observed": [var(v, "also observed") for v in dist.also_observed],
        "declared": [var(v, "declared") for v in dist.params],
        "learned": [var(v, "learned") for v in dist.learned],
        "fixed": [var(v, "fixed") for v in dist.fixed],
        "links": [
            {
                "param": T(dist.symbols[p]),
                "raw": T(dist.symbols[link.raw.name]),
                "equation": _link_equation(dist, link, settings),
            }
            for p, link in links.items()
        ],
        "loss_args": loss_args,
        "loss_numbered": notation.numbered("loss"),
        "nll_lhs": steps[-1]["lhs"] if steps else "",
        "standard": (
            {"id": standard.id, "title": standard.title, "reference": standard.reference}
            if standard is not None
            else None
        ),
        "references": list(dist.references),
        "steps": steps,
        "label": _label(dist.name),
        "k": T(CLASS_INDEX),
        "K": T(N_CLASSES),
        "expfamily": expfamily_context(
            d,
            T,
            settings.get("density") or "p",
            lambda e: lines(e, notation.units - 8, **settings),  # beside a short lhs
            _label(dist.name),
            numbered=notation.number != "none",
            room=notation.units - 8,
        ),
    }


def latex_of(d) -> dict:
    """LaTeX of the density, NLL, loss, dropped terms and scale, in the paper's notation (what
    `show --json` and the emitted code's docstring carry)."""
    settings = Notation().settings(d)
    density = display_density(d.dist)  # the declared (paper) form, as `derive latex` writes it
    parts = {
        "density": d.density if density is None else density,
        "nll": d.nll,
        "loss": d.loss,
        "dropped": d.dropped,
    }
    return {key: tex(expr, **settings) for key, expr in {**parts, "scale": d.scale}.items()}


def steps_of(d) -> list[dict]:
    """Each recorded step as ``{kind, note, latex}``, the equation in the paper's notation (the
    density, likelihood and NLL in the declared form, as `derive latex` writes them)."""
    settings = Notation().settings(d)
    display = display_density(d.dist)
    return [
        {
            "kind": s.kind,
            "note": s.note,
            "latex": equation(s.lhs, paper_rhs(d, s, display), **settings),
        }
        for s in d.steps
    ]


# ---------------------------------------------------------------------------- relative losses

#: The LaTeX of the relation a step states (``data["relation"]`` of a relative loss's steps).
RELATIONS = {"=": "=", "≥": r"\geq", "≠": r"\neq"}


def relative_context(d, notation: Notation | None = None) -> dict:
    """Plain data and math fragments for ``relative.tex.j2``: one loss that is not a likelihood
    (a :class:`~derive.relative.RelativeDerivation`), step by step (no prose)."""
    from ..catalog import CATALOG
    from ..spec import CLASS_INDEX, N_CLASSES

    notation = notation or Notation()
    rel = d.relative
    settings = {
        "ln_notation": notation.ln,
        "names": dict(notation.names),
        "density": None,
        "observed": (d.observed,),
        "learned": tuple(d.learned),
    }

    def T(expr):
        return tex(expr, **settings)

    ell = d.steps[0].lhs  # ℓ(y, θ)

    def shown_lhs(step):  # the loss itself reads ℓ(y, θ) on the left, after its definition
        return step.lhs if step.kind == "definition" else step.lhs.xreplace({d.loss: ell})

    column = max(_width(T(shown_lhs(s))) for s in d.steps if s.kind != "witness")

    def L(expr):
        room = notation.units - column
        return lines(expr, room - 2, first=room, **settings)

    def var(v, role):
        lo, hi = v.domain.support
        return {
            "name": v.name,
            "tex": T(v.symbol()),
            "role": role,
            "constraint": v.constraint,
            "vector": v.vector,
            "discrete": v.domain.discrete,
            "simplex": v.domain.simplex,
            "lo": T(lo),
            "next": T(lo + 1),
            "hi": T(hi),
            "unbounded": hi == sp.oo,
            "declared": False,
        }

    def point(values):
        out = []
        for symbol, value in values.items():
            vector = isinstance(value, tuple)
            shown = value if vector else (value,)
            out.append({"symbol": T(symbol), "vector": vector, "components": [T(c) for c in shown]})
        return out

    steps, previous_lhs, used = [], None, {}
    for step in d.steps:
        used[step.kind] = used.get(step.kind, 0) + 1
        label = step.kind if used[step.kind] == 1 else f"{step.kind}-{used[step.kind]}"
        lhs = shown_lhs(step)
        ctx = {
            "kind": step.kind,
            "note": step.note,
            "relation": RELATIONS[step.data["relation"]],
            "label": f"eq:{_label(rel.name)}:{label}",
            "numbered": notation.numbered(step.kind),
            "lhs": T(lhs),
            "same_lhs": previous_lhs is not None and lhs == previous_lhs,
            "lines": L(step.rhs),
        }
        if step.kind == "witness" and step.data["relation"] == "≠":
            values = (step.lhs, step.rhs)
            ctx["points"] = [
                {
                    "at": point(at),
                    "lines": L(value),
                    "approx": None if value.is_Rational else f"{float(sp.N(value, 20)):.6g}",
                    "label": f"eq:{_label(rel.name)}:{label}-{number}",
                    "numbered": notation.number != "none",
                }
                for number, (at, value) in enumerate(
                    zip(step.data["points"], values, strict=True), 1
                )
            ]
        steps.append(ctx)
        previous_lhs = lhs

    entry = CATALOG.get(rel.relative_to)
    return {
        "name": rel.name,
        "title": rel.title,
        "label": _label(rel.name),
        "observed": var(rel.observed, "observed"),
        "learned": [var(v, "learned") for v in rel.params],
        "fixed": [var(v, "fixed") for v in rel.fixed],
        "onehot": rel.observed.vector,
        "outcomes": [T(value) for value in rel.outcomes],
        "relative_to": {
            "name": rel.relative_to,
            "title": entry.title if entry is not None else rel.relative_to,
            "label": _label(rel.relative_to),
        },
        "loss": T(ell),
        "normaliser": T(next(s.lhs for s in d.steps if s.kind == "normaliser")),
        "normalisable": d.normalisable,
        "notes": rel.notes,
        "references": list(rel.references),
        "steps": steps,
        "k": T(CLASS_INDEX),
        "K": T(N_CLASSES),
        "log": T(sp.log(sp.Symbol("x"))).removesuffix(" x"),
    }


# ---------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Section:
    """A section of the standalone document after the distributions: a template in templates/ and
    a function from the document's derivations and :class:`Notation` to that template's context
    (plain data and maths).
    The template sees its data as ``section`` and the distributions as ``distributions``."""

    template: str
    context: Callable[..., dict]
    #: the context also takes ``report=`` (see derive.progress) and says how far it is
    reports: bool = False


def _infotheory(derivations, notation, report: Report | None = None) -> dict:
    from .infotheory import document_context

    return document_context(derivations, notation, report)


#: The sections every standalone document has, in order: the Python API and `derive latex`
#: build the same document from this one table.
SECTIONS: tuple[Section, ...] = (Section("infotheory.tex.j2", _infotheory, reports=True),)


def variables_of(d) -> list:
    """The variables (spec.Var) a derivation or a loss that is not a likelihood writes."""
    if _is_relative(d):
        rel = d.relative
        return [rel.observed, *rel.params, *rel.fixed]
    return list(d.dist.variables)


def _is_relative(d) -> bool:
    from ..relative import RelativeDerivation

    return isinstance(d, RelativeDerivation)


def fragment(d, notation: Notation | None = None) -> str:
    """The derivation of one entry: text lines and an amsmath ``align``, for ``\\input{}``.
    A loss that is not a likelihood (derive.relative) is written by ``relative.tex.j2``."""
    if _is_relative(d):
        return render_template("relative.tex.j2", r=relative_context(d, notation), standalone=False)
    return render_template("fragment.tex.j2", d=fragment_context(d, notation), standalone=False)


def document(
    derivations: Iterable,
    notation: Notation | None = None,
    sections: Iterable[Section] | None = None,
    report: Report | None = None,
) -> str:
    """The standalone document: the general argument, a section per distribution, a summary,
    then a section on the losses that are not likelihoods (those of ``derivations`` that are
    derive.relative derivations) and ``sections`` (default: :data:`SECTIONS`, as `derive latex
    --standalone` writes them).  ``report`` hears of each section being built."""
    from .. import __version__

    derivations = list(derivations)
    relatives = [d for d in derivations if _is_relative(d)]
    derivations = [d for d in derivations if not _is_relative(d)]
    notation = notation or Notation()
    contexts = [
        fragment_context(d, notation)
        for d in tracked(derivations, "writing LaTeX", report, name=lambda d: d.dist.name)
    ]
    built = [
        {
            "template": section.template,
            "data": section.context(derivations, notation, report=report)
            if section.reports
            else section.context(derivations, notation),
        }
        for section in tracked(
            SECTIONS if sections is None else list(sections),
            "building section",
            report,
            name=_template_name,
        )
    ]
    return render_template(
        "document.tex.j2",
        distributions=contexts,
        relatives=[relative_context(d, notation) for d in relatives],
        sections=built,
        version=__version__,
        layout={
            "columns": notation.columns,
            "width": f"{notation.width:g}",
            "geometry": notation.columns == 1 and notation.width != COLUMNS[1],
        },
        log=tex(sp.log(sp.Symbol("x")), ln_notation=notation.ln).removesuffix(" x"),
    )


def _template_name(section: Section) -> str:
    return section.template

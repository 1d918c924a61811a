"""The pipeline: declaration → recorded derivation.

Steps, each kept as (note, lhs, rhs):

    density → likelihood of an i.i.d. sample → log-likelihood → per-example NLL → expanded logs
    → link substituted, stable primitives → split into kept and dropped terms → scale a factored
    out → the standard form.

Invariant (tested for every entry): ``nll == scale * loss + dropped`` exactly, with ``scale`` and
``dropped`` free of the learned parameters.  Only targeted transforms are used (``expand_log`` on
the NLL, rewrite rules, ``cancel`` in zero tests); never a global ``simplify``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.pretty.stringpict import prettyForm

from . import cache
from .cache import code_version as _code_version
from .cache import default_directory as _cache_dir
from .display import inline
from .functions import elementary, log1p, loggamma, rename_index, split_sums, stabilise
from .spec import CLASS_INDEX, N_CLASSES, Distribution
from .standard import STANDARDS, Standard, content, recognise
from .symbolic import identically_zero
from .views import Viewable


class _Applied(sp.Expr):
    """Display-only application of a named function, e.g. p(y | μ, σ), L(μ), ℓ(μ)."""

    is_positive = True
    separator = ""  # printed between the first argument and the rest

    def __new__(cls, name, args):
        # also rebuilt from its own args (pickle, xreplace): (Symbol(name), Tuple(*args))
        name = name if isinstance(name, sp.Symbol) else sp.Symbol(name)
        return sp.Expr.__new__(cls, name, sp.Tuple(*args))

    def _render(self, show, bar):
        name, args = self.args
        first = list(args[0]) if args and isinstance(args[0], sp.Tuple) else args[:1]
        shown = [show(a) for a in first]
        head = ", ".join(shown)
        shown = [head] + [show(a) for a in args[1:]] if args else []
        if self.separator and shown:
            inner = f"{shown[0]} {bar} {', '.join(shown[1:])}" if len(shown) > 1 else shown[0]
        else:
            inner = ", ".join(shown)
        return show(name), inner

    def _latex(self, printer, exp=None):
        name, inner = self._render(printer._print, r"\mid")
        tex = r"%s\left(%s\right)" % (name, inner)
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _pretty(self, printer):
        name, inner = self._render(printer.doprint, "|")
        return prettyForm(f"{name}({inner})")

    def _sympystr(self, printer):
        name, inner = self._render(printer._print, "|")
        return f"{name}({inner})"


class Density(_Applied):
    separator = "|"

    def __new__(cls, observed, params):
        if isinstance(params, sp.Tuple):  # rebuilt from its own args: (Symbol("p"), Tuple(...))
            return super().__new__(cls, observed, params)
        return super().__new__(cls, "p", (observed, *params))


@dataclass(frozen=True)
class Step:
    """One recorded step: ``lhs = rhs``, why (``note``, plain Unicode text), and what it refers to.

    ``kind`` is a stable key (see :data:`STEP_KINDS`) and ``data`` holds the expressions the note
    mentions, so templates can write their own prose around math from the one printer.
    """

    kind: str
    note: str
    lhs: sp.Expr
    rhs: sp.Expr
    data: dict = field(default_factory=dict)


STEP_KINDS = (
    "density",  # data: {}
    "likelihood",  # data: {"n": n, "i": i}
    "loglik",  # data: {}
    "nll",  # data: {}
    "expand",  # data: {"assumptions": ((symbol, domain text), ...)}
    "link",  # data: {"param": p, "raw": z, "link": name, "inverse": expr}
    "simplex",  # data: {"vector": y}
    "stable",  # data: {"rules": (note, ...)}
    "split",  # data: {"kept": expr, "dropped": expr, "learned": (θ, ...)}
    "scale",  # data: {"scale": a, "loss": L, "dropped": D, "standard": id or None}
)


@dataclass(repr=False)
class Derivation(Viewable):
    """The record every output reads (LaTeX, code, CLI); outputs never re-derive."""

    dist: Distribution
    observed: sp.Basic
    learned: tuple[sp.Basic, ...]
    fixed: tuple[sp.Basic, ...]
    density: sp.Expr  # in the declared parameters
    nll: sp.Expr  # full per-example NLL, in the learned (raw) parameters, stable form
    loss: sp.Expr  # the standard form, scale removed
    scale: sp.Expr
    dropped: sp.Expr
    standard: Standard | None
    steps: list[Step] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.dist.name

    @property
    def variables(self):
        """Symbol → Var for observed, learned and fixed variables (what tests draw values for)."""
        return _variables(self.dist)


def _sample_symbols(dist):
    i = sp.Symbol("i", integer=True, positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    y = dist.sym(dist.observed)
    if dist.observed.vector:
        sample = sp.IndexedBase(f"{dist.observed.name}_i", **dist.observed.domain.assumptions)
    else:
        sample = sp.Symbol(f"{dist.observed.name}_i", **dist.observed.domain.assumptions)
    return i, n, y, sample


def expand_logs(expr):
    """Expand logarithms under the symbols' assumptions; log Π f = Σ log f over the class axis;
    class-axis sums are split (Σ(a + b) = Σa + Σb, Σ c·f = c·Σ f)."""

    def log_product(e):
        return isinstance(e, sp.log) and isinstance(e.args[0], sp.Product)

    expr = expr.replace(_log_of_cases, _cases_of_logs)
    for _ in range(4):  # expanding can expose new products and constant factors: to a fixpoint
        new = sp.expand_log(expr, force=True)
        new = new.replace(
            log_product, lambda e: sp.Sum(sp.log(e.args[0].function), *e.args[0].limits)
        )
        new = split_sums(new)  # Σ c·f = c·Σ f: the factor c then leaves the log
        if new == expr:
            break
        expr = new
    return absorb_into_cases(expr)


def _log_of_cases(e) -> bool:
    return isinstance(e, sp.log) and isinstance(e.args[0], sp.Piecewise)


def _cases_of_logs(e):
    """log of a density given by cases is the log of each case."""
    return sp.Piecewise(*((sp.log(v), c) for v, c in e.args[0].args))


def absorb_into_cases(expr):
    """c·Piecewise((a, p), (b, q)) → Piecewise((c·a, p), (c·b, q)) for a number c, so each case
    is a term of its own (−log of a density given by cases)."""
    terms = []
    for term in sp.Add.make_args(expr):
        coeff, rest = term.as_coeff_Mul()
        if isinstance(rest, sp.Piecewise) and coeff != 1:
            term = sp.Piecewise(*((sp.expand_mul(coeff * v), c) for v, c in rest.args))
        terms.append(term)
    return sp.Add(*terms)


def per_case(fn):
    """``fn`` applied to each term of an expression and inside each case of a term given by
    cases (a Piecewise): the derivation's term-wise steps, case by case."""

    def apply(expr, *args):
        terms = []
        for term in sp.Add.make_args(expr):
            if isinstance(term, sp.Piecewise):
                terms.append(sp.Piecewise(*((apply(v, *args), c) for v, c in term.args)))
            else:
                terms.append(fn(term, *args))
        return sp.Add(*terms)

    return apply


_LOGS = (sp.log, loggamma, log1p)


def _is_log_sum(f) -> bool:
    return isinstance(f, sp.Add) and all(isinstance(t.as_coeff_Mul()[1], _LOGS) for t in f.args)


def _splits_cleanly(term, params) -> bool:
    """A product to distribute: a coefficient times a sum of logs, c·(log a − log b), or a
    coefficient with parameters times a parameter-free log, (θ − 1)·log y."""
    if not isinstance(term, sp.Mul):
        return False
    factors = term.args
    if any(_is_log_sum(f) for f in factors):
        return True
    logs = [f for f in factors if isinstance(f, _LOGS)]
    mixed = [f for f in factors if isinstance(f, sp.Add) and f.has(*params)]
    return bool(logs and mixed) and not any(f.has(*params) for f in logs)


@per_case
def distribute_logs(expr, params):
    """Distribute the products :func:`_splits_cleanly` names, so each term either involves a
    parameter or not.  Polynomials such as (y − μ)² are left whole."""
    return sp.Add(
        *(sp.expand_mul(t) if _splits_cleanly(t, params) else t for t in sp.Add.make_args(expr))
    )


def _negated_sum(e) -> bool:
    coeff, _ = e.as_coeff_Mul()
    return coeff.is_negative and any(
        isinstance(f, sp.Add) and all(t.could_extract_minus_sign() for t in f.args) for f in e.args
    )


def _flip_sign(e):
    coeff, rest = e.as_coeff_Mul()
    factors, flipped = [], False
    for f in sp.Mul.make_args(rest):
        if (
            not flipped
            and isinstance(f, sp.Add)
            and all(t.could_extract_minus_sign() for t in f.args)
        ):
            f, flipped = sp.Add(*(-t for t in f.args)), True
        factors.append(f)
    return sp.Mul(-coeff, *factors)


@per_case
def tidy_signs(expr):
    """−c·(−a − b) → c·(a + b): no double negatives in the recorded steps."""
    return expr.replace(lambda e: isinstance(e, sp.Mul) and _negated_sum(e), _flip_sign)


def _substitute_link(expr, dist, link):
    """Replace the declared parameter by the inverse link of its raw output."""
    param = dist.symbols[link.param]
    value = dist.link_expr(link)
    if isinstance(param, sp.IndexedBase):
        # the inverse at each index that occurs (a class index, a number, the observed class y):
        # a link may simplify there (the first ordinal cutpoint has no increments to sum)
        raw = dist.symbols[link.raw.name]
        return expr.replace(
            lambda e: isinstance(e, sp.Indexed) and e.base == param,
            lambda e: link.inverse(raw, e.indices[0], N_CLASSES),
        )
    return expr.subs(param, value)


def _simplex_sums(expr, dist):
    """Σₖ yₖ = 1 for every simplex-constrained vector."""
    ones = {
        sp.Sum(dist.sym(v)[CLASS_INDEX], (CLASS_INDEX, 1, N_CLASSES)): sp.S.One
        for v in dist.variables
        if v.vector and v.domain.simplex
    }
    return expr.xreplace(ones)


def _combine_constants(expr):
    """Gather purely numeric logarithms: log(2)/2 + log(π)/2 → log(2π)/2."""
    logs, rest = [], []
    for term in sp.Add.make_args(expr):
        coeff, factor = term.as_coeff_Mul()
        numeric_log = isinstance(factor, sp.log) and not factor.free_symbols
        (logs if numeric_log and coeff.is_Rational else rest).append((coeff, factor))
    if len(logs) < 2:
        return expr
    denominator = sp.ilcm(*(c.q for c, _ in logs))
    argument = sp.Mul(*(f.args[0] ** (c * denominator) for c, f in logs))
    combined = sp.log(argument, evaluate=False) / denominator
    return sp.Add(*(c * f for c, f in rest)) + combined


def _split(nll, learned):
    """(kept, dropped); a term given by cases splits case by case (the dropped part of each case
    is free of the learned parameters, so the dropped cases are too)."""
    kept, dropped = [], []
    for term in sp.Add.make_args(nll):
        if isinstance(term, sp.Piecewise) and term.has(*learned):
            parts = [(_split(v, learned), c) for v, c in term.args]
            kept.append(sp.Piecewise(*((k, c) for (k, _), c in parts)))
            dropped.append(sp.Piecewise(*((d, c) for (_, d), c in parts)))
        else:
            (kept if term.has(*learned) else dropped).append(term)
    return sp.Add(*kept), sp.Add(*dropped)


def _reference_point(dist, learned):
    return {dist.sym(v): v.domain.reference for v in dist.learned if dist.sym(v) in learned}


def _theta_free(expr, dist, learned):
    """Evaluate an expression known to be free of the learned parameters at a reference point."""
    point = _reference_point(dist, learned)
    scalar = {s: v for s, v in point.items() if isinstance(s, sp.Symbol)}
    vectors = [s for s in point if isinstance(s, sp.IndexedBase)]
    expr = expr.subs(scalar)
    for base in vectors:
        expr = expr.replace(
            lambda e, base=base: isinstance(e, sp.Indexed) and e.base == base,
            lambda e, base=base: point[base],
        )
    return _combine_constants(distribute(split_sums(elementary(expr)).doit()))


def distribute(expr):
    """Multiply out products over sums in numerators only: c·(a + b) = c·a + c·b, recursively;
    denominators and powers such as (y − μ)² stay whole (unlike ``expand``)."""
    out = []
    for term in sp.Add.make_args(expr):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Add)]
        if not sums:
            out.append(term)
            continue
        rest = sp.Mul(*(f for f in sp.Mul.make_args(term) if f is not sums[0]))
        out.extend(distribute(rest * t) for t in sums[0].args)
    return sp.Add(*out)


def _fold_constant_variables(expr, dist):
    """Evaluate a θ-free remainder at the reference point of each scalar variable it provably
    does not depend on (so 2·log(1 + e^(−y/s)) − 2·log cosh(y/2s) + y/s becomes 2·log 2)."""
    for var in (dist.observed, *dist.fixed):
        symbol = dist.sym(var)
        constant = isinstance(symbol, sp.Symbol) and expr.has(symbol)
        if constant and identically_zero(sp.diff(expr, symbol)):
            folded = distribute(expr.subs(symbol, var.domain.reference))
            if not folded.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                expr = _combine_constants(folded)
    return expr


def stable_form(expr, rules=()):
    """``expr`` in stable primitives, and the notes of the rules that fired: the standard
    rewrite pass, then each of ``rules`` (a declaration's own forms) with the pass again."""
    stable, fired = stabilise(expr)
    for note, rule in rules:
        new = rule(stable)
        if new != stable:
            stable, more = stabilise(new)
            fired += [note] + [m for m in more if m not in fired]
    return stable, fired


def derive(dist: Distribution) -> Derivation:
    """Run the pipeline on a declaration and return the recorded derivation.

    Parameters:
        dist: a :class:`~derive.spec.Distribution`: ``derive.get(name)`` for a catalog entry,
            or ``derive.declare(...).dist`` for a density of your own.

    Returns a :class:`Derivation`: ``loss``, ``scale`` (a), ``dropped``, ``nll`` with
    nll = a·loss + dropped, the recognised ``standard`` loss and the recorded ``steps``;
    ``to_text(width)``, ``to_markdown()`` and ``to_latex()`` present it (a notebook shows it).

    >>> import derive
    >>> d = derive.derive(derive.get("gaussian"))
    >>> d.standard.id, d.scale, d.loss
    ('mse', 1/(2*sigma**2), (-mu + y)**2)
    """
    steps: list[Step] = []
    declared = tuple(dist.sym(v) for v in dist.params)
    learned = tuple(dist.sym(v) for v in dist.learned)
    fixed = tuple(dist.sym(v) for v in dist.fixed)
    i, n, y, y_i = _sample_symbols(dist)
    density = dist.density_expr()
    conditioning = declared + fixed
    observed = _observed(dist)
    samples = {y: y_i} | {
        dist.sym(v): sp.Symbol(f"{v.name}_i", **v.domain.assumptions) for v in dist.also_observed
    }

    steps.append(
        Step(
            "density",
            "the density of one observation"
            + (f" ({dist.base.name} {' '.join(dist.modifiers)})" if dist.base else ""),
            Density(observed, conditioning),
            density,
        )
    )
    per_sample = density.subs(samples)
    steps.append(
        Step(
            "likelihood",
            "likelihood of n i.i.d. observations",
            _Applied("L", declared),
            sp.Product(per_sample, (i, 1, n)),
            {"n": n, "i": i},
        )
    )
    expanded = tidy_signs(distribute_logs(expand_logs(-sp.log(density)), declared))
    steps.append(
        Step(
            "loglik",
            "log-likelihood: the log of the product is a sum of logs",
            _Applied("ℓ", declared),
            sp.Sum(-expanded.subs(samples), (i, 1, n)),
        )
    )
    nll_lhs = -sp.log(Density(observed, conditioning))
    steps.append(
        Step(
            "nll",
            "maximising ℓ is minimising the mean negative log-likelihood of one observation, "
            "the cross-entropy H(P̂, Q)",
            nll_lhs,
            -sp.log(density, evaluate=False),
        )
    )
    domains = tuple((dist.sym(v), v.domain.text) for v in (*dist.params, *dist.fixed))
    steps.append(
        Step(
            "expand",
            "expand the logarithms (" + ", ".join(f"{inline(s)} {t}" for s, t in domains) + ")",
            nll_lhs,
            expanded,
            {"assumptions": domains},
        )
    )

    nll = expanded
    for link in dist.links:
        nll = _substitute_link(nll, dist, link)
        nll_lhs = -sp.log(Density(observed, learned + fixed))
        nll = tidy_signs(distribute_logs(expand_logs(nll), learned))
        param, raw = dist.symbols[link.param], dist.symbols[link.raw.name]
        steps.append(
            Step(
                "link",
                f"substitute the link {inline(param)} = {link.name}({inline(raw)})",
                nll_lhs,
                nll,
                {
                    "param": param,
                    "raw": raw,
                    "link": link.name,
                    "inverse": dist.link_expr(link),
                },
            )
        )
    simplex = _simplex_sums(nll, dist)
    if simplex != nll:
        nll = simplex
        steps.append(
            Step(
                "simplex",
                "Σₖ yₖ = 1: the target lies on the simplex",
                nll_lhs,
                nll,
                {"vector": y},
            )
        )
    stable, fired = stable_form(nll, dist.rules)
    if fired:
        nll = rename_index(stable, CLASS_INDEX)
        steps.append(
            Step(
                "stable",
                "stable primitives: " + "; ".join(fired),
                nll_lhs,
                nll,
                {"rules": tuple(fired)},
            )
        )

    kept, dropped = _split(nll, learned)
    dropped = _combine_constants(dropped)
    names = ", ".join(inline(t) for t in learned)
    steps.append(
        Step(
            "split",
            f"keep the terms with {names}; drop {inline(dropped)}, which does not involve {names}"
            if dropped != 0
            else f"every term involves {names}: nothing is dropped",
            nll_lhs,
            _display_sum(kept, dropped),
            {"kept": kept, "dropped": dropped, "learned": learned},
        )
    )

    cases = kept.has(sp.Piecewise)  # only a standard given by cases (ordinal) can match cases
    match = recognise(kept, y, learned, fixed, _variables(dist), cases=cases)
    if match is not None:
        scale, loss = match.scale, match.form
        remainder = _fold_constant_variables(_theta_free(kept - scale * loss, dist, learned), dist)
        dropped = _combine_constants(distribute(dropped + remainder))
        note = f"factor out a = {inline(scale)}: the loss is {match.standard.title}"
    elif cases:
        scale, loss = sp.S.One, kept
        note = "no registered standard loss matches: the loss is given by cases"
    else:
        scale = content(kept, [y, *learned, CLASS_INDEX])
        loss = sp.expand_mul(kept / scale) if scale != 1 else kept
        note = f"factor out a = {inline(scale)}; no registered standard loss matches"
    steps.append(
        Step(
            "scale",
            note,
            nll_lhs,
            _display_sum(sp.Mul(scale, loss, evaluate=False) if scale != 1 else loss, dropped),
            {
                "scale": scale,
                "loss": loss,
                "dropped": dropped,
                "standard": match.standard.id if match else None,
            },
        )
    )

    return Derivation(
        dist=dist,
        observed=y,
        learned=learned,
        fixed=fixed,
        density=density,
        nll=nll,
        loss=loss,
        scale=scale,
        dropped=dropped,
        standard=match.standard if match else None,
        steps=steps,
    )


def _display_sum(first, rest):
    """first + rest, unevaluated and flat (a nested sum would print as "a + -b")."""
    parts = [first] if isinstance(first, sp.Mul) else list(sp.Add.make_args(first))
    return sp.Add(*parts, *(t for t in sp.Add.make_args(rest) if t != 0), evaluate=False)


def _variables(dist):
    return {dist.sym(v): v for v in (*dist.observations, *dist.learned, *dist.fixed)}


def _observed(dist):
    """The observed symbol, or the tuple of them (a censored observation's bounds)."""
    if not dist.also_observed:
        return dist.sym(dist.observed)
    return sp.Tuple(*(dist.sym(v) for v in dist.observations))


# ---------------------------------------------------------------------------- on-disk cache

_FIELDS = (
    "observed",
    "learned",
    "fixed",
    "density",
    "nll",
    "loss",
    "scale",
    "dropped",
    "steps",
)


def _unevaluated(cls, args):
    return cls(*args, evaluate=False)


class _Pickler(pickle.Pickler):
    """Pickles sums, products, powers and function applications so that they load exactly as
    they were: SymPy's default reloads them through evaluation, which reorders the unevaluated
    terms of the recorded steps (a·loss + dropped would print as a sum of expanded terms)."""

    def reducer_override(self, obj):
        if isinstance(obj, sp.Add | sp.Mul | sp.Pow) or (
            isinstance(obj, sp.Function) and not isinstance(obj, AppliedUndef)
        ):
            return _unevaluated, (type(obj), obj.args)
        return NotImplemented


def _entry_name(*dists: Distribution, kind: str = "") -> str:
    """The file an entry is stored in: the kind and names made safe as a file name (a
    declaration's name may hold any text), the fingerprints, derive's version."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", "_".join(d.name for d in dists))[:64]
    prints = [d.fingerprint() for d in dists]
    joined = prints[0] if len(prints) == 1 else hashlib.sha256("".join(prints).encode()).hexdigest()
    prefix = f"{kind}-" if kind else ""
    return f"{prefix}{safe}-{joined[:16]}-{_code_version()}.pickle"


def _entry_key(*dists: Distribution, kind: str = "") -> tuple:
    """What an entry was written for; an entry whose recorded key differs is not served."""
    return (kind, *((d.name, d.fingerprint()) for d in dists), _code_version(), sp.__version__)


T = TypeVar("T")


def memoised(kind: str, dists: tuple, compute: Callable[[], T], save, restore) -> T:
    """``compute()``, memoised on disk by ``kind``, the declarations' names and fingerprints
    and derive's version: the one cache of the derivations and of the information-theory
    results.  ``save(result)`` gives what is pickled (plain data and expressions),
    ``restore(saved)`` rebuilds the result from it.

    The cache is an optimisation only: any failure to read or write it falls back to computing;
    a cache that could be turned against its user is refused with a :class:`CacheWarning`
    (:mod:`derive.cache`).
    """
    directory = _cache_dir()
    store = cache.open_store(directory) if directory is not None else None
    if store is None:
        return compute()
    name, key = _entry_name(*dists, kind=kind), _entry_key(*dists, kind=kind)
    content = store.load(name)
    if content is not None:
        try:
            recorded, saved = pickle.loads(content)  # HMAC-checked: ours
            if recorded == key:
                return restore(saved)
        except Exception:  # a stale or corrupt entry: compute again
            pass
    result = compute()
    try:
        buffer = io.BytesIO()
        _Pickler(buffer).dump((key, save(result)))
    except Exception:  # an expression that does not pickle: not cached
        return result
    store.store(name, buffer.getvalue())
    return result


#: The computation :func:`warm_cache` runs, read by its forked workers (never pickled).
_WARMING: list[Callable] = []


def _warm_one(item) -> tuple:
    """One item of :func:`warm_cache`, in a worker: it, and the attempts a time limit cut short."""
    from .budget import cut_short

    before = cut_short()
    with contextlib.suppress(BaseException):  # the caller computes it again, and says why
        _WARMING[0](*item)
    return item, cut_short() - before


def warm_cache(compute: Callable, items, report=None, label: str = "") -> None:
    """``compute(*item)`` for each item, one worker process per core, for what it leaves in the
    on-disk cache (:func:`memoised`): the caller's own ``compute`` then reads the results back.
    The work of a document (information-theory pairs that each wait seconds on time-limited
    integrals) no longer queues on one core.  Nothing is done where the cache is off, or with
    one core or one item, or where processes cannot be forked: the caller computes in turn.
    ``report`` (see derive.progress) hears of each item as a worker finishes it."""
    import multiprocessing
    import os

    items = list(items)
    directory = _cache_dir()
    if len(items) < 2 or directory is None or cache.open_store(directory) is None:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return
    from .budget import count_cut_short

    _WARMING[:] = [compute]
    try:
        with multiprocessing.get_context("fork").Pool(min(cores, len(items))) as pool:
            done = pool.imap_unordered(_warm_one, items)
            for number, (item, cut) in enumerate(done, start=1):
                count_cut_short(cut)
                if report is not None:
                    report(label, number, len(items), " ".join(map(str, item)))
    except OSError:  # no processes to be had: the caller computes in turn
        return
    finally:
        _WARMING.clear()


def derive_cached(dist: Distribution) -> Derivation:
    """:func:`derive`, memoised on disk (:func:`memoised`) by the declaration's fingerprint and
    derive's version."""

    def save(result):
        fields = {name: getattr(result, name) for name in _FIELDS}
        return fields, result.standard.id if result.standard else None

    def restore(saved):
        fields, standard_id = saved
        return Derivation(
            dist=dist, standard=STANDARDS[standard_id] if standard_id else None, **fields
        )

    return memoised("", (dist,), lambda: derive(dist), save, restore)

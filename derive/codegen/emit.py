"""The module emitter: a derivation in, self-contained source out (DESIGN.md, "Emitted module").

The emitted module's functions are the derivation's expressions after the stable rewrite pass
(:mod:`.rewrite`), common subexpressions shared (``sympy.cse``), printed through one backend's
table (:mod:`.backends`) into the backend's template (``templates/module_numpy.py.j2``,
``module_torch.py.j2``, ``module_jax.py.j2``, each extending ``module.py.j2``).  Gradients and
hessians are derived symbolically here, with respect to each raw learned output.
"""

from __future__ import annotations

import json
import keyword
import re
import types
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..catalog import get
from ..derivation import Derivation, derive_cached
from ..errors import shown
from ..functions import apply_rules, logsumexp
from ..latex import latex_of, steps_of, tex
from ..spec import CLASS_INDEX, N_CLASSES, NATURAL_LINKS, Distribution, Var
from . import literal
from .backends import BACKENDS, NUMBA_KERNEL, NUMBA_KERNEL32, Backend, Printer, Unsupported
from .literal import Literals
from .objective import (
    CLASS_MARGIN,
    CLASS_YBAR,
    MARGIN,
    YBAR,
    J,
    NoObjective,
    derivative,
    objective,
    share_exponentials,
)
from .rewrite import CLASS_AXIS_RULES, guard_cases, prepare

#: Names the module itself defines or imports: an argument with one of these names gets a "_".
RESERVED = frozenset(
    {
        "np", "special", "torch", "jax", "jnp", "jsp", "math", "reduction", "loss", "nll",
        "gradient", "hessian", "xgboost_objective", "lightgbm_objective", "predt", "dtrain",
        "y_true", "y_pred", "OBSERVED", "PARAMS", "FIXED", "STANDARD", "sklearn_objective",
        "inverse_link", "intercept", "with_fixed", "preds", "train_data", "sample_weight",
        "types", "functools", "deviance", "penalty", "penalty_gradient", "map_objective",
        "map_gradient", "w", "X",
    }
)  # fmt: skip


def python_name(name: str) -> str:
    """A valid, non-reserved Python argument name: `lambda` becomes `lambda_`.  Python reads
    identifiers in NFKC form, so the name is normalised first (a full-width ｎｐ is np, reserved)
    and every character that cannot continue an identifier becomes "_"."""
    text = unicodedata.normalize("NFKC", str(name))
    text = "".join(ch if ("a" + ch).isidentifier() else "_" for ch in text)
    if not text or text[0].isdigit() or text[0] == "_":  # private names belong to the module
        text = "arg_" + text.lstrip("_")
    if keyword.iskeyword(text) or text in RESERVED:
        text += "_"
    return text


@dataclass(frozen=True)
class Argument:
    symbol: sp.Basic  # a Symbol, or an IndexedBase for a vector
    name: str  # in code
    role: str  # observed | learned | fixed
    var: Var

    @property
    def vector(self) -> bool:
        return self.var.vector


def arguments(d: Derivation) -> tuple[Argument, ...]:
    dist = d.dist
    rows = [("observed", dist.sym(v), v) for v in dist.observations]
    rows += [("learned", s, v) for s, v in zip(d.learned, dist.learned, strict=True)]
    rows += [("fixed", s, v) for s, v in zip(d.fixed, dist.fixed, strict=True)]
    out, seen = [], set()
    for role, symbol, var in rows:
        name = python_name(var.name)
        while name in seen:
            name += "_"
        seen.add(name)
        out.append(Argument(symbol, name, role, var))
    return tuple(out)


# ---------------------------------------------------------------------------- derivatives


def derivatives(d: Derivation, args) -> tuple[list, list, list]:
    """(gradients, diagonal hessians, per-class flags) of the loss, one per learned output.

    The stable form is differentiated (log-sum-exp gives softmax weights, softplus gives σ), so
    the derivatives inherit its stability."""
    loss, _ = prepare(d.loss)
    grads, hessians, per_class = [], [], []
    for arg in args:
        if arg.role != "learned":
            continue
        g = derivative(loss, arg.symbol, arg.vector)
        grads.append(g)
        hessians.append(derivative(g, arg.symbol, arg.vector))
        per_class.append(arg.vector)
    return grads, hessians, per_class


# ---------------------------------------------------------------------------- one function


@dataclass
class FunctionCode:
    """A private function of the emitted module: assignments, then the returned outputs."""

    name: str
    lines: list[tuple[str, str]]  # (temporary, code)
    outputs: list[str]
    per_class: list[bool]
    uses_classes: bool = False
    rewrites: list[str] = field(default_factory=list)
    unavailable: str = ""  # why the function cannot be evaluated (an undefined normaliser)
    signature: str = ""  # the arguments, where they are not the module's own
    latex: str = ""
    into: list[str] = field(default_factory=list)  # statements writing the outputs in place


def _into(printer: Printer, expr, per_class: bool, target: str) -> str:
    """A statement that writes ``expr`` into the array ``target`` (numpy), with no temporary and
    no copy where its last operation is a ufunc: a − b (np.subtract), a + b, a / b, a·b, each
    with ``out=target``; an assignment otherwise."""

    def show(e):
        return printer.doprint(e, per_class=per_class)

    if isinstance(expr, sp.Add):
        negative = [t for t in expr.args if t.could_extract_minus_sign()]
        positive = [t for t in expr.args if t not in negative]
        if positive and negative:
            return (
                f"np.subtract({show(sp.Add(*positive))}, {show(-sp.Add(*negative))}, out={target})"
            )
        first, *rest = expr.args
        return f"np.add({show(first)}, {show(sp.Add(*rest))}, out={target})"
    if isinstance(expr, sp.Mul):
        numerator, denominator = expr.as_numer_denom()
        if denominator != 1:
            return f"np.divide({show(numerator)}, {show(denominator)}, out={target})"
        first, *rest = expr.args
        return f"np.multiply({show(first)}, {show(sp.Mul(*rest))}, out={target})"
    call = printer.backend.table.get(type(expr)) if len(expr.args) == 1 else None
    if isinstance(call, str) and re.fullmatch(r"np\.(\w+)\(\{0\}\)", call):
        name = call[3:-5]
        if isinstance(getattr(np, name, None), np.ufunc):  # np.exp(x, out=target)
            return f"np.{name}({show(expr.args[0])}, out={target})"
    return f"{target}[...] = {show(expr)}"


def _statements_into(lines, temps, reduced, per_class, printer, into) -> list[str]:
    """The body of a function writing its outputs into the arrays named ``into``: the
    temporaries' assignments, then one :func:`_into` statement per output.  An output that is
    itself a temporary (poisson's hessian e^m, which the gradient e^m − y reads) is computed
    into its array where it is defined, and the temporary names that array: no copy."""
    targets = {}
    for e, target in zip(reduced, into, strict=False):
        if e in dict(temps) and e not in targets:
            targets[e] = target
    body = []
    for (name, code), (symbol, expr) in zip(lines, temps, strict=True):
        if symbol in targets:
            classed = symbol in printer.per_class
            body += [_into(printer, expr, classed, targets[symbol]), f"{name} = {targets[symbol]}"]
        else:
            body.append(f"{name} = {code}")
    for e, c, target in zip(reduced, per_class, into, strict=False):
        if targets.get(e) != target:
            body.append(_into(printer, e, c, target))
    return body


def _bound_indices(exprs):
    out = {CLASS_INDEX}
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.Sum):
                out.update(limit[0] for limit in node.limits)
            elif isinstance(node, logsumexp):
                out.add(node.args[1])
    return out


def _undefined(exprs) -> str:
    """The undefined functions (no closed form, such as Tweedie's normaliser c(y, φ)), as text."""
    found = set().union(*(sp.sympify(e).atoms(AppliedUndef) for e in exprs))
    return ", ".join(sorted(map(str, found)))


def function_code(
    name, backend: Backend, args, exprs, per_class, guards=None, into=()
) -> FunctionCode:
    """Rewrite, guard the cases (see :func:`.rewrite.guard_cases`), share subexpressions, print.
    An expression with an undefined function gives a function that raises NotImplementedError
    naming it.  With ``into`` (a name per output, numpy), the function writes each output into
    the array of that name instead of returning it (:func:`_into`)."""
    undefined = _undefined(exprs)
    if undefined:
        return FunctionCode(
            name, [], [], list(per_class), unavailable=f"{undefined} has no closed form"
        )
    prepared, fired = [], []
    observed = [a.symbol for a in args if a.role == "observed"]
    guards = _symbol_guards(guards, args)
    for expr in exprs:
        new, notes = prepare(expr)
        new, more = apply_rules(new, CLASS_AXIS_RULES)
        notes += more
        if guards:
            new = guard_cases(new, guards, observed)
        prepared.append(new)
        fired += [n for n in notes if n not in fired]
    arg_names = {a.name for a in args}
    prefix = next(
        p for p in ("t", "tmp", "_t") if not any(re.fullmatch(rf"{p}\d+", n) for n in arg_names)
    )
    temps, reduced = sp.cse(
        prepared,
        symbols=sp.numbered_symbols(prefix, cls=sp.Dummy),
        order="none",
        ignore=tuple(_bound_indices(prepared)),
    )
    names = {a.symbol: a.name for a in args}
    classed = set()
    lines = []
    for symbol, expr in temps:
        names[symbol] = symbol.name
        if J in expr.free_symbols or expr.free_symbols & classed:
            classed.add(symbol)
        printer = Printer(backend, names, classed, (J,), observed if guards else ())
        lines.append((symbol.name, printer.doprint(expr, per_class=symbol in classed)))
    printer = Printer(backend, names, classed, (J,), observed if guards else ())
    outputs = [printer.doprint(e, per_class=c) for e, c in zip(reduced, per_class, strict=True)]
    statements = _statements_into(lines, temps, reduced, per_class, printer, into) if into else []
    code = " ".join(c for _, c in lines) + " ".join(outputs)
    return FunctionCode(
        name=name,
        lines=lines,
        outputs=outputs,
        per_class=list(per_class),
        uses_classes=bool(re.search(r"\b_K\b", code)),
        rewrites=fired,
        into=statements,
    )


# ---------------------------------------------------------------------------- GBM objectives


def _objective_context(d: Derivation, b: Backend, args) -> dict:
    """The GBM part of the template's context (derive.codegen.objective): the margin's gradient
    and hessian, the inverse link and the intercept, or the reason there is no objective."""
    try:
        obj = objective(d)
    except NoObjective as why:
        return {"refusal": str(why), "functions": {}}
    taken = {a.name for a in args}
    name = next(n for n in ("margin", "margin_", "raw_margin") if n not in taken)
    classes = obj.classes  # K margins, the class axis last
    margin = Argument(
        CLASS_MARGIN if classes else MARGIN, name, "margin", Var(name, vector=classes)
    )
    observed = [a for a in args if a.role == "observed"]
    fixed = [a for a in args if a.role == "fixed"]
    inputs = [*observed, margin, *fixed]
    formulas = share_exponentials([obj.gradient, obj.hessian])
    functions = {
        "_objective_parts": function_code(
            "_objective_parts",
            b,
            inputs,
            formulas,
            [classes, classes],
            d.dist.guards,
        ),
        "_inverse_link": function_code("_inverse_link", b, [margin], [obj.inverse], [classes]),
    }
    functions["_objective_parts"].signature = ", ".join(a.name for a in inputs)
    if b.blocked:  # blocks write the gradient and hessian straight into the outputs
        into = function_code(
            "_objective_into",
            b,
            inputs,
            formulas,
            [classes, classes],
            d.dist.guards,
            into=("_g", "_h"),
        )
        into.signature = ", ".join(["_g", "_h", *(a.name for a in inputs)])
        functions["_objective_into"] = into
    functions["_inverse_link"].signature = name
    closed = obj.intercept
    if closed is not None:
        mean = Argument(
            CLASS_YBAR if classes else YBAR, "ybar", "statistic", Var("ybar", vector=classes)
        )
        try:
            code = function_code("_intercept", b, [mean, *fixed], [closed], [classes])
        except Unsupported:  # a closed form through a function the backend lacks (erfcinv)
            closed = None
        else:
            code.signature = ", ".join(a.name for a in (mean, *fixed))
            functions["_intercept"] = code
    if any(functions[f].uses_classes for f in functions):  # _K would read the module's vectors
        raise Unsupported(f"{d.dist.name}: the objective needs the number of classes")
    dist = d.dist
    param = dist.learned[0].name
    return {
        "functions": functions,
        "margin": name,
        "link": obj.link,
        "param": param,
        "inverse_text": NATURAL_LINKS[obj.link].text.replace("m", name),
        "inverse_latex": tex(obj.inverse),
        "gradient_latex": tex(obj.gradient),
        "hessian_latex": tex(obj.hessian),
        "surrogate": obj.surrogate,
        "intercept_latex": tex(closed) if closed is not None else None,
        "closed_intercept": closed is not None,
        "classes": classes,
    }


def _symbol_guards(guards, args):
    """The declaration's guards (condition → {observed name: value}) keyed by symbol."""
    if not guards:
        return {}
    by_name = {a.var.name: a.symbol for a in args if a.role == "observed"}
    return {
        cond: {by_name[n]: sp.sympify(v) for n, v in values.items() if n in by_name}
        for cond, values in guards.items()
    }


# ---------------------------------------------------------------------------- reductions


def _two_factors(body):
    """(a, b) where body = a·b or body = a² (neither factor a number), else None."""
    if body.is_Pow and body.exp == 2:
        return body.base, body.base
    if body.is_Mul and len(body.args) == 2 and not any(f.is_number for f in body.args):
        return body.args
    return None


def reduction_plan(loss):
    """Split a loss into the terms a blocked reduction sums as they are and the terms it reduces
    as dot products, Σᵢ c·aᵢ·bᵢ = c·(a · b): c·a·b, c·r² and c·Σₖ aₖbₖ over the class axis.

    Returns (the rest, [(c, per_class, a, b), ...]); per-class factors use the free index J."""
    rest, pairs = [], []
    for term in sp.Add.make_args(loss):
        coeff, body = term.as_coeff_Mul()
        per_class = isinstance(body, sp.Sum) and len(body.limits) == 1
        if per_class:
            (k, lo, hi), inner = body.limits[0], body.function
            if (lo, hi) != (1, N_CLASSES):
                rest.append(term)
                continue
            inner_coeff, body = inner.xreplace({k: J}).as_coeff_Mul()
            coeff *= inner_coeff
        factors = _two_factors(body)
        if factors is None or not coeff.is_number:
            rest.append(term)
        else:
            pairs.append((coeff, per_class, *factors))
    return sp.Add(*rest), pairs


# ---------------------------------------------------------------------------- value checks

#: Constraints whose bounds are not a domain: an angle outside (−π, π] is the same angle.
PERIODIC = frozenset({"angle"})


def _interval(name, lo, hi, strict, discrete, printer, vector) -> tuple[str, list[str]]:
    """Code for the mask where the array ``name`` lies outside [lo, hi] ((lo, hi) where
    ``strict``), or is not an integer where ``discrete``, and the checks "anywhere" (each a
    flag: min or max reductions against a numeric bound, no mask; numpy's blocked reductions
    use them); ("", []) where nothing can be outside.  The closed [0, 1] is one check: one
    integer maximum over the bits (``_in_unit``) decides the usual case, the min and max only
    where it fails."""
    below, above = ("<=", ">=") if strict else ("<", ">")
    floor = printer.backend.table[sp.floor].format(name)
    masks, flags, ranges = [], [], []
    for bound, op, reduce in ((lo, below, "np.min"), (hi, above, "np.max")):
        if bound.is_finite:
            masks.append(f"({name} {op} {printer.doprint(bound)})")
            if bound.free_symbols:  # a bound that varies by example: compared element-wise
                flags.append(f"bool(np.any({masks[-1]}))")
            else:
                ranges.append(f"bool({reduce}({name}) {op} {printer.doprint(bound)})")
    if len(ranges) == 2 and (lo, hi) == (0, 1) and not strict:
        flags.append(f"not _in_unit({name}) and ({' or '.join(ranges)})")
    else:
        flags += ranges
    if discrete:
        masks.append(f"({name} != {floor})")
        flags.append(f"bool(np.any({masks[-1]}))")
    if not masks:
        return "", []
    mask = " | ".join(masks)
    return (printer.backend.any.format(mask) if vector else mask), flags


def _domain_parts(d: Derivation, backend: Backend, args):
    """([(argument, mask, checks)] of the parameters outside their domain, the same of
    each observed value outside the support), or None where neither can happen."""
    dist = d.dist
    observed = [a for a in args if a.role == "observed"]
    if not observed or observed[0].var.constraint in PERIODIC:
        return None
    # several observed values are a censored observation's bounds: checked where they are a
    # count's (integers from the support's lower end, or ∞: no upper end)
    bounds = len(observed) > 1
    if bounds and not all(a.var.domain.discrete for a in observed):
        return None
    printer = Printer(backend, {a.symbol: a.name for a in args}, set(), (J,))
    outside = []
    try:
        lo, hi = (sp.sympify(b) for b in dist.support_bounds)
        by_name = {a.var.name: a.symbol for a in args}
        lo, hi = (b.xreplace({s: by_name.get(s.name, s) for s in b.free_symbols}) for b in (lo, hi))
        for y in observed:
            top = sp.oo if bounds else hi
            found = _interval(y.name, lo, top, False, y.var.domain.discrete, printer, y.vector)
            if found[0]:
                outside.append((y, *found))
    except Unsupported:
        return None
    bad = []
    for a in args:
        constraint = a.var.domain
        if a.role == "observed" or a.var.constraint in PERIODIC:
            continue
        lo, hi = (sp.sympify(b) for b in constraint.support)
        strict = bool(constraint.assumptions.get("positive")) and not constraint.discrete
        found = _interval(a.name, lo, hi, strict, constraint.discrete, printer, a.vector)
        if found[0]:
            bad.append((a, *found))
    if not outside and not bad:
        return None
    return bad, outside


def domain_code(d: Derivation, backend: Backend, args) -> list[FunctionCode]:
    """``_domain``: (parameters outside their domain, observed value outside the support), the
    masks where ``nll`` is NaN and +inf (as scipy's −logpdf is); [] where neither can happen.

    The observed support is closed ([lo, hi]: the density's value at an edge is the formula's);
    a parameter's domain is open where its constraint is a strict inequality (positive, not
    discrete: σ > 0)."""
    parts = _domain_parts(d, backend, args)
    if parts is None:
        return []
    bad, outside = parts
    masks = [
        " | ".join(f"({m})" for _, m, _ in bad) or "False",
        " | ".join(m for _, m, _ in outside) or "False",
    ]
    # a support up to the number of classes (ordinal: y ≤ K) reads K off the vectors
    classes = bool(re.search(r"\b_K\b", " ".join(masks)))
    return [FunctionCode("_domain", [], masks, [False, False], uses_classes=classes)]


def domain_checks(
    d: Derivation, backend: Backend, args
) -> list[tuple[int, tuple[int, ...], str, str]]:
    """For a backend that reduces in blocks, the checks behind ``_domain``'s masks as flags, one
    per bound: (0 for a parameter outside its domain or 1 for an observed value outside the
    support, the indices of the arguments the check reads, its parameters, its code).  The
    runtime evaluates a check of arguments that do not vary by block (numbers, broadcast
    arrays) once per call, the others block by block, and none whose flag is already set."""
    parts = _domain_parts(d, backend, args) if backend.blocked else None
    if parts is None:
        return []
    bad, outside = parts
    names = [a.name for a in args]
    vectors = [a.name for a in args if a.vector]
    out = []
    for flag, found in enumerate((bad, outside)):
        for a, _, checks in found:
            for code in checks:
                if re.search(r"\b_K\b", code):  # ordinal: y ≤ K, K read off the vectors
                    code = re.sub(r"\b_K\b", f"_classes({', '.join(vectors)})", code)
                used = {a.name} | {n for n in names if re.search(rf"\b{re.escape(n)}\b", code)}
                indices = tuple(i for i, n in enumerate(names) if n in used)
                out.append((flag, indices, ", ".join(names[i] for i in indices), code))
    return out


def _log_terms(expr) -> set:
    """The symbols x of the additive terms c·log(x) of ``expr`` (c a nonzero number): where
    x ≤ 0, log x is −inf or NaN, and so is any sum with that term."""
    out = set()
    for term in sp.Add.make_args(expr):
        c, body = term.as_coeff_Mul()
        if c != 0 and c.is_finite and isinstance(body, sp.log) and body.args[0].is_Symbol:
            out.add(body.args[0])
    return out


def nonfinite_checks(d: Derivation, backend: Backend, args, checks) -> list[int]:
    """The indices of the rows of ``checks`` (:func:`domain_checks`) that a blocked reduction
    needs only where a block's nll sum is not finite: a bound x ≥ 0 (x > 0) of an argument x
    without a class axis whose nll (and the rest of its reduction plan, summed apart) has a term
    c·log(x), evaluated on every example — an x below the bound makes log x, and so the sum,
    −inf or NaN. Entries with guarded cases (where a term may be left out) have none."""
    if not checks or d.dist.guards or _undefined([d.nll]):
        return []
    sums = [prepare(d.nll)[0]]
    rest, pairs = reduction_plan(sums[0])
    if pairs:  # float64 blocks sum the plan's rest apart from its dot products
        sums.append(prepare(rest)[0])
    found = set.intersection(*(_log_terms(apply_rules(e, CLASS_AXIS_RULES)[0]) for e in sums))
    names = {a.name for a in args if a.symbol in found and not a.vector}
    below = {f"bool(np.min({n}) {op} 0)" for n in names for op in ("<", "<=")}
    return [i for i, (_, _, _, code) in enumerate(checks) if code in below]


def labels_range(d: Derivation, args) -> tuple | None:
    """(lo, hi) where the loss takes labels or probabilities in [0, 1] (the observed variable's
    declared domain) and is not a cross-entropy outside it (a negative BCE at y = −1): `loss`
    checks its observed values against it.  None elsewhere."""
    observed = [a for a in args if a.role == "observed"]
    if len(observed) != 1 or d.dist.support is not None:
        return None
    lo, hi = observed[0].var.domain.support
    return (0, 1) if (lo, hi) == (0, 1) else None


# ---------------------------------------------------------------------------- the module


def resolve(target) -> Derivation:
    """A catalog name, a Distribution or a Derivation, as a Derivation."""
    if isinstance(target, Derivation):
        return target
    if isinstance(target, Distribution):
        return derive_cached(target)
    return derive_cached(get(target))


def pytuple(items, raw: bool = False) -> str:
    """A Python tuple literal: strings quoted (unless ``raw``: code), one item with a comma."""
    parts = [x if raw or not isinstance(x, str) else json.dumps(x) for x in items]
    return "(" + ", ".join(map(str, parts)) + ("," if len(parts) == 1 else "") + ")"


def _environment():
    """Jinja with its usual delimiters: the TeX environment's ``\\VAR{…}`` ends at the first
    ``}``, which Python source (dict literals, f-strings) is full of."""
    import jinja2

    from ..latex import template_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pytuple"] = pytuple
    env.filters["pystr"] = jinja2.pass_context(lambda ctx, text: ctx["literals"](text))
    return env


@lru_cache(maxsize=1)
def environment():
    return _environment()


def _imports(backend: Backend, code: str) -> list[str]:
    """The backend's first import (its runtime helpers use it), then those the code uses."""
    first, *rest = backend.imports.items()
    return [first[1], *(line for prefix, line in rest if prefix in code)]


def _requires(imports) -> list[str]:
    """ "from scipy import special" -> "scipy.special", "import numpy as np" -> "numpy"."""
    out = []
    for line in imports:
        words = line.split()
        out.append(f"{words[1]}.{words[3]}" if words[0] == "from" else words[1])
    return out


def _helpers(backend: Backend, code: str) -> list[str]:
    return [h for h in backend.helpers if re.search(rf"\b{h}\(", code)]


def context_command(name: str, backend: str, grad: bool) -> str:
    """The command line that emits this module."""
    backend_flag = f" --backend {backend}" if backend != "numpy" else ""
    return f"derive code {name}{backend_flag}" + (" --grad" if grad else "")


# ---------------------------------------------------------------------------- torch's loss module

#: The clamp policy of the torch loss module, by standard id: (learned parameter, power, eps)
#: floors parameter**power at eps in the forward value, with the gradient passed straight
#: through, exactly as torch.nn.functional.gaussian_nll_loss clamps var = σ² (var.clamp_(min=eps)
#: under no_grad).  Entries without a row clamp nothing: their forms are finite wherever the
#: exact value is.
TORCH_CLAMPS = {"gaussian_nll": ("sigma", 2, 1e-6)}

#: What the targets of a torch loss module look like, by the observed variable's constraint:
#: categorical targets (class indices, or one-hot/probabilities) and binary ones (pos_weight).
TORCH_TARGETS = {"simplex": "categorical", "onehot": "categorical", "binary": "binary"}


def class_name(name: str) -> str:
    """The loss module's class name: `categorical-logit` becomes `CategoricalLogitLoss`."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Derived"
    return ("D" + text if text[0].isdigit() else text) + "Loss"


def torch_module(d: Derivation, args) -> dict:
    """The torch backend's nn.Module loss class: forward(input..., target, fixed...)."""
    kind = TORCH_TARGETS.get(d.dist.observed.constraint, "plain")
    clamp = TORCH_CLAMPS.get(d.standard.id if d.standard else None)
    learned = [a.name for a in args if a.role == "learned"]
    if clamp is not None:
        name, power, eps = clamp
        clamp = {"index": [v.name for v in d.dist.learned].index(name), "power": power, "eps": eps}
        clamp["param"] = learned[clamp["index"]]
    return {
        "class_name": class_name(d.dist.name),
        "kind": kind if kind != "categorical" or len(learned) == 1 else "plain",
        "clamp": clamp,
    }


def context(target, backend: str = "numpy", grad: bool = False, prior: str | None = None) -> dict:
    """Everything the template needs, from the derivation (and, with ``prior``, the penalty and
    MAP objective of a linear predictor under that prior on its weights)."""
    d = resolve(target)
    if backend not in BACKENDS:
        raise Unsupported(f"unknown backend {shown(backend)}; choose one of {', '.join(BACKENDS)}")
    b = BACKENDS[backend]
    args = arguments(d)
    guards = d.dist.guards
    if _undefined([d.loss]):
        raise Unsupported(f"the loss of {d.dist.name} involves {_undefined([d.loss])}")
    functions = {
        "_loss": function_code("_loss", b, args, [d.loss], [False], guards),
        "_nll": function_code("_nll", b, args, [d.nll], [False], guards),
    }
    learned = [a for a in args if a.role == "learned"]
    kinks = False
    plans = {}
    for function, expr in (("loss", d.loss), ("nll", d.nll)):
        if not b.blocked or _undefined([expr]):
            continue
        rest, pairs = reduction_plan(prepare(expr)[0])
        if pairs:  # blocks reduce c·a·b terms as dot products
            outputs = ([rest] if rest != 0 else []) + [f for _, _, a, b in pairs for f in (a, b)]
            flags = ([False] if rest != 0 else []) + [c for _, c, _, _ in pairs for _ in (0, 1)]
            name = f"_{function}_parts"
            functions[name] = function_code(name, b, args, outputs, flags, guards)
            plans[function] = (rest != 0, [(float(c), per_class) for c, per_class, _, _ in pairs])
    gbm = None
    functions.update((f.name, f) for f in domain_code(d, b, args))
    labels = labels_range(d, args)
    if grad:
        grads, hessians, per_class = derivatives(d, args)
        functions["_gradient"] = function_code("_gradient", b, args, grads, per_class, guards)
        functions["_hessian"] = function_code("_hessian", b, args, hessians, per_class, guards)
        gbm = _objective_context(d, b, args)
    kinks = grad and any(h.has(sp.DiracDelta) for h in hessians)
    if gbm is not None:
        functions.update(gbm.pop("functions"))
    deviance_latex = _deviance_function(d, b, args, functions)
    map_block = _prior_functions(d, b, args, functions, prior) if prior else None
    code = "\n".join(" ".join([*(c for _, c in f.lines), *f.outputs]) for f in functions.values())
    kernels = []
    if b.kernels:  # numba's compiled loops, whose runtime (in its template) imports numba
        kernels = _kernels(d, args, guards, labels)
        code += " numba."
    helpers = _helpers(b, code)
    checks = ["_labels"] if labels else []  # the runtime's label check (jax's reads jax.errors)
    code += " " + " ".join(b.helper_uses.get(h, "") for h in helpers + checks)
    rewrites = []
    for f in functions.values():
        rewrites += [n for n in f.rewrites if n not in rewrites]
    dist = d.dist
    displayed = {"latex": latex_of(d), "steps": steps_of(d)}  # as `derive show --json` gives it
    checks_table = domain_checks(d, b, args)
    return {
        "name": dist.name,
        "title": dist.title,
        "notes": dist.notes,
        "command": context_command(dist.name, backend, grad),
        "backend": backend,
        "grad": grad,
        "standard": d.standard.id if d.standard else None,
        "standard_title": d.standard.title if d.standard else None,
        "latex": displayed["latex"],
        "steps": [(step["note"], step["latex"]) for step in displayed["steps"]],
        "args": args,
        "observed": [a.name for a in args if a.role == "observed"],
        "params": [a.name for a in learned],
        "fixed": [a.name for a in args if a.role == "fixed"],
        "vectors": [a.name for a in args if a.vector],
        "classes": [a.vector for a in args],
        "functions": functions,
        "kernels": kernels,
        "imports": _imports(b, code),
        "requires": _requires(_imports(b, code)),
        "helpers": helpers,
        "rewrites": rewrites,
        "plans": plans,
        "kinks": kinks,
        "gbm": gbm,
        # censored: the bounds come from the DMatrix's label_lower_bound / label_upper_bound
        "bounds": len(d.dist.observations) == 2,
        "objectives": gbm is not None and "refusal" not in gbm and b.objectives,
        "torch_module": torch_module(d, args) if b.loss_module else None,
        "labels": labels,
        "domain_checks": checks_table,
        "nonfinite_checks": nonfinite_checks(d, b, args, checks_table),
        "deviance_latex": deviance_latex,
        "prior": map_block,
    }


def _kernels(d: Derivation, args, guards, labels) -> list[dict]:
    """numba: the compiled kernel of `loss`, where its formula has a scalar form for one example
    (derive.codegen.backends.NUMBA_KERNEL), or for one row of a vector family (its class sums and
    log-sum-exps as loops, :func:`_class_loops`); none for formulas with a function that has no
    scalar form (the numpy code reduces those, as in the numpy module)."""
    if _undefined([d.loss]):
        return []
    vector = any(a.vector for a in args)
    variants = []
    for suffix, table in (("", NUMBA_KERNEL), ("32", NUMBA_KERNEL32)):  # float64, float32
        loops: list[tuple[str, str, str]] = []
        backend = table.extend(_class_loops(args, loops, suffix)) if vector else table
        try:
            element = function_code("_loss", backend, args, [d.loss], [False], guards)
        except Unsupported:
            return []
        variants.append({"suffix": suffix, "element": element, "loops": loops})
    return [{"name": "_loss", "labels": bool(labels), "vector": vector, "variants": variants}]


def _class_loops(args, loops, suffix) -> dict:
    """Table entries for one row of a vector family's kernel, ``_loss_element(_i, _K, *arrays,
    _r0, _r1, ...)``: a per-example argument is ``_at(a, _i)``, a vector's component
    ``a[_i, c]``, and each class sum or log-sum-exp over k = 1..K the value ``_rn`` of a loop
    function appended to ``loops`` as (name, kind, body).  The kernel copies a block of rows of
    each vector transposed (``_t_a``, classes by rows), runs each loop function over it, classes
    outside and rows inside (so that the rows' exp vectorise, on contiguous values), then the
    rows' elements.  Nested class reductions, partial sums and the class index as a
    value have no kernel (Unsupported)."""
    per_example = {a.symbol for a in args if not a.vector}
    vectors = {a.symbol for a in args if a.vector}

    def symbol(p, s):
        if s in per_example:
            return f"_at({p.names[s]}, _i)"
        if s in p.class_indices and s not in p.names:
            raise Unsupported(f"the class index {s} as a value has no numba kernel")
        if isinstance(s, sp.Dummy) and p.class_mode:  # a temporary inside a loop function
            raise Unsupported("a shared subexpression inside a class loop has no numba kernel")
        return Printer._print_Symbol(p, s)

    def indexed(p, e):
        base, (index,) = e.base, e.indices
        if base not in vectors:
            raise Unsupported(f"{base} is not a vector argument")
        if p.class_mode and index in p.class_indices:  # the block's transposed copy
            return f"_t_{p.names[base]}[_j, _row]"
        if index.is_Integer:
            return f"{p.names[base]}[_i, {int(index) - 1}]"
        raise Unsupported(f"{e}: the index {index} is not a class index in scope")

    def loop(kind):
        def fmt(p, e):
            if kind == "sum":
                if len(e.limits) != 1 or tuple(e.limits[0][1:]) != (1, N_CLASSES):
                    raise Unsupported(f"{e}: only full class sums have a numba kernel")
                k, body = e.limits[0][0], e.function
            else:
                body, k, K = e.args
                if K != N_CLASSES:
                    raise Unsupported(f"{e}: logsumexp must run over the class axis")
            if p.class_mode:
                raise Unsupported(f"{e}: nested class reductions have no numba kernel")
            with p.class_axis(k):
                text = p._print(body)
            loops.append((f"_loss_loop{len(loops)}{suffix}", kind, text))
            return f"_r{len(loops) - 1}"

        return fmt

    return {sp.Symbol: symbol, sp.Indexed: indexed, sp.Sum: loop("sum"), logsumexp: loop("lse")}


def _deviance_function(d, backend, args, functions) -> str:
    """Adds ``_deviance`` (the unit deviance, in the loss's arguments) where the entry has one;
    returns its LaTeX, or "" where there is none."""
    from ..expfamily import deviance

    dev = deviance(d)
    if dev.unit is None or _undefined([dev.unit]):
        return ""
    functions["_deviance"] = function_code("_deviance", backend, args, [dev.unit], [False])
    return tex(dev.unit)


def _prior_functions(d, backend, args, functions, name) -> dict:
    """``_penalty`` and ``_penalty_gradient`` (one weight), ``_scale`` (the loss's a) and
    ``_loss_derivative`` (∂loss/∂θ) for the MAP objective of θ = X·w; returns the prior's context.
    """
    from ..prior import derive_prior, map_objective

    prior = derive_prior(name)
    objective = map_objective(d, prior)
    weight = Argument(prior.weight, "w", "weight", Var("w", doc="weights"))
    scales = [
        Argument(s, python_name(v.name), "prior scale", v)
        for s, v in zip(prior.scales, prior.scale_vars, strict=True)
    ]
    inputs = [weight, *scales]
    penalty = function_code("_penalty", backend, inputs, [prior.penalty], [False])
    gradient = function_code(
        "_penalty_gradient", backend, inputs, [sp.diff(prior.penalty, prior.weight)], [False]
    )
    fixed = [a for a in args if a.role == "fixed"]
    scale = function_code("_scale", backend, fixed, [d.scale], [False])
    (learned,) = (a for a in args if a.role == "learned")
    derivative = function_code(
        "_loss_derivative", backend, args, [sp.diff(prepare(d.loss)[0], learned.symbol)], [False]
    )
    for code in (penalty, gradient):
        code.signature = ", ".join(a.name for a in inputs)
    scale.signature = ", ".join(a.name for a in fixed) or "*_"  # no fixed arguments: a number
    functions.update(
        {"_penalty": penalty, "_penalty_gradient": gradient, "_scale": scale,
         "_loss_derivative": derivative}
    )  # fmt: skip
    match = prior.match
    return {
        "name": prior.name,
        "title": prior.title,
        "scales": [a.name for a in scales],
        "standard": match.penalty.id if match else None,
        "standard_title": match.penalty.title if match else None,
        "penalty_latex": tex(prior.penalty),
        "strengths": {atom: tex(lam) for atom, lam in objective.strengths_loss.items()},
        "learned": learned.name,
    }


def render_checked(template: str, values: dict) -> str:
    """Render ``template`` with every text through :func:`.literal.pystr`, then check the result
    against a skeleton rendered with the texts blanked (:func:`.literal.check`)."""
    template = environment().get_template(template)
    literals, blanks = Literals(), Literals(blank=True)
    source = template.render(**values, literals=literals)
    literal.check(source, template.render(**values, literals=blanks), literals.texts)
    return source


def module_source(
    target, backend: str = "numpy", grad: bool = False, prior: str | None = None
) -> str:
    """The emitted module's source for a catalog name, a Distribution or a Derivation; with
    ``prior``, also the penalty and MAP objective of a linear predictor under that prior."""
    values = context(target, backend, grad, prior)
    return render_checked(BACKENDS[backend].template, values)


@lru_cache(maxsize=64)
def _load_named(name: str, backend: str, grad: bool) -> types.ModuleType:
    return _load(module_source(name, backend, grad), name, backend)


def _load(source: str, name: str, backend: str) -> types.ModuleType:
    module = types.ModuleType(f"derive_{python_name(name)}_{backend}")
    module.__source__ = source
    exec(compile(source, f"<derive code {name} --backend {backend}>", "exec"), module.__dict__)
    return module


def load(
    target, backend: str = "numpy", grad: bool = False, prior: str | None = None
) -> types.ModuleType:
    """The emitted module, in-process, without writing a file (catalog names are cached).

    Parameters:
        target: a catalog name, a :class:`~derive.spec.Distribution` or a Derivation.
        backend: "numpy", "torch", "jax" or "numba".
        grad: also ``gradient``/``hessian`` (and the GBM objectives, numpy, one raw output).
        prior: a prior's name (`derive prior`): the MAP objective's penalty too.

    The module holds ``loss(observed, *params, *fixed, reduction="mean")`` and ``nll(...)``;
    the torch backend also an ``nn.Module`` loss class in torch's order (``forward(input...,
    target)``), e.g. ``CategoricalLogitLoss``.

    >>> import derive
    >>> m = derive.load("poisson-log")
    >>> m.PARAMS, float(m.loss([2.0], [0.0]))
    (('eta',), 1.0)
    """
    if isinstance(target, str):
        if prior is not None:
            return _load(module_source(target, backend, grad, prior), target, backend)
        return _load_named(target, backend, grad)
    d = resolve(target)
    return _load(module_source(d, backend, grad, prior), d.dist.name, backend)


def test_source(
    target, module: str, backend: str = "numpy", grad: bool = False, count: int = 4
) -> str:
    """A pytest file pinning the emitted module ``module`` to mpmath values of the derivation."""
    from . import reference

    d = resolve(target)
    args = arguments(d)
    points = reference.points(d, args, count)
    nll = None if _undefined([d.nll]) else [reference.value(d.nll, args, p) for p in points]
    derivs = [reference.derivatives(d, args, p) for p in points] if grad else []
    learned = [a for a in args if a.role == "learned"]
    command = context_command(d.dist.name, backend, grad)
    if not module.isidentifier() or keyword.iskeyword(module):
        raise Unsupported(f"{shown(module)} is not a module name the tests can import")
    return render_checked(
        "module_tests.py.j2",
        dict(
            module=module,
            command=command,
            dps=reference.DPS,
            arguments=[a.name for a in args],
            points=[repr(p) for p in points],
            loss=repr([reference.value(d.loss, args, p) for p in points]),
            nll=None if nll is None else repr(nll),
            grad=grad,
            gradient=repr([g for g, _ in derivs]),
            hessian=repr([h for _, h in derivs]),
            n_params=len(learned),
            rtol=1e-9,
        ),
    )

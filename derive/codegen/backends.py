"""Backends: one function table each, and the printer that reads them.

A table maps a SymPy class to a call template (``"np.exp({0})"``, formatted with the printed
arguments) or to a function ``(printer, expr) -> str`` for the few that need more.  Nothing falls
through to SymPy's or lambdify's defaults: an expression node that is neither arithmetic nor in the
table is an :class:`Unsupported` error naming it.  Extend a table without touching the global one
with ``Backend.extend({cls: template})``.

Array conventions, shared by every backend: arguments broadcast like numpy; vector variables carry
the class axis last.  Inside a sum over the class index (and in per-class outputs such as the
gradient with respect to a vector of logits) an expression is evaluated with the class axis present:
a vector prints as its array, a per-example array ``a`` prints as ``a[..., None]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.codegen.numpy_nodes import logaddexp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .. import functions
from ..errors import UserError
from ..functions import sigmoid, softplus, xlogy
from ..spec import N_CLASSES
from .rewrite import (
    Where,
    beta_offset,
    ive,
    lgamma,
    lgamma_ratio,
    lgamma_stirling,
    log1p_square,
    saddle_deviance,
    softplus_minus,
    xlog1py,
)

Template = str | Callable[["Printer", sp.Basic], str]


class Unsupported(UserError):
    """An expression the backend has no mapping for; the message names it."""


# Arithmetic the printer handles itself (StrPrinter's Add and Mul, this module's Pow).
_CORE = (sp.Symbol, sp.Indexed, sp.Integer, sp.Add, sp.Mul, sp.Pow)


@dataclass(frozen=True)
class Backend:
    """How one array library spells the functions derive emits.

    ``imports`` maps a prefix used in emitted code (``"special."``) to the import line it needs;
    only the lines whose prefix occurs in the code are emitted.  ``template`` is the module
    template of the backend (``templates/module_numpy.py.j2``, extending ``module.py.j2``): every
    difference in the emitted module's text lives there, every difference in what is emitted in
    the flags below.
    """

    name: str
    table: Mapping[type, Template]
    sqrt: str
    sum: str  # over the class axis: "{body}", "{keep}" (keep the axis)
    keep: str  # what {keep} becomes when the class axis is kept
    any: str  # whether any of a mask is true over the class axis
    logsumexp: str
    where: str
    imports: Mapping[str, str]
    template: str
    helper_uses: Mapping[str, str] = field(default_factory=dict)  # helper -> import prefix it uses
    #: the class index k = 1..K along the class axis ({vector}: a vector argument, for a device)
    index: str = ""
    #: reductions run in cache-sized blocks, c*a*b terms as dot products (the reduction plans)
    blocked: bool = False
    #: the GBM objectives (xgboost and LightGBM call them with numpy arrays)
    objectives: bool = False
    #: an nn.Module loss class in torch's argument order
    loss_module: bool = False
    #: compiled kernels for the reductions of `loss` (numba: derive.codegen.emit._kernels)
    kernels: bool = False
    #: how a number is written ("np.float32({0})": numba's float32 kernels, where a float64
    #: literal would turn float32 arithmetic into float64)
    literal: str = "{0}"

    @property
    def helpers(self) -> tuple[str, ...]:
        """The private functions of the module template (``_softplus``) this backend calls: the
        names its string templates call (:data:`HELPER_CALLS`, the class reductions, its own
        entries), so that the list cannot disagree with the table."""
        texts = [t for t in self.table.values() if isinstance(t, str)]
        texts += [self.sum, self.logsumexp, self.where]
        return tuple(sorted({m for t in texts for m in re.findall(r"\b(_[a-z]\w*)\(", t)}))

    def extend(self, extra: Mapping[type, Template]) -> Backend:
        """A copy with more (or different) table entries; the original is unchanged."""
        return replace(self, table={**self.table, **extra})


# ---------------------------------------------------------------------------- shared entries


def _chain(template):
    """Max/Min with any number of arguments, as nested binary calls."""

    def fmt(p, e):
        out = p._print(e.args[0])
        for arg in e.args[1:]:
            out = template.format(out, p._print(arg))
        return out

    return fmt


def _relation(op):
    return lambda p, e: f"({p._print(e.lhs)} {op} {p._print(e.rhs)})"


def _boolean(op):
    return lambda p, e: "(" + f" {op} ".join(p._print(a) for a in e.args) + ")"


def _heaviside(template):
    def fmt(p, e):
        x = e.args[0]
        h0 = e.args[1] if len(e.args) > 1 else sp.S.Half
        return template.format(p._print(x), p._print(h0))

    return fmt


def _zero_like(template):
    """DiracDelta: zero away from its point (where the hessian of |x| is not defined)."""
    return lambda p, e: template.format(p._print(e.args[0]))


LOGIC = {
    sp.StrictLessThan: _relation("<"),
    sp.LessThan: _relation("<="),
    sp.StrictGreaterThan: _relation(">"),
    sp.GreaterThan: _relation(">="),
    sp.Equality: _relation("=="),
    sp.Unequality: _relation("!="),
    sp.And: _boolean("&"),
    sp.Or: _boolean("|"),
    sp.Not: lambda p, e: f"~{p._print(e.args[0])}",
}


def _polygamma(template, digamma):
    """polygamma(n, x); order 0 is the digamma function (some backends only have that)."""

    def fmt(p, e):
        n, x = e.args
        if n == 0:
            return digamma.format(p._print(x))
        if not n.is_Integer:
            raise Unsupported(f"polygamma of non-integer order {n} has no {p.backend.name} mapping")
        return template.format(int(n), p._print(x))

    return fmt


def _ive(templates, general=None):
    """ive(ν, x): a table of fixed-order functions (i0e, i1e: several times faster than the
    general ive), and the general function (order, x) for other orders where there is one."""

    def fmt(p, e):
        nu, x = e.args
        if nu.is_Integer and int(nu) in templates:
            return templates[int(nu)].format(p._print(x))
        if general is not None:
            return general.format(p._print(nu), p._print(x))
        raise Unsupported(f"ive of order {nu} has no {p.backend.name} mapping")

    return fmt


def _clamp_or(template, clamp):
    """torch.maximum needs two tensors: a number argument becomes a clamp."""

    def fmt(p, e):
        numbers = [a for a in e.args if a.is_number]
        others = [a for a in e.args if not a.is_number]
        if len(numbers) == 1 and len(others) == 1:
            return clamp.format(p._print(others[0]), p._print(numbers[0]))
        return _chain(template)(p, e)

    return fmt


def _not_supported(what):
    """An entry for a function the backend's library lacks: emitting it is one clear error."""

    def fmt(p, e):
        raise Unsupported(
            f"{type(e).__name__} is not supported by the {p.backend.name} backend: {what}"
        )

    return fmt


def _primitives(templates: Mapping[str, Template]) -> dict[type, Template]:
    """Entries for derive's own primitives, by name (derive.functions.PRIMITIVES)."""
    return {getattr(functions, n): t for n, t in templates.items() if hasattr(functions, n)}


# ---------------------------------------------------------------------------- the tables

#: Element-wise functions spelled the same in numpy, torch and jax (torch overrides arctan).
ELEMENTWISE = {
    sp.exp: "exp({0})",
    sp.log: "log({0})",
    log1p: "log1p({0})",
    expm1: "expm1({0})",
    sp.Abs: "abs({0})",
    sp.sign: "sign({0})",
    sp.sin: "sin({0})",
    sp.cos: "cos({0})",
    sp.tan: "tan({0})",
    sp.sinh: "sinh({0})",
    sp.cosh: "cosh({0})",
    sp.tanh: "tanh({0})",
    sp.atan: "arctan({0})",
    sp.atan2: "arctan2({0}, {1})",
    sp.floor: "floor({0})",
    sp.ceiling: "ceil({0})",
    logaddexp: "logaddexp({0}, {1})",
}


def _elementwise(module: str) -> dict[type, Template]:
    return {fn: f"{module}.{call}" for fn, call in ELEMENTWISE.items()}


#: Calls of the helpers every emitted module defines for itself, the same in each backend:
#: stable forms no array library offers under one name.
HELPER_CALLS = {
    softplus: "_softplus({0})",
    lgamma_ratio: "_lgamma_ratio({0}, {1})",
    log1p_square: "_log1p_square({0})",
    lgamma_stirling: "_lgamma_stirling({0})",
    saddle_deviance: "_saddle_deviance({0}, {1}, {2})",
    beta_offset: "_beta_offset({0}, {1}, {2})",
    softplus_minus: "_softplus_minus({0}, {1})",
    **_primitives(
        {
            "logcosh": "_logcosh({0})",
            "huber": "_huber({0}, {1})",
            "log_i0": "_log_i0({0})",
            "log1mexp": "_log1mexp({0})",
            "log_erf": "_log_erf({0})",
            # a + log1mexp(b − a): a is printed twice (cse has already shared any common work)
            "logdiffexp": "({0} + _log1mexp({1} - ({0})))",
        }
    ),
}

NUMPY = Backend(
    name="numpy",
    table={
        **LOGIC,
        **_elementwise("np"),
        sp.Max: _chain("np.maximum({0}, {1})"),
        sp.Min: _chain("np.minimum({0}, {1})"),
        sp.Heaviside: _heaviside("np.heaviside({0}, {1})"),
        sp.DiracDelta: _zero_like("np.zeros_like({0})"),
        sigmoid: "_expit({0})",  # numpy's SIMD exp: several times faster than special.expit
        xlogy: "special.xlogy({0}, {1})",
        xlog1py: "special.xlog1py({0}, {1})",
        sp.loggamma: "special.gammaln({0})",
        lgamma: "special.gammaln({0})",
        sp.gamma: "special.gamma({0})",
        sp.digamma: "special.psi({0})",
        sp.polygamma: _polygamma("special.polygamma({0}, {1})", "special.psi({0})"),
        sp.erf: "special.erf({0})",
        sp.erfc: "special.erfc({0})",
        **_primitives(
            {
                "ndtr": "special.ndtr({0})",
                "gammainc": "special.gammainc({0}, {1})",
                "gammaincc": "special.gammaincc({0}, {1})",
                "ibeta": "special.betainc({0}, {1}, {2})",
                "stdtr": "special.stdtr({0}, {1})",
                "log_ndtr": "special.log_ndtr({0})",
                "mills": "(0.7978845608028654/special.erfcx(-0.7071067811865476*({0})))",
                "erfcx": "special.erfcx({0})",
            }
        ),
        sp.beta: "special.beta({0}, {1})",
        sp.binomial: "special.binom({0}, {1})",
        sp.factorial: "special.factorial({0}, exact=False)",
        ive: _ive({0: "special.i0e({0})", 1: "special.i1e({0})"}, "special.ive({0}, {1})"),
        sp.besseli: "special.iv({0}, {1})",
        **HELPER_CALLS,
    },
    sqrt="np.sqrt",
    sum="_classsum({body}, _K{keep})",
    keep=", keepdims=True",
    logsumexp="_logsumexp({body}{keep})",
    where="_select({0}, lambda: {1}, lambda: {2})",  # a branch no example takes: not evaluated
    index="np.arange(1, _K + 1)",
    any="np.any({0}, axis=-1)",
    imports={"np.": "import numpy as np", "special.": "from scipy import special"},
    template="module_numpy.py.j2",
    blocked=True,
    objectives=True,
    helper_uses={
        "_log_i0": "special.",
        "_lgamma_ratio": "special.",
        "_lgamma_stirling": "special.",
        "_saddle_deviance": "special.",
        "_log_erf": "special.",
    },
)

TORCH = Backend(
    name="torch",
    table={
        **LOGIC,
        **_elementwise("torch"),
        sp.atan: "torch.atan({0})",
        # torch.atan2 takes tensors only (a fixed parameter arrives as a float)
        sp.atan2: "torch.atan2(torch.as_tensor({0}), torch.as_tensor({1}))",
        sp.Max: _clamp_or("torch.maximum({0}, {1})", "torch.clamp({0}, min={1})"),
        sp.Min: _clamp_or("torch.minimum({0}, {1})", "torch.clamp({0}, max={1})"),
        sp.Heaviside: _heaviside("torch.heaviside({0}, torch.full_like({0}, {1}))"),
        sp.DiracDelta: _zero_like("torch.zeros_like({0})"),
        sigmoid: "torch.sigmoid({0})",
        xlogy: "torch.xlogy({0}, {1})",
        xlog1py: "torch.special.xlog1py({0}, {1})",
        sp.loggamma: "torch.lgamma({0})",
        lgamma: "torch.lgamma({0})",
        sp.gamma: "torch.exp(torch.lgamma({0}))",
        sp.digamma: "torch.digamma({0})",
        sp.polygamma: _polygamma("torch.polygamma({0}, {1})", "torch.digamma({0})"),
        sp.erf: "torch.erf({0})",
        sp.erfc: "torch.erfc({0})",
        **_primitives(
            {
                "ndtr": "torch.special.ndtr({0})",
                "gammainc": "torch.special.gammainc({0}, {1})",
                "gammaincc": "torch.special.gammaincc({0}, {1})",
                # torch has no regularized incomplete beta (nor its gradient)
                "ibeta": _not_supported(
                    "the regularized incomplete beta function (the binomial and negative-binomial "
                    "CDF): torch has none; use --backend numpy or jax"
                ),
                "stdtr": _not_supported(
                    "Student's t CDF T_ν (a censored, truncated or binned student-t): torch has "
                    "none; use --backend numpy or jax"
                ),
                "log_ndtr": "torch.special.log_ndtr({0})",
                "mills": "(0.7978845608028654/torch.special.erfcx(-0.7071067811865476*({0})))",
                "erfcx": "torch.special.erfcx({0})",
            }
        ),
        ive: _ive({0: "torch.special.i0e({0})", 1: "torch.special.i1e({0})"}),
        **HELPER_CALLS,
    },
    sqrt="torch.sqrt",
    sum="torch.sum({body}, dim=-1{keep})",
    keep=", keepdim=True",
    logsumexp="torch.logsumexp({body}, dim=-1{keep})",
    where="torch.where({0}, {1}, {2})",
    index="torch.arange(1, _K + 1, device={vector}.device)",
    any="torch.any({0}, dim=-1)",
    imports={"torch.": "import torch"},
    template="module_torch.py.j2",
    loss_module=True,
)

JAX = Backend(
    name="jax",
    table={
        **LOGIC,
        **_elementwise("jnp"),
        sp.Max: _chain("jnp.maximum({0}, {1})"),
        sp.Min: _chain("jnp.minimum({0}, {1})"),
        sp.Heaviside: _heaviside("jnp.heaviside({0}, {1})"),
        sp.DiracDelta: _zero_like("jnp.zeros_like({0})"),
        sigmoid: "jax.nn.sigmoid({0})",
        xlogy: "jsp.xlogy({0}, {1})",
        xlog1py: "jsp.xlog1py({0}, {1})",
        sp.loggamma: "jsp.gammaln({0})",
        lgamma: "jsp.gammaln({0})",
        sp.gamma: "jsp.gamma({0})",
        sp.digamma: "jsp.digamma({0})",
        sp.polygamma: _polygamma("jsp.polygamma({0}, {1})", "jsp.digamma({0})"),
        sp.erf: "jsp.erf({0})",
        sp.erfc: "jsp.erfc({0})",
        # jax.scipy.special has no erfcx: the module's own _erfcx (an asymptotic series beyond 25)
        **_primitives(
            {
                "ndtr": "jsp.ndtr({0})",
                "gammainc": "jsp.gammainc({0}, {1})",
                "gammaincc": "jsp.gammaincc({0}, {1})",
                "ibeta": "jsp.betainc({0}, {1}, {2})",
                # T_ν(t) from the one-tail mass h = ½ I_{ν/(ν+t²)}(ν/2, ½): h below 0, 1 − h above
                "stdtr": "_stdtr({0}, {1})",
                "log_ndtr": "jsp.log_ndtr({0})",
                "mills": "(0.7978845608028654/_erfcx(-0.7071067811865476*({0})))",
                "erfcx": "_erfcx({0})",
            }
        ),
        sp.beta: "jnp.exp(jsp.betaln({0}, {1}))",
        ive: _ive({0: "jsp.i0e({0})", 1: "jsp.i1e({0})"}),
        **HELPER_CALLS,
    },
    sqrt="jnp.sqrt",
    sum="jnp.sum({body}, axis=-1{keep})",
    keep=", keepdims=True",
    logsumexp="jax.nn.logsumexp({body}, axis=-1{keep})",
    where="jnp.where({0}, {1}, {2})",
    index="jnp.arange(1, _K + 1)",
    any="jnp.any({0}, axis=-1)",
    imports={
        "jnp.": "import jax.numpy as jnp",
        "jax.": "import jax",
        "jsp.": "import jax.scipy.special as jsp",
    },
    template="module_jax.py.j2",
    helper_uses={
        "_log_i0": "jsp.",
        "_erfcx": "jsp.",
        "_stdtr": "jsp.",
        "_lgamma_ratio": "jsp.",
        "_lgamma_stirling": "jsp.",
        "_saddle_deviance": "jsp.",
        "_log_erf": "jsp.",
        "_labels": "jax.",
    },
)

#: numba: numpy's module, with compiled kernels for the reductions of `loss` (NUMBA_KERNEL prints
#: them); its own table is numpy's, for everything else in the module.
NUMBA = replace(
    NUMPY,
    name="numba",
    imports={
        **NUMPY.imports,
        "numba.": "import numba",  # (and math, in its template)
    },
    template="module_numba.py.j2",
    kernels=True,
)

#: The scalar code of a numba kernel's element: one example's value, in nopython mode.  The
#: module's own compiled _k_exp and _k_log stand for exp and log (they vectorise, where numba's
#: calls of the C library do not); functions with no compiled form here (the incomplete gamma,
#: the normal's log-CDF, sums over classes) leave the loss without a kernel, and its numpy code
#: runs as in the numpy module.
NUMBA_KERNEL = Backend(
    name="numba kernel",
    table={
        **LOGIC,
        sp.Not: lambda p, e: f"(not {p._print(e.args[0])})",
        sp.exp: "_k_exp({0})",
        sp.log: "_k_log({0})",
        log1p: "_k_log1p({0})",
        expm1: "math.expm1({0})",
        sp.Abs: "abs({0})",
        sp.sign: "np.sign({0})",
        sp.Max: _chain("max({0}, {1})"),
        sp.Min: _chain("min({0}, {1})"),
        **{f: f"math.{f.__name__}({{0}})" for f in (sp.sin, sp.cos, sp.tan, sp.sinh, sp.tanh)},
        sp.cosh: "math.cosh({0})",
        sp.atan: "math.atan({0})",
        sp.atan2: "math.atan2({0}, {1})",
        sp.floor: "np.floor({0})",  # (math.floor gives an integer)
        sp.ceiling: "np.ceil({0})",
        logaddexp: "_k_logaddexp({0}, {1})",
        sigmoid: "_k_sigmoid({0})",
        softplus: "_k_softplus({0})",
        softplus_minus: "_k_softplus_minus({0}, {1})",
        log1p_square: "_k_log1p_square({0})",
        lgamma_ratio: "_k_lgamma_ratio({0}, {1})",
        xlogy: "_k_xlogy({0}, {1})",
        xlog1py: "_k_xlog1py({0}, {1})",
        sp.loggamma: "math.lgamma({0})",
        lgamma: "math.lgamma({0})",
        sp.gamma: "math.gamma({0})",
        sp.erf: "math.erf({0})",
        sp.erfc: "math.erfc({0})",
        **_primitives(
            {
                "ndtr": "(0.5*math.erfc(-0.7071067811865476*({0})))",
                "log1mexp": "_k_log1mexp({0})",
                "logcosh": "_k_logcosh({0})",
                "huber": "_k_huber({0}, {1})",
                "logdiffexp": "({0} + _k_log1mexp({1} - ({0})))",
            }
        ),
    },
    sqrt="math.sqrt",
    sum="",
    keep="",
    any="",
    logsumexp="",
    where="({1} if {0} else {2})",
    imports={},
    template="",
)

#: The same for float32 arrays: the module's float32 primitives (_k_exp32, ...) and float32
#: numbers, so that a float32 kernel computes in float32 (8 lanes to a 256-bit register).
NUMBA_KERNEL32 = replace(
    NUMBA_KERNEL,
    name="numba float32 kernel",
    table={
        cls: re.sub(
            r"(?<![\w.])(\d+\.\d+)", r"np.float32(\1)", re.sub(r"\b(_k_\w+)\(", r"\g<1>32(", t)
        )
        if isinstance(t, str)
        else t
        for cls, t in NUMBA_KERNEL.table.items()
    },
    sqrt="np.sqrt",
    literal="np.float32({0})",
)

BACKENDS: dict[str, Backend] = {b.name: b for b in (NUMPY, TORCH, JAX, NUMBA)}


def _check_tables():
    """Checked at import: every entry is a template string or a function."""
    for backend in BACKENDS.values():
        for cls, entry in backend.table.items():
            if not (isinstance(entry, str) or callable(entry)):
                raise TypeError(f"{backend.name} table entry for {cls.__name__}: {entry!r}")


_check_tables()


# ---------------------------------------------------------------------------- the printer

#: Piecewise branches may only use these (all branches are evaluated by `where`: nothing here can
#: overflow or divide by zero, so the unused branch is harmless, also for gradients).
_SAFE_IN_WHERE = (sp.Symbol, sp.Indexed, sp.Number, sp.Add, sp.Mul, sp.Abs, sp.Max, sp.Min)


def _safe_branch(expr) -> bool:
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow):
            if not (node.exp.is_Integer and node.exp > 0):
                return False
        elif not isinstance(node, _SAFE_IN_WHERE):
            return False
    return True


class Printer(StrPrinter):
    """Prints one expression for one backend.

    ``names`` maps each argument (a Symbol, or an IndexedBase for vectors) and each temporary to
    its name in code; ``per_class`` holds the temporaries that carry the class axis.
    ``class_indices`` are the free class indices of per-class outputs (j in ∂/∂z_j).
    """

    printmethod = "_derive_code"  # never the objects' own _sympystr: the table decides

    def __init__(self, backend: Backend, names, per_class=(), class_indices=(), observed=()):
        super().__init__({"order": "none"})
        #: the observed symbols: a Piecewise case free of them (they are guarded, or absent)
        #: evaluates only learned and fixed values, which are finite wherever the case is not used
        self.observed = frozenset(observed)
        self.backend = backend
        self.names = dict(names)
        self.per_class = set(per_class)
        self.class_indices = set(class_indices)
        self.class_mode = False

    @contextmanager
    def class_axis(self, index=None):
        """Print with the class axis present (inside a class sum, or a per-class output)."""
        saved = self.class_mode, set(self.class_indices)
        self.class_mode = True
        if index is not None:
            self.class_indices.add(index)
        try:
            yield
        finally:
            self.class_mode, self.class_indices = saved

    def doprint(self, expr, per_class: bool = False):
        if per_class:
            with self.class_axis():
                return self._print(expr)
        return self._print(expr)

    # -- dispatch: the table first, then arithmetic, else a named error
    def _print(self, expr, **kwargs):
        if not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        if isinstance(expr, sp.Expr) and expr.is_number and not isinstance(expr, sp.Integer):
            return self._number(expr)
        entry = self._entry(type(expr))
        if entry is not None:
            if callable(entry):
                return entry(self, expr)
            return entry.format(*(self._print(a) for a in expr.args))
        special = getattr(self, f"_code_{type(expr).__name__}", None)
        if special is not None:
            return special(expr)
        if isinstance(expr, _CORE):
            return super()._print(expr, **kwargs)
        raise Unsupported(
            f"no {self.backend.name} mapping for {type(expr).__name__} (in {sp.sstr(expr)}); "
            f"add it to the {self.backend.name} table in derive/codegen/backends.py"
        )

    def _entry(self, cls):
        """The table entry of a class, or of the nearest mapped base class (derive's log1p and
        loggamma subclass SymPy's, for their LaTeX)."""
        for base in cls.__mro__:
            if base in (sp.Function, sp.Expr, sp.Basic):
                return None
            if base in self.backend.table:
                return self.backend.table[base]
        return None

    def _print_Add(self, expr, order=None):
        """Numeric terms folded into one literal (log(2)/2 + log(π)/2 is one number), and a
        positive term first, so that array code never negates a whole term only to add it."""
        terms = list(expr.args)
        numbers = [t for t in terms if t.is_number]
        if len(numbers) > 1:
            terms = [t for t in terms if not t.is_number]
            terms.append(sp.Float(sp.Add(*numbers).evalf(30), 30))
        signed = sorted(((t.could_extract_minus_sign(), t) for t in terms), key=lambda st: st[0])
        out = ""
        for negative, term in signed:
            text = self.parenthesize(-term if negative else term, PRECEDENCE["Add"])
            if not out:
                out = f"-{text}" if negative else text
            else:
                out += f" - {text}" if negative else f" + {text}"
        return out

    def _print_Mul(self, expr):
        """Powers with a symbolic exponent stay in the numerator: y**(2 - p) at y = 0 is 0, where
        1/y**(p - 2) divides by zero on the way to the same 0."""
        symbolic = [f for f in expr.args if f.is_Pow and not f.exp.is_number]
        if not symbolic:
            return super()._print_Mul(expr)
        rest = sp.Mul(*(f for f in expr.args if f not in symbolic))
        sign = ""
        if rest.could_extract_minus_sign():
            sign, rest = "-", -rest
        factors = [] if rest == 1 else [self.parenthesize(rest, PRECEDENCE["Mul"], strict=True)]
        factors += [self.parenthesize(f, PRECEDENCE["Mul"], strict=True) for f in symbolic]
        return sign + "*".join(factors)

    def _number(self, expr):
        value = float(expr)
        if value != value or value in (float("inf"), float("-inf")):
            return self.backend.literal.format(f"float({str(value)!r})")
        return self.backend.literal.format(repr(value))

    def _print_Integer(self, expr):
        return self.backend.literal.format(super()._print_Integer(expr))

    # -- atoms
    def _print_Symbol(self, s):
        if s == N_CLASSES:
            return "_K"
        if self.class_mode and s in self.class_indices and s not in self.names:
            return self._class_index(s)
        if s not in self.names:
            raise Unsupported(f"{s} is neither an argument nor a class index of the function")
        name = self.names[s]
        if self.class_mode and s not in self.per_class:
            return f"{name}[..., None]"
        return name

    _print_Dummy = _print_Symbol

    def _class_index(self, s):
        """A class index as a value (a mask [j ≥ 2] of the ordinal cutpoints): 1..K along the
        class axis."""
        vectors = [name for sym, name in self.names.items() if isinstance(sym, sp.IndexedBase)]
        if not (self.backend.index and vectors):
            raise Unsupported(f"the class index {s} as a value: no {self.backend.name} mapping")
        return self.backend.index.format(vector=vectors[0])

    def _print_Indexed(self, e):
        base, (index,) = e.base, e.indices
        if base not in self.names:
            raise Unsupported(f"{base} is not a vector argument of the function")
        name = self.names[base]
        if index in self.class_indices:
            if not self.class_mode:
                raise Unsupported(f"{e} outside a sum over its class index")
            return name
        if index.is_Integer:  # one component, e.g. alpha[1]: the first along the class axis
            component = f"{name}[..., {int(index) - 1}]"
            return f"{component}[..., None]" if self.class_mode else component
        raise Unsupported(f"{e}: the index {index} is not a class index in scope")

    # -- arithmetic
    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.as_base_exp()
        sqrt = self.backend.sqrt
        if exponent is sp.S.Half:
            return f"{sqrt}({self._print(base)})"
        one = self.backend.literal.format(1)
        if exponent == -sp.S.Half:
            return f"{one}/{sqrt}({self._print(base)})"
        if exponent.is_number and exponent.is_negative:
            return (
                one
                + "/"
                + self.parenthesize(sp.Pow(base, -exponent), PRECEDENCE["Mul"], strict=True)
            )
        power = (
            str(exponent) if exponent.is_Integer else self.parenthesize(exponent, PRECEDENCE["Pow"])
        )
        return "{}**{}".format(self.parenthesize(base, PRECEDENCE["Pow"]), power)

    # -- class-axis reductions (not in the tables: they need the printer's state)
    def _class_reduction(self, template, body, index):
        keep = self.backend.keep if self.class_mode else ""
        with self.class_axis(index):
            inner = self._print(body)
        return template.format(body=inner, keep=keep)

    def _code_Sum(self, e):
        if len(e.limits) != 1:
            raise Unsupported(f"{e}: only single sums over the class axis are emitted")
        k, lo, hi = e.limits[0]
        if lo != 1 or hi != N_CLASSES:
            raise Unsupported(f"{e}: sums must run over the class axis, k = 1..{N_CLASSES}")
        if k not in e.function.free_symbols:
            return self._print(N_CLASSES * e.function)
        return self._class_reduction(self.backend.sum, e.function, k)

    def _code_logsumexp(self, e):
        f, k, K = e.args
        if K != N_CLASSES:
            raise Unsupported(f"{e}: logsumexp must run over the class axis")
        return self._class_reduction(self.backend.logsumexp, f, k)

    def _unguarded(self, value) -> bool:
        """Whether an observed symbol occurs in ``value`` outside a Where guard."""
        stripped = value.replace(lambda n: isinstance(n, Where), lambda n: sp.S.Zero)
        return bool(stripped.free_symbols & self.observed)

    def _code_Where(self, e):
        cond, a, b = e.args
        return self.backend.where.format(self._print(cond), self._print(a), self._print(b))

    def _code_Piecewise(self, e):
        pieces = list(e.args)
        for value, _ in pieces:
            bare = self.observed and not self._unguarded(value)
            if not (bare or _safe_branch(value)):
                raise Unsupported(
                    f"Piecewise branch {value} could overflow or divide by zero where it is not "
                    "selected; `where` evaluates every branch: rewrite it in closed form"
                )
        *rest, (last, cond) = pieces
        if cond is not sp.true:
            raise Unsupported(f"{e}: the last Piecewise condition must be True")
        out = self._print(last)
        for value, cond in reversed(rest):
            out = self.backend.where.format(self._print(cond), self._print(value), out)
        return out

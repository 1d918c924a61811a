"""Numerically stable primitives as SymPy functions, and the rewrite rules that introduce them.

Each primitive knows its derivative (so gradients of a stable form stay stable), how to rewrite
itself into elementary functions (``elementary``, used for proofs and high-precision checks) and how
to print itself.  Rewrite rules are data: ``ReplaceOptim(query, value)`` pairs grouped in named
tuples and applied with ``sympy.codegen.rewriting.optimize``.
"""

from __future__ import annotations

from sympy import (
    Add,
    Function,
    Mul,
    S,
    Sum,
    exp,
    log,
)
from sympy.codegen.rewriting import ReplaceOptim, optimize


class sigmoid(Function):
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return S.Half

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + exp(-x))

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _latex(self, printer, exp=None):
        tex = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class softplus(Function):
    r"""Softplus :math:`\log(1 + e^{x})`, evaluated without overflow."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return log(2)

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return log(1 + exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class xlogy(Function):
    r""":math:`x \log y`, defined as 0 where x = 0 (so 0·log 0 = 0)."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x is S.Zero:
            return S.Zero
        if y is S.One:
            return S.Zero

    def fdiff(self, argindex=1):
        x, y = self.args
        return log(y) if argindex == 1 else x / y

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * log(y)

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _latex(self, printer, exp=None):
        tex = printer._print(Mul(self.args[0], log(self.args[1]), evaluate=False))
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)

    def _pretty(self, printer):
        return printer._print(Mul(self.args[0], log(self.args[1]), evaluate=False))


class logsumexp(Function):
    r"""Log-sum-exp over the class axis: logsumexp(f, k, K) = :math:`\log\sum_{k=1}^{K} e^{f}`."""

    nargs = 3

    @property
    def limits(self):
        _, k, K = self.args
        return (k, 1, K)

    @property
    def free_symbols(self):
        f, k, K = self.args
        return (f.free_symbols - {k}) | K.free_symbols

    def as_sum(self):
        f, k, K = self.args
        return log(Sum(exp(f), (k, 1, K)), evaluate=False)

    def _eval_derivative(self, s):
        f, k, K = self.args
        return Sum(exp(f - self) * f.diff(s), (k, 1, K))

    def _eval_rewrite_as_exp(self, f, k, K, **kwargs):
        return log(Sum(exp(f), (k, 1, K)))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def doit(self, **hints):
        f, k, K = self.args
        if K.is_Integer:
            return log(Add(*[exp(f.subs(k, i)) for i in range(1, int(K) + 1)]))
        return self

    def _latex(self, printer, exp=None):
        tex = r"\log \sum_{%s=1}^{%s} e^{%s}" % (
            printer._print(self.args[1]),
            printer._print(self.args[2]),
            printer._print(self.args[0]),
        )
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)

    def _pretty(self, printer):
        return printer._print(self.as_sum())

    def _sympystr(self, printer):
        f, k, K = self.args
        return "logsumexp(%s, %s, %s)" % tuple(printer._print(a) for a in (f, k, K))


PRIMITIVES = (sigmoid, softplus, xlogy, logsumexp)


def elementary(expr):
    """Rewrite every stable primitive into exp/log form (for proofs and reference evaluation)."""
    return expr.replace(
        lambda e: isinstance(e, PRIMITIVES),
        lambda e: e.rewrite(exp),
    )


def _one_minus_sigmoid(e):
    """Match 1 - sigmoid(x) and return x, else None."""
    if not isinstance(e, Add) or len(e.args) != 2 or S.One not in e.args:
        return None
    other = e.args[0] if e.args[1] is S.One else e.args[1]
    coeff, rest = other.as_coeff_Mul()
    if coeff == -1 and isinstance(rest, sigmoid):
        return rest.args[0]
    return None


def _is_log_sum_exp(e):
    return (
        isinstance(e, log)
        and isinstance(e.args[0], Sum)
        and isinstance(e.args[0].function, exp)
        and len(e.args[0].limits) == 1
        and e.args[0].limits[0][1] == 1
    )


def _to_logsumexp(e):
    total = e.args[0]
    k, _, K = total.limits[0]
    return logsumexp(total.function.args[0], k, K)


def _is_log_one_plus_exp(e):
    if not isinstance(e, log) or not isinstance(e.args[0], Add) or len(e.args[0].args) != 2:
        return False
    a, b = e.args[0].args
    return (a is S.One and isinstance(b, exp)) or (b is S.One and isinstance(a, exp))


def _log_one_plus_exp(e):
    term = next(t for t in e.args[0].args if isinstance(t, exp))
    return softplus(term.args[0])


#: Rules that turn a derived expression into its standard, stable form.  Every rule is an identity
#: (tested numerically in tests/test_functions.py); each is (note, rule).
STABLE_RULES = (
    (
        r"log σ(x) = −softplus(−x)",
        ReplaceOptim(
            lambda e: isinstance(e, log) and isinstance(e.args[0], sigmoid),
            lambda e: -softplus(-e.args[0].args[0]),
        ),
    ),
    (
        r"log(1 − σ(x)) = −softplus(x)",
        ReplaceOptim(
            lambda e: isinstance(e, log) and _one_minus_sigmoid(e.args[0]) is not None,
            lambda e: -softplus(_one_minus_sigmoid(e.args[0])),
        ),
    ),
    ("log Σ exp = logsumexp", ReplaceOptim(_is_log_sum_exp, _to_logsumexp)),
    (
        "log(1 + eˣ) = softplus(x)",
        ReplaceOptim(_is_log_one_plus_exp, _log_one_plus_exp),
    ),
)


def stabilise(expr):
    """Apply :data:`STABLE_RULES`; return the new expression and the notes of the rules fired."""
    fired = []
    for note, rule in STABLE_RULES:
        new = optimize(expr, [rule])
        if new != expr:
            fired.append(note)
            expr = new
    return expr, fired


def split_sums(expr):
    """Distribute sums over the class axis: Σ(a + b) = Σa + Σb and Σ c·f = c·Σ f for c free of k."""

    def split(total):
        (k, lo, hi), f = total.limits[0], total.function
        out = []
        for term in Add.make_args(
            f.expand(mul=True, multinomial=False, power_exp=False, log=False)
        ):
            inner, outer = [], []
            for factor in Mul.make_args(term):
                (inner if k in factor.free_symbols else outer).append(factor)
            out.append(Mul(*outer) * Sum(Mul(*inner), (k, lo, hi)))
        return Add(*out)

    return expr.replace(lambda e: isinstance(e, Sum) and len(e.limits) == 1, split)


def rename_index(expr, k):
    """Rename the bound index of every class-axis sum to ``k`` so equal sums compare equal."""

    def rename(e):
        if isinstance(e, Sum):
            j, lo, hi = e.limits[0]
            return Sum(e.function.subs(j, k), (k, lo, hi))
        f, j, K = e.args
        return logsumexp(f.subs(j, k), k, K)

    return expr.replace(
        lambda e: (
            (isinstance(e, Sum) and len(e.limits) == 1 and e.limits[0][0] != k)
            or (isinstance(e, logsumexp) and e.args[1] != k)
        ),
        rename,
    )

"""Numerically stable primitives as SymPy functions, and the rewrite rules that introduce them.

Each primitive knows its derivative (so gradients of a stable form stay stable), how to rewrite
itself into elementary functions (``elementary``, used for proofs and high-precision checks) and how
to print itself.  Rewrite rules are data: ``Rule(query, value)`` pairs grouped in named tuples
and applied in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from sympy import (
    Abs,
    Add,
    Float,
    Function,
    Max,
    Min,
    Mul,
    Piecewise,
    S,
    Sum,
    besseli,
    binomial,
    cancel,
    cosh,
    erf,
    erfc,
    exp,
    expand_log,
    factorial,
    gamma,
    log,
    lowergamma,
    oo,
    pi,
    sqrt,
    tanh,
    uppergamma,
)
from sympy import loggamma as _sympy_loggamma
from sympy.codegen.cfunctions import log1p as _sympy_log1p
from sympy.core.function import ArgumentIndexError


class Rule(NamedTuple):
    """A rewrite rule as data: each subexpression ``e`` with ``query(e)`` becomes ``value(e)``.

    What SymPy's ``codegen.rewriting.ReplaceOptim`` does, without importing sympy.codegen (whose
    import pulls in sympy.tensor and sympy.combinatorics: 50 ms of every command's start-up)."""

    query: Callable
    value: Callable

    def __call__(self, expr):
        return expr.replace(self.query, self.value)


class _ValueOnRequest:
    """A function whose numeric arguments stay arguments (the code generator's guards substitute
    floats into it), with a value when one is asked for (evalf; SymPy's Min and Max compare
    their arguments by it): that of its rewrite in exp/log/erfc form."""

    @classmethod
    def _should_evalf(cls, arg):
        return -1

    def _eval_evalf(self, prec):
        if all(arg.is_number for arg in self.args):
            return self._eval_rewrite_as_exp(*self.args)._eval_evalf(prec)
        return None


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


class softplus(_ValueOnRequest, Function):
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

    def tail_form(self):
        """log(1 + eˣ) itself, for derive.tails' limits (SymPy takes the limit of a function it
        does not know as if it were bounded: −softplus(y) had the index 0, not −∞)."""
        return self._eval_rewrite_as_exp(*self.args)

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class xlogy(Function):
    r""":math:`x \log y`, defined as 0 where x = 0 (so 0·log 0 = 0)."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:  # 0 and 0.0 alike: 0·log 0 = 0
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


class loggamma(_sympy_loggamma):
    r""":math:`\log\Gamma(x)` for x > 0: SymPy's ``loggamma``, printed as log Γ (lgamma/gammaln
    in code).

    Unlike SymPy's, it stays unevaluated at symbolic integers (SymPy turns loggamma(n + 1) back
    into log(gamma(n + 1))); numbers still evaluate."""

    @classmethod
    def eval(cls, z):
        if z.is_Number:
            return super().eval(z)

    def _latex(self, printer, exp=None):
        tex = r"\log \Gamma\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class log1p(_sympy_log1p):
    r""":math:`\log(1 + x)` without cancellation for small x (SymPy's codegen ``log1p``)."""

    def _latex(self, printer, exp=None):
        tex = r"\log\left(1 + %s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class logcosh(Function):
    r""":math:`\log\cosh x`, evaluated as :math:`|x| + \operatorname{softplus}(-2|x|) - \log 2`
    (cosh overflows for |x| > 710 in float64, 89 in float32)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return S.Zero
        if x.could_extract_minus_sign():  # even: one canonical sign
            return cls(-x)

    def fdiff(self, argindex=1):
        return tanh(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return log(cosh(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_nonnegative(self):
        return self.args[0].is_extended_real

    def tail_form(self):
        """|x| − log 2, which it approaches at both ends (the rest, log1p(e^{−2|x|}), tends to 0):
        for derive.tails' limits, which log cosh x takes seconds over and an unknown function
        gets wrong (the hyperbolic secant's −log cosh y had the index 0, not −∞)."""
        return Abs(self.args[0]) - log(2)

    def _latex(self, printer, exp=None):
        tex = r"\log\cosh\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


def clip(x, k):
    """x clipped to [−k, k] (k > 0), as Min/Max."""
    return Min(Max(x, -k), k)


class huber(Function):
    r"""Huber's function :math:`\rho_k(r)`: r²/2 for |r| ≤ k, k(|r| − k/2) beyond, with k > 0.

    Written without branches as c·(r − c/2) with c = clip(r, −k, k) (both branches finite)."""

    nargs = 2

    @classmethod
    def eval(cls, r, k):
        if r is S.Zero:
            return S.Zero
        if r.could_extract_minus_sign():  # even in r
            return cls(-r, k)

    def fdiff(self, argindex=1):
        r, k = self.args
        if argindex == 1:
            return clip(r, k)
        return Abs(r) - Min(Abs(r), k)

    def _eval_rewrite_as_exp(self, r, k, **kwargs):
        c = clip(r, k)
        return c * (r - c / 2)

    _eval_rewrite_as_Min = _eval_rewrite_as_exp

    def _eval_is_nonnegative(self):
        return self.args[0].is_extended_real

    def tail_form(self):
        """Its value where |r| ≥ k, k|r| − k²/2: what it is near an infinite end of a support
        (derive.tails takes limits of it; SymPy cannot take them through Min and Max)."""
        r, k = self.args
        return k * Abs(r) - k**2 / 2

    def _latex(self, printer, exp=None):
        r, k = (printer._print(a) for a in self.args)
        tex = r"\operatorname{huber}_{%s}\left(%s\right)" % (k, r)
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class log_i0(Function):
    r""":math:`\log I_0(x)`, the log of the modified Bessel function of order 0, evaluated as
    log(i0e(x)) + |x| (I₀ overflows for x > 713)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return S.Zero

    def fdiff(self, argindex=1):
        x = self.args[0]
        return besseli(1, x) / besseli(0, x)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return log(besseli(0, x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_real(self):
        return self.args[0].is_extended_real

    def tail_form(self):
        """|x| − ½ log(2π|x|), which it approaches at both ends (I₀(x) ~ e^{|x|}/√(2π|x|)): for
        derive.tails' limits, where as an unknown function it had the index 0, not +∞."""
        x = Abs(self.args[0])
        return x - log(2 * pi * x) / 2

    def _latex(self, printer, exp=None):
        tex = r"\log I_{0}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


def _symmetric_cdf_ends(x):
    """F(0) = ½, F(∞) = 1 and F(−∞) = 0 of a CDF symmetric about 0 (Φ, T_ν); None elsewhere."""
    if x.is_zero:
        return S.Half
    if x is oo:
        return S.One
    if x is -oo:
        return S.Zero
    return None


class ndtr(_ValueOnRequest, Function):
    r"""The standard normal CDF :math:`\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2)` (a CDF
    declared on a catalog entry; its log is :class:`log_ndtr`)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        return _symmetric_cdf_ends(x)

    def fdiff(self, argindex=1):
        x = self.args[0]
        return exp(-(x**2) / 2) / sqrt(2 * pi)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return erfc(-x / sqrt(2)) / 2

    def _eval_is_positive(self):
        return self.args[0].is_extended_real and self.args[0].is_finite

    def _latex(self, printer, exp=None):
        tex = r"\Phi\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class log_ndtr(_ValueOnRequest, Function):
    r""":math:`\log\Phi(x)`, the log of the standard normal CDF, accurate in both tails
    (scipy.special.log_ndtr, torch.special.log_ndtr, jax.scipy.special.log_ndtr): Φ(x) underflows
    below x = −38 in float64 and 1 − Φ(x) rounds to 1 above x = 8.3, where the naive log loses
    every digit.  log(1 − Φ(x)) is log_ndtr(−x)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return -log(2)

    def fdiff(self, argindex=1):
        # φ(x)/Φ(x), the inverse Mills ratio: finite and accurate where φ and Φ both underflow,
        # and so is its own derivative (the hessian of a probit or censored-Gaussian loss)
        return mills(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return log(erfc(-x / sqrt(2)) / 2)

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_extended_negative(self):
        if self.args[0].is_extended_real:
            return True

    def tail_form(self):
        """log(erfc(−x/√2)/2) itself, for derive.tails' limits: SymPy finds the one at +∞ and
        leaves the one at −∞ open (not decided), where as an unknown function log Φ(−y) got the
        index 0 (bounded), not −∞."""
        return self._eval_rewrite_as_exp(*self.args)

    def _latex(self, printer, exp=None):
        tex = r"\log \Phi\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class log_erf(Function):
    r""":math:`\log\operatorname{erf}(u)` for u > 0, accurate at both ends: erf(u) ≈ 2u/√π has its
    full relative accuracy near 0 (log u + log(2/√π) below 1e-8, where erf of a subnormal u would
    lose digits), and from 1 on it rounds toward 1, where log1p(−erfc(u)) keeps the small value
    −erfc(u) (log erf(6) = −2.2e-17, which log(erf(6)) gives as 0)."""

    nargs = 1

    def fdiff(self, argindex=1):
        u = self.args[0]
        return 2 * exp(-(u**2)) / (sqrt(pi) * erf(u))

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return log(erf(u))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def tail_form(self):
        """log(erf(u)) itself, for derive.tails' limits (unknown, it had none)."""
        return self._eval_rewrite_as_exp(*self.args)

    def _latex(self, printer, exp=None):
        tex = r"\log \operatorname{erf}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class mills(Function):
    r"""The inverse Mills ratio :math:`\varphi(x)/\Phi(x)`, evaluated as
    :math:`\sqrt{2/\pi}/\operatorname{erfcx}(-x/\sqrt2)`: the derivative of log Φ.  Its own
    derivative is −m(x)(x + m(x)), finite where erfcx overflows (x > 37, where m → 0) and where
    Φ underflows (x → −∞, where m ≈ −x)."""

    nargs = 1

    def fdiff(self, argindex=1):
        m = mills(self.args[0])
        return -m * (self.args[0] + m)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sqrt(2 / pi) / (exp(x**2 / 2) * erfc(-x / sqrt(2)))

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _latex(self, printer, exp=None):
        x = printer._print(self.args[0])
        tex = r"\frac{\varphi\left(%s\right)}{\Phi\left(%s\right)}" % (x, x)
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class erfcx(Function):
    r"""The scaled complementary error function :math:`e^{x^2}\operatorname{erfc}(x)`
    (scipy.special.erfcx, torch.special.erfcx): about 1/(x√π) for large x, where erfc underflows
    (x > 26.5 in float64)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return S.One

    def fdiff(self, argindex=1):
        x = self.args[0]
        return 2 * x * erfcx(x) - 2 / sqrt(pi)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return exp(x**2) * erfc(x)

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{erfcx}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class log1mexp(Function):
    r""":math:`\log(1 - e^{x})` for x < 0, accurate at both ends: log(−expm1(x)) for x > −log 2,
    log1p(−eˣ) below (Mächler, "Accurately computing log(1 − exp(−|a|))", 2012)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (1 - exp(-self.args[0]))  # −eˣ/(1 − eˣ)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return log(1 - exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _latex(self, printer, exp=None):
        tex = r"\log\left(1 - e^{%s}\right)" % printer._print(self.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class logdiffexp(_ValueOnRequest, Function):
    r""":math:`\log(e^{a} - e^{b})` for a ≥ b, evaluated as a + log1mexp(b − a): the log of a
    difference of two probabilities given by their logs (a CDF difference F(u) − F(l), a survival
    function 1 − F), accurate when both are near 1 or both near 0."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if b is -oo:  # log(eᵃ − 0)
            return a

    def fdiff(self, argindex=1):
        # eᵃ/(eᵃ − eᵇ) = exp(a − L) and −eᵇ/(eᵃ − eᵇ) = −exp(b − L) with L = logdiffexp(a, b):
        # finite, and so are their derivatives, where eᵃ and eᵇ overflow or round to each other
        a, b = self.args
        if argindex == 1:
            return exp(a - self)
        return -exp(b - self)

    def _eval_rewrite_as_exp(self, a, b, **kwargs):
        return log(exp(a) - exp(b))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _latex(self, printer, exp=None):
        a, b = (printer._print(arg) for arg in self.args)
        tex = r"\log\left(e^{%s} - e^{%s}\right)" % (a, b)
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


def _xlogy(c, x):
    """c·log x for a number c ≠ 0 (scipy's xlogy(1, x) takes its float64 loop for float32 x),
    else xlogy (0 where c = 0)."""
    return c * log(x) if c.is_number and c != 0 else xlogy(c, x)


def _gamma_density(a, x):
    """x^(a−1) e^(−x)/Γ(a), the x-derivative of P(a, x), through its log: x^(a−1) and Γ(a)
    overflow where a is a large count (a Poisson's P(y, λ) at y > 171, or λ = e³⁰ and y ≥ 25)."""
    return exp(_xlogy(a - 1, x) - x - loggamma(a))


class gammainc(Function):
    r"""The regularized lower incomplete gamma function :math:`P(a, x) = \gamma(a, x)/\Gamma(a)`
    (scipy.special.gammainc, torch.special.gammainc): the gamma CDF.  Its complement 1 − P is
    :class:`gammaincc`, evaluated directly (1 − P rounds to 0 where P → 1).  The derivative in
    a has no closed form: a is a fixed shape wherever derive uses it."""

    nargs = 2

    @classmethod
    def eval(cls, a, x):
        if x.is_zero:
            return S.Zero
        if x is oo or (a.is_zero and x.is_positive):  # a → 0: all the mass at 0 (scipy, torch)
            return S.One

    def fdiff(self, argindex=2):
        a, x = self.args
        if argindex != 2:
            raise ArgumentIndexError(self, argindex)
        return _gamma_density(a, x)

    def _eval_rewrite_as_exp(self, a, x, **kwargs):
        return lowergamma(a, x) / gamma(a)

    def _eval_evalf(self, prec):
        return _regularized_gamma(self.args, prec, lower=True)

    def _eval_is_positive(self):
        if self.args[1].is_positive and self.args[0].is_positive:
            return True

    def _latex(self, printer, exp=None):
        a, x = (printer._print(arg) for arg in self.args)
        tex = r"P\left(%s, %s\right)" % (a, x)
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class gammaincc(Function):
    r"""The regularized upper incomplete gamma function :math:`Q(a, x) = \Gamma(a, x)/\Gamma(a)
    = 1 - P(a, x)` (scipy.special.gammaincc, torch.special.gammaincc): the gamma survival
    function, with its digits where P → 1."""

    nargs = 2

    @classmethod
    def eval(cls, a, x):
        if x.is_zero:
            return S.One
        if x is oo or (a.is_zero and x.is_positive):
            return S.Zero

    def fdiff(self, argindex=2):
        a, x = self.args
        if argindex != 2:
            raise ArgumentIndexError(self, argindex)
        return -_gamma_density(a, x)

    def _eval_rewrite_as_exp(self, a, x, **kwargs):
        return uppergamma(a, x) / gamma(a)

    def _eval_evalf(self, prec):
        return _regularized_gamma(self.args, prec, lower=False)

    def _eval_is_positive(self):
        if self.args[1].is_positive and self.args[0].is_positive and self.args[1].is_finite:
            return True

    def _latex(self, printer, exp=None):
        a, x = (printer._print(arg) for arg in self.args)
        tex = r"Q\left(%s, %s\right)" % (a, x)
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


def _regularized_gamma(args, prec, lower):
    """P(a, x) or Q(a, x) by mpmath at ``prec`` bits (each tail by its own integral: no
    cancellation where the other is near 1), or None where an argument is not a number."""
    import mpmath

    if not all(arg.is_number for arg in args):
        return None
    with mpmath.workprec(prec):
        a, x = (mpmath.mpf(str(arg.evalf(mpmath.mp.dps + 5))) for arg in args)
        ends = (0, x) if lower else (x, mpmath.inf)
        return Float(mpmath.gammainc(a, *ends, regularized=True), precision=prec)


class ibeta(Function):
    r"""The regularized incomplete beta function :math:`I_x(a, b) = B(x; a, b)/B(a, b)`
    (scipy.special.betainc, jax.scipy.special.betainc, Boost's ibeta; torch has none): the CDF
    of the binomial, :math:`P(Y \le y) = I_{1-p}(n - y, y + 1)`, and of the negative binomial,
    :math:`I_p(r, y + 1)`.  Its complement is :math:`1 - I_x(a, b) = I_{1-x}(b, a)`, with
    1 − x formed symbolically (:data:`COMPLEMENTS`), never 1 − I.  The derivative in a and b has
    no closed form: they hold the count and a fixed parameter wherever derive uses it."""

    nargs = 3

    @classmethod
    def eval(cls, a, b, x):
        if x.is_zero or b.is_zero:  # I_0 = 0; b → 0 puts all the mass at x = 1
            return S.Zero
        if x is S.One or a.is_zero:  # I_1 = 1; a → 0 puts all the mass at x = 0
            return S.One

    def fdiff(self, argindex=3):
        a, b, x = self.args
        if argindex != 3:
            raise ArgumentIndexError(self, argindex)
        # x^(a−1)(1 − x)^(b−1)/B(a, b) through its log (B underflows where a or b is large),
        # with 1 − x formed symbolically (1/(1 + αμ) → αμ/(1 + αμ): no cancellation at x → 1)
        log_beta = loggamma(a) + loggamma(b) - loggamma(a + b)
        return exp(_xlogy(a - 1, x) + _xlogy(b - 1, cancel(1 - x)) - log_beta)

    def _eval_evalf(self, prec):
        import mpmath

        if not all(arg.is_number for arg in self.args):
            return None
        with mpmath.workprec(prec):
            a, b, x = (mpmath.mpf(str(arg.evalf(mpmath.mp.dps + 5))) for arg in self.args)
            return Float(mpmath.betainc(a, b, 0, x, regularized=True), precision=prec)

    def _eval_is_positive(self):
        a, b, x = self.args
        if a.is_positive and b.is_positive and x.is_positive:
            return True

    def _latex(self, printer, exp=None):
        a, b, x = (printer._print(arg) for arg in self.args)
        tex = r"I_{%s}\left(%s, %s\right)" % (x, a, b)
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class stdtr(Function):
    r"""The CDF of Student's t with ν degrees of freedom, :math:`T_\nu(t)` (scipy.special.stdtr):
    :math:`\tfrac12 I_{\nu/(\nu + t^2)}(\nu/2, \tfrac12)` below 0 and one minus that above,
    accurate however small in the lower tail (the t's tails are polynomial: no underflow before
    1e−308).  Symmetric, :math:`1 - T_\nu(t) = T_\nu(-t)`, so survival and intervals are taken in
    the lower tail as for Φ.  The derivative in ν has no closed form: ν is a fixed parameter
    wherever derive uses it."""

    nargs = 2

    @classmethod
    def eval(cls, nu, t):
        return _symmetric_cdf_ends(t)

    def fdiff(self, argindex=2):
        nu, t = self.args
        if argindex != 2:
            raise ArgumentIndexError(self, argindex)
        return (
            gamma((nu + 1) / 2)
            / (sqrt(nu * pi) * gamma(nu / 2))
            * (1 + t**2 / nu) ** (-(nu + 1) / 2)
        )

    def _eval_rewrite_as_exp(self, nu, t, **kwargs):
        tail = ibeta(nu / 2, S.Half, nu / (nu + t**2)) / 2
        return Piecewise((tail, t < 0), (1 - tail, True))

    def _eval_evalf(self, prec):
        if all(arg.is_number for arg in self.args):
            return self._eval_rewrite_as_exp(*self.args)._eval_evalf(prec)

    def _eval_is_positive(self):
        nu, t = self.args
        if nu.is_positive and t.is_extended_real and t.is_finite:
            return True

    def _latex(self, printer, exp=None):
        nu, t = (printer._print(arg) for arg in self.args)
        tex = r"T_{%s}\left(%s\right)" % (nu, t)
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


#: The complement 1 − F of each regularized CDF primitive, as a primitive evaluated directly (no
#: cancellation where F → 1): Q for P, P for Q, I_{1−x}(b, a) for I_x(a, b).
COMPLEMENTS = {
    gammainc: lambda a, x: gammaincc(a, x),
    gammaincc: lambda a, x: gammainc(a, x),
    ibeta: lambda a, b, x: ibeta(b, a, cancel(1 - x)),
}


def complement(e):
    """1 − e for a CDF primitive e (:data:`COMPLEMENTS`), or None for anything else."""
    build = COMPLEMENTS.get(type(e))
    return None if build is None else build(*e.args)


def one_minus(e, kinds):
    """The F of e = 1 − F with F an instance of ``kinds`` (a class or a tuple), else None: the
    one matcher of the complements the rules rewrite (1 − σ, 1 − Φ, 1 − P, 1 − eˣ, …)."""
    if not isinstance(e, Add) or len(e.args) != 2 or S.One not in e.args:
        return None
    other = e.args[0] if e.args[1] is S.One else e.args[1]
    coeff, rest = other.as_coeff_Mul()
    return rest if coeff == -1 and isinstance(rest, kinds) else None


def _one_minus_cdf(e, kinds):
    """Match 1 − F for F a primitive of ``kinds`` and return its complement, else None."""
    term = one_minus(e, kinds)
    return None if term is None else complement(term)


def _survival(note, *kinds):
    return (
        note,
        Rule(lambda e: _one_minus_cdf(e, kinds) is not None, lambda e: _one_minus_cdf(e, kinds)),
    )


#: 1 − P(a, x) = Q(a, x) and 1 − Q = P: the gamma survival function, or a Poisson's upper tail, in
#: the form that keeps its digits (a rule a declaration with such a CDF states, so its censored
#: or truncated composites use it)
GAMMA_SURVIVAL = _survival("1 − P(a, x) = Q(a, x), 1 − Q = P", gammainc, gammaincc)

#: 1 − I_x(a, b) = I_{1−x}(b, a): the binomial and negative-binomial upper tails, the same way
BETA_SURVIVAL = _survival("1 − I_x(a, b) = I_{1−x}(b, a)", ibeta)


#: Every stable primitive: code printers must map each of these (a missing one fails loudly).
PRIMITIVES = (
    sigmoid,
    softplus,
    xlogy,
    logsumexp,
    loggamma,
    log1p,
    logcosh,
    huber,
    log_i0,
    ndtr,
    log_ndtr,
    log_erf,
    mills,
    erfcx,
    log1mexp,
    logdiffexp,
    gammainc,
    gammaincc,
    ibeta,
    stdtr,
)

#: Primitives rewritten by :func:`elementary`; loggamma, the regularized incomplete gamma and
#: beta functions and T_ν stay (mpmath evaluates them directly, each tail without cancellation).
_ELEMENTARY = tuple(p for p in PRIMITIVES if p not in (loggamma, gammainc, gammaincc, ibeta, stdtr))


def elementary(expr):
    """Rewrite every stable primitive into exp/log form (for proofs and reference evaluation)."""
    return expr.replace(
        lambda e: isinstance(e, _ELEMENTARY),
        lambda e: log(1 + e.args[0]) if isinstance(e, log1p) else e.rewrite(exp),
    )


def _one_minus(e, cls):
    """Match 1 − cls(x) and return x, else None."""
    term = one_minus(e, cls)
    return None if term is None else term.args[0]


def _log_one_minus_stdtr(e):
    nu, t = one_minus(e.args[0], stdtr).args
    return log(stdtr(nu, -t))


def _log_of_ndtr(e):
    return isinstance(e, log) and isinstance(e.args[0], ndtr)


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
        Rule(
            lambda e: isinstance(e, log) and isinstance(e.args[0], sigmoid),
            lambda e: -softplus(-e.args[0].args[0]),
        ),
    ),
    (
        r"log(1 − σ(x)) = −softplus(x)",
        Rule(
            lambda e: isinstance(e, log) and _one_minus(e.args[0], sigmoid) is not None,
            lambda e: -softplus(_one_minus(e.args[0], sigmoid)),
        ),
    ),
    ("log Σ exp = logsumexp", Rule(_is_log_sum_exp, _to_logsumexp)),
    (
        "log(1 + eˣ) = softplus(x)",
        Rule(_is_log_one_plus_exp, _log_one_plus_exp),
    ),
    ("log Φ(x) = log_ndtr(x)", Rule(_log_of_ndtr, lambda e: log_ndtr(e.args[0].args[0]))),
    (
        "log(1 − Φ(x)) = log_ndtr(−x)",
        Rule(
            lambda e: isinstance(e, log) and _one_minus(e.args[0], ndtr) is not None,
            lambda e: log_ndtr(-_one_minus(e.args[0], ndtr)),
        ),
    ),
    (
        "log(1 − T_ν(t)) = log T_ν(−t)",
        Rule(
            lambda e: isinstance(e, log) and one_minus(e.args[0], stdtr) is not None,
            _log_one_minus_stdtr,
        ),
    ),
)


def _log_of(cls):
    return lambda e: isinstance(e, log) and isinstance(e.args[0], cls)


def _is_log_weighted_sum_exp(e):
    """log Σₖ gₖ where gₖ is a product with an exp factor (and is not a bare exp)."""
    if not (isinstance(e, log) and isinstance(e.args[0], Sum)):
        return False
    total = e.args[0]
    return (
        len(total.limits) == 1
        and total.limits[0][1] == 1
        and isinstance(total.function, Mul)
        and any(isinstance(f, exp) for f in total.function.args)
    )


def _weighted_logsumexp(e):
    total = e.args[0]
    k, _, K = total.limits[0]
    # the log of each summand, expanded: log(c·e^f) = log c + f (every factor is positive)
    return logsumexp(expand_log(log(total.function), force=True), k, K)


def _has_constant_shift(e):
    if not isinstance(e, logsumexp) or not isinstance(e.args[0], Add):
        return False
    f, k, _ = e.args
    return any(not t.has(k) for t in f.args)


def _pull_out_shift(e):
    f, k, K = e.args
    shift = Add(*(t for t in f.args if not t.has(k)))
    return shift + logsumexp(f - shift, k, K)


def _is_log_one_plus(e):
    """log(1 + x) with x ≥ 0 known from the assumptions (and not eˣ: softplus handles that)."""
    if not isinstance(e, log) or not isinstance(e.args[0], Add) or S.One not in e.args[0].args:
        return False
    x = e.args[0] - 1
    return not isinstance(x, exp) and bool(x.is_nonnegative)


#: Each rule set is a tuple of (note, rule); each rule is an identity on the domain it fires on
#: (tested numerically in tests/test_functions.py).
#: log Γ, log n! and log C(n, k) in one spelling, lgamma (also the prover's, derive.symbolic).
LOG_GAMMA_RULES = (
    ("log Γ(x) = lgamma(x)", Rule(_log_of(gamma), lambda e: loggamma(e.args[0].args[0]))),
    (
        "log x! = lgamma(x + 1)",
        Rule(_log_of(factorial), lambda e: loggamma(e.args[0].args[0] + 1)),
    ),
    (
        "log C(n, k) = lgamma(n + 1) − lgamma(k + 1) − lgamma(n − k + 1)",
        Rule(
            _log_of(binomial),
            lambda e: (
                loggamma(e.args[0].args[0] + 1)
                - loggamma(e.args[0].args[1] + 1)
                - loggamma(e.args[0].args[0] - e.args[0].args[1] + 1)
            ),
        ),
    ),
)


def _normal_cdf_argument(e):
    """x where e = c·Φ(x) for a positive factor c, Φ written with erf or erfc (as the parser and
    SymPy write it: c(1 + erf(u)), c(1 − erf(u)) or c·erfc(u), with x = ±√2·u), else None."""
    if isinstance(e, erfc):
        return -sqrt(2) * e.args[0]
    if isinstance(e, Mul):
        factor, rest = e.as_independent(erf, erfc, as_Add=False)
        if factor.is_positive and rest != e:
            return _normal_cdf_argument(rest)
        return None
    if not isinstance(e, Add):
        return None
    if e.has(erfc):  # SymPy writes erfc(−u) as 2 − erfc(u): back to erf
        e = e.rewrite(erf).expand()
        if not isinstance(e, Add):
            return None
    with_erf = [t for t in e.args if t.has(erf)]
    if len(with_erf) != 1:
        return None
    (term,) = with_erf
    coeff, f = term.as_independent(erf, as_Add=False)
    rest = e - term
    if not isinstance(f, erf) or rest.has(erf, erfc) or not rest.is_positive:
        return None
    if (coeff - rest).expand() == 0:
        return sqrt(2) * f.args[0]
    if (coeff + rest).expand() == 0:
        return -sqrt(2) * f.args[0]
    return None


def _log_normal_cdf(e):
    """log(c·Φ(x)) = log c' + log_ndtr(x), c' the positive factor that remains."""
    inner = e.args[0]
    x = _normal_cdf_argument(inner)
    phi = (1 + erf(x / sqrt(2))) / 2
    return log((inner.rewrite(erf) / phi).expand().simplify()) + log_ndtr(x)


def _erf_factor(e):
    """(c, u) where e = log(c·erf(u)) with c a positive factor, else None (1 ± erf(u), that is
    Φ, is the rule before: log_ndtr)."""
    if not isinstance(e, log):
        return None
    inner = e.args[0]
    factor, rest = inner.as_independent(erf, as_Add=False) if isinstance(inner, Mul) else (1, inner)
    if isinstance(rest, erf) and (factor == 1 or factor.is_positive):
        return factor, rest.args[0]
    return None


def _log_erf_of(e):
    c, u = _erf_factor(e)
    return log(c) + log_erf(u)


#: Special-function rules, applied after :data:`STABLE_RULES`: log-gamma, log-Bessel, weighted
#: log-sum-exp and log1p forms.
SPECIAL_RULES = (
    *LOG_GAMMA_RULES,
    (
        "log Φ(x) = log_ndtr(x), log(1 − Φ(x)) = log_ndtr(−x), log erfc(u) = log 2 + "
        "log_ndtr(−√2u)",
        Rule(
            lambda e: isinstance(e, log) and _normal_cdf_argument(e.args[0]) is not None,
            _log_normal_cdf,
        ),
    ),
    (
        "log(c·erf(u)) = log c + log_erf(u) (c > 0)",
        Rule(lambda e: _erf_factor(e) is not None, _log_erf_of),
    ),
    (
        "log I₀(x) = log_i0(x)",
        Rule(
            lambda e: _log_of(besseli)(e) and e.args[0].args[0] == 0,
            lambda e: log_i0(e.args[0].args[1]),
        ),
    ),
    (
        "log Σₖ cₖ·exp(fₖ) = logsumexp(log cₖ + fₖ)",
        Rule(_is_log_weighted_sum_exp, _weighted_logsumexp),
    ),
    (
        "logsumexp(f + c) = c + logsumexp(f) for c free of k",
        Rule(_has_constant_shift, _pull_out_shift),
    ),
    (
        "log(1 + x) = log1p(x) for x ≥ 0",
        Rule(_is_log_one_plus, lambda e: log1p(e.args[0] - 1)),
    ),
)

#: The whole rewrite pass, in order.
REWRITE_RULES = STABLE_RULES + SPECIAL_RULES


def apply_rules(expr, rules, passes: int = 1):
    """Apply ``rules`` in order, up to ``passes`` times or until nothing changes; return the new
    expression and the notes of the rules that fired (each once).  The one applier of every rule
    set (the derivation's, the prover's, the code printer's)."""
    fired: list[str] = []
    for _ in range(passes):
        before = expr
        for note, rule in rules:
            new = rule(expr)
            if new != expr:
                expr = new
                if note not in fired:
                    fired.append(note)
        if expr == before:
            break
    return expr, fired


def stabilise(expr):
    """The derivation's rewrite pass: :data:`REWRITE_RULES` once, in order."""
    return apply_rules(expr, REWRITE_RULES)


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

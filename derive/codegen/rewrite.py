"""The stable rewrite pass for code: rules as data, applied once, after the derivation's own.

The derivation already writes its loss with the stable primitives of :mod:`derive.functions`
(softplus, xlogy, logsumexp).  Code needs a few more forms that the printed maths does not: log1p,
expm1, lgamma, logaddexp, the exponentially scaled Bessel function.  Each rule here is an identity
``(note, Rule(query, value))``; tests/test_codegen_rewrite.py checks every one numerically
at extreme inputs, against mpmath at high precision.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.codegen.numpy_nodes import logaddexp

from ..functions import (
    COMPLEMENTS,
    Rule,
    apply_rules,
    log1mexp,
    log_i0,
    logdiffexp,
    one_minus,
    sigmoid,
    softplus,
    stabilise,
    xlogy,
)
from ..functions import elementary as primitives
from ..spec import N_CLASSES


class xlog1py(sp.Function):
    r""":math:`x \log(1 + y)`, defined as 0 where x = 0 (scipy.special.xlog1py)."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero or y.is_zero:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        x, y = self.args
        return log1p(y) if argindex == 1 else x / (1 + y)

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(1 + y)


class lgamma(sp.Function):
    r""":math:`\log\Gamma(x)` for x > 0, never evaluated symbolically: SymPy's ``loggamma`` turns
    log Γ(n + 1) into log(n!) for integer n, which code cannot evaluate for large n."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.polygamma(0, self.args[0])

    def _eval_rewrite_as_gamma(self, x, **kwargs):
        return sp.loggamma(x)

    def _eval_evalf(self, prec):
        # a number: log Γ(1/3) folds to its value (the printer writes numbers as literals)
        if self.args[0].is_number:
            return sp.loggamma(self.args[0])._eval_evalf(prec)
        return None


class ive(sp.Function):
    r"""Exponentially scaled modified Bessel function :math:`e^{-|x|} I_\nu(x)` (scipy.special.ive):
    finite where :math:`I_\nu(x)` overflows (x > 713)."""

    nargs = 2

    def fdiff(self, argindex=2):
        nu, x = self.args
        if argindex != 2:
            raise sp.ArgumentIndexError(self, argindex)
        # I'_ν = (I_{ν-1} + I_{ν+1}) / 2, and the scale e^{-|x|} contributes −sign(x)·ive
        return (ive(nu - 1, x) + ive(nu + 1, x)) / 2 - sp.sign(x) * ive(nu, x)

    def _eval_rewrite_as_exp(self, nu, x, **kwargs):
        return sp.exp(-sp.Abs(x)) * sp.besseli(nu, x)


class Where(sp.Function):
    r"""``where(condition, a, b)``: a where the condition holds, else b (element-wise).

    Code wraps an observed variable in it inside each case of a Piecewise, with b a value at
    which that case is finite (the declaration's ``guards``): the unused case is then evaluated
    at harmless values, so it neither overflows nor poisons a gradient (the "double where")."""

    nargs = 3

    @classmethod
    def eval(cls, cond, a, b):
        if cond is sp.true:
            return a
        if cond is sp.false:
            return b

    def _eval_derivative(self, s):
        cond, a, b = self.args
        return Where(cond, a.diff(s), b.diff(s))


def _guard_of(cond, guards):
    """The safe values of a case: its own, or, for cases merged into an Or (equal values), those
    of the first merged case that has them (any point where one of them holds will do)."""
    if cond in guards:
        return guards[cond]
    for part in sp.Or.make_args(cond):
        if part in guards:
            return guards[part]
    return {}


def guard_cases(expr, guards, observed):
    """Each case of each Piecewise in ``expr`` with the observed symbols in it replaced by
    ``Where(condition, symbol, safe value)``, the safe values from ``guards`` (condition →
    {symbol: value}); a case without guards is left as it is.

    A guarded case that involves the class count K can have no safe class for some K (two
    ordinal classes have none between the ends: the middle case's log-difference is then
    log(F(c_1 − η) − F(c_1 − η)) = −∞ at every class, and its gradient 0·∞ = NaN through
    `where`). Its log-differences log(eᵃ − eᵇ) are therefore also fed a safe gap, b = a − 1,
    where the case is not selected (:func:`_safe_gaps`)."""

    def guard(pw):
        cases, earlier = [], []
        for value, cond in pw.args:
            safe = _guard_of(cond, guards)
            # where this case is the one selected: its condition and none before it
            selected = sp.And(cond, *(sp.Not(c) for c in earlier)) if earlier else cond
            mapping = {
                s: Where(selected, s, safe[s]) for s in observed if s in safe and value.has(s)
            }
            if mapping:
                value = _safe_differences(value.xreplace(mapping), selected)
                if value.has(N_CLASSES):
                    value = _safe_gaps(value, selected)
            cases.append((value, cond))
            earlier.append(cond)
        return sp.Piecewise(*cases, evaluate=False)

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), guard)


def _is_min_difference(e):
    return (
        isinstance(e, sp.Add)
        and len(e.args) == 2
        and all(isinstance(t, sp.Min) or isinstance(-t, sp.Min) for t in e.args)
    )


def _safe_differences(value, selected):
    """Each regularized CDF value (P, Q, I) and each difference of two of them, min(F(b), S(a))
    − min(F(a), S(b)) (the reflected interval of :mod:`derive.composite`), as Where(selected,
    value, 1): at a guard's point the parameters can make it 0 (a count of 0 at λ = e³⁰), and
    its log, or a derivative over it, would be −∞ or 0/0 where the case is not selected;
    unchanged where it is."""
    value = value.replace(
        lambda e: isinstance(e, tuple(COMPLEMENTS)), lambda e: Where(selected, e, sp.S.One)
    )
    return value.replace(_is_min_difference, lambda e: Where(selected, e, sp.S.One))


def _safe_gaps(value, selected):
    """Each logdiffexp(a, b) in ``value`` as logdiffexp(a, Where(selected, b, a − 1)): finite,
    with finite derivatives (they are written through logdiffexp itself), where the case is not
    selected; unchanged where it is."""
    return value.replace(
        lambda e: isinstance(e, logdiffexp),
        lambda e: logdiffexp(e.args[0], Where(selected, e.args[1], e.args[0] - 1)),
    )


class lgamma_ratio(sp.Function):
    r""":math:`\log\Gamma(x + d) - \log\Gamma(x)` for x, x + d > 0, without the cancellation of the
    difference at large x (each term ~x log x, the difference ~d log x): from 10 on, the Stirling
    series of the difference, (x − ½)·log1p(d/x) + d·log(x + d) − d + S(x + d) − S(x)."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, d = self.args
        if argindex == 1:
            return sp.polygamma(0, x + d) - sp.polygamma(0, x)
        return sp.polygamma(0, x + d)

    def _eval_rewrite_as_gamma(self, x, d, **kwargs):
        return sp.loggamma(x + d) - sp.loggamma(x)

    def _eval_evalf(self, prec):
        if all(a.is_number for a in self.args):
            return self._eval_rewrite_as_gamma(*self.args)._eval_evalf(prec)
        return None


class log1p_square(sp.Function):
    r""":math:`\log(1 + u^2)`, finite where u² overflows (|u| > 1.3e154 in float64, 1.8e19 in
    float32): 2 log|u| + log1p(u⁻²) for |u| > 1, log1p(u²) below."""

    nargs = 1

    @classmethod
    def eval(cls, u):
        if u.could_extract_minus_sign():  # even: one canonical sign
            return cls(-u)

    def fdiff(self, argindex=1):
        u = self.args[0]
        return 2 * u / (1 + u**2)

    def _eval_rewrite_as_log(self, u, **kwargs):
        return sp.log(1 + u**2)


class softplus_minus(sp.Function):
    r""":math:`\operatorname{softplus}(z) - yz`, the logit losses, evaluated as
    (max(z, 0) − yz) + log1p(e^{−|z|}): for y ∈ [0, 1] both parts are ≥ 0, so the sum keeps its
    relative accuracy when the prediction is confident and right (log1p(e^{−40}) = 4.2e-18, where
    softplus(z) − yz rounds to 0 or 7e-15), at the cost of softplus itself."""

    nargs = 2

    def fdiff(self, argindex=1):
        z, y = self.args
        return sigmoid(z) - y if argindex == 1 else -z

    def _eval_rewrite_as_log(self, z, y, **kwargs):
        return sp.log(1 + sp.exp(z)) - y * z


class lgamma_stirling(sp.Function):
    r"""The Stirling remainder :math:`\log\Gamma(z) - (z - \tfrac12)\log z + z` for z > 0, about
    ½ log 2π + 1/(12z) at large z, where log Γ(z) and (z − ½) log z are each ~z log z and their
    difference cancels (Loader, "Fast and accurate computation of binomial probabilities", 2000:
    the saddle-point forms of the gamma and beta densities). From 10 on, the Stirling series (the
    one of :class:`lgamma_ratio`); below, the difference itself."""

    nargs = 1

    def fdiff(self, argindex=1):
        z = self.args[0]
        return sp.polygamma(0, z) - sp.log(z) + 1 / (2 * z)

    def _eval_rewrite_as_gamma(self, z, **kwargs):
        return sp.loggamma(z) - (z - sp.S.Half) * sp.log(z) + z

    def _eval_evalf(self, prec):
        if self.args[0].is_number:
            return self._eval_rewrite_as_gamma(*self.args)._eval_evalf(prec)
        return None


class saddle_deviance(sp.Function):
    r""":math:`x e - (x - 1)\log r` for x > 0 and r = 1 + e ≥ 0 (both given, each computed
    without cancellation by the caller): the data part of the gamma and beta log densities in
    saddle-point form.  Where |e| is small it is :math:`\log(1 + e) - x(\log(1 + e) - e)`, the
    second part ≈ x e²/2 summed from its series (log(1 + e) − e = −te + 2(t³/3 + t⁵/5 + …),
    t = e/(2 + e)): x e and x log(1 + e) are each ~x e and cancel at large x.  Elsewhere
    x e − xlogy(x − 1, r), which keeps an r that underflows 1 + e (y = 1e-300) and gives the
    edge of the support (r = 0): −1 at x = 1, ±∞ otherwise."""

    nargs = 3

    def fdiff(self, argindex=1):
        x, e, r = self.args
        return (e - sp.log(r), x, -(x - 1) / r)[argindex - 1]

    def _eval_rewrite_as_log(self, x, e, r, **kwargs):
        return x * e - (x - 1) * sp.log(r)


class beta_offset(sp.Function):
    r""":math:`b y - a (1 - y)`, i.e. :math:`(a + b) y - a`, the offset of y from the beta mean
    a/(a + b) times a + b, for the saddle-point form of the beta density.  At a, b ~ 1e8 and y
    near the mean both products are ~1e8 and cancel to ~1e4, and the NLL moves by the offset's
    absolute error times |y − p|: rounding b·y in float32 (6e-8 relative) gave a relative error
    of 2.5e-4 at y = 0.5001, a = b = 1e8.  The code (``_beta_offset``) computes each product
    error-free in the inputs' own dtype (Dekker's product), so float32 stays float32."""

    nargs = 3

    def fdiff(self, argindex=1):
        a, b, y = self.args
        return (y - 1, y, a + b)[argindex - 1]

    def _eval_rewrite_as_log(self, a, b, y, **kwargs):
        return b * y - a * (1 - y)


#: Functions this module adds to the derivation's vocabulary.
CODE_FUNCTIONS = (
    log1p,
    expm1,
    logaddexp,
    xlog1py,
    lgamma,
    ive,
    log1mexp,
    lgamma_ratio,
    log1p_square,
    lgamma_stirling,
    saddle_deviance,
    beta_offset,
)


def elementary(expr):
    """Rewrite the code functions (and derive's primitives) into exp/log/special-function form."""
    expr = expr.replace(lambda e: isinstance(e, ive), lambda e: e.rewrite(sp.exp))
    expr = expr.replace(lambda e: isinstance(e, lgamma), lambda e: sp.loggamma(e.args[0]))
    expr = expr.replace(
        lambda e: isinstance(e, (lgamma_ratio, lgamma_stirling)), lambda e: e.rewrite(sp.gamma)
    )
    expr = expr.replace(
        lambda e: isinstance(e, (saddle_deviance, beta_offset)), lambda e: e.rewrite(sp.log)
    )
    expr = expr.replace(lambda e: isinstance(e, log1p_square), lambda e: e.rewrite(sp.log))
    expr = expr.replace(lambda e: isinstance(e, softplus_minus), lambda e: e.rewrite(sp.log))
    expr = expr.replace(lambda e: isinstance(e, (xlog1py, log1mexp)), lambda e: e.rewrite(sp.log))
    expr = expr.replace(lambda e: isinstance(e, (log1p, logaddexp)), lambda e: e.rewrite(sp.log))
    expr = expr.replace(lambda e: isinstance(e, expm1), lambda e: e.rewrite(sp.exp))
    return primitives(expr)


# ---------------------------------------------------------------------------- matchers


def _log_of(cls):
    return lambda e: isinstance(e, sp.log) and isinstance(e.args[0], cls)


def _one_plus(e):
    """x where e = 1 + x (x not a number), else None."""
    if isinstance(e, sp.Add):
        constant, rest = e.as_coeff_Add()
        if constant == 1 and not rest.is_number:
            return rest
    return None


def _exp_minus_one(e):
    """(c, x) where the Add e contains the pair c·exp(x) − c, else None."""
    if not isinstance(e, sp.Add):
        return None
    constant, _ = e.as_coeff_Add()
    if constant == 0:
        return None
    for term in sp.Add.make_args(e):
        c, f = term.as_coeff_Mul()
        if isinstance(f, sp.exp) and c == -constant:
            return c, f
    return None


def _replace_exp_minus_one(e):
    c, f = _exp_minus_one(e)
    return e - c * f + c + c * expm1(f.args[0])


def _one_minus_exp(e):
    """x where e = 1 − exp(x), else None."""
    term = one_minus(e, sp.exp)
    return None if term is None else term.args[0]


def _one_minus_sigmoid(e):
    """x where e = 1 − σ(x), else None."""
    term = one_minus(e, sigmoid)
    return None if term is None else term.args[0]


def _exp_pair(e):
    """(a, b) where e = exp(a) + exp(b), else None."""
    if isinstance(e, sp.Add) and len(e.args) == 2 and all(isinstance(t, sp.exp) for t in e.args):
        return e.args[0].args[0], e.args[1].args[0]
    return None


def _may_vanish(factor) -> bool:
    """True when a factor is not provably nonzero (so 0·log 0 can occur)."""
    return not factor.is_number and factor.is_nonzero is not True


def _x_log_y(e):
    """(c, x, y) where e = c·x·log(y), c a number and x may vanish, else None."""
    if not isinstance(e, sp.Mul):
        return None
    logs = [f for f in e.args if isinstance(f, sp.log)]
    if len(logs) != 1:
        return None
    coeff, x = (e / logs[0]).as_coeff_Mul()
    if _may_vanish(x):
        return coeff, x, logs[0].args[0]
    return None


def _replace_x_log_y(e):
    coeff, x, y = _x_log_y(e)
    return coeff * xlogy(x, y)


def _log_power(e):
    return (
        isinstance(e, sp.log)
        and isinstance(e.args[0], sp.Pow)
        and e.args[0].base.is_positive
        and e.args[0].exp.is_real
    )


def _odds_powers(e):
    """In a product, c^k e^{kg} (1 + c e^g)^{-n} with 1 <= k <= n and c > 0 (the derivative of
    an incomplete beta at x = c e^g / (1 + c e^g): a truncated count's normaliser under a log
    link): (the factors, c, g, k, n), or None.  Each factor overflows once k g passes 709 (a
    truncated negative binomial's gradient was NaN beyond log mu = 23), the product never."""
    if not isinstance(e, sp.Mul):
        return None
    factors = e.args
    for f in factors:
        if not (isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp < 0):
            continue
        base = f.base
        if not (isinstance(base, sp.Add) and len(base.args) == 2 and sp.S.One in base.args):
            continue
        a = base - 1
        exps = [q for q in sp.Mul.make_args(a) if isinstance(q, sp.exp)]
        if len(exps) != 1:
            continue
        g, c = exps[0].args[0], a / exps[0]
        if not (c.is_positive and (c.is_Number or c.is_Symbol)):
            continue
        for q in factors:
            if not isinstance(q, sp.exp) or q is exps[0]:
                continue
            k = sp.cancel(q.args[0] / g)
            if not (k.is_Integer and 1 <= k <= -f.exp):
                continue
            if c.is_Symbol and e.as_powers_dict().get(c, 0) < k:  # c^k is not a factor
                continue
            return f, q, c, g, int(k), int(-f.exp)
    return None


def _odds_in_log_space(e):
    f, q, c, g, k, n = _odds_powers(e)
    s = g if c == 1 else g + sp.log(c)
    # (A/(1 + A))^k (1 + A)^(k - n) with A = e^s, and log(A/(1 + A)) = -softplus(-s)
    return (e / (f * q * c**k)) * sp.exp(-k * softplus(-s) - (n - k) * softplus(s))


def _log_with_exp_factor(e):
    return (
        isinstance(e, sp.log)
        and isinstance(e.args[0], sp.Mul)
        and any(isinstance(f, sp.exp) and f.args[0].is_real for f in e.args[0].args)
    )


def _split_exp_factor(e):
    factors = e.args[0].args
    exps = [f for f in factors if isinstance(f, sp.exp) and f.args[0].is_real]
    rest = sp.Mul(*(f for f in factors if f not in exps))
    return sp.Add(*(f.args[0] for f in exps)) + sp.log(rest)


def _log_positive_number(e):
    """log(c·x) with c a positive number other than 1."""
    if not (isinstance(e, sp.log) and isinstance(e.args[0], sp.Mul)):
        return False
    c, rest = e.args[0].as_coeff_Mul()
    numbers = [f for f in sp.Mul.make_args(rest) if f.is_number]
    return (c.is_positive and c != 1) or any(f.is_positive for f in numbers)


def _split_positive_number(e):
    factors = sp.Mul.make_args(e.args[0])
    numbers = [f for f in factors if f.is_number and f.is_positive]
    rest = sp.Mul(*(f for f in factors if f not in numbers))
    return sp.log(sp.Mul(*numbers)) + sp.log(rest)


def _lgamma_pair(e):
    """(sign, x, d, p, q) for an Add with terms lgamma(p) and −lgamma(q) where one argument is the
    other plus a simpler d (lgamma(y + 1/α) and lgamma(1/α), lgamma(ν/2 + ½) and lgamma(ν/2)):
    lgamma(p) − lgamma(q) = sign·lgamma_ratio(x, d); else None."""
    if not isinstance(e, sp.Add):
        return None
    plus = [t.args[0] for t in e.args if isinstance(t, lgamma) and not t.is_number]
    minus = [(-t).args[0] for t in e.args if isinstance(-t, lgamma) and not t.is_number]

    def size(a):  # a number is simplest, then fewer symbols, then fewer operations
        return (not a.is_number, len(a.free_symbols), sp.count_ops(a))

    best = None
    for p in plus:
        for q in minus:
            for sign, x, other in ((1, q, p), (-1, p, q)):
                d = sp.expand(other - x)
                if d == 0 or size(d) >= size(other):
                    continue
                if best is None or size(d) < size(best[2]):
                    best = (sign, x, d, p, q)
    return best


def _replace_lgamma_pair(e):
    sign, x, d, p, q = _lgamma_pair(e)
    return e - lgamma(p) + lgamma(q) + sign * lgamma_ratio(x, d)


def _square_root(x):
    """u where x = u² has a squared factor that is not known positive (the residual of
    (y − μ)²/γ², whose square overflows), written by SymPy without a new root of it
    (|y − μ|/γ), else None."""
    if x.is_number or not x.is_nonnegative:
        return None
    squares = [
        f
        for f in sp.Mul.make_args(x)
        if isinstance(f, sp.Pow) and f.exp.is_even and f.exp > 0 and not f.base.is_positive
    ]
    if not squares:
        return None
    u = sp.sqrt(x)
    roots = [f for f in u.atoms(sp.Pow) if f.exp in (sp.S.Half, -sp.S.Half)]
    if any(not r.base.is_positive for r in roots):
        return None
    # log(1 + u²) is even in u: |r|/γ can be r/γ, which differentiates without a kink
    return u.replace(lambda f: isinstance(f, sp.Abs), lambda f: f.args[0])


def _one_minus_cos(e):
    """(c, u) where the Add e has the terms c and −c·cos(u), else None."""
    if not isinstance(e, sp.Add):
        return None
    for term in e.args:
        c, f = term.as_independent(sp.cos, as_Add=False)
        if isinstance(f, sp.cos) and any(sp.expand(t + c) == 0 for t in e.args):
            return -c, f.args[0]
    return None


def _replace_one_minus_cos(e):
    c, u = _one_minus_cos(e)
    return e - c + c * sp.cos(u) + 2 * c * sp.sin(u / 2) ** 2


def _log_i0_minus_cos(e):
    """(x, u) where the Add e has the terms log_i0(x) and −x·cos(u) (the von Mises NLL), else
    None."""
    if not isinstance(e, sp.Add):
        return None
    for term in e.args:
        if isinstance(term, log_i0):
            x = term.args[0]
            for other in e.args:
                c, f = other.as_independent(sp.cos, as_Add=False)
                if isinstance(f, sp.cos) and sp.expand(c + x) == 0:
                    return x, f.args[0]
    return None


def _replace_log_i0_minus_cos(e):
    x, u = _log_i0_minus_cos(e)
    return e - log_i0(x) + x * sp.cos(u) + sp.log(ive(0, x)) + 2 * x * sp.sin(u / 2) ** 2


def _shared_logs(e):
    """The logs that are a factor of two or more terms of the Add e (c₁ log y + c₂ log y)."""
    if not isinstance(e, sp.Add):
        return []
    seen, shared = set(), []
    for term in e.args:
        for f in set(sp.Mul.make_args(term)):
            if isinstance(f, sp.log):
                if f in seen and f not in shared:
                    shared.append(f)
                seen.add(f)
    return shared


def _sums_sharing_a_log(e):
    """The two terms c₁·Σf₁ and c₂·Σf₂ of the Add e over the same index and limits whose
    summands have a log factor in common (the Dirichlet's Σ log yₖ − Σ αₖ log yₖ), else None."""
    if not isinstance(e, sp.Add):
        return None
    seen = []
    for term in e.args:
        _, f = term.as_coeff_Mul()
        if not (isinstance(f, sp.Sum) and len(f.limits) == 1):
            continue
        logs = {g for g in sp.Mul.make_args(f.function) if isinstance(g, sp.log)}
        for other, limits, other_logs in seen:
            if limits == f.limits and logs & other_logs:
                return other, term
        seen.append((term, f.limits, logs))
    return None


def _merge_sums(e):
    first, second = _sums_sharing_a_log(e)
    (c1, s1), (c2, s2) = first.as_coeff_Mul(), second.as_coeff_Mul()
    return e - first - second + sp.Sum(c1 * s1.function + c2 * s2.function, s1.limits[0])


def _softplus_minus_linear(e):
    """(z, y) for an Add containing softplus(z) and −y·z (the logit losses), else None."""
    if not isinstance(e, sp.Add):
        return None
    for term in e.args:
        if isinstance(term, softplus):
            z = term.args[0]
            for other in e.args:
                if other is term:
                    continue
                y = sp.cancel(-other / z)
                data = y.free_symbols
                if data and not data & z.free_symbols and sp.expand(-y * z - other) == 0:
                    return z, y
    return None


def _split_softplus(e):
    z, y = _softplus_minus_linear(e)
    return e - softplus(z) + y * z + softplus_minus(z, y)


def _as_lgamma(expr):
    """expr with each lgamma_ratio(x, d) written as lgamma(x + d) − lgamma(x)."""
    return expr.replace(
        lambda f: isinstance(f, lgamma_ratio),
        lambda f: lgamma(f.args[0] + f.args[1]) - lgamma(f.args[0]),
    )


def _is_lgamma_term(term) -> bool:
    _, f = term.as_coeff_Mul()
    return isinstance(f, (lgamma, lgamma_ratio)) and not f.is_number


def _abs_plus_linear(e):
    """(c, k, t, the two terms) where the Add e holds c·|t| and k·t, c > 0 a number and k free
    of t (the pinball loss |t|/2 − (τ − ½)t), else None."""
    if not isinstance(e, sp.Add):
        return None
    for term in e.args:
        c, f = term.as_coeff_Mul()
        if not (isinstance(f, sp.Abs) and c.is_positive):
            continue
        t = f.args[0]
        for other in e.args:
            if other is term:
                continue
            k = sp.cancel(other / t)
            if not k.free_symbols & t.free_symbols and not k.has(sp.Abs):
                return c, k, t, term, other
    return None


def _replace_abs_plus_linear(e):
    c, k, t, term, other = _abs_plus_linear(e)
    return e - term - other + (c + k) * sp.Max(t, 0) + (c - k) * sp.Max(-t, 0)


#: The saddle-point forms are used from this parameter value on (where the plain lgamma terms
#: grow past the NLL by a factor of about 10; below, the plain form loses nothing).
_SADDLE_FROM = 10


def _beta_kernel(e):
    """(a, b, y, terms) where the Add e holds xlogy(1 − a, y) + xlog1py(1 − b, −y) and log-gamma
    terms summing to log B(a, b) (the beta NLL), else None."""
    if not isinstance(e, sp.Add):
        return None
    for t1 in e.args:
        if not isinstance(t1, xlogy) or t1.args[0].is_number:
            continue
        a, y = 1 - t1.args[0], t1.args[1]
        for t2 in e.args:
            if not (isinstance(t2, xlog1py) and sp.expand(t2.args[1] + y) == 0):
                continue
            b = 1 - t2.args[0]
            params = a.free_symbols | b.free_symbols
            logs = [t for t in e.args if _is_lgamma_term(t) and t.free_symbols <= params]
            target = lgamma(a) + lgamma(b) - lgamma(a + b)
            if logs and sp.expand(_as_lgamma(sp.Add(*logs)) - target) == 0:
                return a, b, y, (t1, t2, *logs)
    return None


def _replace_beta_kernel(e):
    a, b, y, terms = _beta_kernel(e)
    w = beta_offset(a, b, y)  # (a + b)·y − a: e₁ = w/a, e₂ = −w/b
    saddle = (
        lgamma_stirling(a)
        + lgamma_stirling(b)
        - lgamma_stirling(a + b)
        + (sp.log(a) + sp.log(b) - 3 * sp.log(a + b)) / 2
        + saddle_deviance(a, w / a, (a + b) * y / a)
        + saddle_deviance(b, -w / b, (a + b) * (1 - y) / b)
    )
    # below 10 the plain form has no cancellation to undo, and the Stirling one would lose the
    # relative accuracy of an NLL near 0 (a = b = 1: exactly 0)
    # plain: log B(a, b) = lgamma(m) − lgamma_ratio(M, m) with m, M the smaller and the larger
    # (lgamma(b) − lgamma_ratio(a, b) cancels at a = 7, b = 1e8: each term ~b log b)
    small, large = sp.Min(a, b), sp.Max(a, b)
    plain = terms[0] + terms[1] + lgamma(small) - lgamma_ratio(large, small)
    return e - sp.Add(*terms) + Where(small >= _SADDLE_FROM, saddle, plain)


def _gamma_kernel(e):
    """(k, μ, y, terms) where the Add e holds lgamma(k) − k log k + k log μ + k y/μ +
    xlogy(1 − k, y) (the gamma NLL in mean and shape), else None."""
    if not isinstance(e, sp.Add):
        return None
    for t1 in e.args:
        if not isinstance(t1, xlogy) or t1.args[0].is_number:
            continue
        k, y = 1 - t1.args[0], t1.args[1]
        if lgamma(k) not in e.args or -k * sp.log(k) not in e.args:
            continue
        for t in e.args:
            if t is t1 or not t.has(y):
                continue
            mu = sp.cancel(k * y / t)
            if mu.has(y) or mu.is_number or k * sp.log(mu) not in e.args:
                continue
            return k, mu, y, (t1, t, lgamma(k), -k * sp.log(k), k * sp.log(mu))
    return None


def _replace_gamma_kernel(e):
    k, mu, y, terms = _gamma_kernel(e)
    saddle = (
        lgamma_stirling(k) - sp.log(k) / 2 + sp.log(mu) + saddle_deviance(k, (y - mu) / mu, y / mu)
    )
    return e - sp.Add(*terms) + Where(k >= _SADDLE_FROM, saddle, sp.Add(*terms))


#: The code rules, in the order one pass applies them.  Each is an identity on the real domain of
#: its arguments; the note is what the emitted module's docstring lists when the rule fired.
CODE_RULES = (
    (
        "log I₀(x) − x cos u = log ive(0, x) + 2x sin²(u/2)",
        Rule(lambda e: _log_i0_minus_cos(e) is not None, _replace_log_i0_minus_cos),
    ),
    (
        "c − c cos u = 2c sin²(u/2)",
        Rule(lambda e: _one_minus_cos(e) is not None, _replace_one_minus_cos),
    ),
    (
        "I_ν(x) = e^|x| ive(ν, x)",
        Rule(
            lambda e: isinstance(e, sp.besseli),
            lambda e: sp.exp(sp.Abs(e.args[1])) * ive(*e.args),
        ),
    ),
    ("log(e^a·b) = a + log b", Rule(_log_with_exp_factor, _split_exp_factor)),
    (
        "cᵏeᵏᵍ(1 + ceᵍ)⁻ⁿ = exp(−k softplus(−s) − (n − k) softplus(s)), s = g + log c",
        Rule(lambda e: _odds_powers(e) is not None, _odds_in_log_space),
    ),
    (
        "log(c·x) = log c + log x (c > 0 a number)",
        Rule(_log_positive_number, _split_positive_number),
    ),
    (
        "loggamma(x) = lgamma(x), kept unevaluated",
        Rule(lambda e: isinstance(e, sp.loggamma), lambda e: lgamma(e.args[0])),
    ),
    (
        "log xⁿ = n log x (x > 0)",
        Rule(_log_power, lambda e: e.args[0].exp * sp.log(e.args[0].base)),
    ),
    (
        "log B(a, b) = lgamma(a) + lgamma(b) − lgamma(a + b)",
        Rule(
            _log_of(sp.beta),
            lambda e: (
                lgamma(e.args[0].args[0])
                + lgamma(e.args[0].args[1])
                - lgamma(e.args[0].args[0] + e.args[0].args[1])
            ),
        ),
    ),
    (
        "lgamma(x + d) − lgamma(x) = lgamma_ratio(x, d)",
        Rule(lambda e: _lgamma_pair(e) is not None, _replace_lgamma_pair),
    ),
    (
        "log1p(u²) = log1p_square(u)",
        Rule(
            lambda e: isinstance(e, log1p) and _square_root(e.args[0]) is not None,
            lambda e: log1p_square(_square_root(e.args[0])),
        ),
    ),
    (
        "softplus(z) − yz = (max(z, 0) − yz) + log1p(e^−|z|)",
        Rule(lambda e: _softplus_minus_linear(e) is not None, _split_softplus),
    ),
    (
        "log cosh x = |x| + softplus(−2|x|) − log 2",
        Rule(
            _log_of(sp.cosh),
            lambda e: (
                sp.Abs(e.args[0].args[0]) + softplus(-2 * sp.Abs(e.args[0].args[0])) - sp.log(2)
            ),
        ),
    ),
    (
        "log(1 − eˣ) = log1mexp(x)",
        Rule(
            lambda e: isinstance(e, sp.log) and _one_minus_exp(e.args[0]) is not None,
            lambda e: log1mexp(_one_minus_exp(e.args[0])),
        ),
    ),
    (
        "log(eᵃ + eᵇ) = logaddexp(a, b)",
        Rule(
            lambda e: isinstance(e, sp.log) and _exp_pair(e.args[0]) is not None,
            lambda e: logaddexp(*_exp_pair(e.args[0])),
        ),
    ),
    (
        "c₁ Σ f₁ + c₂ Σ f₂ = Σ (c₁ f₁ + c₂ f₂) for summands sharing a log",
        Rule(lambda e: _sums_sharing_a_log(e) is not None, _merge_sums),
    ),
    (
        "c₁ log y + c₂ log y = (c₁ + c₂) log y",
        Rule(lambda e: bool(_shared_logs(e)), lambda e: sp.collect(e, _shared_logs(e))),
    ),
    (
        "x·log y = xlogy(x, y)",
        Rule(lambda e: _x_log_y(e) is not None, _replace_x_log_y),
    ),
    (
        "xlogy(x, 1 + y) = xlog1py(x, y)",
        Rule(
            lambda e: isinstance(e, xlogy) and _one_plus(e.args[1]) is not None,
            lambda e: xlog1py(e.args[0], _one_plus(e.args[1])),
        ),
    ),
    (
        "log(1 + x) = log1p(x)",
        Rule(
            lambda e: isinstance(e, sp.log) and _one_plus(e.args[0]) is not None,
            lambda e: log1p(_one_plus(e.args[0])),
        ),
    ),
    (
        "eˣ − 1 = expm1(x)",
        Rule(lambda e: _exp_minus_one(e) is not None, _replace_exp_minus_one),
    ),
    (
        "1 − σ(x) = σ(−x)",
        Rule(
            lambda e: _one_minus_sigmoid(e) is not None,
            lambda e: sigmoid(-_one_minus_sigmoid(e)),
        ),
    ),
    (
        "c|t| + kt = (c + k) max(t, 0) + (c − k) max(−t, 0)",
        Rule(lambda e: _abs_plus_linear(e) is not None, _replace_abs_plus_linear),
    ),
    (
        "log B(a, b) + (1 − a) log y + (1 − b) log(1 − y) in saddle-point form (Stirling "
        "remainders and x·e − (x − 1) log(1 + e))",
        Rule(lambda e: _beta_kernel(e) is not None, _replace_beta_kernel),
    ),
    (
        "lgamma(k) − k log k + k log μ + k y/μ + (1 − k) log y in saddle-point form (Stirling "
        "remainder and x·e − (x − 1) log(1 + e))",
        Rule(lambda e: _gamma_kernel(e) is not None, _replace_gamma_kernel),
    ),
)


def _partial_sum(e) -> bool:
    """A sum along part of the class axis: over components of a vector, from a class ≥ 1 to a
    finite end (anything else stays a sum the printer refuses, naming it)."""
    if not (isinstance(e, sp.Sum) and len(e.limits) == 1):
        return False
    j, lo, hi = e.limits[0]
    along = any(a.indices == (j,) for a in e.function.atoms(sp.Indexed))
    return along and (lo, hi) != (1, N_CLASSES) and lo.is_Integer and lo >= 1 and hi.is_finite


def _masked(e):
    (j, lo, hi), body = e.limits[0], e.function
    inside = sp.Piecewise((1, sp.And(j >= lo, j <= hi)), (0, True))
    return sp.Sum(body * inside, (j, 1, N_CLASSES))


#: Forms of the class axis for code: the printer reduces over the whole class axis k = 1..K, so a
#: sum over part of it (the ordinal cutpoint c_y = r_1 + Σ_{j=2}^{y} softplus(r_j), whose upper
#: limit is data) is the whole sum of a 0/1 mask, and a Kronecker delta (∂r_1/∂r_j) a 0/1 case.
#: Exact for limits inside 1..K; applied last, to the printed expressions only (derivatives are
#: taken of the sums themselves); tests/test_ordinal.py checks the code numerically.
CLASS_AXIS_RULES = (
    ("Σ_{j=a}^{b} f = Σ_{j=1}^{K} [a ≤ j ≤ b] f", Rule(_partial_sum, _masked)),
    (
        "δ(a, b) = [a = b]",
        Rule(
            lambda e: isinstance(e, sp.KroneckerDelta),
            lambda e: sp.Piecewise((1, sp.Eq(*e.args)), (0, True)),
        ),
    ),
)


def prepare(expr, passes: int = 4):
    """The expression code is printed from: the derivation's stable rules, then the code rules,
    until neither changes it (a code rule can expose a pattern of the derivation's, such as
    log Σ c·eᶠ once a constant factor is out of the log).

    Returns (expression, notes of every rule that fired)."""
    expr, fired = sp.sympify(expr), []
    for _ in range(passes):
        before = expr
        expr, notes = stabilise(expr)
        fired += [n for n in notes if n not in fired]
        expr, notes = apply_rules(expr, CODE_RULES, passes)
        fired += [n for n in notes if n not in fired]
        if expr == before:
            break
    return expr, fired

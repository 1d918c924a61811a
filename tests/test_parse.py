r"""The LaTeX adapter: one test per known failure mode of latex2sympy2, and the guards around it."""

from __future__ import annotations

import time

import pytest
import sympy as sp

from derive.functions import sigmoid
from derive.parse import MAX_DEPTH, ParseError, parse_latex, symbol_name
from derive.spec import CLASS_INDEX as k
from derive.spec import N_CLASSES as K

a, b, n, x, y, z = sp.symbols("a b n x y z")
mu, nu, kappa, sigma, lam = sp.symbols("mu nu kappa sigma lambda")


def read(tex, variables=()):
    return parse_latex(tex, variables).expr


def same(tex, expected, variables=()):
    got = read(tex, variables)
    assert got == expected, f"{tex!r} read as {got}, not {expected}"


def refused(tex, message, variables=()):
    with pytest.raises(ParseError) as info:
        parse_latex(tex, variables)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    return str(info.value)


# ---------------------------------------------------------------------------- functions


def test_gamma_of_a_fraction_is_the_gamma_function():
    # latex2sympy2 alone: Symbol('Gamma') * (nu + 1) / 2
    same(r"\Gamma(\frac{\nu+1}{2})", sp.gamma((nu + 1) / 2))
    same(r"\Gamma\left(\frac{\nu}{2}\right)", sp.gamma(nu / 2))
    same(r"\Gamma(a+b)", sp.gamma(a + b))
    same(r"\Gamma(a)\Gamma(b)", sp.gamma(a) * sp.gamma(b))
    same(r"\Gamma(a)^{2}", sp.gamma(a) ** 2)
    assert r"\Gamma(…) as the gamma function Γ" in parse_latex(r"\Gamma(x)").readings


def test_gamma_alone_is_a_symbol_and_refuses_to_guess_when_declared():
    same(r"\Gamma x", sp.Symbol("Gamma") * x)
    refused(r"\Gamma(x)", r"\Gamma(…) is ambiguous: Gamma is declared", variables=["Gamma"])


def test_beta_function_in_three_spellings():
    for tex in (
        r"\operatorname{B}(a,b)",
        r"\mathrm{B}(a, b)",
        "B(a,b)",
        r"\operatorname{Beta}(a,b)",
    ):
        same(tex, sp.beta(a, b))
    same("B(1-x)", sp.Symbol("B") * (1 - x))  # one argument: B times (1 - x)
    refused(r"\operatorname{B}(a)", "takes 2 argument(s), not 1")


def test_ln_and_log_are_natural_logarithms():
    same(r"\ln x", sp.log(x))
    same(r"\log x", sp.log(x))  # latex2sympy2 alone: base 10
    same(r"\log(x)", sp.log(x))
    same(r"\log_{10} x", sp.log(x) / sp.log(10))
    same(r"\log_2(x)", sp.log(x) / sp.log(2))
    assert r"\log as the natural logarithm" in parse_latex(r"\log x").readings


def test_exp_and_e_to_the_are_the_same():
    expected = sp.exp(-((y - mu) ** 2) / 2)
    for tex in (
        r"\exp(-\frac{(y-\mu)^2}{2})",
        r"e^{-\frac{(y-\mu)^2}{2}}",
        r"\exp\left\{-(y-\mu)^2/2\right\}",
        r"\mathrm{e}^{-\frac{1}{2}(y-\mu)^2}",
        r"\exp\left[-\frac{(y-\mu)^{2}}{2}\right]",
    ):
        same(tex, expected)


def test_e_and_pi_are_constants():
    same("e", sp.E)
    same(r"\pi", sp.pi)
    same(r"\sqrt{2\pi}", sp.sqrt(2 * sp.pi))
    same(r"x e^{-x}", x * sp.exp(-x))
    assert {"e as Euler's number", r"\pi as the constant π"} <= set(parse_latex(r"e \pi").readings)


def test_factorials_and_binomials():
    same("y!", sp.factorial(y))
    same("(y+1)!", sp.factorial(y + 1))
    same(r"\frac{\lambda^y}{y!}", lam**y / sp.factorial(y))
    same(r"\binom{n}{y}", sp.binomial(n, y))
    same(r"{n \choose y}", sp.binomial(n, y))
    same(r"n \choose y", sp.binomial(n, y))
    same(r"\binom{y+a-1}{y}", sp.binomial(y + a - 1, y))


def test_sigma_of_z_is_the_sigmoid():
    same(r"\sigma(z)", sigmoid(z))  # latex2sympy2 alone: an undefined function \sigma
    same(r"\sigma(z)^y(1-\sigma(z))^{1-y}", sigmoid(z) ** y * (1 - sigmoid(z)) ** (1 - y))
    same(r"\operatorname{sigmoid}(z)", sigmoid(z))
    same(r"\sigma^2", sigma**2)
    same(r"\sigma_0(y-\mu)", sp.Symbol("sigma_0") * (y - mu))


def test_sigma_before_a_parenthesis_is_ambiguous_when_sigma_is_declared():
    message = refused(
        r"\frac{1}{\sigma (2\pi)^{1/2}}", r"\sigma(…) is ambiguous", variables=["sigma", "mu"]
    )
    assert r"write \sigma \cdot (…) for a product" in message
    same(r"\frac{1}{\sigma \cdot (2\pi)^{1/2}}", 1 / (sigma * sp.sqrt(2 * sp.pi)), ["sigma"])


def test_bessel_functions():
    same(r"I_0(\kappa)", sp.besseli(0, kappa))
    same(r"I_{0}(\kappa)", sp.besseli(0, kappa))
    same(r"K_{\nu}(x)", sp.besselk(nu, x))
    same(r"\frac{e^{\kappa\cos(y-\mu)}}{2\pi I_0(\kappa)}",
         sp.exp(kappa * sp.cos(y - mu)) / (2 * sp.pi * sp.besseli(0, kappa)))  # fmt: skip


def test_other_named_functions():
    same(r"\Phi(a x)", (1 + sp.erf(a * x / sp.sqrt(2))) / 2)
    same(r"\operatorname{erf}(x)", sp.erf(x))
    same(r"\max(y, 0)", sp.Max(y, 0))
    refused(r"\operatorname{foo}(x)", r"unknown function \operatorname{foo}(…)")
    refused(r"f(x, y)", "unknown function f(…, …)")


def test_absolute_values():
    same(r"|x-\mu|", sp.Abs(x - mu))
    same(r"\left|x\right|", sp.Abs(x))
    same(r"\lvert x \rvert", sp.Abs(x))
    same(r"|x|^{a}", sp.Abs(x) ** a)


def test_sizing_and_spacing_commands_vanish():
    same(r"\left( x \right)", x)
    same(r"\bigl(1+x\bigr)^{2}", (1 + x) ** 2)
    same(r"\Bigl[x\Bigr]", x)
    same(r"x\,y\;z\!\quad a", x * y * z * a)
    same(r"\displaystyle\frac{x}{2}", x / 2)
    same(r"\left. x \right.", x)


def test_accents_and_subscripts_become_symbol_names():
    same(r"\hat{y}", sp.Symbol("y_hat"))
    same(r"\bar{x}^2", sp.Symbol("x_bar") ** 2)
    same(r"\hat{y}_i", sp.Symbol("y_hat_i"))
    same("x_m", sp.Symbol("x_m"))
    same("x_{m}", sp.Symbol("x_m"))
    same(r"x_{\mathrm{m}}", sp.Symbol("x_m"))
    same(r"x_\text{min}", sp.Symbol("x_min"))
    same(r"\sigma_{0}^2", sp.Symbol("sigma_0") ** 2)
    same(r"\mathrm{scale}", sp.Symbol("scale"))
    assert r"\hat{y} as the symbol y_hat" in parse_latex(r"\hat{y}").readings


@pytest.mark.parametrize(
    "raw, name",
    [
        (r"\hat{y}", "y_hat"),
        (r"\widehat{y}", "y_hat"),
        (r"\overline{x}", "x_bar"),
        (r"\tilde{\theta}", "theta_tilde"),
        (r"x_{\mathrm{m}}", "x_m"),
        (r"\sigma_{\hat{y}}", "sigma_y_hat"),
        ("y_{i,k}", "y_i_k"),
        (r"\mathbf{w}", "w"),
        ("lambda", "lambda"),
    ],
)
def test_symbol_name(raw, name):
    assert symbol_name(raw) == name


def test_symbol_name_refuses_what_is_not_an_identifier():
    with pytest.raises(ParseError, match="cannot use"):
        symbol_name("x-1")


def test_sums_and_products_over_a_class_index():
    p, yv, zv = (sp.IndexedBase(s) for s in "pyz")
    same(r"\prod_{k=1}^{K} p_k^{y_k}", sp.Product(p[k] ** yv[k], (k, 1, K)))
    same(r"\prod_{k=1}^K p_{k}^{y_{k}}", sp.Product(p[k] ** yv[k], (k, 1, K)))
    same(r"\prod_k p_k^{y_k}", sp.Product(p[k] ** yv[k], (k, 1, K)))
    same(r"\sum_{c=1}^{C} y_c z_c", sp.Sum(yv[k] * zv[k], (k, 1, K)))
    got = read(r"\prod_{k=1}^{K}\left(\frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}\right)^{y_k}")
    (product,) = got.atoms(sp.Product)
    (inner,) = product.function.atoms(sp.Sum)
    j = inner.limits[0][0]
    assert j != k and j.is_integer and j.is_positive and inner.function == sp.exp(zv[j])
    assert parse_latex(r"\prod_k p_k^{y_k}").vectors == {"p", "y"}
    assert parse_latex(r"\prod_k p_k^{y_k}").names == set()


def test_sums_must_run_over_one_to_K():
    refused(r"\sum_{k=0}^{K} y_k", "runs from k = 1, not 0")
    refused(r"\sum_{k=1}^{10} y_k", "runs to a symbol K, not 10")


# ---------------------------------------------------------------------------- TeX habits


def test_frac_and_sqrt_without_braces():
    same(r"\frac12", sp.Rational(1, 2))
    same(r"\frac1x", 1 / x)
    same(r"\frac{1}{2}x", x / 2)
    same(r"\sqrt2", sp.sqrt(2))
    same(r"\dfrac{1}{x}", 1 / x)
    same(r"{a \over b}", a / b)


def test_a_symbol_before_a_parenthesis_multiplies():
    # latex2sympy2 alone reads x(y) as an undefined function x applied to y
    same("x(1-x)", x * (1 - x))
    same(r"\theta(1-\theta)", sp.Symbol("theta") * (1 - sp.Symbol("theta")))
    same("x_m(1-x)", sp.Symbol("x_m") * (1 - x))
    same(r"\hat{y}(1-y)", sp.Symbol("y_hat") * (1 - y))
    same("p^y(1-p)^{1-y}", sp.Symbol("p") ** y * (1 - sp.Symbol("p")) ** (1 - y))


def test_the_right_hand_side_of_an_equation():
    same(r"p(y \mid \mu) = \frac{1}{2} e^{-|y-\mu|}", sp.exp(-sp.Abs(y - mu)) / 2)
    refused("p(y) = x = 2", "more than one '='")
    refused("p(y) =", "nothing follows '='")


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "tex, message",
    [
        ("x E y", "a capital E"),  # latex2sympy2 alone silently returns x
        ("y'", "a prime"),  # latex2sympy2 alone silently drops it
        ("x^T", "a transpose"),
        (r"\int_0^1 x dx", "an integral"),
        ("dx", "a differential"),
        (r"\mathrm{d}x", "reads as a differential"),
        (r"\lim_{x\to 0} x", "a limit"),
        (r"x \in y", r"\in"),
        ("x < y", "a comparison"),
        ("1e5", "E notation (such as 1e5) is not LaTeX"),
        ("2e-3", "E notation"),
        ("I", "I reads as the imaginary unit"),
        (r"\infty", "∞ cannot appear inside a density"),
        (r"\begin{matrix}1\end{matrix}", r"\begin{…} environments"),
        (r"\begin{cases} y & y > 0 \end{cases}", "(cases, matrices) have no place"),
        (r"\frac{1}{}", "cannot read the density near «\\frac {1}{⟨here⟩}»"),
        (r"x + * y", "cannot read the density near «x + ⟨here⟩* y»"),
        (r"\frac{1}{", "unbalanced brackets: one is opened and never closed"),
        ("}", "unbalanced brackets"),
        ("(x", "unbalanced brackets"),
        ("", "the density is empty"),
        ("   ", "the density is empty"),
        ("x_{QZQ0}", "'QZQ' is reserved"),
        (r"\variable{x}", "cannot read the density"),
    ],
)
def test_refused_with_one_line(tex, message):
    refused(tex, message)


def test_a_differential_does_not_break_later_reads():
    # latex2sympy2 keeps module state that a differential corrupts ("argument of type 'Symbol'
    # is not iterable" for every later call); the adapter resets it.
    import latex2sympy2

    latex2sympy2.latex2sympy("dx")
    same(r"\frac{1}{\sigma} e^{-y}", sp.exp(-y) / sigma)


@pytest.mark.parametrize(
    "tex, message",
    [
        ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), "nested more than"),
        ("(" * 400 + "x" + ")" * 400, "nested"),
        (r"\Gamma(" * 12 + "x" + ")" * 12, "nested more than"),
        ("|x" * 9 + "|" * 9, "|…| bars"),
        ("x" * 1001, "characters long"),
        (r"2^{2^{2^{2^{20}}}}", "too large to compute"),
        (r"9^{9^{9}}", "too large to compute"),
        ("100000!", "too large to compute exactly"),
        (r"\binom{100000}{50000}", "too large to compute exactly"),
        (r"\Gamma(100000)", "too large to compute exactly"),
    ],
)
def test_pathological_input_is_refused_quickly(tex, message):
    start = time.monotonic()
    refused(tex, message)
    assert time.monotonic() - start < 2.0


def test_small_exact_numbers_are_computed():
    same("10!", sp.Integer(3628800))
    same(r"2^{10}", sp.Integer(1024))
    same(r"\binom{5}{2}", sp.Integer(10))


def test_the_echoed_source_is_kept():
    parsed = parse_latex(r"\frac{1}{2}e^{-|y|}")
    assert parsed.source == r"\frac{1}{2}e^{-|y|}"

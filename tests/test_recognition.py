"""Recognition names a loss only when it is proven and witnessed; never a guess."""

from __future__ import annotations

import sympy as sp

from derive.derivation import derive
from derive.spec import Distribution, Var
from derive.standard import recognise
from derive.symbolic import identically_zero

Y, MU, S = Var("y"), Var("mu"), Var("s", "positive")
y, mu, s = sp.Symbol("y", real=True), sp.Symbol("mu", real=True), sp.Symbol("s", positive=True)
VARIABLES = {y: Y, mu: MU, s: S}


def test_scaled_mse_is_mse_with_its_scale():
    match = recognise(3 * (y - mu) ** 2 / s + y**2, y, (mu,), (s,), VARIABLES)
    assert match.standard.id == "mse" and match.scale == 3 / s


def test_negative_scale_or_other_power_is_not_mse():
    assert recognise(-((y - mu) ** 2), y, (mu,), (s,), VARIABLES) is None
    assert recognise((y - mu) ** 4, y, (mu,), (s,), VARIABLES) is None
    assert recognise((y - mu) ** 2 + mu / 10**12, y, (mu,), (s,), VARIABLES) is None


def test_a_density_with_no_registered_loss_reports_none():
    gumbel = Distribution(
        name="gumbel",
        title="Gumbel",
        observed=Y,
        params=(MU,),
        fixed=(Var("beta", "positive"),),
        density=lambda y, mu, b: sp.exp(-(y - mu) / b - sp.exp(-(y - mu) / b)) / b,
    )
    d = derive(gumbel)
    assert d.standard is None
    assert identically_zero(d.nll - (d.scale * d.loss + d.dropped))
    assert d.steps[-1].data["standard"] is None


def test_identically_zero_says_not_proven_for_nonzero():
    assert identically_zero(sp.log(1 + sp.exp(-mu)) - sp.log(1 + sp.exp(mu)) + mu)
    assert not identically_zero(sp.log(1 + sp.exp(-mu)) - sp.log(1 + sp.exp(mu)))
    assert not identically_zero(y - mu)

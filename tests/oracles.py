"""Independent references (scipy.stats, torch), keyed by catalog name / standard id.

Oracles live here, never in the package.  Each SCIPY entry maps a dict of values (by variable name,
raw learned outputs included) to the log-density from scipy.stats.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats


def _softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _categorical_logpmf(y, p):
    # y may be a probability vector: the cross-entropy Σ y_k log p_k (one-hot: scipy multinomial)
    y = np.asarray(y, dtype=float)
    if np.all((y == 0) | (y == 1)):
        return stats.multinomial.logpmf(y, 1, p)
    return float(np.sum(special.xlogy(y, p)))


#: catalog name -> logpdf(values) using scipy.stats
SCIPY = {
    "gaussian": lambda v: stats.norm.logpdf(v["y"], v["mu"], v["sigma"]),
    "gaussian-hetero": lambda v: stats.norm.logpdf(v["y"], v["mu"], v["sigma"]),
    "laplace": lambda v: stats.laplace.logpdf(v["y"], v["mu"], v["b"]),
    "bernoulli": lambda v: stats.bernoulli.logpmf(v["y"], v["p"]),
    "bernoulli-logit": lambda v: stats.bernoulli.logpmf(v["y"], special.expit(v["z"])),
    "categorical-logit": lambda v: _categorical_logpmf(v["y"], _softmax(v["z"])),
    "poisson": lambda v: stats.poisson.logpmf(v["y"], v["lambda"]),
    "poisson-log": lambda v: stats.poisson.logpmf(v["y"], np.exp(v["eta"])),
}

#: catalog name -> the standard id DESIGN.md fixes for it
EXPECTED_STANDARD = {
    "gaussian": "mse",
    "gaussian-hetero": "gaussian_nll",
    "laplace": "mae",
    "bernoulli": "bce",
    "bernoulli-logit": "bce_logits",
    "categorical-logit": "softmax_cross_entropy",
    "poisson": "poisson",
    "poisson-log": "poisson_log",
}


def torch_losses():
    """standard id -> torch reference taking the values dict; None when torch is absent."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None

    def t(x):
        return torch.as_tensor(np.asarray(x, dtype=np.float64))

    return {
        "mse": lambda v: F.mse_loss(t(v["mu"]), t(v["y"]), reduction="none"),
        "gaussian_nll": lambda v: F.gaussian_nll_loss(
            t(v["mu"]), t(v["y"]), t(v["sigma"]) ** 2, reduction="none", eps=1e-300
        ),
        "mae": lambda v: F.l1_loss(t(v["mu"]), t(v["y"]), reduction="none"),
        "bce": lambda v: F.binary_cross_entropy(t(v["p"]), t(v["y"]), reduction="none"),
        "bce_logits": lambda v: F.binary_cross_entropy_with_logits(
            t(v["z"]), t(v["y"]), reduction="none"
        ),
        "softmax_cross_entropy": lambda v: F.cross_entropy(
            t(v["z"])[None], t(v["y"])[None], reduction="none"
        )[0],
        "poisson": lambda v: F.poisson_nll_loss(
            t(v["lambda"]), t(v["y"]), log_input=False, full=False, eps=0.0, reduction="none"
        ),
        "poisson_log": lambda v: F.poisson_nll_loss(
            t(v["eta"]), t(v["y"]), log_input=True, full=False, reduction="none"
        ),
    }

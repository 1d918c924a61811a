"""Code emission: fast, numerically stable loss code for numpy, torch and jax, from a derivation.

    >>> from derive.codegen import load, module_source
    >>> m = load("bernoulli-logit")                       # the emitted module, in-process
    >>> float(m.loss([0.0, 1.0], [-2.0, 3.0]))            # doctest: +SKIP
    >>> print(module_source("poisson-log", grad=True))     # the same module as source

Imports are lazy, so `derive --help` does not pay for SymPy's printers.
"""

from importlib import import_module

_PUBLIC = {
    "BACKENDS": ".backends",
    "Backend": ".backends",
    "Unsupported": ".backends",
    "CODE_RULES": ".rewrite",
    "prepare": ".rewrite",
    "load": ".emit",
    "module_source": ".emit",
    "test_source": ".emit",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

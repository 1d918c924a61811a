"""derive: every standard loss is a cross-entropy under a distributional assumption.

    >>> import derive
    >>> d = derive.derive(derive.get("bernoulli-logit"))
    >>> d.loss, d.scale, d.dropped, d.standard.id
    (-y*z + softplus(z), 1, 0, 'bce_logits')

Public names are imported lazily, so `import derive` (and the CLI's start-up) does not pay for
SymPy until a name that needs it is used.
"""

from importlib import import_module

__version__ = "0.1.0"

_PUBLIC = {
    "CATALOG": ".catalog",
    "get": ".catalog",
    "Distribution": ".spec",
    "Var": ".spec",
    "Link": ".spec",
    "derive": ".derivation",
    "Derivation": ".derivation",
    "STANDARDS": ".standard",
    "declare": ".user",
    "new": ".user",
    "load": ".codegen",
    "module_source": ".codegen",
    "divergence": ".infotheory",
    "entropy": ".infotheory",
    "UserError": ".errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""derive: every standard loss is a cross-entropy under a distributional assumption.

    >>> import derive
    >>> d = derive.derive(derive.get("bernoulli-logit"))
    >>> d.loss, d.scale, d.dropped, d.standard.id
    (-y*z + softplus(z), 1, 0, 'bce_logits')

The public names, each documented with its parameters and an example (``help(derive.new)``):

    get(name)                          a catalog declaration
    derive(dist)                       its derivation (a Derivation: loss, scale, dropped, steps)
    new(density, observed, params, fixed=(), ...)   a density of your own, checked and derived
    declare(...)                       the checked declaration alone
    load(target, backend="numpy", grad=False)      the emitted loss module, in-process
    divergence(p, q), entropy(p)       KL, cross-entropy and entropy with their derivations

A Derivation (and a divergence or entropy) shows itself in a notebook, and has to_text(width),
to_markdown() and to_latex().  Public names are imported lazily, so `import derive` (and the
CLI's start-up) does not pay for SymPy until a name that needs it is used.
"""

from importlib import import_module as _import_module

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
        value = getattr(_import_module(_PUBLIC[name], __name__), name)
        # Kept as the package's attribute, so that it stays the public object however the
        # package is imported or inspected afterwards (importing a submodule sets the package
        # attribute of that name: no submodule may share a public name, tests/test_api.py).
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    """The public names (for tab completion), the version, and the submodules imported so far."""
    return sorted({*_PUBLIC, "__version__", *(n for n in globals() if not n.startswith("_"))})

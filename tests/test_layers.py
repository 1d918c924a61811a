"""The package's shape: every import (module level or inside a function) points down the layers
of DESIGN.md's data flow, and no two modules import each other, directly or round a circle.

A new module must be given its layer here: the test fails on a module it does not know."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "derive"

#: Layers, lowest first.  A module imports modules of its own layer or below.
LAYERS = (
    # primitives: errors, progress callbacks, the one time limit, the one on-disk cache,
    # declarations, stable functions, display forms, the one numeric evaluator, the one prover
    ("errors", "progress", "budget", "cache", "spec", "functions", "display", "numeric",
     "symbolic", "views", "tails"),
    # the catalog of declarations; standard losses and recognition; declarations made from
    # declarations (censored, truncated, mixtures, links: the modifiers)
    ("catalog", "standard", "composite"),
    # the pipeline, its record and cache
    ("derivation",),
    # engines built on derivations; LaTeX input and user declarations
    ("relative", "infotheory", "parse", "user", "expfamily", "prior"),
    # outputs
    ("latex", "report", "codegen", "plot"),
    # entry points: the only layer that prints, reads argv or writes files
    ("cli", "__main__"),
)  # fmt: skip

RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

#: The one module allowed to call upwards: derive.views, the records' thin delegations
#: (to_text, to_markdown, to_latex, the Jupyter repr), each importing its output when called.
#: test_the_delegations_stay_thin checks that it holds nothing else.
DELEGATES = {"derive.views": {"derive.report", "derive.latex"}}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The derive modules ``path`` imports, as dotted names ("derive.latex.printer")."""
    return _imports_of(path.read_text(encoding="utf-8"), _module(path), path.name == "__init__.py")


def _imports_of(source: str, name: str, is_package: bool) -> set[str]:
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "derive"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "derive":
                continue
            for alias in node.names:  # `from . import x` may name a submodule
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _exists(candidate) else target)
    found.discard(name)
    return found


def _exists(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _layer(module: str) -> str:
    """The top-level name a module's layer is decided by (derive.latex.printer → latex)."""
    return module.split(".")[1] if "." in module else ""


GRAPH = {
    _module(p): _imports(p) - DELEGATES.get(_module(p), set())
    for p in sorted(PACKAGE.rglob("*.py"))
}


def test_the_delegations_stay_thin():
    """derive.views imports nothing of derive at module level, and each of its functions is an
    import and a return (or a return alone): presentation code lives in the outputs."""
    for module, allowed in DELEGATES.items():
        path = PACKAGE.parent.joinpath(*module.split(".")).with_suffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            assert not (isinstance(node, ast.ImportFrom) and node.level), ast.unparse(node)
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        assert functions
        for f in functions:
            body = [n for n in f.body if not isinstance(n, ast.Expr)]  # docstrings aside
            assert [type(n) for n in body] in ([ast.ImportFrom, ast.Return], [ast.Return]), f.name
        assert _imports(path) == allowed


def test_every_module_has_a_layer():
    unknown = sorted({_layer(m) for m in GRAPH if m != "derive"} - set(RANK))
    assert unknown == [], f"give these modules a layer in tests/test_layers.py: {unknown}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "derive"))
def test_imports_point_down_the_layers(module):
    here = RANK[_layer(module)]
    up = sorted(
        target
        for target in GRAPH[module]
        if target != "derive" and RANK.get(_layer(target), -1) > here
    )
    assert up == [], f"{module} (layer {here}) imports upwards: {up}"


def test_no_import_cycles():
    """Depth-first search over the import graph; report the first circle found."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(module, path):
        state[module] = 1
        for target in sorted(GRAPH.get(module, ())):
            if target == "derive" or target not in GRAPH:
                continue
            if state.get(target) == 1:
                circle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " → ".join(circle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_nothing_below_the_cli_prints_or_reads_argv():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        if _layer(module) in ("cli", "__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{module}:{node.lineno} print()")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
                and node.attr in ("argv", "stdout", "stderr", "stdin")
            ):
                offenders.append(f"{module}:{node.lineno} sys.{node.attr}")
    assert offenders == []


def test_the_checker_sees_upward_and_submodule_imports():
    source = "from .report import render\nfrom . import latex\nimport derive.cli\n"
    found = _imports_of(source, "derive.derivation", is_package=False)
    assert found == {"derive.report", "derive.latex", "derive.cli"}
    assert all(RANK[_layer(t)] > RANK["derivation"] for t in found)
    assert _imports_of("from ..latex.printer import tex", "derive.codegen.emit", False) == {
        "derive.latex.printer"
    }

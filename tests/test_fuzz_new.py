r"""Random LaTeX never hurts: `derive new` on token soup exits 0 or 2, never with a traceback.

Strings are built from the tokens densities are made of (and a few that have no place in one),
and run in-process through ``derive.cli.main``, as a user's command line would.  Exit 0 is a
density that read, checked and derived; exit 2 is one line that names the problem; anything else
(an internal error, exit 1, or an exception escaping ``main``) fails.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from derive.cli import main

TOKENS = (
    *("y", "x", r"\mu", r"\sigma", r"\lambda", "e", r"\pi", "k", "K", "I", "B", "d", "E"),
    *("0", "1", "2", "10", "0.5", "1e5", "99999999"),
    *("+", "-", "*", "/", "^", "_", "!", "|", "'", "=", ",", ".", "<", "&"),
    *("(", ")", "{", "}", "[", "]", r"\{", r"\}", r"\left(", r"\right)", r"\left|", r"\right|"),
    *(r"\frac", r"\frac12", r"\sqrt", r"\exp", r"\ln", r"\log", r"\log_{2}", r"\sin", r"\cosh"),
    *(r"\Gamma", r"\Gamma(", r"\sigma(", r"I_0(", r"\operatorname{B}(", r"\mathrm{e}", r"\max("),
    *(r"\binom", r"\choose", r"\over", r"\cdot", r"\times", r"\,", r"\quad", "~", "$"),
    *(r"\sum_{k=1}^{K}", r"\prod_k", r"\sum", r"\int", r"\lim", "dx", r"\infty", r"\partial"),
    *(r"\hat{y}", r"\bar", r"x_{\mathrm{m}}", r"\mathrm{d}", r"\text{", r"\begin{matrix}"),
    *(r"\unknown", r"\variable{x}", "QZQ0", "\\", "%", "#", "é", "∞", "\x00", "\n"),
)

#: DERIVE_FUZZ_EXAMPLES=5000 runs longer hunts than CI's defaults (2700 token strings and 300
#: formulas, each with random flags: about 80 s in all).
HUNT = int(os.environ.get("DERIVE_FUZZ_EXAMPLES", "0"))

ARGV = ("--observed", "y", "--param", "mu", "--fixed", "sigma", "--positive", "sigma")

#: Where the fuzz's commands write (-o): after each, only the output of a success may be there.
OUT = Path(tempfile.mkdtemp(prefix="derive-fuzz-"))

#: Each run must end within its --timeout plus this (the issue's bound: S + 1 s), in wall time,
#: or, on a machine so loaded that the process waits for a core, in the CPU time it used (what
#: the budget controls: a parser or a C call that ignored the alarm would use CPU past it too).
SLACK = 1.0


def run(density: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["new", f"--density={density}", *ARGV, "--timeout", "20", "--json"])
    return status, out.getvalue(), err.getvalue()


#: (wall, CPU) seconds past --timeout of every run, printed with DERIVE_FUZZ_REPORT=1 (pytest -s).
OVERSHOOT: list[tuple[float, float]] = []


def setup_module():
    # the runs are timed as a user's command would be, in a process of its own: the objects the
    # test session made before this module (SymPy's caches of 1,800 tests) are frozen out of
    # the collector, whose full pass over them, in C where no alarm reaches, once took 1 s of a
    # 0.2 s run (a command's own process holds none of them)
    gc.freeze()


def teardown_module():
    gc.unfreeze()
    if os.environ.get("DERIVE_FUZZ_REPORT") and OVERSHOOT:
        wall, cpu = (max(column) for column in zip(*OVERSHOOT, strict=True))
        print(
            f"\n{len(OVERSHOOT)} runs past --timeout by at most {wall:+.3f} s wall, "
            f"{cpu:+.3f} s CPU"
        )


def _flags(fixed: str, timeouts=("0.05", "0.1", "0.2", "0.3", "0.5")):
    """Random flags of `derive new`, good and bad, with a short --timeout (seconds, as text)."""
    optional = st.sampled_from(
        [
            ["--discrete"],
            ["--support", "0,oo"],
            ["--support=-oo,0"],
            ["--support", f"0,{fixed}"],
            ["--support", "1" * 5000 + ",oo"],
            ["--support", "0,1e400"],
            ["--support", "a,b"],
            ["--positive", "mu"],
            ["--probability", "mu"],
            ["--positive", "nu"],
            ["--name", "g-1.x"],
            ["--name", '""";x'],
            ["--normalize"],
            ["--json"],
            ["--latex"],
            ["--code"],
            ["-o", "OUT"],
            ["-o", "OUT", "--code"],
        ]
    )
    timeout = st.sampled_from(timeouts)
    return st.tuples(st.lists(optional, max_size=3), timeout)


def _fuzz(density: str, flags, fixed: str) -> tuple[int, str]:
    """Run one command and check what every run must satisfy: (exit status, stderr)."""
    extra, timeout = flags
    argv = ["new", f"--density={density}", "--observed", "y", "--param", "mu"]
    argv += ["--fixed", fixed, "--positive", fixed, "--timeout", timeout]
    for group in extra:
        argv += [str(OUT / "m.py") if a == "OUT" else a for a in group]
    out, err = io.StringIO(), io.StringIO()
    started, cpu = time.monotonic(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    OVERSHOOT.append((elapsed - float(timeout), cpu - float(timeout)))
    out, err = out.getvalue(), err.getvalue()
    assert status in (0, 2), (argv, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    assert min(elapsed, cpu) <= float(timeout) + SLACK, (argv, elapsed, cpu)
    left = sorted(p.name for p in OUT.iterdir())
    for p in OUT.iterdir():
        p.unlink()
    if status == 2:
        assert out == "" and left == [], (argv, out, left)
        assert err.startswith("derive: error: ") and err.count("\n") == 1, (argv, err)
    else:
        assert left in ([], ["m.py"]), left
    return status, err


def fuzz(density: str, flags, fixed: str) -> None:
    status, err = _fuzz(density, flags, fixed)
    event(f"exit {status}: {' '.join(err.split()[2:5])}")  # which check stopped it


@settings(
    max_examples=HUNT or 2700,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(st.sampled_from(TOKENS), max_size=12),
    st.sampled_from(["", " "]),
    _flags("sigma"),
)
def test_random_latex_exits_0_or_2_with_one_line(tokens, separator, flags):
    fuzz(separator.join(tokens), flags, "sigma")


def test_the_fuzz_reaches_every_outcome():
    """The alphabet can produce a density that derives, and ones refused at each stage."""
    assert run(r"\frac{1}{\sigma\sqrt{2\pi}} e^{-(y-\mu)^2/(2\sigma^2)}")[0] == 0
    for density, message in (
        (r"\frac{1}{", "unbalanced"),
        (r"\int y", "an integral"),
        (r"e^{-y^2}", "the parameter mu does not occur"),
        (r"e^{-(y-\mu)^2/\sigma}", "does not normalise"),
        (r"-e^{-(y-\mu)^2/\sigma}", "negative"),
    ):
        status, _, err = run(density)
        assert status == 2 and message in err, (density, err)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):  # without '=', argparse reads "-e…" as an option
        assert main(["new", "--density", "-e^{-y}", *ARGV]) == 2
    assert "argument --density: expected one argument" in err.getvalue()


ATOMS = ("y", r"\mu", "s", "1", "2", "e", r"\pi", r"\frac{1}{2}", r"\frac{y-\mu}{s}")
LAPLACE = r"\frac{e^{-|y-\mu|/s}}{2s}"


def _formulas():
    """Well-formed LaTeX over the declared symbols: it reads, so the later checks are reached."""
    unary = (
        r"\exp({})",
        r"e^{{{}}}",
        r"\ln({})",
        r"\sqrt{{{}}}",
        r"|{}|",
        r"\Gamma({})",
        r"\sigma({})",
        r"({})^{{2}}",
        r"\cosh({})",
        r"({})!",
    )
    binary = (r"{}+{}", r"{}-{}", r"{} \cdot {}", r"\frac{{{}}}{{{}}}", r"{{{}}}^{{{}}}")
    return st.recursive(
        st.sampled_from(ATOMS),
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(unary), inner).map(lambda t: t[0].format(t[1])),
            st.tuples(st.sampled_from(binary), inner, inner).map(lambda t: t[0].format(t[1], t[2])),
        ),
        max_leaves=8,
    )


@settings(
    max_examples=HUNT or 300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_formulas(), st.booleans(), _flags("s", ("0.05", "0.1", "0.2", "0.3")))
def test_well_formed_densities_reach_the_checks_and_never_hurt(formula, laplace, flags):
    fuzz(rf"{formula} \cdot {LAPLACE}" if laplace else formula, flags, "s")


def test_a_formula_that_derives_within_the_fuzz_budget():
    """The formulas' flags and timeouts still let a density derive (exit 0) in the fuzz."""
    assert _fuzz(LAPLACE, ([["-o", "OUT", "--code"]], "0.5"), "s")[0] in (0, 2)
    assert _fuzz(LAPLACE, ([["--json"]], "10"), "s")[0] == 0

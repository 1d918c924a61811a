"""The one time limit: deadlines enforced with ``SIGALRM`` (main thread, POSIX).

:class:`TimeBudget` is the whole budget of a command (``derive new --timeout``) with nested
limits inside it; :func:`bounded` is one attempt at something SymPy may never finish (a series,
an integral, a cancellation), nested in the running budget when there is one.
"""

from __future__ import annotations

import math
import random
import signal
import sys
import threading
import time
from contextlib import contextmanager

from .errors import UserError


class Expired(BaseException):
    """Raised from the alarm; a BaseException, so no ``except Exception`` in SymPy swallows it."""

    def __init__(self, token):
        super().__init__(token)
        self.token = token


class TimeBudget:
    """Deadlines enforced with ``SIGALRM`` (main thread, POSIX; elsewhere a budget never fires).

    ``limit(s)`` opens a nested deadline and yields its token: an :class:`Expired` carrying that
    token means the inner part ran out, one carrying another token means the whole budget did.
    Everything under it may be interrupted anywhere, the LaTeX parser included (it resets the
    caches an interrupted parse may have left half updated).  ``started`` (a
    ``time.monotonic()`` reading) counts the budget from then: the CLI passes the moment its
    ``main`` began, so that importing SymPy is spent from the user's --timeout too.
    """

    def __init__(self, seconds: float | None, started: float | None = None):
        self.seconds = seconds
        self.started = started
        self._deadlines: list[tuple[float, object]] = []
        self.enabled = (
            seconds is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )

    def remaining(self) -> float:
        if not self._deadlines:
            return math.inf
        return max(0.0, min(d for d, _ in self._deadlines) - time.monotonic())

    def _arm(self):
        if not self.enabled:
            return
        if not self._deadlines:
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        signal.setitimer(signal.ITIMER_REAL, max(self.remaining(), 1e-3))

    def _alarm(self, signum, frame):
        self._fire()

    def _fire(self):
        now = time.monotonic()
        expired = [token for deadline, token in self._deadlines if deadline <= now + 1e-3]
        if not expired:
            self._arm()
            return
        if self.enabled:  # fire again should anything swallow this one (jittered: a
            # fixed period can phase-lock with a loop and land in the same __del__ each time)
            signal.setitimer(signal.ITIMER_REAL, random.uniform(0.05, 0.15))
        raise Expired(expired[0])

    @contextmanager
    def limit(self, seconds: float):
        token = object()
        self._deadlines.append((time.monotonic() + max(seconds, 0.0), token))
        self._arm()
        try:
            yield token
        finally:
            self._deadlines.pop()
            self._arm()

    @contextmanager
    def running(self):
        """The whole budget: a one-line UserError when it runs out."""
        if self.seconds is None:
            yield
            return
        spent = 0.0 if self.started is None else max(time.monotonic() - self.started, 0.0)
        with self.installed():
            try:
                with self.limit(self.seconds - spent) as token:
                    yield
            except Expired as exc:
                if exc.token is not token:
                    raise
                raise UserError(
                    f"gave up after {self.seconds:g} s (--timeout): the density is too hard to "
                    "check or derive in time; raise --timeout or simplify the formula"
                ) from None

    @contextmanager
    def installed(self):
        """This budget's alarm handler in place for the block (and the one before it restored,
        with an outside alarm left pending as it would have been)."""
        previous = None
        if self.enabled:
            previous = (
                signal.signal(signal.SIGALRM, self._alarm),
                signal.getitimer(signal.ITIMER_REAL),
            )
        hook = sys.unraisablehook
        sys.unraisablehook = _quiet(hook)
        started = time.monotonic()
        _ACTIVE.append(self)
        try:
            yield
        finally:
            _ACTIVE.pop()
            sys.unraisablehook = hook
            if self.enabled:
                handler, (delay, interval) = previous
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, handler)
                if delay:  # someone else's alarm was pending: leave it as it would have been
                    left = max(delay - (time.monotonic() - started), 1e-3)
                    signal.setitimer(signal.ITIMER_REAL, left, interval)

    def attempt(self, thunk, seconds: float):
        """``thunk()`` if it finishes within ``seconds`` (and this budget) without error, else
        None; the whole budget running out still propagates."""
        try:
            with self.limit(min(seconds, self.remaining())) as token:
                return thunk()
        except Expired as exc:
            if exc.token is not token:
                raise
            _CUT_SHORT[0] += 1
            return None
        except Exception:  # SymPy giving up (NotImplementedError, …)
            return None


#: The budgets running now, innermost last (a bounded attempt nests in the innermost).
_ACTIVE: list[TimeBudget] = []
#: How many attempts a time limit cut short (or that could not be made) in this process.
_CUT_SHORT = [0]


def cut_short() -> int:
    """How many bounded attempts ran out of time, or were not made for want of an alarm, so
    far in this process: a result computed while this count grew may differ on a quieter
    machine (the CLI does not keep such a result for replay)."""
    return _CUT_SHORT[0]


def count_cut_short(n: int) -> None:
    """Count ``n`` attempts cut short elsewhere for this process (in the worker processes that
    computed its results: see derive.derivation.warm_cache)."""
    _CUT_SHORT[0] += n


def bounded(thunk, seconds: float):
    """``thunk()`` if it finishes within ``seconds`` without error, else None.

    SymPy's summation, integration and simplification can run for ever (PITFALLS 8): the alarm
    of the running budget (or of one made for this attempt) interrupts them.  Where no alarm can
    be set (not the main thread, no POSIX timers) the attempt is not made at all.
    """
    budget = _ACTIVE[-1] if _ACTIVE else TimeBudget(seconds)
    if not budget.enabled:
        _CUT_SHORT[0] += 1
        return None
    if _ACTIVE:
        return budget.attempt(thunk, seconds)
    with budget.installed():
        return budget.attempt(thunk, seconds)


def _quiet(hook):
    """An unraisable hook that drops our alarm when it lands in a ``__del__`` or a GC callback,
    where Python cannot raise it (it fires again ~0.1 s later, in code that can)."""

    def quiet(unraisable):
        if not isinstance(unraisable.exc_value, Expired):
            hook(unraisable)

    return quiet


NO_BUDGET = TimeBudget(None)

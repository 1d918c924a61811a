"""The one time limit (derive.budget): bounded attempts alone and inside a running budget."""

from __future__ import annotations

import threading
import time

import pytest

from derive.budget import TimeBudget, bounded
from derive.errors import UserError


def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "finished"


def test_an_attempt_that_finishes_returns_its_value():
    assert bounded(lambda: 6 * 7, 1.0) == 42


def test_an_attempt_past_its_limit_is_interrupted():
    started = time.monotonic()
    assert bounded(lambda: spin(30), 0.2) is None
    assert time.monotonic() - started < 5  # interrupted, not run to the end


def test_an_attempt_that_raises_gives_none():
    assert bounded(lambda: 1 / 0, 1.0) is None


def test_attempts_nest_inside_a_running_budget_and_the_budget_still_holds():
    budget = TimeBudget(0.6)
    started = time.monotonic()
    with pytest.raises(UserError, match=r"gave up after 0\.6 s"), budget.running():
        assert bounded(lambda: spin(30), 0.1) is None  # the inner limit, budget left
        assert bounded(lambda: "quick", 5.0) == "quick"
        bounded(lambda: spin(30), 10.0)  # longer than the budget: the budget ends it
    assert time.monotonic() - started < 5


def test_no_attempt_is_made_off_the_main_thread():
    out = []
    worker = threading.Thread(target=lambda: out.append(bounded(lambda: "ran", 1.0)))
    worker.start()
    worker.join()
    assert out == [None]

"""Progress of long work, reported through a callback the caller supplies (the CLI prints it;
nothing below the CLI does)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

#: ``report(label, number, total, item)``: item ``number`` of ``total`` is being worked on.
Report = Callable[[str, int, int, str], None]

T = TypeVar("T")


def tracked(
    items: Iterable[T], label: str, report: Report | None, name: Callable[[T], str] = str
) -> Iterator[T]:
    """Yield ``items``, telling ``report`` (when given) which one is being worked on."""
    items = list(items)
    for number, item in enumerate(items, start=1):
        if report is not None:
            report(label, number, len(items), name(item))
        yield item

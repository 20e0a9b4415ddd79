"""Waiting on conditions instead of sleeping: the interop suite runs on small, loaded CI machines, where "it
takes 50 ms here" can take seconds. Wait for the condition the test needs, with a generous deadline, and let the
deadline be the only thing that depends on the machine's speed.

    wait_until(lambda: "ready" in b.log_text(), 60, lambda: f"never ready:\n{b.log_text()}")
    value = wait_for(lambda: read_offsets() or None, 30, "no offsets")  # the first truthy result
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")

# Long enough for any single step of a test on a loaded 2-core machine; only a failing test waits this long.
GENEROUS_S = 60.0


def wait_for(probe: Callable[[], T], timeout: float = GENEROUS_S, message: str | Callable[[], str] = "",
             interval: float = 0.05) -> T:
    """Calls `probe` until it returns something truthy and returns that; fails (AssertionError) after `timeout`
    seconds with `message` (a string, or a function called at the end so it can describe the last state).
    The deadline is checked only after a probe, so the last probe runs at or after it: a probe slowed down by a
    loaded machine still gets its chance."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"not within {timeout:g} s: {text or probe}")
        time.sleep(interval)


def wait_until(predicate: Callable[[], object], timeout: float = GENEROUS_S,
               message: str | Callable[[], str] = "", interval: float = 0.05) -> None:
    """Waits until `predicate()` is truthy; fails (AssertionError) after `timeout` seconds with `message`."""
    wait_for(lambda: bool(predicate()), timeout, message, interval)

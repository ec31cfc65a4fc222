"""Polling helper for tests that wait on a real worker or broker."""

import time


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = ""):
    """Return the predicate's first truthy value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")

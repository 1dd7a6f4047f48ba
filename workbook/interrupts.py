"""Ctrl-C while a command winds down: the goodbye and the clean-up must not be cut short."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def no_interrupt() -> Iterator[None]:
    """SIGINT ignored for the block (when this is the main thread), then as it was.

    A second Ctrl-C during a clean-up (a process pool shutting down, the 「已中止」 line
    being printed) would otherwise break it half-way: a traceback, or a pool whose
    workers wait for ever on a queue lock the interrupted shutdown never released.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals go elsewhere anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_interrupts() -> None:
    """SIGINT ignored from now on (a command line that is about to exit after Ctrl-C)."""
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)

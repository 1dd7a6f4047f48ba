"""Ctrl-C, SIGTERM and SIGHUP: one way to stop, and a wind-down that is not cut short.

A command stopped by SIGTERM (a service manager, a GUI that started ``kpi``) or SIGHUP (its
terminal closed) stops as after Ctrl-C: :class:`Terminated` is a :class:`KeyboardInterrupt`,
so every clean-up that Ctrl-C runs (LibreOffice killed, temporary files removed, nothing
half-written) runs too.  Python's default for these signals ends the process on the spot,
which left LibreOffice running and its files behind.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program was (:func:`stop_on_termination`)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        #: The exit status of a command it stopped: 128 + the signal, as shells report it.
        self.exit_code = 128 + signum


def _terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


#: The signals :func:`stop_on_termination` turns into :class:`Terminated` (POSIX only has SIGHUP).
_ENDS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def stop_on_termination() -> None:
    """From now on SIGTERM and SIGHUP raise :class:`Terminated` (main thread only).

    A signal set to be ignored stays ignored (``nohup kpi …``).
    """
    for signum in _ENDS:
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, _terminated)


def _stopping_signals() -> list[signal.Signals]:
    """SIGINT, and the termination signals that raise :class:`Terminated` now."""
    return [signal.SIGINT, *(s for s in _ENDS if signal.getsignal(s) is _terminated)]


@contextlib.contextmanager
def _handled_by(handler: object) -> Iterator[dict]:
    """The stopping signals (:func:`_stopping_signals`) go to ``handler`` for the block, then
    back to what they were, which it yields (nothing off the main thread: signals go there)."""
    try:
        previous = {s: signal.signal(s, handler) for s in _stopping_signals()}
    except ValueError:  # not the main thread
        previous = {}
    try:
        yield previous
    finally:
        for signum, was in previous.items():
            signal.signal(signum, was)


@contextlib.contextmanager
def no_interrupt() -> Iterator[None]:
    """SIGINT (and SIGTERM/SIGHUP when they stop the command) ignored for the block (when this
    is the main thread), then as they were.

    A second Ctrl-C during a clean-up (a process pool shutting down, LibreOffice being killed,
    the 「已中止」 line being printed) would otherwise break it half-way: a traceback, or a pool
    whose workers wait for ever on a queue lock the interrupted shutdown never released.
    """
    with _handled_by(signal.SIG_IGN):
        yield


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Ctrl-C (and SIGTERM/SIGHUP when they stop the command) during the block takes effect as
    it ends (main thread; elsewhere signals do not arrive anyway).

    For a block that makes something and records it for clean-up (a temporary folder, a
    started LibreOffice): an interrupt between the two would leave it behind, unrecorded.
    """
    caught: list[int] = []
    previous: dict = {}
    try:
        with _handled_by(lambda signum, _frame: caught.append(signum)) as previous:
            yield
    finally:
        if caught:  # now what it would have done then: raise KeyboardInterrupt / Terminated
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])


def ignore_interrupts() -> None:
    """SIGINT (and SIGTERM/SIGHUP when they stop the command) ignored from now on (a command line
    that is about to exit after Ctrl-C)."""
    with contextlib.suppress(ValueError):
        for signum in _stopping_signals():
            signal.signal(signum, signal.SIG_IGN)

"""A wall-clock budget for one golden's analysis and load (``serialcompat_load_timeout``).

What no static rule of the analyzer foresaw fails that golden with a clear
message instead of hanging CI.  The budget is a ``SIGALRM`` interval timer where
one can be used (the main thread of a POSIX process, and no other timer armed --
pytest-timeout's, for one, is left alone): the handler raises
:class:`LoadTimeout`, which Python delivers at the next bytecode, i.e. as soon as
the loader is back in Python code (a ``__setstate__``, a ``__reduce__``
reconstructor).  Elsewhere the time is measured and an overrun fails the golden
after the fact.
"""

import signal
import threading
import time

import _signal  # signal.signal without the enum conversions: two calls per budget
from typing import Optional


class LoadTimeout(Exception):
    """A golden's analysis or load ran past ``serialcompat_load_timeout``."""

    def __init__(self, seconds: float, what: str):
        super().__init__("%s took longer than serialcompat_load_timeout = %g s" % (what, seconds))
        self.seconds, self.what = seconds, what


_HAS_TIMER = hasattr(_signal, "setitimer") and hasattr(signal, "SIGALRM")
_SIGALRM = int(signal.SIGALRM) if _HAS_TIMER else None
_ITIMER_REAL = int(signal.ITIMER_REAL) if _HAS_TIMER else None


def _can_alarm() -> bool:
    return (_HAS_TIMER and threading.current_thread() is threading.main_thread()
            and _signal.getitimer(_ITIMER_REAL) == (0.0, 0.0))


class time_budget:
    """``with time_budget(seconds, what):`` runs the block under a ``seconds`` budget (0 or
    less: unbounded); raises LoadTimeout.  A class, not a generator: two per golden."""

    __slots__ = ("seconds", "what", "start", "armed", "previous")

    def __init__(self, seconds: float, what: str):
        self.seconds, self.what = seconds, what
        self.start: Optional[float] = None
        self.armed = False
        self.previous: Optional[object] = None

    def __enter__(self) -> None:
        seconds = self.seconds
        if not seconds or seconds <= 0:
            return
        self.start = time.perf_counter()
        self.armed = _can_alarm()
        if self.armed:
            what = self.what

            def expired(signum, frame):
                raise LoadTimeout(seconds, what)

            self.previous = _signal.signal(_SIGALRM, expired)
            _signal.setitimer(_ITIMER_REAL, seconds)

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if self.start is None:
            return False
        if self.armed:
            _signal.setitimer(_ITIMER_REAL, 0)
            _signal.signal(_SIGALRM, self.previous)
        if exc_type is None and time.perf_counter() - self.start > self.seconds:
            raise LoadTimeout(self.seconds, self.what)
        return False

"""The cost bounds of one golden's replay: analyzer limits from the ini, and a time budget.

The analyzer refuses what would make the real loader do unbounded work (see
``reference.analyzer.Limits``); this module turns the ``serialcompat_max_*``
ini values into those limits, and runs a golden's analysis and load under a
wall-clock budget (``serialcompat_load_timeout``) so that what no static rule
foresaw fails that golden with a clear message instead of hanging CI.

The budget is a ``SIGALRM`` interval timer where one can be used (the main
thread of a POSIX process, and no other timer armed -- pytest-timeout's, for
one, is left alone): the handler raises :class:`LoadTimeout`, which Python
delivers at the next bytecode, i.e. as soon as the loader is back in Python
code (a ``__setstate__``, a ``__reduce__`` reconstructor).  Elsewhere the time
is measured and an overrun fails the golden after the fact.
"""

import signal
import threading
import time
from contextlib import contextmanager
from typing import NamedTuple, Optional, Tuple

DEFAULT_LOAD_TIMEOUT = 60.0
# The gate's limits (reference.analyzer.Limits fields); the analyzer's own defaults are
# looser, as it also serves offline tools.  Not imported from there: the plugin imports
# this module at start-up, the analyzer only when a golden needs it.
GATE_LIMITS = (
    ("max_bytes", 64 * 1024 * 1024),
    ("max_nodes", 2_000_000),
    ("max_depth", 10_000),
    ("max_int_digits", 4300),
    ("max_exponent", 10_000),
    ("max_hash_collisions", 64),
)


class LoadTimeout(Exception):
    """A golden's analysis or load ran past ``serialcompat_load_timeout``."""

    def __init__(self, seconds: float, what: str):
        super().__init__("%s took longer than serialcompat_load_timeout = %g s" % (what, seconds))
        self.seconds, self.what = seconds, what


class Bounds(NamedTuple):
    """What one golden may cost: the analyzer's limits and the time budget (0: none)."""

    values: Tuple[Tuple[str, int], ...] = GATE_LIMITS   # (Limits field, value)
    load_timeout: float = DEFAULT_LOAD_TIMEOUT

    def value(self, field: str) -> int:
        return dict(self.values)[field]

    def limits(self):
        """The analyzer's Limits for the gate."""
        from .reference.analyzer import Limits

        return Limits(**dict(self.values))


# ini name -> (Limits field, what it bounds)
INI_LIMITS = (
    ("serialcompat_max_golden_bytes", "max_bytes", "size of one pickle golden in bytes"),
    ("serialcompat_max_objects", "max_nodes",
     "containers, objects and memo entries one pickle golden may create (bounds memory)"),
    ("serialcompat_max_depth", "max_depth", "nesting depth of one pickle golden's objects"),
    ("serialcompat_max_int_digits", "max_int_digits",
     "digits of a number a pickle golden parses or hands to int()/Fraction()"),
    ("serialcompat_max_exponent", "max_exponent", "exponent of a Fraction/Decimal a pickle golden builds from text"),
    ("serialcompat_max_hash_collisions", "max_hash_collisions",
     "distinct keys of one set/dict in a pickle golden that share one hash"),
)


def _can_alarm() -> bool:
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))


@contextmanager
def time_budget(seconds: float, what: str):
    """Run the block under a ``seconds`` budget (0 or less: unbounded); raises LoadTimeout."""
    if not seconds or seconds <= 0:
        yield
        return
    start = time.perf_counter()
    armed = _can_alarm()
    previous: Optional[object] = None
    if armed:
        def expired(signum, frame):
            raise LoadTimeout(seconds, what)

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.perf_counter() - start > seconds:
        raise LoadTimeout(seconds, what)


_FIELD_INI = {field: name for name, field, _ in INI_LIMITS}


def ini_of(message: str) -> Optional[str]:
    """The ini option of the analyzer limit a message names (``max_nodes=...``), else None."""
    for field, name in _FIELD_INI.items():
        if field + "=" in message:
            return name
    return None

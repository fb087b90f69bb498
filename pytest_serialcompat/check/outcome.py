"""How the replay of one golden ends: passed, or :class:`ReplayEnded` with a status and diagnosis."""

from typing import Optional

from ..results import FAILED, SKIPPED

UNSET = object()  # a per-check value not computed yet (None is a value)


class ReplayEnded(Exception):
    """Ends the replay of one golden with a status and diagnosis."""

    def __init__(self, status: str, kind: Optional[str], message: str, fix: Optional[str] = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.fix = status, kind, message, fix


def fail(kind, message, fix=None):
    return ReplayEnded(FAILED, kind, message, fix)


def skip(kind, message):
    return ReplayEnded(SKIPPED, kind, message)

"""The cost bounds of one golden's replay, as the ini declares them.

The analyzer refuses what would make the real loader do unbounded work (see
``reference.analyzer.Limits``); :class:`Bounds` holds the ``serialcompat_max_*``
values for those limits and the ``serialcompat_load_timeout`` budget that
:mod:`.check.budget` enforces.  Settings, the check engine and the diagnosis all
read this one table.
"""

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


_FIELD_INI = {field: name for name, field, _ in INI_LIMITS}


def ini_of(message: str) -> Optional[str]:
    """The ini option of the analyzer limit a message names (``max_nodes=...``), else None."""
    for field, name in _FIELD_INI.items():
        if field + "=" in message:
            return name
    return None

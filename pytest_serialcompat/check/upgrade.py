"""Upgrade compatibility: does an object loaded from an old release's data fit today's classes?

A frozen generation is not compared for equality with today's sample: the
sample's values may have changed on purpose since that release.  What must
hold is what code written today needs of an object loaded from old data:

* at every path present in both graphs, the types agree (``None`` excepted: an
  optional field may hold it in one release and a value in another);
* an attribute today's object has and the old one lacks is a failure unless
  the class gives it a default: reading it on loaded old data raises
  ``AttributeError`` (a dataclass ``default_factory`` or a slot is no default);
* an attribute only the old object has was left behind by a change (reported);
* everything else is a value difference, listed under ``-v`` only.

The walk is :mod:`.graph_compare`'s (pairs by identity, instances by
``__reduce_ex__``), with the type and attribute questions asked differently.
"""

import pickle
import types
from typing import List, NamedTuple, Optional

from ..diagnosis.values import short, type_name
from . import graph_compare
from .graph_compare import _ATTR, _TEXT, _Walk, spell

MAX_LISTED = 20


class Upgrade(NamedTuple):
    """What one old object lacks, where its types changed, what it left behind, value changes."""

    lacking: List[str]        # paths of attributes today's code reads and old data lacks
    types: List[tuple]        # (path, old type, today's type)
    left_behind: List[str]    # "obj.legacy (= 3)"
    values: List[str]         # value (and sharing) differences, for -v

    @property
    def ok(self) -> bool:
        return not self.lacking and not self.types


COMPATIBLE = Upgrade([], [], [], [])


def has_class_default(cls, name: str) -> bool:
    """Whether reading ``name`` on an instance of ``cls`` that lacks it still gives a value."""
    if cls is None:
        return False
    for klass in getattr(cls, "__mro__", ()):
        found = vars(klass).get(name, _MISSING)
        if found is not _MISSING:
            return not isinstance(found, types.MemberDescriptorType)  # a slot: no default
    return getattr(cls, "__getattr__", None) is not None  # computes what it lacks


_MISSING = object()


class _UpgradeWalk(_Walk):
    def __init__(self, protocol: int, limit: int):
        super().__init__(protocol, limit, None, first=False)
        self.lacking: List[str] = []
        self.types: List[tuple] = []
        self.left_behind: List[str] = []
        self.current_type = None  # the class whose attributes are being compared

    def pair(self, a, b, where) -> None:
        cls = type(a)
        if cls is not type(b) and a is not None and b is not None:
            if len(self.types) < MAX_LISTED:
                self.types.append((spell(where), type_name(a), type_name(b)))
            return
        self.current_type = type(b)
        super().pair(a, b, where)

    def attributes(self, sa: dict, sb: dict, where, why: str = "") -> None:
        cls = self.current_type
        if sa.keys() != sb.keys():
            for name in sb:
                if name not in sa and not has_class_default(cls, name) \
                        and len(self.lacking) < MAX_LISTED:
                    self.lacking.append(spell((where, _ATTR, name)))
            for name, value in sa.items():
                if name not in sb and len(self.left_behind) < MAX_LISTED:
                    self.left_behind.append("%s (= %s)" % (spell((where, _ATTR, name)), short(value)))
        self.push_all([(value, sb[name], (where, _ATTR, name))
                       for name, value in sa.items() if name in sb])


def check(old, current, protocol: int = pickle.DEFAULT_PROTOCOL, root: str = "obj") -> Upgrade:
    """How the object loaded from old data (``old``) fits today's object (``current``)."""
    walk = _UpgradeWalk(protocol, graph_compare.DEFAULT_LIMIT)
    walk.run(old, current, (None, _TEXT, root))
    outcome = walk.outcome()
    if not (walk.lacking or walk.types or walk.left_behind or outcome.total):
        return COMPATIBLE
    return Upgrade(walk.lacking, walk.types, walk.left_behind, outcome.lines())


class UpgradeComparison:
    """Stands in for the check's :class:`.replay.Comparison` when a frozen golden is replayed.

    The format's replay loads the golden as always (gate, imports, ``__setstate__``)
    and then asks this for a verdict: compatible or not (so a moved class's
    suggested mapping is verified by the same question).  What it found is kept
    in :attr:`found` for the frozen replay to word (:mod:`.generations`); it
    stays None when the bytes are today's own (nothing was compared).
    """

    compare = None          # no user compare= or comparator: the graphs are walked
    comparator_for = None

    def __init__(self):
        self.found: Optional[Upgrade] = None

    def check(self, loaded, current, protocol: int = pickle.DEFAULT_PROTOCOL):
        from .replay import Compared

        found = self.found = check(loaded, current, protocol)
        return Compared(found.ok, graph_compare.SAME)

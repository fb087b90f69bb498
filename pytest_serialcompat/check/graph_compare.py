"""Are two object graphs the same, and if not, where.

Replay compares a loaded golden with the freshly built current object, and
recording compares what it is about to write with what it was given.  ``==``
is the wrong question for that: most application classes have no ``__eq__``,
graphs have back-pointers and cycles, and two ``==`` objects can differ in
what pickle exists to keep -- which parts are one shared object.

The question asked instead is pickle's own: the two graphs are walked in
parallel, nodes paired by identity in a memo (as ``copy.deepcopy`` pairs
them), and each pair is compared by what pickle keeps of it:

* value types by value (floats by value *and sign*, NaN equal to NaN: what
  a pickle round trip preserves);
* containers element by element (a set's elements matched by value, then by
  structure for elements that hash by identity);
* any other instance by its ``__reduce_ex__(protocol)``: the callable, the
  arguments, the state (``__getstate__``, ``__dict__``, ``__slots__``), the
  list items and the dict items.  A class with a custom ``__reduce__`` is
  also compared by its instance attributes: what the reduce drops is then
  seen (recording refuses such a golden rather than store a loss);
* a node reached twice in one graph must be one node in the other too.

A class with its own ``__eq__`` is trusted only where the structures differ:
matching structures pass without calling it (it may be broken, slow or
recursive), and differing values are then excused if its ``==`` says equal
-- a class whose ``__eq__`` ignores a field on purpose is not failed for it.
Identity and attribute-set differences are facts about the graph that no
``__eq__`` excuses.

The walk is iterative (an explicit stack): a 100,000-node linked list
compares.  Paths are kept as parent links and spelled out only for the
differences shown.
"""

import array
import collections
import copyreg
import datetime
import decimal
import enum
import fractions
import ipaddress
import math
import pathlib
import pickle
import sys
import types
import uuid
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from ..diagnosis.values import MISSING, short, slot_names, state, type_name

DEFAULT_LIMIT = 20
MAX_NODES = 5_000_000   # pairs visited before the walk gives up (and says so: never a pass)
MAX_PATH_STEPS = 24     # a longer path is shown with its middle elided
MAX_MATCH = 250_000     # structural element matchings tried for one set or dict

# Kinds of difference.  Values may be excused by a class's own __eq__; the graph's
# shape (attributes present on one side only) and its identity relations may not.
VALUE, SHAPE, IDENTITY = "value", "shape", "identity"

# Path steps: (parent, kind, key)
_ATTR, _INDEX, _KEY, _ELEMENT, _TEXT = range(5)

_HEAPTYPE = 1 << 9
_OBJECT_GETSTATE = getattr(object, "__getstate__", None)  # 3.11+
_NEWOBJ = copyreg.__newobj__
_NEWOBJ_EX = copyreg.__newobj_ex__
_RECONSTRUCTOR = copyreg._reconstructor


class Difference(NamedTuple):
    kind: str   # VALUE, SHAPE or IDENTITY
    text: str   # "obj.items[3].price: 3 != 5"


class Outcome(NamedTuple):
    """The differences found (the first ``limit`` of them) and how many there were."""

    differences: List[Difference]
    total: int

    @property
    def same(self) -> bool:
        return self.total == 0

    def lines(self) -> List[str]:
        lines = [d.text for d in self.differences]
        if self.total > len(lines):
            lines.append("... and %d more difference%s" % (
                self.total - len(lines), "" if self.total - len(lines) == 1 else "s"))
        return lines

    def of_kind(self, kind: str) -> List[str]:
        return [d.text for d in self.differences if d.kind == kind]


SAME = Outcome([], 0)


def compare(golden, current, *, protocol: int = pickle.DEFAULT_PROTOCOL,
            limit: int = DEFAULT_LIMIT, root: str = "obj",
            comparator_for: Optional[Callable[[type], Optional[Callable]]] = None) -> Outcome:
    """How the graph of ``golden`` differs from that of ``current`` (SAME when it does not).

    ``protocol`` is the pickle protocol whose ``__reduce_ex__`` describes an
    instance; ``comparator_for(cls)`` returns a user comparator for instances
    of ``cls`` (the ``pytest_serialcompat_comparator`` hook), or None.
    """
    walk = _Walk(protocol, limit, comparator_for, first=False)
    walk.run(golden, current, (None, _TEXT, root))
    return walk.outcome()


def same(golden, current, *, protocol: int = pickle.DEFAULT_PROTOCOL,
         comparator_for: Optional[Callable] = None) -> bool:
    """Whether the two graphs are the same; stops at the first difference."""
    walk = _Walk(protocol, 1, comparator_for, first=True)
    walk.run(golden, current, (None, _TEXT, "obj"))
    return walk.total == 0


# ----------------------------------------------------------------------------
# Paths


def spell(where) -> str:
    """``obj.items[3]['k']`` for a chain of steps; a very long one has its middle elided."""
    steps = []
    while where is not None:
        where, kind, key = where
        steps.append((kind, key))
    steps.reverse()
    if len(steps) > MAX_PATH_STEPS:
        head, tail = steps[:MAX_PATH_STEPS // 2], steps[-MAX_PATH_STEPS // 2:]
        middle = len(steps) - len(head) - len(tail)
        return "".join(map(_step, head)) + "...(%d steps)..." % middle + "".join(map(_step, tail))
    return "".join(map(_step, steps))


def _step(step) -> str:
    kind, key = step
    if kind == _ATTR:
        return ".%s" % (key,)
    if kind == _INDEX:
        return "[%d]" % key
    if kind == _KEY:
        return "[%s]" % short(key)
    if kind == _ELEMENT:
        return "{%s}" % short(key)
    return key


def _is_within(where, ancestor) -> bool:
    while where is not None:
        if where is ancestor:
            return True
        where = where[0]
    return False


# ----------------------------------------------------------------------------
# Value comparisons (no identity: pickle's memo sharing of immutable values means nothing)


def _same_float(a: float, b: float) -> bool:
    if a == b:
        return a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    return a != a and b != b  # both NaN


def _same_complex(a: complex, b: complex) -> bool:
    return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)


def _same_decimal(a, b) -> bool:
    return str(a) == str(b) or a == b  # 'NaN' == 'NaN'; 1.0 and 1.00 are == equal


def _same_global(a, b) -> bool:
    """Classes, functions: pickled by qualified name, the same when that name is."""
    if a is b:
        return True
    try:
        return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
            getattr(b, "__module__", None), getattr(b, "__qualname__", None)) and \
            getattr(a, "__qualname__", None) is not None
    except Exception:
        return False


def _same_enum(a, b) -> bool:
    return a is b or a.name == b.name


def _equal(a, b) -> bool:
    return a == b


# type -> how two values of exactly that type compare
VALUE_TYPES: Dict[type, Callable[[Any, Any], bool]] = {
    type(None): _equal, bool: _equal, int: _equal, str: _equal, bytes: _equal,
    bytearray: _equal, float: _same_float, complex: _same_complex,
    decimal.Decimal: _same_decimal, fractions.Fraction: _equal,
    datetime.date: _equal, datetime.time: _equal, datetime.datetime: _equal,
    datetime.timedelta: _equal, datetime.timezone: _equal,
    uuid.UUID: _equal, range: _equal, slice: _equal,
    type(Ellipsis): _equal, type(NotImplemented): _equal,
    type: _same_global, types.FunctionType: _same_global,
    types.BuiltinFunctionType: _same_global, types.MethodDescriptorType: _same_global,
    types.WrapperDescriptorType: _same_global, types.ModuleType: _same_global,
}
for _cls in (pathlib.PurePath, pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.Path,
             pathlib.PosixPath, pathlib.WindowsPath, ipaddress.IPv4Address, ipaddress.IPv6Address,
             ipaddress.IPv4Network, ipaddress.IPv6Network):
    VALUE_TYPES[_cls] = _equal
if hasattr(pickle, "PickleBuffer"):
    VALUE_TYPES[pickle.PickleBuffer] = lambda a, b: a.raw().tobytes() == b.raw().tobytes()

# instances of subclasses of these are values: sharing one means nothing
_IMMUTABLE = (tuple, frozenset, str, bytes, int, float, complex)

# exact types compared inline, without a dispatch (the bulk of any graph's leaves)
_ATOMS = frozenset((type(None), bool, int, str, bytes))


def guarded(function, a, b) -> Tuple[bool, Optional[str]]:
    """``function(a, b)`` as a verdict; an exception is a reason, never raised."""
    try:
        result = function(a, b)
        return (result is None or bool(result)), None
    except AssertionError as exc:
        return False, "comparator: %s" % (exc or "assertion failed")
    except RecursionError:
        return False, "raised RecursionError"
    except Exception as exc:
        text = str(exc)
        return False, "raised %s%s" % (type(exc).__name__, ": " + text if text else "")


# ----------------------------------------------------------------------------
# How an instance of a class is read: decided once per class


class _Plan(NamedTuple):
    direct: bool                 # pickle keeps exactly obj.__dict__: read it directly
    custom_reduce: bool          # the class chose its own __reduce__/__reduce_ex__
    final: Optional[Callable]    # decides when the structures differ (its own ==)
    immutable: bool              # a value (see _IMMUTABLE): sharing one means nothing


_PLANS: Dict[type, _Plan] = {}
_MAX_PLANS = 4096


def _plan(cls) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    default_reduce = (getattr(cls, "__reduce_ex__", None) is object.__reduce_ex__
                      and getattr(cls, "__reduce__", None) is object.__reduce__
                      and cls not in copyreg.dispatch_table)
    direct = (default_reduce
              and getattr(cls, "__getstate__", None) is _OBJECT_GETSTATE
              and not hasattr(cls, "__getnewargs__") and not hasattr(cls, "__getnewargs_ex__")
              and cls.__getattribute__ is object.__getattribute__
              and all(k is object or k.__flags__ & _HEAPTYPE for k in cls.__mro__)
              and not slot_names(cls)
              and any("__dict__" in vars(k) for k in cls.__mro__))
    eq = getattr(cls, "__eq__", object.__eq__)
    final = None if eq is object.__eq__ else _EQ
    plan = _Plan(direct, not default_reduce and bool(cls.__flags__ & _HEAPTYPE), final,
                 issubclass(cls, _IMMUTABLE))
    if len(_PLANS) < _MAX_PLANS:
        _PLANS[cls] = plan
    return plan


def _eq(a, b) -> bool:
    return bool(a == b)


_EQ = _eq


def _reduce(obj, protocol):
    try:
        return obj.__reduce_ex__(protocol)
    except Exception as exc:
        return exc


def _state_attributes(value) -> Optional[dict]:
    """A reduce's state as attributes (``__dict__``, or ``(dict, slots)``), else None."""
    if value is None:
        return {}
    if type(value) is dict:
        return value
    if (type(value) is tuple and len(value) == 2 and (value[0] is None or type(value[0]) is dict)
            and type(value[1]) is dict):
        merged = dict(value[1])
        merged.update(value[0] or {})
        return merged
    return None


def _namedtuple_fields(cls) -> Optional[tuple]:
    fields = getattr(cls, "_fields", None)
    if issubclass(cls, tuple) and isinstance(fields, tuple) and all(isinstance(f, str) for f in fields):
        return fields
    return None


# ----------------------------------------------------------------------------
# The walk


class _Walk:
    def __init__(self, protocol: int, limit: int, comparator_for, first: bool):
        self.protocol = protocol
        self.limit = limit
        self.first = first  # stop at the first difference no __eq__ can excuse
        self.comparator_for = comparator_for
        self._comparators: Dict[type, Optional[Callable]] = {}
        self.found: List[Difference] = []
        self.total = 0
        self.stop = False
        # id(where) -> (golden, current, final, where) of nodes whose own == may excuse a
        # value difference below them; their verdicts, asked only when one is found
        self.owners: Dict[int, tuple] = {}
        self.verdicts: Dict[int, bool] = {}
        self.fwd: Dict[int, Tuple[Any, Any]] = {}   # id(golden node) -> (current node, where)
        self.rev: Dict[int, Tuple[Any, Any]] = {}   # id(current node) -> (golden node, where)
        self.pairs = set()  # (id, id) of immutable containers already compared
        self.alive: List[Any] = []  # temporaries (reduce results) whose ids are in the memo
        self.stack: List[tuple] = []

    # ---------------------------------------------------------- reporting
    def report(self, kind: str, where, text: Callable[[], str]) -> None:
        """One difference; ``text(path)`` is called only if it is shown."""
        raised: List[Difference] = []
        if kind is VALUE and self.owners and self.excused(where, raised):
            return
        for difference in [Difference(kind, text(spell(where)))] + raised:
            self.total += 1
            if len(self.found) < self.limit:
                self.found.append(difference)
        if self.first:
            self.stop = True

    def excused(self, where, raised: List[Difference]) -> bool:
        """Whether a class's own == above ``where`` says its objects are equal after all.

        Asked once per such object, and only when something below it differs; an
        exception from it is reported (at its path), never raised.
        """
        step = where
        while step is not None:
            owner = self.owners.get(id(step))
            if owner is not None and owner[3] is step:
                verdict = self.verdicts.get(id(step))
                if verdict is None:
                    a, b, final, _where = owner
                    verdict, detail = guarded(final, a, b)
                    self.verdicts[id(step)] = verdict
                    if detail is not None:
                        raised.append(Difference(VALUE, "%s: %s.__eq__ %s" % (
                            spell(step), type_name(a), detail)))
                if verdict:
                    return True
            step = step[0]
        return False

    def outcome(self) -> Outcome:
        if self.total == 0:
            return SAME
        return Outcome(self.found, self.total)

    def values_differ(self, a, b, where, note: str = "") -> None:
        self.report(VALUE, where, lambda path: "%s: %s != %s%s" % (path, short(a), short(b), note))

    # -------------------------------------------------------------- drive
    def run(self, golden, current, where) -> None:
        stack = self.stack
        stack.append((golden, current, where))
        budget = MAX_NODES
        pair = self.pair
        while stack and not self.stop:
            budget -= 1
            if budget < 0:
                self.report(IDENTITY, where, lambda path: (
                    "%s: too large to compare (more than %d objects); pass compare="
                    % (path, MAX_NODES)))
                break
            pair(*stack.pop())

    def pair(self, a, b, where) -> None:
        cls = type(a)
        if cls is not type(b):
            if HANDLERS.get(cls) is _value or cls in _ATOMS:  # a value: show it too
                self.report(VALUE, where, lambda path: "%s: %s != %s (type %s (golden) != %s "
                            "(current))" % (path, short(a), short(b), type_name(a), type_name(b)))
            else:
                self.report(VALUE, where, lambda path: "%s: type %s (golden) != %s (current)"
                            % (path, type_name(a), type_name(b)))
            return
        if cls in _ATOMS:
            if a != b:
                self.values_differ(a, b, where)
            return
        handler = HANDLERS.get(cls)
        if handler is None:
            handler = _classify(cls)
        handler(self, a, b, where)

    def push(self, a, b, where) -> None:
        """Compare a child pair: atoms at once, anything else later on the stack."""
        cls = type(a)
        if cls in _ATOMS and cls is type(b):
            if a != b:
                self.values_differ(a, b, where)
        else:
            self.stack.append((a, b, where))

    def push_all(self, children) -> None:
        """Child pairs in order: atoms compared now, the rest stacked to be taken in order."""
        later = []
        for a, b, where in children:
            cls = type(a)
            if cls in _ATOMS and cls is type(b):
                if a != b:
                    self.values_differ(a, b, where)
            else:
                later.append((a, b, where))
        later.reverse()
        self.stack.extend(later)

    # ----------------------------------------------------------- identity
    def enter(self, a, b, where) -> bool:
        """Pair two mutable nodes; False when they need no (further) comparison."""
        if a is b:
            return False  # one object in both graphs (a class attribute, say): nothing differs
        known = self.fwd.get(id(a))
        if known is not None:
            if known[0] is b:
                return False
            first = known[1]
            self.report(IDENTITY, where, lambda path: _split_text(first, where, path))
            return False
        known = self.rev.get(id(b))
        if known is not None:
            first = known[1]
            self.report(IDENTITY, where, lambda path: _merge_text(first, where, path))
            return False
        self.fwd[id(a)] = (b, where)
        self.rev[id(b)] = (a, where)
        return True

    def once(self, a, b) -> bool:
        """For immutable containers: compare each pair once (a shared tuple is not a fact)."""
        key = (id(a), id(b))
        if key in self.pairs:
            return False
        self.pairs.add(key)
        return True

    # ---------------------------------------------------------- comparers
    def comparator(self, cls) -> Optional[Callable]:
        if self.comparator_for is None:
            return None
        found = self._comparators.get(cls, MISSING)
        if found is MISSING:
            found = self._comparators[cls] = self.comparator_for(cls)
        return found

    def sequence(self, a, b, where) -> None:
        if len(a) != len(b):
            self.report(VALUE, where, lambda path: "%s: length %d (golden) != %d (current)"
                        % (path, len(a), len(b)))
        later = []
        for index, (x, y) in enumerate(zip(a, b)):
            cls = type(x)
            if cls in _ATOMS and cls is type(y):
                if x != y:
                    self.values_differ(x, y, (where, _INDEX, index))
            else:
                later.append((x, y, (where, _INDEX, index)))
        if later:
            later.reverse()
            self.stack.extend(later)

    def attributes(self, sa: dict, sb: dict, where, why: str = "") -> None:
        if sa.keys() != sb.keys():
            for name, value in sa.items():
                if name not in sb:
                    self.report(SHAPE, (where, _ATTR, name), lambda path, v=value: (
                        "%s: only in golden (= %s)" % (path, short(v))))
            for name, value in sb.items():
                if name not in sa:
                    self.report(SHAPE, (where, _ATTR, name), lambda path, v=value: (
                        "%s: only in current (= %s)%s" % (path, short(v), why)))
            self.push_all([(value, sb[name], (where, _ATTR, name))
                           for name, value in sa.items() if name in sb])
            return
        later = []
        for name, x in sa.items():
            y = sb[name]
            cls = type(x)
            if cls in _ATOMS and cls is type(y):
                if x != y:
                    self.values_differ(x, y, (where, _ATTR, name))
            else:
                later.append((x, y, (where, _ATTR, name)))
        if later:
            later.reverse()
            self.stack.extend(later)

    def mapping(self, a, b, where, ordered: bool) -> None:
        if a.keys() == b.keys() and not (ordered and list(a) != list(b)):
            later = []
            for key, x in a.items():
                y = b[key]
                cls = type(x)
                if cls in _ATOMS and cls is type(y):
                    if x != y:
                        self.values_differ(x, y, (where, _KEY, key))
                else:
                    later.append((x, y, (where, _KEY, key)))
            if later:
                later.reverse()
                self.stack.extend(later)
            return
        only_a = [k for k in a if k not in b]
        only_b = [k for k in b if k not in a]
        matched = self.match(only_a, only_b) if only_a and only_b else []
        for key in only_a:
            self.report(VALUE, (where, _KEY, key), lambda path, k=key: (
                "%s: only in golden (= %s)" % (path, short(a[k]))))
        for key in only_b:
            self.report(VALUE, (where, _KEY, key), lambda path, k=key: (
                "%s: only in current (= %s)" % (path, short(b[k]))))
        if ordered and not only_a and not only_b and not matched:
            order_a, order_b = list(a), list(b)
            if order_a != order_b:
                self.report(VALUE, where, lambda path: "%s: key order %s (golden) != %s (current)"
                            % (path, short(order_a), short(order_b)))
        children = [(value, b[key], (where, _KEY, key)) for key, value in a.items() if key in b]
        for ka, kb in matched:
            children.append((a[ka], b[kb], (where, _KEY, ka)))
            children.append((ka, kb, (where, _ELEMENT, ka)))
        self.push_all(children)

    def elements(self, a, b, where) -> None:
        """Set elements: paired by value (hash and ==), then by structure."""
        if len(a) == len(b) and a == b and _all_atoms(a) and _all_atoms(b):
            return  # each element pairs with its equal, and atoms need nothing more
        current = {}
        for y in b:
            current[y] = y
        only_a, pairs = [], []
        for x in a:
            y = current.pop(x, MISSING)
            if y is MISSING:
                only_a.append(x)
            else:
                pairs.append((x, y))
        only_b = list(current.values())
        if only_a and only_b:
            pairs.extend(self.match(only_a, only_b))
            pairs.extend(_pair_by_type(only_a, only_b))  # shown by their differing insides
        if only_a:
            self.report(VALUE, where, lambda path: "%s: only in golden: %s"
                        % (path, ", ".join(short(x) for x in only_a[:6])
                           + (" (+%d more)" % (len(only_a) - 6) if len(only_a) > 6 else "")))
        if only_b:
            self.report(VALUE, where, lambda path: "%s: only in current: %s"
                        % (path, ", ".join(short(x) for x in only_b[:6])
                           + (" (+%d more)" % (len(only_b) - 6) if len(only_b) > 6 else "")))
        self.push_all([(x, y, (where, _ELEMENT, x)) for x, y in pairs
                       if x is not y and type(x) not in _ATOMS])

    def match(self, only_a: list, only_b: list) -> List[Tuple[Any, Any]]:
        """Pair elements that are not == by structure; matched ones leave both lists."""
        pairs = []
        tries = MAX_MATCH
        for x in list(only_a):
            for index, y in enumerate(only_b):
                if type(x) is not type(y):
                    continue
                tries -= 1
                if tries < 0:
                    return pairs
                if same(x, y, protocol=self.protocol, comparator_for=self.comparator_for):
                    pairs.append((x, y))
                    only_a.remove(x)
                    del only_b[index]
                    break
        return pairs

    def reduced(self, a, b, where, plan: _Plan) -> None:
        """An instance by what pickle keeps of it: its __reduce_ex__(protocol)."""
        ra, rb = _reduce(a, self.protocol), _reduce(b, self.protocol)
        if isinstance(ra, Exception) or isinstance(rb, Exception):
            if isinstance(ra, Exception) and isinstance(rb, Exception):
                self.attributes(state(a), state(b), where)
            else:
                error = ra if isinstance(ra, Exception) else rb
                side = "golden" if error is ra else "current"
                self.report(VALUE, where, lambda path: "%s: %s.__reduce_ex__(%d) raised %s (%s)" % (
                    path, type_name(a), self.protocol, type(error).__name__, side))
            return
        self.alive.append((ra, rb))
        if isinstance(ra, str) or isinstance(rb, str):  # a global, pickled by name
            if ra != rb:
                self.values_differ(a, b, where)
            return
        ra, rb = tuple(ra) + (None,) * (5 - len(ra)), tuple(rb) + (None,) * (5 - len(rb))
        (ca, args_a, state_a, list_a, dict_a) = ra[:5]
        (cb, args_b, state_b, list_b, dict_b) = rb[:5]
        if not _same_global(ca, cb):
            self.report(VALUE, where, lambda path: "%s: rebuilt by %s (golden) != %s (current)"
                        % (path, _callable_name(ca), _callable_name(cb)))
            return
        args_a, args_b = tuple(args_a or ()), tuple(args_b or ())
        if ca is _NEWOBJ or ca is _RECONSTRUCTOR:
            if args_a[:1] != args_b[:1]:
                self.values_differ(args_a[:1], args_b[:1], (where, _TEXT, ".__class__"))
            args_a, args_b = args_a[1:], args_b[1:]
            if ca is _RECONSTRUCTOR:
                args_a, args_b = args_a[1:], args_b[1:]
        fields = _namedtuple_fields(type(a))
        if fields is not None and len(args_a) == len(args_b) == len(fields):
            self.attributes(dict(zip(fields, args_a)), dict(zip(fields, args_b)), where)
        elif args_a or args_b:
            self.push(args_a, args_b, (where, _TEXT, "<args>"))
        attrs_a, attrs_b = _state_attributes(state_a), _state_attributes(state_b)
        if attrs_a is not None and attrs_b is not None:
            if plan.custom_reduce and not attrs_a and not attrs_b:
                # the state a custom reduce leaves out must come back from its arguments
                why = "; %s.__reduce__ does not keep it" % type_name(a)
                self.attributes(state(a), state(b), where, why)
            else:
                self.attributes(attrs_a, attrs_b, where)
        else:
            self.push(state_a, state_b, (where, _TEXT, "<state>"))
        if list_a is not None or list_b is not None:
            items_a, items_b = list(list_a or ()), list(list_b or ())
            self.alive.append((items_a, items_b))
            self.sequence(items_a, items_b, where)
        if dict_a is not None or dict_b is not None:
            items_a, items_b = dict(dict_a or ()), dict(dict_b or ())
            self.alive.append((items_a, items_b))
            self.mapping(items_a, items_b, where, isinstance(a, collections.OrderedDict))


def _all_atoms(values) -> bool:
    atoms = _ATOMS
    for value in values:
        if type(value) not in atoms:
            return False
    return True


def _pair_by_type(only_a: list, only_b: list) -> List[Tuple[Any, Any]]:
    """Leftover elements of a type with no repr of its own, paired in turn (they leave the lists)."""
    pairs = []
    for x in list(only_a):
        if type(x).__repr__ is not object.__repr__:
            continue
        for index, y in enumerate(only_b):
            if type(y) is type(x):
                pairs.append((x, y))
                only_a.remove(x)
                del only_b[index]
                break
    return pairs


def _callable_name(value) -> str:
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    return "%s.%s" % (module, qualname) if module and qualname else short(value)


def _split_text(first, where, path: str) -> str:
    if _is_within(where, first):
        return ("%s refers back to %s (a cycle) in the golden, but is a separate object now"
                % (path, spell(first)))
    return ("%s and %s are one shared object in the golden but two separate objects now "
            "(mutations through one are no longer seen by the other)" % (spell(first), path))


def _merge_text(first, where, path: str) -> str:
    if _is_within(where, first):
        return ("%s refers back to %s (a cycle) now, but is a separate object in the golden"
                % (path, spell(first)))
    return ("%s and %s are two separate objects in the golden but one shared object now "
            "(a mutation through one is now seen by the other)" % (spell(first), path))


# ----------------------------------------------------------------------------
# Handlers: one per kind of node; HANDLERS maps exact types, _classify the rest


def _value(walk, a, b, where):
    ok, detail = guarded(VALUE_TYPES[type(a)], a, b)
    if not ok:
        walk.values_differ(a, b, where, " (%s)" % detail if detail else "")


def _list(walk, a, b, where):
    if walk.enter(a, b, where):
        walk.sequence(a, b, where)


def _tuple(walk, a, b, where):
    if walk.once(a, b):
        walk.sequence(a, b, where)


def _dict(walk, a, b, where):
    if walk.enter(a, b, where):
        walk.mapping(a, b, where, False)


def _ordered_dict(walk, a, b, where):
    if walk.enter(a, b, where):
        walk.mapping(a, b, where, True)


def _defaultdict(walk, a, b, where):
    if walk.enter(a, b, where):
        walk.push(a.default_factory, b.default_factory, (where, _TEXT, ".default_factory"))
        walk.mapping(a, b, where, False)


def _set(walk, a, b, where):
    if walk.enter(a, b, where):
        walk.elements(a, b, where)


def _frozenset(walk, a, b, where):
    if walk.once(a, b):
        walk.elements(a, b, where)


def _deque(walk, a, b, where):
    if walk.enter(a, b, where):
        if a.maxlen != b.maxlen:
            walk.values_differ(a.maxlen, b.maxlen, (where, _TEXT, ".maxlen"))
        walk.sequence(list(a), list(b), where)


def _array(walk, a, b, where):
    if not walk.enter(a, b, where):
        return
    if a.typecode != b.typecode:
        walk.values_differ(a.typecode, b.typecode, (where, _TEXT, ".typecode"))
    elif a.tobytes() != b.tobytes():
        items_a, items_b = a.tolist(), b.tolist()
        walk.alive.append((items_a, items_b))
        walk.sequence(items_a, items_b, where)


def _enum(walk, a, b, where):
    if not _same_enum(a, b):
        walk.values_differ(a, b, where)


def _global(walk, a, b, where):
    if not _same_global(a, b):
        walk.values_differ(a, b, where)


def _instance(walk, a, b, where):
    cls = type(a)
    plan = _PLANS.get(cls) or _plan(cls)
    if not (walk.once(a, b) if plan.immutable else walk.enter(a, b, where)):
        return
    comparator = walk.comparator(cls) if walk.comparator_for is not None else None
    if comparator is not None:
        ok, detail = guarded(comparator, a, b)
        if not ok:
            walk.report(VALUE, where, lambda path: "%s: the comparator for %s says they differ%s"
                        % (path, type_name(a), " (%s)" % detail if detail else ""))
        return
    if plan.final is not None:
        walk.owners[id(where)] = (a, b, plan.final, where)
    if plan.direct:
        walk.attributes(a.__dict__, b.__dict__, where)
    else:
        walk.reduced(a, b, where, plan)


def _numpy_array(walk, a, b, where):
    """dtype, shape, then values bit for bit (NaN equal to NaN, as pickle keeps them)."""
    if not walk.enter(a, b, where):
        return
    if a.dtype != b.dtype:
        walk.values_differ(a.dtype, b.dtype, (where, _TEXT, ".dtype"))
        return
    if a.shape != b.shape:
        walk.values_differ(a.shape, b.shape, (where, _TEXT, ".shape"))
        return
    if a.dtype.hasobject:
        items_a, items_b = a.ravel().tolist(), b.ravel().tolist()
        walk.alive.append((items_a, items_b))
        walk.sequence(items_a, items_b, where)
        return
    if a.tobytes() == b.tobytes():
        return
    flat_a, flat_b = a.ravel().tolist(), b.ravel().tolist()
    for index, (x, y) in enumerate(zip(flat_a, flat_b)):
        if not (_same_float(x, y) if type(x) is float and type(y) is float else x == y):
            position = tuple(int(i) for i in divmod_index(index, a.shape))
            walk.report(VALUE, where, lambda path, p=position, x=x, y=y: (
                "%s[%s]: %s != %s" % (path, ", ".join(map(str, p)), short(x), short(y))))
            return
    walk.values_differ(a, b, where, " (same values, other bytes)")


def divmod_index(index: int, shape) -> List[int]:
    position = []
    for size in reversed(shape):
        index, rest = divmod(index, size) if size else (index, 0)
        position.append(rest)
    return list(reversed(position))


def _pandas(walk, a, b, where):
    """pandas objects: pandas' own testing comparators (NaN equal, dtypes checked)."""
    if not walk.enter(a, b, where):
        return
    pandas = sys.modules["pandas"]
    testing = pandas.testing
    if isinstance(a, pandas.DataFrame):
        check = testing.assert_frame_equal
    elif isinstance(a, pandas.Series):
        check = testing.assert_series_equal
    else:
        check = testing.assert_index_equal
    try:
        check(a, b)
    except AssertionError as exc:
        first = str(exc).strip().splitlines()
        walk.report(VALUE, where, lambda path: "%s: %s (pandas.testing)" % (
            path, " ".join(line.strip() for line in first[:3])))
    except Exception as exc:
        raised = "%s: %s" % (type(exc).__name__, exc)  # ``exc`` is unbound after the block
        walk.report(VALUE, where, lambda path: "%s: pandas.testing raised %s" % (path, raised))


HANDLERS: Dict[type, Callable] = {
    list: _list, tuple: _tuple, dict: _dict, set: _set, frozenset: _frozenset,
    collections.OrderedDict: _ordered_dict, collections.defaultdict: _defaultdict,
    collections.deque: _deque, collections.Counter: _dict, array.array: _array,
}
for _cls in VALUE_TYPES:
    HANDLERS.setdefault(_cls, _value)
_MAX_HANDLERS = 4096


def _is_numpy_array(cls) -> bool:
    numpy = sys.modules.get("numpy")  # an array exists only where numpy is imported
    return numpy is not None and cls is getattr(numpy, "ndarray", None)


def _is_pandas_container(cls) -> bool:
    pandas = sys.modules.get("pandas")
    if pandas is None:
        return False
    kinds = tuple(getattr(pandas, name) for name in ("DataFrame", "Series", "Index")
                  if isinstance(getattr(pandas, name, None), type))
    return bool(kinds) and issubclass(cls, kinds)


def _classify(cls) -> Callable:
    """The handler for a type met for the first time (remembered)."""
    if issubclass(cls, enum.Enum):
        handler = _enum
    elif issubclass(cls, type):
        handler = _global
    elif _is_numpy_array(cls):
        handler = _numpy_array
    elif _is_pandas_container(cls):
        handler = _pandas
    else:
        handler = _instance
    if len(HANDLERS) < _MAX_HANDLERS:
        HANDLERS[cls] = handler
    return handler

"""Picklable sample types, hypothesis strategies and a structural comparison,
shared by the pickler and unpickler tests.

Everything pickled must be importable by module and qualified name, so the
user classes live here at module level.  ``values()`` generates object graphs
(nested containers, shared references, cycles, the datetime family, numbers of
every kind, user classes using each pickling hook); ``deep_equal`` compares two
graphs structurally: types, values (NaN equal to NaN, -0.0 distinct from 0.0),
and the sharing pattern (an object referenced twice on one side must be one
object referenced twice on the other), cycles included.
"""

import collections
import datetime
import decimal
import enum
import fractions
import functools
import math
import pickle
import re

from hypothesis import strategies as st

# --- user classes, one per pickling hook ---------------------------------------------


class Plain:
    """Default reduce: ``copyreg.__newobj__`` + ``__dict__`` state."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)

    def __repr__(self):
        return "Plain(%r)" % (self.__dict__,)


class Slotted:
    """``__slots__`` only: (None, slots) state; some slots may be unset."""

    __slots__ = ("a", "b")

    def __init__(self, a=None, **maybe_b):
        self.a = a
        if "b" in maybe_b:
            self.b = maybe_b["b"]

    def __getstate__(self):  # explicit, so that protocols 0 and 1 work on 3.8-3.10
        return None, {name: getattr(self, name) for name in self.__slots__ if hasattr(self, name)}


class SlottedDict:
    """``__slots__`` with ``__dict__``: (dict, slots) state."""

    __slots__ = ("a", "__dict__")

    def __init__(self, a=None, **attrs):
        self.a = a
        self.__dict__.update(attrs)

    def __getstate__(self):
        return dict(self.__dict__), {"a": self.a}


class WithState:
    """``__getstate__``/``__setstate__`` with a non-dict state."""

    def __init__(self, payload=None):
        self.payload = payload

    def __getstate__(self):
        return ("v1", self.payload)

    def __setstate__(self, state):
        version, self.payload = state


class Reduced:
    """``__reduce__`` to (callable, args)."""

    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        return (Reduced, (self.payload,))


class ReducedFull:
    """``__reduce__`` with all five items: args, state, list items, dict items."""

    def __init__(self):
        self.items = []
        self.mapping = {}
        self.state = None

    def append(self, item):
        self.items.append(item)

    def extend(self, items):
        self.items.extend(items)

    def __setitem__(self, key, value):
        self.mapping[key] = value

    def __setstate__(self, state):
        self.state = state

    def __reduce__(self):
        return (ReducedFull, (), self.state, iter(self.items), iter(self.mapping.items()))


class ItemsList(list):
    """A list subclass with attributes (list items + ``__dict__`` state)."""


class ItemsDict(dict):
    """A dict subclass with attributes (dict items + ``__dict__`` state)."""


class NewArgs:
    """``__getnewargs__``: positional arguments for ``__new__``."""

    def __new__(cls, a, b):
        self = super().__new__(cls)
        self.args = (a, b)
        return self

    def __getnewargs__(self):
        return self.args


class NewArgsEx:
    """``__getnewargs_ex__`` with keyword-only arguments (NEWOBJ_EX)."""

    def __new__(cls, a, *, b):
        self = super().__new__(cls)
        self.args = (a, b)
        return self

    def __getnewargs_ex__(self):
        return (self.args[0],), {"b": self.args[1]}


class Outer:
    class Inner:
        """A nested class (qualified name ``Outer.Inner``)."""

        def __init__(self, value=None):
            self.value = value

        class Deepest:
            """Two levels down: ``getattr`` chains under protocol < 4."""


class WithSetter:
    """``__reduce__`` with a state setter (the sixth item, 3.8+)."""

    def __init__(self, value=None):
        self.value = value

    def __reduce__(self):
        return (WithSetter, (None,), {"value": self.value}, None, None, set_state)


def set_state(obj, state):
    obj.value = state["value"]


class Color(enum.Enum):
    RED = 1
    GREEN = "green"
    BLUE = (3, "blue")


class Perm(enum.IntFlag):
    R = 4
    W = 2
    X = 1


def sample_function(*args, **kwargs):
    """A module-level function (pickled by reference; used in partials)."""
    return args, kwargs


class HookError(Exception):
    """Raised by the hooks of the classes below (errors from user code)."""


class SetStateRaises:
    def __init__(self):
        self.x = 1

    def __setstate__(self, state):
        raise HookError("__setstate__ refused %r" % (state,))


class HashRaises:
    """A dict key whose ``__hash__`` raises IndexError while unpickling."""

    def __init__(self, armed=False):
        self.armed = armed

    def __hash__(self):
        if self.armed:
            raise IndexError("hash of an armed key")
        return 1

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.armed = True


class ExtendRaises(list):
    """A list subclass whose ``extend`` raises KeyError (APPENDS calls it)."""

    def extend(self, items):
        raise KeyError("extend refused")


def raise_index_error(*args):
    """A REDUCE callable that raises IndexError."""
    return [][len(args) + 5]


class ReduceRaises:
    def __reduce__(self):
        return (raise_index_error, (1, 2))


# --- structural comparison ---------------------------------------------------------------
# Compared by repr: exact, and includes what == ignores (fold, tzinfo, -0, NaN).
_BY_REPR = (
    datetime.date,
    datetime.time,
    datetime.timedelta,
    datetime.tzinfo,
    decimal.Decimal,
    fractions.Fraction,
    range,
    slice,
)
_BY_VALUE = (int, str, bytes, type(None), type(Ellipsis), type(NotImplemented))


def _same_float(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


class _Comparer:
    def __init__(self):
        self.forward = {}
        self.backward = {}
        self.keep = []  # keeps compared objects alive so ids stay unique

    def equal(self, a, b):
        if type(a) is not type(b):
            return False
        kind = type(a)
        if kind is float:
            return _same_float(a, b)
        if kind is complex:
            return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)
        if isinstance(a, _BY_VALUE) and not hasattr(a, "__dict__"):
            return a == b
        if isinstance(a, _BY_REPR):
            return repr(a) == repr(b)
        if isinstance(a, (enum.Enum, type)) or callable(a) and hasattr(a, "__qualname__"):
            return a is b
        # Objects with identity: the sharing pattern must match.
        ia, ib = id(a), id(b)
        if ia in self.forward or ib in self.backward:
            return self.forward.get(ia) == ib and self.backward.get(ib) == ia
        self.forward[ia] = ib
        self.backward[ib] = ia
        self.keep += (a, b)
        contents = self._equal_contents(a, b)
        if contents is False:
            return False
        state = self._equal_state(a, b)
        if state is False:
            return False
        if contents is None and state is None:  # nothing structural to compare
            return a == b
        return True

    def _all(self, xs, ys):
        xs, ys = list(xs), list(ys)
        return len(xs) == len(ys) and all(self.equal(x, y) for x, y in zip(xs, ys))

    def _equal_contents(self, a, b):
        """True/False for the built-in containers and buffers; None for other types."""
        if isinstance(a, (list, tuple)):
            return self._all(a, b)
        if isinstance(a, dict):
            if isinstance(a, collections.defaultdict) and not self.equal(
                a.default_factory, b.default_factory
            ):
                return False
            return self._all(a.keys(), b.keys()) and self._all(a.values(), b.values())
        if isinstance(a, (set, frozenset)):
            return a == b
        if isinstance(a, collections.deque):
            return a.maxlen == b.maxlen and self._all(a, b)
        if isinstance(a, (bytearray, memoryview, pickle.PickleBuffer)):
            view_a, view_b = memoryview(a), memoryview(b)
            return view_a.readonly == view_b.readonly and view_a.tobytes() == view_b.tobytes()
        if isinstance(a, functools.partial):
            return (
                self.equal(a.func, b.func)
                and self._all(a.args, b.args)
                and self.equal(a.keywords, b.keywords)
            )
        if isinstance(a, BaseException):
            return self._all(a.args, b.args)
        return None

    def _equal_state(self, a, b):
        """Compare ``__dict__`` and slots; None when the object has neither."""
        found = False
        if hasattr(a, "__dict__"):
            found = True
            if not self.equal(dict(vars(a)), dict(vars(b))):
                return False
        for klass in type(a).__mro__:
            for slot in klass.__dict__.get("__slots__", ()):
                if slot in ("__dict__", "__weakref__"):
                    continue
                found = True
                has_a, has_b = hasattr(a, slot), hasattr(b, slot)
                if has_a != has_b or has_a and not self.equal(getattr(a, slot), getattr(b, slot)):
                    return False
        return True if found else None


def deep_equal(a, b):
    """Structural equality of two object graphs (see the module docstring)."""
    return _Comparer().equal(a, b)


# --- hypothesis strategies -----------------------------------------------------------------
def _text():
    # Any code point, lone surrogates included (pickled with surrogatepass).
    return st.text(st.characters(exclude_categories=()), max_size=12)


def hashables():
    """Hashable atoms and tuples of them (no NaN: it would break set equality)."""
    atom = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        _text(),
        st.binary(max_size=8),
    )
    return st.one_of(atom, st.tuples(atom, atom))


_INTS = st.one_of(
    st.integers(-300, 300),
    st.integers(-(2**31) - 2, 2**31 + 2),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, -(2**63), 2**64, -(2**64) - 1, 2**1000, -(2**1000)]),
)

_TIMEZONES = st.one_of(
    st.none(),
    st.just(datetime.timezone.utc),
    st.builds(
        datetime.timezone,
        st.timedeltas(
            min_value=datetime.timedelta(hours=-23, minutes=-59),
            max_value=datetime.timedelta(hours=23, minutes=59),
        ),
    ),
)


def atoms():
    return st.one_of(
        st.none(),
        st.booleans(),
        _INTS,
        st.floats(),
        st.sampled_from([float("inf"), float("-inf"), -0.0, float("nan")]),
        st.complex_numbers(),
        _text(),
        st.binary(max_size=20),
        st.binary(max_size=20).map(bytearray),
        st.datetimes(timezones=_TIMEZONES),
        st.dates(),
        st.times(timezones=_TIMEZONES),
        st.timedeltas(),
        st.decimals(),
        st.fractions(),
        st.sampled_from(list(Color) + list(Perm) + [Perm.R | Perm.W, re.IGNORECASE | re.MULTILINE]),
        st.uuids(),
        st.builds(range, st.integers(-5, 5), st.integers(-5, 50), st.integers(1, 3)),
        st.sampled_from(
            [int, str, Plain, Outer.Inner, Outer.Inner.Deepest, len, sample_function, Ellipsis, NotImplemented, type(None)]
        ),
        st.integers(0, 10**6).map(lambda n: str(n) * 40),  # long strings (BINUNICODE)
        st.binary(min_size=256, max_size=300),  # BINBYTES (4-byte length)
    )


def _cycle_list(child):
    outer = [child]
    outer.append(outer)
    return outer


def _cycle_dict(child):
    outer = {"child": child}
    outer["self"] = outer
    return outer


def _cycle_tuple(child):
    inner = [child]
    outer = (inner, child)
    inner.append(outer)  # a tuple reached from itself: POP/POP_MARK + memo GET
    return outer


def _cycle_object(child):
    obj = Plain(child=child)
    obj.me = obj
    return obj


def _slotted(a, b, set_b):
    return Slotted(a, b=b) if set_b else Slotted(a)


def _items_list(items, attr):
    obj = ItemsList(items)
    obj.attr = attr
    return obj


def _items_dict(mapping, attr):
    obj = ItemsDict(mapping)
    obj.attr = attr
    return obj


def _reduced_full(items, mapping, state):
    obj = ReducedFull()
    obj.items.extend(items)
    obj.mapping.update(mapping)
    obj.state = state
    return obj


def _containers(children):
    keys = hashables()
    small = st.lists(children, max_size=4)
    return st.one_of(
        small,
        st.lists(children, min_size=2, max_size=4).map(tuple),
        st.tuples(children),
        st.dictionaries(keys, children, max_size=4),
        st.sets(keys, max_size=4),
        st.frozensets(keys, max_size=4),
        st.dictionaries(keys, children, max_size=4).map(collections.OrderedDict),
        small.map(collections.deque),
        st.tuples(small, st.one_of(st.none(), st.integers(4, 6))).map(
            lambda args: collections.deque(*args)
        ),
        st.dictionaries(keys, small, max_size=3).map(
            lambda d: collections.defaultdict(list, d)
        ),
        st.lists(_text(), max_size=6).map(collections.Counter),
        st.builds(functools.partial, st.just(sample_function), children, k=children),
        st.builds(Plain, a=children, b=children),
        st.builds(_slotted, children, children, st.booleans()),
        st.builds(SlottedDict, children, extra=children),
        st.builds(WithState, children),
        st.builds(Reduced, children),
        st.builds(_reduced_full, small, st.dictionaries(keys, children, max_size=2), children),
        st.builds(_items_list, small, children),
        st.builds(_items_dict, st.dictionaries(keys, children, max_size=3), children),
        st.builds(NewArgs, children, children),
        st.builds(NewArgsEx, children, b=children),
        st.builds(Outer.Inner, children),
        children.map(lambda c: [c, c]),  # shared reference
        children.map(lambda c: ([c], [c], (c,))),
        children.map(_cycle_list),
        children.map(_cycle_dict),
        children.map(_cycle_object),
        children.map(_cycle_tuple),
        st.builds(WithSetter, children),
    )


def values():
    """Object graphs for differential pickle tests."""
    return st.recursive(atoms(), _containers, max_leaves=12)

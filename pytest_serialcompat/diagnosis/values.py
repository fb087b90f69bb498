"""How a value is shown in a diagnosis, and how an instance's attributes are read.

The comparison itself is :mod:`.graph_compare`; this module only renders
values (short, never a default ``<X object at 0x..>`` repr: that says nothing
about the object and differs on every run) and reads instance state.
"""

import reprlib
from typing import Any, Dict

MISSING = object()


class _Repr(reprlib.Repr):
    """reprlib, except that an object with the default repr is shown by its type."""

    def repr_instance(self, x, level):
        if type(x).__repr__ is object.__repr__:
            return "<%s>" % type_name(x)
        return super().repr_instance(x, level)


_repr = _Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def short(value) -> str:
    try:
        return _repr.repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the diff
        return "<%s (repr failed: %s)>" % (type_name(value), type(exc).__name__)


def type_name(value) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "")
    return cls.__qualname__ if module == "builtins" else "%s.%s" % (module, cls.__qualname__)


def slot_names(cls) -> tuple:
    """The instance slots of a class and its bases (mangled names resolved)."""
    names = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for slot in slots:
            if slot in ("__dict__", "__weakref__"):
                continue
            if slot.startswith("__") and not slot.endswith("__"):
                slot = "_%s%s" % (klass.__name__.lstrip("_"), slot)
            names.append(slot)
    return tuple(names)


# type -> (instances may have a __dict__, slot names): asked once per type
_PLANS: Dict[type, tuple] = {}
_MAX_PLANS = 4096
_NO_STATE: Dict[str, Any] = {}


def _plan(cls) -> tuple:
    plan = _PLANS.get(cls)
    if plan is None:
        has_dict = any("__dict__" in vars(klass) for klass in cls.__mro__)
        plan = (has_dict, slot_names(cls))
        if len(_PLANS) < _MAX_PLANS:
            _PLANS[cls] = plan
    return plan


def state(obj) -> Dict[str, Any]:
    """Instance attributes: ``__dict__`` plus filled ``__slots__`` (do not modify the result)."""
    has_dict, slots = _plan(type(obj))
    attrs = _NO_STATE
    if has_dict:
        try:
            attrs = object.__getattribute__(obj, "__dict__")
        except AttributeError:
            attrs = _NO_STATE
        if not isinstance(attrs, dict):
            attrs = _NO_STATE
    if not slots:
        return attrs
    merged = {}
    for slot in slots:
        value = getattr(obj, slot, MISSING)
        if value is not MISSING:
            merged[slot] = value
    merged.update(attrs)
    return merged

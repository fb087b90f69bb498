"""JSON codecs: how an object becomes a JSON value and back.

Discovery, first match wins:

1. a codec returned by the ``pytest_serialcompat_json_codec(config, cls)`` hook;
2. a ``to_json`` / ``from_json`` pair on the class (``from_json`` a classmethod
   or staticmethod; ``to_json`` an instance method, classmethod or
   staticmethod).  When ``to_json`` returns a string, it is JSON text and
   ``from_json`` receives text back;
3. pydantic v2 models, through their own JSON pair: ``model_dump(mode="json")``
   and ``model_validate_json`` (JSON-mode validation is the exact inverse of a
   JSON-mode dump: datetimes, bytes, enums and tuples come back as they were);
4. dataclasses and attrs classes, through their fields and type hints
   (nested dataclasses, enums, lists, tuples, dicts with string keys, sets,
   Optional/Union, datetime/date/time, Decimal, UUID, Path);
5. plain JSON data (dicts with string keys, lists, strings, numbers, booleans,
   None) is its own codec.

A codec turns the object into a JSON *value*; the golden file holds that
value as canonical JSON.
"""

import dataclasses
import datetime
import decimal
import enum
import inspect
import json
import pathlib
import types
import typing
import uuid
from typing import Any, Callable, NamedTuple, Optional

JSON_SCALARS = (str, int, float, bool, type(None))


class CodecError(Exception):
    """The object cannot be encoded or decoded by its codec; names the field path."""


class Codec(NamedTuple):
    name: str                            # shown in messages and manifests
    to_json: Callable[[Any], Any]        # object -> JSON value
    from_json: Callable[[Any], Any]      # JSON value -> object
    explicit: bool                       # declared by the user (errors are never skipped)


# ---------------------------------------------------------------- discovery


def _static_kind(cls, name):
    try:
        attr = inspect.getattr_static(cls, name)
    except AttributeError:
        return None
    if isinstance(attr, classmethod):
        return "classmethod"
    if isinstance(attr, staticmethod):
        return "staticmethod"
    if callable(attr):
        return "method"
    return None


def _method_codec(cls) -> Optional[Codec]:
    to_kind = _static_kind(cls, "to_json")
    from_kind = _static_kind(cls, "from_json")
    if to_kind is None or from_kind not in ("classmethod", "staticmethod"):
        return None
    if to_kind == "method":
        def raw_to(obj):
            return obj.to_json()
    else:
        def raw_to(obj):
            return type(obj).to_json(obj)

    text_mode = []

    def to_json(obj):
        value = raw_to(obj)
        if isinstance(value, (str, bytes)):
            text_mode.append(True)
            return json.loads(value)
        return value

    def from_json(value):
        if text_mode:
            return cls.from_json(json.dumps(value))
        return cls.from_json(value)

    return Codec("%s.to_json/from_json" % cls.__qualname__, to_json, from_json, True)


def is_pydantic_model(cls) -> bool:
    """A pydantic v2 model class (v1 models, ``pydantic.v1``, have no such pair), told apart
    by what pydantic v2 builds on every model class: no pydantic import needed."""
    return (isinstance(cls, type)
            and callable(getattr(cls, "model_dump", None))
            and callable(getattr(cls, "model_validate_json", None))
            and getattr(cls, "__pydantic_validator__", None) is not None
            and not inspect.isabstract(cls))


def _pydantic_codec(cls) -> Optional[Codec]:
    if not is_pydantic_model(cls):
        return None

    def to_json(obj):
        return obj.model_dump(mode="json")

    def from_json(value):
        return cls.model_validate_json(json.dumps(value))

    return Codec("%s (pydantic model_dump/model_validate_json)" % cls.__qualname__, to_json,
                 from_json, False)


def _attrs_fields(cls):
    return getattr(cls, "__attrs_attrs__", None)


def _field_codec(cls) -> Optional[Codec]:
    if dataclasses.is_dataclass(cls):
        kind = "dataclass fields"
    elif _attrs_fields(cls) is not None:
        kind = "attrs fields"
    else:
        return None

    def to_json(obj):
        try:
            return encode(obj, "$")
        except RecursionError:  # a back-pointer (JSON has no cycles), or very deep nesting
            raise CodecError("$: %s refers back to itself or nests too deeply for JSON"
                             % _type_name(cls)) from None

    def from_json(value):
        return decode(cls, value, "$")

    return Codec("%s (%s)" % (cls.__qualname__, kind), to_json, from_json, False)


def is_json_native(value, depth: int = 0) -> bool:
    """Plain JSON data (dicts with str keys, lists, str, int, float, bool, None) all the way down."""
    if depth > 100:
        return False
    kind = type(value)
    if kind in (str, int, bool, type(None)):
        return True
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is list:
        return all(is_json_native(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(k) is str and is_json_native(v, depth + 1) for k, v in value.items())
    return False


NATIVE_CODEC = Codec("plain JSON data", lambda obj: obj, lambda value: value, False)


def find_codec(obj, hook=None) -> Optional[Codec]:
    """The codec for ``obj``'s class, or None. ``hook`` is the pluggy hook caller or None."""
    cls = type(obj)
    if hook is not None:
        found = hook(cls=cls)
        if found is not None:
            if isinstance(found, Codec):
                return found
            return Codec(
                getattr(found, "name", None) or "%s (plugin codec)" % cls.__qualname__,
                found.to_json, found.from_json, True,
            )
    codec = _method_codec(cls) or _pydantic_codec(cls) or _field_codec(cls)
    if codec is None and is_json_native(obj):
        return NATIVE_CODEC
    return codec


# ------------------------------------------------------------ field codec


def _fields(cls):
    if dataclasses.is_dataclass(cls):
        return [(f.name, f.init) for f in dataclasses.fields(cls)]
    return [(a.name, getattr(a, "init", True)) for a in _attrs_fields(cls)]


def encode(value, path: str):
    """A JSON value for ``value``; CodecError names the path of what cannot be encoded."""
    if isinstance(value, enum.Enum):
        return encode(value.value, path)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CodecError("%s: %r has no JSON form" % (path, value))
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type) or (
        _attrs_fields(type(value)) is not None
    ):
        return {
            name: encode(getattr(value, name), "%s.%s" % (path, name))
            for name, init in _fields(type(value)) if init
        }
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if isinstance(key, enum.Enum):
                key = key.value
            if not isinstance(key, str):
                raise CodecError("%s: dict key %r is not a string" % (path, key))
            result[key] = encode(item, "%s[%r]" % (path, key))
        return result
    if isinstance(value, (list, tuple)):
        return [encode(item, "%s[%d]" % (path, i)) for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [encode(item, "%s{}" % path) for item in value]
        try:
            return sorted(items)
        except TypeError:
            raise CodecError("%s: set items cannot be ordered for JSON" % path) from None
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, pathlib.PurePath)):
        return str(value)
    raise CodecError("%s: %s has no JSON form" % (path, _type_name(type(value))))


def _type_name(tp) -> str:
    module = getattr(tp, "__module__", "")
    qualname = getattr(tp, "__qualname__", repr(tp))
    return qualname if module == "builtins" else "%s.%s" % (module, qualname)


def _hints(cls):
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: decode those fields as-is
        hints = {}
    # attrs fields declared with attr.ib(type=...) carry their type on the field
    for field in _attrs_fields(cls) or ():
        field_type = getattr(field, "type", None)
        if field_type is not None and not isinstance(field_type, str):
            hints.setdefault(field.name, field_type)
    return hints


_NONE_TYPE = type(None)
_UNION_TYPE = getattr(types, "UnionType", None)  # int | None, Python 3.10+


def decode(tp, value, path: str):
    """Rebuild a value of type ``tp`` from JSON; unknown or Any types pass through."""
    if tp is Any or tp is None or isinstance(tp, (str, typing.ForwardRef)):
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or (_UNION_TYPE is not None and origin is _UNION_TYPE):
        if value is None and _NONE_TYPE in args:
            return None
        errors = []
        for arm in args:
            if arm is _NONE_TYPE:
                continue
            try:
                return decode(arm, value, path)
            except (CodecError, TypeError, ValueError, KeyError) as exc:
                errors.append(str(exc))
        raise CodecError("%s: no arm of %r accepts %r (%s)" % (path, tp, value, "; ".join(errors)))
    if origin in (list, typing.List, set, frozenset, typing.Set, typing.FrozenSet, tuple,
                  typing.Tuple) and origin is not None:
        if not isinstance(value, list):
            raise CodecError("%s: expected a list, got %s" % (path, type(value).__name__))
        if origin in (tuple, typing.Tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(decode(args[0], v, "%s[%d]" % (path, i)) for i, v in enumerate(value))
            if args and args != ((),):
                return tuple(decode(a, v, "%s[%d]" % (path, i))
                             for i, (a, v) in enumerate(zip(args, value)))
            return tuple(value)
        item_type = args[0] if args else Any
        items = [decode(item_type, v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
        if origin in (set, typing.Set):
            return set(items)
        if origin in (frozenset, typing.FrozenSet):
            return frozenset(items)
        return items
    if origin in (dict, typing.Dict) and origin is not None:
        if not isinstance(value, dict):
            raise CodecError("%s: expected an object, got %s" % (path, type(value).__name__))
        key_type, item_type = (args + (Any, Any))[:2] if args else (Any, Any)
        return {
            decode(key_type, k, path): decode(item_type, v, "%s[%r]" % (path, k))
            for k, v in value.items()
        }
    if origin is not None:  # other generics: decode by their origin class
        return decode(origin, value, path) if isinstance(origin, type) else value
    if not isinstance(tp, type):
        return value
    if issubclass(tp, enum.Enum):
        return tp(value)
    if dataclasses.is_dataclass(tp) or _attrs_fields(tp) is not None:
        if not isinstance(value, dict):
            raise CodecError("%s: expected an object for %s, got %s"
                             % (path, tp.__qualname__, type(value).__name__))
        hints = _hints(tp)
        kwargs = {}
        for name, init in _fields(tp):
            if init and name in value:
                kwargs[name] = decode(hints.get(name, Any), value[name], "%s.%s" % (path, name))
        unknown = sorted(set(value) - set(name for name, _ in _fields(tp)))
        if unknown:
            raise CodecError("%s: %s has no field %s" % (path, tp.__qualname__, ", ".join(unknown)))
        return tp(**kwargs)
    if tp in (datetime.datetime, datetime.date, datetime.time):
        return tp.fromisoformat(value)
    if tp in (decimal.Decimal, uuid.UUID) or issubclass(tp, pathlib.PurePath):
        return tp(value)
    if tp in (list, tuple, set, frozenset) and isinstance(value, list):
        return tp(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value

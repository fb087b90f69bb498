"""What gets recorded for an object: the plan of (format, protocol) pairs and the fresh bytes.

Goldens are written with the running interpreter's real ``pickle`` and
``marshal`` (that is what users' data is made of) and, for JSON, the object's
codec output in canonical JSON.  Fresh bytes are computed once per check and
shared by recording, replay diagnosis and ``.obtained`` files.
"""

import marshal
import pickle
import types
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .json_codecs import Codec, CodecError, find_codec
from ..diagnosis.picklability import find_unpicklable
from ..results import ALL_FORMATS, JSON, MARSHAL, PICKLE

# Exactly these types marshal *and* come back as the same type and value.
MARSHAL_TYPES = (
    type(None), bool, int, float, complex, str, bytes, tuple, list, dict, set, frozenset,
    types.CodeType, type(Ellipsis),
)
MARSHAL_MAX_ITEMS = 1_000_000


class UsageProblem(Exception):
    """check() asked for something impossible (shown as a failure, never skipped)."""


class EncodeFailure(Exception):
    """The current object cannot be serialized in this format; the message names the path."""


def marshal_problem(obj, root: str = "obj") -> Optional[str]:
    """Why ``obj`` is not marshalable as itself (path and type), None when it is."""
    stack = [(root, obj)]
    seen = set()
    budget = MARSHAL_MAX_ITEMS
    while stack:
        path, value = stack.pop()
        budget -= 1
        if budget < 0:
            return "%s: too large to check for marshal" % root
        if value is StopIteration:  # the one class marshal writes (as a singleton)
            continue
        if type(value) not in MARSHAL_TYPES:
            cls = type(value)
            return "%s: %s.%s is not a marshal type" % (path, cls.__module__, cls.__qualname__)
        if id(value) in seen:
            continue
        if isinstance(value, (tuple, list)):
            seen.add(id(value))
            stack.extend(("%s[%d]" % (path, i), item) for i, item in enumerate(value))
        elif isinstance(value, (set, frozenset)):
            seen.add(id(value))
            stack.extend(("%s{}" % path, item) for item in value)
        elif isinstance(value, dict):
            seen.add(id(value))
            for key, item in value.items():
                stack.append(("%s[%r]" % (path, key), item))
                stack.append(("%s (key %r)" % (path, key), key))
    return None


def contains_code(value, code_type=types.CodeType) -> bool:
    """Whether a marshal value holds a code object (``code_type``: also the reference reader's)."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, code_type):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (tuple, list, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return False


class Planned(NamedTuple):
    format: str
    protocol: Optional[int]


class Plan(NamedTuple):
    items: List[Planned]
    formats: Tuple[str, ...]              # formats that apply (for the unused-golden bookkeeping)
    protocols: Optional[Tuple[int, ...]]  # explicit pickle protocols, None for the default set
    codec: Optional[Codec]


class Fresh:
    """Fresh encodings of the current object, computed lazily and at most once each."""

    def __init__(self, obj, codec: Optional[Codec] = None):
        self.obj = obj
        self.codec = codec
        self._bytes: Dict[Planned, bytes] = {}
        self._errors: Dict[Planned, str] = {}

    def get(self, fmt: str, protocol: Optional[int]) -> bytes:
        key = Planned(fmt, protocol)
        if key in self._bytes:
            return self._bytes[key]
        if key in self._errors:
            raise EncodeFailure(self._errors[key])
        try:
            data = ENCODERS[fmt](self, protocol)
        except EncodeFailure as exc:
            self._errors[key] = str(exc)
            raise
        self._bytes[key] = data
        return data

    def _pickle(self, protocol):
        try:
            return pickle.dumps(self.obj, protocol)
        except Exception as exc:
            offender = find_unpicklable(self.obj, protocol)
            if offender is not None:
                raise EncodeFailure("does not pickle: %s" % (offender,))
            raise EncodeFailure("does not pickle: %s: %s" % (type(exc).__name__, exc))

    def _marshal(self, version):
        problem = marshal_problem(self.obj)
        if problem is not None:
            raise EncodeFailure("does not marshal: %s" % problem)
        try:
            return marshal.dumps(self.obj, version)
        except ValueError as exc:
            raise EncodeFailure("does not marshal: %s" % exc)

    def _json(self, _protocol):
        from ..reference.canonical_json import canonical_json_dumps

        if self.codec is None:
            raise EncodeFailure("has no JSON codec")
        try:
            value = self.codec.to_json(self.obj)
            return canonical_json_dumps(value)
        except (CodecError, ValueError, TypeError) as exc:
            raise EncodeFailure("does not encode to JSON with %s: %s" % (self.codec.name, exc))


ENCODERS = {PICKLE: Fresh._pickle, MARSHAL: Fresh._marshal, JSON: Fresh._json}


def make_plan(obj, formats: Sequence[str], explicit: bool, protocols: Optional[Sequence[int]],
              default_protocols: Sequence[int], codec_hook=None) -> Tuple[Plan, Fresh]:
    """Which goldens this check covers; UsageProblem for impossible explicit requests."""
    unknown = [f for f in formats if f not in ALL_FORMATS]
    if unknown:
        raise UsageProblem("unknown format(s) %s; use %s" % (", ".join(map(repr, unknown)),
                                                               ", ".join(ALL_FORMATS)))
    if protocols is not None:
        protocols = tuple(sorted(set(int(p) for p in protocols)))
        too_new = [p for p in protocols if not 0 <= p <= pickle.HIGHEST_PROTOCOL]
        if too_new:
            raise UsageProblem("pickle protocol(s) %s not available (this interpreter writes 0 to %d)"
                               % (", ".join(map(str, too_new)), pickle.HIGHEST_PROTOCOL))
    items: List[Planned] = []
    applied = []
    codec = None
    for fmt in ALL_FORMATS:
        if fmt not in formats:
            continue
        if fmt == PICKLE:
            items.extend(Planned(PICKLE, p) for p in (protocols or default_protocols))
            applied.append(PICKLE)
        elif fmt == MARSHAL:
            problem = marshal_problem(obj)
            if problem is None:
                items.append(Planned(MARSHAL, marshal.version))
                applied.append(MARSHAL)
            elif explicit:
                raise UsageProblem("format 'marshal' requested, but %s" % problem)
        elif fmt == JSON:
            codec = find_codec(obj, codec_hook)
            if codec is None:
                if explicit:
                    raise UsageProblem(
                        "format 'json' requested, but %s.%s has no JSON codec (add to_json/from_json, "
                        "make it a dataclass, or implement pytest_serialcompat_json_codec)"
                        % (type(obj).__module__, type(obj).__qualname__)
                    )
                continue
            if not codec.explicit and not explicit:
                try:
                    codec.to_json(obj)
                except (CodecError, ValueError, TypeError):
                    codec = None  # a dataclass with non-JSON fields: no JSON golden by default
                    continue
            items.append(Planned(JSON, None))
            applied.append(JSON)
    plan = Plan(items, tuple(applied), protocols, codec)
    return plan, Fresh(obj, codec)

"""Encode values in marshal format 0-5, with CPython's FLAG_REF and
interning decisions made from the value (see docs/marshal.md)."""

import re
import struct
import sys
import types

from . import codeinfo_layout as _layout
from .marshal_format import (  # type codes
    TYPE_ASCII, TYPE_ASCII_INTERNED, TYPE_BINARY_COMPLEX, TYPE_BINARY_FLOAT,
    TYPE_CODE, TYPE_COMPLEX, TYPE_DICT, TYPE_ELLIPSIS,
    TYPE_FALSE, TYPE_FLOAT, TYPE_FROZENSET, TYPE_INT,
    TYPE_INTERNED, TYPE_LIST, TYPE_LONG, TYPE_NONE,
    TYPE_NULL, TYPE_REF, TYPE_SET, TYPE_SHORT_ASCII,
    TYPE_SHORT_ASCII_INTERNED, TYPE_SLICE, TYPE_SMALL_TUPLE, TYPE_STOPITER,
    TYPE_STRING, TYPE_TRUE, TYPE_TUPLE, TYPE_UNICODE,
)
from .marshal_format import (
    DOUBLE as _DOUBLE, DOUBLE2 as _DOUBLE2, FLAG_REF, INT32 as _INT32, LONG_DIGIT_BITS,
    MAX_DEPTH, NULL as _NULL, SIZE32_MAX, MarshalError,
)

__all__ = ["Writer"]

class _Raw:
    """Bytes written as they are (the integer fields of a code object)."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


_SINGLETONS = {
    id(None): TYPE_NONE, id(True): TYPE_TRUE, id(False): TYPE_FALSE,
    id(Ellipsis): TYPE_ELLIPSIS, id(StopIteration): TYPE_STOPITER,
}


_NAME_CHARS = re.compile(r"[A-Za-z0-9_]*\Z")


def _is_latin1_char(s):
    return len(s) == 1 and ord(s) < 256


class _Writer:
    """Serialise values; the FLAG_REF and interning policy is in _plan()."""

    def __init__(self, version, *, refs=True, code_records=None, allow_code=True):
        self.version = version
        self.out = bytearray()
        self.use_refs = refs and version >= 3
        self.code_records = code_records or {}
        self.allow_code = allow_code
        self.ref_index = {}  # id -> index
        self.keep = []  # keep flagged objects alive so ids stay unique
        self.shared = set()  # ids to flag
        self.interned = set()  # ids of str written as interned
        self.held = set()  # ids CPython holds elsewhere too (see _HELD_FIELDS)
        self.fields_cache = {}  # id(code) -> (layout, values), stable identities
        self.tuple_registry = {}  # tuple of str -> the object used (compiler merging)

    # planning: which objects are shared within the value, which are interned

    def _plan(self, root):
        """Count how often each object occurs in the value (an object written
        once and then referenced has its children counted once) and find the
        strings CPython would hold interned: the names of code objects and
        name-character constants, as its code constructor interns them."""
        seen = {}
        interned = self.interned
        held = self.held
        keep = self.keep
        stack = [(root, None)]
        while stack:
            obj, context = stack.pop()
            if id(obj) in _SINGLETONS:
                continue
            key = id(obj)
            t = type(obj)
            if t is str and context is not None and _context_interns(obj, context):
                interned.add(key)
            elif t is bytes and context == _CTX_CONST and len(obj) == 1:
                held.add(key)  # a one-byte literal is the cached bytes object
            count = seen.get(key)
            if count is not None:
                seen[key] = count + 1
                continue
            seen[key] = 1
            keep.append(obj)
            if t is tuple:
                stack.extend((item, context) for item in obj)
            elif t is frozenset:
                stack.extend((item, context) for item in obj)
                if _SET_ELEMENTS_HELD:
                    held.update(id(item) for item in obj)
            elif t is list:
                stack.extend((item, None) for item in obj)
            elif t is set:
                stack.extend((item, None) for item in obj)
                if _SET_ELEMENTS_HELD:
                    held.update(id(item) for item in obj)
            elif t is dict:
                for k, v in obj.items():
                    stack.append((k, None))
                    stack.append((v, None))
            elif t is slice:
                stack.extend(((obj.start, None), (obj.stop, None), (obj.step, None)))
            elif t is not str and t is not bytes and t is not int and t is not float:
                fields = self._code_fields(obj)
                if fields is not None:
                    for (name, kind), value in zip(*fields):
                        if kind != "o" or _is_fresh_byte(name, value):
                            continue
                        context = _FIELD_CONTEXT.get(name)
                        stack.append((value, context))
                        if name in _HELD_FIELDS or (
                                context == _CTX_IDENT and type(value) is str and not value.isidentifier()
                                and "." not in value):
                            # '<module>', '<lambda>', '<genexpr>' are static
                            # strings on 3.11/3.12: always more than one reference
                            held.add(id(value))
        self.shared = {key for key, count in seen.items() if count > 1}
        self.shared |= held
        if self._code_fields(root) is not None:
            # a code object being marshalled is virtually always also held by
            # its caller (compile() result, function.__code__), so CPython
            # flags it; every .pyc starts with a flagged code object
            self.shared.add(id(root))

    def _code_fields(self, obj):
        """(layout, values) for a code object or a code record; else None."""
        record = self.code_records.get(id(obj))
        if record is not None:
            return _layout.layout_for(_layout.RUNNING), record[0]
        if type(obj) is types.CodeType:
            cached = self.fields_cache.get(id(obj))
            if cached is None:
                cached = (_layout.layout_for(_layout.RUNNING), self._live_fields(obj))
                self.fields_cache[id(obj)] = cached
                self.keep.append(obj)
            return cached
        getter = getattr(type(obj), "_marshal_fields", None)
        if getter is not None:
            return getter(obj)
        return None

    def _live_fields(self, code):
        values = _layout.live_code_fields(code)
        if _layout.RUNNING >= (3, 11):
            # CPython's compiler merges equal name tuples of one module into one
            # object (its constant cache); the localsplusnames we rebuild are
            # new tuples, so merge them the same way, by value
            registry = self.tuple_registry
            layout = _layout.layout_for(_layout.RUNNING)
            for i, (name, _kind) in enumerate(layout):
                if name in ("names", "localsplusnames"):
                    value = values[i]
                    values[i] = registry.setdefault(value, value)
        return values

    def _flag(self, obj):
        """FLAG_REF decision from the value: shared within it, or one of the
        objects CPython always holds extra references to."""
        key = id(obj)
        if key in self.shared or key in self.interned:
            return True
        t = type(obj)
        if t is int:
            return -5 <= obj <= 256  # the small-int cache
        if t is str:
            return len(obj) == 0 or _is_latin1_char(obj)  # cached characters
        if t is bytes:
            # the empty bytes singleton; one-byte bytes are cached only when
            # built from literals or bytes([n]), not when read from data
            return len(obj) == 0
        if t is tuple:
            return len(obj) == 0  # the empty tuple singleton
        return False

    # emitting

    def write(self, root, top_held=False):
        if self.use_refs:
            self._plan(root)
            if top_held:
                self.shared.add(id(root))
        self._emit((root,))

    def write_code_record(self, layout, values):
        """Write one code object from explicit field values."""
        self.out.append(TYPE_CODE)
        self._emit(self._code_children(layout, values))

    def _emit(self, items):
        out = self.out
        stack = [iter(items)]
        while stack:
            for item in stack[-1]:
                break
            else:
                stack.pop()
                continue
            if type(item) is _Raw:
                out += item.data
                continue
            if len(stack) > MAX_DEPTH:
                raise MarshalError("object too deeply nested to marshal")
            if item is _NULL:
                out.append(TYPE_NULL)
                continue
            single = _SINGLETONS.get(id(item))
            if single is not None:
                out.append(single)
                continue
            children = self._write_one(item)
            if children is not None:
                stack.append(children)

    def _write_one(self, obj):
        out = self.out
        flag = 0
        if self.use_refs:
            index = self.ref_index.get(id(obj))
            if index is not None:
                out.append(TYPE_REF)
                out += _INT32.pack(index)
                return None
            if self._flag(obj):
                self.ref_index[id(obj)] = len(self.ref_index)
                self.keep.append(obj)
                flag = FLAG_REF
        t = type(obj)
        if t is int:
            if -0x80000000 <= obj <= 0x7FFFFFFF:
                out.append(TYPE_INT | flag)
                out += _INT32.pack(obj)
            else:
                self._write_long(obj, flag)
            return None
        if t is float:
            if self.version > 1:
                out.append(TYPE_BINARY_FLOAT | flag)
                out += _DOUBLE.pack(obj)
            else:
                out.append(TYPE_FLOAT | flag)
                self._write_float_text(obj)
            return None
        if t is complex:
            if self.version > 1:
                out.append(TYPE_BINARY_COMPLEX | flag)
                out += _DOUBLE2.pack(obj.real, obj.imag)
            else:
                out.append(TYPE_COMPLEX | flag)
                self._write_float_text(obj.real)
                self._write_float_text(obj.imag)
            return None
        if t is bytes:
            out.append(TYPE_STRING | flag)
            self._write_sized(obj)
            return None
        if t is str:
            self._write_str(obj, flag)
            return None
        if t is tuple:
            n = len(obj)
            if self.version >= 4 and n < 256:
                out.append(TYPE_SMALL_TUPLE | flag)
                out.append(n)
            else:
                out.append(TYPE_TUPLE | flag)
                self._write_size(n)
            return iter(obj)
        if t is list:
            out.append(TYPE_LIST | flag)
            self._write_size(len(obj))
            return iter(obj)
        if t is dict:
            out.append(TYPE_DICT | flag)
            return _dict_children(obj)
        if t is set or t is frozenset:
            out.append((TYPE_FROZENSET if t is frozenset else TYPE_SET) | flag)
            self._write_size(len(obj))
            if _SORTED_SETS:
                return iter(self._sorted_elements(obj))
            return iter(obj)
        fields = self._code_fields(obj)
        if fields is not None:
            if not self.allow_code:
                raise MarshalError("unmarshallable object: code objects are not allowed")
            out.append(TYPE_CODE | flag)
            return self._code_children(*fields)
        if t is slice and self.version >= 5:
            out.append(TYPE_SLICE | flag)
            return iter((obj.start, obj.stop, obj.step))
        data = _buffer_bytes(obj)
        if data is not None:
            out.append(TYPE_STRING | flag)
            self._write_sized(data)
            return None
        raise MarshalError("unmarshallable object of type %s" % t.__name__)

    def _sorted_elements(self, items):
        """3.11+ writes set elements ordered by their own marshal bytes, each
        dumped alone with the same version (bpo-37596: reproducible .pyc)."""
        keyed = []
        for item in items:
            alone = _Writer(self.version, refs=self.use_refs, code_records=self.code_records,
                            allow_code=self.allow_code)
            # 3.13 takes a new reference to the element while dumping it alone
            alone.write(item, top_held=_layout.RUNNING >= (3, 13))
            keyed.append((bytes(alone.out), len(keyed), item))
        keyed.sort(key=lambda entry: entry[:2])
        return [entry[2] for entry in keyed]

    def _code_children(self, layout, values):
        for (name, kind), value in zip(layout, values):
            if _is_fresh_byte(name, value):
                yield _Raw(bytes((TYPE_STRING,)) + _INT32.pack(1) + value)
            elif kind == "i":
                if type(value) is not int or not -0x80000000 <= value <= 0xFFFFFFFF:
                    raise MarshalError("unmarshallable code object: field %s is %r" % (name, value))
                yield _Raw(_INT32.pack(value if value < 0x80000000 else value - 0x100000000))
            else:
                yield value

    def _write_size(self, n):
        if n > SIZE32_MAX:
            raise MarshalError("unmarshallable object: size %d does not fit in 32 bits" % n)
        self.out += _INT32.pack(n)

    def _write_sized(self, data):
        self._write_size(len(data))
        self.out += data

    def _write_long(self, value, flag):
        digits = _int_to_digits(value)
        n = len(digits)
        if n > SIZE32_MAX:
            raise MarshalError("unmarshallable object: int of %d digits" % n)
        self.out.append(TYPE_LONG | flag)
        self.out += _INT32.pack(-n if value < 0 else n)
        self.out += struct.pack("<%dH" % n, *digits)

    def _write_float_text(self, value):
        text = ("%.17g" % value).encode("ascii")
        self.out.append(len(text))
        self.out += text

    def _write_str(self, s, flag):
        out = self.out
        interned = self.version >= 3 and (
            id(s) in self.interned or not s or (_LATIN1_CHARS_INTERNED and _is_latin1_char(s)))
        if self.version >= 4 and s.isascii():
            data = s.encode("ascii")
            if len(data) < 256:
                out.append((TYPE_SHORT_ASCII_INTERNED if interned else TYPE_SHORT_ASCII) | flag)
                out.append(len(data))
                out += data
            else:
                out.append((TYPE_ASCII_INTERNED if interned else TYPE_ASCII) | flag)
                self._write_sized(data)
            return
        out.append((TYPE_INTERNED if interned else TYPE_UNICODE) | flag)
        self._write_sized(s.encode("utf-8", "surrogatepass"))


# Code-object fields whose value CPython always holds a second reference to:
# co_filename is the compiler's filename object, shared with the caller; on
# 3.11+ co_code is a bytes object cached on the code object by the accessor
# marshal itself calls (_PyCode_GetCode).
_HELD_FIELDS = frozenset(("filename", "code") if sys.version_info >= (3, 11) else ("filename",))

# One-byte bytes in these fields are built in place by CPython, never the
# cached one-byte objects, so never shared: written as plain bytes, no ref.
_RAW_FIELDS = frozenset(("code", "linetable", "exceptiontable", "localspluskinds"))


def _is_fresh_byte(name, value):
    return name in _RAW_FIELDS and type(value) is bytes and len(value) == 1
# 3.11+ sorts set elements by their marshal bytes (bpo-37596).
_SORTED_SETS = sys.version_info >= (3, 11)
# While writing a set element CPython holds a second reference to it: 3.8
# iterates with PyIter_Next (new references), 3.11+ keep (bytes, element)
# pairs for sorting; 3.9 and 3.10 walk the set with borrowed references.
_SET_ELEMENTS_HELD = sys.version_info[:2] not in ((3, 9), (3, 10))

_CTX_NAME, _CTX_CONST, _CTX_IDENT = "name", "const", "identifier"


def _field_contexts(running):
    """Which strings of a code object CPython's code constructor and compiler
    leave interned, per running version (observed with marshal.dumps)."""
    contexts = {
        "names": _CTX_NAME, "varnames": _CTX_NAME, "freevars": _CTX_NAME,
        "cellvars": _CTX_NAME, "localsplusnames": _CTX_NAME, "consts": _CTX_CONST,
    }
    if running < (3, 11) or running >= (3, 13):
        # '<module>', '<lambda>' were interned too; 3.13 interns the name,
        # qualname and filename in the code constructor
        contexts["name"] = _CTX_NAME
        if running >= (3, 13):
            contexts["qualname"] = _CTX_NAME
    else:
        # identifiers come interned from the parser; '<module>', '<lambda>' and
        # dotted qualnames are plain strings
        contexts["name"] = _CTX_IDENT
        contexts["qualname"] = _CTX_IDENT
    if running >= (3, 13):
        contexts["filename"] = _CTX_NAME
    return contexts


_FIELD_CONTEXT = _field_contexts(tuple(sys.version_info[:2]))
# 3.13 made the empty string and the 256 one-character Latin-1 strings static
# interned objects; before, only the empty string was always interned.
_LATIN1_CHARS_INTERNED = sys.version_info >= (3, 13)


def _context_interns(s, context):
    if context == _CTX_NAME:
        return True
    if context == _CTX_CONST:
        return _NAME_CHARS.match(s) is not None
    if context == _CTX_IDENT:
        return s.isidentifier()
    return False


def _dict_children(d):
    for key, value in d.items():
        yield key
        yield value
    yield _NULL


def _buffer_bytes(obj):
    """Bytes of a contiguous buffer-protocol object (bytearray, memoryview,
    array, bytes subclasses), which CPython writes as bytes; else None."""
    try:
        view = memoryview(obj)
    except TypeError:
        return None
    with view:
        if not view.contiguous:
            raise MarshalError("unmarshallable object: non-contiguous buffer of type %s" % type(obj).__name__)
        return view.tobytes()



def _int_to_digits(value):
    """Little-endian base 2**15 digits of abs(value) (value != 0)."""
    value = -value if value < 0 else value
    nbytes = (value.bit_length() + 7) // 8
    if nbytes <= 15:
        digits = []
        while value:
            digits.append(value & 0x7FFF)
            value >>= LONG_DIGIT_BITS
        return digits
    nbytes = (nbytes + 14) // 15 * 15
    raw = value.to_bytes(nbytes, "little")
    digits = []
    for start in range(0, nbytes, 15):
        acc = int.from_bytes(raw[start:start + 15], "little")
        for _ in range(8):
            digits.append(acc & 0x7FFF)
            acc >>= LONG_DIGIT_BITS
    while digits and digits[-1] == 0:
        digits.pop()
    return digits


Writer = _Writer

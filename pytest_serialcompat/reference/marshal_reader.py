"""Decode marshal data with an explicit stack (no recursion), checking every
length before it is used.  Generic over code objects: the caller gives the
field layout and a builder (live code, or CodeInfo)."""

import re
import struct
import sys

from .marshal_format import (  # type codes
    TYPE_ASCII, TYPE_ASCII_INTERNED, TYPE_BINARY_COMPLEX, TYPE_BINARY_FLOAT,
    TYPE_CODE, TYPE_COMPLEX, TYPE_DICT, TYPE_ELLIPSIS,
    TYPE_FALSE, TYPE_FLOAT, TYPE_FROZENSET, TYPE_INT,
    TYPE_INT64, TYPE_INTERNED, TYPE_LIST, TYPE_LONG,
    TYPE_NONE, TYPE_NULL, TYPE_REF, TYPE_SET,
    TYPE_SHORT_ASCII, TYPE_SHORT_ASCII_INTERNED, TYPE_SLICE, TYPE_SMALL_TUPLE,
    TYPE_STOPITER, TYPE_STRING, TYPE_TRUE, TYPE_TUPLE,
    TYPE_UNICODE,
)
from .marshal_format import (
    DOUBLE as _DOUBLE, DOUBLE2 as _DOUBLE2, FLAG_REF, HASH_WORK_LIMIT, INT32 as _INT32,
    INT64 as _INT64, LONG_DIGIT_BITS, MAX_DEPTH, NULL as _NULL, SIZE32_MAX, MarshalError,
)

__all__ = ["Reader"]

# --- reading ----------------------------------------------------------------

# What _Py_dg_strtod and _Py_parse_inf_or_nan accept: no whitespace, no
# underscores, ASCII digits only (the text stops at the first NUL byte).
_FLOAT_TEXT = re.compile(
    rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])\Z"
)



_PUSHED = object()  # a container frame was pushed; read its items next


class _Reserved:
    """A back-reference slot whose object is still being built."""

    __slots__ = ("kind",)

    def __init__(self, kind):
        self.kind = kind


_RESERVED = _Reserved("reserved")  # frozenset, code, slice: CPython stores None
_TUPLE_IN_PROGRESS = _Reserved("tuple")  # CPython hands out the unfinished tuple

_K_LIST, _K_TUPLE, _K_SET, _K_FROZENSET, _K_DICT, _K_CODE, _K_SLICE = range(7)
_KIND_NAMES = ("list", "tuple", "set", "frozenset", "dict", "code object", "slice")


class _Frame:
    __slots__ = ("kind", "offset", "items", "remaining", "ref", "key", "fields", "layout", "index")

    def __init__(self, kind, offset, items, remaining, ref):
        self.kind = kind
        self.offset = offset  # offset of the container's type byte
        self.items = items  # list/set/dict being filled, or list of parts
        self.remaining = remaining
        self.ref = ref  # reserved back-reference index or None
        self.key = _NULL  # dict: pending key
        self.fields = None  # code: field values so far
        self.layout = None
        self.index = 0  # code: next field


def _hashable_or_error(value, cost, offset):
    if cost > HASH_WORK_LIMIT:
        raise MarshalError(
            "bad marshal data (hashing this element takes more than %d steps)" % HASH_WORK_LIMIT,
            offset,
        )


class Reader:
    """Decode one marshal value.

    code_layout: LAYOUTS entry used for TYPE_CODE (None: code not allowed).
    build_code: callable(fields: dict, offset) -> object for a decoded code.
    allow_slice: accept TYPE_SLICE (format version 5).
    """

    def __init__(self, data, *, code_layout=None, build_code=None, allow_slice=False):
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        elif not isinstance(data, bytes):
            raise TypeError("marshal data must be bytes-like, not %s" % type(data).__name__)
        self.data = data
        self.size = len(data)
        self.pos = 0
        self.refs = []
        self.code_layout = code_layout
        self.build_code = build_code
        self.allow_slice = allow_slice
        self._cost = {}  # id(tuple/code/slice) -> (hash work, object)

    # primitive readers; each checks the length before it slices

    def _need(self, n, what):
        if n > self.size - self.pos:
            raise MarshalError(
                "marshal data too short: %s needs %d bytes, %d left" % (what, n, self.size - self.pos),
                self.pos,
            )

    def _int32(self, what="a 32-bit integer"):
        self._need(4, what)
        (value,) = _INT32.unpack_from(self.data, self.pos)
        self.pos += 4
        return value

    def _bytes(self, n, what):
        self._need(n, what)
        start = self.pos
        self.pos = start + n
        return self.data[start:self.pos]

    def _size(self, what, offset):
        n = self._int32("the size of " + what)
        if n < 0:
            raise MarshalError("bad marshal data (%s size out of range: %d)" % (what, n), offset)
        return n

    def _count(self, what, offset):
        n = self._size(what, offset)
        # every item takes at least one byte: refuse before allocating
        if n > self.size - self.pos:
            raise MarshalError(
                "marshal data too short: %s of %d items, only %d bytes left" % (what, n, self.size - self.pos),
                offset,
            )
        return n

    # the object graph

    def read(self):
        stack = []
        while True:
            value = self._read_object(stack)
            if value is _PUSHED:
                continue
            while True:
                if not stack:
                    if value is _NULL:
                        raise MarshalError("bad marshal data (NULL object where a value is expected)", self.pos - 1)
                    return value
                value = self._deliver(stack[-1], value)
                if value is _PUSHED:
                    break
                stack.pop()

    def _register(self, value):
        self.refs.append(value)
        return value

    def _reserve(self, marker):
        if len(self.refs) >= 0x7FFFFFFE:
            raise MarshalError("bad marshal data (index list too large)", self.pos)
        self.refs.append(marker)
        return len(self.refs) - 1

    def _read_object(self, stack):
        offset = self.pos
        if offset >= self.size:
            raise MarshalError("EOF read where object expected", offset)
        if len(stack) >= MAX_DEPTH:
            raise MarshalError("bad marshal data (nesting deeper than %d)" % MAX_DEPTH, offset)
        code = self.data[offset]
        self.pos = offset + 1
        flag = code & FLAG_REF
        t = code & ~FLAG_REF

        if t == TYPE_NONE:
            return None
        if t == TYPE_NULL:
            return _NULL
        if t == TYPE_TRUE:
            return True
        if t == TYPE_FALSE:
            return False
        if t == TYPE_ELLIPSIS:
            return Ellipsis
        if t == TYPE_STOPITER:
            return StopIteration
        if t == TYPE_REF:
            n = self._int32("a reference index")
            if n < 0 or n >= len(self.refs):
                raise MarshalError("bad marshal data (invalid reference %d, %d known)" % (n, len(self.refs)), offset)
            value = self.refs[n]
            if value is _RESERVED:
                raise MarshalError("bad marshal data (invalid reference %d: object not finished)" % n, offset)
            if value is _TUPLE_IN_PROGRESS:
                raise MarshalError(
                    "bad marshal data (reference %d to a tuple that contains itself: not representable)" % n,
                    offset,
                )
            return value

        reader = _ATOMS.get(t)
        if reader is not None:
            value = reader(self, offset)
            if flag:
                self.refs.append(value)
            return value
        return self._open(t, flag, offset, stack)

    def _open(self, t, flag, offset, stack):
        if t == TYPE_LIST:
            n = self._count("list", offset)
            items = []
            if flag:
                self._register(items)
            if n == 0:
                return items
            stack.append(_Frame(_K_LIST, offset, items, n, None))
            return _PUSHED
        if t == TYPE_SMALL_TUPLE or t == TYPE_TUPLE:
            if t == TYPE_SMALL_TUPLE:
                self._need(1, "the size of a small tuple")
                n = self.data[self.pos]
                self.pos += 1
                if n > self.size - self.pos:
                    raise MarshalError(
                        "marshal data too short: tuple of %d items, only %d bytes left" % (n, self.size - self.pos),
                        offset)
            else:
                n = self._count("tuple", offset)
            if n == 0:
                if flag:
                    self._register(())
                return ()
            ref = self._reserve(_TUPLE_IN_PROGRESS) if flag else None
            stack.append(_Frame(_K_TUPLE, offset, [], n, ref))
            return _PUSHED
        if t == TYPE_DICT:
            items = {}
            if flag:
                self._register(items)
            stack.append(_Frame(_K_DICT, offset, items, -1, None))
            return _PUSHED
        if t == TYPE_SET or t == TYPE_FROZENSET:
            what = "set" if t == TYPE_SET else "frozenset"
            n = self._count(what, offset)
            if t == TYPE_SET:
                items = set()
                if flag:
                    self._register(items)
                if n == 0:
                    return items
                stack.append(_Frame(_K_SET, offset, items, n, None))
                return _PUSHED
            if n == 0:
                value = frozenset()
                if flag:
                    self._register(value)
                return value
            ref = self._reserve(_RESERVED) if flag else None
            stack.append(_Frame(_K_FROZENSET, offset, set(), n, ref))
            return _PUSHED
        if t == TYPE_CODE:
            if self.code_layout is None:
                raise MarshalError("bad marshal data (code objects are not allowed here)", offset)
            ref = self._reserve(_RESERVED) if flag else None
            frame = _Frame(_K_CODE, offset, None, 0, ref)
            frame.fields = {}
            frame.layout = self.code_layout
            self._advance_code(frame)
            stack.append(frame)
            return _PUSHED
        if t == TYPE_SLICE and self.allow_slice:
            ref = self._reserve(_RESERVED) if flag else None
            stack.append(_Frame(_K_SLICE, offset, [], 3, ref))
            return _PUSHED
        raise MarshalError("bad marshal data (unknown type code 0x%02x)" % (t | flag), offset)

    def _advance_code(self, frame):
        """Read the raw integer fields up to the next object field."""
        layout = frame.layout
        while frame.index < len(layout):
            name, kind = layout[frame.index]
            if kind != "i":
                return False
            frame.fields[name] = self._int32("code field " + name)
            frame.index += 1
        return True

    def _cost_of(self, value):
        entry = self._cost.get(id(value))
        return 1 if entry is None else entry[0]

    def _note_cost(self, value, parts):
        cost = 1
        for part in parts:
            cost += self._cost_of(part)
        if cost > 1:
            self._cost[id(value)] = (cost, value)

    def _deliver(self, frame, value):
        """Give ``value`` to the innermost open container; return the finished
        container, or _PUSHED while it wants more."""
        kind = frame.kind
        if value is _NULL and kind != _K_DICT:
            raise MarshalError("bad marshal data (NULL object in %s)" % _KIND_NAMES[kind], frame.offset)
        if kind == _K_LIST:
            frame.items.append(value)
        elif kind == _K_TUPLE:
            frame.items.append(value)
            if frame.remaining == 1:
                result = tuple(frame.items)
                self._note_cost(result, result)
                if frame.ref is not None:
                    self.refs[frame.ref] = result
                return result
        elif kind == _K_SET or kind == _K_FROZENSET:
            self._add_to_set(frame, value)
            if frame.remaining == 1 and kind == _K_FROZENSET:
                result = frozenset(frame.items)
                if frame.ref is not None:
                    self.refs[frame.ref] = result
                return result
        elif kind == _K_DICT:
            if frame.key is _NULL:
                if value is _NULL:
                    return frame.items
                frame.key = value
                return _PUSHED
            if value is _NULL:  # CPython stops at a NULL value, dropping the key
                return frame.items
            key, frame.key = frame.key, _NULL
            _hashable_or_error(key, self._cost_of(key), frame.offset)
            try:
                frame.items[key] = value
            except TypeError as exc:
                raise MarshalError("bad marshal data (dict key: %s)" % exc, frame.offset) from None
            return _PUSHED
        elif kind == _K_CODE:
            name = frame.layout[frame.index][0]
            frame.fields[name] = value
            frame.index += 1
            if not self._advance_code(frame):
                return _PUSHED
            result = self.build_code(frame.fields, frame.offset)
            consts = frame.fields.get("consts")
            self._note_cost(result, consts if isinstance(consts, tuple) else ())
            if frame.ref is not None:
                self.refs[frame.ref] = result
            return result
        else:  # slice
            frame.items.append(value)
            if frame.remaining == 1:
                result = slice(*frame.items)
                self._note_cost(result, frame.items)
                if frame.ref is not None:
                    self.refs[frame.ref] = result
                return result
        frame.remaining -= 1
        if frame.remaining == 0:
            return frame.items
        return _PUSHED

    def _add_to_set(self, frame, value):
        _hashable_or_error(value, self._cost_of(value), frame.offset)
        try:
            frame.items.add(value)
        except TypeError as exc:
            raise MarshalError("bad marshal data (set element: %s)" % exc, frame.offset) from None

    # atoms: readers of objects without children

    def _r_int(self, offset):
        return self._int32("an int")

    def _r_int64(self, offset):
        self._need(8, "a 64-bit int")
        (value,) = _INT64.unpack_from(self.data, self.pos)
        self.pos += 8
        return value

    def _r_long(self, offset):
        n = self._int32("the size of a long")
        if n == 0:
            return 0
        if n < -SIZE32_MAX:
            raise MarshalError("bad marshal data (long size out of range)", offset)
        size = -n if n < 0 else n
        raw = self._bytes(2 * size, "a long of %d digits" % size)
        digits = struct.unpack("<%dH" % size, raw)
        if max(digits) >= 0x8000:
            raise MarshalError("bad marshal data (digit out of range in long)", offset)
        if digits[-1] == 0:
            raise MarshalError("bad marshal data (unnormalized long data)", offset)
        value = _digits_to_int(digits)
        return -value if n < 0 else value

    def _r_float_text(self, offset):
        self._need(1, "the length of a text float")
        n = self.data[self.pos]
        self.pos += 1
        text = self._bytes(n, "a text float")
        nul = text.find(b"\0")
        if nul >= 0:
            text = text[:nul]
        if not _FLOAT_TEXT.match(text):
            raise MarshalError("bad marshal data (could not convert string to float: %r)" % text, offset)
        return float(text.decode("ascii"))

    def _r_float(self, offset):
        return self._r_float_text(offset)

    def _r_binary_float(self, offset):
        self._need(8, "a binary float")
        (value,) = _DOUBLE.unpack_from(self.data, self.pos)
        self.pos += 8
        return value

    def _r_complex(self, offset):
        real = self._r_float_text(offset)
        imag = self._r_float_text(offset)
        return complex(real, imag)

    def _r_binary_complex(self, offset):
        self._need(16, "a binary complex")
        real, imag = _DOUBLE2.unpack_from(self.data, self.pos)
        self.pos += 16
        return complex(real, imag)

    def _r_bytes(self, offset):
        n = self._size("bytes object", offset)
        return self._bytes(n, "a bytes object of %d bytes" % n)

    def _r_unicode(self, offset):
        n = self._size("string", offset)
        raw = self._bytes(n, "a string of %d bytes" % n)
        try:
            return raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise MarshalError("bad marshal data (string is not UTF-8: %s)" % exc.reason, offset + 5 + exc.start) from None

    def _r_interned(self, offset):
        return sys.intern(self._r_unicode(offset))

    def _r_ascii(self, offset):
        n = self._size("string", offset)
        # CPython builds these from the bytes as Latin-1 without checking
        # that they are ASCII; so do we.
        return self._bytes(n, "a string of %d bytes" % n).decode("latin-1")

    def _r_ascii_interned(self, offset):
        return sys.intern(self._r_ascii(offset))

    def _r_short_ascii(self, offset):
        self._need(1, "the length of a short string")
        n = self.data[self.pos]
        self.pos += 1
        return self._bytes(n, "a string of %d bytes" % n).decode("latin-1")

    def _r_short_ascii_interned(self, offset):
        return sys.intern(self._r_short_ascii(offset))


_ATOMS = {
    TYPE_INT: Reader._r_int,
    TYPE_INT64: Reader._r_int64,
    TYPE_LONG: Reader._r_long,
    TYPE_FLOAT: Reader._r_float,
    TYPE_BINARY_FLOAT: Reader._r_binary_float,
    TYPE_COMPLEX: Reader._r_complex,
    TYPE_BINARY_COMPLEX: Reader._r_binary_complex,
    TYPE_STRING: Reader._r_bytes,
    TYPE_UNICODE: Reader._r_unicode,
    TYPE_INTERNED: Reader._r_interned,
    TYPE_ASCII: Reader._r_ascii,
    TYPE_ASCII_INTERNED: Reader._r_ascii_interned,
    TYPE_SHORT_ASCII: Reader._r_short_ascii,
    TYPE_SHORT_ASCII_INTERNED: Reader._r_short_ascii_interned,
}


def _digits_to_int(digits):
    """Value of little-endian base 2**15 digits, in linear time."""
    if len(digits) <= 8:
        value = 0
        for i, d in enumerate(digits):
            value |= d << (LONG_DIGIT_BITS * i)
        return value
    out = bytearray()
    for start in range(0, len(digits), 8):  # 8 digits = 120 bits = 15 bytes
        acc = 0
        for j, d in enumerate(digits[start:start + 8]):
            acc |= d << (LONG_DIGIT_BITS * j)
        out += acc.to_bytes(15, "little")
    return int.from_bytes(bytes(out), "little")

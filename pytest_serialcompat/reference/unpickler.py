"""The reference unpickler: CPython's C unpickler (``_pickle.c``) in pure Python.

It loads everything the running interpreter's ``pickle.loads`` loads (protocols
0-5, Python 2 pickles with ``encoding=``/``fix_imports``, out-of-band buffers,
persistent ids, copyreg extension codes) to equal objects, with the C
unpickler's behaviour where ``Lib/pickle.py`` differs: the text-mode argument
rules (see :mod:`.unpickler_compat`), ``APPEND``/``APPENDS`` calling
``extend`` on non-list targets, odd-length ``DICT``/``SETITEMS`` refused,
``FRAME`` not enforcing frame boundaries, ``REDUCE`` arguments required to be
a tuple, the ``NEWOBJ``/``NEWOBJ_EX``/``BUILD`` type checks.

Errors.  Bad input raises :class:`~.errors.MalformedPickle` (a
``pickle.UnpicklingError``) carrying the byte offset of the failing opcode.
Where the C unpickler raises another built-in type for the same input the
error is *also* an instance of that type (``TruncatedPickle`` is an
``EOFError``, ``BadPickleValue`` a ``ValueError`` ...), so code written
against the stdlib keeps working.  Exceptions raised by code the pickle
calls -- ``find_class``, ``persistent_load``, ``__setstate__``, REDUCE
callables, ``__hash__`` of keys -- propagate unchanged, as in the stdlib.
A declared length beyond the available data allocates nothing, and nothing
recurses, so deep nesting cannot raise ``RecursionError``.

Design.  One engine, :meth:`Unpickler._execute`, runs over an in-memory
``bytes`` buffer with an integer position: the frequent opcodes are if-chains
on local variables inside one loop (two range tests pick a group of at most a
dozen, ordered by frequency; the MEMOIZE/BINPUT that follows a memoized push
is applied by that push), every other opcode goes through one 256-entry
dispatch table built from :data:`.opcodes.OPCODES`.  After a MARK, and
after the PUT of a protocol 0 dict or list, a run of the items pickle writes
most (small ints, small int keys with None values, text ints, large ints of
one size, protocol 0 scalar items) is applied in one C-level step by
:mod:`.unpickler_runs`; a whole dict or list of small ints (EMPTY_DICT,
BINPUT, MARK, items, SETITEMS; MARK DICT PUT and text items) is built in
one step at its first opcode -- copied, when its items' bytes are those of
one built before (a bounded cache).  The items of dicts with str keys at
protocols 1-5 (strings with their memo puts, scalar values) are executed by
the tight loop of :mod:`.unpickler_scalars`.  Each opcode validates its
argument bytes before it changes any state, so when the buffer ends inside
an opcode the engine can stop there; ``loads`` reports
truncation, ``load`` reads more of the file (in chunks when it may seek
back, else exactly what the opcode needs, like the C unpickler, so the file
is left just after the pickle's STOP) and resumes at that opcode.
"""

import copyreg
import io
import sys
from pickle import UnpicklingError
from struct import error as StructError

from . import opcodes as op
from . import unpickler_compat as compat
from .unpickler_runs import (
    DICT_TEMPLATES,
    LIST_TEMPLATES,
    SMALL_INT_DICT,
    SMALL_INT_LIST,
    TEMPLATE_BYTES,
    apply_text_run,
    keys_dict,
    push_run,
    small_int_items,
    small_int_keys,
    whole_text_container,
)
from .unpickler_scalars import push_scalars
from .errors import MalformedPickle

__all__ = [
    "Unpickler",
    "load",
    "loads",
    "TruncatedPickle",
    "BadPickleValue",
    "PickleTooLarge",
    "BadPickleType",
    "BadPickleTarget",
    "BadPickleIndex",
    "MissingMemoEntry",
    "UndecodablePickleText",
]


# --- errors ----------------------------------------------------------------------
class TruncatedPickle(MalformedPickle, EOFError):
    """The data ends inside the pickle (C pickle: EOFError / "pickle data was truncated")."""


class BadPickleValue(MalformedPickle, ValueError):
    """An argument the C unpickler rejects with ValueError (bad text int, protocol, ...)."""


class PickleTooLarge(MalformedPickle, OverflowError):
    """A size or index beyond what the platform can address."""


class BadPickleType(MalformedPickle, TypeError):
    """An operand of the wrong type where the C unpickler raises TypeError."""


class BadPickleTarget(MalformedPickle, AttributeError):
    """An opcode applied to an object without the method it needs (APPEND on a dict, ...)."""


class BadPickleIndex(MalformedPickle, IndexError):
    """SETITEM on a list with an index out of range."""


class MissingMemoEntry(MalformedPickle, KeyError):
    """GET of a memo index that was never PUT (C pickle 3.8 raised KeyError)."""

    __str__ = BaseException.__str__


class UndecodablePickleText(MalformedPickle, UnicodeDecodeError):
    """Text in the pickle that does not decode (C pickle: UnicodeDecodeError)."""

    def __init__(self, exc, offset):
        UnicodeDecodeError.__init__(self, exc.encoding, exc.object, exc.start, exc.end, exc.reason)
        self.offset = offset

    def __str__(self):
        return "%s (at byte %d)" % (UnicodeDecodeError.__str__(self), self.offset)

    def __reduce__(self):
        cause = UnicodeDecodeError(self.encoding, self.object, self.start, self.end, self.reason)
        return type(self), (cause, self.offset)


# Built-in exception types raised by our own code -> the error reported.
_WRAPPERS = (
    (EOFError, TruncatedPickle),
    (OverflowError, PickleTooLarge),
    (ValueError, BadPickleValue),
    (TypeError, BadPickleType),
)


class _Incomplete(Exception):
    """Internal: the buffer ends inside the opcode at ``pos``; ``missing`` bytes
    are needed (-1: up to the next newline)."""

    def __init__(self, pos, missing):
        Exception.__init__(self, pos, missing)
        self.pos = pos
        self.missing = missing


# --- argument shapes, from the opcode table -----------------------------------------------
_FIXED = {
    op.ARG_NONE: 0,
    op.ARG_UINT1: 1,
    op.ARG_UINT2: 2,
    op.ARG_INT4: 4,
    op.ARG_UINT4: 4,
    op.ARG_UINT8: 8,
    op.ARG_FLOAT8: 8,
}
# Counted arguments: (size of the length field, length is signed).  As in the C
# unpickler, only LONG4's length is signed; BINSTRING's is read unsigned.
_COUNTED = {
    op.ARG_LONG1: (1, False),
    op.ARG_LONG4: (4, True),
    op.ARG_STRING1: (1, False),
    op.ARG_STRING4: (4, False),
    op.ARG_BYTES1: (1, False),
    op.ARG_BYTES4: (4, False),
    op.ARG_BYTES8: (8, False),
    op.ARG_BYTEARRAY8: (8, False),
    op.ARG_UNICODESTRING1: (1, False),
    op.ARG_UNICODESTRING4: (4, False),
    op.ARG_UNICODESTRING8: (8, False),
}
_LINES = {
    op.ARG_DECIMALNL_SHORT: 1,
    op.ARG_DECIMALNL_LONG: 1,
    op.ARG_FLOATNL: 1,
    op.ARG_STRINGNL: 1,
    op.ARG_STRINGNL_NOESCAPE: 1,
    op.ARG_UNICODESTRINGNL: 1,
    op.ARG_STRINGNL_NOESCAPE_PAIR: 2,
}


def _shape(opcode):
    if opcode.name == "FRAME":  # the frame's payload is read with its header
        return ("counted", 8, False)
    if opcode.arg in _FIXED:
        return ("fixed", _FIXED[opcode.arg])
    if opcode.arg in _COUNTED:
        return ("counted",) + _COUNTED[opcode.arg]
    return ("lines", _LINES[opcode.arg])


_SHAPES = [None] * 256
for _code, _opcode in op.OPCODES.items():
    _SHAPES[_code] = _shape(_opcode)
del _code, _opcode

_MAXSIZE = sys.maxsize


def _op_end(data, pos):
    """Where the opcode at ``pos`` ends: ``(end, 0)`` when ``data`` holds all of
    it, ``(None, missing)`` when ``missing`` more bytes are needed (-1: up to a
    newline), ``(None, 0)`` when its length is unknown (an invalid opcode or a
    bad length, which the engine reports)."""
    size = len(data)
    if pos >= size:
        return None, 1
    shape = _SHAPES[data[pos]]
    if shape is None:
        return None, 0
    kind = shape[0]
    start = pos + 1
    if kind == "fixed":
        end = start + shape[1]
    elif kind == "counted":
        width, signed = shape[1], shape[2]
        if start + width > size:
            return None, start + width - size
        length = int.from_bytes(data[start:start + width], "little", signed=signed)
        if length < 0 or length > _MAXSIZE:
            return None, 0
        end = start + width + length
    else:
        end = start
        for _ in range(shape[1]):
            newline = data.find(b"\n", end)
            if newline < 0:
                return None, -1
            end = newline + 1
    if end > size:
        return None, end - size
    return end, 0


def _missing_bytes(data, pos):
    """How many more bytes the opcode at ``pos`` needs (0: none, -1: a line)."""
    return _op_end(data, pos)[1]


# --- the unpickler ---------------------------------------------------------------------
_unpack_i4 = op.INT4.unpack_from
_unpack_u2 = op.UINT2.unpack_from
_unpack_u4 = op.UINT4.unpack_from
_unpack_u8 = op.UINT8.unpack_from
_unpack_f8 = op.FLOAT8.unpack_from

_new_object = object.__new__
_MISSING = object()
_FRAME_CODE = op.FRAME[0]
_NO_SLOT_STATE = object()
# Built-in types whose item assignment and hashing failures come from the data.
_BUILTIN_SEQUENCES = (list, bytearray)
_UNHASHABLE_BUILTINS = (list, dict, set, bytearray)

# Opcodes that consume a MARK (for the error message when there is none).
_MARK_OPS = frozenset(
    code[0]
    for code in (
        op.APPENDS, op.SETITEMS, op.ADDITEMS, op.LIST, op.TUPLE, op.DICT,
        op.FROZENSET, op.OBJ, op.INST, op.POP_MARK,
    )
)

# Hot opcodes, handled inline by the engine's loop.
_MEMOIZE = op.MEMOIZE[0]
_SHORT_BINUNICODE = op.SHORT_BINUNICODE[0]
_BINPUT = op.BINPUT[0]
_BINUNICODE = op.BINUNICODE[0]
_BININT1 = op.BININT1[0]
_BININT = op.BININT[0]
_BININT2 = op.BININT2[0]
_MARK = op.MARK[0]
_BINGET = op.BINGET[0]
_LONG_BINGET = op.LONG_BINGET[0]
_LONG_BINPUT = op.LONG_BINPUT[0]
_EMPTY_LIST = op.EMPTY_LIST[0]
_EMPTY_DICT = op.EMPTY_DICT[0]
_EMPTY_TUPLE = op.EMPTY_TUPLE[0]
_APPENDS = op.APPENDS[0]
_SETITEMS = op.SETITEMS[0]
_APPEND = op.APPEND[0]
_SETITEM = op.SETITEM[0]
_TUPLE1 = op.TUPLE1[0]
_TUPLE2 = op.TUPLE2[0]
_TUPLE3 = op.TUPLE3[0]
_TUPLE = op.TUPLE[0]
_LIST = op.LIST[0]
_NONE = op.NONE[0]
_NEWTRUE = op.NEWTRUE[0]
_NEWFALSE = op.NEWFALSE[0]
_BINFLOAT = op.BINFLOAT[0]
_SHORT_BINBYTES = op.SHORT_BINBYTES[0]
_LONG1 = op.LONG1[0]
_STOP = op.STOP[0]

# The engine finds the opcode's group with two comparisons: MARK to BINFLOAT
# (group A), BININT to BINUNICODE (B), EMPTY_LIST to EMPTY_DICT (C), protocol 2+
# opcodes (D).
_GROUP_B = op.BININT[0]
_GROUP_C = op.EMPTY_LIST[0]
_GROUP_D = op.PROTO[0]
_GROUP_C2 = op.PUT[0]  # group C splits in two: EMPTY_LIST to OBJ, PUT to EMPTY_DICT
_HOT_A = (_MARK, _BINFLOAT, _EMPTY_TUPLE, _SHORT_BINBYTES, _STOP)
_HOT_B = (_BININT1, _NONE, _BINUNICODE, _BININT, _BININT2)
_HOT_C = (
    _BINGET, _EMPTY_DICT, _SETITEMS, _EMPTY_LIST, _APPENDS, _LONG_BINGET, _SETITEM, _APPEND,
    _BINPUT, _LONG_BINPUT, _TUPLE, _LIST,
)
_HOT_D = (
    _SHORT_BINUNICODE, _LONG1, _MEMOIZE, _NEWFALSE, _NEWTRUE, _TUPLE2, _TUPLE3, _TUPLE1,
    op.FRAME[0], op.PROTO[0],
)
assert all(code < _GROUP_B for code in _HOT_A)
assert all(_GROUP_B <= code < _GROUP_C for code in _HOT_B)
assert all(_GROUP_C <= code < _GROUP_D for code in _HOT_C)
assert all(_GROUP_D <= code for code in _HOT_D)
_HOT = frozenset(_HOT_A + _HOT_B + _HOT_C + _HOT_D)

_from_bytes = int.from_bytes


class Unpickler:
    """Read a pickle from a binary file; same interface as ``pickle.Unpickler``.

    ``find_class(module, name)`` and ``persistent_load(pid)`` may be overridden
    by a subclass or replaced by an instance attribute; ``memo`` is a plain dict
    (index -> object) kept across ``load()`` calls.
    """

    def __init__(self, file, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
        read = getattr(file, "read", None)
        readline = getattr(file, "readline", None)
        if read is None or readline is None:
            raise TypeError("file must have 'read' and 'readline' attributes")
        self._file = file
        self._file_read = read
        self._file_readline = readline
        self._setup(fix_imports, encoding, errors, buffers)

    def _setup(self, fix_imports, encoding, errors, buffers):
        if not isinstance(encoding, str):
            raise TypeError("argument 'encoding' must be str, not %s" % type(encoding).__name__)
        if not isinstance(errors, str):
            raise TypeError("argument 'errors' must be str, not %s" % type(errors).__name__)
        self.fix_imports = bool(fix_imports)
        self.encoding = encoding
        self.errors = errors
        self._buffers = iter(buffers) if buffers is not None else None
        self.memo = {}
        self.proto = 0
        self._stack = []
        self._metastack = []
        self._in_user = False
        self._base = 0

    # --- overridable hooks -------------------------------------------------------------
    def find_class(self, module, name):
        """Return the global ``name`` of ``module`` (Python 2 names mapped when
        ``fix_imports`` and the protocol is below 3; dotted names from protocol 4)."""
        sys.audit("pickle.find_class", module, name)
        if self.proto < 3 and self.fix_imports:
            module, name = compat.map_py2_global(module, name)
        __import__(module, level=0)
        obj = sys.modules[module]
        if self.proto < 4:
            return getattr(obj, name)
        for part in name.split("."):
            if part == "<locals>":
                raise AttributeError("Can't get local attribute %r on %r" % (name, obj))
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise AttributeError(
                    "Can't get attribute %r on %r" % (name, sys.modules[module])
                ) from None
        return obj

    def persistent_load(self, pid):
        raise UnpicklingError(
            "A load persistent id instruction was encountered, "
            "but no persistent_load function was specified."
        )

    # --- entry points ------------------------------------------------------------------
    def load(self):
        """Read one pickle from the file and return the object it rebuilds."""
        try:
            read = self._file_read
        except AttributeError:
            raise UnpicklingError(
                "Unpickler.__init__() was not called by %s.__init__()" % type(self).__name__
            ) from None
        feed = _FileFeed(self._file, read, self._file_readline)
        self._begin()
        data = b""
        pos = 0
        try:
            while True:
                try:
                    value, pos = self._execute(data, pos)
                    break
                except _Incomplete as need:
                    more = feed.refill(data[need.pos:], need.missing)
                    if more is None:
                        raise self._truncated(data, need.pos) from None
                    self._base += need.pos
                    data = more
                    pos = 0
            feed.finish(self._base + pos)
            return value
        finally:
            self._end()

    def _load_bytes(self, data):
        """Load from ``data`` with a freshly set-up unpickler (``loads``)."""
        try:
            return self._execute(data, 0)[0]
        except _Incomplete as need:
            raise self._truncated(data, need.pos) from None

    def _begin(self):
        self.proto = 0
        self._stack = []
        self._metastack = []
        self._in_user = False
        self._base = 0

    def _end(self):
        self._stack = []
        self._metastack = []

    # --- errors -----------------------------------------------------------------------------
    def _truncated(self, data, pos):
        offset = self._base + pos
        if pos >= len(data):
            if offset == 0:
                return TruncatedPickle("Ran out of input", 0)
            return TruncatedPickle("Ran out of input: pickle data was truncated", offset)
        return TruncatedPickle("pickle data was truncated", offset)

    def _fail(self, message, pos, kind=MalformedPickle):
        return kind(message, self._base + pos)

    def _internal_error(self, exc, data, pos, stack):
        """Classify an exception raised by the engine's own code at opcode ``pos``."""
        missing = _missing_bytes(data, pos)
        if missing:
            return _Incomplete(pos, missing)
        code = data[pos]
        offset = self._base + pos
        if isinstance(exc, (IndexError, StructError)):
            if code in _MARK_OPS and not self._metastack:
                return MalformedPickle("could not find MARK", offset)
            if not stack and self._metastack:
                return MalformedPickle("unexpected MARK found", offset)
            return MalformedPickle("unpickling stack underflow", offset)
        if isinstance(exc, KeyError):
            key = exc.args[0] if exc.args else "?"
            return MissingMemoEntry("Memo value not found at index %s" % (key,), offset)
        if isinstance(exc, UnicodeDecodeError):
            return UndecodablePickleText(exc, offset)
        if isinstance(exc, MemoryError):
            return MalformedPickle("not enough memory for %s" % op.OPCODES[code].name, offset)
        for base, wrapper in _WRAPPERS:
            if isinstance(exc, base):
                return wrapper(str(exc) or type(exc).__name__, offset)
        return None

    # --- the engine -------------------------------------------------------------------------
    def _execute(
        self,
        data,
        pos,
        # Not arguments: opcode constants and helpers bound once, at definition
        # time, so that the loop reads them as fast locals.
        _MEMOIZE=_MEMOIZE,
        _SHORT_BINUNICODE=_SHORT_BINUNICODE,
        _BINPUT=_BINPUT,
        _BINUNICODE=_BINUNICODE,
        _BININT1=_BININT1,
        _BININT=_BININT,
        _BININT2=_BININT2,
        _MARK=_MARK,
        _BINGET=_BINGET,
        _LONG_BINGET=_LONG_BINGET,
        _LONG_BINPUT=_LONG_BINPUT,
        _EMPTY_LIST=_EMPTY_LIST,
        _EMPTY_DICT=_EMPTY_DICT,
        _EMPTY_TUPLE=_EMPTY_TUPLE,
        _APPENDS=_APPENDS,
        _SETITEMS=_SETITEMS,
        _APPEND=_APPEND,
        _SETITEM=_SETITEM,
        _TUPLE1=_TUPLE1,
        _TUPLE2=_TUPLE2,
        _TUPLE3=_TUPLE3,
        _TUPLE=_TUPLE,
        _LIST=_LIST,
        _NONE=_NONE,
        _NEWTRUE=_NEWTRUE,
        _NEWFALSE=_NEWFALSE,
        _BINFLOAT=_BINFLOAT,
        _SHORT_BINBYTES=_SHORT_BINBYTES,
        _LONG1=_LONG1,
        _STOP=_STOP,
        _FRAME=op.FRAME[0],
        _PROTO=op.PROTO[0],
        _HIGHEST_PROTOCOL=op.HIGHEST_PROTOCOL,
        _GROUP_B=_GROUP_B,
        _GROUP_C=_GROUP_C,
        _GROUP_D=_GROUP_D,
        _GROUP_C2=_GROUP_C2,
        _MAXSIZE=_MAXSIZE,
        _INT=op.INT[0],
        _FLOAT=op.FLOAT[0],
        _LONG=op.LONG[0],
        _DICT=op.DICT[0],
        _UNICODE=op.UNICODE[0],
        _PUT=op.PUT[0],
        _GET=op.GET[0],
        _FLOAT_CHARS=b"0123456789.eE+-",
        _INF=float("inf"),
        _MISSING=_MISSING,
        _len=len,
        push_run=push_run,
        apply_text_run=apply_text_run,
        _TEXT_ITEM_STARTS=frozenset(b"ILVgFN"),
        whole_text_container=whole_text_container,
        small_int_dict=SMALL_INT_DICT.match,
        small_int_list=SMALL_INT_LIST.match,
        push_scalars=push_scalars,
        dict_templates=DICT_TEMPLATES,
        list_templates=LIST_TEMPLATES,
        small_int_items=small_int_items,
        _TEMPLATE_BYTES=TEMPLATE_BYTES,
        keys_dict=keys_dict,
        small_int_keys=small_int_keys,
    ):
        """Run opcodes from ``data[pos]`` to STOP; return (object, position after STOP).

        The stack is a list per MARK level: ``stack`` holds what was pushed
        since the last MARK, ``metastack`` the enclosing levels, so popping
        past a MARK fails like an empty stack.  ``pos`` stays at the current
        opcode until it is complete; the engine's own failures (IndexError
        from ``data`` or the stack, KeyError from the memo, struct.error,
        decoding errors) are classified by ``_internal_error`` -- an opcode
        cut short raises ``_Incomplete`` with nothing of it applied.  While
        code of the pickle's objects runs (``ucall``, ``self._in_user``) its
        exceptions propagate unchanged.
        """
        size = len(data)
        # The bytes are indexed directly: a list of their values (whose
        # indexing 3.11+ specializes) cost more to build than it saved
        # (bm_pickle loads 3-4% faster without it on 3.11 and 3.13).
        codes = data
        memo = self.memo
        stack = self._stack
        append = stack.append
        metastack = self._metastack
        push_mark = metastack.append
        find = data.find
        pop_mark = metastack.pop
        slow = _SLOW
        unpack_i4 = _unpack_i4
        unpack_u4 = _unpack_u4
        unpack_f8 = _unpack_f8
        unpack_u8 = _unpack_u8
        from_bytes = _from_bytes
        ucall = False  # True while code from the pickle's objects runs
        latin = None  # ``data`` decoded as latin-1, for the protocol 0 runs
        try:
            while True:
                code = codes[pos]
                # Four groups by opcode value (two tests), then the group's opcodes
                # by how often they occur outside the runs (BININT1 and NONE are
                # the most frequent opcodes, but mostly inside runs).  Pushes of
                # objects that the pickler memoizes set ``value`` and fall through
                # to the shared MEMOIZE/BINPUT/PUT step at the end (which also takes
                # a MARK and a run right after); every other opcode continues.
                if code < _GROUP_C:
                    if code < _GROUP_B:
                        if code == _MARK:
                            pos += 1
                            code = codes[pos] if pos < size else _STOP
                            if code == _DICT or code == _LIST:
                                # A whole dict of int keys (list of ints), PUT and items?
                                whole = whole_text_container(data, pos, memo, dict_templates)
                                if whole is not None:
                                    value, pos = whole
                                    # and the SETITEM (APPEND) that puts it into an
                                    # exact dict under an int or str key (exact list)?
                                    code = codes[pos] if pos < size else _STOP
                                    if code == _SETITEM and _len(stack) > 1 and type(stack[-2]) is dict:
                                        key = stack[-1]
                                        if type(key) is int or type(key) is str:
                                            stack.pop()
                                            stack[-1][key] = value
                                            pos += 1
                                            continue
                                    elif code == _APPEND and stack and type(stack[-1]) is list:
                                        stack[-1].append(value)
                                        pos += 1
                                        continue
                                    append(value)
                                    continue
                                # Protocol 0's empty dict (list): MARK DICT (LIST)
                                # pushes what DICT (LIST) of nothing does.
                                value = {} if code == _DICT else []
                                append(value)
                                pos += 1
                                # on to the shared step: its PUT, then the items
                            else:
                                push_mark(stack)
                                stack = []
                                append = stack.append
                                if code == _BININT1 or code == _LONG or code == _LONG1:  # items?
                                    pos, closed = push_run(data, pos, stack, metastack[-1])
                                    if closed:
                                        stack = pop_mark()
                                        append = stack.append
                                elif code == _SHORT_BINUNICODE or code == _BINUNICODE or code == _BINGET:
                                    pos = push_scalars(data, pos, stack, memo)  # str-keyed items?
                                continue
                        # Text arguments (protocol 0, and protocol 1 ints): the
                        # plain forms here, anything else (signs, leading zeros,
                        # odd syntax, errors) by the opcode's own handler, which
                        # pushes onto ``stack`` without rebinding it.
                        elif code == _INT:
                            if codes[pos + 2] == 10 and 48 <= codes[pos + 1] <= 57:  # one digit
                                append(codes[pos + 1] - 48)
                                pos += 3
                                continue
                            end = find(b"\n", pos + 1)
                            text = data[pos + 1:end]
                            if end > pos and text.isdigit():
                                if codes[pos + 1] != 48:  # decimal: strtol and int agree
                                    append(int(text))
                                    pos = end + 1
                                    continue
                                if end - pos == 3 and codes[pos + 2] < 50:  # I00 / I01: a bool
                                    append(codes[pos + 2] == 49)
                                    pos = end + 1
                                    continue
                            pos = slow[code](self, data, pos, stack)
                            continue
                        elif code == _BINFLOAT:
                            append(unpack_f8(data, pos + 1)[0])
                            pos += 9
                            continue
                        elif code == _EMPTY_TUPLE:
                            append(())
                            pos += 1
                            continue
                        elif code == _SHORT_BINBYTES:
                            end = pos + 2 + codes[pos + 1]
                            if end > size:
                                raise IndexError
                            value = data[pos + 2:end]
                            append(value)
                            pos = end
                        elif code == _STOP:
                            value = stack.pop()
                            return value, pos + 1
                        elif code == _FLOAT:
                            end = find(b"\n", pos + 1)
                            text = data[pos + 1:end]
                            if end > pos and text and not text.translate(None, _FLOAT_CHARS):
                                try:
                                    value = float(text)
                                except ValueError:
                                    value = _INF
                                if value - value == 0.0:  # finite: no overflow rule applies
                                    append(value)
                                    pos = end + 1
                                    continue
                            pos = slow[code](self, data, pos, stack)
                            continue
                        else:
                            self._stack = stack
                            pos = slow[code](self, data, pos, stack)
                            stack = self._stack
                            append = stack.append
                            continue
                    else:
                        if code == _BININT1:  # the most frequent opcode outside the runs
                            append(codes[pos + 1])
                            pos += 2
                            continue
                        elif code == _NONE:
                            append(None)
                            pos += 1
                            continue
                        elif code == _BINUNICODE:
                            end = pos + 5 + unpack_u4(data, pos + 1)[0]
                            if end > size:
                                raise IndexError
                            value = data[pos + 5:end]
                            try:
                                value = value.decode()  # UTF-8; lone surrogates below
                            except UnicodeDecodeError:
                                value = value.decode("utf-8", "surrogatepass")
                            append(value)
                            pos = end
                        elif code == _BININT:
                            append(unpack_i4(data, pos + 1)[0])
                            pos += 5
                            continue
                        elif code == _BININT2:
                            append(codes[pos + 1] | codes[pos + 2] << 8)
                            pos += 3
                            continue
                        elif code == _LONG:
                            end = find(b"\n", pos + 1)
                            text = data[pos + 1:end - 1]
                            if end > pos + 2 and codes[end - 1] == 76 and text.isdigit() and codes[pos + 1] != 48:
                                append(int(text))
                                pos = end + 1
                                continue
                            pos = slow[code](self, data, pos, stack)
                            continue
                        elif code == _UNICODE:
                            end = find(b"\n", pos + 1)
                            if end < 0:
                                raise IndexError
                            value = data[pos + 1:end]
                            # No backslash (tested as an int: far faster than a
                            # bytes operand), no escapes: the bytes are the code points.
                            if 92 not in value:
                                value = str(value, "latin-1")
                            else:
                                value = str(value, "raw-unicode-escape")
                            append(value)
                            pos = end + 1
                            # on to the shared step: its PUT
                        else:
                            self._stack = stack
                            pos = slow[code](self, data, pos, stack)
                            stack = self._stack
                            append = stack.append
                            continue
                elif code < _GROUP_D:
                    if code < _GROUP_C2:  # ] to o
                        if code == _BINGET:
                            append(memo[codes[pos + 1]])
                            pos += 2
                            continue
                        elif code == _EMPTY_LIST:
                            pos += 1
                            # A whole list of small ints (EMPTY_LIST, its BINPUT or
                            # MEMOIZE, MARK, BININT1s, APPENDS) in one step?
                            start = 0
                            if pos + 3 < size:
                                code = codes[pos]
                                if code == _BINPUT:
                                    index = codes[pos + 1]
                                    start = pos + 3
                                elif code == _MEMOIZE:
                                    index = _len(memo)
                                    start = pos + 2
                            if start and codes[start] == _BININT1 and codes[start - 1] == _MARK:
                                # The items of one built before (as for dicts below), or any?
                                end = find(b"e", start, start + _TEMPLATE_BYTES)
                                template = list_templates.get(data[start:end]) if end > 0 else None
                                if template is not None:
                                    value = template.copy()
                                else:
                                    run = small_int_list(data, pos)
                                    if run is not None:
                                        end = run.end() - 1
                                        value = small_int_items(data[start:end], list_templates)
                                if template is not None or run is not None:
                                    memo[index] = value
                                    append(value)
                                    pos = end + 1
                                    continue
                            value = []
                            append(value)
                        elif code == _APPENDS:
                            outer = metastack[-1]
                            target = outer[-1]
                            if stack:
                                if type(target) is list:
                                    target.extend(stack)
                                else:
                                    ucall = True
                                    self._extend(target, stack, pos)
                                    ucall = False
                            pop_mark()
                            stack = outer
                            append = stack.append
                            pos += 1
                            # A list value closed: more str-keyed items of its dict?
                            code = codes[pos]
                            if code == _SHORT_BINUNICODE or code == _BINUNICODE or code == _BINGET:
                                pos = push_scalars(data, pos, stack, memo)
                            continue
                        elif code == _APPEND:
                            value = stack[-1]
                            target = stack[-2]
                            stack.pop()
                            if type(target) is list:
                                target.append(value)
                            else:
                                ucall = True
                                self._extend(target, [value], pos)
                                ucall = False
                            pos += 1
                            # A one-item list value done: more str-keyed items of its dict?
                            code = codes[pos]
                            if code == _SHORT_BINUNICODE or code == _BINUNICODE or code == _BINGET:
                                pos = push_scalars(data, pos, stack, memo)
                            continue
                        elif code == _LONG_BINGET:
                            append(memo[unpack_u4(data, pos + 1)[0]])
                            pos += 5
                            continue
                        elif code == _GET:
                            end = find(b"\n", pos + 1)
                            text = data[pos + 1:end]
                            if end > pos and text.isdigit():
                                value = memo.get(int(text), _MISSING)
                                if value is not _MISSING:
                                    append(value)
                                    pos = end + 1
                                    continue
                            pos = slow[code](self, data, pos, stack)
                            continue
                        elif code == _LIST:
                            value = stack
                            stack = pop_mark()
                            append = stack.append
                            append(value)
                            pos += 1
                        elif code == _DICT and not stack:  # protocol 0 sets the items one by one
                            value = {}
                            stack = pop_mark()
                            append = stack.append
                            append(value)
                            pos += 1
                        else:
                            self._stack = stack
                            pos = slow[code](self, data, pos, stack)
                            stack = self._stack
                            append = stack.append
                            continue
                    else:  # p to 
                        if code == _EMPTY_DICT:
                            pos += 1
                            # A whole dict from small ints to None (EMPTY_DICT, its
                            # BINPUT or MEMOIZE, MARK, BININT1 NONE pairs, SETITEMS)?
                            start = 0
                            if pos + 3 < size:
                                code = codes[pos]
                                if code == _BINPUT:
                                    index = codes[pos + 1]
                                    start = pos + 3
                                elif code == _MEMOIZE:
                                    index = _len(memo)
                                    start = pos + 2
                            if start and codes[start] == _BININT1 and codes[start - 1] == _MARK:
                                # The items of one built before?  If so they end at the
                                # first SETITEMS byte after the MARK (cached items are
                                # K.N triples: bytes cut at a K's argument or at a N's
                                # place are never those of one); else the pattern decides.
                                end = find(b"u", start, start + _TEMPLATE_BYTES)
                                template = dict_templates.get(data[start:end]) if end > 0 else None
                                if template is not None:
                                    value = template.copy()
                                else:
                                    run = small_int_dict(data, pos)
                                    if run is not None:
                                        end = run.end() - 1
                                        value = keys_dict(data[start:end], small_int_keys, dict_templates)
                                if template is not None or run is not None:
                                    memo[index] = value
                                    append(value)
                                    pos = end + 1
                                    continue
                            value = {}
                            append(value)
                        elif code == _SETITEMS:
                            outer = metastack[-1]
                            target = outer[-1]
                            if stack:
                                if _len(stack) & 1:
                                    raise self._fail("odd number of items for SETITEMS", pos)
                                ucall = True
                                if type(target) is dict:
                                    items = iter(stack)
                                    target.update(zip(items, items))
                                else:
                                    self._setitems(target, stack, pos)
                                ucall = False
                            pop_mark()
                            stack = outer
                            append = stack.append
                            pos += 1
                            # A dict value closed: more str-keyed items of its dict?
                            code = codes[pos]
                            if code == _SHORT_BINUNICODE or code == _BINUNICODE or code == _BINGET:
                                pos = push_scalars(data, pos, stack, memo)
                            continue
                        elif code == _SETITEM:
                            value = stack[-1]
                            key = stack[-2]
                            target = stack[-3]
                            ucall = True
                            if type(target) is dict:
                                target[key] = value
                            else:
                                self._setitems(target, [key, value], pos)
                            ucall = False
                            del stack[-2:]
                            pos += 1
                            code = codes[pos]
                            if code == _UNICODE or code == _GET:  # more items after a nested one?
                                if latin is None:
                                    latin = str(data, "latin-1")
                                pos = apply_text_run(data, pos, target, memo, latin)
                            continue
                        elif code == _BINPUT:
                            memo[codes[pos + 1]] = stack[-1]
                            pos += 2
                            continue
                        elif code == _PUT:
                            end = find(b"\n", pos + 1)
                            text = data[pos + 1:end]
                            if end > pos and _len(text) < 19 and text.isdigit():  # < 2**63: no overflow
                                memo[int(text)] = stack[-1]
                                pos = end + 1
                                continue
                            pos = slow[code](self, data, pos, stack)
                            continue
                        elif code == _LONG_BINPUT:
                            memo[unpack_u4(data, pos + 1)[0]] = stack[-1]
                            pos += 5
                            continue
                        elif code == _TUPLE:
                            value = tuple(stack)
                            stack = pop_mark()
                            append = stack.append
                            append(value)
                            pos += 1
                        else:
                            self._stack = stack
                            pos = slow[code](self, data, pos, stack)
                            stack = self._stack
                            append = stack.append
                            continue
                else:
                    if code == _SHORT_BINUNICODE:
                        end = pos + 2 + codes[pos + 1]
                        if end > size:
                            raise IndexError
                        value = data[pos + 2:end]
                        try:
                            value = value.decode()  # UTF-8; lone surrogates below
                        except UnicodeDecodeError:
                            value = value.decode("utf-8", "surrogatepass")
                        append(value)
                        pos = end
                    elif code == _LONG1:
                        end = pos + 2 + codes[pos + 1]
                        if end > size:
                            raise IndexError
                        append(from_bytes(data[pos + 2:end], "little", signed=True))
                        pos = end
                        continue
                    elif code == _MEMOIZE:
                        memo[_len(memo)] = stack[-1]
                        pos += 1
                        continue
                    elif code == _NEWFALSE:
                        append(False)
                        pos += 1
                        continue
                    elif code == _NEWTRUE:
                        append(True)
                        pos += 1
                        continue
                    elif code == _TUPLE2:
                        item = stack.pop()
                        value = stack[-1] = (stack[-1], item)
                        pos += 1
                    elif code == _TUPLE3:
                        item3 = stack.pop()
                        item2 = stack.pop()
                        value = stack[-1] = (stack[-1], item2, item3)
                        pos += 1
                    elif code == _TUPLE1:
                        value = stack[-1] = (stack[-1],)
                        pos += 1
                    elif code == _FRAME:
                        # In memory a frame is only checked to be complete.
                        end = pos + 9 + unpack_u8(data, pos + 1)[0]
                        if end > size:
                            if end - pos - 9 > _MAXSIZE:
                                raise self._frame_too_large(pos)
                            raise IndexError
                        pos += 9
                        continue
                    elif code == _PROTO:
                        proto = codes[pos + 1]
                        if proto > _HIGHEST_PROTOCOL:
                            raise self._fail(
                                "unsupported pickle protocol: %d" % proto, pos, BadPickleValue
                            )
                        self.proto = proto
                        pos += 2
                        continue
                    else:
                        self._stack = stack
                        pos = slow[code](self, data, pos, stack)
                        stack = self._stack
                        append = stack.append
                        continue
                # Shared step after a memoizable push: the MEMOIZE/BINPUT that
                # follows it is applied here, saving a trip round the loop.  At
                # this point ``pos`` is at that next opcode, so running out of
                # data here is reported (or resumed) at it, like at the loop top.
                code = codes[pos]
                if code == _BINPUT:
                    memo[codes[pos + 1]] = value
                    pos += 2
                elif code == _MEMOIZE:
                    memo[_len(memo)] = value
                    pos += 1
                elif code == _LONG_BINPUT:
                    memo[unpack_u4(data, pos + 1)[0]] = value
                    pos += 5
                elif code == _PUT:
                    end = find(b"\n", pos + 1)
                    text = data[pos + 1:end]
                    if end > pos and _len(text) < 19 and text.isdigit():  # < 2**63: no overflow
                        memo[int(text)] = value
                        pos = end + 1
                        # A protocol 0 dict's or list's items, in one step?
                        if codes[pos] in _TEXT_ITEM_STARTS and (
                            type(value) is dict or type(value) is list
                        ):
                            if latin is None:
                                latin = str(data, "latin-1")
                            pos = apply_text_run(data, pos, value, memo, latin)
                    continue
                else:
                    continue
                # Then a MARK and a run of items (a new dict's or list's,
                # mostly): the MARK's step, without a trip round the loop.
                if codes[pos] == _MARK and pos + 1 < size:
                    code = codes[pos + 1]
                    if code == _BININT1 or code == _LONG or code == _LONG1:
                        items = []
                        pos, closed = push_run(data, pos + 1, items, stack)
                        if not closed:
                            push_mark(stack)
                            stack = items
                            append = stack.append
                    elif code == _SHORT_BINUNICODE or code == _BINUNICODE or code == _BINGET:
                        push_mark(stack)
                        stack = []
                        append = stack.append
                        pos = push_scalars(data, pos + 1, stack, memo)
        except Exception as exc:
            self._stack = stack
            if isinstance(exc, MalformedPickle):
                raise
            if ucall or self._in_user:
                error = self._data_error_in_call(exc, data, pos, stack)
            else:
                error = self._internal_error(exc, data, pos, stack)
            if error is None:
                raise
            raise error from None

    # --- opcodes outside the hot loop ----------------------------------------------------
    # Each takes (self, data, pos, stack) with ``pos`` at the opcode byte and
    # ``stack`` the current (post-MARK) stack, and returns the next position.
    # Arguments are validated before anything changes; code of the pickle's
    # objects runs with ``self._in_user`` set so that its errors propagate.

    def _line(self, data, start):
        """The newline-terminated line at ``start`` (with its newline) and the next position."""
        newline = data.find(b"\n", start)
        if newline < 0:
            raise IndexError
        return data[start:newline + 1], newline + 1

    def _extend(self, target, items, pos):
        """APPEND(S) on something that is not an exact list: ``extend`` if it has
        one, else ``append`` item by item (as the C unpickler does)."""
        extend = getattr(target, "extend", None)
        if extend is not None:
            extend(items)
            return
        append = getattr(target, "append", None)
        if append is None:
            raise self._fail(
                "%r object has no attribute 'append'" % type(target).__name__, pos, BadPickleTarget
            )
        for item in items:
            append(item)

    def _setitems(self, target, items, pos):
        """SETITEM(S) on something that is not an exact dict."""
        if getattr(type(target), "__setitem__", None) is None:
            raise self._fail(
                "%r object does not support item assignment" % type(target).__name__,
                pos,
                BadPickleType,
            )
        if type(target) in _BUILTIN_SEQUENCES:  # errors here come from the data
            try:
                for i in range(0, len(items), 2):
                    target[items[i]] = items[i + 1]
            except (IndexError, TypeError) as exc:
                kind = BadPickleIndex if isinstance(exc, IndexError) else BadPickleType
                raise self._fail(str(exc), pos, kind) from None
            return
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _unhashable_key(self, keys, pos):
        """The error for a key of a built-in unhashable type (also inside a
        tuple key), or None."""
        pending = list(keys)
        while pending:
            key = pending.pop()
            if type(key) is tuple:
                pending.extend(key)
            elif type(key) in _UNHASHABLE_BUILTINS:
                return self._fail("unhashable type: %r" % type(key).__name__, pos, BadPickleType)
        return None

    def _data_error_in_call(self, exc, data, pos, stack):
        """An error raised while the pickle's objects were operated on: a
        replacement when the data alone explains it (an unhashable built-in
        key), else None (the error propagates unchanged)."""
        if isinstance(exc, TypeError):
            code = data[pos]
            if code == _SETITEMS:
                return self._unhashable_key(stack[0::2], pos)
            if code == _SETITEM:
                return self._unhashable_key(stack[-2:-1], pos)
        return None

    def _call(self, func, *args):
        self._in_user = True
        result = func(*args)
        self._in_user = False
        return result

    def op_invalid(self, data, pos, stack):
        code = data[pos]
        char = chr(code)
        shown = char if char.isprintable() and code < 128 else "\\x%02x" % code
        raise self._fail("invalid load key, '%s'" % shown, pos)

    def _frame_too_large(self, pos):
        return self._fail(
            "FRAME length exceeds system's maximum of %d bytes" % _MAXSIZE, pos, PickleTooLarge
        )

    def op_pop(self, data, pos, stack):
        if stack:
            stack.pop()
        else:
            self._stack = self._metastack.pop()
        return pos + 1

    def op_pop_mark(self, data, pos, stack):
        self._stack = self._metastack.pop()
        return pos + 1

    def op_dup(self, data, pos, stack):
        stack.append(stack[-1])
        return pos + 1

    # numbers
    def _text_number(self, data, pos, stack, name, parse):
        """INT, LONG and FLOAT: a decimal text argument up to the newline."""
        line, end = self._line(data, pos + 1)
        if len(line) < 2:
            raise self._fail("%s argument is empty" % name, pos)
        stack.append(parse(line))
        return end

    def op_int(self, data, pos, stack):
        return self._text_number(data, pos, stack, "INT", compat.parse_int_line)

    def op_long(self, data, pos, stack):
        return self._text_number(data, pos, stack, "LONG", compat.parse_long_line)

    def op_float(self, data, pos, stack):
        return self._text_number(data, pos, stack, "FLOAT", compat.parse_float_line)

    def op_long4(self, data, pos, stack):
        length = _unpack_i4(data, pos + 1)[0]
        if length < 0:
            raise self._fail("LONG pickle has negative byte count", pos)
        end = pos + 5 + length
        if end > len(data):
            raise IndexError
        stack.append(_from_bytes(data[pos + 5:end], "little", signed=True))
        return end

    # strings and bytes
    def _counted(self, data, pos, width, name):
        """Payload of a counted argument with an unsigned ``width``-byte length."""
        start = pos + 1 + width
        if start > len(data):
            raise IndexError
        length = _from_bytes(data[pos + 1:start], "little")
        if length > _MAXSIZE:
            raise self._fail(
                "%s exceeds system's maximum size of %d bytes" % (name, _MAXSIZE),
                pos,
                PickleTooLarge,
            )
        end = start + length
        if end > len(data):
            raise IndexError
        return data[start:end], end

    def op_binbytes(self, data, pos, stack):
        payload, end = self._counted(data, pos, 4, "BINBYTES")
        stack.append(payload)
        return end

    def op_binbytes8(self, data, pos, stack):
        payload, end = self._counted(data, pos, 8, "BINBYTES8")
        stack.append(payload)
        return end

    def op_bytearray8(self, data, pos, stack):
        payload, end = self._counted(data, pos, 8, "BYTEARRAY8")
        stack.append(bytearray(payload))
        return end

    def op_binunicode8(self, data, pos, stack):
        payload, end = self._counted(data, pos, 8, "BINUNICODE8")
        stack.append(str(payload, "utf-8", "surrogatepass"))
        return end

    def op_unicode(self, data, pos, stack):
        line, end = self._line(data, pos + 1)
        stack.append(compat.decode_unicode_line(line))
        return end

    def op_binstring(self, data, pos, stack):
        payload, end = self._counted(data, pos, 4, "BINSTRING")
        stack.append(compat.decode_py2_str(payload, self.encoding, self.errors))
        return end

    def op_short_binstring(self, data, pos, stack):
        payload, end = self._counted(data, pos, 1, "SHORT_BINSTRING")
        stack.append(compat.decode_py2_str(payload, self.encoding, self.errors))
        return end

    def op_string(self, data, pos, stack):
        line, end = self._line(data, pos + 1)
        try:
            raw = compat.parse_string_line(line)
        except compat.UnquotedString as exc:
            raise self._fail(str(exc), pos) from None
        stack.append(compat.decode_py2_str(raw, self.encoding, self.errors))
        return end

    # memo
    def op_get(self, data, pos, stack):
        line, end = self._line(data, pos + 1)
        if len(line) < 2:
            raise self._fail("GET argument is empty", pos)
        index = compat.parse_memo_index(line, "GET")
        value = self.memo.get(index, _MISSING)
        if value is _MISSING:
            raise self._fail("Memo value not found at index %d" % index, pos, MissingMemoEntry)
        stack.append(value)
        return end

    def op_put(self, data, pos, stack):
        line, end = self._line(data, pos + 1)
        if len(line) < 2:
            raise self._fail("PUT argument is empty", pos)
        index = compat.parse_memo_index(line, "PUT")
        self.memo[index] = stack[-1]
        return end

    # containers
    def op_dict(self, data, pos, stack):
        items = stack
        self._stack = self._metastack.pop()
        if len(items) & 1:
            raise self._fail("odd number of items for DICT", pos)
        pairs = iter(items)
        self._in_user = True
        try:
            result = dict(zip(pairs, pairs))
        except TypeError:
            error = self._unhashable_key(items[0::2], pos)
            if error is None:
                raise
            raise error from None
        self._in_user = False
        self._stack.append(result)
        return pos + 1

    def op_empty_set(self, data, pos, stack):
        stack.append(set())
        return pos + 1

    def op_additems(self, data, pos, stack):
        outer = self._metastack[-1]
        target = outer[-1]
        if stack:
            self._in_user = True
            try:
                if isinstance(target, set):
                    set.update(target, stack)
                else:
                    add = getattr(target, "add", None)
                    if add is None:
                        raise self._fail(
                            "%r object has no attribute 'add'" % type(target).__name__,
                            pos,
                            BadPickleTarget,
                        )
                    for item in stack:
                        add(item)
            except TypeError:
                error = self._unhashable_key(stack, pos)
                if error is None:
                    raise
                raise error from None
            self._in_user = False
        self._metastack.pop()
        self._stack = outer
        return pos + 1

    def op_frozenset(self, data, pos, stack):
        self._stack = self._metastack.pop()
        try:
            self._stack.append(self._call(frozenset, stack))
        except TypeError:
            error = self._unhashable_key(stack, pos)
            if error is None:
                raise
            raise error from None
        return pos + 1

    # globals and objects
    def op_global(self, data, pos, stack):
        module, end = self._line(data, pos + 1)
        name, end = self._line(data, end)
        if len(module) < 2 or len(name) < 2:
            raise self._fail("GLOBAL module or name is empty", pos)
        module = module[:-1].decode("utf-8")
        name = name[:-1].decode("utf-8")
        stack.append(self._call(self.find_class, module, name))
        return end

    def op_stack_global(self, data, pos, stack):
        name = stack[-1]
        module = stack[-2]
        if type(name) is not str or type(module) is not str:
            raise self._fail("STACK_GLOBAL requires str", pos)
        del stack[-1]
        stack[-1] = self._call(self.find_class, module, name)
        return pos + 1

    def op_inst(self, data, pos, stack):
        module, end = self._line(data, pos + 1)
        name, end = self._line(data, end)
        if len(module) < 2 or len(name) < 2:
            raise self._fail("INST module or name is empty", pos)
        args = tuple(stack)
        self._stack = self._metastack.pop()
        module = module[:-1].decode("ascii")
        name = name[:-1].decode("ascii")
        cls = self._call(self.find_class, module, name)
        _check_callable(self, cls, pos)
        self._stack.append(self._call(_instantiate, cls, args))
        return end

    def op_obj(self, data, pos, stack):
        outer = self._metastack[-1]
        if not stack:
            raise self._fail("unpickling stack underflow", pos)
        _check_callable(self, stack[0], pos)
        self._metastack.pop()
        self._stack = outer
        outer.append(self._call(_instantiate, stack[0], tuple(stack[1:])))
        return pos + 1

    def op_reduce(self, data, pos, stack):
        args = stack[-1]
        func = stack[-2]
        if type(args) is not tuple:
            if not isinstance(args, tuple):
                raise self._fail("argument list must be a tuple", pos, BadPickleType)
            args = tuple.__getitem__(args, slice(None))
        if not callable(func):
            raise self._fail("%r object is not callable" % type(func).__name__, pos, BadPickleType)
        del stack[-1]
        stack[-1] = self._call(func, *args)
        return pos + 1

    def op_newobj(self, data, pos, stack):
        args = stack[-1]
        cls = stack[-2]
        if not isinstance(cls, type):
            raise self._fail(
                "NEWOBJ class argument must be a type, not %s" % type(cls).__name__, pos
            )
        if not isinstance(args, tuple):
            raise self._fail(
                "NEWOBJ args argument must be a tuple, not %s" % type(args).__name__, pos
            )
        del stack[-1]
        self._in_user = True
        stack[-1] = cls.__new__(cls, *tuple.__getitem__(args, slice(None)))
        self._in_user = False
        return pos + 1

    def op_newobj_ex(self, data, pos, stack):
        kwargs = stack[-1]
        args = stack[-2]
        cls = stack[-3]
        if not isinstance(cls, type):
            raise self._fail(
                "NEWOBJ_EX class argument must be a type, not %s" % type(cls).__name__, pos
            )
        if not isinstance(args, tuple):
            raise self._fail(
                "NEWOBJ_EX args argument must be a tuple, not %s" % type(args).__name__, pos
            )
        if not isinstance(kwargs, dict):
            raise self._fail(
                "NEWOBJ_EX kwargs argument must be a dict, not %s" % type(kwargs).__name__, pos
            )
        del stack[-2:]
        self._in_user = True
        stack[-1] = cls.__new__(cls, *tuple.__getitem__(args, slice(None)), **kwargs)
        self._in_user = False
        return pos + 1

    def op_build(self, data, pos, stack):
        state = stack[-1]
        inst = stack[-2]
        del stack[-1]
        self._in_user = True
        setstate = getattr(inst, "__setstate__", _MISSING)
        if setstate is not _MISSING:
            setstate(state)
            self._in_user = False
            return pos + 1
        slotstate = _NO_SLOT_STATE
        if isinstance(state, tuple) and tuple.__len__(state) == 2:
            state, slotstate = tuple.__getitem__(state, 0), tuple.__getitem__(state, 1)
        if state is not None:
            if not isinstance(state, dict):
                raise self._fail("state is not a dictionary", pos)
            try:
                inst_dict = inst.__dict__
            except AttributeError:
                raise self._fail(
                    "%r object has no attribute '__dict__'" % type(inst).__name__,
                    pos,
                    BadPickleTarget,
                ) from None
            intern = sys.intern
            for key, value in dict.items(state):
                if type(key) is str:
                    key = intern(key)
                inst_dict[key] = value
        if slotstate is not _NO_SLOT_STATE:
            if not isinstance(slotstate, dict):
                raise self._fail("slot state is not a dictionary", pos)
            plain = type(inst).__setattr__ is object.__setattr__
            for key, value in dict.items(slotstate):
                try:
                    setattr(inst, key, value)
                except (AttributeError, TypeError) as exc:
                    if not plain:  # a __setattr__ of the class refused it
                        raise
                    kind = BadPickleTarget if isinstance(exc, AttributeError) else BadPickleType
                    raise self._fail(str(exc), pos, kind) from None
        self._in_user = False
        return pos + 1

    # extensions, persistent ids, out-of-band buffers
    def _extension(self, data, pos, code):
        if code <= 0:
            raise self._fail("EXT specifies code <= 0", pos)
        obj = copyreg._extension_cache.get(code, _MISSING)
        if obj is _MISSING:
            key = copyreg._inverted_registry.get(code, _MISSING)
            if key is _MISSING:
                raise self._fail("unregistered extension code %d" % code, pos, BadPickleValue)
            if not (
                isinstance(key, tuple)
                and len(key) == 2
                and isinstance(key[0], str)
                and isinstance(key[1], str)
            ):
                raise self._fail(
                    "_inverted_registry[%d] isn't a 2-tuple of strings" % code, pos, BadPickleValue
                )
            obj = self._call(self.find_class, key[0], key[1])
            copyreg._extension_cache[code] = obj
        self._stack.append(obj)

    def op_ext1(self, data, pos, stack):
        self._extension(data, pos, data[pos + 1])
        return pos + 2

    def op_ext2(self, data, pos, stack):
        self._extension(data, pos, _unpack_u2(data, pos + 1)[0])
        return pos + 3

    def op_ext4(self, data, pos, stack):
        self._extension(data, pos, _unpack_i4(data, pos + 1)[0])
        return pos + 5

    def op_persid(self, data, pos, stack):
        line, end = self._line(data, pos + 1)
        try:
            pid = line[:-1].decode("ascii")
        except UnicodeDecodeError:
            # The stdlib's exact message (its test suite compares it).
            error = MalformedPickle("persistent IDs in protocol 0 must be ASCII strings")
            error.offset = self._base + pos
            raise error from None
        stack.append(self._call(self.persistent_load, pid))
        return end

    def op_binpersid(self, data, pos, stack):
        pid = stack[-1]
        stack[-1] = self._call(self.persistent_load, pid)
        return pos + 1

    def op_next_buffer(self, data, pos, stack):
        if self._buffers is None:
            raise self._fail(
                "pickle stream refers to out-of-band data but no *buffers* argument was given", pos
            )
        buffer = self._call(next, self._buffers, _MISSING)
        if buffer is _MISSING:
            raise self._fail("not enough out-of-band buffers", pos)
        stack.append(buffer)
        return pos + 1

    def op_readonly_buffer(self, data, pos, stack):
        obj = stack[-1]
        self._in_user = True
        try:
            view = memoryview(obj)
        except TypeError as exc:
            raise self._fail("READONLY_BUFFER: %s" % exc, pos, BadPickleType) from None
        with view:
            if not view.readonly:
                stack[-1] = view.toreadonly()
        self._in_user = False
        return pos + 1


def _instantiate(cls, args):
    """INST/OBJ: ``cls(*args)``, or ``cls.__new__(cls)`` for a class without
    ``__getinitargs__`` when there are no arguments (old-style instances)."""
    if not args and isinstance(cls, type) and getattr(cls, "__getinitargs__", None) is None:
        return cls.__new__(cls)
    return cls(*args)


def _check_callable(unpickler, cls, pos):
    if not callable(cls):
        raise unpickler._fail("%r object is not callable" % type(cls).__name__, pos, BadPickleType)


def _build_dispatch():
    table = [Unpickler.op_invalid] * 256
    for code, opcode in op.OPCODES.items():
        if code in _HOT:
            continue
        handler = getattr(Unpickler, "op_" + opcode.name.lower(), None)
        if handler is None:
            raise AssertionError("no handler for opcode %s" % opcode.name)
        table[code] = handler
    return table


_SLOW = _build_dispatch()


# --- file input -------------------------------------------------------------------------
# Streams on which reading ahead and seeking back is cheap and exact.
_SEEKABLE_TYPES = (io.BytesIO, io.BufferedReader, io.BufferedRandom, io.FileIO)
_FIRST_CHUNK = 1 << 16
_MAX_CHUNK = 1 << 24
_EXACT_PIECE = 1 << 20


class _FileFeed:
    """Supplies the engine with bytes from a file, leaving the file positioned
    just after the pickle.

    Seekable built-in streams are read in growing chunks and repositioned at
    the end.  Any other file is read exactly as far as the pickle goes, like
    the C unpickler: opcode by opcode (with the following opcode byte, which a
    pickle must have, in the same read), whole frames at once, up to STOP.
    Declared lengths are read in pieces, so a hostile length stops at the end
    of the file instead of allocating it.
    """

    def __init__(self, file, read, readline):
        self._read = read
        self._readline_method = readline
        self._seek = None
        self._chunk = _FIRST_CHUNK
        if type(file) in _SEEKABLE_TYPES:
            try:
                if file.seekable():
                    self._start = file.tell()
                    self._seek = file.seek
            except (OSError, ValueError):
                self._seek = None

    def refill(self, tail, missing):
        """``tail`` (an unfinished opcode, maybe empty) followed by more of the
        pickle; None at the end of the file.  The opcode needs ``missing``
        more bytes (-1: a line)."""
        if self._seek is not None:
            chunk = self._read_exactly(max(missing, self._chunk))
            self._chunk = min(self._chunk * 2, _MAX_CHUNK)
            return tail + chunk if chunk else None
        return self._read_ahead(tail)

    def _read_ahead(self, tail):
        """Read exactly up to the next STOP, the end of the next frame or an
        opcode whose length is unknown (the engine reports it)."""
        buffer = bytearray(tail)
        pos = 0
        grew = False
        while True:
            end, missing = _op_end(buffer, pos)
            if end is not None:
                code = buffer[pos]
                if code == _STOP or code == _FRAME_CODE:
                    break
                pos = end
                continue
            if missing == 0:
                break
            if missing < 0:
                chunk = self._readline()
            else:
                # Any opcode but FRAME whose argument is incomplete is followed
                # by another opcode (STOP has no argument): read that byte too.
                if pos < len(buffer) and buffer[pos] != _FRAME_CODE:
                    missing += 1
                chunk = self._read_exactly(missing)
            if not chunk:
                break
            buffer += chunk
            grew = True
        return bytes(buffer) if grew else None

    def _read_exactly(self, size):
        if size <= _EXACT_PIECE:
            return self._bytes(self._read(size))
        pieces = []
        while size > 0:
            piece = self._bytes(self._read(min(size, _EXACT_PIECE)))
            if not piece:
                break
            pieces.append(piece)
            size -= len(piece)
        return b"".join(pieces)

    def _readline(self):
        return self._bytes(self._readline_method())

    @staticmethod
    def _bytes(chunk):
        if type(chunk) is not bytes:  # any bytes-like result will do, as for C pickle
            chunk = memoryview(chunk).tobytes()
        return chunk

    def finish(self, consumed):
        if self._seek is not None:
            self._seek(self._start + consumed)


# --- module-level API ----------------------------------------------------------------------
def loads(data, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    """Rebuild an object from the pickle ``data`` (bytes-like), like ``pickle.loads``."""
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    if type(data) is not bytes:
        data = memoryview(data).tobytes()
    unpickler = _new_object(Unpickler)
    unpickler._setup(fix_imports, encoding, errors, buffers)
    return unpickler._load_bytes(data)


def load(file, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    """Read one pickle from the binary ``file``, like ``pickle.load``."""
    return Unpickler(
        file, fix_imports=fix_imports, encoding=encoding, errors=errors, buffers=buffers
    ).load()

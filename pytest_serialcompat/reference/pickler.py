"""The reference pickler: CPython's C pickler (``_pickle.c``), byte for byte, in pure Python.

Output is identical to the running interpreter's ``pickle.dumps`` for the same
object and protocol.  Where the C pickler and ``Lib/pickle.py`` disagree, this
module follows the C pickler, because that is what users' data is made with:

* batches: an exact list or dict of more than one item is always written as
  MARK ... APPENDS/SETITEMS batches, even when the last batch holds one item,
  and a dict or set whose size is a multiple of the batch size ends with an
  empty MARK ... SETITEMS/ADDITEMS batch;
* ``reducer_override`` is not consulted for None, bools, ints, floats, str,
  bytes and the builtin containers;
* a PickleBuffer written in-band is memoized as itself;
* a persistent id is looked up before anything else, atoms included.

Where the C pickler itself changed between releases, the behaviour of the
running interpreter is selected once, at import (see ``_VERSION_QUIRKS``).

The hot path (``save``) is a closure built once per ``dump`` so that the
output buffer, memo and dispatch live in fast closure cells rather than on
``self``.
"""

import copyreg
import operator
import sys
from functools import partial
from itertools import islice
from struct import Struct
from pickle import DEFAULT_PROTOCOL, PickleBuffer, PicklingError
from types import FunctionType

import _compat_pickle
import codecs

from . import opcodes as op

__all__ = ["Pickler", "dump", "dumps", "PickleBuffer", "PicklingError"]

HIGHEST_PROTOCOL = op.HIGHEST_PROTOCOL

# Behaviour that differs between CPython releases of the C pickler.
_VERSION_QUIRKS = {
    # 3.13 writes a nested class under protocol < 4 as a chain of
    # getattr(getattr(Outer, "Mid"), "Inner") over an un-memoized top-level
    # GLOBAL; earlier releases write getattr(<parent saved normally>, "Inner").
    "nested_getattr_chain": sys.version_info >= (3, 13),
    # 3.13 reports a bad extension-registry code as TypeError (not an int) or
    # RuntimeError (out of range) instead of PicklingError.
    "ext_code_plain_errors": sys.version_info >= (3, 13),
}

_pack_u2 = op.UINT2.pack
_pack_i4 = op.INT4.pack
_pack_u4 = op.UINT4.pack
_pack_u8 = op.UINT8.pack
_pack_f8 = op.FLOAT8.pack

_FRAME_TARGET = op.FRAME_SIZE_TARGET
_FRAME_HEADER_SIZE = 9
_BATCHSIZE = op.BATCHSIZE

# Precomputed opcode+argument byte strings for the most frequent small cases.
_BININT1 = [op.BININT1 + bytes((i,)) for i in range(256)]
_BINGET = [op.BINGET + bytes((i,)) for i in range(256)]
_BINPUT = [op.BINPUT + bytes((i,)) for i in range(256)]
_SHORT_BINUNICODE = [op.SHORT_BINUNICODE + bytes((i,)) for i in range(256)]
_SHORT_BINBYTES = [op.SHORT_BINBYTES + bytes((i,)) for i in range(256)]
_TUPLE_BY_SIZE = (op.EMPTY_TUPLE, op.TUPLE1, op.TUPLE2, op.TUPLE3)
_LONG1_BY_SIZE = [op.LONG1 + bytes((i,)) for i in range(256)]
# One struct call writes an opcode with its argument (BINFLOAT is big-endian).
_pack_str_header = Struct("<cI").pack  # BINUNICODE and LONG_BINPUT
_pack_binint2 = Struct("<cH").pack
_pack_binint = Struct("<ci").pack
_pack_binfloat = Struct(">cd").pack
_BINUNICODE_CODE = op.BINUNICODE
_LONG_BINPUT_CODE = op.LONG_BINPUT
_BININT2_CODE = op.BININT2
_BININT_CODE = op.BININT
_BINFLOAT_CODE = op.BINFLOAT

_MARK = op.MARK[0]
_APPEND = op.APPEND[0]
_SETITEM = op.SETITEM[0]
_MEMOIZE = op.MEMOIZE[0]
_NONE = op.NONE[0]
_NEWTRUE = op.NEWTRUE[0]
_NEWFALSE = op.NEWFALSE[0]
_MARK_APPENDS_EMPTY = op.MARK + op.APPENDS

_NO_FILE = object()  # dumps() collects the output itself
_MISSING = object()  # "no such attribute/entry", distinct from a None value
_STOP = op.STOP[0]
_NoneType = type(None)
_EllipsisType = type(Ellipsis)
_NotImplementedType = type(NotImplemented)


# Protocol 0: the UNICODE opcode line of recently pickled strings, shared by
# every dump (the escaping is the costly part of writing text); bounded.
_TEXT_UNICODE_CACHE = {}
_TEXT_CACHE_LIMIT = 4096
_TEXT_CACHE_MAX_LEN = 256
# Protocol 0 lines for small ints and memo indexes.
_TEXT_INT = [b"I%d\n" % i for i in range(256)]
_TEXT_PUT = [b"p%d\n" % i for i in range(1024)]
_TEXT_GET = [b"g%d\n" % i for i in range(1024)]


def _text_unicode_line(text):
    """``V<escaped text>\\n`` for protocol 0, through the shared cache."""
    line = _TEXT_UNICODE_CACHE.get(text)
    if line is None:
        line = b"V" + _raw_unicode_escape(text) + b"\n"
        if len(text) <= _TEXT_CACHE_MAX_LEN:
            if len(_TEXT_UNICODE_CACHE) >= _TEXT_CACHE_LIMIT:
                _TEXT_UNICODE_CACHE.clear()
            _TEXT_UNICODE_CACHE[text] = line
    return line


def _raw_unicode_escape(text):
    """Protocol 0 text: raw-unicode-escape that also escapes \\, NUL, LF, CR and ^Z."""
    if "\\" in text or "\0" in text or "\n" in text or "\r" in text or "\x1a" in text:
        text = (
            text.replace("\\", "\\u005c")
            .replace("\0", "\\u0000")
            .replace("\n", "\\u000a")
            .replace("\r", "\\u000d")
            .replace("\x1a", "\\u001a")
        )
    return text.encode("raw-unicode-escape")


def _encode_long(value):
    """Two's complement little-endian bytes, as LONG1/LONG4 carry them (b'' for 0)."""
    if value == 0:
        return b""
    nbytes = (value.bit_length() >> 3) + 1
    data = value.to_bytes(nbytes, "little", signed=True)
    if value < 0 and nbytes > 1 and data[-1] == 0xFF and data[-2] & 0x80:
        data = data[:-1]
    return data


def _dotted_path(obj, name):
    parts = name.split(".")
    if "<locals>" in parts:
        raise PicklingError("Can't pickle local object %r" % (obj,))
    return parts


def _whichmodule(obj, parts):
    module_name = getattr(obj, "__module__", None)
    if module_name is not None:
        return module_name
    for module_name, module in sys.modules.copy().items():
        if module_name in ("__main__", "__mp_main__") or module is None:
            continue
        try:
            if _deep_getattr(module, parts)[0] is obj:
                return module_name
        except AttributeError:
            pass
    return "__main__"


def _deep_getattr(obj, parts):
    parent = None
    for part in parts:
        parent = obj
        obj = getattr(obj, part)
    return obj, parent


class Pickler:
    """Write a pickle stream; the same interface and output as ``pickle.Pickler``."""

    def __init__(self, file, protocol=None, *, fix_imports=True, buffer_callback=None):
        if protocol is None:
            protocol = DEFAULT_PROTOCOL
        protocol = int(protocol)
        if protocol < 0:
            protocol = HIGHEST_PROTOCOL
        elif protocol > HIGHEST_PROTOCOL:
            raise ValueError("pickle protocol must be <= %d" % HIGHEST_PROTOCOL)
        if buffer_callback is not None and protocol < 5:
            raise ValueError("buffer_callback needs protocol >= 5")
        if file is _NO_FILE:
            self._file_write = None
        else:
            try:
                self._file_write = file.write
            except AttributeError:
                raise TypeError("file must have a 'write' attribute") from None
        self._buffer_callback = buffer_callback
        self.proto = protocol
        self.bin = protocol >= 1
        self.fast = 0
        self.fix_imports = bool(fix_imports) and protocol < 3
        self.memo = {}

    def clear_memo(self):
        """Forget the objects already written, so the next dump starts afresh."""
        self.memo.clear()

    def dump(self, obj):
        """Write the pickled representation of obj to the file."""
        if not hasattr(self, "_file_write"):
            raise PicklingError(
                "Pickler.__init__() was not called by %s.__init__()" % type(self).__name__
            )
        hooks = (
            getattr(self, "persistent_id", None),
            getattr(self, "reducer_override", _MISSING),
            getattr(self, "dispatch_table", None),
            self._buffer_callback,
        )
        run = _make_engine(self.proto, self.fix_imports, self.fast)
        for chunk in run(obj, self.memo, True, hooks):
            self._file_write(chunk)


_NEVER = sys.maxsize
_ZERO_HEADER = b"\0" * _FRAME_HEADER_SIZE


def _make_engine(proto, fix_imports, fast):
    """Build the closures that pickle with one configuration; return its ``run``.

    ``run(obj, memo, to_file, hooks...)`` pickles obj using (and filling) the
    memo dict and returns the bytes, or with ``to_file`` the list of chunks to
    write.  An engine is reusable but not re-entrant; ``dumps`` keeps a pool of
    them.  The closures reference each other (a cycle), so everything that
    belongs to one dump -- memo, user hooks -- is bound only while ``run``
    runs: an idle engine keeps no user object alive.
    """
    binary = proto >= 1
    framing = proto >= 4
    pers_func = buffer_callback = None
    reducer_override = _MISSING
    dispatch_table = copyreg.dispatch_table
    extension_registry = copyreg._extension_registry
    out = bytearray()
    w = out.extend
    app = out.append
    memo = {}
    memo_get = memo.get
    chunks = None
    # Framing: the open frame's reserved 9-byte header starts at frame_start;
    # a save() that finds len(out) >= frame_end closes it (an opcode boundary).
    frame_start = -1
    frame_end = _NEVER

    def open_frame():
        nonlocal frame_start, frame_end
        frame_start = len(out)
        w(_ZERO_HEADER)
        frame_end = frame_start + _FRAME_HEADER_SIZE + _FRAME_TARGET

    def commit_frame():
        nonlocal frame_start, frame_end
        start = frame_start
        if start < 0:
            return
        size = len(out) - start - _FRAME_HEADER_SIZE
        if size >= op.FRAME_SIZE_MIN:
            out[start : start + _FRAME_HEADER_SIZE] = op.FRAME + _pack_u8(size)
        else:
            del out[start : start + _FRAME_HEADER_SIZE]
        frame_start = -1
        frame_end = _NEVER

    def flush():
        if chunks is not None and out:
            chunks.append(bytes(out))
            del out[:]

    def boundary():
        commit_frame()
        flush()
        open_frame()

    def write_large(header, payload):
        # Payloads of a frame's size or more are written outside any frame.
        if framing:
            commit_frame()
        w(header)
        if chunks is not None:
            flush()
            chunks.append(bytes(payload))
        else:
            w(payload)
        if framing:
            open_frame()

    def run(obj, the_memo, to_file, hooks=None):
        nonlocal memo, memo_get, chunks, frame_start, frame_end
        nonlocal pers_func, reducer_override, dispatch_table, buffer_callback
        memo = the_memo
        memo_get = the_memo.get
        chunks = [] if to_file else None
        if hooks is not None:
            pers_func, reducer_override, table, buffer_callback = hooks
            if table is not None:
                dispatch_table = table
        try:
            if proto >= 2:
                w(op.PROTO + bytes((proto,)))
            if framing:
                open_frame()
            save(obj)
            app(_STOP)
            if framing:
                commit_frame()
            if to_file:
                flush()
                return chunks
            return bytes(out)
        finally:
            del out[:]
            frame_start = -1
            frame_end = _NEVER
            chunks = None
            memo = memo_get = None
            pers_func = buffer_callback = None
            reducer_override = _MISSING
            dispatch_table = copyreg.dispatch_table

    # -- memo ---------------------------------------------------------------
    def memoize(obj):
        if fast:
            return
        idx = len(memo)
        memo[id(obj)] = (idx, obj)
        if proto >= 4:
            app(_MEMOIZE)
        elif binary:
            w(_BINPUT[idx] if idx < 256 else op.LONG_BINPUT + _pack_u4(idx))
        else:
            w(_TEXT_PUT[idx] if idx < 1024 else b"p%d\n" % idx)

    def write_get(idx):
        if binary:
            w(_BINGET[idx] if idx < 256 else op.LONG_BINGET + _pack_u4(idx))
        else:
            w(_TEXT_GET[idx] if idx < 1024 else b"g%d\n" % idx)

    # -- atoms --------------------------------------------------------------
    def save_int(obj):
        if -0x80000000 <= obj <= 0x7FFFFFFF:
            if binary:
                if 0 <= obj <= 0xFF:
                    w(_BININT1[obj])
                elif 0 <= obj <= 0xFFFF:
                    w(op.BININT2 + _pack_u2(obj))
                else:
                    w(op.BININT + _pack_i4(obj))
            else:
                w(b"I%d\n" % obj)
        elif proto >= 2:
            data = _encode_long(obj)
            n = len(data)
            if n < 256:
                w(op.LONG1 + bytes((n,)))
            else:
                if n > 0x7FFFFFFF:
                    raise OverflowError("int too large to pickle")
                w(op.LONG4 + _pack_i4(n))
            w(data)
        else:
            w(b"L%dL\n" % obj)

    def save_float(obj):
        if binary:
            w(op.BINFLOAT + _pack_f8(obj))
        else:
            w(b"F" + repr(obj).encode("ascii") + b"\n")

    def save_bool(obj):
        if proto >= 2:
            app(_NEWTRUE if obj else _NEWFALSE)
        else:
            w(op.TRUE if obj else op.FALSE)

    def write_sized(data, short_headers, header4, header8, what):
        # <= 255 bytes: a 1-byte length (when the opcode exists); else 4 or 8.
        n = len(data)
        if short_headers is not None and n <= 0xFF:
            w(short_headers[n])
            w(data)
            return
        if n <= 0xFFFFFFFF:
            header = header4 + _pack_u4(n)
        elif proto >= 4:
            header = header8 + _pack_u8(n)
        else:
            raise OverflowError(
                "serializing a %s larger than 4 GiB requires pickle protocol 4 or higher" % what
            )
        write_payload(header, data)

    def write_payload(header, data):
        # a frame's worth or more goes outside any frame
        if len(data) >= _FRAME_TARGET:
            write_large(header, data)
        else:
            w(header)
            w(data)

    def save_str(obj):
        if binary:
            try:
                data = obj.encode("utf-8")
            except UnicodeEncodeError:
                data = obj.encode("utf-8", "surrogatepass")
            short = _SHORT_BINUNICODE if proto >= 4 else None
            write_sized(data, short, op.BINUNICODE, op.BINUNICODE8, "string")
        else:
            w(_text_unicode_line(obj))
        memoize(obj)

    def save_bytes_data(obj, data):
        write_sized(data, _SHORT_BINBYTES, op.BINBYTES, op.BINBYTES8, "bytes object")
        memoize(obj)

    def save_bytes(obj):
        if proto < 3:
            if not obj:
                save_reduce((bytes, ()), obj)
            else:
                save_reduce((codecs.encode, (str(obj, "latin1"), "latin1")), obj)
        else:
            save_bytes_data(obj, obj)

    def save_bytearray_data(obj, data):
        write_payload(op.BYTEARRAY8 + _pack_u8(len(data)), data)
        memoize(obj)

    def save_bytearray(obj):
        if proto < 5:
            if not obj:
                save_reduce((bytearray, ()), obj)
            else:
                save_reduce((bytearray, (bytes(obj),)), obj)
        else:
            save_bytearray_data(obj, obj)

    def save_picklebuffer(obj):
        if proto < 5:
            raise PicklingError("PickleBuffer can only be pickled with protocol >= 5")
        with memoryview(obj) as view:
            if not view.contiguous:
                raise PicklingError(
                    "PickleBuffer can not be pickled when pointing to a non-contiguous buffer"
                )
            readonly = view.readonly
            in_band = True
            if buffer_callback is not None:
                in_band = bool(buffer_callback(obj))
            if in_band:
                with obj.raw() as raw:
                    if readonly:
                        save_bytes_data(obj, raw)
                    else:
                        save_bytearray_data(obj, raw)
            else:
                w(op.NEXT_BUFFER)
                if readonly:
                    w(op.READONLY_BUFFER)

    # -- containers ---------------------------------------------------------
    def save_tuple(obj):
        n = len(obj)
        if n == 0:
            w(op.EMPTY_TUPLE if binary else op.MARK + op.TUPLE)
            return
        if n <= 3 and proto >= 2:
            for item in obj:
                save(item)
            x = memo_get(id(obj))
            if x is not None:
                w(op.POP * n)
                write_get(x[0])
                return
            w(_TUPLE_BY_SIZE[n])
            memoize(obj)
            return
        app(_MARK)
        for item in obj:
            save(item)
        x = memo_get(id(obj))
        if x is not None:
            if binary:
                w(op.POP_MARK)
            else:
                w(op.POP * (n + 1))
            write_get(x[0])
            return
        w(op.TUPLE)
        memoize(obj)

    def save_list(obj):
        w(op.EMPTY_LIST if binary else op.MARK + op.LIST)
        memoize(obj)
        if not obj:
            return
        if not binary:
            # Protocol 0: item APPEND, item APPEND, ...; None and small ints
            # written here (no frames at protocol 0).
            plain = pers_func is None
            for item in obj:
                if plain and item is None:
                    app(_NONE)
                elif plain and type(item) is int and 0 <= item <= 0xFF:
                    w(_TEXT_INT[item])
                else:
                    save(item)
                app(_APPEND)
            return
        if len(obj) == 1:
            save(obj[0])
            app(_APPEND)
            return
        # C: batches of BATCHSIZE while the index is below the list's current
        # length; a list iterator's length hint is exactly what remains.
        items = iter(obj)
        plain = pers_func is None
        while True:
            app(_MARK)
            if plain and not framing:  # no frames to check (protocols 1-3)
                for item in islice(items, _BATCHSIZE):
                    if type(item) is int and 0 <= item <= 0xFF:
                        w(_BININT1[item])
                    else:
                        save(item)
                w(op.APPENDS)
                if not items.__length_hint__():
                    return
                continue
            for item in islice(items, _BATCHSIZE):
                if plain and type(item) is int and 0 <= item <= 0xFF:  # as in save_dict
                    if len(out) >= frame_end:
                        boundary()
                    w(_BININT1[item])
                else:
                    save(item)
            w(op.APPENDS)
            if not items.__length_hint__():
                return

    def batch_list(items):
        if not binary:
            for item in items:
                save(item)
                app(_APPEND)
            return
        while True:
            batch = list(islice(items, _BATCHSIZE))
            n = len(batch)
            if n == 1:
                save(batch[0])
                app(_APPEND)
            elif n:
                app(_MARK)
                for item in batch:
                    save(item)
                w(op.APPENDS)
            if n < _BATCHSIZE:
                return

    def save_dict(obj):
        w(op.EMPTY_DICT if binary else op.MARK + op.DICT)
        memoize(obj)
        if not obj:
            return
        if not binary:
            # Protocol 0: key value SETITEM per item (an exact dict's items are
            # 2-tuples); None and small ints written here, as in the binary loop.
            plain = pers_func is None
            for key, value in obj.items():
                if plain and type(key) is int and 0 <= key <= 0xFF:
                    w(_TEXT_INT[key])
                else:
                    save(key)
                if plain and value is None:
                    app(_NONE)
                elif plain and type(value) is int and 0 <= value <= 0xFF:
                    w(_TEXT_INT[value])
                else:
                    save(value)
                app(_SETITEM)
            return
        size = len(obj)
        if size == 1:
            for key, value in obj.items():
                save(key)
                save(value)
            app(_SETITEM)
            return
        # C writes size // BATCHSIZE + 1 batches: a multiple of the batch
        # size ends with an empty MARK SETITEMS.
        items = iter(obj.items())
        plain = pers_func is None
        for _ in range(size // _BATCHSIZE + 1):
            app(_MARK)
            if plain and not framing:
                # The same, without frames to check (protocols 1-3).
                for key, value in islice(items, _BATCHSIZE):
                    if type(key) is int and 0 <= key <= 0xFF:
                        w(_BININT1[key])
                    else:
                        save(key)
                    if value is None:
                        app(_NONE)
                    elif type(value) is int and 0 <= value <= 0xFF:
                        w(_BININT1[value])
                    else:
                        save(value)
                w(op.SETITEMS)
                if len(obj) != size:
                    raise RuntimeError("dictionary changed size during iteration")
                continue
            for key, value in islice(items, _BATCHSIZE):
                # None and small ints are written here, saving a save() call
                # each (with its frame check; no persistent id to consult).
                if plain and type(key) is int and 0 <= key <= 0xFF:
                    if len(out) >= frame_end:
                        boundary()
                    w(_BININT1[key])
                else:
                    save(key)
                if plain and value is None:
                    if len(out) >= frame_end:
                        boundary()
                    app(_NONE)
                elif plain and type(value) is int and 0 <= value <= 0xFF:
                    if len(out) >= frame_end:
                        boundary()
                    w(_BININT1[value])
                else:
                    save(value)
            w(op.SETITEMS)
            if len(obj) != size:
                raise RuntimeError("dictionary changed size during iteration")

    def batch_dict(items):
        if not binary:
            for item in items:
                if type(item) is not tuple or len(item) != 2:
                    raise TypeError("dict items iterator must return 2-tuples")
                save(item[0])
                save(item[1])
                app(_SETITEM)
            return
        while True:
            batch = list(islice(items, _BATCHSIZE))
            for item in batch:
                if not isinstance(item, tuple) or len(item) != 2:
                    raise TypeError("dict items iterator must return 2-tuples")
            n = len(batch)
            if n == 1:
                save(batch[0][0])
                save(batch[0][1])
                app(_SETITEM)
            elif n:
                app(_MARK)
                for key, value in batch:
                    save(key)
                    save(value)
                w(op.SETITEMS)
            if n < _BATCHSIZE:
                return

    def save_set(obj):
        if proto < 4:
            save_reduce((set, (list(obj),)), obj)
            return
        w(op.EMPTY_SET)
        memoize(obj)
        size = len(obj)
        if size == 0:
            return
        items = iter(obj)
        for _ in range(size // _BATCHSIZE + 1):
            app(_MARK)
            for item in islice(items, _BATCHSIZE):
                save(item)
            w(op.ADDITEMS)
            if len(obj) != size:
                raise RuntimeError("set changed size during iteration")

    def save_frozenset(obj):
        if proto < 4:
            save_reduce((frozenset, (list(obj),)), obj)
            return
        app(_MARK)
        for item in obj:
            save(item)
        x = memo_get(id(obj))
        if x is not None:
            w(op.POP_MARK)
            write_get(x[0])
            return
        w(op.FROZENSET)
        memoize(obj)

    # -- globals ------------------------------------------------------------
    def save_global(obj, name=None):
        if name is None:
            name = getattr(obj, "__qualname__", None)
            if name is None:
                name = obj.__name__
        parts = _dotted_path(obj, name)
        module_name = _whichmodule(obj, parts)
        try:
            __import__(module_name, level=0)
            module = sys.modules[module_name]
        except Exception as exc:
            raise PicklingError(
                "Can't pickle %r: import of module %r failed" % (obj, module_name)
            ) from exc
        try:
            found, parent = _deep_getattr(module, parts)
        except AttributeError:
            raise PicklingError(
                "Can't pickle %r: attribute lookup %s on %s failed" % (obj, name, module_name)
            ) from None
        if found is not obj:
            raise PicklingError(
                "Can't pickle %r: it's not the same object as %s.%s" % (obj, module_name, name)
            )
        if proto >= 2:
            code = extension_registry.get((module_name, name), _MISSING)
            if code is not _MISSING:
                code = _checked_extension_code(obj, code)
                if code <= 0xFF:
                    w(op.EXT1 + bytes((code,)))
                elif code <= 0xFFFF:
                    w(op.EXT2 + _pack_u2(code))
                else:
                    w(op.EXT4 + _pack_i4(code))
                return
        lastname = parts[-1]
        if parent is module:
            name = lastname
        if proto >= 4:
            save(module_name)
            save(name)
            w(op.STACK_GLOBAL)
        elif parent is not module:
            if _VERSION_QUIRKS["nested_getattr_chain"]:
                save_getattr_chain(module_name, parts)
            else:
                save_reduce((getattr, (parent, lastname)), None)
        else:
            write_global_opcode(module_name, name)
        memoize(obj)

    def save_getattr_chain(module_name, parts):
        for _ in parts[1:]:
            save(getattr)
            if proto < 2:
                app(_MARK)
        write_global_opcode(module_name, parts[0])
        for attrname in parts[1:]:
            save(attrname)
            w(op.TUPLE if proto < 2 else op.TUPLE2)
            w(op.REDUCE)

    def write_global_opcode(module_name, name):
        if proto < 3 and fix_imports:
            mapped = _compat_pickle.REVERSE_NAME_MAPPING.get((module_name, name))
            if mapped is not None:
                module_name, name = mapped
            elif module_name in _compat_pickle.REVERSE_IMPORT_MAPPING:
                module_name = _compat_pickle.REVERSE_IMPORT_MAPPING[module_name]
        encoding = "utf-8" if proto == 3 else "ascii"
        try:
            encoded_module = module_name.encode(encoding)
        except UnicodeEncodeError:
            raise PicklingError(
                "can't pickle module identifier '%s' using pickle protocol %i" % (module_name, proto)
            ) from None
        try:
            encoded_name = name.encode(encoding)
        except UnicodeEncodeError:
            raise PicklingError(
                "can't pickle global identifier '%s' using pickle protocol %i" % (name, proto)
            ) from None
        w(op.GLOBAL + encoded_module + b"\n" + encoded_name + b"\n")

    def save_type(obj):
        if obj is _NoneType:
            save_reduce((type, (None,)), obj)
        elif obj is _EllipsisType:
            save_reduce((type, (Ellipsis,)), obj)
        elif obj is _NotImplementedType:
            save_reduce((type, (NotImplemented,)), obj)
        else:
            save_global(obj)

    # -- the reduce protocol ------------------------------------------------
    def save_reduce(rv, obj):
        size = len(rv)
        if size < 2 or size > 6:
            raise PicklingError("tuple returned by __reduce__ must contain 2 through 6 elements")
        func, args = rv[0], rv[1]
        state = rv[2] if size > 2 else None
        listitems = rv[3] if size > 3 else None
        dictitems = rv[4] if size > 4 else None
        state_setter = rv[5] if size > 5 else None
        if not callable(func):
            raise PicklingError("first item of the tuple returned by __reduce__ must be callable")
        if not isinstance(args, tuple):
            raise PicklingError("second item of the tuple returned by __reduce__ must be a tuple")
        if listitems is not None and not _is_iterator(listitems):
            raise PicklingError(
                "fourth element of the tuple returned by __reduce__ must be an iterator, not %s"
                % type(listitems).__name__
            )
        if dictitems is not None and not _is_iterator(dictitems):
            raise PicklingError(
                "fifth element of the tuple returned by __reduce__ must be an iterator, not %s"
                % type(dictitems).__name__
            )
        if state_setter is not None and not callable(state_setter):
            raise PicklingError(
                "sixth element of the tuple returned by __reduce__ must be a function, not %s"
                % type(state_setter).__name__
            )
        use_newobj = use_newobj_ex = False
        if proto >= 2:
            func_name = getattr(func, "__name__", None)
            if isinstance(func_name, str):
                use_newobj_ex = func_name == "__newobj_ex__"
                use_newobj = not use_newobj_ex and func_name == "__newobj__"
        if use_newobj_ex:
            if len(args) != 3:
                raise PicklingError(
                    "length of the NEWOBJ_EX argument tuple must be exactly 3, not %d" % len(args)
                )
            cls, cls_args, cls_kwargs = args
            if not isinstance(cls, type):
                raise PicklingError(
                    "first item from NEWOBJ_EX argument tuple must be a class, not %s"
                    % type(cls).__name__
                )
            if not isinstance(cls_args, tuple):
                raise PicklingError(
                    "second item from NEWOBJ_EX argument tuple must be a tuple, not %s"
                    % type(cls_args).__name__
                )
            if not isinstance(cls_kwargs, dict):
                raise PicklingError(
                    "third item from NEWOBJ_EX argument tuple must be a dict, not %s"
                    % type(cls_kwargs).__name__
                )
            if proto >= 4:
                save(cls)
                save(cls_args)
                save(cls_kwargs)
                w(op.NEWOBJ_EX)
            else:
                factory = partial(cls.__new__, cls, *cls_args, **cls_kwargs)
                save(factory)
                save(())
                w(op.REDUCE)
        elif use_newobj:
            if len(args) < 1:
                raise PicklingError("__newobj__ arglist is empty")
            cls = args[0]
            if not isinstance(cls, type):
                raise PicklingError("args[0] from __newobj__ args is not a type")
            if obj is not None and getattr(obj, "__class__", type(obj)) is not cls:
                raise PicklingError("args[0] from __newobj__ args has the wrong class")
            save(cls)
            save(args[1:])
            w(op.NEWOBJ)
        else:
            save(func)
            save(args)
            w(op.REDUCE)
        if obj is not None:
            x = memo_get(id(obj))
            if x is not None:
                w(op.POP)
                write_get(x[0])
                return
            memoize(obj)
        if listitems is not None:
            batch_list(listitems)
        if dictitems is not None:
            batch_dict(dictitems)
        if state is not None:
            if state_setter is None:
                save(state)
                w(op.BUILD)
            else:
                save(state_setter)
                save(obj)
                save(state)
                w(op.TUPLE2 + op.REDUCE + op.POP)

    def save_pers(pid):
        if binary:
            save(pid, True)
            w(op.BINPERSID)
        else:
            text = str(pid)
            if not text.isascii():
                raise PicklingError("persistent IDs in protocol 0 must be ASCII strings")
            w(op.PERSID + text.encode("ascii") + b"\n")

    def save_other(obj, t):
        # Anything that is not an atom, a memo hit or a builtin container.
        if reducer_override is not _MISSING:
            rv = reducer_override(obj)
            if rv is not NotImplemented:
                return save_reduced(obj, rv)
        if t is type:
            return save_type(obj)
        if t is FunctionType:
            return save_global(obj)
        reduce = dispatch_table.get(t, _MISSING) if type(dispatch_table) is dict else _get_item(dispatch_table, t)
        if reduce is not _MISSING:
            rv = reduce(obj)
        elif issubclass(t, type):
            return save_global(obj)
        else:
            reduce_ex = getattr(obj, "__reduce_ex__", _MISSING)
            if reduce_ex is not _MISSING:
                rv = reduce_ex(proto)
            else:
                reduce = getattr(obj, "__reduce__", _MISSING)
                if reduce is _MISSING:
                    raise PicklingError("can't pickle %r object: %r" % (t.__name__, obj))
                rv = reduce()
        return save_reduced(obj, rv)

    def save_reduced(obj, rv):
        if isinstance(rv, str):
            return save_global(obj, rv)
        if not isinstance(rv, tuple):
            raise PicklingError("__reduce__ must return a string or tuple")
        return save_reduce(rv, obj)

    containers = {
        dict: save_dict,
        set: save_set,
        frozenset: save_frozenset,
        list: save_list,
        tuple: save_tuple,
        bytearray: save_bytearray,
        PickleBuffer: save_picklebuffer,
        bytes: save_bytes,
    }
    containers_get = containers.get
    # The hot path writes binary str, int, float and bool itself, with one
    # struct call per opcode; the text protocol and the fast mode (no memo)
    # go through save_str/save_int/save_float.
    inline = binary and not fast
    text_inline = not binary and not fast
    proto2 = proto >= 2
    proto4 = proto >= 4

    def save(obj, pers_save=False):
        # The order of checks is the C pickler's: frame boundary, persistent
        # id, atoms, memo, then by type.
        if len(out) >= frame_end:
            boundary()
        if pers_func is not None and not pers_save:
            pid = pers_func(obj)
            if pid is not None:
                save_pers(pid)
                return
        t = type(obj)
        if t is str:
            x = memo_get(id(obj))
            if x is not None:
                idx = x[0]
                if binary and idx < 256:
                    w(_BINGET[idx])
                else:
                    write_get(idx)
                return
            if not inline:
                if text_inline:
                    w(_text_unicode_line(obj))
                    idx = len(memo)
                    memo[id(obj)] = (idx, obj)
                    w(_TEXT_PUT[idx] if idx < 1024 else b"p%d\n" % idx)
                    return
                save_str(obj)
                return
            try:
                data = obj.encode("utf-8")
            except UnicodeEncodeError:
                data = obj.encode("utf-8", "surrogatepass")
            n = len(data)
            if n <= 0xFF and proto4:
                w(_SHORT_BINUNICODE[n])
            elif n < _FRAME_TARGET:
                w(_pack_str_header(_BINUNICODE_CODE, n))
            else:
                save_str(obj)  # a frame's worth or more: written outside the frame
                return
            w(data)
            idx = len(memo)
            memo[id(obj)] = (idx, obj)
            if proto4:
                app(_MEMOIZE)
            elif idx < 256:
                w(_BINPUT[idx])
            else:
                w(_pack_str_header(_LONG_BINPUT_CODE, idx))
            return
        if t is int:
            if binary:
                if 0 <= obj <= 0xFF:
                    w(_BININT1[obj])
                    return
                if 0 <= obj <= 0xFFFF:
                    w(_pack_binint2(_BININT2_CODE, obj))
                    return
                if -0x80000000 <= obj <= 0x7FFFFFFF:
                    w(_pack_binint(_BININT_CODE, obj))
                    return
                if obj > 0 and proto2:
                    nbytes = (obj.bit_length() >> 3) + 1
                    if nbytes < 256:
                        w(_LONG1_BY_SIZE[nbytes])
                        w(obj.to_bytes(nbytes, "little", signed=True))
                        return
            elif 0 <= obj <= 0xFF:
                w(_TEXT_INT[obj])
                return
            elif -0x80000000 <= obj <= 0x7FFFFFFF:
                w(b"I%d\n" % obj)
                return
            save_int(obj)
            return
        if obj is None:
            app(_NONE)
            return
        if t is float:
            if binary:
                w(_pack_binfloat(_BINFLOAT_CODE, obj))
            else:
                save_float(obj)
            return
        if t is bool:
            if proto2:
                app(_NEWTRUE if obj else _NEWFALSE)
            else:
                save_bool(obj)
            return
        x = memo_get(id(obj))
        if x is not None:
            write_get(x[0])
            return
        handler = containers_get(t)
        if handler is not None:
            handler(obj)
            return
        save_other(obj, t)

    return run


def _checked_extension_code(obj, code):
    """The registry's code for obj as the C pickler validates it (errors per release)."""
    if _VERSION_QUIRKS["ext_code_plain_errors"]:
        code = operator.index(code)  # TypeError for anything but an int
        if not -(2**63) <= code < 2**63:
            raise OverflowError("Python int too large to convert to C long")
        if code <= 0 or code > 0x7FFFFFFF:
            raise RuntimeError("extension code %d is out of range" % code)
        return code
    if not isinstance(code, int):
        raise PicklingError("Can't pickle %r: extension code %r isn't an integer" % (obj, code))
    if not -(2**63) <= code < 2**63:
        raise OverflowError("Python int too large to convert to C long")
    if code <= 0 or code > 0x7FFFFFFF:
        raise PicklingError("Can't pickle %r: extension code %d is out of range" % (obj, code))
    return code


def _is_iterator(obj):
    return hasattr(type(obj), "__next__")


def _get_item(mapping, key):
    try:
        return mapping[key]
    except KeyError:
        return _MISSING


def dump(obj, file, protocol=None, *, fix_imports=True, buffer_callback=None):
    """Write the pickled representation of obj to the open binary file."""
    Pickler(file, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback).dump(obj)


def dumps(obj, protocol=None, *, fix_imports=True, buffer_callback=None):
    """Return the pickled representation of obj as bytes, identical to ``pickle.dumps``."""
    if protocol is None:
        protocol = DEFAULT_PROTOCOL
    elif protocol < 0:
        protocol = HIGHEST_PROTOCOL
    if buffer_callback is not None or not 0 <= protocol <= HIGHEST_PROTOCOL:
        # Uncommon: validate through the class and build a one-off engine.
        pickler = Pickler(_NO_FILE, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback)
        run = _make_engine(pickler.proto, pickler.fix_imports, 0)
        return run(obj, {}, False, (None, _MISSING, None, buffer_callback))
    key = (protocol, bool(fix_imports) and protocol < 3)
    pool = _ENGINES.setdefault(key, [])
    run = pool.pop() if pool else _make_engine(key[0], key[1], 0)
    try:
        return run(obj, {}, False)
    finally:
        pool.append(run)


# Idle engines for dumps(), by (protocol, fix_imports); see _make_engine.
_ENGINES = {}

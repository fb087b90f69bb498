"""Version-neutral view of a marshalled code object of any CPython 3.8+.

``read_code(data, python_version=(3, 12))`` decodes a code object written by
that CPython version, on any interpreter, into a ``CodeInfo``: names,
argument counts, flags by name, names/varnames/cellvars/freevars (derived
from localsplusnames/kinds on 3.11+), constants (nested code objects as
CodeInfo), raw bytecode, line ranges per instruction offset and the
exception table.  Nothing is imported, executed or built from the data.

``CodeInfo.to_code()`` turns it into a live code object only when it was
produced by the running interpreter's version (and, for a .pyc, the same
magic number); otherwise it raises ``CodeVersionError`` naming both.
"""

import collections
import dataclasses
import reprlib
from typing import Any, Optional, Tuple

from . import codeinfo_layout as _layout
from . import codeinfo_lines as _lines
from .marshal_codec import MarshalError, Reader, _LiveCodeBuilder, _Writer

__all__ = ["CodeInfo", "read_code", "CodeVersionError", "flag_names", "running_magic", "safe_repr"]

RUNNING = _layout.RUNNING

# (bit, name, first version having it, first version without it)
_FLAGS = (
    (0x0001, "OPTIMIZED", (3, 0), None),
    (0x0002, "NEWLOCALS", (3, 0), None),
    (0x0004, "VARARGS", (3, 0), None),
    (0x0008, "VARKEYWORDS", (3, 0), None),
    (0x0010, "NESTED", (3, 0), None),
    (0x0020, "GENERATOR", (3, 0), None),
    (0x0040, "NOFREE", (3, 0), (3, 10)),
    (0x0080, "COROUTINE", (3, 5), None),
    (0x0100, "ITERABLE_COROUTINE", (3, 5), None),
    (0x0200, "ASYNC_GENERATOR", (3, 6), None),
    (0x20000, "FUTURE_DIVISION", (3, 0), None),
    (0x40000, "FUTURE_ABSOLUTE_IMPORT", (3, 0), None),
    (0x80000, "FUTURE_WITH_STATEMENT", (3, 0), None),
    (0x100000, "FUTURE_PRINT_FUNCTION", (3, 0), None),
    (0x200000, "FUTURE_UNICODE_LITERALS", (3, 0), None),
    (0x400000, "FUTURE_BARRY_AS_BDFL", (3, 0), None),
    (0x800000, "FUTURE_GENERATOR_STOP", (3, 5), None),
    (0x1000000, "FUTURE_ANNOTATIONS", (3, 7), None),
    (0x4000000, "HAS_DOCSTRING", (3, 14), None),
    (0x8000000, "METHOD", (3, 14), None),
)


class CodeVersionError(ValueError):
    """A code object of one CPython version cannot become a live code object
    on an interpreter of another."""


def flag_names(flags, python_version):
    """Names of the CO_* bits set in ``flags`` for that CPython version;
    bits without a name there appear as hex."""
    version = tuple(python_version[:2])
    names = []
    known = 0
    for bit, name, since, until in _FLAGS:
        if since <= version and (until is None or version < until):
            known |= bit
            if flags & bit:
                names.append(name)
    rest = flags & ~known & 0xFFFFFFFF
    bit = 1
    while rest:
        if rest & bit:
            names.append("0x%x" % bit)
            rest &= ~bit
        bit <<= 1
    return tuple(names)


def running_magic():
    import importlib.util

    return int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little")


def running_bytecode_problem(info) -> Optional[str]:
    """Why ``info``'s bytecode (and its nested code's) is not the running interpreter's, or None.

    Another version's code object can read with this version's marshal layout
    (3.11-3.13 share one), and ``marshal.loads`` builds whatever it is given.
    Checked against this interpreter's own opcode table: every opcode defined,
    and, from 3.11 on, each followed by the inline CACHE units it takes.
    """
    import dis

    caches = getattr(dis, "_inline_cache_entries", None)
    if isinstance(caches, dict):  # 3.13: by opcode name
        caches = [caches.get(name, 0) for name in dis.opname]
    cache_op = dis.opmap.get("CACHE")
    stack = [info]
    while stack:
        code = stack.pop()
        stack.extend(c for c in code.consts if isinstance(c, CodeInfo))
        raw = code.code
        i, size = 0, len(raw)
        if size % 2:
            return "%s: bytecode of odd length %d" % (code.name, size)
        while i < size:
            op = raw[i]
            if dis.opname[op].startswith("<"):
                return "%s: opcode %d at offset %d is not defined in this Python" % (code.name, op, i)
            i += 2
            for _ in range(caches[op] if caches else 0):
                if i >= size or raw[i] != cache_op:
                    return ("%s: %s at offset %d is not followed by its inline caches"
                            % (code.name, dis.opname[op], i - 2))
                i += 2
    return None


@dataclasses.dataclass(frozen=True)
class CodeInfo:
    """One code object, as written by CPython ``python_version``."""

    python_version: Tuple[int, int]
    name: str
    qualname: Optional[str]  # 3.11+
    filename: str
    firstlineno: int
    argcount: int
    posonlyargcount: int
    kwonlyargcount: int
    nlocals: int
    stacksize: int
    flags: int
    code: bytes
    consts: Tuple[Any, ...]
    names: Tuple[str, ...]
    varnames: Tuple[str, ...]
    cellvars: Tuple[str, ...]
    freevars: Tuple[str, ...]
    linetable: bytes  # lnotab (3.8-3.9), linetable (3.10), locations (3.11+)
    exceptiontable: Optional[bytes] = None  # 3.11+
    localsplusnames: Optional[Tuple[str, ...]] = None  # 3.11+
    localspluskinds: Optional[bytes] = None  # 3.11+
    magic: Optional[int] = dataclasses.field(default=None, compare=False)

    # derived, version-neutral views

    @property
    def flag_names(self):
        return flag_names(self.flags, self.python_version)

    @property
    def line_format(self):
        return _lines.line_format(self.python_version)

    @property
    def lines(self):
        """[(start, end, line or None)] like co_lines() of that version."""
        return _lines.decode_lines(self.python_version, self.linetable, self.firstlineno, len(self.code))

    @property
    def line_starts(self):
        """[(offset, line)] where source lines start (dis.findlinestarts)."""
        return _lines.line_starts(self.python_version, self.linetable, self.firstlineno, len(self.code))

    @property
    def exception_entries(self):
        """[ExceptionEntry(start, end, target, depth, lasti)] (3.11+; [] before)."""
        if self.exceptiontable is None:
            return []
        return _lines.decode_exception_table(self.exceptiontable)

    def walk(self):
        """This code object and every nested one, depth first."""
        stack = [self]
        while stack:
            info = stack.pop()
            yield info
            stack.extend(reversed([c for c in info.consts if isinstance(c, CodeInfo)]))

    # marshal support: how to write this record back

    def _marshal_fields(self):
        layout = _layout.layout_for(self.python_version)
        values = []
        for name, _kind in layout:
            values.append(getattr(self, name))
        return layout, values

    def to_code(self):
        """A live code object; only for the running interpreter's version."""
        running = RUNNING
        if self.python_version != running:
            raise CodeVersionError(
                "code object was written by CPython %d.%d%s; the running interpreter is CPython %d.%d "
                "(magic %d): it cannot be turned into a live code object here"
                % (self.python_version + (_magic_note(self.magic),) + running + (running_magic(),))
            )
        if self.magic is not None and self.magic != running_magic():
            raise CodeVersionError(
                "code object has magic number %d (CPython %d.%d pre-release or other build); the running "
                "CPython %d.%d has magic %d" % ((self.magic,) + self.python_version + running + (running_magic(),))
            )
        return _build_live(self)

    def to_dict(self, *, max_const_len=200):
        """JSON-able summary (nested code objects included)."""
        consts = []
        for c in self.consts:
            if isinstance(c, CodeInfo):
                consts.append({"code": c.to_dict(max_const_len=max_const_len)})
            else:
                consts.append({"type": type(c).__name__, "repr": safe_repr(c, max_const_len)})
        out = collections.OrderedDict()
        out["name"] = self.name
        out["qualname"] = self.qualname
        out["filename"] = self.filename
        out["firstlineno"] = self.firstlineno
        out["argcount"] = self.argcount
        out["posonlyargcount"] = self.posonlyargcount
        out["kwonlyargcount"] = self.kwonlyargcount
        out["nlocals"] = self.nlocals
        out["stacksize"] = self.stacksize
        out["flags"] = list(self.flag_names)
        out["names"] = list(self.names)
        out["varnames"] = list(self.varnames)
        out["cellvars"] = list(self.cellvars)
        out["freevars"] = list(self.freevars)
        out["code_size"] = len(self.code)
        try:
            out["line_starts"] = [list(p) for p in self.line_starts]
        except MarshalError as exc:
            out["line_starts_error"] = str(exc)
        try:
            out["exception_table"] = [list(e) for e in self.exception_entries]
        except MarshalError as exc:
            out["exception_table_error"] = str(exc)
        out["consts"] = consts
        return dict(out)


class _BoundedRepr(reprlib.Repr):
    """repr that stays small and never recurses deeply or converts a huge
    int to decimal (3.11+ refuses more than 4300 digits)."""

    def __init__(self, limit):
        super().__init__()
        self.maxlevel = 6
        self.maxstring = self.maxother = self.maxlong = limit

    def repr_int(self, x, level):
        if x.bit_length() > 2000:
            return "<int of %d bits>" % x.bit_length()
        return super().repr_int(x, level)

    def repr_CodeInfo(self, x, level):
        return "<code %s>" % x.name


def safe_repr(value, limit=200):
    text = _BoundedRepr(limit).repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _magic_note(magic):
    return "" if magic is None else " (magic %d)" % magic


def _build_live(info):
    """Live code from a CodeInfo tree, through the interpreter's own loader."""
    builder = _LiveCodeBuilder()
    converted = {}

    def convert(value):
        if isinstance(value, CodeInfo):
            got = converted.get(id(value))
            if got is None:
                got = live(value)
                converted[id(value)] = got
            return got
        if type(value) is tuple:
            return tuple(convert(v) for v in value)
        if type(value) is frozenset:
            return frozenset(convert(v) for v in value)
        return value

    def live(node):
        layout, values = node._marshal_fields()
        fields = {}
        for (name, _kind), value in zip(layout, values):
            fields[name] = convert(value) if name == "consts" else value
        return builder(fields, 0)

    # nesting depth of code objects is bounded by the marshal depth limit,
    # far below what this recursion can take per level
    return live(info)


# --- reading ----------------------------------------------------------------

def _check_str_tuple(value, field, offset):
    if type(value) is not tuple or any(type(v) is not str for v in value):
        raise MarshalError("bad code object: %s is %s, not a tuple of str" % (field, _kind(value)), offset)


def _check(value, types, field, offset):
    if type(value) not in types:
        raise MarshalError(
            "bad code object: %s is %s, not %s" % (field, _kind(value), " or ".join(t.__name__ for t in types)),
            offset,
        )


def _kind(value):
    return type(value).__name__


class _CodeInfoBuilder:
    def __init__(self, version, magic):
        self.version = version
        self.magic = magic

    def __call__(self, f, offset):
        version = self.version
        _check(f["code"], (bytes,), "co_code", offset)
        _check(f["consts"], (tuple,), "co_consts", offset)
        _check_str_tuple(f["names"], "co_names", offset)
        _check(f["filename"], (str,), "co_filename", offset)
        _check(f["name"], (str,), "co_name", offset)
        _check(f["linetable"], (bytes,), "the line table", offset)
        if version >= (3, 11):
            _check_str_tuple(f["localsplusnames"], "co_localsplusnames", offset)
            _check(f["localspluskinds"], (bytes,), "co_localspluskinds", offset)
            _check(f["qualname"], (str,), "co_qualname", offset)
            _check(f["exceptiontable"], (bytes,), "co_exceptiontable", offset)
            names, kinds = f["localsplusnames"], f["localspluskinds"]
            if len(names) != len(kinds):
                raise MarshalError(
                    "bad code object: %d localsplus names but %d kinds" % (len(names), len(kinds)), offset)
            varnames, cellvars, freevars = _layout.localsplus_split(names, kinds)
            extra = dict(
                qualname=f["qualname"], exceptiontable=f["exceptiontable"],
                localsplusnames=names, localspluskinds=kinds, nlocals=len(varnames),
            )
        else:
            for field in ("varnames", "freevars", "cellvars"):
                _check_str_tuple(f[field], "co_" + field, offset)
            varnames, cellvars, freevars = f["varnames"], f["cellvars"], f["freevars"]
            extra = dict(qualname=None, nlocals=f["nlocals"])
        return CodeInfo(
            python_version=version,
            name=f["name"],
            filename=f["filename"],
            firstlineno=f["firstlineno"],
            argcount=f["argcount"],
            posonlyargcount=f["posonlyargcount"],
            kwonlyargcount=f["kwonlyargcount"],
            stacksize=f["stacksize"],
            flags=f["flags"],
            code=f["code"],
            consts=f["consts"],
            names=f["names"],
            varnames=varnames,
            cellvars=cellvars,
            freevars=freevars,
            linetable=f["linetable"],
            magic=self.magic,
            **extra
        )


def make_reader(data, python_version, magic=None):
    """A marshal Reader that decodes code objects of ``python_version``."""
    version = tuple(python_version[:2])
    try:
        layout = _layout.layout_for(version)
    except ValueError as exc:
        raise MarshalError(str(exc)) from None
    return Reader(
        data,
        code_layout=layout,
        build_code=_CodeInfoBuilder(version, magic),
        allow_slice=version >= (3, 14),
    )


def read_code(data, *, python_version, magic=None):
    """Decode a marshalled code object written by CPython ``python_version``.

    Raises MarshalError (a ValueError with the byte offset) on bad data, or
    when the value is not a code object.
    """
    value = make_reader(data, python_version, magic).read()
    if not isinstance(value, CodeInfo):
        raise MarshalError("marshal data holds %s, not a code object" % type(value).__name__, 0)
    return value


def from_live(code):
    """CodeInfo of a live code object of the running interpreter (via our own
    writer and reader, so it equals what read_code gives for its bytes)."""
    writer = _Writer(4)
    writer.write(code)
    return read_code(bytes(writer.out), python_version=RUNNING)

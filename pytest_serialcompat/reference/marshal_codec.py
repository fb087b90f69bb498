"""Pure-Python marshal: format versions 0-4 (and 5, which adds slices).

``marshal_loads(data)`` decodes what the running interpreter's
``marshal.loads`` decodes, with one documented error type for bad input
(``MarshalError``, a ``ValueError`` naming the byte offset), no recursion
(an explicit stack: nesting up to CPython's limit of 2000 works on every
interpreter), and bounded time and memory: a declared length or count larger
than the data left allocates nothing.

``marshal_dumps(value, version)`` writes CPython's bytes.  Versions 0-2 are
byte-identical to ``marshal.dumps``.  From version 3 on CPython marks an
object for back-reference (FLAG_REF) when its *reference count* is above one
and writes a string as "interned" when the process happened to intern it;
neither is a property of the value.  This writer decides both from the value
alone (see ``docs/marshal.md``, "Where marshal_dumps differs"), so its bytes
can differ while every decoder reads back an equal value.

The reader and writer are generic over code objects: a layout table
(``codeinfo_layout``) says which fields a code object of a given CPython
version has, and a hook decides what a decoded code object becomes (a live
code object here, a ``CodeInfo`` in ``codeinfo.read_code``).
"""


import marshal as _c_marshal

from . import codeinfo_layout as _layout
from .marshal_format import (  # noqa: F401  (the type codes, for callers)
    TYPE_ASCII, TYPE_ASCII_INTERNED, TYPE_BINARY_COMPLEX, TYPE_BINARY_FLOAT,
    TYPE_CODE, TYPE_COMPLEX, TYPE_DICT, TYPE_ELLIPSIS,
    TYPE_FALSE, TYPE_FLOAT, TYPE_FROZENSET, TYPE_INT,
    TYPE_INT64, TYPE_INTERNED, TYPE_LIST, TYPE_LONG,
    TYPE_NAMES, TYPE_NONE, TYPE_NULL, TYPE_REF,
    TYPE_SET, TYPE_SHORT_ASCII, TYPE_SHORT_ASCII_INTERNED, TYPE_SLICE,
    TYPE_SMALL_TUPLE, TYPE_STOPITER, TYPE_STRING, TYPE_TRUE,
    TYPE_TUPLE, TYPE_UNICODE, TYPE_UNKNOWN, FLAG_REF,
)
from .marshal_format import HIGHEST_VERSION, MAX_DEPTH, RUNNING_VERSION, MarshalError
from .marshal_reader import Reader
from .marshal_writer import Writer as _Writer

__all__ = [
    "marshal_dumps",
    "marshal_loads",
    "MarshalError",
    "TYPE_NAMES",
    "MAX_DEPTH",
    "HIGHEST_VERSION",
    "Reader",
]


# --- live code objects of the running interpreter ----------------------------

class _LiveCodeBuilder:
    """Turns decoded code fields into a code object of the running interpreter.

    Only the interpreter can create a code object with its exact internal
    layout (3.12+ marks inlined-comprehension locals hidden, which
    ``types.CodeType`` cannot express), and its one constructor for exactly
    these fields is ``marshal.loads``.  So the fields, already decoded and
    checked here, are written back as one marshal record and handed to it.
    Nested code objects built earlier in the same load are written from their
    own recorded fields, never re-derived.
    """

    def __init__(self):
        self.records = {}  # id(live code) -> (fields, code): exact re-encoding

    def __call__(self, fields, offset):
        problem = _layout.check_constructible(fields)
        if problem is not None:
            raise MarshalError("bad marshal data (%s)" % problem, offset)
        layout = _layout.layout_for(_layout.RUNNING)
        values = [fields[name] for name, _kind in layout]
        writer = _Writer(4, refs=False, code_records=self.records)
        try:
            writer.write_code_record(layout, values)
            code = _c_marshal.loads(bytes(writer.out))
        except MarshalError as exc:
            raise MarshalError("bad marshal data (code object: %s)" % exc, offset) from None
        except Exception as exc:  # the interpreter's own validation
            raise MarshalError("bad marshal data (code object rejected: %s: %s)" % (type(exc).__name__, exc), offset) from None
        self.records[id(code)] = (values, code)
        return code


def marshal_loads(data, *, allow_code=True):
    """Decode marshal ``data`` exactly as this interpreter's marshal.loads does.

    Bytes after the value are ignored, as by marshal.loads.  Bad data raises
    MarshalError (a ValueError) with the byte offset.
    """
    reader = Reader(
        data,
        code_layout=_layout.layout_for(_layout.RUNNING) if allow_code else None,
        build_code=_LiveCodeBuilder(),
        allow_slice=RUNNING_VERSION >= 5,
    )
    return reader.read()



def marshal_dumps(value, version=4, *, allow_code=True):
    """Serialise ``value`` in marshal format ``version`` (0-5)."""
    if type(version) is not int or not 0 <= version <= HIGHEST_VERSION:
        raise ValueError("marshal version must be 0..%d, not %r" % (HIGHEST_VERSION, version))
    writer = _Writer(version, allow_code=allow_code)
    writer.write(value)
    return bytes(writer.out)

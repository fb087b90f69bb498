"""The marshal format as data: type codes, limits and the one error type.

Type codes, FLAG_REF and the limits come from CPython's Python/marshal.c;
they are the same in format versions 0-4 on 3.8-3.13, and version 5 (3.14)
adds TYPE_SLICE.
"""

import marshal as _c_marshal
import struct

__all__ = ["MarshalError", "TYPE_NAMES", "FLAG_REF", "MAX_DEPTH", "HIGHEST_VERSION"]

# --- data model: the type codes of Python/marshal.c --------------------------

TYPE_NULL = 0x30  # '0'  terminates a dict; never a value
TYPE_NONE = 0x4E  # 'N'
TYPE_FALSE = 0x46  # 'F'
TYPE_TRUE = 0x54  # 'T'
TYPE_STOPITER = 0x53  # 'S'
TYPE_ELLIPSIS = 0x2E  # '.'
TYPE_INT = 0x69  # 'i'  signed 32-bit
TYPE_INT64 = 0x49  # 'I'  signed 64-bit; read only (not written since 3.4)
TYPE_FLOAT = 0x66  # 'f'  text float (versions 0-1)
TYPE_BINARY_FLOAT = 0x67  # 'g'
TYPE_COMPLEX = 0x78  # 'x'  text complex (versions 0-1)
TYPE_BINARY_COMPLEX = 0x79  # 'y'
TYPE_LONG = 0x6C  # 'l'  base 2**15 digits
TYPE_STRING = 0x73  # 's'  bytes
TYPE_INTERNED = 0x74  # 't'
TYPE_REF = 0x72  # 'r'
TYPE_TUPLE = 0x28  # '('
TYPE_LIST = 0x5B  # '['
TYPE_DICT = 0x7B  # '{'
TYPE_CODE = 0x63  # 'c'
TYPE_UNICODE = 0x75  # 'u'
TYPE_UNKNOWN = 0x3F  # '?'
TYPE_SET = 0x3C  # '<'
TYPE_FROZENSET = 0x3E  # '>'
TYPE_ASCII = 0x61  # 'a'
TYPE_ASCII_INTERNED = 0x41  # 'A'
TYPE_SMALL_TUPLE = 0x29  # ')'
TYPE_SHORT_ASCII = 0x7A  # 'z'
TYPE_SHORT_ASCII_INTERNED = 0x5A  # 'Z'
TYPE_SLICE = 0x3A  # ':'  version 5 (CPython 3.14+)
FLAG_REF = 0x80

TYPE_NAMES = {
    TYPE_NULL: "NULL", TYPE_NONE: "NONE", TYPE_FALSE: "FALSE", TYPE_TRUE: "TRUE",
    TYPE_STOPITER: "STOPITER", TYPE_ELLIPSIS: "ELLIPSIS", TYPE_INT: "INT",
    TYPE_INT64: "INT64", TYPE_FLOAT: "FLOAT", TYPE_BINARY_FLOAT: "BINARY_FLOAT",
    TYPE_COMPLEX: "COMPLEX", TYPE_BINARY_COMPLEX: "BINARY_COMPLEX",
    TYPE_LONG: "LONG", TYPE_STRING: "STRING", TYPE_INTERNED: "INTERNED",
    TYPE_REF: "REF", TYPE_TUPLE: "TUPLE", TYPE_LIST: "LIST", TYPE_DICT: "DICT",
    TYPE_CODE: "CODE", TYPE_UNICODE: "UNICODE", TYPE_SET: "SET",
    TYPE_FROZENSET: "FROZENSET", TYPE_ASCII: "ASCII",
    TYPE_ASCII_INTERNED: "ASCII_INTERNED", TYPE_SMALL_TUPLE: "SMALL_TUPLE",
    TYPE_SHORT_ASCII: "SHORT_ASCII", TYPE_SHORT_ASCII_INTERNED: "SHORT_ASCII_INTERNED",
    TYPE_SLICE: "SLICE",
}

MAX_DEPTH = 2000  # MAX_MARSHAL_STACK_DEPTH outside Windows
HIGHEST_VERSION = 5
RUNNING_VERSION = _c_marshal.version  # 4 on 3.8-3.13, 5 on 3.14+
SIZE32_MAX = 0x7FFFFFFF
LONG_DIGIT_BITS = 15

# Work allowed to hash one dict key or set element.  Tuples do not cache their
# hash, so a few hundred bytes of back-references can describe a tuple whose
# hash takes 2**100 steps; CPython would hang, we refuse.
HASH_WORK_LIMIT = 1000000


class MarshalError(ValueError):
    """Marshal data that is truncated, corrupt or exceeds a limit, or a value
    that cannot be marshalled.  ``offset`` is the byte position where the
    problem was found (``None`` when writing)."""

    def __init__(self, message, offset=None):
        if offset is not None:
            message = "%s (at byte %d)" % (message, offset)
        super().__init__(message)
        self.offset = offset


# little-endian fields of the stream
INT32 = struct.Struct("<i")
INT64 = struct.Struct("<q")
DOUBLE = struct.Struct("<d")
DOUBLE2 = struct.Struct("<dd")


class _Null:
    """The NULL object of the stream: ends a dict, an error anywhere else."""

    __slots__ = ()

    def __repr__(self):
        return "<marshal NULL>"


NULL = _Null()  # the stream's NULL object (TYPE_NULL)

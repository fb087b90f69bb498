"""The pickle opcode table: the data model shared by the pickler, unpickler and analyzer.

Each opcode is a named one-byte constant (as in ``Lib/pickle.py``) and an
:class:`Opcode` record saying how its argument is encoded and which protocol
introduced it.  Nothing here executes anything.
"""

from struct import Struct
from typing import Dict, NamedTuple

# --- argument encodings -------------------------------------------------------
# Each names how the bytes after the opcode byte are laid out.
ARG_NONE = "none"
ARG_UINT1 = "uint1"  # 1-byte unsigned
ARG_UINT2 = "uint2"  # 2-byte little-endian unsigned
ARG_INT4 = "int4"  # 4-byte little-endian signed
ARG_UINT4 = "uint4"  # 4-byte little-endian unsigned
ARG_UINT8 = "uint8"  # 8-byte little-endian unsigned
ARG_DECIMALNL_SHORT = "decimalnl_short"  # text int (or 00/01 bools) up to newline
ARG_DECIMALNL_LONG = "decimalnl_long"  # text long with optional trailing L
ARG_FLOATNL = "floatnl"  # repr of a float up to newline
ARG_FLOAT8 = "float8"  # 8-byte big-endian IEEE double
ARG_LONG1 = "long1"  # 1-byte length + two's complement little-endian
ARG_LONG4 = "long4"  # 4-byte signed length + two's complement little-endian
ARG_STRINGNL = "stringnl"  # quoted repr of a str8 up to newline
ARG_STRINGNL_NOESCAPE = "stringnl_noescape"  # raw text up to newline
ARG_STRINGNL_NOESCAPE_PAIR = "stringnl_noescape_pair"  # two such lines
ARG_STRING1 = "string1"  # 1-byte length + bytes (py2 str)
ARG_STRING4 = "string4"  # 4-byte signed length + bytes (py2 str)
ARG_BYTES1 = "bytes1"
ARG_BYTES4 = "bytes4"
ARG_BYTES8 = "bytes8"
ARG_BYTEARRAY8 = "bytearray8"
ARG_UNICODESTRINGNL = "unicodestringnl"  # raw-unicode-escape text up to newline
ARG_UNICODESTRING1 = "unicodestring1"
ARG_UNICODESTRING4 = "unicodestring4"
ARG_UNICODESTRING8 = "unicodestring8"


class Opcode(NamedTuple):
    name: str
    code: int
    arg: str
    proto: int
    doc: str


# --- protocol 0 and 1 -----------------------------------------------------------
MARK = b"("
STOP = b"."
POP = b"0"
POP_MARK = b"1"
DUP = b"2"
FLOAT = b"F"
INT = b"I"
BININT = b"J"
BININT1 = b"K"
LONG = b"L"
BININT2 = b"M"
NONE = b"N"
PERSID = b"P"
BINPERSID = b"Q"
REDUCE = b"R"
STRING = b"S"
BINSTRING = b"T"
SHORT_BINSTRING = b"U"
UNICODE = b"V"
BINUNICODE = b"X"
APPEND = b"a"
BUILD = b"b"
GLOBAL = b"c"
DICT = b"d"
EMPTY_DICT = b"}"
APPENDS = b"e"
GET = b"g"
BINGET = b"h"
INST = b"i"
LONG_BINGET = b"j"
LIST = b"l"
EMPTY_LIST = b"]"
OBJ = b"o"
PUT = b"p"
BINPUT = b"q"
LONG_BINPUT = b"r"
SETITEM = b"s"
TUPLE = b"t"
EMPTY_TUPLE = b")"
SETITEMS = b"u"
BINFLOAT = b"G"
# --- protocol 2 -------------------------------------------------------------------
PROTO = b"\x80"
NEWOBJ = b"\x81"
EXT1 = b"\x82"
EXT2 = b"\x83"
EXT4 = b"\x84"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
NEWTRUE = b"\x88"
NEWFALSE = b"\x89"
LONG1 = b"\x8a"
LONG4 = b"\x8b"
# --- protocol 3 -------------------------------------------------------------------
BINBYTES = b"B"
SHORT_BINBYTES = b"C"
# --- protocol 4 -------------------------------------------------------------------
SHORT_BINUNICODE = b"\x8c"
BINUNICODE8 = b"\x8d"
BINBYTES8 = b"\x8e"
EMPTY_SET = b"\x8f"
ADDITEMS = b"\x90"
FROZENSET = b"\x91"
NEWOBJ_EX = b"\x92"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
FRAME = b"\x95"
# --- protocol 5 -------------------------------------------------------------------
BYTEARRAY8 = b"\x96"
NEXT_BUFFER = b"\x97"
READONLY_BUFFER = b"\x98"

# Pseudo-values pickle.py also defines for protocol 0/1 booleans.
TRUE = b"I01\n"
FALSE = b"I00\n"

HIGHEST_PROTOCOL = 5
DEFAULT_PROTOCOL = 4

# The fixed-size binary arguments, declared once for the pickler, the unpickler and the
# analyzer: integers little-endian, BINFLOAT's double big-endian (as pickle writes them).
UINT2 = Struct("<H")
INT4 = Struct("<i")
UINT4 = Struct("<I")
UINT8 = Struct("<Q")
FLOAT8 = Struct(">d")

#: The first Python that reads each pickle protocol: the one table the plugin, the
#: matrix and the linter (SC103's ``requires-python`` check) share.
FIRST_PYTHON_READING = {0: (1, 0), 1: (1, 5), 2: (2, 3), 3: (3, 0), 4: (3, 4), 5: (3, 8)}


def highest_protocol_read_by(major_minor) -> int:
    """The newest pickle protocol a Python of that ``(major, minor)`` reads."""
    return max(p for p, since in FIRST_PYTHON_READING.items() if since <= tuple(major_minor))
FRAME_SIZE_MIN = 4
FRAME_SIZE_TARGET = 64 * 1024
BATCHSIZE = 1000

_TABLE = [
    # name, arg encoding, protocol, doc
    ("MARK", ARG_NONE, 0, "push the mark sentinel"),
    ("STOP", ARG_NONE, 0, "end of pickle; the top of stack is the result"),
    ("POP", ARG_NONE, 0, "discard the top of stack (or a mark)"),
    ("POP_MARK", ARG_NONE, 1, "discard everything down to the topmost mark"),
    ("DUP", ARG_NONE, 0, "push a copy of the top of stack"),
    ("FLOAT", ARG_FLOATNL, 0, "float from its text repr"),
    ("INT", ARG_DECIMALNL_SHORT, 0, "int (or bool as 00/01) from text"),
    ("BININT", ARG_INT4, 1, "4-byte signed int"),
    ("BININT1", ARG_UINT1, 1, "1-byte unsigned int"),
    ("LONG", ARG_DECIMALNL_LONG, 0, "long int from text"),
    ("BININT2", ARG_UINT2, 1, "2-byte unsigned int"),
    ("NONE", ARG_NONE, 0, "push None"),
    ("PERSID", ARG_STRINGNL_NOESCAPE, 0, "persistent object by text id"),
    ("BINPERSID", ARG_NONE, 1, "persistent object, id from the stack"),
    ("REDUCE", ARG_NONE, 0, "call stack[-2](*stack[-1])"),
    ("STRING", ARG_STRINGNL, 0, "python 2 str from a quoted repr"),
    ("BINSTRING", ARG_STRING4, 1, "python 2 str, 4-byte length"),
    ("SHORT_BINSTRING", ARG_STRING1, 1, "python 2 str, 1-byte length"),
    ("UNICODE", ARG_UNICODESTRINGNL, 0, "str from raw-unicode-escape text"),
    ("BINUNICODE", ARG_UNICODESTRING4, 1, "UTF-8 str, 4-byte length"),
    ("APPEND", ARG_NONE, 0, "append stack top to the list below it"),
    ("BUILD", ARG_NONE, 0, "apply state: __setstate__ or __dict__ update"),
    ("GLOBAL", ARG_STRINGNL_NOESCAPE_PAIR, 0, "push module.qualname"),
    ("DICT", ARG_NONE, 0, "dict from mark-delimited key/value pairs"),
    ("EMPTY_DICT", ARG_NONE, 1, "push {}"),
    ("APPENDS", ARG_NONE, 1, "extend the list below the mark"),
    ("GET", ARG_DECIMALNL_SHORT, 0, "push memo[n], text index"),
    ("BINGET", ARG_UINT1, 1, "push memo[n], 1-byte index"),
    ("INST", ARG_STRINGNL_NOESCAPE_PAIR, 0, "build a class instance (protocol 0)"),
    ("LONG_BINGET", ARG_UINT4, 1, "push memo[n], 4-byte index"),
    ("LIST", ARG_NONE, 0, "list from mark-delimited items"),
    ("EMPTY_LIST", ARG_NONE, 1, "push []"),
    ("OBJ", ARG_NONE, 1, "build a class instance (protocol 1)"),
    ("PUT", ARG_DECIMALNL_SHORT, 0, "memo[n] = top, text index"),
    ("BINPUT", ARG_UINT1, 1, "memo[n] = top, 1-byte index"),
    ("LONG_BINPUT", ARG_UINT4, 1, "memo[n] = top, 4-byte index"),
    ("SETITEM", ARG_NONE, 0, "dict[key] = value"),
    ("TUPLE", ARG_NONE, 0, "tuple from mark-delimited items"),
    ("EMPTY_TUPLE", ARG_NONE, 1, "push ()"),
    ("SETITEMS", ARG_NONE, 1, "update dict from mark-delimited pairs"),
    ("BINFLOAT", ARG_FLOAT8, 1, "8-byte big-endian float"),
    ("PROTO", ARG_UINT1, 2, "protocol version"),
    ("NEWOBJ", ARG_NONE, 2, "cls.__new__(cls, *args)"),
    ("EXT1", ARG_UINT1, 2, "copyreg extension code, 1 byte"),
    ("EXT2", ARG_UINT2, 2, "copyreg extension code, 2 bytes"),
    ("EXT4", ARG_INT4, 2, "copyreg extension code, 4 bytes"),
    ("TUPLE1", ARG_NONE, 2, "1-tuple from the top of stack"),
    ("TUPLE2", ARG_NONE, 2, "2-tuple from the top of stack"),
    ("TUPLE3", ARG_NONE, 2, "3-tuple from the top of stack"),
    ("NEWTRUE", ARG_NONE, 2, "push True"),
    ("NEWFALSE", ARG_NONE, 2, "push False"),
    ("LONG1", ARG_LONG1, 2, "int, 1-byte length two's complement"),
    ("LONG4", ARG_LONG4, 2, "int, 4-byte length two's complement"),
    ("BINBYTES", ARG_BYTES4, 3, "bytes, 4-byte length"),
    ("SHORT_BINBYTES", ARG_BYTES1, 3, "bytes, 1-byte length"),
    ("SHORT_BINUNICODE", ARG_UNICODESTRING1, 4, "UTF-8 str, 1-byte length"),
    ("BINUNICODE8", ARG_UNICODESTRING8, 4, "UTF-8 str, 8-byte length"),
    ("BINBYTES8", ARG_BYTES8, 4, "bytes, 8-byte length"),
    ("EMPTY_SET", ARG_NONE, 4, "push set()"),
    ("ADDITEMS", ARG_NONE, 4, "add mark-delimited items to the set below"),
    ("FROZENSET", ARG_NONE, 4, "frozenset from mark-delimited items"),
    ("NEWOBJ_EX", ARG_NONE, 4, "cls.__new__(cls, *args, **kwargs)"),
    ("STACK_GLOBAL", ARG_NONE, 4, "push module.qualname, both from the stack"),
    ("MEMOIZE", ARG_NONE, 4, "memo[len(memo)] = top"),
    ("FRAME", ARG_UINT8, 4, "frame of the given length follows"),
    ("BYTEARRAY8", ARG_BYTEARRAY8, 5, "bytearray, 8-byte length"),
    ("NEXT_BUFFER", ARG_NONE, 5, "push the next out-of-band buffer"),
    ("READONLY_BUFFER", ARG_NONE, 5, "make the top buffer read-only"),
]

OPCODES: Dict[int, Opcode] = {}
OPCODES_BY_NAME: Dict[str, Opcode] = {}
for _name, _arg, _proto, _doc in _TABLE:
    _op = Opcode(_name, globals()[_name][0], _arg, _proto, _doc)
    OPCODES[_op.code] = _op
    OPCODES_BY_NAME[_name] = _op
del _name, _arg, _proto, _doc, _op

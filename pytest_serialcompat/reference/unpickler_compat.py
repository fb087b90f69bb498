"""Text-mode (protocol 0) argument rules and Python 2 compatibility for the unpickler.

CPython's C unpickler parses the newline-terminated arguments of INT, LONG,
FLOAT, STRING, GET and PUT with C library routines (``strtol``,
``PyOS_string_to_double``, ``PyLong_FromString``) on a NUL-terminated copy of
the line, and that is what decides which Python 2 and hand-written pickles
load.  The functions here reproduce those rules in Python; they take the line
*including* its trailing newline and raise the same built-in exception types
the C code raises (``ValueError``, ``OverflowError``, ``UnicodeDecodeError``).
The unpickler turns those into :class:`~.errors.MalformedPickle` with the
byte offset.

Also here: the Python 2 -> 3 name mapping applied by ``find_class``
(``fix_imports``) and the decoding of Python 2 ``str`` payloads
(``encoding=``/``errors=``).
"""

import codecs
import re
import struct
import sys

import _compat_pickle

__all__ = [
    "parse_int_line",
    "parse_long_line",
    "parse_float_line",
    "parse_memo_index",
    "parse_string_line",
    "decode_unicode_line",
    "decode_py2_str",
    "map_py2_global",
]

# ``long`` of the platform's C compiler: the range ``strtol`` accepts.
_C_LONG_BITS = struct.calcsize("l") * 8
_C_LONG_MIN = -(1 << (_C_LONG_BITS - 1))
_C_LONG_MAX = (1 << (_C_LONG_BITS - 1)) - 1

# strtol(s, &end, 0): C-locale whitespace, optional sign, then a hex number
# (0x followed by at least one hex digit), an octal number (leading 0) or a
# decimal one.  Digits are consumed greedily; ``end`` is where matching stops.
_STRTOL_BASE0 = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))"
)

# PyOS_string_to_double: no leading whitespace, optional sign, then
# inf/infinity/nan (any case) or a decimal literal with optional exponent.
_C_DOUBLE = re.compile(
    rb"[+-]?(?:(?i:infinity|inf|nan)|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_INF_OR_NAN = re.compile(rb"[+-]?(?i:infinity|inf|nan)\Z")


def _c_string(line):
    """The line as C code sees it: cut at the first NUL byte."""
    nul = line.find(b"\0")
    return line if nul < 0 else line[:nul]


def parse_int_line(line):
    """INT: ``I<text>\\n``.  Returns an int, or a bool for ``00``/``01``.

    The C unpickler first tries ``strtol`` with base 0 (so ``010`` is octal 8)
    and treats a three-byte line holding 0 or 1 as a protocol 0 boolean; when
    ``strtol`` fails or overflows it falls back to ``int(text, 0)``.
    """
    text = _c_string(line)
    if not text:  # strtol converts nothing and stops at the NUL: 0
        return bool(0) if len(line) == 3 else 0
    match = _STRTOL_BASE0.match(text)
    if match is not None:
        sign, hex_digits, octal, decimal = match.groups()
        if hex_digits is not None:
            value = int(hex_digits, 16)
        elif octal is not None:
            value = int(octal, 8)
        else:
            value = int(decimal, 10)
        if sign == b"-":
            value = -value
        end = match.end()
        if _C_LONG_MIN <= value <= _C_LONG_MAX and (end == len(text) or text[end] == 0x0A):
            if len(line) == 3 and (value == 0 or value == 1):
                return bool(value)
            return value
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError("could not convert string to int") from None


def _c_int(text, base):
    """``PyLong_FromString``: like ``int(text, base)``, but its error message
    decodes (up to 200 bytes of) the text as UTF-8, which fails first on
    undecodable bytes."""
    try:
        return int(text, base)
    except ValueError as exc:
        if not str(exc).startswith("invalid literal"):
            raise
        shown = text[:200].decode("utf-8")
    raise ValueError("invalid literal for int() with base %d: %r" % (base, shown))


def parse_long_line(line):
    """LONG: ``L<text>L\\n`` (the trailing ``L`` is optional), base 0."""
    if line[-2:-1] == b"L":
        line = line[:-2]
    return _c_int(_c_string(line), 0)


def parse_float_line(line):
    """FLOAT: ``F<repr>\\n`` with the C parser's syntax and overflow rule."""
    text = _c_string(line)
    match = _C_DOUBLE.match(text)
    if match is None:
        raise ValueError("could not convert string to float: %r" % text.decode("latin-1"))
    end = match.end()
    if end != len(text) and text[end] != 0x0A:
        raise ValueError("could not convert string to float")
    literal = match.group()
    value = float(literal)
    if value in (float("inf"), float("-inf")) and not _INF_OR_NAN.match(literal):
        raise OverflowError(
            "value too large to convert to float: %r" % text.decode("latin-1")
        )
    return value


def parse_memo_index(line, opname):
    """GET/PUT: ``g<decimal>\\n``; a Py_ssize_t index, negative PUT refused."""
    index = _c_int(_c_string(line), 10)
    if index > sys.maxsize or index < -sys.maxsize - 1:
        raise OverflowError("Python int too large to convert to C ssize_t")
    if index < 0 and opname == "PUT":
        raise ValueError("negative PUT argument")
    return index


class UnquotedString(ValueError):
    """STRING argument without matching quotes (the caller reports it)."""


def parse_string_line(line):
    """STRING: ``S'<escaped bytes>'\\n`` -> the raw Python 2 ``str`` bytes."""
    body = line[:-1]
    if len(body) < 2 or body[0] != body[-1] or body[0] not in (0x27, 0x22):
        raise UnquotedString("the STRING opcode argument must be quoted")
    return codecs.escape_decode(body[1:-1])[0]


def decode_unicode_line(line):
    """UNICODE: ``V<raw-unicode-escape text>\\n``."""
    return str(line[:-1], "raw-unicode-escape")


def decode_py2_str(raw, encoding, errors):
    """A Python 2 ``str`` payload (STRING, BINSTRING, SHORT_BINSTRING).

    ``encoding="bytes"`` keeps the bytes; anything else decodes them.
    """
    if encoding == "bytes":
        return raw
    return raw.decode(encoding, errors)


def map_py2_global(module, name):
    """``fix_imports``: the Python 3 location of a Python 2 global."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name

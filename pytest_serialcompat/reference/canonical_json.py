"""Canonical JSON: one byte sequence per value, and a strict, bounded reader.

This is the format of the plugin's JSON goldens and of its own manifests.
:func:`canonical_json_dumps` turns a value into the one canonical byte string;
:func:`canonical_json_loads` reads any standard JSON text (canonical or not)
into a value, refusing everything the writer would refuse and anything over
the :class:`JSONLimits`.  Every refusal is a :class:`CanonicalJSONError` (a
``ValueError``) naming the path inside the value (``$.items[3].price``) and,
when reading, the byte offset.  The module imports only the standard library,
so the same file can be loaded on any interpreter from 3.8 on.

Design decisions (docs/canonical-json.md has the long form):

* Canonical form: UTF-8 without a byte order mark, object keys sorted by code
  point (which is UTF-8 byte order), separators ``,`` and ``:`` with no
  whitespace anywhere, no trailing newline.  Strings are raw UTF-8
  (``ensure_ascii`` off); only ``"``, ``\\`` and the control characters
  U+0000-U+001F are escaped, in the stdlib's spelling (``\\n``, ``\\u001f``).
* Types: exactly ``dict`` (str keys), ``list``, ``str``, ``int``, ``float``,
  ``bool`` and ``None``.  Tuples, sets, bytes and subclasses (IntEnum,
  OrderedDict, ...) are refused rather than silently turned into another type,
  so that ``loads(dumps(v))`` always has the types of ``v``.
* Ints vs floats: ints are written in decimal without exponent or point;
  floats with ``float.__repr__``, the shortest text that reads back to the
  same double, which always contains ``.`` or ``e`` (``1.0``, ``1e+16``,
  ``5e-324``).  The reader makes a number with a fraction or exponent a float
  and anything else an int, so ``1.0`` stays a float and ``1`` an int.
  ``-0.0`` is written ``-0.0`` and read back as ``-0.0``.  NaN and the
  infinities are refused both ways, including literals such as ``1e400`` that
  would overflow to infinity.
* Big ints: at most ``max_int_digits`` decimal digits, checked before any
  conversion (from ``int.bit_length`` when writing, from the token length
  when reading).  Conversion is done in chunks below CPython's
  ``int_max_str_digits`` floor, so results do not depend on that setting.
  A float literal with a run of more than ``max_int_digits`` digits (in its
  integer part, fraction or exponent) is refused too.
* Strings: a lone surrogate cannot be UTF-8 and is refused with its path,
  whether it is in a str being written or spelled ``\\ud800`` in the text
  being read.
* Duplicate keys are refused when reading, naming the key's path and the
  offset of its second occurrence.
* Reading: size is checked first, then a UTF-8 BOM or UTF-16/32 BOM is
  refused, then the UTF-8 is decoded strictly, then nesting depth is checked
  by a cheap pre-scan that skips strings, and only then does the stdlib
  scanner (C accelerated) parse, with hooks that refuse NaN/Infinity, long
  numbers and duplicate keys (number hooks only when a byte-level scan
  finds a digit run or exponent that could need them).  Trailing data after
  the value is refused.  The stdlib's messages are wrapped into ours with
  the byte offset, line and column.
* Paths: ``$`` is the whole value, ``.name`` a key that is an ASCII
  identifier, ``["other key"]`` any other key (JSON-quoted, ASCII-escaped;
  keys over 100 characters are cut and marked ``"..."...``), ``[3]`` an
  array index.
"""

import dataclasses
import json
import json.decoder
import json.encoder
import re
import sys
from itertools import accumulate
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Union

__all__ = [
    "CanonicalJSONError",
    "JSONLimits",
    "DEFAULT_VERSION_FIELDS",
    "canonical_json_dumps",
    "canonical_json_loads",
    "looks_like_json",
    "describe_json",
    "render_json",
]

# ----------------------------------------------------------------------------
# Data model


@dataclasses.dataclass(frozen=True)
class JSONLimits:
    """Bounds that keep reading (and writing) cheap on hostile input.

    ``max_bytes``: size of the UTF-8 text.  ``max_depth``: nested arrays and
    objects (``[]`` is depth 1, a scalar depth 0).  ``max_int_digits``: decimal
    digits of an int (sign excluded), and of each digit run of a float literal.
    """

    max_bytes: int = 32 * 1024 * 1024
    max_depth: int = 512
    max_int_digits: int = 4300

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value < 1:
                raise ValueError("JSONLimits.%s must be a positive int, not %r" % (field.name, value))


DEFAULT_LIMITS = JSONLimits()
DEFAULT_VERSION_FIELDS = ("version", "schema_version")


class CanonicalJSONError(ValueError):
    """A value that has no canonical JSON form, or JSON text that is refused.

    ``reason`` is the problem alone, ``path`` where it is inside the value
    (``"$.items[3].price"``, ``None`` when not known) and ``offset`` the byte
    position in the text being read (``None`` when writing or not known).
    """

    def __init__(self, reason, path=None, offset=None, location=None):
        message = reason if path is None else "%s: %s" % (path, reason)
        if location is None and offset is not None:
            location = "at byte %d" % offset
        if location:
            message = "%s (%s)" % (message, location)
        super().__init__(message)
        self.reason = reason
        self.path = path
        self.offset = offset


# ----------------------------------------------------------------------------
# Paths: "$", "$.name", "$[3]", '$["not an identifier"]', '$["a very long k"...]'

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PATH_KEY_CHARS = 100  # longer keys are cut in paths and messages (marked by ... after the quote)


def _quote_key(key: str) -> str:
    # ensure_ascii keeps lone surrogates and control characters printable.
    if len(key) > _PATH_KEY_CHARS:
        return json.dumps(key[:_PATH_KEY_CHARS]) + "..."
    return json.dumps(key)


def _format_path(segments: Sequence[Union[str, int]]) -> str:
    parts = ["$"]
    for segment in segments:
        if type(segment) is int:
            parts.append("[%d]" % segment)
        elif len(segment) <= _PATH_KEY_CHARS and _IDENTIFIER.match(segment):
            parts.append("." + segment)
        else:
            parts.append("[%s]" % _quote_key(segment))
    return "".join(parts)


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------
# Numbers

_LOG2_10 = 3.321928094887362
# CPython refuses int<->str conversions over sys.int_max_str_digits (default
# 4300, lowest allowed 640).  Chunks of at most this many digits always work.
_CHUNK_DIGITS = 600
_CHUNK_BITS = 1990  # 2**1990 < 10**600
_INFINITIES = (float("inf"), float("-inf"))


def _int_to_decimal(n: int) -> str:
    """``str(n)`` for any size, independent of ``sys.int_max_str_digits``."""
    if n < 0:
        return "-" + _int_to_decimal(-n)
    bits = n.bit_length()
    if bits <= _CHUNK_BITS:
        return int.__repr__(n)
    half = int(bits / _LOG2_10) // 2  # n has more than 2 * half digits
    high, low = divmod(n, 10 ** half)
    return _int_to_decimal(high) + _int_to_decimal(low).rjust(half, "0")


def _decimal_to_int(text: str) -> int:
    """``int(text)`` for a JSON int token of any length."""
    if len(text) <= _CHUNK_DIGITS:
        return int(text)
    if text[0] == "-":
        return -_decimal_to_int(text[1:])
    half = len(text) // 2
    return _decimal_to_int(text[:-half]) * 10 ** half + _decimal_to_int(text[-half:])


class _IntBounds:
    """Bit lengths that decide ``max_int_digits`` without converting."""

    def __init__(self, max_digits: int):
        self.max_digits = max_digits
        # below: 2**bits <= 10**max_digits, so always within the limit
        self.always_ok_bits = int(max_digits * _LOG2_10) - 1
        # at or above: n >= 2**(bits-1) >= 10**max_digits, always over
        self.always_over_bits = int(max_digits * _LOG2_10) + 3

    def too_long(self, digits: int) -> str:
        return "int has %d digits, more than max_int_digits=%d" % (digits, self.max_digits)


# ----------------------------------------------------------------------------
# Writer: one dispatch table for scalars, an explicit stack for containers


class _Refused(Exception):
    """Internal: a scalar or token that canonical JSON refuses (reason, token)."""


_encode_str = json.encoder.encode_basestring  # escapes '"', '\\' and U+0000-U+001F only
_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate_reason(text: str) -> Optional[str]:
    match = _SURROGATE.search(text)
    if match is None:
        return None
    return "lone surrogate U+%04X in string (not encodable as UTF-8)" % ord(match.group())


def _write_str(value, bounds):
    return _encode_str(value)


def _write_str_checked(value, bounds):
    reason = _surrogate_reason(value)
    if reason is not None:
        raise _Refused(reason)
    return _encode_str(value)


def _write_int(value, bounds):
    bits = value.bit_length()
    if bits >= bounds.always_over_bits:
        raise _Refused("int of %d bits has more than max_int_digits=%d digits" % (bits, bounds.max_digits))
    text = _int_to_decimal(value)
    if bits > bounds.always_ok_bits:
        digits = len(text) - (value < 0)
        if digits > bounds.max_digits:
            raise _Refused(bounds.too_long(digits))
    return text


def _write_float(value, bounds):
    if value != value:
        raise _Refused("NaN is not allowed (canonical JSON has no NaN or Infinity)")
    if value in _INFINITIES:
        raise _Refused("%r is not allowed (canonical JSON has no NaN or Infinity)" % value)
    return float.__repr__(value)


_SCALAR_WRITERS = {
    str: _write_str,
    int: _write_int,
    float: _write_float,
    bool: lambda value, bounds: "true" if value else "false",
    type(None): lambda value, bounds: "null",
}
_CHECKED_SCALAR_WRITERS = dict(_SCALAR_WRITERS)
_CHECKED_SCALAR_WRITERS[str] = _write_str_checked

_REFUSED_TYPES = {
    tuple: "tuple is not a JSON type (use a list: a tuple would read back as a list)",
    set: "set is not a JSON type (use a sorted list)",
    frozenset: "frozenset is not a JSON type (use a sorted list)",
    bytes: "bytes is not a JSON type (encode as str, e.g. base64 or hex)",
    bytearray: "bytearray is not a JSON type (encode as str, e.g. base64 or hex)",
    memoryview: "memoryview is not a JSON type (encode as str, e.g. base64 or hex)",
}


def _type_name(value) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def _unsupported(value) -> str:
    reason = _REFUSED_TYPES.get(type(value))
    if reason is not None:
        return reason
    return (
        "%s is not a JSON type (canonical JSON takes exactly dict, list, str, int, float, bool "
        "and None; subclasses are refused so that values read back with the same type)" % _type_name(value)
    )


class _Frame:
    """One open container while writing: the keys (None for a list) and the next index."""

    __slots__ = ("container", "keys", "index")

    def __init__(self, container, keys):
        self.container = container
        self.keys = keys
        self.index = 0

    def segment(self):
        # called after ``index`` moved past the current child
        return self.index - 1 if self.keys is None else self.keys[self.index - 1]


class _Writer:
    """Writes one value; ``check_strings`` looks for lone surrogates string by string.

    Without it the caller checks the whole output at once and, only when one
    is there, writes again with it to name the path.
    """

    def __init__(self, limits: JSONLimits, check_strings: bool = False):
        self.check_strings = check_strings
        self.writers = _CHECKED_SCALAR_WRITERS if check_strings else _SCALAR_WRITERS
        self.max_depth = limits.max_depth
        self.bounds = _IntBounds(limits.max_int_digits)
        self.stack: List[_Frame] = []
        self.open_ids = set()
        self.out: List[str] = []

    def error(self, reason):
        return CanonicalJSONError(reason, _format_path([frame.segment() for frame in self.stack]))

    def write(self, value) -> str:
        out = self.out
        stack = self.stack
        self.value(value)
        while stack:
            frame = stack[-1]
            index = frame.index
            keys = frame.keys
            if keys is None:
                container = frame.container
                if index == len(container):
                    stack.pop()
                    self.open_ids.discard(id(container))
                    out.append("]")
                    continue
                frame.index = index + 1
                if index:
                    out.append(",")
                self.value(container[index])
            else:
                if index == len(keys):
                    stack.pop()
                    self.open_ids.discard(id(frame.container))
                    out.append("}")
                    continue
                frame.index = index + 1
                key = keys[index]
                if self.check_strings:
                    reason = _surrogate_reason(key)
                    if reason is not None:
                        raise self.error("object key: " + reason)
                if index:
                    out.append(",")
                out.append(_encode_str(key))
                out.append(":")
                self.value(frame.container[key])
        return "".join(out)

    def value(self, value):
        writer = self.writers.get(type(value))
        if writer is not None:
            try:
                self.out.append(writer(value, self.bounds))
            except _Refused as refused:
                raise self.error(refused.args[0]) from None
            return
        cls = type(value)
        if cls is list:
            keys = None
        elif cls is dict:
            for key in value:
                if type(key) is not str:
                    raise self.error("object key %s (%s) is not a str" % (_short_repr(key), _type_name(key)))
            keys = sorted(value)
        else:
            raise self.error(_unsupported(value))
        if id(value) in self.open_ids:
            raise self.error("circular reference (the container contains itself)")
        if len(self.stack) >= self.max_depth:
            raise self.error("nesting deeper than max_depth=%d" % self.max_depth)
        self.open_ids.add(id(value))
        self.stack.append(_Frame(value, keys))
        self.out.append("[" if keys is None else "{")


def canonical_json_dumps(value: Any, *, limits: Optional[JSONLimits] = None) -> bytes:
    """The canonical JSON bytes of ``value``.

    Refuses (with :class:`CanonicalJSONError` naming the path) NaN and the
    infinities, non-str keys, tuples, sets, bytes, subclasses of the JSON
    types, lone surrogates, cycles, and whatever ``limits`` would refuse when
    reading the result back.
    """
    limits = _limits(limits)
    text = _Writer(limits).write(value)
    if _SURROGATE.search(text) is not None:
        text = _Writer(limits, check_strings=True).write(value)  # raises, naming the path
    data = text.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise CanonicalJSONError(
            "canonical form is %d bytes, more than max_bytes=%d" % (len(data), limits.max_bytes), "$"
        )
    return data


def _limits(limits) -> JSONLimits:
    if limits is None:
        return DEFAULT_LIMITS
    if not isinstance(limits, JSONLimits):
        raise TypeError("limits must be a JSONLimits, not %s" % _type_name(limits))
    return limits


# ----------------------------------------------------------------------------
# Reader

_BOMS = (
    (b"\xef\xbb\xbf", "a UTF-8 byte order mark is not allowed (canonical JSON is UTF-8 without BOM)"),
    (b"\xff\xfe", "a UTF-16/UTF-32 byte order mark: canonical JSON is UTF-8 without BOM"),
    (b"\xfe\xff", "a UTF-16 byte order mark: canonical JSON is UTF-8 without BOM"),
    (b"\x00\x00\xfe\xff", "a UTF-32 byte order mark: canonical JSON is UTF-8 without BOM"),
)

# A JSON string, or an unterminated one running to the end of the text.  It
# can never fail to match at a quote, so a scan over hostile text stays linear.
_STRING_PATTERN = r'"[^"\\]*(?:\\[\s\S][^"\\]*)*(?:"|\\?\Z)'
_BRACKET_TOKEN = re.compile(_STRING_PATTERN + r"|[\[\]{}]")
_NOT_STRUCTURAL = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_BRACKET_DELTA = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _number_shape_table() -> bytes:
    """bytes.translate table: digits -> "0", e/E -> "e", +/- -> "s", anything else -> " "."""
    table = bytearray(b" " * 256)
    for digit in b"0123456789":
        table[digit] = ord("0")
    table[ord("e")] = table[ord("E")] = ord("e")
    table[ord("+")] = table[ord("-")] = ord("s")
    return bytes(table)


_NUMBER_SHAPE = _number_shape_table()
# A float literal overflows only with 309+ integer digits or a 3-digit exponent;
# with an exponent of at most 99 it needs a run of 210+ digits.
_FLOAT_RISK_DIGITS = 200
# Values and names as the scanner sees them outside strings (to find offsets).
_LEXEME = re.compile(
    _STRING_PATTERN + r"|(-?Infinity|NaN|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
)
_DIGIT_RUNS = re.compile(r"[0-9]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_scanstring = json.decoder.scanstring  # (text, index after the quote, strict) -> (str, end)


class _Source:
    """The input bytes, their decoded text, and how to turn a character index into an error."""

    def __init__(self, raw: bytes, text: str):
        self.raw = raw
        self.text = text

    def byte_offset(self, pos: int) -> int:
        return len(self.text[:pos].encode("utf-8"))

    def error(self, reason, pos=None, path=None) -> CanonicalJSONError:
        if pos is None:
            return CanonicalJSONError(reason, path)
        offset = self.byte_offset(pos)
        line = self.text.count("\n", 0, pos) + 1
        column = pos - self.text.rfind("\n", 0, pos)
        return CanonicalJSONError(
            reason, path, offset, "at byte %d, line %d column %d" % (offset, line, column)
        )


def _decode_input(data, limits: JSONLimits) -> _Source:
    if isinstance(data, str):
        if len(data) > limits.max_bytes:  # every character is at least one byte
            raise CanonicalJSONError(
                "input is %d characters, more than max_bytes=%d" % (len(data), limits.max_bytes)
            )
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            offset = len(data[: exc.start].encode("utf-8"))
            raise CanonicalJSONError(
                "lone surrogate U+%04X in the input text" % ord(data[exc.start]), offset=offset
            ) from None
    elif isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
    else:
        raise TypeError("canonical_json_loads() takes bytes or str, not %s" % _type_name(data))
    if len(data) > limits.max_bytes:
        raise CanonicalJSONError(
            "input is %d bytes, more than max_bytes=%d" % (len(data), limits.max_bytes),
            offset=limits.max_bytes,
        )
    for bom, reason in _BOMS:
        if data.startswith(bom):
            raise CanonicalJSONError(reason, offset=0)
    try:
        return _Source(data, data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CanonicalJSONError("invalid UTF-8: %s" % exc.reason, offset=exc.start) from None


def _check_depth(source: _Source, max_depth: int) -> None:
    """Refuse nesting over ``max_depth`` before the (recursive) scanner sees it.

    A fast filter on the bytes (all C-level: escaped backslashes and quotes
    removed, everything but quotes and brackets deleted, string contents
    dropped by splitting at quotes) decides whether the exact, slower scan
    that finds the offending bracket is needed.  Both agree with the
    scanner's own reading of strings for as long as the text is valid JSON,
    which is as far as the scanner ever gets.
    """
    raw = source.raw
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return
    reduced = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURAL)
    outside = b"".join(reduced.split(b'"')[::2])
    if outside.count(b"[") + outside.count(b"{") <= max_depth:
        return
    if max(accumulate(map(_BRACKET_DELTA.__getitem__, outside))) <= max_depth:
        return
    depth = 0
    for match in _BRACKET_TOKEN.finditer(source.text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise source.error("nesting deeper than max_depth=%d" % max_depth, match.start())
        elif token in "]}":
            depth -= 1
    # Only text that is invalid before its deepest point gets here: the
    # scanner stops at the syntax error first.


def _numbers_need_checks(raw: bytes, max_int_digits: int) -> bool:
    """Whether some number could break a limit or overflow a float.

    When no run of digits is that long and no exponent has three digits,
    the scanner may convert numbers with its own fast int/float paths.
    """
    shape = raw.translate(_NUMBER_SHAPE)
    run = min(max_int_digits + 1, _FLOAT_RISK_DIGITS)
    return b"0" * run in shape or b"e000" in shape or b"es000" in shape


def _find_lexeme(text: str, token: str) -> Optional[int]:
    """Index of the first number or NaN/Infinity lexeme equal to ``token``."""
    for match in _LEXEME.finditer(text):
        if match.group(1) == token:
            return match.start(1)
    return None


class _DuplicateKeys(dict):
    """What the pairs hook returns for an object with a repeated key."""

    def __init__(self, pairs, key):
        super().__init__(pairs)
        self.duplicate = key


def _make_decoder(limits: JSONLimits, check_numbers: bool = True):
    """A stdlib decoder whose hooks refuse what canonical JSON refuses.

    Returns (decoder, duplicates): ``duplicates`` gets an entry each time an
    object with a repeated key is built (the object itself is then a
    :class:`_DuplicateKeys`, found later with its path).  Without
    ``check_numbers`` ints and floats go through the scanner's fast paths
    (see :func:`_numbers_need_checks`).
    """
    bounds = _IntBounds(limits.max_int_digits)
    duplicates = []

    def pairs_hook(pairs):
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen = set()
        for key, _ in pairs:
            if key in seen:
                break
            seen.add(key)
        duplicates.append(key)
        return _DuplicateKeys(pairs, key)

    def parse_int(token):
        digits = len(token) - (token[0] == "-")
        if digits > bounds.max_digits:
            raise _Refused(bounds.too_long(digits), token)
        return _decimal_to_int(token)

    def parse_float(token):
        longest = max(len(run) for run in _DIGIT_RUNS.findall(token))
        if longest > bounds.max_digits:
            raise _Refused(
                "float literal has a run of %d digits, more than max_int_digits=%d"
                % (longest, bounds.max_digits),
                token,
            )
        value = float(token)
        if value in _INFINITIES:
            raise _Refused("number %s is out of float range (would be infinite)" % token, token)
        return value

    def parse_constant(token):
        raise _Refused("%s is not allowed (canonical JSON has no NaN or Infinity)" % token, token)

    decoder = json.JSONDecoder(
        object_pairs_hook=pairs_hook,
        parse_int=parse_int if check_numbers else int,
        parse_float=parse_float if check_numbers else float,
        parse_constant=parse_constant,
        strict=True,
    )
    return decoder, duplicates


class _Problem(NamedTuple):
    """A duplicate key or lone surrogate found after parsing."""

    segments: List[Union[str, int]]  # path of the member / item
    reason: str
    at_key: bool  # the offending spot is the member's key, not its value
    key_occurrence: int  # which member with that key (2 for a duplicate)


class _BadKey(str):
    """A pre-order stack entry standing for an object key that is refused."""


def _first_problem(value) -> Optional[_Problem]:
    """The first duplicate key or lone surrogate met walking the value in document order.

    (An object dropped because its parent repeats its key is not seen; the
    parent is reported.)
    """
    stack = [([], value)]  # (segments, node), pre-order with an explicit stack
    while stack:
        segments, node = stack.pop()
        cls = type(node)
        if cls is _BadKey:
            return _Problem(segments, "object key: " + node, True, 1)
        if cls is str:
            reason = _surrogate_reason(node)
            if reason is not None:
                return _Problem(segments, reason, False, 1)
        elif cls is _DuplicateKeys:
            key = node.duplicate
            return _Problem(segments + [key], "duplicate key %s" % _quote_key(key), True, 2)
        elif cls is dict:
            children = []
            for key, item in node.items():
                reason = _surrogate_reason(key)
                children.append((segments + [key], item if reason is None else _BadKey(reason)))
            stack.extend(reversed(children))
        elif cls is list:
            stack.extend((segments + [index], item) for index, item in reversed(list(enumerate(node))))
    return None


def _skip_ws(text: str, pos: int) -> int:
    return _WHITESPACE.match(text, pos).end()


def _locate(text: str, segments, scan_once, key_occurrence: int = 1, at_key: bool = False) -> int:
    """Character index of the value (or key) at ``segments`` in valid JSON text.

    Walks the containers on the path, skipping siblings with the stdlib
    scanner; only used to give an offset to an error found after parsing.
    """
    pos = _skip_ws(text, 0)
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        pos = _skip_ws(text, pos + 1)  # past "[" or "{"
        if type(segment) is int:
            for _ in range(segment):
                pos = _skip_ws(text, _skip_ws(text, scan_once(text, pos)[1]) + 1)  # item and ","
            continue
        remaining = key_occurrence if last else 1
        while True:
            key_start = pos
            key, pos = _scanstring(text, pos + 1, True)
            pos = _skip_ws(text, _skip_ws(text, pos) + 1)  # past ":" to the value
            if key == segment:
                remaining -= 1
                if remaining == 0:
                    break
            pos = _skip_ws(text, _skip_ws(text, scan_once(text, pos)[1]) + 1)  # value and ","
        if last and at_key:
            return key_start
    return pos


def _parse(source: _Source, limits: JSONLimits):
    text = source.text
    decoder, duplicates = _make_decoder(limits, _numbers_need_checks(source.raw, limits.max_int_digits))
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise source.error(exc.msg, exc.pos) from None
    except _Refused as refused:
        reason, token = refused.args
        raise source.error(reason, _find_lexeme(text, token)) from None
    except RecursionError:
        raise source.error("nesting too deep for this interpreter's recursion limit") from None
    if not duplicates and _SURROGATE_ESCAPE.search(text) is None:
        return value
    problem = _first_problem(value)
    if problem is None:
        return value
    pos = _locate(text, problem.segments, decoder.scan_once, problem.key_occurrence, problem.at_key)
    raise source.error(problem.reason, pos, _format_path(problem.segments))


def canonical_json_loads(
    data: Union[bytes, str],
    *,
    require_version: bool = False,
    version_fields: Sequence[str] = DEFAULT_VERSION_FIELDS,
    limits: Optional[JSONLimits] = None,
) -> Any:
    """Read JSON text (UTF-8 bytes or str) into a value, strictly and within ``limits``.

    Any standard JSON text is accepted, canonical or not, except what the
    canonical writer could never produce: NaN/Infinity, numbers overflowing a
    float, lone surrogates, duplicate keys, a BOM, invalid UTF-8.  With
    ``require_version`` the top level must be an object with one of
    ``version_fields`` set to an int or a str.
    """
    limits = _limits(limits)
    source = _decode_input(data, limits)
    _check_depth(source, limits.max_depth)
    value = _parse(source, limits)
    if require_version:
        _check_version(source, value, version_fields, limits)
    return value


def _version_field(value, version_fields) -> Optional[str]:
    if type(value) is dict:
        for name in version_fields:
            if name in value:
                return name
    return None


def _check_version(source: _Source, value, version_fields, limits: JSONLimits) -> None:
    names = " or ".join(json.dumps(name) for name in version_fields)
    start = _skip_ws(source.text, 0)
    if type(value) is not dict:
        raise source.error("top level must be an object with a %s field" % names, start, "$")
    name = _version_field(value, version_fields)
    if name is None:
        raise source.error("missing top-level version field (%s)" % names, start, "$")
    version = value[name]
    if type(version) not in (int, str) or version == "":
        raise source.error(
            "version field must be an int or a non-empty str, not %s" % _scalar_text(version, 40),
            _locate(source.text, [name], _make_decoder(limits)[0].scan_once),
            _format_path([name]),
        )


# ----------------------------------------------------------------------------
# `serialcompat inspect` support

_SNIFF_BYTES = 4096
# How a JSON text starts: its first value, and for a container its next token.
_JSON_START = re.compile(
    r"[ \t\r\n]*(?:"
    r'\{[ \t\r\n]*(?:["}]|\Z)'
    r'|\[[ \t\r\n]*(?:[\[\]{"0-9tfn-]|\Z)'
    r'|"|-?[0-9]'
    r"|(?:true|false|null)(?![A-Za-z0-9_])"
    r")"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def looks_like_json(data: bytes) -> bool:
    """Whether ``data`` is probably JSON text (looks at the first 4 KiB only).

    True for UTF-8 text (a BOM is tolerated here so that reading it gives the
    clear error) without control characters other than JSON whitespace,
    whose first value starts like a JSON value (and for an object or array,
    whose next token fits).  Pickles and marshal data contain control bytes or
    start with other opcodes (marshal's empty dict ``{0`` is not taken).
    """
    head = bytes(data[:_SNIFF_BYTES])
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the 4 KiB window is fine
        if len(data) <= _SNIFF_BYTES or exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return _CONTROL.search(text) is None and _JSON_START.match(text) is not None


def describe_json(data: Union[bytes, str], *, limits: Optional[JSONLimits] = None) -> dict:
    """A JSON-able description of JSON text, for ``serialcompat inspect``.

    Keys: ``format`` ("json"), ``size`` (bytes), ``canonical`` (bool),
    ``first_difference`` (byte offset where the text departs from its
    canonical form, or None), ``canonical_size``, ``top_level`` (JSON type
    name), ``version_field`` / ``version`` (the first of the default version
    fields present at top level, else None) and ``value`` (the decoded value).
    Raises :class:`CanonicalJSONError` when the text is refused.
    """
    limits = _limits(limits)
    value = canonical_json_loads(data, limits=limits)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    # Canonical text can be longer than its input ("1E9" -> "1000000000.0").
    canonical = canonical_json_dumps(value, limits=dataclasses.replace(limits, max_bytes=sys.maxsize))
    first_difference = None if canonical == raw else _common_prefix_length(raw, canonical)
    field = _version_field(value, DEFAULT_VERSION_FIELDS)
    return {
        "format": "json",
        "size": len(raw),
        "canonical": first_difference is None,
        "first_difference": first_difference,
        "canonical_size": len(canonical),
        "top_level": _json_type(value),
        "version_field": field,
        "version": None if field is None else value[field],
        "value": value,
    }


def _common_prefix_length(a: bytes, b: bytes) -> int:
    low, high = 0, min(len(a), len(b))  # a[:low] == b[:low]; answer <= high
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", int: "number", float: "number",
                    bool: "boolean", type(None): "null"}


def _json_type(value) -> str:
    return _JSON_TYPE_NAMES[type(value)]


def render_json(desc: dict, *, max_lines: int = 40, max_scalar: int = 120) -> str:
    """Short readable text of a :func:`describe_json` result."""
    if desc["canonical"]:
        state = "canonical"
    else:
        state = "not canonical: differs from its canonical form (%d bytes) at byte %d" % (
            desc["canonical_size"], desc["first_difference"])
    lines = ["JSON, %d bytes, %s" % (desc["size"], state)]
    if desc["version_field"] is None:
        lines.append("version: none (no top-level %s field)" % " or ".join(DEFAULT_VERSION_FIELDS))
    else:
        lines.append("version: %s = %s" % (desc["version_field"], _scalar_text(desc["version"], max_scalar)))
    lines.append("value (%s):" % desc["top_level"])
    shown = 0
    for line in _pretty_lines(desc["value"], max_scalar):
        if shown == max_lines:
            lines.append("  ... (more lines not shown)")
            break
        lines.append("  " + line)
        shown += 1
    return "\n".join(lines)


_LITERALS = {True: "true", False: "false", None: "null"}


def _scalar_text(value, max_scalar: int) -> str:
    """One value as short JSON-like text (containers only summarised)."""
    cls = type(value)
    if cls is str:
        if len(value) > max_scalar:
            return _encode_str(value[:max_scalar]) + "... (%d characters)" % len(value)
        return _encode_str(value)
    if cls is float:
        return float.__repr__(value)
    if cls is int:
        if value.bit_length() > 3 * max_scalar:
            return "<int of %d bits>" % value.bit_length()
        return _int_to_decimal(value)
    if cls is dict:
        return "<object with %d keys>" % len(value)
    if cls is list:
        return "<array of %d items>" % len(value)
    return _LITERALS[value]


def _pretty_lines(value, max_scalar: int) -> Iterator[str]:
    """Indented lines of ``value`` (sorted keys), produced lazily, without recursion."""
    # Each entry: (indent, prefix, node, suffix) for a value still to show, or
    # a str for a closing line.
    stack: List[Any] = [(0, "", value, "")]
    while stack:
        entry = stack.pop()
        if type(entry) is str:
            yield entry
            continue
        indent, prefix, node, suffix = entry
        pad = "  " * indent
        if type(node) is dict and node:
            keys = sorted(node)
            yield pad + prefix + "{"
            stack.append(pad + "}" + suffix)
            for position in range(len(keys) - 1, -1, -1):
                key = keys[position]
                comma = "," if position < len(keys) - 1 else ""
                stack.append((indent + 1, _scalar_text(key, max_scalar) + ": ", node[key], comma))
        elif type(node) is list and node:
            yield pad + prefix + "["
            stack.append(pad + "]" + suffix)
            for position in range(len(node) - 1, -1, -1):
                comma = "," if position < len(node) - 1 else ""
                stack.append((indent + 1, "", node[position], comma))
        elif type(node) is dict:
            yield pad + prefix + "{}" + suffix
        elif type(node) is list:
            yield pad + prefix + "[]" + suffix
        else:
            yield pad + prefix + _scalar_text(node, max_scalar) + suffix

"""Line numbers and exception tables of code objects, for every format.

Three line-number formats exist in CPython 3.8+ (see CPython's
``Objects/lnotab_notes.txt`` and ``Objects/locations.md`` of each release):

* ``lnotab`` (3.8, 3.9): pairs (byte offset increment: unsigned byte, line
  increment: signed byte).
* ``linetable`` (3.10, PEP 626): pairs (byte length of a range: unsigned
  byte, line delta: signed byte, -128 meaning "no line").
* ``locations`` (3.11+): entries starting with a byte ``1CCCCLLL`` (code C,
  length L+1 code units) followed by varints; code 15 means no location,
  13 and 14 carry a signed line delta, 10-12 a delta of 0-2, 0-9 none.

Each decoder returns the address ranges of the instructions with their line,
as ``co_lines()`` reports them on that release: ``(start, end, line)`` with
``line`` None when an instruction has no line.

The exception table (3.11+) is a sequence of entries of four big-endian
6-bit varints (start, length, target in code units; depth << 1 | lasti),
the first byte of each entry marked by bit 7.

Corrupt tables raise MarshalError naming the offset within the table.
"""

from .marshal_codec import MarshalError

__all__ = [
    "LINE_FORMATS",
    "line_format",
    "decode_lines",
    "line_starts",
    "decode_exception_table",
    "ExceptionEntry",
]

import collections

ExceptionEntry = collections.namedtuple("ExceptionEntry", "start end target depth lasti")

LINE_FORMATS = ("lnotab", "linetable", "locations")

# location-table entry codes (Include/cpython/code.h: _PyCodeLocationInfoKind)
_LOC_ONE_LINE0 = 10
_LOC_NO_COLUMNS = 13
_LOC_LONG = 14
_LOC_NONE = 15


def line_format(version):
    version = tuple(version[:2])
    if version < (3, 10):
        return "lnotab"
    if version < (3, 11):
        return "linetable"
    return "locations"


def _lnotab_starts(table, firstlineno):
    """(offset, line) pairs as dis.findlinestarts computes them on 3.8/3.9."""
    starts = []
    last = None
    line = firstlineno
    addr = 0
    for i in range(0, len(table) - 1, 2):
        byte_incr, line_incr = table[i], table[i + 1]
        if byte_incr:
            if line != last:
                starts.append((addr, line))
                last = line
            addr += byte_incr
        if line_incr >= 0x80:
            line_incr -= 0x100
        line += line_incr
    if line != last:
        starts.append((addr, line))
    return starts


def _lnotab_ranges(table, firstlineno, code_len):
    """Ranges from an lnotab: each line start runs to the next one."""
    starts = _lnotab_starts(table, firstlineno)
    ranges = []
    for i, (start, line) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else code_len
        if end > start:
            ranges.append((start, end, line))
    return ranges


def _linetable_ranges(table, firstlineno):
    """co_lines() of 3.10: zero-length entries fold into the next one."""
    ranges = []
    line = firstlineno
    end = 0
    i = 0
    n = len(table) - len(table) % 2
    while i < n:
        start = end
        entry_line = None
        while True:  # PyLineTable_NextAddressRange: skip empty ranges
            delta, ldelta = table[i], table[i + 1]
            i += 2
            end += delta
            if ldelta >= 0x80:
                ldelta -= 0x100
            if ldelta == -128:
                entry_line = None
            else:
                line += ldelta
                entry_line = line
            if end != start or i >= n:
                break
            start = end
        if end > start:
            ranges.append((start, end, entry_line))
    return ranges


def _varint(table, i, what):
    """Little-endian 6-bit varint of the location table; (value, next i)."""
    if i >= len(table):
        raise MarshalError("corrupt location table: %s runs past the end" % what, i)
    byte = table[i]
    i += 1
    value = byte & 63
    shift = 0
    while byte & 64:
        if i >= len(table):
            raise MarshalError("corrupt location table: %s runs past the end" % what, i)
        byte = table[i]
        i += 1
        shift += 6
        value |= (byte & 63) << shift
    return value, i


def _svarint(table, i, what):
    value, i = _varint(table, i, what)
    return (-(value >> 1) if value & 1 else value >> 1), i


def _locations_entries(table, firstlineno):
    """(start, end, line) per location entry, in code bytes (3.11+)."""
    entries = []
    line = firstlineno
    addr = 0
    i = 0
    n = len(table)
    while i < n:
        first = table[i]
        if not first & 0x80:
            raise MarshalError("corrupt location table: entry does not start with a marker bit", i)
        code = (first >> 3) & 15
        length = ((first & 7) + 1) * 2
        if code == _LOC_NONE:
            delta, entry_line = 0, None
        elif code in (_LOC_NO_COLUMNS, _LOC_LONG):
            delta, _ = _svarint(table, i + 1, "a line delta")
            entry_line = None
        elif code >= _LOC_ONE_LINE0:
            delta, entry_line = code - _LOC_ONE_LINE0, None
        else:
            delta, entry_line = 0, None
        line += delta
        if code != _LOC_NONE:
            entry_line = line
        entries.append((addr, addr + length, entry_line))
        addr += length
        i += 1
        while i < n and not table[i] & 0x80:  # skip the entry's payload
            i += 1
    return entries


def _merge_same_line(entries):
    """co_lines() of 3.12+ joins adjacent entries that have the same line
    (3.11 reports every location entry)."""
    merged = []
    for start, end, line in entries:
        if merged and merged[-1][2] == line and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, line)
        else:
            merged.append((start, end, line))
    return merged


def decode_lines(python_version, table, firstlineno, code_len):
    """Address ranges ``[(start, end, line or None)]`` like co_lines() of
    that CPython version."""
    fmt = line_format(python_version)
    if fmt == "lnotab":
        return _lnotab_ranges(table, firstlineno, code_len)
    if fmt == "linetable":
        return _linetable_ranges(table, firstlineno)
    entries = _locations_entries(table, firstlineno)
    if tuple(python_version[:2]) >= (3, 12):
        entries = _merge_same_line(entries)
    return entries


def line_starts(python_version, table, firstlineno, code_len):
    """``[(offset, line)]`` where a new source line starts.

    For lnotab this is exactly dis.findlinestarts of 3.8/3.9; for the newer
    formats it is what dis.findlinestarts of 3.10-3.12 yields (offsets with
    a line that differs from the previous line seen, skipping no-line ranges).
    """
    if line_format(python_version) == "lnotab":
        return _lnotab_starts(table, firstlineno)
    starts = []
    last = None
    for start, _end, line in decode_lines(python_version, table, firstlineno, code_len):
        if line is not None and line != last:
            starts.append((start, line))
            last = line
    return starts


def _exc_varint(table, i):
    """Big-endian 6-bit varint of the exception table; (value, next i)."""
    if i >= len(table):
        raise MarshalError("corrupt exception table: entry runs past the end", i)
    byte = table[i]
    i += 1
    value = byte & 63
    while byte & 64:
        if i >= len(table):
            raise MarshalError("corrupt exception table: entry runs past the end", i)
        byte = table[i]
        i += 1
        value = (value << 6) | (byte & 63)
    return value, i


def decode_exception_table(table):
    """[ExceptionEntry(start, end, target, depth, lasti)] with byte offsets;
    ``end`` is exclusive, as dis._parse_exception_table reports it."""
    entries = []
    i = 0
    n = len(table)
    while i < n:
        if not table[i] & 0x80:
            raise MarshalError("corrupt exception table: entry does not start with a marker bit", i)
        start, i = _exc_varint(table, i)
        length, i = _exc_varint(table, i)
        target, i = _exc_varint(table, i)
        dl, i = _exc_varint(table, i)
        start *= 2
        entries.append(ExceptionEntry(start, start + length * 2, target * 2, dl >> 1, bool(dl & 1)))
    return entries

"""Read .pyc files written by any CPython 3.8+, on any interpreter.

A .pyc is a 16-byte header (PEP 552) followed by a marshalled code object:

    bytes 0-3   magic number (2 bytes little-endian) + b"\\r\\n"
    bytes 4-7   flags: bit 0 = hash-based, bit 1 = check the source
    bytes 8-15  timestamp-based: source mtime and source size (uint32 each)
                hash-based: the 8-byte SipHash of the source

``read_pyc(data)`` returns a ``PycInfo`` whose ``code`` is a version-neutral
``CodeInfo``; nothing in the file is imported or executed.
"""

import dataclasses
import struct
from typing import Optional, Tuple

from . import codeinfo as _codeinfo
from . import pyc_magic
from .codeinfo import CodeInfo
from .marshal_codec import MarshalError

__all__ = ["PycInfo", "read_pyc", "read_pyc_header", "PycError", "HEADER_SIZE"]

HEADER_SIZE = 16
FLAG_HASH_BASED = 0x1
FLAG_CHECK_SOURCE = 0x2
_HEADER = struct.Struct("<HHIII")


class PycError(MarshalError):
    """A .pyc whose header is missing, unknown or inconsistent."""


@dataclasses.dataclass(frozen=True)
class PycInfo:
    magic: int
    python_version: Optional[Tuple[int, int]]
    flags: int
    hash_based: bool
    check_source: bool
    mtime: Optional[int]
    source_size: Optional[int]
    source_hash: Optional[bytes]
    code: Optional[CodeInfo]

    @property
    def release(self):
        """True when the magic is the final release value of its version."""
        info = pyc_magic.lookup(self.magic)
        return bool(info and info.release)


def read_pyc_header(data):
    """PycInfo with ``code=None`` from the first 16 bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("pyc data must be bytes-like, not %s" % type(data).__name__)
    data = bytes(data[:HEADER_SIZE])
    if len(data) < HEADER_SIZE:
        raise PycError("truncated .pyc header: %d bytes, 16 needed" % len(data), len(data))
    magic, crlf, flags, word1, word2 = _HEADER.unpack(data)
    if crlf != 0x0A0D:
        raise PycError("not a .pyc file: magic is not followed by \\r\\n", 2)
    if flags & ~(FLAG_HASH_BASED | FLAG_CHECK_SOURCE):
        raise PycError("invalid .pyc flags 0x%x" % flags, 4)
    info = pyc_magic.lookup(magic)
    hash_based = bool(flags & FLAG_HASH_BASED)
    return PycInfo(
        magic=magic,
        python_version=info.python_version if info else None,
        flags=flags,
        hash_based=hash_based,
        # importlib only looks at the check_source bit of hash-based files
        check_source=hash_based and bool(flags & FLAG_CHECK_SOURCE),
        mtime=None if hash_based else word1,
        source_size=None if hash_based else word2,
        source_hash=data[8:16] if hash_based else None,
        code=None,
    )


def read_pyc(data, *, python_version=None):
    """Parse a whole .pyc.

    The CPython version comes from the magic number; pass ``python_version``
    to read a file whose magic is not in the table (e.g. a newer alpha) with
    a known layout.  Bad data raises PycError / MarshalError (ValueErrors with
    the byte offset).
    """
    header = read_pyc_header(data)
    version = header.python_version
    if python_version is not None:
        version = tuple(python_version[:2])
    elif version is None:
        raise PycError("unknown .pyc magic number %d (not CPython 3.8-3.14)" % header.magic, 0)
    else:
        info = pyc_magic.lookup(header.magic)
        if not info.layout_supported:
            raise PycError(
                "magic %d is an early CPython %d.%d pre-release whose code-object layout differs from "
                "the %d.%d release (release magic %d)"
                % ((header.magic,) + version + version + (pyc_magic.RELEASE_MAGIC[version],)), 0)
    body = bytes(data[HEADER_SIZE:])
    try:
        code = _codeinfo.read_code(body, python_version=version, magic=header.magic)
    except MarshalError as exc:
        offset = None if exc.offset is None else exc.offset + HEADER_SIZE
        message = str(exc)
        if exc.offset is not None:
            message = message.rsplit(" (at byte", 1)[0]
        raise MarshalError(message, offset) from None
    return dataclasses.replace(header, python_version=version, code=code)

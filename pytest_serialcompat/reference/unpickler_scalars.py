"""Runs of binary scalar pushes (the items of str-keyed dicts), in one tight loop.

The items of a dict with str keys at protocols 1-5 -- ``BINUNICODE`` (or
``SHORT_BINUNICODE``) key, its ``BINPUT`` (``MEMOIZE``), a scalar value --
cannot be matched by a regular expression run (a length-prefixed string has
no pattern), so the engine used to pay its full dispatch per opcode: the
group tests, the shared memo step and the check for a MARK after it.  Here
they are executed by a loop that knows only those opcodes, in the order
they occur in such items:

* strings: ``SHORT_BINUNICODE``, ``BINUNICODE``, each with the ``MEMOIZE``,
  ``BINPUT`` or ``LONG_BINPUT`` that follows it;
* ``BINGET`` (a key shared with an earlier dict);
* ``BININT1``, ``BINFLOAT``, ``BININT``, ``BININT2``, ``NONE``,
  ``NEWTRUE``, ``NEWFALSE``, and protocol 1's booleans ``INT 01``/``00``.

Each opcode is applied only when it is complete and valid (its argument in
the data, its memo entry present, its text decodable as strict UTF-8); at
anything else -- another opcode, the end of the data, an error -- the loop
returns the position of that opcode with everything before it applied, so
the engine goes on from there exactly as if it had executed them one by one.
"""

from struct import error as StructError

from . import opcodes as op

__all__ = ["push_scalars", "SCALAR_STARTS"]

_SHORT_BINUNICODE = op.SHORT_BINUNICODE[0]
_BINUNICODE = op.BINUNICODE[0]
_MEMOIZE = op.MEMOIZE[0]
_BINPUT = op.BINPUT[0]
_LONG_BINPUT = op.LONG_BINPUT[0]
_BINGET = op.BINGET[0]
_BININT1 = op.BININT1[0]
_BINFLOAT = op.BINFLOAT[0]
_BININT = op.BININT[0]
_BININT2 = op.BININT2[0]
_NONE = op.NONE[0]
_NEWTRUE = op.NEWTRUE[0]
_NEWFALSE = op.NEWFALSE[0]
_INT = op.INT[0]

# The opcodes a run may start with (the engine tests the first one).
SCALAR_STARTS = frozenset((_SHORT_BINUNICODE, _BINUNICODE, _BINGET))

_BOOL_TEXT = {b"I01\n": True, b"I00\n": False}.get


def push_scalars(
    data,
    pos,
    stack,
    memo,
    # Not arguments: constants and helpers as fast locals.
    _SHORT_BINUNICODE=_SHORT_BINUNICODE,
    _BINUNICODE=_BINUNICODE,
    _MEMOIZE=_MEMOIZE,
    _BINPUT=_BINPUT,
    _LONG_BINPUT=_LONG_BINPUT,
    _BINGET=_BINGET,
    _BININT1=_BININT1,
    _BINFLOAT=_BINFLOAT,
    _BININT=_BININT,
    _BININT2=_BININT2,
    _NONE=_NONE,
    _NEWTRUE=_NEWTRUE,
    _NEWFALSE=_NEWFALSE,
    _INT=_INT,
    _bool_text=_BOOL_TEXT,
    _unpack_u4=op.UINT4.unpack_from,
    _unpack_i4=op.INT4.unpack_from,
    _unpack_f8=op.FLOAT8.unpack_from,
    _len=len,
):
    """Push the values of the run of scalar opcodes at ``pos`` onto ``stack``
    (their memo entries into ``memo``); the position of the first opcode not
    applied (``pos`` when there is no run)."""
    size = _len(data)
    append = stack.append
    # ``pos`` moves only past an opcode fully applied: any failure inside one
    # (IndexError, KeyError, struct.error, UnicodeDecodeError) leaves it at
    # that opcode, for the engine.
    try:
        while True:
            code = data[pos]
            if code == _SHORT_BINUNICODE:
                end = pos + 2 + data[pos + 1]
                if end > size:
                    return pos
                value = data[pos + 2:end].decode()
            elif code == _BINUNICODE:
                end = pos + 5 + _unpack_u4(data, pos + 1)[0]
                if end > size:
                    return pos
                value = data[pos + 5:end].decode()
            elif code == _BINGET:
                append(memo[data[pos + 1]])
                pos += 2
                continue
            elif code == _BININT1:
                append(data[pos + 1])
                pos += 2
                continue
            elif code == _BINFLOAT:
                append(_unpack_f8(data, pos + 1)[0])
                pos += 9
                continue
            elif code == _BININT:
                append(_unpack_i4(data, pos + 1)[0])
                pos += 5
                continue
            elif code == _BININT2:
                append(data[pos + 1] | data[pos + 2] << 8)
                pos += 3
                continue
            elif code == _NONE:
                append(None)
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
            elif code == _INT:
                value = _bool_text(data[pos:pos + 4])
                if value is None:
                    return pos
                append(value)
                pos += 4
                continue
            else:
                return pos
            # A string, memoized by the opcode that follows it (if any).
            append(value)
            pos = end
            code = data[pos]
            if code == _MEMOIZE:
                memo[_len(memo)] = value
                pos += 1
            elif code == _BINPUT:
                memo[data[pos + 1]] = value
                pos += 2
            elif code == _LONG_BINPUT:
                memo[_unpack_u4(data, pos + 1)[0]] = value
                pos += 5
    except (IndexError, KeyError, StructError, UnicodeDecodeError):
        return pos

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
  ``NEWTRUE``, ``NEWFALSE``, and protocol 1's booleans ``INT 01``/``00``;
* ``MEMOIZE`` and ``BINPUT`` of the value pushed last.

The engine enters the loop where such items start: after a MARK followed by
a string or a ``BINGET``, and after the APPEND(S) or SETITEMS that closes a
nested list or dict (the next key of the enclosing dict).

Each opcode is applied only when it is complete and valid (its argument in
the data, its memo entry present, its text decodable as strict UTF-8); at
anything else -- another opcode, the end of the data, an error -- the loop
returns the position of that opcode with everything before it applied, so
the engine goes on from there exactly as if it had executed them one by one.
"""

from struct import Struct
from struct import error as StructError

from . import opcodes as op

__all__ = ["push_scalars"]

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

_BOOL_TEXT = {b"I01\n": True, b"I00\n": False}.get
_WINDOW = 256  # positions 0-256 are ints CPython never allocates (its small ints)


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
    _WINDOW=_WINDOW,
    _bool_text=_BOOL_TEXT,
    # the argument after the opcode byte (``x``: a byte skipped)
    _unpack_xu4=Struct("<xI").unpack_from,
    _unpack_xi4=Struct("<xi").unpack_from,
    _unpack_xf8=Struct(">xd").unpack_from,
    _len=len,
):
    """Push the values of the run of scalar opcodes at ``pos`` onto ``stack``
    (their memo entries into ``memo``); the position of the first opcode not
    applied (``pos`` when there is no run).

    The loop works in a window of the data, ``chunk = data[base:base + 2 *
    _WINDOW]``, with positions ``at`` relative to it: below ``_WINDOW`` they
    are small ints, which cost no allocation (an int of the whole pickle's
    positions is allocated at every step, a third of an opcode's time on
    3.13).  An opcode that starts in the second half, or does not fit,
    moves the window to it; one that does not fit a fresh window ends the run.
    """
    append = stack.append
    base = pos
    chunk = data[base:base + 2 * _WINDOW]
    size = _len(chunk)
    at = 0
    # ``at`` moves only past an opcode fully applied: any failure inside one
    # (IndexError, KeyError, struct.error, UnicodeDecodeError) leaves it at
    # that opcode, for the engine (or for a fresh window, when it ran out).
    while True:
        try:
            while at < _WINDOW:
                code = chunk[at]
                # A string and the put that follows it at its protocols
                # (MEMOIZE from 4, BINPUT below) in one step; any other put
                # comes round as an opcode of its own.
                if code == _SHORT_BINUNICODE:
                    end = at + 2 + chunk[at + 1]
                    if end > size:
                        break
                    value = chunk[at + 2:end].decode()
                    append(value)
                    at = end
                    if chunk[at] == _MEMOIZE:
                        memo[_len(memo)] = value
                        at += 1
                    continue
                elif code == _BINUNICODE:
                    end = at + 5 + _unpack_xu4(chunk, at)[0]
                    if end > size:
                        break
                    value = chunk[at + 5:end].decode()
                    append(value)
                    at = end
                    if chunk[at] == _BINPUT:
                        memo[chunk[at + 1]] = value
                        at += 2
                    continue
                elif code == _BINGET:
                    append(memo[chunk[at + 1]])
                    at += 2
                    continue
                elif code == _BININT1:
                    append(chunk[at + 1])
                    at += 2
                    continue
                elif code == _BINFLOAT:
                    append(_unpack_xf8(chunk, at)[0])
                    at += 9
                    continue
                elif code == _BININT:
                    append(_unpack_xi4(chunk, at)[0])
                    at += 5
                    continue
                elif code == _BININT2:
                    append(chunk[at + 1] | chunk[at + 2] << 8)
                    at += 3
                    continue
                elif code == _NONE:
                    append(None)
                    at += 1
                    continue
                elif code == _NEWFALSE:
                    append(False)
                    at += 1
                    continue
                elif code == _NEWTRUE:
                    append(True)
                    at += 1
                    continue
                elif code == _INT:
                    value = _bool_text(chunk[at:at + 4])
                    if value is None:
                        return base + at
                    append(value)
                    at += 4
                    continue
                elif code == _MEMOIZE:  # of the value pushed last
                    memo[_len(memo)] = stack[-1]
                    at += 1
                    continue
                elif code == _BINPUT:
                    memo[chunk[at + 1]] = stack[-1]
                    at += 2
                    continue
                elif code == _LONG_BINPUT:
                    memo[_unpack_xu4(chunk, at)[0]] = stack[-1]
                    at += 5
                    continue
                else:
                    return base + at
            else:  # past the window's first half: on to the next window
                base += at
                chunk = data[base:base + 2 * _WINDOW]
                size = _len(chunk)
                at = 0
                continue
        except (IndexError, StructError):
            pass
        except (KeyError, UnicodeDecodeError):
            return base + at
        # The opcode at ``at`` does not fit the window (or the stack is empty).
        if at == 0 or base + size == _len(data):
            return base + at  # nor would it fit a fresh one
        base += at
        chunk = data[base:base + 2 * _WINDOW]
        size = _len(chunk)
        at = 0

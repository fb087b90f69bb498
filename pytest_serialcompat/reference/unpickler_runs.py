"""Runs of the unpickler's hottest opcodes, each applied in one C-level step.

The unpickler's engine pays a trip round its loop per opcode.  The items of a
list of small ints, or of a dict from small ints to None, are a run of the
same one or two opcodes that pickle writes over and over; here such a run is
recognised with one compiled regular expression and its values are pushed
(or set, or appended) by slicing, ``bytes.split`` and ``int`` -- no Python
code per item.  A run covers only complete opcodes whose argument is exactly
what the engine's own opcode code would accept, so the engine goes on after
the run as if it had executed those opcodes one by one: nothing else is
touched, and a run stops short of anything unusual (truncation, a text
number with a sign or zero the C rules treat specially, another opcode),
which the engine then handles itself.

After MARK (any protocol):

* ``BININT1 n`` ... -- a list's small ints: pushed;
* ``BININT1 n NONE`` ... -- a dict's small int keys with None values: pushed;
* ``LONG <decimal>L\\n`` ... (protocol 1 lists of ints): pushed;

and when the run is all there is up to the SETITEMS (APPENDS) that closes
the MARK, and the object below the MARK is an exact dict (list), the items
go straight into it, as that opcode would put them.

After PUT (protocol 0), when the object just memoized is an exact dict or
list, the SETITEM or APPEND opcodes of its items are applied too:

* ``INT <decimal>\\n NONE SETITEM`` ... on a dict;
* ``INT <decimal>\\n APPEND`` ... and ``LONG <decimal>L\\n APPEND`` ... on a list.

Text numbers are limited to 18 digits (what ``strtol`` takes without
overflow) and have no leading zero (octal to ``strtol``; ``00``/``01`` are
booleans) and no sign other than a minus before a non-zero digit.
"""

import re

__all__ = ["push_run", "apply_text_run"]

_DECIMAL = rb"(?:0|-?[1-9][0-9]{0,17})"
_SMALL_INTS = re.compile(rb"(?:K[\x00-\xff])+")
_SMALL_INT_KEYS = re.compile(rb"(?:K[\x00-\xff]N)+")
_TEXT_LONGS = re.compile(rb"(?:L%sL\n)+" % _DECIMAL)
_TEXT_INT_KEYS = re.compile(rb"(?:I%s\nNs)+" % _DECIMAL)
_TEXT_INT_ITEMS = re.compile(rb"(?:I%s\na)+" % _DECIMAL)
_TEXT_LONG_ITEMS = re.compile(rb"(?:L%sL\na)+" % _DECIMAL)

_BININT1 = ord("K")
_LONG = ord("L")
_INT = ord("I")
_SETITEMS = ord("u")
_APPENDS = ord("e")


def push_run(data, pos, stack, outer):
    """At ``pos``, just after a MARK (``stack`` the empty list above it,
    ``outer`` the one below): push the values of a run of BININT1, BININT1 +
    NONE or LONG opcodes onto ``stack``.  When the run is followed by the
    SETITEMS of an exact dict or the APPENDS of an exact list at the top of
    ``outer``, that opcode is applied too.  Returns the position after what
    was done (``pos`` when there is no run) and whether the MARK is closed."""
    code = data[pos]
    if code == _BININT1:
        run = _SMALL_INT_KEYS.match(data, pos)
        if run is not None:
            end = run.end()
            keys = data[pos + 1:end:3]
            if end < len(data) and data[end] == _SETITEMS and outer and type(outer[-1]) is dict:
                outer[-1].update(dict.fromkeys(keys))
                return end + 1, True
            items = [None] * (len(keys) * 2)
            items[::2] = keys
            stack.extend(items)
            return end, False
        run = _SMALL_INTS.match(data, pos)
        if run is not None:
            end = run.end()
            values = data[pos + 1:end:2]
        else:
            return pos, False
    elif code == _LONG:
        run = _TEXT_LONGS.match(data, pos)
        if run is None:
            return pos, False
        end = run.end()
        values = list(map(int, data[pos + 1:end - 2].split(b"L\nL")))
    else:
        return pos, False
    if end < len(data) and data[end] == _APPENDS and outer and type(outer[-1]) is list:
        outer[-1].extend(values)
        return end + 1, True
    stack.extend(values)
    return end, False


def apply_text_run(data, pos, target):
    """At ``pos``, just after the PUT of ``target``: apply a run of protocol 0
    items to it (int keys with None values on an exact dict, ints appended to
    an exact list); the position after the run (``pos`` when there is none)."""
    code = data[pos]
    if type(target) is dict:
        if code == _INT:
            run = _TEXT_INT_KEYS.match(data, pos)
            if run is not None:
                end = run.end()
                target.update(dict.fromkeys(map(int, data[pos + 1:end - 3].split(b"\nNsI"))))
                return end
    elif type(target) is list:
        if code == _INT:
            run = _TEXT_INT_ITEMS.match(data, pos)
            if run is not None:
                end = run.end()
                target.extend(map(int, data[pos + 1:end - 2].split(b"\naI")))
                return end
        elif code == _LONG:
            run = _TEXT_LONG_ITEMS.match(data, pos)
            if run is not None:
                end = run.end()
                target.extend(map(int, data[pos + 1:end - 3].split(b"L\naL")))
                return end
    return pos

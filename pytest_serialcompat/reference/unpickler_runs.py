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
* ``LONG1`` ... with the same byte count (protocol 2+ lists of large ints): pushed;

and when the run is all there is up to the SETITEMS (APPENDS) that closes
the MARK, and the object below the MARK is an exact dict (list), the items
go straight into it, as that opcode would put them.

After PUT (protocol 0), when the object just memoized is an exact dict or
list, the SETITEM or APPEND opcodes of its items are applied too:

* ``INT <decimal>\\n NONE SETITEM`` ... on a dict;
* ``INT <decimal>\\n APPEND`` ... and ``LONG <decimal>L\\n APPEND`` ... on a list.

then (and after each SETITEM that ends a nested item of a dict) a run of
protocol 0 items of any scalar kind (:func:`apply_item_run`): keys
``V<text>\\n PUT`` or ``GET`` of a str, values ``V<text>\\n PUT``, ``GET``,
``INT`` (bools too), ``LONG``, ``FLOAT`` or ``NONE``, each item closed by its
SETITEM (APPEND).  The pickle is decoded once (latin-1: a ``V`` argument
without a backslash is its own code points) and the items are matched one
after another by one compiled pattern, each converted by a few lines of
Python -- far fewer than the engine's trips for its 4-5 opcodes; a GET of a missing
index, or of a key that is not an exact str, ends the run just before that
item.  Floats are limited to the digits ``repr`` writes (at most 17 either
side of the point, a two-digit exponent): finite, so no overflow rule applies.

Whole small-int dicts and lists that the engine builds in one step are
kept, by the bytes of their items, in small bounded caches
(:data:`DICT_TEMPLATES`, :data:`LIST_TEMPLATES`): the next container with
the same items is a copy of the kept one, found without the pattern (see
:func:`keys_dict`).

Text numbers are limited to 18 digits (what ``strtol`` takes without
overflow) and have no leading zero (octal to ``strtol``; ``00``/``01`` are
booleans) and no sign other than a minus before a non-zero digit.
"""

import re
import struct
import sys

__all__ = [
    "keys_dict",
    "small_int_items",
    "DICT_TEMPLATES",
    "LIST_TEMPLATES",
    "TEMPLATE_BYTES",
    "push_run",
    "apply_text_run",
    "apply_item_run",
    "whole_text_container",
    "SMALL_INT_DICT",
    "SMALL_INT_LIST",
]

_DECIMAL = rb"(?:0|-?[1-9][0-9]{0,17})"
# A run is one or more of the same item.  From 3.11 the repeat is possessive
# (``++``: nothing follows it in the pattern, so it never backtracks), which
# spares the regex engine its backtracking bookkeeping per item (~20%).
_MORE = b"++" if sys.version_info >= (3, 11) else b"+"
_SMALL_INTS = re.compile(rb"(?:K[\x00-\xff])" + _MORE)
_SMALL_INT_KEYS = re.compile(rb"(?:K[\x00-\xff]N)" + _MORE)
# A whole dict (list) of them, from just after its EMPTY_DICT (EMPTY_LIST):
# group 1 the BINPUT index (None: MEMOIZE), group 3 the items.
SMALL_INT_DICT = re.compile(rb"(?:q([\x00-\xff])|(\x94))\(((?:K[\x00-\xff]N)" + _MORE + rb")u")
SMALL_INT_LIST = re.compile(rb"(?:q([\x00-\xff])|(\x94))\(((?:K[\x00-\xff])" + _MORE + rb")e")
# A whole protocol 0 dict of int keys with None values (list of ints), from
# just after its MARK: group 1 the PUT index, group 2 the items.
_TEXT_INT_DICT = re.compile(rb"dp([0-9]{1,18})\n((?:I%s\nNs)" % _DECIMAL + _MORE + b")")
_TEXT_INT_LIST = re.compile(rb"lp([0-9]{1,18})\n((?:I%s\na)" % _DECIMAL + _MORE + b")")
_TEXT_LONGS = re.compile(rb"(?:L%sL\n)" % _DECIMAL + _MORE)
_TEXT_INT_KEYS = re.compile(rb"(?:I%s\nNs)" % _DECIMAL + _MORE)
_TEXT_INT_ITEMS = re.compile(rb"(?:I%s\na)" % _DECIMAL + _MORE)
_TEXT_LONG_ITEMS = re.compile(rb"(?:L%sL\na)" % _DECIMAL + _MORE)

# One protocol 0 item of any scalar kind, matched in the pickle decoded as latin-1.
_INDEX = r"[0-9]{1,18}"
_FLOAT_TEXT = r"-?[0-9]{1,17}\.[0-9]{1,17}(?:e[+-][0-9]{2})?"
_SCALAR = (
    r"(?:V([^\\\n]*)\np(%(i)s)\n|g(%(i)s)\n|I(0|-?[1-9][0-9]{0,17})\n|I0([01])\n"
    r"|F(%(f)s)\n|L(0|-?[1-9][0-9]{0,17})L\n|(N))" % {"i": _INDEX, "f": _FLOAT_TEXT}
)
_DICT_ITEM = r"(?:(?:V([^\\\n]*)\np(%s)\n|g(%s)\n)%ss)" % (_INDEX, _INDEX, _SCALAR)
_LIST_ITEM = r"%sa" % _SCALAR
_DICT_ITEMS_TEXT = re.compile(_DICT_ITEM)
_LIST_ITEMS_TEXT = re.compile(_LIST_ITEM)
_MISSING = object()
_ITEM_STARTS = frozenset(b"VgIFLN")

# Texts of the small ints, which a dict lookup converts faster than ``int``.
_small_int = {b"%d" % value: value for value in range(-128, 1024)}.__getitem__

_BININT1 = ord("K")
_LONG = ord("L")
_LONG1 = 0x8A
# LONG1 opcodes with the same byte count (the ints of a list of similar
# values): one pattern per count, compiled when first needed.
_LONG1_RUNS = {}


def _long1_values(data, pos, end, width):
    """The ints of the run of LONG1 opcodes of ``width`` bytes in ``data[pos:end]``."""
    count = (end - pos) // (width + 2)
    if 0 < width <= 8:
        # Each payload's bytes into the low bytes of an 8-byte lane (one
        # strided copy per byte position), all lanes read by one struct call:
        # right for the non-negative values; any negative one (top bit of
        # its last byte set) and they are converted one by one.
        lanes = bytearray(8 * count)
        for byte in range(width):
            lanes[byte::8] = data[pos + 2 + byte:end:width + 2]
        values = list(struct.unpack("<%dQ" % count, lanes))
        if max(lanes[width - 1::8]) < 0x80:
            return values
    starts = range(pos + 2, end - width + 1, width + 2)
    return [_from_bytes(data[start:start + width], "little", signed=True) for start in starts]


def _long1_run(width):
    pattern = _LONG1_RUNS.get(width)
    if pattern is None:
        pattern = _LONG1_RUNS[width] = re.compile(
            b"(?:\x8a%s[\x00-\xff]{%d})" % (re.escape(bytes([width])), width) + _MORE
        )
    return pattern

_from_bytes = int.from_bytes
_INT = ord("I")
_PUT = ord("p")

# Dicts from keys to None (lists of small ints) that were built, by the bytes
# of their items: a pickle of many equal small dicts (bm_pickle's MICRO_DICT,
# records of one shape) copies the first one instead of building each --
# ``dict.copy`` clones the hash table at once, where ``dict.fromkeys`` inserts
# key by key and resizes on the way (about a third of the cost) -- and the
# engine, finding the items' bytes among these keys, need not match them
# against the pattern again.  Bounded: items of fewer than ``TEMPLATE_BYTES``
# bytes, and emptied when ``_TEMPLATE_COUNT`` are held.  A template is never
# handed out, only its copies.
DICT_TEMPLATES = {}
LIST_TEMPLATES = {}
_TEMPLATE_COUNT = 64
TEMPLATE_BYTES = 192


def keys_dict(items, parse, templates=DICT_TEMPLATES):
    """A new dict from the keys ``parse(items)`` finds in the bytes ``items``
    to None; ``templates``: the dicts built so far."""
    if _len(items) >= TEMPLATE_BYTES:
        return dict.fromkeys(parse(items))
    template = templates.get(items)
    if template is None:
        template = dict.fromkeys(parse(items))
        if _len(templates) >= _TEMPLATE_COUNT:
            templates.clear()
        templates[items] = template
    return template.copy()


_len = len
_DICT = ord("d")
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
    elif code == _LONG1:
        if pos + 1 >= len(data):
            return pos, False
        width = data[pos + 1]
        run = _long1_run(width).match(data, pos)
        if run is None:
            return pos, False
        end = run.end()
        values = _long1_values(data, pos, end, width)
    else:
        return pos, False
    if end < len(data) and data[end] == _APPENDS and outer and type(outer[-1]) is list:
        outer[-1].extend(values)
        return end + 1, True
    stack.extend(values)
    return end, False


def small_int_items(items, templates=LIST_TEMPLATES):
    """A new list of the ints of ``BININT1`` items (the bytes ``items``);
    ``templates``: the lists built so far."""
    if _len(items) >= TEMPLATE_BYTES:
        return list(items[1::2])
    template = templates.get(items)
    if template is None:
        template = list(items[1::2])
        if _len(templates) >= _TEMPLATE_COUNT:
            templates.clear()
        templates[items] = template
    return template.copy()


def small_int_keys(items):
    """The keys of ``BININT1 key NONE`` items."""
    return items[1::3]


def text_int_keys(items):
    """The keys of ``INT key NONE SETITEM`` items."""
    texts = items[1:-3].split(b"\nNsI")
    try:
        return list(map(_small_int, texts))
    except KeyError:  # not all small
        return map(int, texts)


# The items of the last whole protocol 0 dict built.  Its successor is tried
# against them before the pattern: the same bytes are the same complete items
# (where the engine could go on one by one), and when no INT follows them
# they are the whole run (any item starts with INT; else the pattern decides).
_LAST_TEXT_DICT = [None]


def whole_text_container(data, pos, memo, templates=DICT_TEMPLATES, last=_LAST_TEXT_DICT):
    """At ``pos``, just after a MARK followed by DICT (LIST): a whole
    protocol 0 dict of int keys with None values (list of ints) with its PUT,
    built, memoized and returned with the position after its items; None
    when there is none.  ``templates``: see :func:`keys_dict`."""
    if data[pos] == _DICT:
        items = last[0]
        template = templates.get(items) if items is not None else None
        if template is not None:
            newline = data.find(b"\n", pos + 2, pos + 21)  # PUT: 1-18 digits
            start = newline + 1
            end = start + _len(items)
            if (
                newline > pos + 2
                and data[pos + 1] == _PUT
                and data[pos + 2:newline].isdigit()
                and data.startswith(items, start)
                and data[end:end + 1] != b"I"
            ):
                value = template.copy()
                memo[int(data[pos + 2:newline])] = value
                return value, end
        run = _TEXT_INT_DICT.match(data, pos)
        if run is None:
            return None
        items = data[run.start(2):run.end(2)]
        value = keys_dict(items, text_int_keys, templates)
        last[0] = items
    else:
        run = _TEXT_INT_LIST.match(data, pos)
        if run is None:
            return None
        texts = data[run.start(2) + 1:run.end(2) - 2].split(b"\naI")
        try:
            value = list(map(_small_int, texts))
        except KeyError:  # not all small
            value = list(map(int, texts))
    memo[int(run.group(1))] = value
    return value, run.end()


def apply_text_run(data, pos, target, memo, text):
    """At ``pos``, with ``target`` on top of the stack (just after its PUT, or
    after one of its items): apply the run of protocol 0 items that starts
    there -- int keys with None values on an exact dict, ints appended to an
    exact list, then scalar items of any kind (:func:`apply_item_run`); the
    position after the run (``pos`` when there is none).  ``text`` is
    ``data`` decoded as latin-1."""
    if pos >= len(data):
        return pos
    code = data[pos]
    if code == _INT:
        if type(target) is dict:
            run = _TEXT_INT_KEYS.match(data, pos)
            if run is not None:
                end = run.end()
                texts = data[pos + 1:end - 3].split(b"\nNsI")
                try:
                    keys = dict.fromkeys(map(_small_int, texts))
                except KeyError:  # not all small
                    keys = dict.fromkeys(map(int, texts))
                target.update(keys)
                pos = end
        elif type(target) is list:
            run = _TEXT_INT_ITEMS.match(data, pos)
            if run is not None:
                end = run.end()
                texts = data[pos + 1:end - 2].split(b"\naI")
                try:
                    values = list(map(_small_int, texts))
                except KeyError:  # not all small
                    values = list(map(int, texts))
                target.extend(values)
                pos = end
    elif code == _LONG and type(target) is list:
        run = _TEXT_LONG_ITEMS.match(data, pos)
        if run is not None:
            end = run.end()
            target.extend(map(int, data[pos + 1:end - 3].split(b"L\naL")))
            pos = end
    if pos < len(data) and data[pos] in _ITEM_STARTS:
        return apply_item_run(text, pos, target, memo)
    return pos


def apply_item_run(text, pos, target, memo):
    """At ``pos``, with the exact dict or list ``target`` on top of the stack:
    apply the run of protocol 0 scalar items (see the module docstring) that
    starts there, PUTs included; the position after the run (``pos`` when
    there is none).  ``text`` is the pickle decoded as latin-1."""
    item = None
    if type(target) is dict:
        for item in iter(_DICT_ITEMS_TEXT.scanner(text, pos).match, None):
            (k_str, k_put, k_get, v_str, v_put, v_get, v_int, v_bool, v_float, v_long,
             v_none) = item.groups()
            if k_put:
                key = k_str
                memo[int(k_put)] = key
            else:
                key = memo.get(int(k_get))
                if type(key) is not str:
                    return item.start()
            if v_put:
                value = v_str
                memo[int(v_put)] = value
            elif v_int:
                value = int(v_int)
            elif v_none:
                value = None
            elif v_float:
                value = float(v_float)
            elif v_bool:
                value = v_bool == "1"
            elif v_get:
                value = memo.get(int(v_get), _MISSING)
                if value is _MISSING:
                    return item.start()
            else:
                value = int(v_long)
            target[key] = value
    elif type(target) is list:
        append = target.append
        for item in iter(_LIST_ITEMS_TEXT.scanner(text, pos).match, None):
            v_str, v_put, v_get, v_int, v_bool, v_float, v_long, v_none = item.groups()
            if v_put:
                value = v_str
                memo[int(v_put)] = value
            elif v_int:
                value = int(v_int)
            elif v_none:
                value = None
            elif v_float:
                value = float(v_float)
            elif v_bool:
                value = v_bool == "1"
            elif v_get:
                value = memo.get(int(v_get), _MISSING)
                if value is _MISSING:
                    return item.start()
            else:
                value = int(v_long)
            append(value)
    return pos if item is None else item.end()

"""Goldens that differ from the current bytes only in the order of set elements.

A set of strings iterates in an order that depends on the string hashes, so
under another ``PYTHONHASHSEED`` (tox picks a random one per run) it pickles
its elements in another order.  A golden holding one then rarely equals the
current object's own pickle byte for byte, although it is that pickle.

:func:`same_up_to_set_order` proves this without the analyzer, and without
loading anything, from the two byte strings alone.  It is true only when:

1. both are binary pickles (PROTO 2 or later) of the same protocol and length;
2. every byte outside the *set bodies* of the current pickle (``fresh``, which
   the project's own code just wrote) is the same in the golden, except the
   slot numbers of memo reads (point 4);
3. each set body of the golden is the fresh body with its elements permuted.
   A body is the run of elements between the MARK and the opcode that turns
   them into a set: ADDITEMS or FROZENSET (protocol 4+), or, below protocol 4,
   the APPENDS of the list that ``builtins.set``/``frozenset`` is called with
   (the only way those protocols write a set).  An element is one literal
   (str, bytes, int, float, None, True, False) and, after it, the memo store
   the pickler wrote for it; the memo stores keep their places, the literals
   are permuted as whole opcodes;
4. a memo slot stored inside a permuted body is stored nowhere else, and
   every read of one, in the golden, reads a slot stored earlier that holds
   the same literal as the slot the current pickle reads there (a string in a
   set and in a field is one object, pickled once and read back by slot); the
   list a protocol 2-3 body fills is never read.

Then the golden runs, opcode for opcode, as the current pickle does, except
that each permuted set receives the same elements in another order: it builds
an equal object from the same globals, which is why it needs no gate.
Anything else (a body holding a tuple, a memo reference, a frame boundary,
text opcodes, protocol 0-1) is simply not proven here: the golden goes through
the gate as before.
"""

import struct
from bisect import bisect_left
from typing import List, Optional, Tuple

from ..reference import opcodes as op

__all__ = ["same_up_to_set_order"]

_u4 = struct.Struct("<I").unpack_from
_i4 = struct.Struct("<i").unpack_from
_u8 = struct.Struct("<Q").unpack_from
_p4 = struct.Struct("<I").pack

# opcode byte -> size of its argument, or how to find it: a length prefix of 1, 4
# (unsigned / signed) or 8 bytes, or two text lines (GLOBAL).  Text opcodes other than
# GLOBAL are not tokenized: a pickle holding one is not proven here.
_PREFIX1, _PREFIX4, _SIGNED4, _PREFIX8, _TWO_LINES, _UNSUPPORTED = -1, -4, -5, -8, -2, -99
_SIZES = {op.ARG_NONE: 0, op.ARG_UINT1: 1, op.ARG_UINT2: 2, op.ARG_INT4: 4, op.ARG_UINT4: 4,
          op.ARG_UINT8: 8, op.ARG_FLOAT8: 8,
          op.ARG_LONG1: _PREFIX1, op.ARG_BYTES1: _PREFIX1, op.ARG_STRING1: _PREFIX1,
          op.ARG_UNICODESTRING1: _PREFIX1, op.ARG_BYTES4: _PREFIX4,
          op.ARG_UNICODESTRING4: _PREFIX4, op.ARG_LONG4: _SIGNED4, op.ARG_STRING4: _SIGNED4,
          op.ARG_BYTES8: _PREFIX8, op.ARG_UNICODESTRING8: _PREFIX8, op.ARG_BYTEARRAY8: _PREFIX8,
          op.ARG_STRINGNL_NOESCAPE_PAIR: _TWO_LINES}
_SIZE = [_UNSUPPORTED] * 256
for _code, _opcode in op.OPCODES.items():
    _SIZE[_code] = _SIZES.get(_opcode.arg, _UNSUPPORTED)
_SIZE[op.INST[0]] = _UNSUPPORTED  # two lines too, but never written by a binary pickler
del _code, _opcode

# Literals an element may be, and the memo stores that may follow one.
_LITERALS = frozenset(c[0] for c in (
    op.SHORT_BINUNICODE, op.BINUNICODE, op.BINUNICODE8, op.SHORT_BINBYTES, op.BINBYTES,
    op.BINBYTES8, op.BININT, op.BININT1, op.BININT2, op.LONG1, op.BINFLOAT, op.NONE,
    op.NEWTRUE, op.NEWFALSE))
_MEMOIZE, _BINPUT, _LONG_BINPUT = op.MEMOIZE[0], op.BINPUT[0], op.LONG_BINPUT[0]
_STORES = frozenset((_MEMOIZE, _BINPUT, _LONG_BINPUT))
_ELEMENT_OPS = _LITERALS | _STORES
_BINGET, _LONG_BINGET = op.BINGET[0], op.LONG_BINGET[0]
_MARK, _ADDITEMS, _FROZENSET = op.MARK, op.ADDITEMS[0], op.FROZENSET[0]
_EMPTY_LIST, _APPENDS, _TUPLE1, _REDUCE = (op.EMPTY_LIST[0], op.APPENDS[0], op.TUPLE1[0],
                                          op.REDUCE[0])
_GLOBAL = op.GLOBAL[0]
_SET_TYPES = frozenset((b"builtins\nset\n", b"builtins\nfrozenset\n",
                        b"__builtin__\nset\n", b"__builtin__\nfrozenset\n"))


class _NotProven(Exception):
    pass


def _scan(data: bytes, start: int, stop: int) -> Tuple[bytes, List[int]]:
    """The opcodes of ``data[start:stop]`` (one byte each) and where each starts; the
    offsets end with ``stop``, where the last argument must end exactly."""
    offsets: List[int] = []
    add_offset = offsets.append
    sizes = _SIZE
    pos = start
    while pos < stop:
        add_offset(pos)
        size = sizes[data[pos]]
        if size >= 0:
            pos += 1 + size
        elif size == _PREFIX1:
            pos += 2 + data[pos + 1]
        elif size == _PREFIX4:
            pos += 5 + _u4(data, pos + 1)[0]
        elif size == _PREFIX8:
            pos += 9 + _u8(data, pos + 1)[0]
        elif size == _SIGNED4:
            length = _i4(data, pos + 1)[0]
            if length < 0:
                raise _NotProven
            pos += 5 + length
        elif size == _TWO_LINES:
            pos = data.index(b"\n", data.index(b"\n", pos + 1) + 1) + 1
        else:
            raise _NotProven
    if pos != stop:
        raise _NotProven
    codes = bytes(map(data.__getitem__, offsets))
    add_offset(stop)
    return codes, offsets


def _elements(data: bytes, codes: bytes, offsets: List[int], first: int, last: int
              ) -> Optional[Tuple[List[bytes], List[bytes]]]:
    """(literal opcodes, memo stores -- b"" where none) of the elements in tokens
    ``first``..``last - 1``, or None when those are not all elements."""
    literals, stores = [], []
    i = first
    while i < last:
        if codes[i] not in _LITERALS:
            return None
        literals.append(data[offsets[i]:offsets[i + 1]])
        i += 1
        if i < last and codes[i] in _STORES:
            stores.append(data[offsets[i]:offsets[i + 1]])
            i += 1
        else:
            stores.append(b"")
    return literals, stores


def _set_argument_list(fresh: bytes, codes: bytes, offsets: List[int], mark: int, close: int,
                       stores: dict) -> Optional[int]:
    """For MARK..APPENDS: the token index of the list's memo store (-1: none) when the
    list is the one argument of builtins.set/frozenset -- ``GLOBAL [store] EMPTY_LIST
    [store] MARK ... APPENDS TUPLE1 [store] REDUCE`` -- else None."""
    i = mark - 1
    store = -1
    if i >= 0 and codes[i] in _STORES:
        store, i = i, i - 1
    if i < 0 or codes[i] != _EMPTY_LIST:
        return None
    i -= 1
    if i >= 0 and codes[i] in _STORES:
        i -= 1
    if i >= 0 and (codes[i] == _BINGET or codes[i] == _LONG_BINGET):
        i = _stored_from(fresh, codes, offsets, i, stores)  # the class again, from the memo
    if i < 0 or codes[i] != _GLOBAL or fresh[offsets[i] + 1:offsets[i + 1]] not in _SET_TYPES:
        return None
    j = close + 1
    if j >= len(codes) or codes[j] != _TUPLE1:
        return None
    j += 1
    if j < len(codes) and codes[j] in _STORES:
        j += 1
    if j >= len(codes) or codes[j] != _REDUCE:
        return None
    return store


def _stored_from(fresh: bytes, codes: bytes, offsets: List[int], read: int,
                 stores: dict) -> int:
    """For the memo read at token ``read``: the token whose value the store of that slot
    saved (the token before the store), or -1.  ``stores``: slot -> store token, filled
    on first use."""
    if not stores:
        memoized = 0
        for index in range(len(codes)):
            code = codes[index]
            if code == _MEMOIZE:
                slot, memoized = memoized, memoized + 1
            elif code == _BINPUT or code == _LONG_BINPUT:
                slot = _slot(fresh, codes, offsets, index)
            else:
                continue
            if slot in stores:
                raise _NotProven  # a slot stored twice: not what a binary pickler writes
            stores[slot] = index
        stores[None] = -1  # filled (even when the pickle stores nothing)
    index = stores.get(_read_slot(fresh, codes, offsets, read), -1)
    return index - 1 if 0 < index < read else -1


def _slot(fresh: bytes, codes: bytes, offsets: List[int], index: int) -> int:
    """The memo slot the store at token ``index`` fills (a binary pickler uses MEMOIZE or
    BINPUT/LONG_BINPUT, never both; MEMOIZE fills the next slot)."""
    code = codes[index]
    if code == _MEMOIZE:
        return codes.count(_MEMOIZE, 0, index)
    if code == _BINPUT:
        return fresh[offsets[index] + 1]
    return _u4(fresh, offsets[index] + 1)[0]


def _read_slot(data: bytes, codes: bytes, offsets: List[int], index: int) -> int:
    at = offsets[index] + 1
    return data[at] if codes[index] == _BINGET else _u4(data, at)[0]


def same_up_to_set_order(golden: bytes, fresh: bytes) -> bool:
    """Whether ``golden`` is ``fresh`` with only the elements of some sets reordered.

    ``fresh`` must be the current object's own pickle (trusted); ``golden`` may
    be anything.  See the module docstring for what "only" means exactly.
    """
    if (len(golden) != len(fresh) or golden == fresh or len(fresh) < 3
            or fresh[0] != op.PROTO[0] or golden[:2] != fresh[:2] or fresh[1] < 2
            or not _may_hold_a_set(fresh)):
        return False
    key = (golden[2:], fresh[2:])  # the PROTO argument aside (see _layout_of)
    found = _PROOFS.get(key)
    if found is not None:
        return found
    try:
        layout = _layout_of(fresh)
        found = layout is not None and _proven(golden, fresh, layout)
    except (_NotProven, IndexError, ValueError, struct.error):
        found = False
    if len(fresh) <= _MAX_LAYOUT_BYTES:
        if len(_PROOFS) >= _MAX_PROOFS:
            _PROOFS.clear()
        _PROOFS[key] = found
    return found


class _Body:
    """One set body of the current pickle; what its elements are is worked out only when
    a golden's body differs from it (most goldens differ elsewhere, or nowhere here)."""

    __slots__ = ("mark", "close", "start", "stop", "list_store", "list_slot", "literals",
                 "stores", "slots", "sorted", "ready")

    def __init__(self, offsets, mark, close, list_store):
        self.mark, self.close, self.list_store = mark, close, list_store
        self.start, self.stop = offsets[mark + 1], offsets[close]
        self.ready = False

    def prepare(self, fresh, codes, offsets) -> None:
        if self.ready:
            return
        mark, close = self.mark, self.close
        # the memo slot of the list a protocol 2-3 body fills (-1: none)
        self.list_slot = (_slot(fresh, codes, offsets, self.list_store)
                          if self.list_store >= 0 else -1)
        elements = _elements(fresh, codes, offsets, mark + 1, close)
        self.literals, self.stores = elements if elements is not None else (None, None)
        self.sorted = sorted(self.literals) if self.literals is not None else None
        # for each memo store in the body: (its slot, the index of the element it stores)
        self.slots = []
        memoized = codes.count(_MEMOIZE, 0, mark)  # slots MEMOIZE filled before the body
        element = -1
        for index in range(mark + 1, close):
            code = codes[index]
            if code in _LITERALS:
                element += 1
                continue
            if code == _MEMOIZE:
                slot, memoized = memoized, memoized + 1
            else:
                slot = _slot(fresh, codes, offsets, index)
            self.slots.append((slot, element))
        self.ready = True


class _Layout:
    """What the proof needs of the current pickle alone: its tokens and set bodies.
    Computed once per pickle (and shared by another protocol's pickle that differs from
    it only in the PROTO byte: protocols 4 and 5 mostly write the same)."""

    __slots__ = ("codes", "offsets", "bodies", "binput")

    def __init__(self, fresh: bytes):
        codes, offsets = _scan(fresh, 0, len(fresh))
        self.binput = _BINPUT in codes or _LONG_BINPUT in codes
        if self.binput and _MEMOIZE in codes:
            raise _NotProven
        self.codes, self.offsets = codes, offsets
        self.bodies = [_Body(offsets, mark, close, list_store)
                       for mark, close, list_store in _set_bodies(fresh, codes, offsets)]

    def reads_of(self, fresh: bytes, slot: int) -> List[Tuple[int, int]]:
        """(offset, opcode) of every memo read of ``slot`` in the current pickle."""
        return [(at, pattern[0]) for pattern in _slot_patterns(_BINGET, _LONG_BINGET, slot)
                for at in _token_hits(fresh, self.offsets, pattern)]

    def stores_of(self, fresh: bytes, slot: int) -> int:
        """How many BINPUT/LONG_BINPUT tokens store ``slot`` (MEMOIZE fills each slot once)."""
        return sum(len(_token_hits(fresh, self.offsets, pattern))
                   for pattern in _slot_patterns(_BINPUT, _LONG_BINPUT, slot))


def _slot_patterns(short: int, long: int, slot: int) -> List[bytes]:
    """The bytes of the memo opcodes ``short`` (1-byte slot) and ``long`` (4-byte) naming ``slot``."""
    patterns = [bytes((long,)) + _p4(slot)]
    if slot < 256:
        patterns.append(bytes((short, slot)))
    return patterns


def _token_hits(data: bytes, offsets: List[int], pattern: bytes) -> List[int]:
    """Offsets of the tokens of ``data`` that begin with ``pattern`` (a search of the bytes,
    then a look-up of each hit among the token offsets: an argument may hold the same bytes)."""
    hits = []
    at = data.find(pattern)
    while at >= 0:
        if offsets[bisect_left(offsets, at)] == at:
            hits.append(at)
        at = data.find(pattern, at + 1)
    return hits


_LAYOUTS: dict = {}          # fresh[2:] -> _Layout, or None when nothing is proven there
_MAX_LAYOUTS = 16
# (golden[2:], fresh[2:]) -> the proof's answer: a golden at protocol 5 mostly holds the
# protocol 4 golden's bytes, so it is proven with it (the opcodes after PROTO run alike)
_PROOFS: dict = {}
_MAX_PROOFS = 4
_MAX_LAYOUT_BYTES = 1 << 20  # larger pickles are scanned each time, not kept


def _layout_of(fresh: bytes) -> Optional[_Layout]:
    key = fresh[2:]  # the PROTO argument aside: the same tokens, bodies and memo
    found = _LAYOUTS.get(key, _MISSING)
    if found is not _MISSING:
        return found
    try:
        found = _Layout(fresh)
    except (_NotProven, IndexError, ValueError, struct.error):
        found = None
    if len(fresh) <= _MAX_LAYOUT_BYTES:
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        _LAYOUTS[key] = found
    return found


_MISSING = object()


def _proven(golden: bytes, fresh: bytes, layout: _Layout) -> bool:
    changed: List[Tuple[int, int]] = []  # (start, stop) of the permuted bodies
    ours_by_slot, theirs_by_slot, stored_at = {}, {}, {}  # slot -> literal, body end
    for body in layout.bodies:
        start, stop = body.start, body.stop
        if golden[start:stop] == fresh[start:stop]:
            continue
        body.prepare(fresh, layout.codes, layout.offsets)
        ours_sorted = body.sorted
        if ours_sorted is None:
            return False
        theirs_codes, theirs_offsets = _scan(golden, start, stop)
        theirs = _elements(golden, theirs_codes, theirs_offsets, 0, len(theirs_codes))
        if theirs is None or theirs[1] != body.stores or sorted(theirs[0]) != ours_sorted:
            return False
        if body.list_slot >= 0 and layout.reads_of(fresh, body.list_slot):
            return False
        ours, their_literals = body.literals, theirs[0]
        for slot, element in body.slots:
            ours_by_slot[slot] = ours[element]
            theirs_by_slot[slot] = their_literals[element]
            stored_at[slot] = stop
        changed.append((start, stop))
    if not changed:
        return False  # the bytes differ, but not inside a set
    if ours_by_slot:
        golden = _reads_matched(golden, fresh, layout, ours_by_slot, theirs_by_slot, stored_at)
        if golden is None:
            return False
    done = 0
    for start, stop in changed:
        if golden[done:start] != fresh[done:start]:
            return False
        done = stop
    return golden[done:] == fresh[done:]


def _may_hold_a_set(fresh: bytes) -> bool:
    """False when no byte of the pickle could be a set's closing opcode or global (a
    quick filter: these bytes may also sit inside arguments)."""
    return (bytes((_ADDITEMS,)) in fresh or bytes((_FROZENSET,)) in fresh
            or b"set\n" in fresh)


def _set_bodies(fresh: bytes, codes: bytes, offsets: List[int]):
    """(MARK token, closing token, list store token or -1) of each set body."""
    count = len(codes)
    stores: dict = {}
    mark = codes.find(_MARK)
    while mark >= 0:
        next_mark = codes.find(_MARK, mark + 1)
        close = mark + 1
        while close < count and codes[close] in _ELEMENT_OPS:
            close += 1
        if close < count and close > mark + 1:
            closer = codes[close]
            if closer == _ADDITEMS or closer == _FROZENSET:
                yield mark, close, -1
            elif closer == _APPENDS:
                list_store = _set_argument_list(fresh, codes, offsets, mark, close, stores)
                if list_store is not None:
                    yield mark, close, list_store
        mark = next_mark


def _reads_matched(golden: bytes, fresh: bytes, layout: _Layout, ours_by_slot: dict,
                   theirs_by_slot: dict, stored_at: dict) -> Optional[bytes]:
    """``golden`` with the slot numbers of its reads of permuted slots replaced by the
    current pickle's, when each reads an earlier slot holding the same literal; else None."""
    patched = None
    for ours in ours_by_slot:
        if layout.binput and layout.stores_of(fresh, ours) != 1:
            return None  # a permuted slot must be stored once (its body's store)
        for at, code in layout.reads_of(fresh, ours):
            if golden[at] != code:
                return None
            end = at + (2 if code == _BINGET else 5)
            theirs = golden[at + 1] if code == _BINGET else _u4(golden, at + 1)[0]
            if theirs_by_slot.get(theirs) != ours_by_slot[ours] or stored_at[theirs] > at:
                return None
            if patched is None:
                patched = bytearray(golden)
            patched[at + 1:end] = fresh[at + 1:end]
    return golden if patched is None else bytes(patched)

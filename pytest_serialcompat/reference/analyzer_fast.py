"""Verdict mode at C speed for small pure-data pickles, or a refusal to answer.

:func:`fast_verdict` answers ``analyze(data, tree=False)`` for one class of
input only, and returns None (the caller runs the full analyzer) for every
other: the bytes CPython's own pickler writes, at the protocol the stream
declares, for an object graph made only of None, bool, int, float, str,
bytes, bytearray, list, tuple, dict, set and frozenset -- no global, no call.
For such a stream the full analyzer's result has a closed form: no globals,
calls or uses, no finding but a hash-collision one (:data:`.analyzer.KIND_COST`,
the same rule applied to the same keys), no buffer, ``end`` the input size,
the PROTO argument (or 0/1, see :func:`_protocol`).  The opcode counts and the
memo size are worked out by the full analyzer when first read (a gate reads
neither).

How membership is decided, and why it is safe to decide it so:

1. A lexer (one compiled regular expression, C speed) must read the whole
   input as a sequence of the opcodes such a stream can hold (:data:`_TOKEN`),
   with every length and memo index checked: the C unpickler is never given
   a global, an extension code, a persistent id, a buffer, an INST/OBJ/REDUCE/
   NEWOBJ/BUILD, a length past the input's end, a FRAME length beyond about
   :data:`MAX_BYTES`, or a PUT/LONG_BINPUT index beyond that (CPython's C
   unpickler resizes its memo array to twice the index it is given:
   ``LONG_BINPUT 2**28`` would zero 4 GB; a buffered reader allocates the size
   a read asks for before reading).
   Tokens start with distinct opcode bytes and have the loader's lengths, so
   there is one reading, the C unpickler's own; text arguments are lines, as
   the loader reads them.
2. Inputs are at most :data:`MAX_BYTES` long, which bounds what the real
   loader does with them: memory linear in the input, no deep recursion, and
   the one super-linear cost of data opcodes (keys whose hashes collide: a
   dict insertion probes every earlier key) stays of the order of the full
   analyzer's own time on the same input.  Text integers are bounded by the
   interpreter's ``sys.get_int_max_str_digits()``, required to be set and at
   most ``Limits.max_int_digits``.
3. The stream is loaded by an ``Unpickler`` whose ``find_class`` and
   ``persistent_load`` refuse (a second wall: step 1 already lets no global
   through), so nothing is imported and nothing is called but the builtin
   containers' own methods.
4. The loaded graph is pickled again by CPython's pickler at the declared
   protocol; only if that gives back exactly the input is the input accepted.
   So every accepted input is the pickler's canonical output for a pure-data
   graph, never a hand-made stream with the analyzer-vs-loader corner cases
   (whitespace in text numbers, duplicate keys, odd memo use, MARK tricks).
5. The two checks the full analyzer makes on such streams are made on the
   loaded graph: keys of one dict/set sharing a hash (the rule of the
   analyzer's ``_collisions``, over the loader's memo: a canonical stream
   memoizes every dict, set and frozenset), and a bound on nesting: a stream
   that is short or makes few containers cannot nest past ``max_depth`` (the
   analyzer's kept depth is at most its number of containers), and this path
   declines unless the same holds (each container
   opcode of a canonical stream writes one reference to a container of the
   graph, counted by a C-speed ``gc.get_referents`` walk; MARKs open at once
   are bounded the same way).

Any exception anywhere, any limit that differs from what this reasoning
needs, and the answer is None.  The differential tests
(tests/reference/test_analyzer_fast.py) compare ``to_dict()`` and the gate's
fields with the full analyzer on generated graphs at protocols 0-5, hostile
corpora, token-stream mutations and truncations.
"""

import gc
import io
import pickle
import re
import sys
from itertools import compress
from typing import Optional

from .analyzer import KIND_COST, Analysis, UnsafeGlobal

__all__ = ["fast_verdict", "MAX_BYTES"]

MAX_BYTES = 8192  # inputs longer than this go to the full analyzer (see point 2 above)

_S = re.DOTALL


_COUNTED_MAX = 64  # longer counted arguments are skipped by _lexes itself (_LONG_FORMS)


def _counted(opcode: bytes, width: int) -> bytes:
    """``opcode``, a ``width``-byte little-endian length below 64, then that many bytes.

    One branch per length (a regex cannot count); compiling the branches is what
    costs (a few ms), so the longer arguments, rarer, go to :func:`_lexes`'s loop.
    """
    pad = b"\x00" * (width - 1)
    branches = [re.escape(bytes([n]) + pad) + (b".{%d}" % n if n else b"") for n in range(_COUNTED_MAX)]
    return re.escape(opcode) + b"(?:" + b"|".join(branches) + b")"


# The opcodes CPython's pickler writes for a pure-data graph.  The regex engine tries
# the branches of an alternation in order (each starts with its own opcode byte), so
# there are two orders: text opcodes first (protocols 0-1, no PROTO), binary first.
_TOKEN = {
    "BININT1": b"K.",
    "MEMOIZE": b"\x94",
    "NONE": b"N",
    "MARK": b"\\(",
    "SHORT_BINUNICODE": _counted(b"\x8c", 1),
    "BINFLOAT": b"G.{8}",
    "BININT": b"J.{4}",
    "BININT2": b"M.{2}",
    "BINPUT": b"q.",
    "BINGET": b"h.",
    "APPENDS": b"e",
    "SETITEMS": b"u",
    "EMPTY_LIST": b"\\]",
    "EMPTY_DICT": b"\\}",
    "NEWTRUE": b"\x88",
    "NEWFALSE": b"\x89",
    "BINUNICODE": _counted(b"X", 4),  # longer ones: _LONG_FORMS
    "LONG1": _counted(b"\x8a", 1),
    "TUPLE1": b"\x85",
    "TUPLE2": b"\x86",
    "TUPLE3": b"\x87",
    "EMPTY_TUPLE": b"\\)",
    "APPEND": b"a",
    "SETITEM": b"s",
    "TUPLE": b"t",
    "LIST": b"l",
    "DICT": b"d",
    "POP": b"0",  # POP and POP_MARK: a tuple that contains itself
    "POP_MARK": b"1",
    # Text arguments: any line (the loader parses it, within sys.get_int_max_str_digits()
    # for numbers; the round trip then requires the pickler's own spelling) ...
    "INT": b"I[^\n]*\n",
    "FLOAT": b"F[^\n]*\n",
    "UNICODE": b"V[^\n]*\n",
    # a run of them in one alternation step (a list of big ints, at protocols 0-1); the branch
    # starts with its opcode byte, which lets the engine skip it at a glance for other tokens
    "LONG": b"L[^\n]*\n(?:L[^\n]*\n)*" + (b"+" if sys.version_info >= (3, 11) else b""),
    "GET": b"g[^\n]*\n",
    # ... but a PUT index, which sizes the C memo array, below 10**4
    "PUT": b"p[0-9]{1,4}\n",
    "LONG_BINPUT": b"r.[\x00-\x1f]\x00\x00",  # index below 8192 = MAX_BYTES
    "LONG_BINGET": b"j.{4}",
    "SHORT_BINBYTES": _counted(b"C", 1),
    "BINBYTES": _counted(b"B", 4),  # longer ones: _LONG_FORMS
    "EMPTY_SET": b"\x8f",
    "ADDITEMS": b"\x90",
    "FROZENSET": b"\x91",
    # FRAME: a length below 8448 (a buffered reader allocates what read() asks for before
    # reading: a frame of 2**40 would be a 1 TB request)
    "FRAME": b"\x95.[\x00-\x20]\x00{6}",
}
_TEXT_FIRST = ("UNICODE", "PUT", "APPEND", "SETITEM", "LONG", "INT", "FLOAT", "MARK", "NONE", "GET", "LIST",
               "DICT", "TUPLE", "BINPUT", "BINUNICODE", "BININT1", "BININT", "BINFLOAT", "BININT2", "APPENDS",
               "SETITEMS", "EMPTY_LIST", "EMPTY_DICT", "BINGET", "LONG_BINPUT", "LONG_BINGET", "EMPTY_TUPLE",
               "POP", "POP_MARK")
_BINARY_FIRST = ("BININT1", "MEMOIZE", "NONE", "SHORT_BINUNICODE", "MARK", "BINFLOAT", "BININT", "BININT2",
                 "BINPUT", "BINGET", "APPENDS", "SETITEMS", "EMPTY_LIST", "EMPTY_DICT", "NEWTRUE", "NEWFALSE",
                 "BINUNICODE", "LONG1", "TUPLE2", "TUPLE1", "TUPLE3", "EMPTY_TUPLE", "APPEND", "SETITEM",
                 "TUPLE", "LONG_BINPUT", "LONG_BINGET", "SHORT_BINBYTES", "BINBYTES", "EMPTY_SET", "ADDITEMS",
                 "FROZENSET", "FRAME", "POP_MARK", "POP")


# Possessive (3.11+): no backtracking state kept per token (there is only one reading anyway).
_REPEAT = b"*+" if sys.version_info >= (3, 11) else b"*"


_LEXERS = {}  # order -> compiled lexer, made on first use (not at import: see _counted)


def _lexer(order):
    match = _LEXERS.get(order)
    if match is None:
        pattern = b"(?:" + b"|".join(_TOKEN[name] for name in order) + b")" + _REPEAT
        match = _LEXERS[order] = re.compile(pattern, _S).match
    return match


# Opcodes with a length too big for a regex branch: width of the length field
# (SHORT_BINUNICODE, LONG1, SHORT_BINBYTES, BINUNICODE, BINBYTES, LONG4, BINUNICODE8,
# BINBYTES8, BYTEARRAY8).
_LONG_FORMS = {0x8C: 1, 0x8A: 1, ord("C"): 1, ord("X"): 4, ord("B"): 4, 0x8B: 4, 0x8D: 8, 0x8E: 8, 0x96: 8}
_STOP = ord(".")
_PROTO = 0x80
_FRAMED = (b"\x80\x04\x95", b"\x80\x05\x95")
_TEXT_STARTS = (b"(l", b"(d")
_NEWLINE = ord("\n")


def _lexes(data: bytes) -> bool:
    """Does ``data`` read as a sequence of :data:`_TOKEN` (and long forms) ending in STOP?"""
    last = len(data) - 1
    if data[0] == _PROTO:
        if not 2 <= data[1] <= pickle.HIGHEST_PROTOCOL:
            return False
        pos, match = 2, _lexer(_BINARY_FIRST)  # after PROTO 2-5
    else:
        pos, match = 0, _lexer(_TEXT_FIRST)  # protocols 0 and 1 (no PROTO opcode)
    while True:
        pos = match(data, pos).end()
        if pos >= last:
            return pos == last and data[last] == _STOP
        width = _LONG_FORMS.get(data[pos])
        if width is None:
            return False
        start = pos + 1 + width
        if start > last:
            return False
        pos = start + int.from_bytes(data[pos + 1:start], "little")
        if pos > last:
            return False


class _DataOnly(pickle.Unpickler):
    """Loads data opcodes only: a global or a persistent id stops the load."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError("global in a data-only stream")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent id in a data-only stream")


_ATOMS = frozenset((int, float, str, bytes, bool, type(None)))
_KEYED = (dict, set, frozenset)
_KEYED_TYPES = frozenset(_KEYED)
_CONTAINERS = frozenset((list, tuple, dict, set, frozenset))
_HASH_MIN_INT = (1 << 61) - 2


def _hash_of(value):
    """The analyzer's ``_hash_of`` on the loaded value (None: values of its kind do not collide)."""
    t = type(value)
    if t is int:
        return hash(value) if value >= _HASH_MIN_INT or value <= -_HASH_MIN_INT or value in (-1, -2) else None
    if t is float:
        return hash(value)
    if t is tuple:
        for item in value:
            if type(item) not in _ATOMS:
                return None
        return hash(value)
    return None


def _collides(keys, limit: int) -> bool:
    """More than ``limit`` keys (pairwise distinct: they are one dict's or set's) with one hash?"""
    groups = {}
    for key in keys:
        h = _hash_of(key)
        if h is not None:
            n = groups.get(h, 0) + 1
            if n > limit:
                return True
            groups[h] = n
    return False


def _any_collides(objects, limit: int) -> bool:
    """Is one of ``objects`` a dict/set/frozenset with more than ``limit`` keys of one hash?"""
    objects = list(objects)
    for obj in compress(objects, map(_KEYED_TYPES.__contains__, map(type, objects))):
        if len(obj) > limit and _collides(obj, limit):
            return True
    return False


def _walk(root, limit: int, count: bool):
    """(a dict/set with colliding keys, references to containers in the graph: 0 unless ``count``).

    Breadth first over the distinct containers; the filtering runs in C
    (``gc.get_referents``, ``compress``, set operations), Python code only
    touches the containers themselves.
    """
    if type(root) not in _CONTAINERS:
        return False, 0
    seen = {id(root)}
    level = [root]
    references = 1
    collided = False
    referents = gc.get_referents
    is_container = _CONTAINERS.__contains__
    while level:
        if not collided:
            for obj in level:
                if type(obj) in _KEYED and len(obj) > limit and _collides(obj, limit):
                    collided = True
                    if not count:
                        return True, 0
                    break
        refs = referents(*level)
        found = list(compress(refs, map(is_container, map(type, refs))))
        if count:
            references += len(found)
        by_id = dict(zip(map(id, found), found))
        fresh = by_id.keys() - seen
        seen.update(fresh)
        level = list(map(by_id.__getitem__, fresh))
    return collided, references


def _protocol(data: bytes, graph) -> Optional[int]:
    """The protocol ``data`` is the canonical pickle of ``graph`` at, or None.

    Without PROTO, the analyzer reports the highest protocol of the opcodes
    run: 0 for a protocol 0 stream; a protocol 1 stream that differs from the
    protocol 0 one uses a binary opcode (BININT*, BINFLOAT, BINUNICODE,
    EMPTY_*, APPENDS, SETITEMS, BINPUT/BINGET, POP_MARK), all of protocol 1.
    The protocol the stream's shape suggests is tried first, so that most
    streams cost one dump.
    """
    if data[0] == _PROTO:
        protocol = data[1]
        return protocol if pickle.dumps(graph, protocol) == data else None
    # the likelier one first: LIST and DICT are protocol 0 opcodes (protocol 1 writes an empty
    # list or dict as EMPTY_*), and a protocol 0 tuple ends with a text PUT
    for protocol in (0, 1) if data[:2] in _TEXT_STARTS or data[-2] == _NEWLINE else (1, 0):
        if pickle.dumps(graph, protocol) == data:
            if protocol == 1 and type(graph) not in _CONTAINERS and pickle.dumps(graph, 0) == data:
                # a container's protocol 1 pickle has EMPTY_* or BINPUT; an atom's may be its
                # protocol 0 pickle (None, a bool, an int of more than 32 bits)
                return 0
            return protocol
    return None


class FastAnalysis(Analysis):
    """An :class:`~.analyzer.Analysis` made by :func:`fast_verdict`.

    The opcode counts and the memo size (which no gate reads) come from the
    full analyzer, run on the same bytes when one of them is first read.
    """

    __slots__ = ("_data", "_limits", "_lazy_counts", "_lazy_memo_size")

    def _full(self):
        from .analyzer import _run

        full = _run(self._data, (), self._limits, False, False)
        self._lazy_counts, self._lazy_memo_size = full._counts, full.memo_size

    @property
    def _counts(self):
        if self._lazy_counts is None:
            self._full()
        return self._lazy_counts

    @_counts.setter
    def _counts(self, value):
        self._lazy_counts = value

    @property
    def memo_size(self):
        if self._lazy_memo_size is None:
            self._full()
        return self._lazy_memo_size

    @memo_size.setter
    def memo_size(self, value):
        self._lazy_memo_size = value


def _limits_allow(limits, size: int) -> bool:
    """Can no limit but max_depth / max_hash_collisions (checked on the graph) stop ``size`` bytes?"""
    digits = getattr(sys, "get_int_max_str_digits", None)
    if digits is None:  # an interpreter without the int-parsing bound: text ints are unbounded
        return False
    limit = digits()
    return (0 < limit <= limits.max_int_digits and limits.max_ops >= size and limits.max_nodes >= size
            and limits.max_memo >= size and limits.max_bytes >= size)


_COST_REASON = ("%d distinct keys of one set or dict share one hash (more than max_hash_collisions=%d): "
                "inserting them is quadratic")


def fast_verdict(data: bytes, limits) -> Optional[Analysis]:
    """``analyze(data, limits=limits, tree=False)`` when ``data`` is a small canonical pure-data pickle, else None."""
    size = len(data)
    if not 2 <= size <= MAX_BYTES or not _limits_allow(limits, size):
        return None
    try:
        if not _lexes(data):
            return None
        # a framed stream (protocol 4+) is read a frame at a time; another is given one frame
        # around it all (FRAME is read at any protocol, and changes no opcode's meaning), so that
        # the C unpickler reads it with one read() instead of one per opcode
        unpickler = _DataOnly(io.BytesIO(data if data[:3] in _FRAMED
                                         else b"\x95" + size.to_bytes(8, "little") + data))
        graph = unpickler.load()
        protocol = _protocol(data, graph)
        if protocol is None:
            return None
        max_depth, max_collisions = limits.max_depth, limits.max_hash_collisions
        if 2 * size > max_depth:  # else the analyzer skips its nesting walk: so may we
            collided, references = _walk(graph, max_collisions, True)
            if 2 * references > max_depth:
                return None  # the analyzer would measure the nesting: let it
        else:
            # a canonical stream memoizes every dict, set and frozenset it makes
            collided = _any_collides(unpickler.memo.copy().values(), max_collisions)
    except Exception:  # anything unexpected: the full analyzer decides
        return None
    unsafe = []
    if collided:
        unsafe.append(UnsafeGlobal("", "", _COST_REASON % (max_collisions + 1, max_collisions), KIND_COST, None))
    analysis = FastAnalysis(protocol if data[0] == _PROTO else None, None, [], [], None, None, 0,
                            unsafe, None, size, {})
    analysis._protocol = protocol
    analysis._data = data
    analysis._limits = limits
    return analysis

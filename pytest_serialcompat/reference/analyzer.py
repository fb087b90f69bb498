"""A safe pickle analyzer: runs the pickle machine symbolically, never imports or calls.

:func:`analyze` walks the opcodes of a pickle with the same stack, mark stack
and memo as CPython's unpickler, but every global stays a symbolic
``(module, qualname)`` node and every call (REDUCE, NEWOBJ, INST, OBJ, BUILD)
is recorded instead of made.  The result says which globals the pickle would
import, which calls it would make on them, and whether all of that stays
inside the allow-list of stdlib data types (:mod:`.allowlist`) in the shapes
CPython's pickler writes.  It also carries the rebuilt object graph as a
version-neutral :mod:`.tree`.

Data model first (:class:`Limits`, :class:`CallSite`, :class:`UnsafeGlobal`,
:class:`Analysis`), then the machine: one flat loop over a ``bytes`` object
with an integer position, dispatching on the opcode byte through a 256-entry
table of handlers.

Hostile input: every length is checked against the bytes that are left
before anything is sliced, so a 2**63 length prefix allocates nothing; text
integers are bounded by ``max_int_digits``; mark nesting, memo size, opcode
count and input size are bounded by :class:`Limits`; any problem raises
:class:`~.errors.MalformedPickle` with the byte offset of the opcode.

Semantics followed where CPython's C and Python unpicklers differ: the
stricter one (an input that either of them rejects is MalformedPickle here),
``fix_imports=True`` (protocol < 3 names are mapped through ``_compat_pickle``
as the default loader does), and extension codes are read from
``copyreg._inverted_registry`` of this interpreter (copyreg is always
imported; nothing is imported to read it).
"""

import codecs
import copyreg
import gc
import mmap
import os
import re
import struct
from itertools import compress
from operator import itemgetter
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

import _compat_pickle

from . import allowlist, blob, families
from . import opcodes as op
from . import tree
from .errors import MalformedPickle
from .blob import Blob
from .tree import DICT, FROZENSET, GLOBAL, LIST, OBJECT, SET, TUPLE, Node

__all__ = ["analyze", "analyze_file", "Analysis", "Limits", "CallSite", "UnsafeGlobal", "MalformedPickle"]


# --- data model ----------------------------------------------------------------------

class Limits(NamedTuple):
    """Bounds on the work :func:`analyze` does; exceeding one is MalformedPickle."""

    max_bytes: int = 64 * 1024 * 1024  # input size
    max_depth: int = 10_000  # MARK nesting and object nesting depth
    max_memo: int = 10_000_000  # memo entries
    max_ops: int = 100_000_000  # opcodes executed
    max_int_digits: int = 4300  # digits of a text integer (INT, LONG, PUT/GET indices), and of the
    # numbers int()/Fraction()/Decimal() are called with (CPython parses and divides them in
    # super-linear time)
    max_nodes: int = 50_000_000  # containers, objects and memo entries the stream creates (memory)
    max_exponent: int = 10_000  # |exponent| of a Fraction/Decimal text ("1e50000000": 10**50000000)
    max_hash_collisions: int = 64  # distinct keys of one set/dict with one hash (quadratic insertion)


DEFAULT_LIMITS = Limits()


class CallSite(NamedTuple):
    kind: str  # REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ / BUILD
    target: Optional[Tuple[str, str]]  # the callable (for BUILD: the instance's class) when a global
    offset: int


# Finding kinds (UnsafeGlobal.kind)
KIND_GLOBAL = "global"  # a global that is not on the allow-list
KIND_CALL = "call"  # a call outside the shapes pickle writes, or on a computed callable
KIND_COMPUTED_GLOBAL = "computed_global"  # STACK_GLOBAL operand computed at load time
KIND_EXTENSION = "extension"  # EXT code not in copyreg's registry
KIND_PERSISTENT_ID = "persistent_id"  # PERSID/BINPERSID: needs the caller's persistent_load
KIND_BUILD = "build"  # BUILD that changes a module-level object or a special attribute
KIND_MUTATION = "mutation"  # APPEND/SETITEM/ADDITEMS into a module-level object
KIND_COST = "cost"  # data that makes the real loader do super-linear work (colliding hashes)

# What the stream does with a global (UnsafeGlobal.use, Analysis.uses)
USE_CALL = "call"  # called: REDUCE, INST, OBJ, a defaultdict factory, a partial's function
USE_CONSTRUCT = "construct"  # instantiated without __init__: NEWOBJ(_EX), copyreg.__newobj__(_ex__)/_reconstructor
USE_BUILD = "build"  # an instance of it is given state by BUILD (its __setstate__ runs)


class UnsafeGlobal(NamedTuple):
    module: str  # "" when the finding is not about one global
    qualname: str
    reason: str
    kind: str = KIND_GLOBAL
    offset: Optional[int] = None
    use: str = ""  # USE_CALL / USE_CONSTRUCT when the finding is about that use of the global


class Analysis:
    """What :func:`analyze` found.  See the module docstring and docs/analyzer.md."""

    __slots__ = ("_protocol", "_counts", "_opcode_counts", "globals", "calls", "max_depth", "memo_size",
                 "buffer_count", "unsafe", "tree", "end", "uses")

    def __init__(self, first_protocol, counts, globals_, calls, max_depth, memo_size,
                 buffer_count, unsafe, root, end, uses=None):
        # ``counts``: the run's 256 opcode counts; ``opcode_counts`` and (without a PROTO
        # opcode) ``protocol`` are derived from them when first read (a gate reads neither)
        self._protocol: Optional[int] = first_protocol
        self._counts: List[int] = counts
        self._opcode_counts: Optional[Dict[str, int]] = None
        self.globals: List[Tuple[str, str]] = globals_
        self.calls: List[CallSite] = calls
        self.max_depth: Optional[int] = max_depth  # None (and no tree) for analyze(tree=False)
        self.memo_size: int = memo_size
        self.buffer_count: int = buffer_count
        self.unsafe: List[UnsafeGlobal] = unsafe
        self.tree = root
        self.end: int = end  # offset just past STOP; bytes after it are not read
        # global -> the uses the stream makes of it (USE_CALL, USE_CONSTRUCT, USE_BUILD);
        # a global in ``globals`` but not here is only named (a value, or getattr's owner)
        self.uses: Dict[Tuple[str, str], frozenset] = uses if uses is not None else {}

    @property
    def protocol(self) -> int:
        """The first PROTO argument, or the lowest protocol the opcodes used imply."""
        if self._protocol is None:
            self._protocol = max([_PROTO_OF[c] for c in compress(_ALL_CODES, self._counts)], default=0)
        return self._protocol

    @property
    def opcode_counts(self) -> Dict[str, int]:
        """Opcode name -> how many times it ran, in opcode order."""
        if self._opcode_counts is None:
            counts = self._counts
            self._opcode_counts = {_NAME_OF[c]: counts[c] for c in compress(_ALL_CODES, counts)}
        return self._opcode_counts

    @property
    def safe(self) -> bool:
        return not self.unsafe

    def to_dict(self) -> dict:
        return {
            "protocol": self.protocol,
            "opcode_counts": dict(self.opcode_counts),
            "globals": [list(g) for g in self.globals],
            "calls": [{"kind": c.kind, "target": list(c.target) if c.target else None, "offset": c.offset}
                      for c in self.calls],
            "max_depth": self.max_depth,
            "memo_size": self.memo_size,
            "buffer_count": self.buffer_count,
            "safe": self.safe,
            "unsafe": [u._asdict() for u in self.unsafe],
            "uses": [[list(g), sorted(u)] for g, u in self.uses.items()],
            "tree": tree.to_dict(self.tree) if self.max_depth is not None else None,
        }

    def __repr__(self):
        return "<Analysis protocol=%d safe=%s globals=%d unsafe=%d>" % (
            self.protocol, self.safe, len(self.globals), len(self.unsafe))


# --- constants the machine uses --------------------------------------------------------

_SAFE_ENCODINGS = frozenset((
    "latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1", "iso8859_1", "l1",
    "utf-8", "utf8", "utf_8", "ascii", "us-ascii",
))
_SAFE_ERRORS = frozenset(("strict", "ignore", "replace", "surrogateescape", "surrogatepass",
                          "backslashreplace"))
_TYPE_OF = {  # builtins.type(x) shapes pickle writes for the singletons' types
    None: ("builtins", "NoneType"),
    ("builtins", "Ellipsis"): ("builtins", "ellipsis"),
    ("builtins", "NotImplemented"): ("builtins", "NotImplementedType"),
}
_PARTIAL = ("functools", "partial")
_FREE = allowlist.FREE
_CHECKED = allowlist.CHECKED
_CONSTRUCT = allowlist.CONSTRUCT
_MAY_CONSTRUCT = (_FREE, _CONSTRUCT)
_FAMILY = families.OWNER
# Table callables whose result is shared by the whole run: BUILD on it changes that object.
_SHARED_RESULTS = {name: "an enum member" for name, entry in allowlist.DEFAULT_ALLOW.items()
                   if entry.why == "stdlib enum class"}
_SHARED_RESULTS.update({
    ("re", "_compile"): "a cached pattern",
    ("zoneinfo", "ZoneInfo"): "a cached time zone",
    ("zoneinfo", "ZoneInfo._unpickle"): "a cached time zone",
})
_NUMBER_TEXT = (("builtins", "int"), ("fractions", "Fraction"), ("decimal", "Decimal"))
_EXPONENT = re.compile(r"[eE]\s*([+-]?)\s*(\d+)")
_DIGIT = re.compile(r"\d")
# Calls whose result hashes the items of their first argument (a set, a dict from pairs).
_HASHING_CALLS = frozenset((
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "dict"),
    ("collections", "OrderedDict"), ("collections", "Counter"), ("collections", "defaultdict"),
))
_HASH_MIN_INT = (1 << 61) - 2  # ints below this hash to themselves (but -1): distinct ones never collide

_new_tuple = tuple.__new__  # a NamedTuple made without its Python-level __new__ (same value)
_unpack_i4 = op.INT4.unpack_from
_unpack_u4 = op.UINT4.unpack_from
_unpack_u2 = op.UINT2.unpack_from
_unpack_u8 = op.UINT8.unpack_from
_unpack_f8 = op.FLOAT8.unpack_from

_NAME_MAPPING = _compat_pickle.NAME_MAPPING
_children = tree._children  # what a node holds (for its nesting depth)
_IMPORT_MAPPING = _compat_pickle.IMPORT_MAPPING


class _GlobalMeta:
    """Analyzer bookkeeping on a GLOBAL node (kept in Node.meta)."""

    __slots__ = ("category", "uses", "pseudo", "used", "family")

    def __init__(self, category, pseudo=False, family=None):
        self.category = category  # FREE, CHECKED, CONSTRUCT or None (not allowed)
        self.uses = 0  # pushes not yet consumed by a checked call
        self.pseudo = pseudo  # a placeholder for a global that cannot be named statically
        self.used = None  # set of USE_* the stream makes of it, once it makes one
        self.family = family  # the curated CALL entry (families.Reconstructor) when enabled as one


def _is_str_in(value, names) -> bool:
    return type(value) is str and value in names


def _real(value):
    """The value itself where a check reads a str/bytes/bytearray's content (a :class:`Blob` is rebuilt)."""
    return value.value() if type(value) is Blob else value


def _is_text(value) -> bool:
    return type(value) is str or (type(value) is Blob and value.type is str)


class _Stop(Exception):
    pass


_MISSING = object()


def _describe(value) -> str:
    """Short text naming a computed value, for reasons."""
    if type(value) is Node:
        if value.kind == OBJECT and tree.global_name(value.cls):
            return "the result of %s.%s(...)" % tree.global_name(value.cls)
        if value.kind == GLOBAL:
            return "%s.%s" % value.value
        return "a %s built by the pickle" % value.kind
    return "a %s constant" % tree.kind_of(value)


# --- the machine -----------------------------------------------------------------------

def analyze(data, *, allow: Optional[Iterable[str]] = None, limits: Optional[Limits] = None,
            allow_persistent_ids: bool = False, tree: bool = True) -> Analysis:
    """Analyze a pickle without importing, calling or opening anything.

    ``allow``: extra module prefixes accepted by the verdict (``"myapp"``
    accepts ``myapp`` and ``myapp.*``), on top of :data:`.allowlist.DEFAULT_ALLOW`.
    ``allow_persistent_ids``: persistent ids are a finding of kind
    ``"persistent_id"`` that makes the verdict unsafe unless this is true
    (they are still reported).
    ``tree=False``: the verdict only (a safety gate): the same findings, but
    ``Analysis.tree`` and ``Analysis.max_depth`` are None, which saves the
    walk that measures the rebuilt graph's nesting depth.
    """
    if limits is None:
        limits = DEFAULT_LIMITS
    prefixes = allowlist.check_prefixes(allow or ())
    if isinstance(data, (bytearray, memoryview)):
        if memoryview(data).nbytes > limits.max_bytes:
            raise MalformedPickle("pickle of %d bytes exceeds max_bytes=%d"
                                  % (memoryview(data).nbytes, limits.max_bytes), 0)
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise TypeError("analyze() needs bytes, bytearray or memoryview, not %s" % type(data).__name__)
    if len(data) > limits.max_bytes:
        raise MalformedPickle("pickle of %d bytes exceeds max_bytes=%d" % (len(data), limits.max_bytes), 0)
    if not tree and len(data) <= _fast.MAX_BYTES:
        # a small pickle of plain data: the C loader and pickler decide it (or decline)
        found = _fast.fast_verdict(data, limits)
        if found is not None:
            return found
    return _run(data, prefixes, limits, allow_persistent_ids, tree)


def analyze_file(file, *, allow: Optional[Iterable[str]] = None, limits: Optional[Limits] = None,
                 allow_persistent_ids: bool = False, tree: bool = True) -> Analysis:
    """:func:`analyze` on the pickle in ``file`` (a path, or a binary file object open for reading).

    A regular file is memory-mapped read-only and analyzed in place: the
    operating system pages it in as the walk reaches it, so the pickle's
    bytes are never copied into the Python heap (only the values the stream
    builds are); any other file object is read whole.  The pickle starts at
    the file's current position (offsets in the result count from there;
    ``Analysis.end`` is where it stopped).  Results, findings and errors are
    those of ``analyze()`` on the same bytes.
    """
    if limits is None:
        limits = DEFAULT_LIMITS
    prefixes = allowlist.check_prefixes(allow or ())
    if isinstance(file, (str, bytes, os.PathLike)):
        with open(file, "rb") as opened:
            return _analyze_open_file(opened, prefixes, limits, allow_persistent_ids, tree)
    return _analyze_open_file(file, prefixes, limits, allow_persistent_ids, tree)


def _analyze_open_file(file, prefixes, limits, allow_persistent_ids, want_tree):
    mapped = None
    try:
        start = file.tell()
        fileno = file.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        fileno = None
    if fileno is not None:
        size = os.fstat(fileno).st_size - start
        if size > limits.max_bytes:
            raise MalformedPickle("pickle of %d bytes exceeds max_bytes=%d" % (size, limits.max_bytes), 0)
        if size > 0 and start % mmap.ALLOCATIONGRANULARITY == 0:
            try:
                mapped = mmap.mmap(fileno, size, access=mmap.ACCESS_READ, offset=start)
            except (OSError, ValueError):  # not mappable (a pipe, a special file)
                mapped = None
    if mapped is None:
        data = file.read(limits.max_bytes + 1)
        if not isinstance(data, bytes):
            raise TypeError("analyze_file() needs a binary file, got %s from read()" % type(data).__name__)
        if len(data) > limits.max_bytes:
            raise MalformedPickle("pickle of more than max_bytes=%d bytes" % limits.max_bytes, 0)
        return _run(data, prefixes, limits, allow_persistent_ids, want_tree)
    try:
        return _run(mapped, prefixes, limits, allow_persistent_ids, want_tree)
    finally:
        mapped.close()


def _run(data, prefixes, limits, allow_persistent_ids, want_tree):
    """One walk over ``data`` (bytes, or a read-only mmap of a file) by a pooled machine."""
    try:
        machine = _POOL.pop()
    except IndexError:
        machine = _build_machine()
    # The nodes it makes hold no cycles the run does not clear: the cyclic collector
    # would only walk them again and again (a golden of millions of nodes: most of the time)
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return machine(data, prefixes, limits, allow_persistent_ids, want_tree)
    finally:
        if collecting:
            gc.enable()
        if len(_POOL) < _POOL_SIZE:
            _POOL.append(machine)


# Machines are reused: building the ~90 handler closures costs more than
# analyzing a small pickle.  Each thread takes its own from the pool.
_POOL: list = []
_POOL_SIZE = 4


def _build_machine(lanes: bool = True):  # noqa: C901 - one closure per opcode, by design
    """One machine: the handler closures over one shared state, and its ``run``.

    ``lanes``: whether the fast lanes for class instances run (see ``newobj_lane``);
    a machine without them is the reference the differential tests compare with.

    Handler index: globals (``make_global``, ``h_global``, ``h_stack_global``), calls
    and construction (``h_reduce``, ``h_newobj*``, ``h_obj``, ``h_inst``, ``h_build``),
    containers, memo, framing and ``h_proto``; :data:`opcodes.OPCODES` maps every
    opcode to its handler by name (``table`` below).  State the handlers rebind is
    declared ``nonlocal``; ``run`` resets it for each pickle.
    """
    data = b""
    octets = data  # data, or list(data) when small: indexing a list is the interpreter's fast path
    size = 0
    find = data.find
    max_depth = max_memo = max_digits = max_exponent = max_collisions = 0
    prefixes: Tuple[str, ...] = ()
    allow_pids = False
    blob_min = 0  # str/bytes/bytearray arguments this long become blobs (verdict mode; else never)

    stack: list = []
    push = stack.append
    pop = stack.pop
    marks: List[int] = []
    memo: dict = {}
    counts = [0] * 256
    gnodes: Dict[Tuple[str, str], Node] = {}
    calls: List[CallSite] = []
    findings: List[UnsafeGlobal] = []
    finding_keys = set()
    result: list = []
    protocol = 0  # current protocol
    first_protocol = None  # the first PROTO argument
    nbuffers = 0
    budget = 0  # copying work left (see _WORK_PER_BYTE)
    built: dict = {}  # id -> object node given state by a BUILD
    hashed: list = []  # set/dict nodes (and calls building one): keys checked for hash collisions
    # Nesting depth, kept while the graph is built (Node.depth: 1 + the deepest value a
    # node holds), so that a deep stream is refused at the opcode that builds a value
    # deeper than max_depth + 1 instead of after building and walking a million levels
    # (one level of slack: the wrappers pickle's call and state shapes drop, such as a
    # (dict, slots) state pair, may be one deeper than the graph they build; the graph
    # itself is held to max_depth exactly, at STOP).  ``dirty``: no stack entry
    # from this index up is a node of depth > 0, so a MARK batch above it holds atoms
    # only and is not scanned.  ``shared``: ids of containers read back through the memo
    # or DUP; extending one leaves the depths of its other holders stale (or would count
    # a cycle), so it is not counted and ``exact`` goes False: the final graph is then
    # walked as before.
    dirty = 0
    shared = set()
    share = shared.add
    exact = True

    def fail(message, at):
        raise MalformedPickle(message, at)

    # --- nesting depth ---------------------------------------------------------
    def too_deep(depth, at):
        fail("object nesting depth %d exceeds max_depth=%d" % (depth, max_depth), at)

    def settle(node, at):
        """A new node's depth from what it holds (its children's own depths)."""
        best = 0
        for child in _children(node):
            if type(child) is Node and child.depth > best:
                best = child.depth
        node.depth = best + 1
        if best > max_depth:
            too_deep(best + 1, at)

    def grow(target, inner, at):
        """``target``, extended in place, now also holds a value of depth ``inner``."""
        nonlocal exact
        if type(target) is Node and inner >= target.depth and target.kind != GLOBAL:
            if shared and id(target) in shared:
                exact = False
            else:
                target.depth = inner + 1
                if inner > max_depth:
                    too_deep(inner + 1, at)

    def grow_by(target, k, at):
        """A run's APPENDS/SETITEMS extends ``target`` (a list/dict node) by the stack from ``k`` up."""
        nonlocal dirty, exact
        best = 0
        for value in stack[k:dirty]:  # (atoms only from ``dirty`` up)
            if type(value) is Node and value.depth > best:
                best = value.depth
        dirty = k
        if best >= target.depth:  # as grow() does
            if shared and id(target) in shared:
                exact = False
            else:
                target.depth = best + 1
                if best > max_depth:
                    too_deep(best + 1, at)

    def grow_pair(target, key, value, at):
        """SETITEM: ``target`` now also holds ``key`` and ``value`` (one of them a node)."""
        grow(target, max(key.depth if type(key) is Node else 0, value.depth if type(value) is Node else 0), at)

    def held_item(n, at):
        """run_text's SETITEM (``n`` = 2) or APPEND (1) whose values may be nodes.

        Done as the plain case is, with their depths, when the shape is that case's
        (else -1: the run stops there and the handler reports it); returns the new
        ``low`` of the run.
        """
        nonlocal dirty
        floor = marks[-1] if marks else 0
        if len(stack) - floor <= n:
            return -1
        target = stack[-n - 1]
        if type(target) is not Node or target.kind != (DICT if n == 2 else LIST):
            return -1
        value = pop()
        inner = value.depth if type(value) is Node else 0
        if n == 2:
            key = pop()
            hashed.append(target)
            target.items.append((key, value))
            if type(key) is Node and key.depth > inner:
                inner = key.depth
        else:
            target.items.append(value)
        if inner >= target.depth:
            grow(target, inner, at)
        dirty = len(stack)  # the target is the top
        return max(floor + 1, dirty)

    def pushed_shared(value):
        """A container read back from the memo is about to be pushed (see ``shared``)."""
        nonlocal dirty
        share(id(value))
        dirty = len(stack) + 1

    def holding(node, inner, at):
        """``node`` (new) holds values of depth up to ``inner`` (> 0)."""
        node.depth = inner + 1
        if inner > max_depth:
            too_deep(inner + 1, at)

    def flag(module, qualname, reason, kind, at, use=""):
        key = (module, qualname, reason, kind)
        if key not in finding_keys:
            finding_keys.add(key)
            findings.append(UnsafeGlobal(module, qualname, reason, kind, at, use))

    def note_use(node, use):
        meta = node.meta
        if meta.used is None:
            meta.used = {use}
        else:
            meta.used.add(use)

    def use_call(func, name, how, at):
        """``func`` (the real global ``name``) is called; only FREE globals may be."""
        note_use(func, USE_CALL)
        cat = func.meta.category
        if cat == _FREE:
            return True
        module, qualname = name
        if cat == _CONSTRUCT:
            flag(module, qualname, "%s calls %s.%s: the allow-list lets the pickle construct it, "
                 "not call it (a name prefix grants construction of classes; a call needs the exact "
                 "name)" % (how, module, qualname), KIND_CALL, at, USE_CALL)
        elif cat is None:
            flag(module, qualname, "%s calls %s.%s, which is not allowed" % (how, module, qualname),
                 KIND_CALL, at, USE_CALL)
        return False

    def use_construct(cls, name, how, at):
        """``cls`` (the real global ``name``) is instantiated without its __init__."""
        note_use(cls, USE_CONSTRUCT)
        cat = cls.meta.category
        if cat == _FREE or cat == _CONSTRUCT:
            return True
        module, qualname = name
        if cat is None:
            flag(module, qualname, "%s constructs %s.%s, which is not allowed" % (how, module, qualname),
                 KIND_CALL, at, USE_CONSTRUCT)
        return False

    def charge(values, at):
        """Pay for copying/normalising ``values`` (direct args and their items)."""
        nonlocal budget
        cost = len(values)
        for value in values:
            t = type(value)
            if t is str or t is bytes or t is bytearray:
                cost += len(value)
            elif t is Node and value.items is not None and value.kind != GLOBAL:
                cost += len(value.items)
            elif t is Blob:
                cost += value.length
        budget -= cost
        if budget < 0:
            fail("the pickle reuses large values in too many calls (work budget of %d per input "
                 "byte exceeded)" % _WORK_PER_BYTE, at)

    def floor():
        return marks[-1] if marks else 0

    def need(count, at, name):
        if len(stack) - (marks[-1] if marks else 0) < count:
            fail("%s needs %d item%s on the stack (stack underflow)"
                 % (name, count, "" if count == 1 else "s"), at)

    def pop_mark(at, name):
        if not marks:
            fail("%s without a MARK on the stack" % name, at)
        k = marks.pop()
        items = stack[k:]
        del stack[k:]
        return items

    def pop_mark_held(at, name):
        """:func:`pop_mark`, and the deepest of the values it pops (0: atoms and globals only)."""
        nonlocal dirty
        if not marks:
            fail("%s without a MARK on the stack" % name, at)
        k = marks.pop()
        items = stack[k:]
        del stack[k:]
        if dirty <= k:  # no node was pushed there
            return items, 0
        best = 0
        for value in items[:dirty - k]:  # (atoms only from ``dirty`` up)
            if type(value) is Node and value.depth > best:
                best = value.depth
        dirty = k
        return items, best

    def line(pos, name):
        nl = find(b"\n", pos)
        if nl < 0:
            fail("%s argument has no terminating newline (truncated pickle)" % name, pos - 1)
        return nl

    def take(start, n, name, at):
        """End of an ``n``-byte argument starting at ``start``, checked before slicing."""
        stop = start + n
        if stop > size:
            fail("%s declares %d bytes but only %d remain (truncated pickle)"
                 % (name, n, max(size - start, 0)), at)
        return stop

    def text_int(raw, at, name, base=10):
        if len(raw) > max_digits + 3:
            fail("%s argument has more than max_int_digits=%d digits" % (name, max_digits), at)
        try:
            return int(raw, base)
        except ValueError:
            fail("%s argument %r is not an integer" % (name, raw[:40]), at)

    # --- globals -------------------------------------------------------------
    def make_global(module, name, at, pushed=True, fix_imports=True):
        if fix_imports and protocol < 3:
            mapped = _NAME_MAPPING.get((module, name))
            if mapped is not None:
                module, name = mapped
            elif module in _IMPORT_MAPPING:
                module = _IMPORT_MAPPING[module]
        key = (module, name)
        node = gnodes.get(key)
        if node is None:
            category, reason = allowlist.classify(module, name, prefixes)
            node = Node(GLOBAL, key)
            node.depth = 0
            entry = _FAMILY.get(key) if category == _FREE else None
            node.meta = _GlobalMeta(category, False, entry[1] if entry is not None
                                    and entry[1].use == families.CALL else None)
            gnodes[key] = node
            if reason is not None:
                flag(module, name, reason, KIND_GLOBAL, at)
        if pushed:
            node.meta.uses += 1
        return node

    def pseudo_global(label, at):
        node = Node(GLOBAL, ("<unresolved>", label))
        node.depth = 0
        node.meta = _GlobalMeta(None, pseudo=True)
        return node

    def gname(value):
        """(module, qualname) of a real global node, else None."""
        if type(value) is Node and value.kind == GLOBAL and not value.meta.pseudo:
            return value.value
        return None

    def category(value):
        if type(value) is Node and value.kind == GLOBAL:
            return value.meta.category
        return None

    def callable_safe(value, how=None, at=None):
        """May this value be called later by whoever holds it (partial func, factory)?

        With ``how``, a real global is judged (and recorded) as called there.
        """
        if type(value) is Node:
            if value.kind == GLOBAL:
                name = gname(value)
                if how is not None and name is not None and value.meta.category != _CHECKED:
                    return use_call(value, name, how, at)
                return value.meta.category == _FREE
            if value.kind == OBJECT and gname(value.cls) == _PARTIAL:
                return True
        return False

    # --- calls ---------------------------------------------------------------
    def checked_call(func, name, items, at):
        """Result of a CHECKED global's call, or None when the shape is wrong."""
        module, qualname = name
        n = len(items)
        if name == ("builtins", "getattr"):
            # getattr(<global>, "name") is how protocols 0-3 name a nested global: the
            # result is the global owner.name, judged on its own (the owner is named too)
            if n == 2 and gname(items[0]) and category(items[0]) != _CHECKED:
                attr = _real(items[1])
                if type(attr) is str and attr.isidentifier():
                    owner = items[0].value
                    return make_global(owner[0], owner[1] + "." + attr, at, fix_imports=False)
            return None
        if name == ("builtins", "type"):
            if n == 1 and (items[0] is None or gname(items[0]) is not None):
                target = _TYPE_OF.get(None if items[0] is None else gname(items[0]))
                if target is not None:
                    return make_global(target[0], target[1], at, fix_imports=False)
            return None
        if name == ("_codecs", "encode"):
            if 2 <= n <= 3 and _is_text(items[0]) and _is_str_in(items[1], _SAFE_ENCODINGS) \
                    and (n == 2 or _is_str_in(items[2], _SAFE_ERRORS)):
                return tree.call(func, items)
            return None
        if module == "copyreg":
            # the class is constructed (cls.__new__, or base.__new__(cls) for _reconstructor);
            # _reconstructor's base also runs base.__init__(obj, state): it must be FREE
            cls = gname(items[0]) if n else None
            if qualname == "_reconstructor":
                ok = n == 3 and cls is not None and category(items[1]) == _FREE
            elif qualname == "__newobj__":
                ok = n >= 1 and cls is not None
            else:  # __newobj_ex__
                ok = (n == 3 and cls is not None
                      and type(items[1]) is Node and items[1].kind == TUPLE
                      and type(items[2]) is Node and items[2].kind == DICT)
            if not ok:
                return None
            use_construct(items[0], cls, "%s.%s" % name, at)
            return tree.call(func, items)
        if name == _PARTIAL:
            return tree.new_object(func, items) if n >= 1 and callable_safe(items[0], "functools.partial", at) \
                else None
        if name == ("array", "_array_reconstructor"):
            return tree.call(func, items) if n == 4 and gname(items[0]) == ("array", "array") else None
        return None

    def free_call_rules(name, items, at):
        module, qualname = name
        for item in items:
            if type(item) is Node and item.kind == OBJECT and gname(item.cls) == ("builtins", "range"):
                flag(module, qualname, "%s.%s is called on a range, which it may expand to any size "
                     "(pickle never writes that)" % (module, qualname), KIND_CALL, at)
        if module == "builtins" and qualname in ("bytes", "bytearray") and items:
            first = items[0]
            if type(first) in (int, bool):
                flag(module, qualname, "%s.%s(<int>) allocates that many bytes (pickle never writes that)"
                     % (module, qualname), KIND_CALL, at)
            elif type(first) is Node and first.kind not in (LIST, TUPLE, tree.BUFFER):
                flag(module, qualname, "%s.%s is called on %s, whose size the golden does not bound "
                     "(pickle writes bytes or str there)" % (module, qualname, _describe(first)), KIND_CALL, at)
        if name in _NUMBER_TEXT:
            number_rules(name, items, at)
        if name in _HASHING_CALLS:
            hashed.append(items)
        if module == "builtins" and qualname in ("str", "bytes", "bytearray") and len(items) >= 2:
            if not (_is_str_in(items[1], _SAFE_ENCODINGS)
                    and (len(items) == 2 or _is_str_in(items[2], _SAFE_ERRORS))):
                flag(module, qualname, "%s.%s called with encoding %s: only latin-1/utf-8/ascii "
                     "codecs are accepted (a codec lookup imports modules)"
                     % (module, qualname, _describe(items[1]) if not _is_text(items[1])
                        else repr(_real(items[1]))), KIND_CALL, at)
        if name == ("collections", "defaultdict") and items:
            factory = items[0]
            if factory is not None and not callable_safe(factory, "a collections.defaultdict factory", at) \
                    and (gname(factory) is None or category(factory) == _CHECKED):
                flag(module, qualname, "collections.defaultdict default_factory is %s, "
                     "not an allowed callable" % _describe(items[0]), KIND_CALL, at)

    def number_rules(name, items, at):
        """int/Fraction/Decimal from text or big ints: CPython's work there is super-linear.

        ``Fraction("1e50000000")`` computes 10**50000000, ``int(<long text>)`` and the gcd
        in ``Fraction(<int>, <int>)`` are quadratic in the digits, and ``int(<Decimal>)``
        or ``Fraction(<Decimal>)`` expand the exponent.
        """
        module, qualname = name
        label = "%s.%s" % name
        for item in items[:2]:
            item = _real(item)
            t = type(item)
            if t is str or t is bytes or t is bytearray:
                text = item.decode("latin-1") if t is not str else item
                digits = len(_DIGIT.findall(text)) if len(text) > max_digits and qualname != "Decimal" else 0
                if digits > max_digits:
                    flag(module, qualname, "%s is called on a number of %d digits (more than max_int_digits=%d)"
                         % (label, digits, max_digits), KIND_CALL, at)
                found = _EXPONENT.search(text) if qualname != "int" else None
                if found is not None and len(found.group(2)) > 0:
                    exponent = found.group(2).lstrip("0")
                    if len(exponent) > 12 or int(exponent or "0") > max_exponent:
                        flag(module, qualname, "%s is called on %r, whose exponent exceeds "
                             "max_exponent=%d (CPython may compute 10 to that power)"
                             % (label, text[:40], max_exponent), KIND_CALL, at)
            elif t is int:
                if item.bit_length() > max_digits * 10 // 3:
                    flag(module, qualname, "%s is called on an int of %d bits (more than max_int_digits=%d "
                         "digits)" % (label, item.bit_length(), max_digits), KIND_CALL, at)
            elif t is Node and item.kind in (OBJECT, GLOBAL) and qualname != "Decimal":
                flag(module, qualname, "%s is called on %s (a Decimal's exponent is expanded there)"
                     % (label, _describe(item)), KIND_CALL, at)

    def family_call_rules(name, entry, items, kind, at):
        """A curated reconstructor: classes where it constructs one, None where it needs it."""
        module, qualname = name
        for i, item in enumerate(items):
            if i in entry.classes:
                cls = gname(item)
                if cls is None:
                    flag(module, qualname, "%s.%s needs a class as argument %d, got %s"
                         % (module, qualname, i + 1, _describe(item)), KIND_CALL, at, USE_CALL)
                else:
                    use_construct(item, cls, "%s.%s" % name, at)
            elif i in entry.types and type(item) is Node and item.kind == GLOBAL:
                if category(item) not in _MAY_CONSTRUCT:
                    flag(module, qualname, "%s.%s is called with %s as argument %d, which is not an "
                         "allowed class" % (module, qualname, _describe(item), i + 1), KIND_CALL, at, USE_CALL)
            elif i in entry.nones:
                if item is not None:
                    flag(module, qualname, "%s.%s argument %d must be None (another value is opened "
                         "as a file), got %s" % (module, qualname, i + 1, _describe(item)),
                         KIND_CALL, at, USE_CALL)
            elif type(item) is Node and item.kind == GLOBAL:
                flag(module, qualname, "%s.%s is called with the global %s as argument %d; it takes "
                     "data there" % (module, qualname, _describe(item), i + 1), KIND_CALL, at, USE_CALL)
        for i in entry.nones:
            if i >= len(items):
                flag(module, qualname, "%s.%s needs None as argument %d" % (module, qualname, i + 1),
                     KIND_CALL, at, USE_CALL)

    def do_call(func, args, at, kind):
        name = gname(func)
        calls.append(CallSite(kind, name, at))
        if type(args) is Node and args.kind == TUPLE:
            items = args.items
            charge(items, at)
        else:
            items = None
        if name is None:
            if type(func) is Node and func.kind == GLOBAL:  # pseudo: already flagged
                return tree.new_object(func, items if items is not None else [args])
            flag("", "", "%s calls %s, a callable computed at load time" % (kind, _describe(func)),
                 KIND_CALL, at)
            return tree.new_object(func, items if items is not None else [args])
        cat = func.meta.category
        if items is None:
            if cat == _CHECKED:
                flag(name[0], name[1], "%s.%s called with arguments computed at load time (%s)"
                     % (name[0], name[1], _describe(args)), KIND_CALL, at)
            else:
                use_call(func, name, kind, at)
            return tree.new_object(func, [args])
        if cat == _CHECKED:
            value = checked_call(func, name, items, at)
            func.meta.uses -= 1  # consumed by this call, valid or not
            if value is None:
                flag(name[0], name[1], "%s.%s called outside the shape pickle writes: %s"
                     % (name[0], name[1], allowlist.DEFAULT_ALLOW[name].why), KIND_CALL, at)
                return tree.new_object(func, items)
            return value
        if use_call(func, name, kind, at):
            entry = func.meta.family
            if entry is not None:
                family_call_rules(name, entry, items, kind, at)
            else:
                free_call_rules(name, items, at)
        return tree.call(func, items)

    # --- fast lanes: the shapes CPython's pickler writes for a class instance --------
    # ``cls()`` by NEWOBJ on a class and an empty-or-atom args tuple, then one
    # BUILD with a dict of plain str keys: most of a golden.  Each lane does exactly
    # what the general handler does there (the same calls, uses, findings, nodes and
    # depths, in the same order) or, on any other shape, nothing at all and returns
    # False: the general handler then runs.  Without ``lanes`` they always decline.
    def newobj_lane(at):
        nonlocal dirty
        if len(stack) - (marks[-1] if marks else 0) < 2:
            return False
        args = stack[-1]
        cls = stack[-2]
        if type(args) is not Node or args.kind != TUPLE or type(cls) is not Node or cls.kind != GLOBAL:
            return False
        meta = cls.meta
        cat = meta.category
        if meta.pseudo or cat == _CHECKED:
            return False
        items = args.items
        for item in items:  # atoms only: the new node's depth is 1
            t = type(item)
            if t is Node or t is Blob:
                return False
        # check_class: the call, and its use (a finding unless allowed)
        calls.append(_new_tuple(CallSite, ("NEWOBJ", cls.value, at)))
        if meta.used is None:
            meta.used = {USE_CONSTRUCT}
        else:
            meta.used.add(USE_CONSTRUCT)
        if cat is None:
            module, qualname = cls.value
            flag(module, qualname, "NEWOBJ constructs %s.%s, which is not allowed" % (module, qualname),
                 KIND_CALL, at, USE_CONSTRUCT)
        if items:
            charge(items, at)
        del stack[-2:]
        node = Node(OBJECT)
        node.cls = cls
        node.args = list(items)
        # settle(): a class (depth 0) and atoms
        node.depth = 1
        if max_depth < 0:
            too_deep(1, at)
        push(node)
        dirty = len(stack)
        return True

    def build_lane(at):
        nonlocal budget
        if len(stack) - (marks[-1] if marks else 0) < 2:
            return False
        state = stack[-1]
        inst = stack[-2]
        if type(state) is not Node or state.kind != DICT or type(inst) is not Node or inst.kind != OBJECT:
            return False
        cls = inst.cls
        if type(cls) is not Node or cls.kind != GLOBAL or cls.meta.pseudo:
            return False
        target = cls.value
        if target == _PARTIAL or target in _SHARED_RESULTS or id(inst) in built or id(inst) in shared:
            return False
        pairs = state.items
        best = 0
        for key, value in pairs:
            if type(key) is not str or (key[:2] == "__" and key[-2:] == "__"):
                return False
            if type(value) is Node and value.depth > best:
                best = value.depth
        if inst.args or inst.kwargs or inst.attrs or inst.state is not None or inst.items or inst.pairs:
            return False
        # do_build on this shape: charge, the call, the use, then tree.build and settle()
        budget -= 1 + len(pairs)
        if budget < 0:
            fail("the pickle reuses large values in too many calls (work budget of %d per input "
                 "byte exceeded)" % _WORK_PER_BYTE, at)
        pop()
        calls.append(_new_tuple(CallSite, ("BUILD", target, at)))
        meta = cls.meta
        if meta.used is None:
            meta.used = {USE_BUILD}
        else:
            meta.used.add(USE_BUILD)
        built[id(inst)] = inst
        attrs = inst.attrs = dict(pairs)
        if len(attrs) != len(pairs):  # a key twice: only the last value stays
            best = 0
            for value in attrs.values():
                if type(value) is Node and value.depth > best:
                    best = value.depth
        inst.depth = best + 1
        if best > max_depth:
            too_deep(best + 1, at)
        return True

    if not lanes:
        def newobj_lane(at):
            return False

        def build_lane(at):
            return False

    def check_class(cls, kind, at):
        """NEWOBJ/NEWOBJ_EX construct ``cls``; INST/OBJ call it (``cls(*args)``)."""
        name = gname(cls)
        calls.append(CallSite(kind, name, at))
        if name is None:
            if not (type(cls) is Node and cls.kind == GLOBAL):
                flag("", "", "%s on %s, a class computed at load time" % (kind, _describe(cls)),
                     KIND_CALL, at)
        elif cls.meta.category == _CHECKED:
            flag(name[0], name[1], "%s on %s.%s, which is allowed only as %s"
                 % (kind, name[0], name[1], allowlist.DEFAULT_ALLOW[name].why), KIND_CALL, at)
        elif kind == "INST" or kind == "OBJ":
            use_call(cls, name, kind, at)
        else:
            use_construct(cls, name, kind, at)

    def do_build(inst, state, at):
        """BUILD is judged like a call: what it changes, and on what.

        The loader sets every key of a dict state in the instance's ``__dict__``
        and every key of a slots state with ``setattr``, and looks ``__setstate__``
        up on the *instance* -- so a key naming a special attribute (of any key
        type: a computed key can be a str subclass equal to ``"__setstate__"``)
        plants a hook a second BUILD would call.  BUILD may change only an object
        the stream itself constructed, once: never a global, an enum member or
        what a function returned (a shared object the rest of the run sees).
        """
        nonlocal exact
        if type(state) is Node and state.kind == TUPLE:
            charge([state] + state.items, at)
        else:
            charge((state,), at)
        target = None
        if type(inst) is Node:
            if inst.kind == OBJECT:
                target = gname(inst.cls)
            elif inst.kind == GLOBAL:
                target = gname(inst)
        calls.append(CallSite("BUILD", target, at))
        if target is not None:
            note_use(inst.cls if inst.kind == OBJECT else inst, USE_BUILD)
        if type(inst) is Node and inst.kind == GLOBAL:
            module, qualname = inst.value
            flag(module, qualname, "BUILD on the global %s.%s changes a module-level object"
                 % (module, qualname), KIND_BUILD, at, USE_BUILD)
            return
        if type(inst) is Node and inst.kind == OBJECT:
            module, qualname = target if target else ("", "")
            if target == _PARTIAL:
                s = state
                ok = (type(s) is Node and s.kind == TUPLE and len(s.items) == 4
                      and callable_safe(s.items[0], "functools.partial (BUILD state)", at)
                      and type(s.items[1]) is Node and s.items[1].kind == TUPLE
                      and (s.items[2] is None or (type(s.items[2]) is Node and s.items[2].kind == DICT))
                      and (s.items[3] is None or (type(s.items[3]) is Node and s.items[3].kind == DICT)))
                if not ok:
                    flag("functools", "partial", "functools.partial state is not (allowed callable, "
                         "args, kwargs, dict)", KIND_BUILD, at, USE_BUILD)
            elif target in _SHARED_RESULTS:
                flag(module, qualname, "BUILD on what %s.%s returns changes a shared object (%s)"
                     % (module, qualname, _SHARED_RESULTS[target]), KIND_BUILD, at, USE_BUILD)
            key = id(inst)
            if key in built:
                flag(module, qualname, "a second BUILD on one %s object (pickle writes one: a second "
                     "one calls what the first planted)" % ("%s.%s" % target if target else "computed"),
                     KIND_BUILD, at, USE_BUILD)
            else:
                built[key] = inst  # kept alive: its id stays its own
            for key in state_keys(state):
                if type(key) is str or (type(key) is Blob and key.type is str):
                    if (key[:2] == "__" and key[-2:] == "__") if type(key) is str else key.starts_ends_with("__"):
                        flag(module, qualname, "BUILD sets the special attribute %r" % _real(key),
                             KIND_BUILD, at, USE_BUILD)
                elif type(key) is Node and key.kind not in (TUPLE, FROZENSET):
                    flag(module, qualname, "BUILD state key is %s, not a str the pickle wrote (it "
                         "could equal a special attribute's name)" % _describe(key), KIND_BUILD, at, USE_BUILD)
            tree.build(inst, state)
            if id(inst) in shared:  # held elsewhere too (see ``shared``)
                exact = False
            else:  # from scratch: a second BUILD replaces attributes
                settle(inst, at)
            return
        if type(inst) is Node and inst.kind == tree.PID:
            return  # the persistent object is already a finding
        if state is None or (type(state) is Node and state.kind == DICT and not state.items):
            return  # the loader does nothing with an empty state
        fail("BUILD on %s, which has no state to set" % _describe(inst), at)

    def state_keys(state):
        """Every key the loader sets as an attribute: of a dict state, or a (dict, slots) pair."""
        if type(state) is not Node:
            return ()
        if state.kind == DICT:
            return [k for k, _ in state.items]
        if state.kind == TUPLE and len(state.items) == 2:
            keys = []
            for part in state.items:
                if type(part) is Node and part.kind == DICT:
                    keys.extend(k for k, _ in part.items)
            return keys
        return ()

    def mutate_global(target, name, at):
        module, qualname = target.value
        flag(module, qualname, "%s into the global %s.%s changes a module-level object"
             % (name, module, qualname), KIND_MUTATION, at)

    def extend_into(target, values, at, name, container, attr, missing):
        # APPENDS/SETITEMS and friends: extend the container node, or the
        # list/dict items of an object node; into a global it is mutation.
        if type(target) is Node:
            kind = target.kind
            if kind == container:
                target.items.extend(values)
                return
            if kind == OBJECT:
                if getattr(target, attr) is None:
                    setattr(target, attr, [])
                getattr(target, attr).extend(values)
                return
            if kind == GLOBAL:
                mutate_global(target, name, at)
                return
        fail("%s into %s, which has no %s" % (name, _describe(target), missing), at)

    def add_items(target, items, at, name):
        extend_into(target, items, at, name, LIST, "items", "append/extend")

    def set_items(target, pairs, at, name):
        extend_into(target, pairs, at, name, DICT, "pairs", "item assignment")

    def pairs_of(items, at, name):
        if len(items) % 2:
            fail("odd number of items for %s" % name, at)
        return list(zip(items[0::2], items[1::2]))

    def note_push(value):
        """``value`` is pushed again (memo read, DUP): a global's use, or a shared node."""
        if type(value) is Node:
            if value.meta is not None:
                value.meta.uses += 1
            else:
                pushed_shared(value)

    # --- handlers: each takes the position after the opcode byte, returns the next --
    def h_mark(pos):
        marks.append(len(stack))
        if len(marks) > max_depth:
            fail("MARK nesting deeper than max_depth=%d" % max_depth, pos - 1)
        return pos

    def h_stop(pos):
        need(1, pos - 1, "STOP")
        result.append(pop())
        raise _Stop(pos)

    def h_pop(pos):
        if len(stack) > floor():
            pop()
        elif marks:
            marks.pop()
        else:
            fail("POP on an empty stack", pos - 1)
        return pos

    def h_pop_mark(pos):
        pop_mark(pos - 1, "POP_MARK")
        return pos

    def h_dup(pos):
        need(1, pos - 1, "DUP")
        value = stack[-1]
        note_push(value)
        push(value)
        return pos

    def h_float(pos):
        nl = line(pos, "FLOAT")
        raw = data[pos:nl]
        if len(raw) > max_digits + 32:
            fail("FLOAT argument is too long", pos - 1)
        try:
            push(float(raw))
        except ValueError:
            fail("FLOAT argument %r is not a float" % raw[:40], pos - 1)
        return nl + 1

    def h_int(pos):
        nl = line(pos, "INT")
        raw = data[pos:nl]
        if raw == b"00":
            push(False)
        elif raw == b"01":
            push(True)
        else:
            push(text_int(raw, pos - 1, "INT", 0))
        return nl + 1

    def h_long(pos):
        nl = line(pos, "LONG")
        raw = data[pos:nl]
        if raw.endswith(b"L"):
            raw = raw[:-1]
        push(text_int(raw, pos - 1, "LONG", 0))
        return nl + 1

    def h_binint(pos):
        push(_unpack_i4(data, pos)[0])
        return pos + 4

    def h_binint1(pos):
        push(octets[pos])
        return pos + 1

    def h_binint2(pos):
        push(_unpack_u2(data, pos)[0])
        return pos + 2

    def h_long1(pos):
        stop = pos + 1 + octets[pos]
        if stop > size:
            take(pos + 1, octets[pos], "LONG1", pos - 1)
        push(int.from_bytes(data[pos + 1:stop], "little", signed=True))
        return stop

    def h_long4(pos):
        n = _unpack_i4(data, pos)[0]
        if n < 0:
            fail("LONG4 has a negative byte count", pos - 1)
        stop = take(pos + 4, n, "LONG4", pos - 1)
        push(int.from_bytes(data[pos + 4:stop], "little", signed=True))
        return stop

    def h_binfloat(pos):
        push(_unpack_f8(data, pos)[0])
        return pos + 8

    def h_none(pos):
        push(None)
        return pos

    def h_newtrue(pos):
        push(True)
        return pos

    def h_newfalse(pos):
        push(False)
        return pos

    def py2_str(raw):
        # the default loader decodes protocol 0-2 str with encoding="ASCII"
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            return raw

    def h_string(pos):
        nl = line(pos, "STRING")
        raw = data[pos:nl]
        if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in b"'\"":
            fail("the STRING opcode argument must be quoted", pos - 1)
        try:
            value = codecs.escape_decode(raw[1:-1])[0]
        except ValueError as exc:
            fail("STRING argument has a bad escape: %s" % exc, pos - 1)
        push(py2_str(value))
        return nl + 1

    def h_binstring(pos):
        n = _unpack_i4(data, pos)[0]
        if n < 0:
            fail("BINSTRING has a negative length", pos - 1)
        stop = take(pos + 4, n, "BINSTRING", pos - 1)
        push(py2_str(data[pos + 4:stop]))
        return stop

    def h_short_binstring(pos):
        stop = take(pos + 1, octets[pos], "SHORT_BINSTRING", pos - 1)
        push(py2_str(data[pos + 1:stop]))
        return stop

    def utf8(start, stop, at, name):
        try:
            if stop - start >= blob_min:
                return blob.text(data, start, stop)
            return data[start:stop].decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            fail("%s is not valid UTF-8: %s" % (name, exc.reason), at)

    def raw(start, stop, type_):
        """The bytes/bytearray argument ``data[start:stop]`` (a blob when big in verdict mode)."""
        if stop - start >= blob_min:
            return Blob(type_, data, start, stop, stop - start)
        return data[start:stop] if type_ is bytes else type_(data[start:stop])

    def h_unicode(pos):
        nl = line(pos, "UNICODE")
        try:
            push(data[pos:nl].decode("raw-unicode-escape"))
        except UnicodeDecodeError as exc:
            fail("UNICODE argument is not raw-unicode-escape: %s" % exc.reason, pos - 1)
        return nl + 1

    def h_short_binunicode(pos):
        stop = pos + 1 + octets[pos]
        if stop > size:
            take(pos + 1, octets[pos], "SHORT_BINUNICODE", pos - 1)
        try:
            push(data[pos + 1:stop].decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            utf8(pos + 1, stop, pos - 1, "SHORT_BINUNICODE")
        return stop

    def h_binunicode(pos):
        n = _unpack_u4(data, pos)[0]
        stop = pos + 4 + n
        if stop > size:
            take(pos + 4, n, "BINUNICODE", pos - 1)
        if n >= blob_min:
            push(utf8(pos + 4, stop, pos - 1, "BINUNICODE"))
            return stop
        try:
            push(data[pos + 4:stop].decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            utf8(pos + 4, stop, pos - 1, "BINUNICODE")
        return stop

    def h_binunicode8(pos):
        stop = take(pos + 8, _unpack_u8(data, pos)[0], "BINUNICODE8", pos - 1)
        push(utf8(pos + 8, stop, pos - 1, "BINUNICODE8"))
        return stop

    def h_short_binbytes(pos):
        stop = pos + 1 + octets[pos]
        if stop > size:
            take(pos + 1, octets[pos], "SHORT_BINBYTES", pos - 1)
        push(data[pos + 1:stop])
        return stop

    def h_binbytes(pos):
        stop = take(pos + 4, _unpack_u4(data, pos)[0], "BINBYTES", pos - 1)
        push(raw(pos + 4, stop, bytes))
        return stop

    def h_binbytes8(pos):
        stop = take(pos + 8, _unpack_u8(data, pos)[0], "BINBYTES8", pos - 1)
        push(raw(pos + 8, stop, bytes))
        return stop

    def h_bytearray8(pos):
        stop = take(pos + 8, _unpack_u8(data, pos)[0], "BYTEARRAY8", pos - 1)
        push(raw(pos + 8, stop, bytearray))
        return stop

    def h_next_buffer(pos):
        nonlocal nbuffers
        node = Node(tree.BUFFER, (nbuffers, False))
        node.depth = 0
        nbuffers += 1
        push(node)
        return pos

    def h_readonly_buffer(pos):
        need(1, pos - 1, "READONLY_BUFFER")
        top = stack[-1]
        if type(top) is Node and top.kind == tree.BUFFER:
            top.value = (top.value[0], True)
        return pos

    # containers (each new one is pushed at the top: ``dirty`` moves past it)
    def h_empty_list(pos):
        nonlocal dirty
        push(Node(LIST, None, []))
        dirty = len(stack)
        return pos

    def h_empty_tuple(pos):
        nonlocal dirty
        push(Node(TUPLE, None, []))
        dirty = len(stack)
        return pos

    def h_empty_dict(pos):
        nonlocal dirty
        push(Node(DICT, None, []))
        dirty = len(stack)
        return pos

    def h_empty_set(pos):
        nonlocal dirty
        push(Node(SET, None, []))
        dirty = len(stack)
        return pos

    def h_list(pos):
        nonlocal dirty
        items, inner = pop_mark_held(pos - 1, "LIST")
        node = Node(LIST, None, items)
        if inner:
            holding(node, inner, pos - 1)
        push(node)
        dirty = len(stack)
        return pos

    def h_tuple(pos):
        nonlocal dirty
        items, inner = pop_mark_held(pos - 1, "TUPLE")
        node = Node(TUPLE, None, items)
        if inner:
            holding(node, inner, pos - 1)
        push(node)
        dirty = len(stack)
        return pos

    def h_tuple1(pos):
        nonlocal dirty
        need(1, pos - 1, "TUPLE1")
        item = stack[-1]
        node = Node(TUPLE, None, [item])
        if type(item) is Node and item.depth:
            node.depth = item.depth + 1
            if item.depth > max_depth:
                too_deep(item.depth + 1, pos - 1)
        stack[-1] = node
        dirty = len(stack)
        return pos

    def h_tuple2(pos):
        nonlocal dirty
        need(2, pos - 1, "TUPLE2")
        a, b = items = stack[-2:]
        del stack[-2:]
        node = Node(TUPLE, None, items)
        if type(a) is Node or type(b) is Node:
            inner = max(a.depth if type(a) is Node else 0, b.depth if type(b) is Node else 0)
            if inner:
                holding(node, inner, pos - 1)
        push(node)
        dirty = len(stack)
        return pos

    def h_tuple3(pos):
        nonlocal dirty
        need(3, pos - 1, "TUPLE3")
        items = stack[-3:]
        del stack[-3:]
        node = Node(TUPLE, None, items)
        inner = 0
        for item in items:
            if type(item) is Node and item.depth > inner:
                inner = item.depth
        if inner:
            holding(node, inner, pos - 1)
        push(node)
        dirty = len(stack)
        return pos

    def h_dict(pos):
        nonlocal dirty
        items, inner = pop_mark_held(pos - 1, "DICT")
        node = Node(DICT, None, pairs_of(items, pos - 1, "DICT"))
        hashed.append(node)
        if inner:
            holding(node, inner, pos - 1)
        push(node)
        dirty = len(stack)
        return pos

    def h_frozenset(pos):
        nonlocal dirty
        items, inner = pop_mark_held(pos - 1, "FROZENSET")
        node = Node(FROZENSET, None, items)
        hashed.append(node)
        if inner:
            holding(node, inner, pos - 1)
        push(node)
        dirty = len(stack)
        return pos

    def h_append(pos):
        nonlocal dirty
        need(2, pos - 1, "APPEND")
        value = pop()
        add_items(stack[-1], [value], pos - 1, "APPEND")
        if type(value) is Node:
            grow(stack[-1], value.depth, pos - 1)
            dirty = len(stack)  # the target is the top (the runs check against ``dirty``)
        return pos

    def h_appends(pos):
        items, inner = pop_mark_held(pos - 1, "APPENDS")
        need(1, pos - 1, "APPENDS")
        add_items(stack[-1], items, pos - 1, "APPENDS")
        if inner:
            grow(stack[-1], inner, pos - 1)
        return pos

    def h_setitem(pos):
        nonlocal dirty
        need(3, pos - 1, "SETITEM")
        value = pop()
        key = pop()
        hashed.append(stack[-1])
        set_items(stack[-1], [(key, value)], pos - 1, "SETITEM")
        if type(key) is Node or type(value) is Node:
            grow_pair(stack[-1], key, value, pos - 1)
            dirty = len(stack)
        return pos

    def h_setitems(pos):
        items, inner = pop_mark_held(pos - 1, "SETITEMS")
        need(1, pos - 1, "SETITEMS")
        pairs = pairs_of(items, pos - 1, "SETITEMS")
        target = stack[-1]
        hashed.append(target)
        if type(target) is Node and target.kind == DICT:
            target.items.extend(pairs)  # the usual case, as set_items does it
        else:
            set_items(target, pairs, pos - 1, "SETITEMS")
        if inner:
            grow(target, inner, pos - 1)
        return pos

    def h_additems(pos):
        items, inner = pop_mark_held(pos - 1, "ADDITEMS")
        need(1, pos - 1, "ADDITEMS")
        target = stack[-1]
        hashed.append(target)
        if type(target) is Node and target.kind == SET:
            target.items.extend(items)
        elif type(target) is Node and target.kind in (OBJECT, GLOBAL):
            add_items(target, items, pos - 1, "ADDITEMS")
        else:
            fail("ADDITEMS into %s, which has no add" % _describe(target), pos - 1)
        if inner:
            grow(target, inner, pos - 1)
        return pos

    # memo
    def memo_put(index, at):
        if len(stack) <= (marks[-1] if marks else 0):
            fail("memo store with an empty stack (stack underflow)", at)
        memo[index] = stack[-1]
        if len(memo) > max_memo:
            fail("memo grew past max_memo=%d entries" % max_memo, at)

    def h_memoize(pos):
        n = len(memo)
        if len(stack) <= (marks[-1] if marks else 0):
            fail("memo store with an empty stack (stack underflow)", pos - 1)
        if n >= max_memo:
            fail("memo grew past max_memo=%d entries" % max_memo, pos - 1)
        memo[n] = stack[-1]
        return pos

    def memo_get(index, at):
        value = memo.get(index, _MISSING)
        if value is _MISSING:
            fail("memo key %d not found" % index, at)
        note_push(value)
        push(value)

    def h_put(pos):
        nl = line(pos, "PUT")
        index = text_int(data[pos:nl], pos - 1, "PUT")
        if index < 0:
            fail("negative PUT argument", pos - 1)
        memo_put(index, pos - 1)
        return nl + 1

    def h_binput(pos):
        if len(stack) <= (marks[-1] if marks else 0) or len(memo) >= max_memo:
            memo_put(octets[pos], pos - 1)  # raises the right error
        memo[octets[pos]] = stack[-1]
        return pos + 1

    def h_long_binput(pos):
        memo_put(_unpack_u4(data, pos)[0], pos - 1)
        return pos + 4

    def h_get(pos):
        nl = line(pos, "GET")
        memo_get(text_int(data[pos:nl], pos - 1, "GET"), pos - 1)
        return nl + 1

    def h_binget(pos):
        value = memo.get(octets[pos], _MISSING)
        if value is _MISSING or type(value) is Node:
            memo_get(octets[pos], pos - 1)
        else:
            push(value)
        return pos + 1

    def h_long_binget(pos):
        memo_get(_unpack_u4(data, pos)[0], pos - 1)
        return pos + 4

    # globals and calls
    def two_lines(pos, name, encoding):
        nl1 = line(pos, name)
        nl2 = line(nl1 + 1, name)
        try:
            return data[pos:nl1].decode(encoding), data[nl1 + 1:nl2].decode(encoding), nl2 + 1
        except UnicodeDecodeError:
            fail("%s names are not %s" % (name, encoding), pos - 1)

    def h_global(pos):
        module, name, nxt = two_lines(pos, "GLOBAL", "utf-8")
        push(make_global(module, name, pos - 1))
        return nxt

    def h_stack_global(pos):
        need(2, pos - 1, "STACK_GLOBAL")
        name = _real(pop())
        module = _real(pop())
        if type(module) is str and type(name) is str:
            push(make_global(module, name, pos - 1))
            return pos
        computed = [x for x in (module, name) if type(x) is Node]
        if not computed:
            fail("STACK_GLOBAL requires str operands, got %s and %s"
                 % (tree.kind_of(module), tree.kind_of(name)), pos - 1)
        described = " and ".join(_describe(x) for x in computed)
        flag("", "", "STACK_GLOBAL names a global computed at load time from %s" % described,
             KIND_COMPUTED_GLOBAL, pos - 1)
        push(pseudo_global("computed", pos - 1))
        return pos

    def h_ext(code, at):
        if code <= 0:
            fail("EXT specifies code <= 0", at)
        key = copyreg._inverted_registry.get(code)
        if key is None:
            flag("", "", "EXT code %d is not in copyreg's extension registry" % code, KIND_EXTENSION, at)
            push(pseudo_global("EXT %d" % code, at))
        else:
            push(make_global(key[0], key[1], at))

    def h_ext1(pos):
        h_ext(octets[pos], pos - 1)
        return pos + 1

    def h_ext2(pos):
        h_ext(_unpack_u2(data, pos)[0], pos - 1)
        return pos + 2

    def h_ext4(pos):
        h_ext(_unpack_i4(data, pos)[0], pos - 1)
        return pos + 4

    def push_made(value, at):
        """Push what a call or a construction made (a new node, an atom or a global)."""
        nonlocal dirty
        if type(value) is Node and value.kind != GLOBAL:
            settle(value, at)
        push(value)
        dirty = len(stack)

    def h_reduce(pos):
        need(2, pos - 1, "REDUCE")
        args = pop()
        push_made(do_call(pop(), args, pos - 1, "REDUCE"), pos - 1)
        return pos

    def h_newobj(pos):
        if newobj_lane(pos - 1):
            return pos
        if len(stack) - (marks[-1] if marks else 0) < 2:
            need(2, pos - 1, "NEWOBJ")
        args = pop()
        cls = pop()
        check_class(cls, "NEWOBJ", pos - 1)
        if type(args) is Node and args.kind == TUPLE:
            charge(args.items, pos - 1)
            push_made(tree.new_object(cls, args.items), pos - 1)
        else:
            flag("", "", "NEWOBJ arguments are %s, not a tuple built by the pickle" % _describe(args),
                 KIND_CALL, pos - 1)
            push_made(tree.new_object(cls, [args]), pos - 1)
        return pos

    def h_newobj_ex(pos):
        need(3, pos - 1, "NEWOBJ_EX")
        kwargs = pop()
        args = pop()
        cls = pop()
        check_class(cls, "NEWOBJ_EX", pos - 1)
        if type(args) is Node and args.kind == TUPLE and type(kwargs) is Node and kwargs.kind == DICT:
            charge(args.items + [kwargs], pos - 1)
            push_made(tree.new_object(cls, args.items, kwargs.items), pos - 1)
        else:
            flag("", "", "NEWOBJ_EX arguments are %s and %s, not a tuple and a dict built by the pickle"
                 % (_describe(args), _describe(kwargs)), KIND_CALL, pos - 1)
            push_made(tree.new_object(cls, [args, kwargs]), pos - 1)
        return pos

    def h_inst(pos):
        module, name, nxt = two_lines(pos, "INST", "ascii")
        args = pop_mark(pos - 1, "INST")
        cls = make_global(module, name, pos - 1, pushed=False)
        check_class(cls, "INST", pos - 1)
        push_made(tree.new_object(cls, args), pos - 1)
        return nxt

    def h_obj(pos):
        args = pop_mark(pos - 1, "OBJ")
        if not args:
            fail("OBJ without a class on the stack", pos - 1)
        cls = args.pop(0)
        check_class(cls, "OBJ", pos - 1)
        push_made(tree.new_object(cls, args), pos - 1)
        return pos

    def h_build(pos):
        if build_lane(pos - 1):
            return pos
        if len(stack) - (marks[-1] if marks else 0) < 2:
            need(2, pos - 1, "BUILD")
        state = pop()
        do_build(stack[-1], state, pos - 1)
        return pos

    def persistent(pid, at):
        pid = _real(pid)
        node = Node(tree.PID, pid)
        if not allow_pids:
            flag("", "", "persistent id %s needs the loader's persistent_load"
                 % tree.render(pid, max_items=3, max_chars=80), KIND_PERSISTENT_ID, at)
        push_made(node, at)

    def h_persid(pos):
        nl = line(pos, "PERSID")
        try:
            pid = data[pos:nl].decode("ascii")
        except UnicodeDecodeError:
            fail("persistent IDs in protocol 0 must be ASCII strings", pos - 1)
        persistent(pid, pos - 1)
        return nl + 1

    def h_binpersid(pos):
        need(1, pos - 1, "BINPERSID")
        persistent(pop(), pos - 1)
        return pos

    def h_proto(pos):
        nonlocal protocol, first_protocol
        value = octets[pos]
        if value > op.HIGHEST_PROTOCOL:
            fail("unsupported pickle protocol: %d" % value, pos - 1)
        protocol = value
        if first_protocol is None:
            first_protocol = value
        return pos + 1

    def h_frame(pos):
        n = _unpack_u8(data, pos)[0]
        if n > size - pos - 8:
            fail("FRAME length %d exceeds the %d bytes left (truncated pickle)"
                 % (n, max(size - pos - 8, 0)), pos - 1)
        return pos + 8

    # --- runs: the common atoms of container bodies, many opcodes in one call ---------
    # Used by the main loop only when no max_ops/max_nodes count is kept.  Each branch
    # does exactly what its opcode's handler does on the good path; on anything else
    # (truncation, a bad byte, a full memo) it stops before counting the opcode, and
    # the main loop runs the handler, which reports the problem at that opcode.
    def run_atoms(pos):
        nonlocal dirty
        last = size - 1  # an opcode before it has its one-byte argument in the data
        while pos < last:
            code = octets[pos]
            # (branches in the order of how often pickles hold them: each test costs every later one)
            if code == _SHORT_BINUNICODE:
                stop = pos + 2 + octets[pos + 1]
                if stop > size:
                    return pos
                try:
                    value = data[pos + 2:stop].decode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    return pos
                push(value)
                pos = stop
                if lanes and stop < size and octets[stop] == _MEMOIZE and len(memo) < max_memo:
                    # the MEMOIZE protocol 4 writes after each string, as its branch does it
                    memo[len(memo)] = value
                    counts[_MEMOIZE] += 1
                    pos += 1
            elif code == _MEMOIZE:
                n = len(memo)
                if len(stack) <= (marks[-1] if marks else 0) or n >= max_memo:
                    return pos
                memo[n] = stack[-1]
                pos += 1
            elif code == _BININT1:
                push(octets[pos + 1])
                pos += 2
            elif code == _NONE:
                push(None)
                pos += 1
            elif code == _LONG1:
                n = octets[pos + 1]
                stop = pos + 2 + n
                if stop > size:
                    return pos
                if 0 < n <= 8 and pos + 10 <= size:  # eight bytes from the argument on are in the data
                    value = _unpack_u8(data, pos + 2)[0] & _LOW_BITS[n]
                    if value >= _SIGN_BIT[n]:
                        value -= _SIGN_BIT[n] << 1
                    push(value)
                else:
                    push(int.from_bytes(data[pos + 2:stop], "little", signed=True))
                pos = stop
            elif code == _BINGET:
                value = memo.get(octets[pos + 1], _MISSING)
                if value is _MISSING:
                    return pos
                if type(value) is Node:
                    if value.meta is not None:
                        value.meta.uses += 1
                    else:
                        pushed_shared(value)
                push(value)
                pos += 2
            elif code == _BINPUT:
                if len(stack) <= (marks[-1] if marks else 0) or len(memo) >= max_memo:
                    return pos
                memo[octets[pos + 1]] = stack[-1]
                pos += 2
            elif code == _BINUNICODE:
                stop = pos + 5 + _unpack_u4(data, pos + 1)[0] if pos + 5 <= size else size + 1
                if stop > size or stop - pos - 5 >= blob_min:
                    return pos
                try:
                    value = data[pos + 5:stop].decode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    return pos
                push(value)
                pos = stop
                if lanes and stop < last and octets[stop] == _BINPUT and len(memo) < max_memo:
                    # the BINPUT protocols 1-3 write after each string, as its branch does it
                    memo[octets[stop + 1]] = value
                    counts[_BINPUT] += 1
                    pos += 2
            elif code == _MARK:
                if len(marks) >= max_depth:
                    return pos
                marks.append(len(stack))
                pos += 1
            elif code == _EMPTY_DICT:
                push(Node(DICT, None, []))
                dirty = len(stack)
                pos += 1
            elif code == _SETITEMS:
                if not marks:
                    return pos
                k = marks[-1]
                if (len(stack) - k) % 2 or k <= (marks[-2] if len(marks) > 1 else 0):
                    return pos
                target = stack[k - 1]
                if type(target) is not Node or target.kind != DICT:
                    return pos
                marks.pop()
                if dirty > k:
                    grow_by(target, k, pos)
                items = stack[k:]
                del stack[k:]
                hashed.append(target)
                target.items.extend(zip(items[0::2], items[1::2]))
                pos += 1
            elif code == _BININT:
                if pos + 5 > size:
                    return pos
                push(_unpack_i4(data, pos + 1)[0])
                pos += 5
            elif code == _BINFLOAT:
                if pos + 9 > size:
                    return pos
                push(_unpack_f8(data, pos + 1)[0])
                pos += 9
            elif code == _NEWTRUE:
                push(True)
                pos += 1
            elif code == _NEWFALSE:
                push(False)
                pos += 1
            elif code == _EMPTY_LIST:
                push(Node(LIST, None, []))
                dirty = len(stack)
                pos += 1
            elif code == _APPENDS:
                if not marks:
                    return pos
                k = marks[-1]
                if k <= (marks[-2] if len(marks) > 1 else 0):
                    return pos
                target = stack[k - 1]
                if type(target) is not Node or target.kind != LIST:
                    return pos
                marks.pop()
                if dirty > k:
                    grow_by(target, k, pos)
                target.items.extend(stack[k:])
                del stack[k:]
                pos += 1
            elif not lanes:
                return pos
            # class instances (see ``newobj_lane``): the opcodes around them, in the run
            elif code == _STACK_GLOBAL:
                if len(stack) - (marks[-1] if marks else 0) < 2:
                    return pos
                name = stack[-1]
                module = stack[-2]
                if type(name) is not str or type(module) is not str:
                    return pos
                del stack[-2:]
                push(make_global(module, name, pos))
                pos += 1
            elif code == _EMPTY_TUPLE:
                push(Node(TUPLE, None, []))
                dirty = len(stack)
                pos += 1
            elif code == _NEWOBJ:
                if not newobj_lane(pos):
                    return pos
                pos += 1
            elif code == _BUILD:
                if not build_lane(pos):
                    return pos
                pos += 1
            elif code == _GLOBAL:
                nl1 = find(b"\n", pos + 1)
                nl2 = find(b"\n", nl1 + 1) if nl1 >= 0 else -1
                if nl2 < 0:
                    return pos
                try:
                    module = data[pos + 1:nl1].decode("utf-8")
                    name = data[nl1 + 1:nl2].decode("utf-8")
                except UnicodeDecodeError:
                    return pos
                push(make_global(module, name, pos))
                pos = nl2 + 1
            elif code == _TUPLE1:
                if len(stack) <= (marks[-1] if marks else 0):
                    return pos
                item = stack[-1]
                node = Node(TUPLE, None, [item])
                if type(item) is Node and item.depth:
                    node.depth = item.depth + 1
                    if item.depth > max_depth:
                        too_deep(item.depth + 1, pos)
                stack[-1] = node
                dirty = len(stack)
                pos += 1
            elif code == _BININT2:
                if pos + 3 > size:
                    return pos
                push(_unpack_u2(data, pos + 1)[0])
                pos += 3
            elif code == _SHORT_BINBYTES:
                stop = pos + 2 + octets[pos + 1]
                if stop > size:
                    return pos
                push(data[pos + 2:stop])
                pos = stop
            elif code == _APPEND:
                if len(stack) - (marks[-1] if marks else 0) < 2:
                    return pos
                target = stack[-2]
                if type(target) is not Node or target.kind != LIST:
                    return pos
                value = pop()
                target.items.append(value)
                if type(value) is Node:
                    grow(target, value.depth, pos)
                    dirty = len(stack)
                pos += 1
            else:
                return pos
            counts[code] += 1
        return pos

    def run_text(pos):
        """The same for the text opcodes of protocols 0 and 1 (one ``find`` per line).

        ``low``: an APPEND needs more values than this on the stack, a SETITEM one
        more: two above the MARK floor, and its value(s) above ``dirty`` (none of the
        opcodes here opens a MARK, and the nodes they push, by GET, end the run), so
        that an item that may be a node goes to the handler.
        """
        low = max(marks[-1] + 1 if marks else 1, dirty)
        while pos < size:
            code = octets[pos]
            if code == _INT:
                nl = find(b"\n", pos + 1)
                if nl < 0:
                    return pos
                raw = data[pos + 1:nl]
                if raw == b"00":
                    push(False)
                elif raw == b"01":
                    push(True)
                else:
                    if len(raw) > max_digits + 3:
                        return pos
                    try:
                        push(int(raw, 0))
                    except ValueError:
                        return pos
                pos = nl + 1
            elif code == _SETITEM:
                if len(stack) <= low + 1:  # too few values, or a node among them
                    low = held_item(2, pos)
                    if low < 0:
                        return pos
                else:
                    target = stack[-3]
                    if type(target) is not Node or target.kind != DICT:
                        return pos
                    value = pop()
                    key = pop()
                    hashed.append(target)
                    target.items.append((key, value))
                pos += 1
            elif code == _APPEND:
                if len(stack) <= low:
                    low = held_item(1, pos)
                    if low < 0:
                        return pos
                else:
                    target = stack[-2]
                    if type(target) is not Node or target.kind != LIST:
                        return pos
                    target.items.append(pop())
                pos += 1
            elif code == _PUT:
                nl = find(b"\n", pos + 1)
                if nl < 0 or nl - pos - 1 > max_digits + 3:
                    return pos
                try:
                    index = int(data[pos + 1:nl])
                except ValueError:
                    return pos
                if index < 0 or len(stack) <= (marks[-1] if marks else 0) or (
                        len(memo) >= max_memo and index not in memo):
                    return pos
                memo[index] = stack[-1]
                pos = nl + 1
            elif code == _NONE:
                push(None)
                pos += 1
            elif code == _UNICODE:
                nl = find(b"\n", pos + 1)
                if nl < 0:
                    return pos
                try:
                    push(data[pos + 1:nl].decode("raw-unicode-escape"))
                except UnicodeDecodeError:
                    return pos
                pos = nl + 1
            elif code == _LONG:
                nl = find(b"\n", pos + 1)
                if nl < 0:
                    return pos
                raw = data[pos + 1:nl]
                if raw.endswith(b"L"):
                    raw = raw[:-1]
                if len(raw) > max_digits + 3:
                    return pos
                try:
                    push(int(raw, 0))
                except ValueError:
                    return pos
                pos = nl + 1
            elif code == _GET:
                nl = find(b"\n", pos + 1)
                if nl < 0 or nl - pos - 1 > max_digits + 3:
                    return pos
                try:
                    value = memo.get(int(data[pos + 1:nl]), _MISSING)
                except ValueError:
                    return pos
                if value is _MISSING:
                    return pos
                if type(value) is Node:
                    if value.meta is None:  # a container: ``low`` no longer holds, the run ends
                        pushed_shared(value)
                        push(value)
                        counts[code] += 1
                        return nl + 1
                    value.meta.uses += 1
                push(value)
                pos = nl + 1
            else:
                return pos
            counts[code] += 1
        return pos

    def r_int(pos):
        return run_text(h_int(pos))

    def r_long(pos):
        return run_text(h_long(pos))

    def r_unicode(pos):
        return run_text(h_unicode(pos))

    def r_binint1(pos):
        push(octets[pos])
        return run_atoms(pos + 1)

    def r_none(pos):
        push(None)
        return run_atoms(pos)

    def r_short_binunicode(pos):
        return run_atoms(h_short_binunicode(pos))

    def r_binget(pos):
        return run_atoms(h_binget(pos))

    def r_mark(pos):
        return run_atoms(h_mark(pos))

    def starts_run(handler):
        """The handler, then a run from the opcode after it."""
        def start(pos):
            return run_atoms(handler(pos))
        return start

    def h_unknown(pos):
        fail("invalid opcode 0x%02x" % octets[pos - 1], pos - 1)

    handlers = {
        "MARK": h_mark, "STOP": h_stop, "POP": h_pop, "POP_MARK": h_pop_mark, "DUP": h_dup,
        "FLOAT": h_float, "INT": h_int, "BININT": h_binint, "BININT1": h_binint1, "LONG": h_long,
        "BININT2": h_binint2, "NONE": h_none, "PERSID": h_persid, "BINPERSID": h_binpersid,
        "REDUCE": h_reduce, "STRING": h_string, "BINSTRING": h_binstring,
        "SHORT_BINSTRING": h_short_binstring, "UNICODE": h_unicode, "BINUNICODE": h_binunicode,
        "APPEND": h_append, "BUILD": h_build, "GLOBAL": h_global, "DICT": h_dict,
        "EMPTY_DICT": h_empty_dict, "APPENDS": h_appends, "GET": h_get, "BINGET": h_binget,
        "INST": h_inst, "LONG_BINGET": h_long_binget, "LIST": h_list, "EMPTY_LIST": h_empty_list,
        "OBJ": h_obj, "PUT": h_put, "BINPUT": h_binput, "LONG_BINPUT": h_long_binput,
        "SETITEM": h_setitem, "TUPLE": h_tuple, "EMPTY_TUPLE": h_empty_tuple, "SETITEMS": h_setitems,
        "BINFLOAT": h_binfloat, "PROTO": h_proto, "NEWOBJ": h_newobj, "EXT1": h_ext1, "EXT2": h_ext2,
        "EXT4": h_ext4, "TUPLE1": h_tuple1, "TUPLE2": h_tuple2, "TUPLE3": h_tuple3,
        "NEWTRUE": h_newtrue, "NEWFALSE": h_newfalse, "LONG1": h_long1, "LONG4": h_long4,
        "BINBYTES": h_binbytes, "SHORT_BINBYTES": h_short_binbytes,
        "SHORT_BINUNICODE": h_short_binunicode, "BINUNICODE8": h_binunicode8,
        "BINBYTES8": h_binbytes8, "EMPTY_SET": h_empty_set, "ADDITEMS": h_additems,
        "FROZENSET": h_frozenset, "NEWOBJ_EX": h_newobj_ex, "STACK_GLOBAL": h_stack_global,
        "MEMOIZE": h_memoize, "FRAME": h_frame, "BYTEARRAY8": h_bytearray8,
        "NEXT_BUFFER": h_next_buffer, "READONLY_BUFFER": h_readonly_buffer,
    }
    plain = [h_unknown] * 256  # one handler per opcode
    for code, opcode in op.OPCODES.items():
        plain[code] = handlers[opcode.name]
    table = list(plain)  # the same, but the opcodes that begin runs run them
    for code, handler in ((_BININT1, r_binint1), (_NONE, r_none), (_SHORT_BINUNICODE, r_short_binunicode),
                          (_BINGET, r_binget), (_MARK, r_mark), (_INT, r_int), (_LONG, r_long),
                          (_UNICODE, r_unicode)):
        table[code] = handler
    for code in (_BININT, _BINFLOAT, _NEWTRUE, _NEWFALSE, _LONG1, _EMPTY_LIST, _EMPTY_DICT, _APPENDS, _SETITEMS):
        table[code] = starts_run(plain[code])
    if lanes:  # after a call the main loop ran, protocol 4's memo store starts a run
        for code in (_MEMOIZE,):
            table[code] = starts_run(plain[code])

    def run(data_, prefixes_, limits, allow_pids_, want_tree):
        nonlocal data, octets, size, find, max_depth, max_memo, max_digits, prefixes, allow_pids
        nonlocal max_exponent, max_collisions, blob_min
        nonlocal calls, findings, gnodes, protocol, first_protocol, nbuffers, budget, counts
        nonlocal dirty, exact
        data, size, find = data_, len(data_), data_.find
        if size > _OCTETS_MAX:
            octets = data_
        elif type(data_) is bytes:
            octets = list(data_)
        else:  # an mmap (iterating one gives 1-byte bytes; its memoryview gives ints)
            with memoryview(data_) as view:
                octets = list(view)
        max_depth, max_memo, max_digits = limits.max_depth, limits.max_memo, limits.max_int_digits
        max_exponent, max_collisions = limits.max_exponent, limits.max_hash_collisions
        prefixes, allow_pids = prefixes_, allow_pids_
        blob_min = size + 1 if want_tree else blob.MIN_SIZE  # big values stay in the input (verdict only)
        calls, findings, gnodes = [], [], {}
        if counts is None:  # the last run's list went to its Analysis
            counts = [0] * 256
        protocol, first_protocol, nbuffers = 0, None, 0
        budget = _WORK_PER_BYTE * size + _WORK_BASE
        dirty, exact = 0, True
        try:
            pos = 0
            try:
                if limits.max_ops >= size and limits.max_nodes >= size:
                    # every opcode is at least one byte and makes at most one node: cannot exceed
                    while True:
                        code = octets[pos]
                        counts[code] += 1
                        pos = table[code](pos + 1)
                else:
                    max_ops, max_nodes = limits.max_ops, limits.max_nodes
                    executed = nodes = 0
                    while True:
                        executed += 1
                        if executed > max_ops:
                            fail("more than max_ops=%d opcodes" % max_ops, pos)
                        code = octets[pos]
                        if _MAKES_NODE[code]:
                            nodes += 1
                            if nodes > max_nodes:
                                fail("more than max_nodes=%d containers, objects and memo entries "
                                     "(the loader's memory grows with each)" % max_nodes, pos)
                        counts[code] += 1
                        pos = plain[code](pos + 1)
            except _Stop as stop:
                end = stop.args[0]
            except (IndexError, struct.error):
                if pos >= size:
                    raise MalformedPickle("pickle data was truncated: no STOP opcode", size) from None
                raise MalformedPickle("pickle data was truncated inside the %s argument"
                                      % op.OPCODES[data[pos]].name, pos) from None

            root = result[0]
            for node in gnodes.values():
                meta = node.meta
                if meta.category == _CHECKED and meta.uses > 0:
                    module, qualname = node.value
                    flag(module, qualname, "%s.%s is referenced outside the call shapes pickle writes (%s)"
                         % (module, qualname, allowlist.DEFAULT_ALLOW[node.value].why), KIND_CALL, None)
            collided = _collisions(hashed, max_collisions)
            if collided is not None:
                flag("", "", "%d distinct keys of one set or dict share one hash (more than "
                     "max_hash_collisions=%d): inserting them is quadratic" % (collided, max_collisions),
                     KIND_COST, None)
            # In every mode: the real loader builds the same nesting.  Unless a shared
            # node was extended (``exact``), the root's kept depth is the graph's.  Else
            # the graph is walked, as the tree mode always does (its figure is the
            # walk's); a stream with few nodes that can nest cannot be too deep.
            if want_tree or (not exact and 2 * size > max_depth
                             and 2 * sum(_nesting_counts(counts)) > max_depth):
                nesting = tree.depth(root)
            elif exact and type(root) is Node:
                nesting = root.depth
            else:
                nesting = 0
            if nesting > max_depth:
                raise MalformedPickle("object nesting depth %d exceeds max_depth=%d"
                                      % (nesting, max_depth), end - 1)
            if not want_tree:  # a verdict only: the graph is dropped
                nesting = root = None
            globals_ = [key for key in gnodes]
            analysis = Analysis(first_protocol, counts, globals_, calls, nesting, len(memo), nbuffers,
                                findings, root, end,
                                {g: frozenset(n.meta.used) for g, n in gnodes.items() if n.meta.used})
            counts = None  # handed over: the next run starts a fresh list
            return analysis
        finally:
            if counts is not None:  # the run failed: its counts are dropped
                counts[:] = _ZEROS
            del stack[:], marks[:], result[:], hashed[:]
            memo.clear()
            built.clear()
            shared.clear()
            finding_keys.clear()
            data, find = b"", b"".find
            octets = data

    return run


_ZEROS = [0] * 256
# The opcodes the runs handle, as ints
_BININT1, _NONE, _SHORT_BINUNICODE, _MEMOIZE, _BINGET, _MARK, _BINPUT, _BINUNICODE = (
    c[0] for c in (op.BININT1, op.NONE, op.SHORT_BINUNICODE, op.MEMOIZE, op.BINGET, op.MARK, op.BINPUT,
                   op.BINUNICODE))
_BININT, _BINFLOAT, _NEWTRUE, _NEWFALSE, _LONG1, _EMPTY_LIST, _EMPTY_DICT, _APPENDS, _SETITEMS = (
    c[0] for c in (op.BININT, op.BINFLOAT, op.NEWTRUE, op.NEWFALSE, op.LONG1, op.EMPTY_LIST, op.EMPTY_DICT,
                   op.APPENDS, op.SETITEMS))
_STACK_GLOBAL, _EMPTY_TUPLE, _NEWOBJ, _BUILD, _GLOBAL, _TUPLE1, _BININT2, _SHORT_BINBYTES = (
    c[0] for c in (op.STACK_GLOBAL, op.EMPTY_TUPLE, op.NEWOBJ, op.BUILD, op.GLOBAL, op.TUPLE1, op.BININT2,
                   op.SHORT_BINBYTES))
_INT, _SETITEM, _APPEND, _PUT, _UNICODE, _LONG, _GET = (
    c[0] for c in (op.INT, op.SETITEM, op.APPEND, op.PUT, op.UNICODE, op.LONG, op.GET))
# LONG1 of 1-8 bytes is read as 8 little-endian bytes: keep the low ``n`` bytes, then sign-extend.
_LOW_BITS = [(1 << 8 * n) - 1 for n in range(9)]
_SIGN_BIT = [1 << 8 * n - 1 if n else 0 for n in range(9)]
# Pickles up to this size are read through a list of their byte values (8 bytes of list per
# input byte): a list index is several times cheaper than a bytes index in CPython's loop.
_OCTETS_MAX = 1 << 20
# Opcodes that make a container, an object, a persistent/buffer node or a memo entry.
_MAKES_NODE = [False] * 256
for _code, _opcode in op.OPCODES.items():
    _MAKES_NODE[_code] = _opcode.name in (
        "EMPTY_LIST", "EMPTY_TUPLE", "EMPTY_DICT", "EMPTY_SET", "LIST", "TUPLE", "TUPLE1", "TUPLE2",
        "TUPLE3", "DICT", "FROZENSET", "NEWOBJ", "NEWOBJ_EX", "REDUCE", "INST", "OBJ", "MEMOIZE", "PUT",
        "BINPUT", "LONG_BINPUT", "NEXT_BUFFER", "PERSID", "BINPERSID", "GLOBAL", "STACK_GLOBAL")


# Opcodes that make a node that can hold others (one level of nesting each at most;
# a REDUCE's normalised result is one node too).
_NESTING_CODES = tuple(code for code, opcode in op.OPCODES.items() if opcode.name in (
    "EMPTY_LIST", "EMPTY_TUPLE", "EMPTY_DICT", "EMPTY_SET", "LIST", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "DICT", "FROZENSET", "NEWOBJ", "NEWOBJ_EX", "REDUCE", "INST", "OBJ", "PERSID", "BINPERSID", "NEXT_BUFFER"))
_nesting_counts = itemgetter(*_NESTING_CODES)
_ALL_CODES = range(256)
_NAME_OF = [None] * 256
_PROTO_OF = [0] * 256
for _code, _opcode in op.OPCODES.items():
    _NAME_OF[_code] = _opcode.name
    _PROTO_OF[_code] = _opcode.proto


def _hash_of(value):
    """The hash CPython gives ``value`` when distinct values of its kind can share one, else None.

    Small ints hash to themselves; big ints, floats and tuples of atoms can be
    chosen to collide (str and bytes hashes are salted per process).
    """
    t = type(value)
    if t is int:
        return hash(value) if value >= _HASH_MIN_INT or value <= -_HASH_MIN_INT or value in (-1, -2) else None
    if t is float:
        return hash(value)
    if t is Node and value.kind == TUPLE:
        items = [_real(x) for x in value.items]
        if all(type(x) in _TUPLE_ATOMS for x in items):
            return hash(tuple(items))
    return None


_TUPLE_ATOMS = frozenset((int, float, str, bytes, bool, type(None)))


def _keys(node):
    """The values a set, a dict, or a call building one (its argument list) hashes."""
    if type(node) is list:  # a hashing call's arguments: set(<list>), dict(<pairs>)
        if not node or type(node[0]) is not Node or node[0].items is None:
            return ()
        keys = []
        for item in node[0].items:
            keys.append(item)
            if type(item) is Node and item.kind in (TUPLE, LIST) and len(item.items) == 2:
                keys.append(item.items[0])
        return keys
    if type(node) is not Node:
        return ()
    kind = node.kind
    if kind in (SET, FROZENSET):
        return node.items
    if kind == DICT:
        return [k for k, _ in node.items]
    if kind == OBJECT:
        return [k for k, _ in node.pairs or ()] + list(node.items or ())
    return ()


_KEYED = frozenset((SET, FROZENSET, DICT))  # node kinds whose items are their keys (or key pairs)


def _collisions(containers, limit: int) -> Optional[int]:
    """The size of the biggest group of distinct keys with one hash, when it exceeds ``limit``."""
    seen = set()
    for container in containers:
        if id(container) in seen:
            continue
        seen.add(id(container))
        if type(container) is Node and container.kind in _KEYED and len(container.items) <= limit:
            continue  # too few keys for a group past the limit (the usual case)
        keys = _keys(container)
        if len(keys) <= limit:
            continue
        groups: Dict[int, list] = {}
        for key in keys:
            h = _hash_of(key)
            if h is None:
                continue
            group = groups.get(h)
            if group is None:
                groups[h] = [key]
            elif len(group) <= limit and not any(_same_key(key, other) for other in group):
                group.append(key)
                if len(group) > limit:
                    return len(group)
    return None


def _same_key(a, b) -> bool:
    if type(a) is Node or type(b) is Node:
        return a is b or (type(a) is Node and type(b) is Node and a.items == b.items)
    return a == b
# Calls copy and normalise their arguments (tree.call/new_object/build).  A memo
# GET makes a huge argument cost two bytes to reuse, so the total of that work
# is bounded: this many items/characters per input byte, plus a base.  Pickles
# from CPython's picklers use a small fraction of it.
_WORK_PER_BYTE = 16
_WORK_BASE = 100_000


from . import analyzer_fast as _fast  # noqa: E402  (it subclasses Analysis)

"""A version-neutral symbolic tree of the object graph a pickle rebuilds.

The analyzer builds it while it runs the pickle machine without calling
anything; globals stay symbolic (``module``, ``qualname``).  The same data
pickled by CPython 3.8 at protocol 2 and by 3.13 at protocol 5 gives an equal
tree, because the ways pickle spells one thing are normalised away:

* ``NEWOBJ``, ``NEWOBJ_EX``, ``copyreg.__newobj__``/``__newobj_ex__``, ``INST``,
  ``OBJ``, ``REDUCE`` on a class and ``copyreg._reconstructor`` all become one
  ``object`` node (class, args, kwargs, attrs, items, pairs);
* ``_codecs.encode(s, 'latin1')`` and ``bytes()`` become bytes,
  ``bytearray(...)`` becomes a bytearray, ``set([...])``/``frozenset([...])``
  become set/frozenset nodes;
* ``BUILD`` state that is a dict, or a ``(dict, slots)`` pair, becomes the
  object's attributes (so moving a field into ``__slots__`` is not a change);
* GLOBAL/STACK_GLOBAL/EXT, memo and framing leave no trace; set members are
  ordered by content, not by hash.

Data model: atoms are the plain Python values ``None``, ``bool``, ``int``,
``float``, ``str``, ``bytes`` and ``bytearray``; everything else is a
:class:`Node`.  A mutable node (list, dict, set, object) reached twice is one
node (aliasing and cycles are kept); immutable values are compared by content.

Behaviour: :func:`to_dict`/:func:`from_dict` (JSON form, round-trips),
:func:`digest` (content hash), :func:`diff` (attribute-path changes),
:func:`render` (short text), :func:`depth`.  All walks are iterative and
bounded: deep or huge graphs neither recurse nor blow up.
"""

import hashlib
import struct
from itertools import chain
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .blob import Blob

__all__ = [
    "Node", "Change", "to_dict", "from_dict", "diff", "render", "digest", "depth", "kind_of",
    "GLOBAL", "LIST", "TUPLE", "DICT", "SET", "FROZENSET", "OBJECT", "BUFFER", "PID", "OPAQUE",
]

# --- node kinds ----------------------------------------------------------------------
GLOBAL = "global"  # value = (module, qualname)
LIST = "list"  # items
TUPLE = "tuple"  # items
DICT = "dict"  # items = [(key, value), ...] in insertion order
SET = "set"  # items
FROZENSET = "frozenset"  # items
OBJECT = "object"  # cls, args, kwargs, attrs, state, items, pairs
BUFFER = "buffer"  # value = (index, readonly): an out-of-band PickleBuffer
PID = "pid"  # value = the persistent id
OPAQUE = "opaque"  # value = (kind, digest hex): a subtree cut off by a size/depth bound

_MUTABLE = frozenset((LIST, DICT, SET, OBJECT, BUFFER, PID))
_ATOM_KINDS = {type(None): "none", bool: "bool", int: "int", float: "float", str: "str",
               bytes: "bytes", bytearray: "bytearray"}

# Bounds of the JSON form: deeper or bigger subtrees become OPAQUE digests, so
# json.dumps never recurses too deep and a memo-sharing bomb cannot explode.
JSON_MAX_DEPTH = 150
JSON_MAX_NODES = 2_000_000
_SHARE_ATOM_LEN = 256  # str/bytes at least this long are shared by content in the JSON form


class Node:
    """One non-atomic value of the rebuilt graph."""

    __slots__ = ("kind", "value", "items", "cls", "args", "kwargs", "attrs", "state", "pairs", "meta", "depth")

    def __init__(self, kind, value=None, items=None):
        self.kind = kind
        self.value = value
        self.items = items
        self.cls = None
        self.args = None
        self.kwargs = None
        self.attrs = None
        self.state = None
        self.pairs = None
        self.meta = None  # bookkeeping for the analyzer; not part of the tree
        # the analyzer's running nesting depth of this value (it sets 0 on globals and
        # buffers, and more on a container once it holds one); not part of the tree
        self.depth = 1

    def __repr__(self):
        return "<tree %s>" % render(self, max_items=4)


class Change(NamedTuple):
    path: str
    kind: str  # added / removed / changed / type_changed / class_changed
    old: Optional[str]
    new: Optional[str]


def kind_of(value) -> str:
    if type(value) is Node:
        return value.kind
    if type(value) is Blob:
        return _ATOM_KINDS[value.type]
    kind = _ATOM_KINDS.get(type(value))
    if kind is None:
        raise TypeError("not a tree value: %r" % (type(value).__name__,))
    return kind


# --- construction: the normalisations the analyzer calls ----------------------------

def new_global(module: str, qualname: str) -> Node:
    return Node(GLOBAL, (module, qualname))


def new_object(cls, args=(), kwargs=None) -> Node:
    node = Node(OBJECT)
    node.cls = cls
    node.args = list(args)
    node.kwargs = list(kwargs) if kwargs else None
    return node


def global_name(value) -> Optional[Tuple[str, str]]:
    if type(value) is Node and value.kind == GLOBAL:
        return value.value
    return None


_LATIN1 = frozenset(("latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1", "iso8859_1", "l1"))


def _seq_items(value) -> Optional[list]:
    if type(value) is Node and value.kind in (LIST, TUPLE):
        return value.items
    return None


def call(func, args: list):
    """The value of ``func(*args)`` as a tree value (a REDUCE)."""
    name = global_name(func)
    n = len(args)
    if name is not None:
        module, qualname = name
        if module == "_codecs" and qualname == "encode":
            if n == 2 and type(args[1]) is str and args[1] in _LATIN1:
                value = _latin1(args[0], bytes)
                if value is not None:
                    return value
        elif module == "builtins":
            if qualname == "bytes":
                if n == 0:
                    return b""
                if n == 1 and (type(args[0]) is bytes or (type(args[0]) is Blob and args[0].type is bytes)):
                    return args[0]
            elif qualname == "bytearray":
                if n == 0:
                    return bytearray()
                if n == 1 and type(args[0]) is bytes:
                    return bytearray(args[0])
                if n == 1 and type(args[0]) is Blob and args[0].type is bytes:
                    return args[0].as_type(bytearray)
                if n == 2 and type(args[1]) is str and args[1] in _LATIN1:
                    value = _latin1(args[0], bytearray)
                    if value is not None:
                        return value
            elif qualname in ("set", "frozenset"):
                if n == 0:
                    return Node(SET if qualname == "set" else FROZENSET, items=[])
                items = _seq_items(args[0]) if n == 1 else None
                if items is not None:
                    return Node(SET if qualname == "set" else FROZENSET, items=list(items))
        elif module == "copyreg":
            if qualname == "__newobj__" and n >= 1:
                return new_object(args[0], args[1:])
            if qualname == "__newobj_ex__" and n == 3:
                pos = _seq_items(args[1])
                kw = args[2].items if type(args[2]) is Node and args[2].kind == DICT else None
                if pos is not None and kw is not None:
                    return new_object(args[0], pos, kw)
            if qualname == "_reconstructor" and n == 3:
                return _reconstructor(args[0], args[1], args[2])
        elif (module, qualname) == ("array", "_array_reconstructor"):
            value = _array(args)
            if value is not None:
                return value
    return new_object(func, args)


def _latin1(text, type_):
    """``type_(text.encode("latin-1"))`` for a str (or a str :class:`Blob`), else None."""
    if type(text) is str:
        try:
            return type_(text.encode("latin-1"))
        except UnicodeEncodeError:
            return None
    if type(text) is Blob and text.type is str and text.latin1:
        return text.latin1_encoded(type_)
    return None


# array._array_reconstructor machine format codes (CPython Modules/arraymodule.c):
# code -> struct format of one item, or a codec for the unicode typecodes.
_ARRAY_FORMATS = {
    0: "<B", 1: "<b", 2: "<H", 3: ">H", 4: "<h", 5: ">h", 6: "<I", 7: ">I", 8: "<i", 9: ">i",
    10: "<Q", 11: ">Q", 12: "<q", 13: ">q", 14: "<f", 15: ">f", 16: "<d", 17: ">d",
    18: "utf-16-le", 19: "utf-16-be", 20: "utf-32-le", 21: "utf-32-be",
}


def _array(args) -> Optional[Node]:
    """``_array_reconstructor(array, typecode, mformat, bytes)`` as ``array(typecode, [items])``.

    That is what protocols 0-2 write, so both spellings give one tree.
    """
    if len(args) == 4 and type(args[3]) is Blob:
        args = args[:3] + [args[3].value()]
    if len(args) != 4 or type(args[1]) is not str or type(args[2]) is not int or type(args[3]) is not bytes:
        return None
    fmt = _ARRAY_FORMATS.get(args[2])
    raw = args[3]
    if fmt is None:
        return None
    if fmt.startswith("utf"):
        width = 2 if "16" in fmt else 4
        if len(raw) % width:
            return None
        try:
            items = list(raw.decode(fmt, "surrogatepass"))
        except UnicodeDecodeError:
            return None
    else:
        unpacker = struct.Struct(fmt)
        if len(raw) % unpacker.size:
            return None
        items = [x[0] for x in unpacker.iter_unpack(raw)]
    return new_object(args[0], [args[1], Node(LIST, items=items)])


def _reconstructor(cls, base, state) -> Node:
    base_name = global_name(base)
    if base_name == ("builtins", "object"):
        return new_object(cls)
    if base_name == ("builtins", "list") and _seq_items(state) is not None:
        obj = new_object(cls)
        obj.items = list(state.items)
        return obj
    if base_name == ("builtins", "dict") and type(state) is Node and state.kind == DICT:
        obj = new_object(cls)
        obj.pairs = list(state.items)
        return obj
    return new_object(cls, [state])


_UNKNOWN = object()


def build(obj: Node, state, attrs=_UNKNOWN) -> None:
    """Apply BUILD ``state`` to an object node (setstate or __dict__/slots update).

    ``attrs``: ``_attr_state(state)`` when the caller has already computed it.
    """
    if attrs is _UNKNOWN:
        attrs = _attr_state(state)
    if attrs is None:
        obj.state = state
        return
    if obj.attrs is None:
        obj.attrs = {}
    obj.attrs.update(attrs)


def _attr_state(state) -> Optional[Dict[str, Any]]:
    """``{name: value}`` when ``state`` is a str-keyed dict or a (dict|None, dict) pair."""
    if state is None:
        return {}
    if type(state) is not Node:
        return None
    if state.kind == DICT:
        return _str_dict(state)
    if state.kind == TUPLE and len(state.items) == 2:
        first, slots = state.items
        merged = {} if first is None else _str_dict(first)
        more = {} if slots is None else _str_dict(slots)
        if merged is None or more is None:
            return None
        merged.update(more)
        return merged
    return None


def _str_dict(value) -> Optional[Dict[str, Any]]:
    if type(value) is not Node or value.kind != DICT:
        return None
    result = {}
    for key, item in value.items:
        if type(key) is Blob:
            key = key.value()
        if type(key) is not str:
            return None
        result[key] = item
    return result


# --- traversal helpers ---------------------------------------------------------------

def _children(node: Node) -> List[Any]:
    """Every value a node refers to, in a fixed order (used for walks, not labels)."""
    kind = node.kind
    if kind in (LIST, TUPLE, SET, FROZENSET):
        return node.items
    if kind == DICT:
        return [x for pair in node.items for x in pair]
    if kind == OBJECT:
        out = [node.cls]
        out.extend(node.args)
        if node.kwargs:
            out.extend(x for pair in node.kwargs for x in pair)
        if node.attrs:
            out.extend(node.attrs.values())
        if node.state is not None:
            out.append(node.state)
        if node.items:
            out.extend(node.items)
        if node.pairs:
            out.extend(x for pair in node.pairs for x in pair)
        return out
    if kind == PID:
        return [node.value]
    return []


_pack_double = struct.Struct(">d").pack


def _atom_bytes(value) -> bytes:
    t = type(value)
    if t is str:
        return b"s" + value.encode("utf-8", "surrogatepass")
    if t is int:
        return b"i" + value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    if t is bool:
        return b"T" if value else b"F"
    if value is None:
        return b"N"
    if t is float:
        return b"f" + _pack_double(value)
    if t is bytes:
        return b"b" + value
    if t is bytearray:
        return b"a" + bytes(value)
    raise TypeError("not a tree value: %r" % (t.__name__,))


def _hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


_CYCLE = _hash(b"<cycle>")


class _Graph:
    """Per-walk caches: content digests (and purity) of every node reached."""

    def __init__(self):
        self.digests: Dict[int, bytes] = {}
        self.pure: Dict[int, bool] = {}
        self._atoms: Dict[int, bytes] = {}
        self._keep: List[Any] = []  # keeps cached atoms alive so ids stay unique

    def atom_digest(self, value) -> bytes:
        if type(value) in (str, bytes, bytearray) and len(value) >= _SHARE_ATOM_LEN:
            key = id(value)
            found = self._atoms.get(key)
            if found is None:
                found = self._atoms[key] = _hash(_atom_bytes(value))
                self._keep.append(value)
            return found
        return _hash(_atom_bytes(value))

    def digest(self, root) -> bytes:
        if type(root) is not Node:
            return self.atom_digest(root)
        digests = self.digests
        if id(root) in digests:
            return digests[id(root)]
        on_path = set()
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            key = id(node)
            if key in digests:
                continue
            if not expanded:
                if key in on_path:
                    continue
                on_path.add(key)
                stack.append((node, True))
                for child in _children(node):
                    if type(child) is Node and id(child) not in digests and id(child) not in on_path:
                        stack.append((child, False))
                continue
            on_path.discard(key)
            digests[key], self.pure[key] = self._combine(node, on_path)
        return digests[id(root)]

    def _child(self, value, on_path) -> Tuple[bytes, bool]:
        if type(value) is not Node:
            return self.atom_digest(value), True
        key = id(value)
        if key in self.digests:
            return self.digests[key], self.pure[key] and value.kind not in _MUTABLE
        return _CYCLE, False

    def _combine(self, node: Node, on_path) -> Tuple[bytes, bool]:
        kind = node.kind
        parts = [kind.encode()]
        pure = True

        def add(values, sort=False):
            nonlocal pure
            ds = []
            for value in values:
                d, p = self._child(value, on_path)
                ds.append(d)
                pure = pure and p
            if sort:
                ds.sort()
            parts.append(len(ds).to_bytes(8, "little"))
            parts.extend(ds)

        if kind == GLOBAL:
            parts.append(("%s\n%s" % node.value).encode("utf-8", "surrogatepass"))
        elif kind == OPAQUE:
            return bytes.fromhex(node.value[1]), False
        elif kind == BUFFER:
            parts.append(repr(node.value).encode())
        elif kind in (SET, FROZENSET):
            add(node.items, sort=True)
        elif kind == OBJECT:
            add([node.cls])
            add(node.args)
            add([x for pair in node.kwargs or () for x in pair])
            attrs = node.attrs or {}
            names = sorted(attrs)
            parts.append("\0".join(names).encode("utf-8", "surrogatepass"))
            add([attrs[n] for n in names])
            add([] if node.state is None else [node.state])
            parts.append(b"|")
            add(node.items or ())
            add([x for pair in node.pairs or () for x in pair])
        else:
            add(_children(node))
        return _hash(b"\0".join(parts)), pure and kind not in _MUTABLE


def digest(value) -> str:
    """Hex content hash of a tree value (equal trees have equal digests)."""
    return _Graph().digest(value).hex()


def depth(value) -> int:
    """Nesting depth: 0 for an atom or global, 1 + the deepest child otherwise.

    Longest path over the graph's tree and sharing edges; an edge back to a
    node still being walked (a cycle) counts as 0.
    """
    if type(value) is not Node:
        return 0
    depths: Dict[int, int] = {}
    on_path = set()
    todo = [value]
    flat = (GLOBAL, BUFFER, OPAQUE)
    while todo:
        node = todo[-1]
        key = id(node)
        if key in depths:
            todo.pop()
            continue
        kind = node.kind
        if kind in _SEQ_KINDS:
            kids = node.items
        elif kind == DICT:
            kids = list(chain.from_iterable(node.items))
        else:
            kids = _children(node)
        best = 0
        if key not in on_path:
            pushed = False
            for child in kids:
                if type(child) is Node:
                    ck = id(child)
                    known = depths.get(ck)
                    if known is not None:
                        if known > best:
                            best = known
                    elif ck not in on_path:
                        todo.append(child)
                        pushed = True
            if pushed:
                on_path.add(key)
                continue
        else:
            on_path.discard(key)
            for child in kids:
                if type(child) is Node:
                    known = depths.get(id(child), 0)
                    if known > best:
                        best = known
        todo.pop()
        depths[key] = 0 if kind in flat else best + 1
    return depths[id(value)]


_SEQ_KINDS = frozenset((LIST, TUPLE, SET, FROZENSET))


# --- JSON form -------------------------------------------------------------------------

def _int_json(value: int):
    if -(2 ** 53) < value < 2 ** 53:
        return value
    return {"t": "int", "hex": hex(value)}


def to_dict(value, *, max_depth: int = JSON_MAX_DEPTH, max_nodes: int = JSON_MAX_NODES):
    """JSON-able form of a tree value.

    Plain JSON for None, ints below 2**53 and str; ``{"t": kind, ...}`` for the
    rest.  A node reached twice (by identity for mutable values and for tuples
    holding them, by content for other tuples/frozensets and long strings) is
    written once with ``"id"`` and then as ``{"t": "ref", "id": n}``.  Subtrees
    deeper than ``max_depth`` or past ``max_nodes`` become
    ``{"t": "opaque", "kind": k, "digest": hex}``, which still compares by content.
    """
    graph = _Graph()
    graph.digest(value)
    counts = _share_counts(value, graph)
    ids: Dict[Any, int] = {}
    emitted = 0
    root_box: List[Any] = [None]
    # work items: (value, container, slot, level): container[slot] = encoded value
    work = [(value, root_box, 0, 0)]
    while work:
        item, container, slot, level = work.pop()
        emitted += 1
        key = _share_key(item, graph)
        if key is not None and key in ids:
            container[slot] = {"t": "ref", "id": ids[key]}
            continue
        shared = key is not None and counts.get(key, 0) > 1
        if type(item) is not Node:
            encoded = _atom_json(item, force_dict=shared)
            if shared:
                ids[key] = encoded["id"] = len(ids)
            container[slot] = encoded
            continue
        if level >= max_depth or emitted > max_nodes:
            container[slot] = {"t": OPAQUE, "kind": item.kind, "digest": graph.digest(item).hex()}
            continue
        out: Dict[str, Any] = {"t": item.kind}
        if shared:
            ids[key] = out["id"] = len(ids)
        container[slot] = out
        _encode_node(item, out, work, level + 1, graph)
    return root_box[0]


def _share_key(value, graph: _Graph):
    """Identity of a value for sharing in the JSON form, or None to always inline."""
    if type(value) is Node:
        kind = value.kind
        if kind in _MUTABLE:
            return ("id", id(value))
        if kind in (TUPLE, FROZENSET):
            if graph.pure.get(id(value)):
                return ("d", graph.digests[id(value)])
            return ("id", id(value))
        return None
    if type(value) in (str, bytes, bytearray) and len(value) >= _SHARE_ATOM_LEN:
        return ("d", graph.atom_digest(value))
    return None


def _share_counts(root, graph: _Graph) -> Dict[Any, int]:
    counts: Dict[Any, int] = {}
    stack = [root]
    while stack:
        value = stack.pop()
        key = _share_key(value, graph)
        if key is not None:
            seen = counts.get(key, 0)
            counts[key] = seen + 1
            if seen:
                continue
        if type(value) is Node:
            stack.extend(_children(value))
    return counts


def _atom_json(value, force_dict=False):
    t = type(value)
    if value is None:
        return None
    if t is bool:
        return {"t": "bool", "v": value}
    if t is int:
        return {"t": "int", "hex": hex(value)} if force_dict else _int_json(value)
    if t is str:
        return {"t": "str", "v": value} if force_dict else value
    if t is float:
        return {"t": "float", "v": repr(value)}
    if t is bytes:
        return {"t": "bytes", "hex": value.hex()}
    if t is bytearray:
        return {"t": "bytearray", "hex": value.hex()}
    raise TypeError("not a tree value: %r" % (t.__name__,))


def _encode_node(node: Node, out: dict, work: list, level: int, graph: _Graph) -> None:
    kind = node.kind

    def seq(name, values):
        values = list(values)
        target = [None] * len(values)
        out[name] = target
        for i in range(len(values) - 1, -1, -1):
            work.append((values[i], target, i, level))

    def pairs(name, values):
        target = [[None, None] for _ in values]
        out[name] = target
        for i in range(len(values) - 1, -1, -1):
            work.append((values[i][1], target[i], 1, level))
            work.append((values[i][0], target[i], 0, level))

    if kind == GLOBAL:
        out["module"], out["name"] = node.value
    elif kind in (LIST, TUPLE):
        seq("items", node.items)
    elif kind in (SET, FROZENSET):
        seq("items", sorted(node.items, key=graph.digest))
    elif kind == DICT:
        pairs("items", node.items)
    elif kind == OBJECT:
        # keys are inserted in reading order; values are pushed last-first so
        # that the work stack emits them in that order too
        out["cls"] = None
        later = []
        if node.args:
            later.append(lambda: seq("args", node.args))
        if node.kwargs:
            later.append(lambda: pairs("kwargs", node.kwargs))
        if node.attrs:
            def attrs():
                target = dict.fromkeys(node.attrs)
                out["attrs"] = target
                for name in reversed(list(node.attrs)):
                    work.append((node.attrs[name], target, name, level))
            later.append(attrs)
        if node.state is not None:
            def state():
                out["state"] = None
                work.append((node.state, out, "state", level))
            later.append(state)
        if node.items:
            later.append(lambda: seq("items", node.items))
        if node.pairs:
            later.append(lambda: pairs("pairs", node.pairs))
        for fill in reversed(later):
            fill()
        work.append((node.cls, out, "cls", level))
        for name in ("args", "kwargs", "attrs", "state", "items", "pairs"):
            if name in out:
                out[name] = out.pop(name)
    elif kind == BUFFER:
        out["index"], out["readonly"] = node.value
    elif kind == PID:
        out["id_value"] = None
        work.append((node.value, out, "id_value", level))
    elif kind == OPAQUE:
        out["kind"], out["digest"] = node.value
    else:
        raise TypeError("unknown node kind %r" % (kind,))


class TreeFormatError(ValueError):
    """A JSON tree that :func:`from_dict` cannot read."""


def from_dict(data):
    """Rebuild a tree value from :func:`to_dict` output."""
    ids: Dict[int, Any] = {}
    root_box: List[Any] = [None]
    work = [(data, root_box, 0)]
    while work:
        item, container, slot = work.pop()
        container[slot] = _decode(item, ids, work)
    return root_box[0]


def _decode(item, ids, work):
    if item is None or type(item) is str:
        return item
    if type(item) is int:
        return item
    if not isinstance(item, dict) or "t" not in item:
        raise TreeFormatError("not a tree value: %r" % (item,))
    t = item["t"]
    try:
        if t == "ref":
            return ids[item["id"]]
        value = _decode_atom(t, item)
        if value is not _NOT_ATOM:
            if "id" in item:
                ids[item["id"]] = value
            return value
        node = Node(t)
        if "id" in item:
            ids[item["id"]] = node
        if t == GLOBAL:
            node.value = (item["module"], item["name"])
        elif t in (LIST, TUPLE, SET, FROZENSET):
            node.items = _slots(item["items"], work)
        elif t == DICT:
            node.items = _pair_slots(item["items"], work)
        elif t == OBJECT:
            node.args = _slots(item.get("args", []), work)
            node.kwargs = _pair_slots(item["kwargs"], work) if "kwargs" in item else None
            if "attrs" in item:
                node.attrs = dict.fromkeys(item["attrs"])
                for name, sub in reversed(list(item["attrs"].items())):
                    work.append((sub, node.attrs, name))
            if "state" in item:
                work.append((item["state"], _Setter(node, "state"), 0))
            node.items = _slots(item["items"], work) if "items" in item else None
            node.pairs = _pair_slots(item["pairs"], work) if "pairs" in item else None
            work.append((item["cls"], _Setter(node, "cls"), 0))
        elif t == BUFFER:
            node.value = (item["index"], item["readonly"])
        elif t == PID:
            work.append((item["id_value"], _Setter(node, "value"), 0))
        elif t == OPAQUE:
            node.value = (item["kind"], item["digest"])
        else:
            raise TreeFormatError("unknown tree kind %r" % (t,))
        return node
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, TreeFormatError):
            raise
        raise TreeFormatError("bad %r tree value: %s" % (t, exc)) from None


class _Setter:
    __slots__ = ("node", "name")

    def __init__(self, node, name):
        self.node = node
        self.name = name

    def __setitem__(self, _slot, value):
        setattr(self.node, self.name, value)


_NOT_ATOM = object()


def _decode_atom(t, item):
    if t == "bool":
        return bool(item["v"])
    if t == "int":
        return int(item["hex"], 16) if "hex" in item else int(item["v"])
    if t == "str":
        return str(item["v"])
    if t == "float":
        return float(item["v"])
    if t == "bytes":
        return bytes.fromhex(item["hex"])
    if t == "bytearray":
        return bytearray.fromhex(item["hex"])
    return _NOT_ATOM


def _slots(values, work) -> list:
    target = [None] * len(values)
    for i in range(len(values) - 1, -1, -1):
        work.append((values[i], target, i))
    return target


def _pair_slots(values, work) -> list:
    target = [[None, None] for _ in values]
    for i in range(len(values) - 1, -1, -1):
        work.append((values[i][1], target[i], 1))
        work.append((values[i][0], target[i], 0))
    return target


# --- render ------------------------------------------------------------------------------

_RENDER_DEPTH = 6


def render(value, *, max_items: int = 10, max_chars: int = 2000) -> str:
    """Short readable text of a tree value, like ``repr`` of the rebuilt object."""
    parts: List[str] = []
    _render(value, parts, max_items, _RENDER_DEPTH, set())
    text = "".join(parts)
    if len(text) > max_chars:
        text = text[: max_chars - 3] + "..."
    return text


def _render_atom(value) -> str:
    t = type(value)
    if t is int and value.bit_length() > 256:
        return "<int of %d bits>" % value.bit_length()
    if t in (str, bytes, bytearray) and len(value) > 60:
        shown = repr(value[:40])
        return "%s...(%d %s)" % (shown, len(value), "chars" if t is str else "bytes")
    return repr(value)


def _render(value, out, max_items, level, on_path):
    if type(value) is not Node:
        out.append(_render_atom(value))
        return
    kind = value.kind
    if kind == GLOBAL:
        out.append("%s.%s" % value.value)
        return
    if id(value) in on_path:
        out.append("<cycle>")
        return
    if level <= 0:
        out.append("<%s ...>" % kind)
        return
    on_path.add(id(value))
    try:
        if kind in (LIST, TUPLE, SET, FROZENSET):
            items = value.items
            if kind in (SET, FROZENSET):
                graph = _Graph()
                items = sorted(items, key=graph.digest)
            opening, closing = {LIST: ("[", "]"), TUPLE: ("(", ")"), SET: ("{", "}"),
                                FROZENSET: ("frozenset({", "})")}[kind]
            if kind == SET and not items:
                out.append("set()")
                return
            out.append(opening)
            _render_seq(items, out, max_items, level, on_path)
            if kind == TUPLE and len(items) == 1:
                out.append(",")
            out.append(closing)
        elif kind == DICT:
            out.append("{")
            _render_pairs(value.items, out, max_items, level, on_path)
            out.append("}")
        elif kind == OBJECT:
            _render(value.cls, out, max_items, level - 1, on_path)
            out.append("(")
            _render_seq(value.args, out, max_items, level, on_path)
            if value.kwargs:
                if value.args:
                    out.append(", ")
                _render_pairs(value.kwargs, out, max_items, level, on_path, sep="=")
            out.append(")")
            if value.attrs:
                out.append(" {")
                _render_pairs(list(value.attrs.items()), out, max_items, level, on_path, sep="=", raw_keys=True)
                out.append("}")
            if value.state is not None:
                out.append(" state=")
                _render(value.state, out, max_items, level - 1, on_path)
            if value.items:
                out.append(" items=[")
                _render_seq(value.items, out, max_items, level, on_path)
                out.append("]")
            if value.pairs:
                out.append(" pairs={")
                _render_pairs(value.pairs, out, max_items, level, on_path)
                out.append("}")
        elif kind == BUFFER:
            out.append("<out-of-band buffer %d%s>" % (value.value[0], ", read-only" if value.value[1] else ""))
        elif kind == PID:
            out.append("<persistent id ")
            _render(value.value, out, max_items, level - 1, on_path)
            out.append(">")
        else:
            out.append("<%s %s>" % (value.value[0], value.value[1][:12]))
    finally:
        on_path.discard(id(value))


def _render_seq(items, out, max_items, level, on_path):
    for i, item in enumerate(items):
        if i:
            out.append(", ")
        if i >= max_items:
            out.append("...(%d more)" % (len(items) - i))
            break
        _render(item, out, max_items, level - 1, on_path)


def _render_pairs(pairs, out, max_items, level, on_path, sep=": ", raw_keys=False):
    for i, (key, item) in enumerate(pairs):
        if i:
            out.append(", ")
        if i >= max_items:
            out.append("...(%d more)" % (len(pairs) - i))
            break
        if raw_keys or (sep == "=" and type(key) is str):
            out.append(str(key))
        else:
            _render(key, out, max_items, level - 1, on_path)
        out.append(sep)
        _render(item, out, max_items, level - 1, on_path)


# --- diff ----------------------------------------------------------------------------------

_DIFF_MAX_STEPS = 200_000


def _short(value) -> str:
    return render(value, max_items=5, max_chars=120)


def _key_path(key) -> str:
    if type(key) in (str, int, bytes, float, bool) or key is None:
        return "[%s]" % _render_atom(key)
    return "[%s]" % _short(key)


def diff(old, new, *, limit: int = 50) -> List[Change]:
    """Changes from ``old`` to ``new``, at most ``limit``, with attribute paths from ``obj``."""
    changes: List[Change] = []
    graph = _Graph()
    seen = set()
    work = [("obj", old, new)]
    steps = 0
    while work and len(changes) < limit and steps < _DIFF_MAX_STEPS:
        steps += 1
        path, a, b = work.pop()
        if type(a) is Node and type(b) is Node:
            pair = (id(a), id(b))
            if pair in seen:
                continue
            seen.add(pair)
        if graph.digest(a) == graph.digest(b):
            continue
        ka, kb = kind_of(a), kind_of(b)
        if ka != kb:
            if OPAQUE in (ka, kb):
                changes.append(Change(path, "changed", _short(a), _short(b)))
            else:
                changes.append(Change(path, "type_changed", "%s %s" % (ka, _short(a)), "%s %s" % (kb, _short(b))))
            continue
        if type(a) is not Node:
            changes.append(Change(path, "changed", _short(a), _short(b)))
            continue
        before = len(work)
        _diff_node(path, a, b, changes, work, graph)
        # keep document order: the work stack is LIFO
        work[before:] = reversed(work[before:])
    return changes[:limit]


def _diff_node(path, a: Node, b: Node, changes, work, graph):
    kind = a.kind
    if kind == GLOBAL:
        changes.append(Change(path, "class_changed", "%s.%s" % a.value, "%s.%s" % b.value))
    elif kind in (LIST, TUPLE):
        _diff_seq(path, a.items, b.items, changes, work)
    elif kind in (SET, FROZENSET):
        _diff_set(path, a.items, b.items, changes, graph)
    elif kind == DICT:
        _diff_pairs(path, a.items, b.items, changes, work, graph)
    elif kind == OBJECT:
        an, bn = global_name(a.cls), global_name(b.cls)
        if an != bn or an is None:
            if an is not None and bn is not None:
                changes.append(Change(path, "class_changed", "%s.%s" % an, "%s.%s" % bn))
            else:
                work.append((path + ".__class__", a.cls, b.cls))
        _diff_seq(path + ".__args__", a.args, b.args, changes, work)
        _diff_pairs(path + ".__kwargs__", a.kwargs or [], b.kwargs or [], changes, work, graph)
        _diff_attrs(path, a.attrs or {}, b.attrs or {}, changes, work)
        if a.state is not None or b.state is not None:
            if a.state is None:
                changes.append(Change(path + ".__state__", "added", None, _short(b.state)))
            elif b.state is None:
                changes.append(Change(path + ".__state__", "removed", _short(a.state), None))
            else:
                work.append((path + ".__state__", a.state, b.state))
        _diff_seq(path, a.items or [], b.items or [], changes, work)
        _diff_pairs(path, a.pairs or [], b.pairs or [], changes, work, graph)
    else:
        changes.append(Change(path, "changed", _short(a), _short(b)))


def _diff_seq(path, xs, ys, changes, work):
    common = min(len(xs), len(ys))
    for i in range(common):
        work.append(("%s[%d]" % (path, i), xs[i], ys[i]))
    for i in range(common, len(xs)):
        changes.append(Change("%s[%d]" % (path, i), "removed", _short(xs[i]), None))
    for i in range(common, len(ys)):
        changes.append(Change("%s[%d]" % (path, i), "added", None, _short(ys[i])))


def _diff_set(path, xs, ys, changes, graph):
    da = {graph.digest(x): x for x in xs}
    db = {graph.digest(y): y for y in ys}
    for d in sorted(set(da) - set(db)):
        changes.append(Change(path, "removed", _short(da[d]), None))
    for d in sorted(set(db) - set(da)):
        changes.append(Change(path, "added", None, _short(db[d])))


def _diff_pairs(path, xs, ys, changes, work, graph):
    da = {graph.digest(k): (k, v) for k, v in xs}
    db = {graph.digest(k): (k, v) for k, v in ys}
    for d, (k, v) in da.items():
        if d not in db:
            changes.append(Change(path + _key_path(k), "removed", _short(v), None))
        else:
            work.append((path + _key_path(k), v, db[d][1]))
    for d, (k, v) in db.items():
        if d not in da:
            changes.append(Change(path + _key_path(k), "added", None, _short(v)))
    common_a = [d for d in da if d in db]
    common_b = [d for d in db if d in da]
    if common_a != common_b:
        changes.append(Change(path, "changed", "key order " + _short([da[d][0] for d in common_a]),
                              "key order " + _short([db[d][0] for d in common_b])))


def _diff_attrs(path, xs: dict, ys: dict, changes, work):
    for name, value in xs.items():
        if name not in ys:
            changes.append(Change("%s.%s" % (path, name), "removed", _short(value), None))
        else:
            work.append(("%s.%s" % (path, name), value, ys[name]))
    for name, value in ys.items():
        if name not in xs:
            changes.append(Change("%s.%s" % (path, name), "added", None, _short(value)))

"""Describe raw marshal data for ``serialcompat inspect``: JSON-able and text.

``describe_marshal(data)`` decodes without building anything live (code
objects become ``CodeInfo``) and returns the value as a tree of plain dicts,
the type codes used and the lowest format version that can express them.
``render_marshal(desc)`` turns that dict into short readable text.
"""

import collections

from . import codeinfo as _codeinfo
from . import codeinfo_layout as _layout
from .marshal_codec import TYPE_NAMES, FLAG_REF, MarshalError, Reader

__all__ = ["describe_marshal", "render_marshal", "looks_like_marshal", "describe_value"]

# lowest marshal version that writes each type code
_MIN_VERSION = {
    "BINARY_FLOAT": 2, "BINARY_COMPLEX": 2, "REF": 3, "INTERNED": 1,
    "ASCII": 4, "ASCII_INTERNED": 4, "SHORT_ASCII": 4, "SHORT_ASCII_INTERNED": 4,
    "SMALL_TUPLE": 4, "SLICE": 5,
}
_NOT_A_START = frozenset((0x30, 0x72, 0x3F))  # NULL, REF, UNKNOWN never start a value
_LAYOUT_VERSIONS = ((3, 13), (3, 10), (3, 8))  # one per code layout


class _CountingReader(Reader):
    """Reader that also counts the type codes it meets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type_counts = collections.Counter()
        self.flagged = 0

    def _read_object(self, stack):
        if self.pos < self.size:
            code = self.data[self.pos]
            self.type_counts[TYPE_NAMES.get(code & ~FLAG_REF, "0x%02x" % code)] += 1
            if code & FLAG_REF:
                self.flagged += 1
        return super()._read_object(stack)


def _decode(data, python_version):
    """(value, reader, version used): code objects read with the given
    version's layout, or, if none is given, the first layout that fits."""
    candidates = [tuple(python_version[:2])] if python_version else [_layout.RUNNING] + [
        v for v in _LAYOUT_VERSIONS if _layout.layout_name(v) != _layout.layout_name(_layout.RUNNING)]
    first_error = None
    for version in candidates:
        reader = _CountingReader(
            data,
            code_layout=_layout.layout_for(version),
            build_code=_codeinfo._CodeInfoBuilder(version, None),
            allow_slice=True,
        )
        try:
            return reader.read(), reader, version
        except MarshalError as exc:
            if first_error is None:
                first_error = exc
            if "code" not in str(exc):
                break
    raise first_error


def describe_value(value, *, max_items=200, max_depth=60, max_len=200):
    """JSON-able tree of a decoded marshal value (iterative; bounded)."""
    root = {}
    stack = [(value, root, 0)]
    while stack:
        obj, node, depth = stack.pop()
        t = type(obj)
        node["type"] = "code" if isinstance(obj, _codeinfo.CodeInfo) else t.__name__
        if depth >= max_depth and t in (list, tuple, set, frozenset, dict):
            node["truncated"] = True
            continue
        if t in (list, tuple, set, frozenset):
            items = []
            node["length"] = len(obj)
            node["items"] = items
            for i, item in enumerate(obj):
                if i >= max_items:
                    node["truncated"] = True
                    break
                child = {}
                items.append(child)
                stack.append((item, child, depth + 1))
        elif t is dict:
            items = []
            node["length"] = len(obj)
            node["items"] = items
            for i, (k, v) in enumerate(obj.items()):
                if i >= max_items:
                    node["truncated"] = True
                    break
                kchild, vchild = {}, {}
                items.append([kchild, vchild])
                stack.append((k, kchild, depth + 1))
                stack.append((v, vchild, depth + 1))
        elif isinstance(obj, _codeinfo.CodeInfo):
            node["code"] = obj.to_dict(max_const_len=max_len)
        elif t is str:
            node["value"] = obj if len(obj) <= max_len else obj[:max_len]
            if len(obj) > max_len:
                node["length"] = len(obj)
        elif t is bytes:
            node["hex"] = obj[:max_len].hex()
            node["length"] = len(obj)
        elif t is bool or obj is None:
            node["value"] = obj
        elif t is int:
            text = str(obj) if obj.bit_length() <= 3000 else None
            node["value"] = obj if text is not None and len(text) <= max_len else None
            node["bits"] = obj.bit_length()
        else:  # float, complex, Ellipsis, StopIteration, slice
            node["repr"] = _codeinfo.safe_repr(obj, max_len)
    return root


def describe_marshal(data, *, python_version=None):
    """JSON-able description of raw marshal data.

    Keys: format ("marshal"), size, consumed (bytes the value used; marshal
    ignores the rest), min_version (lowest marshal version that writes these
    type codes), refs (objects flagged for back-reference), type_counts,
    code_python_version (layout used for code objects, when there are any)
    and value (the tree).  Undecodable data gives ``error`` and ``offset``.
    """
    data = bytes(data)
    desc = {"format": "marshal", "size": len(data)}
    try:
        value, reader, version = _decode(data, python_version)
    except MarshalError as exc:
        desc["error"] = str(exc)
        desc["offset"] = exc.offset
        return desc
    counts = dict(sorted(reader.type_counts.items()))
    desc["consumed"] = reader.pos
    desc["min_version"] = max([_MIN_VERSION.get(name, 0) for name in counts] + [3 if reader.flagged else 0])
    desc["refs"] = reader.flagged
    desc["type_counts"] = counts
    if "CODE" in counts:
        desc["code_python_version"] = "%d.%d" % version
    desc["value"] = describe_value(value)
    return desc


def looks_like_marshal(data):
    """True when ``data`` is exactly one marshal value (nothing left over)."""
    data = bytes(data[:1 << 26]) if len(data) > (1 << 26) else bytes(data)
    if not data or data[0] & ~FLAG_REF not in TYPE_NAMES or data[0] & ~FLAG_REF in _NOT_A_START:
        return False
    try:
        _value, reader, _version = _decode(data, None)
    except MarshalError:
        return False
    return reader.pos == len(data)


def _render_node(node, lines, indent, limit):
    stack = [(node, indent, "")]
    while stack:
        node, indent, label = stack.pop()
        if len(lines) >= limit:
            lines.append("  ...")
            return
        pad = "  " * indent
        t = node.get("type")
        if t == "code":
            code = node["code"]
            lines.append("%s%scode %s (line %s)" % (pad, label, code.get("qualname") or code["name"],
                                                     code["firstlineno"]))
            continue
        if "items" in node:
            lines.append("%s%s%s of %d%s" % (pad, label, t, node["length"], " (truncated)" if node.get("truncated") else ""))
            children = []
            for i, item in enumerate(node["items"]):
                if t == "dict":
                    children.append((item[1], indent + 1, _short(item[0]) + ": "))
                else:
                    children.append((item, indent + 1, ""))
            stack.extend(reversed(children))
            continue
        lines.append("%s%s%s" % (pad, label, _short(node)))


def _short(node):
    t = node.get("type")
    if "value" in node:
        return "%s %r" % (t, node["value"])
    if "hex" in node:
        return "bytes[%d] %s" % (node["length"], node["hex"][:64])
    if "repr" in node:
        return "%s %s" % (t, node["repr"])
    if t == "code":
        return "code %s" % node["code"]["name"]
    if "items" in node:
        return "%s of %d" % (t, node["length"])
    return str(t)


def render_marshal(desc, *, max_lines=200):
    """Readable text for a describe_marshal() dict."""
    lines = ["marshal data: %d bytes" % desc["size"]]
    if "error" in desc:
        lines.append("error: %s" % desc["error"])
        return "\n".join(lines)
    lines.append("format version >= %d, %d back-referenced objects, value uses %d bytes" % (
        desc["min_version"], desc["refs"], desc["consumed"]))
    if "code_python_version" in desc:
        lines.append("code objects read as CPython %s" % desc["code_python_version"])
    lines.append("type codes: " + ", ".join("%s=%d" % kv for kv in desc["type_counts"].items()))
    _render_node(desc["value"], lines, 0, max_lines)
    return "\n".join(lines)

"""Describe .pyc files for ``serialcompat inspect``: JSON-able and text."""

from . import pyc as _pyc
from . import pyc_magic
from .marshal_codec import MarshalError

__all__ = ["describe_pyc", "render_pyc", "looks_like_pyc"]


def looks_like_pyc(data):
    """True when the header is a CPython 3.8+ .pyc header."""
    if len(data) < _pyc.HEADER_SIZE:
        return False
    try:
        header = _pyc.read_pyc_header(data)
    except MarshalError:
        return False
    return header.python_version is not None


def describe_pyc(data, *, python_version=None):
    """JSON-able description: header fields and the code tree.

    Keys: format ("pyc"), size, magic, python_version ("3.12"), release
    (magic is the final release value), flags, hash_based, check_source,
    mtime/source_size or source_hash (hex), code (CodeInfo.to_dict()).
    Unreadable data gives ``error`` and ``offset`` (header fields kept when
    the header itself was readable).
    """
    data = bytes(data)
    desc = {"format": "pyc", "size": len(data)}
    try:
        header = _pyc.read_pyc_header(data)
    except MarshalError as exc:
        desc["error"] = str(exc)
        desc["offset"] = exc.offset
        return desc
    desc["magic"] = header.magic
    version = header.python_version
    desc["python_version"] = "%d.%d" % version if version else None
    desc["release"] = header.release
    desc["flags"] = header.flags
    desc["hash_based"] = header.hash_based
    desc["check_source"] = header.check_source
    if header.hash_based:
        desc["source_hash"] = header.source_hash.hex()
    else:
        desc["mtime"] = header.mtime
        desc["source_size"] = header.source_size
    try:
        info = _pyc.read_pyc(data, python_version=python_version)
    except MarshalError as exc:
        desc["error"] = str(exc)
        desc["offset"] = exc.offset
        return desc
    desc["code"] = info.code.to_dict()
    return desc


def _render_code(code, lines, limit):
    stack = [(code, 0)]
    while stack:
        node, depth = stack.pop()
        if len(lines) >= limit:
            lines.append("  ...")
            return
        pad = "  " * depth
        args = "args=%d posonly=%d kwonly=%d" % (node["argcount"], node["posonlyargcount"], node["kwonlyargcount"])
        lines.append("%scode %s  line %d  %s  flags=%s" % (
            pad, node.get("qualname") or node["name"], node["firstlineno"], args, "|".join(node["flags"]) or "-"))
        for key in ("varnames", "cellvars", "freevars", "names"):
            if node[key]:
                lines.append("%s  %s: %s" % (pad, key, ", ".join(node[key])))
        starts = node.get("line_starts")
        if starts:
            lines.append("%s  lines: %s" % (pad, " ".join("%d:%s" % (o, l) for o, l in starts[:40])
                                             + (" ..." if len(starts) > 40 else "")))
        children = [c["code"] for c in node["consts"] if "code" in c]
        stack.extend((child, depth + 1) for child in reversed(children))


def render_pyc(desc, *, max_lines=400):
    """Readable text for a describe_pyc() dict."""
    lines = [".pyc: %d bytes" % desc["size"]]
    if "magic" in desc:
        version = desc["python_version"] or "unknown"
        release = "release" if desc["release"] else "pre-release"
        if desc["python_version"] is None:
            release = "not a known CPython magic"
        lines.append("magic %d: CPython %s (%s)" % (desc["magic"], version, release))
        if desc["hash_based"]:
            lines.append("hash-based (%s), source hash %s" % (
                "checked" if desc["check_source"] else "unchecked", desc["source_hash"]))
        else:
            lines.append("timestamp-based: mtime %d, source size %d" % (desc["mtime"], desc["source_size"]))
    if "error" in desc:
        lines.append("error: %s" % desc["error"])
        return "\n".join(lines)
    _render_code(desc["code"], lines, max_lines)
    return "\n".join(lines)


def known_versions():
    """Versions the magic table covers, e.g. ['3.8', ..., '3.14']."""
    return ["%d.%d" % version for version in pyc_magic.RELEASE_MAGIC]

"""Recognise a serialized file by its content and describe it, executing nothing.

Each format maps to the reference module that reads it: pickles go through the
safe analyzer, ``.pyc`` and marshal through the cross-version marshal reader,
JSON through the canonical JSON reader.  The result is a dict that is both
printable (``text``) and JSON-able (everything else).
"""

from .reference import opcodes

FORMATS = ("json", "marshal", "pickle", "pyc")


class InspectError(Exception):
    """The file could not be read as the format asked for (the message says why)."""


def _looks_like_pickle(data):
    if len(data) >= 2 and data[0] == opcodes.PROTO[0]:
        return data[1] <= opcodes.HIGHEST_PROTOCOL
    # protocols 0 and 1 have no header: a known first opcode and a final STOP
    return bool(data) and data[0] in opcodes.OPCODES and data.endswith(opcodes.STOP)


def detect_format(data):
    """The format name for ``data``, or None when nothing recognises it."""
    from .reference.canonical_json import looks_like_json
    from .reference.marshal_inspect import looks_like_marshal
    from .reference.pyc_inspect import looks_like_pyc

    if looks_like_pyc(data):
        return "pyc"
    if len(data) >= 2 and data[0] == opcodes.PROTO[0] and data[1] <= opcodes.HIGHEST_PROTOCOL:
        return "pickle"
    if looks_like_json(data):
        return "json"
    if looks_like_marshal(data):
        return "marshal"
    if _looks_like_pickle(data):
        return "pickle"
    return None


def inspect_bytes(data, fmt, *, allow=()):
    """Describe ``data`` read as ``fmt``; raises InspectError when it cannot be read."""
    if fmt is None:
        raise InspectError("unrecognised content: not a pickle, marshal, .pyc or JSON file (use --as)")
    report = _INSPECTORS[fmt](data, allow)
    report["format"] = fmt
    return report


def _inspect_pickle(data, allow):
    from .reference.analyzer import analyze
    from .reference.errors import MalformedPickle
    from .reference.tree import render

    try:
        analysis = analyze(data, allow=allow)
    except MalformedPickle as exc:
        raise InspectError("malformed pickle: %s" % exc) from None
    report = analysis.to_dict()
    lines = ["protocol: %d" % analysis.protocol]
    if analysis.globals:
        lines.append("globals:")
        lines.extend("  %s.%s" % pair for pair in analysis.globals)
    else:
        lines.append("globals: none")
    if analysis.safe:
        lines.append("verdict: safe")
    else:
        lines.append("verdict: UNSAFE")
        for finding in analysis.unsafe:
            name = "%s.%s" % (finding.module, finding.qualname) if finding.module else finding.kind
            reason = finding.reason
            lines.append("  " + (reason if reason.startswith(name) else "%s: %s" % (name, reason)))
    lines.append("object:")
    lines.extend("  " + line for line in render(analysis.tree).splitlines())
    report.update(format="pickle", ok=analysis.safe, text="\n".join(lines))
    return report


def _inspect_marshalled(module_name, describe_name, render_name):
    def inspect(data, allow):
        import importlib

        module = importlib.import_module(".reference." + module_name, __package__)
        description = getattr(module, describe_name)(data)
        if description.get("error"):
            # describe_* report bad data instead of raising; the offset is in the message
            message = description["error"]
            if description.get("offset") is not None and "at byte" not in message:
                message += " (at byte %d)" % description["offset"]
            raise InspectError(message)
        report = dict(description)
        report.update(ok=True, text=getattr(module, render_name)(description))
        return report

    return inspect


def _inspect_json(data, allow):
    from .reference.canonical_json import CanonicalJSONError, describe_json, render_json

    try:
        description = describe_json(data)
    except CanonicalJSONError as exc:
        raise InspectError("malformed JSON: %s" % exc) from None
    report = dict(description)
    report.update(ok=True, text=render_json(description))
    return report


_INSPECTORS = {
    "pickle": _inspect_pickle,
    "pyc": _inspect_marshalled("pyc_inspect", "describe_pyc", "render_pyc"),
    "marshal": _inspect_marshalled("marshal_inspect", "describe_marshal", "render_marshal"),
    "json": _inspect_json,
}

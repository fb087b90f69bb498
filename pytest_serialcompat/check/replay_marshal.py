"""Replay of a marshal golden: version, code objects of other interpreters, load, compare.

``marshal.loads`` trusts its input and builds bogus code objects from another
version's bytes, so a golden that may hold code is read first by the reference
reader with the producer's code layout.
"""

import marshal
from typing import Optional

from ..diagnosis import messages as diagnosis
from ..results import CORRUPT, FOREIGN_CODE, MARSHAL, UNREADABLE
from ..store import GoldenFile
from . import safety
from .outcome import fail, skip
from .plan import contains_code

_exc_text = safety.exc_text


_CODE_TYPES = (b"c", b"\xe3")  # TYPE_CODE, with and without FLAG_REF


def replay_marshal(replayer, golden: GoldenFile, data: bytes) -> None:
    ctx = replayer.ctx
    version = golden.protocol or 0
    if version > marshal.version:
        raise skip(UNREADABLE, diagnosis.unreadable_protocol(
            MARSHAL, version, golden.interpreter, marshal.version))
    entry = replayer.entry(golden)
    foreign = golden.interpreter != ctx.interpreter.tag
    if foreign and (entry.get("contains_code") or (data[:1] and data[0] & 0x7F == ord("c"))):
        _skip_foreign_code(replayer, golden, _describe_code(data, golden.interpreter))
    if data == replayer.fresh_bytes(MARSHAL, version):
        return  # the current object's own bytes (see _replay_pickle)
    if _may_hold_code(data) and _holds_code(replayer, golden, data):
        magic = (replayer.manifest(golden.interpreter) or {}).get("magic_number")
        if foreign or (isinstance(magic, int) and magic != ctx.interpreter.magic_number):
            _skip_foreign_code(replayer, golden, None)
    try:
        loaded = marshal.loads(data)
    except (ValueError, EOFError, TypeError) as exc:
        raise fail(CORRUPT, "The golden is not valid marshal data (%s)." % _exc_text(exc),
                    "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                    % golden.interpreter)
    replayer.compare(loaded, golden)


def _skip_foreign_code(replayer, golden: GoldenFile, description: Optional[str]) -> None:
    ctx = replayer.ctx
    raise skip(FOREIGN_CODE, diagnosis.foreign_code(
        golden.interpreter, (replayer.manifest(golden.interpreter) or {}).get("magic_number"),
        ctx.interpreter.tag, ctx.interpreter.magic_number, description))


def _holds_code(replayer, golden: GoldenFile, data: bytes) -> bool:
    """Whether the golden holds code objects, read by the reference reader with the code
    layout of the producer's version before ``marshal.loads`` builds anything: that trusts
    its input, and builds a bogus code object from another version's bytes."""
    from ..environment import parse_tag
    from ..reference.codeinfo import CodeInfo, make_reader
    from ..reference.marshal_codec import MarshalError

    parsed = parse_tag(golden.interpreter)
    producer = parsed[1] if parsed is not None else replayer.ctx.interpreter.major_minor
    try:
        value = make_reader(data, producer).read()
    except MarshalError as exc:
        raise fail(CORRUPT, "The golden is not valid %s marshal data (%s); it was NOT loaded "
                    "(a code object of another Python version under %s's name reads like "
                    "this)." % (golden.interpreter, exc, golden.interpreter),
                    "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                    % golden.interpreter)
    if not contains_code(value, CodeInfo):
        return False
    if golden.interpreter == replayer.ctx.interpreter.tag:
        problem = _running_bytecode_problem(value)
        if problem is not None:
            raise fail(CORRUPT, "The golden holds a code object that is not %s bytecode (%s); "
                        "it was NOT loaded (another Python version's code under %s's name "
                        "reads like this)." % (golden.interpreter, problem, golden.interpreter),
                        "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                        % golden.interpreter)
    return True


def _may_hold_code(data: bytes) -> bool:
    """False only when no byte of ``data`` could start a code object (a quick filter)."""
    return any(code in data for code in _CODE_TYPES)


def _running_bytecode_problem(value) -> Optional[str]:
    from ..reference.codeinfo import CodeInfo, running_bytecode_problem

    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, CodeInfo):
            problem = running_bytecode_problem(item)
            if problem is not None:
                return problem
        elif id(item) not in seen and isinstance(item, (tuple, list, set, frozenset, dict)):
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return None


def _describe_code(data: bytes, producer: str) -> Optional[str]:
    """A short description of another version's code object, from the reference reader."""
    from ..environment import parse_tag

    parsed = parse_tag(producer)
    if parsed is None:
        return None
    try:
        from ..reference.codeinfo import read_code

        info = read_code(data, python_version=parsed[1])
    except Exception:
        return None
    name = getattr(info, "name", None) or getattr(info, "co_name", None)
    return "%r" % name if name else None

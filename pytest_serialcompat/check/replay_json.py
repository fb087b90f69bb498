"""Replay of a JSON golden: canonical form, the codec's decoder, compare by keys and graph."""

import json

from ..diagnosis import messages as diagnosis
from ..results import CORRUPT, JSON, LOAD_ERROR, NOT_EQUAL, STATE_CHANGED
from ..store import GoldenFile
from . import safety
from .outcome import fail

_exc_text = safety.exc_text


def replay_json(replayer, golden: GoldenFile, data: bytes) -> None:
    ctx = replayer.ctx
    fresh = replayer.fresh_bytes(JSON, None)
    if fresh == data:
        return  # the current object's own bytes (see _replay_pickle)
    value = _read_canonical_json(golden, data)
    fresh_value = json.loads(fresh.decode("utf-8")) if fresh is not None else None
    codec = ctx.fresh.codec
    try:
        loaded = codec.from_json(value)
    except Exception as exc:
        lines = diagnosis.json_key_changes(value, fresh_value) if fresh is not None else []
        if lines:
            raise fail(STATE_CHANGED, *diagnosis.state_changed(
                lines, _exc_text(exc), golden.interpreter))
        raise fail(LOAD_ERROR, "Decoding the golden with %s raised %s." % (
            codec.name, _exc_text(exc)), diagnosis.UPDATE_HINT)
    compared = ctx.comparison.check(loaded, ctx.obj)
    if not compared.ok:
        lines = diagnosis.json_key_changes(value, fresh_value) if fresh is not None else []
        if lines:
            raise fail(STATE_CHANGED, *diagnosis.state_changed(lines, None, golden.interpreter))
        raise fail(NOT_EQUAL, *diagnosis.not_equal(
            compared.outcome.lines(), compared.detail, golden.interpreter))


def _read_canonical_json(golden: GoldenFile, data: bytes):
    """The value of a JSON golden, read strictly: what canonical JSON refuses is corrupt."""
    from ..reference.canonical_json import (
        CanonicalJSONError, canonical_json_dumps, canonical_json_loads,
    )

    fix = "Re-record it with `pytest --serialcompat-update` on %s, or delete it." % golden.interpreter
    try:
        value = canonical_json_loads(data)
    except CanonicalJSONError as exc:
        raise fail(CORRUPT, "The golden is not canonical JSON: %s." % exc, fix)
    canonical = canonical_json_dumps(value)
    if canonical != data:
        at = next((i for i, (a, b) in enumerate(zip(canonical, data)) if a != b),
                  min(len(canonical), len(data)))
        raise fail(CORRUPT, "The golden is valid JSON but not canonical JSON (sorted keys, no "
                    "whitespace, shortest numbers; first difference at byte %d): this plugin did "
                    "not write it." % at, fix)
    return value

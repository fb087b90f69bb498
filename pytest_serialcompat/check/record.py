"""Record goldens for the running interpreter (``--serialcompat-update``).

Only files named after the running interpreter are ever produced, plus that
interpreter's own manifest.  Before a file is written its bytes are loaded back
(as replay reads them) and compared with the object: one that would not replay
equal -- a ``__reduce__`` that drops an attribute, a ``__setstate__`` that
rebuilds something else -- is not written, and the test fails saying why.  A file is rewritten only when it is new or
*changed*: bytes that differ but still replay equal (a set pickled in another
hash order) are kept, so re-running an update does not churn the repository.
Nothing is written here: the result is a list of store requests that the
writer (the single process, or the xdist controller) carries out.
"""

import hashlib
from typing import Dict, List, Optional

from .. import __version__, distributions
from . import safety
from .plan import EncodeFailure, contains_code
from ..diagnosis.values import type_name
from ..results import (
    FAILED, JSON, MANIFEST, MARSHAL, NOT_RECORDED, CHECKED, PICKLE, RECORDED, WRITE, GoldenResult,
    StoreRequest,
)
from ..store import GoldenFile, StoreError, golden_filename, manifest
from ..store.generations import PROJECT_VERSION
from .generations import freeze_before_rewrite


def manifest_entry(ctx, fmt: str, protocol: Optional[int], data: bytes) -> Dict[str, object]:
    entry: Dict[str, object] = {
        "format": fmt,
        "protocol": protocol,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "type": type_name(ctx.obj),
    }
    if fmt == PICKLE:
        try:
            analysis = safety.analyze(data, ())
            entry["globals"] = manifest.encode_globals(analysis.globals)
            # the libraries whose data this is, at the versions that wrote it
            entry["libraries"] = distributions.libraries_named(
                analysis.globals, ctx.state.project_names())
        except Exception as exc:  # recorded anyway; the replay gate analyzes again
            entry["globals"] = None
            entry["analysis_error"] = "%s: %s" % (type(exc).__name__, exc)
    elif fmt == MARSHAL:
        entry["contains_code"] = contains_code(ctx.obj)
    elif fmt == JSON:
        entry["codec"] = ctx.fresh.codec.name if ctx.fresh.codec else None
    return entry


def manifest_header(ctx) -> Dict[str, object]:
    header = dict(ctx.interpreter.to_manifest())
    header["plugin_version"] = __version__
    header["recorded_by"] = ctx.nodeid
    if ctx.state.settings.project_version:
        header[PROJECT_VERSION] = ctx.state.settings.project_version
    return header


def record(ctx, replayer) -> List[GoldenResult]:
    """Record every planned golden of ``ctx`` for the running interpreter."""
    results: List[GoldenResult] = []
    tag = ctx.interpreter.tag
    try:
        current_manifest = ctx.store.manifest(ctx.name, tag) or {}
    except StoreError:
        current_manifest = {}
    known = current_manifest.get("goldens", {})
    entries: Dict[str, object] = {}
    for item in ctx.plan.items:
        try:
            data = ctx.fresh.get(item.format, item.protocol)
        except EncodeFailure:
            continue  # reported as (e) by the caller
        filename = golden_filename(item.format, item.protocol, tag)
        golden = GoldenFile(ctx.name, item.format, item.protocol, tag, filename)
        existing = ctx.store.read_if_exists(golden.relpath)
        if existing is not None and (existing == data or replayer.passes(golden)):
            # up to date; make sure the manifest describes the bytes that stay
            # (and rewrite a version-1 entry: its globals become [module, qualname] pairs)
            old_entry = known.get(filename, {})
            if old_entry.get("sha256") != hashlib.sha256(existing).hexdigest() \
                    or not manifest.is_current(old_entry):
                entries[filename] = manifest_entry(ctx, item.format, item.protocol, existing)
                if old_entry.get(PROJECT_VERSION):  # the bytes stay: so does who wrote them
                    entries[filename][PROJECT_VERSION] = old_entry[PROJECT_VERSION]
            results.append(GoldenResult(ctx.name, item.format, item.protocol, tag, golden.relpath,
                                        CHECKED, nodeid=ctx.nodeid, detail="unchanged"))
            continue
        problem = replayer.self_check(item.format, item.protocol, data)
        if problem is not None:  # a golden that would not replay equal is never written
            results.append(GoldenResult(ctx.name, item.format, item.protocol, tag, golden.relpath,
                                        FAILED, NOT_RECORDED, problem[0], problem[1], ctx.nodeid))
            continue
        if existing is not None:  # another release's golden goes to its generation first
            problem = freeze_before_rewrite(ctx, golden, known.get(filename), current_manifest)
            if problem is not None:
                results.append(GoldenResult(ctx.name, item.format, item.protocol, tag,
                                            golden.relpath, FAILED, NOT_RECORDED, problem[0],
                                            problem[1], ctx.nodeid))
                continue
        ctx.request(StoreRequest(WRITE, golden.relpath, data,
                                 reason="new" if existing is None else "changed"))
        entries[filename] = manifest_entry(ctx, item.format, item.protocol, data)
        if ctx.state.settings.project_version:
            entries[filename][PROJECT_VERSION] = ctx.state.settings.project_version
        results.append(GoldenResult(ctx.name, item.format, item.protocol, tag, golden.relpath,
                                    RECORDED, nodeid=ctx.nodeid,
                                    detail="new" if existing is None else "changed"))
    if entries:
        ctx.request(StoreRequest(MANIFEST, sample=ctx.name, interpreter=tag,
                                 header=manifest_header(ctx), entries=entries))
    return results

"""Replay one golden: integrity, then the format's own replay, then one result.

Every golden first has its sha256 checked against its producer's manifest
(integrity); a golden whose bytes already passed in this check (the same bytes
from another producer) passes again.  Then the format decides:
:mod:`.replay_pickle` (set order, the safety gate, imports, load, object graphs),
:mod:`.replay_marshal` (code objects of other versions), :mod:`.replay_json`
(canonical form, the codec).  Each step can end the replay with one diagnosis
(:class:`.outcome.ReplayEnded`); a failed golden gets its ``.obtained`` file.
"""

import hashlib
import json
import marshal
import operator
import os
import pickle
from typing import Callable, Dict, List, NamedTuple, Optional, Set, Tuple

from .. import distributions
from ..diagnosis import messages as diagnosis
from ..results import (
    CHECKED, CORRUPT, DELETE, FAILED, INTEGRITY, JSON, MARSHAL, NOT_EQUAL, PICKLE, WRITE,
    GoldenResult, StoreRequest,
)
from ..store import GoldenFile, StoreError, manifest_filename, obtained_filename
from ..store import manifest as manifest_schema
from . import graph_compare, replay_json, replay_marshal, replay_pickle, safety
from .outcome import UNSET, ReplayEnded, fail as _fail
from .plan import EncodeFailure

_exc_text = safety.exc_text


EQ = "eq"  # compare="eq": plain ==, where a user wants it


class Compared(NamedTuple):
    """The verdict on one loaded golden: differences by path, and why when no path says it."""

    ok: bool
    outcome: graph_compare.Outcome
    detail: Optional[str] = None

    def shape(self) -> List[str]:
        return self.outcome.of_kind(graph_compare.SHAPE)


class Comparison:
    """How a loaded golden is compared with the current object.

    By default, object graph against object graph (:mod:`.graph_compare`).
    ``compare=`` (a callable, or ``"eq"`` for ``==``) decides for the whole
    object; a ``pytest_serialcompat_comparator`` hook (``comparator_for``)
    decides for the instances of the classes it covers, wherever they are.
    Either way the engine's differences are what the diagnosis shows.
    """

    def __init__(self, compare=None, comparator_for: Optional[Callable] = None):
        if isinstance(compare, str) and compare != EQ:
            raise ValueError("compare= takes a callable or %r, not %r" % (EQ, compare))
        self.compare = compare
        self.comparator_for = comparator_for

    def check(self, loaded, current, protocol: int = pickle.DEFAULT_PROTOCOL) -> Compared:
        root = self.compare
        if root is None and self.comparator_for is not None:
            root = self.comparator_for(type(current))
        if root is None:
            outcome = graph_compare.compare(loaded, current, protocol=protocol,
                                            comparator_for=self.comparator_for)
            return Compared(outcome.same, outcome)
        ok, detail = graph_compare.guarded(operator.eq if root == EQ else root, loaded, current)
        if ok:
            return Compared(True, graph_compare.SAME)
        if detail is None:
            detail = "== is False" if root == EQ else "the comparator returned False"
        elif not detail.startswith("comparator"):
            detail = "comparison " + detail
        return Compared(False, graph_compare.compare(loaded, current, protocol=protocol,
                                                     comparator_for=self.comparator_for), detail)


class Replayer:
    """Replays the goldens of one check() call.

    ``ctx`` is the check's :class:`.run.CheckContext`; the gate and the verdict cache
    are handed in, so a reader can follow a golden from here into the gate.  One
    function per format does the format's part (:mod:`.replay_pickle`,
    :mod:`.replay_marshal`, :mod:`.replay_json`).
    """

    def __init__(self, ctx, gate, verdicts):
        self.ctx = ctx
        self.gate = gate          # the safety gate (check.safety.Gate) of this run
        self.verdicts = verdicts  # its verdicts on golden bytes (check.verdict_cache)
        self._manifests: Dict[str, Optional[dict]] = {}
        self._fresh_analysis: Dict[int, object] = {}
        self._trust: Dict[int, tuple] = {}  # protocol -> (trust mapping, its hashable key)
        self._fresh_digests: Dict[int, str] = {}  # protocol -> sha256 of the current pickle
        self._pristine = UNSET
        self.sha256 = ""
        # (format, protocol, sha256) of goldens that passed: the same bytes from another
        # producer (a matrix store holds many) load to the same object, so they pass too
        self._passed: Set[Tuple[str, Optional[int], str]] = set()
        self.names = None  # file names in the sample folder, when the caller listed it
        self._obtained: Dict[str, frozenset] = {}  # folder -> names of its .obtained files

    # -------------------------------------------------------------- driver
    def replay(self, golden: GoldenFile) -> GoldenResult:
        ctx = self.ctx
        try:
            data = ctx.store.read(golden.relpath)
            self._check_integrity(golden, data)
            self._replay_bytes(golden, data)
        except ReplayEnded as ended:
            message = ended.message
            if ended.status == FAILED:
                message = self._with_library_versions(golden, message)
            result = GoldenResult(ctx.name, golden.format, golden.protocol, golden.interpreter,
                                  golden.relpath, ended.status, ended.kind, message,
                                  ended.fix, ctx.nodeid, self._library_detail(golden))
            if ended.status == FAILED:
                self._write_obtained(golden)
            return result
        except OSError as exc:
            return GoldenResult(ctx.name, golden.format, golden.protocol, golden.interpreter,
                                golden.relpath, FAILED, CORRUPT, "cannot read the golden: %s"
                                % _exc_text(exc), None, ctx.nodeid)
        self._clear_obtained(golden)
        return GoldenResult(ctx.name, golden.format, golden.protocol, golden.interpreter,
                            golden.relpath, CHECKED, nodeid=ctx.nodeid,
                            detail=self._library_detail(golden))

    def passes(self, golden: GoldenFile) -> bool:
        """Whether the golden replays cleanly (no side effects; used by recording)."""
        try:
            data = self.ctx.store.read(golden.relpath)
            self._check_integrity(golden, data)
            self._replay_bytes(golden, data)
        except (ReplayEnded, OSError):
            return False
        return True

    def self_check(self, fmt: str, protocol: Optional[int], data: bytes
                   ) -> Optional[Tuple[str, Optional[str]]]:
        """(message, fix) when ``data``, read back as replay reads it, is not the object.

        Used by recording before it writes a golden.  The reader is the one replay
        uses once the gate has passed a golden (the gate resolves names; it builds
        the same objects).
        """
        ctx = self.ctx
        try:
            loaded = SELF_CHECK_READERS[fmt](self, data)
        except Exception as exc:
            return diagnosis.not_recorded([], "loading it raised %s" % _exc_text(exc))
        reduce_protocol = max(protocol or 2, 2) if fmt == PICKLE else pickle.DEFAULT_PROTOCOL
        compared = ctx.comparison.check(loaded, ctx.obj, reduce_protocol)
        if compared.ok:
            return None
        return diagnosis.not_recorded(compared.outcome.lines(), compared.detail)

    def _replay_bytes(self, golden: GoldenFile, data: bytes) -> None:
        """Gate, load and compare verified bytes; raises ReplayEnded unless they pass."""
        key = (golden.format, golden.protocol, self.sha256)
        if key in self._passed:
            return
        REPLAYERS[golden.format](self, golden, data)
        if golden.format in _PRODUCER_NEUTRAL:
            self._passed.add(key)

    # --------------------------------------------------------- shared steps
    def manifest(self, interpreter: str) -> Optional[dict]:
        if interpreter not in self._manifests:
            try:
                self._manifests[interpreter] = self.ctx.store.manifest(self.ctx.name, interpreter)
            except StoreError as exc:
                raise _fail(INTEGRITY, *diagnosis.integrity(str(exc), interpreter))
        return self._manifests[interpreter]

    def entry(self, golden: GoldenFile) -> dict:
        manifest = self.manifest(golden.interpreter)
        if manifest is None:
            raise _fail(INTEGRITY, *diagnosis.integrity(
                "the manifest %s is missing, so nothing vouches for %s"
                % (self.ctx.store.display("%s/%s" % (golden.name, manifest_filename(
                    golden.interpreter))), golden.filename), golden.interpreter))
        entry = manifest.get("goldens", {}).get(golden.filename)
        if not isinstance(entry, dict):
            raise _fail(INTEGRITY, *diagnosis.integrity(
                "%s has no entry in the manifest %s.manifest.json" % (golden.filename, golden.interpreter),
                golden.interpreter))
        return entry

    def _check_integrity(self, golden: GoldenFile, data: bytes) -> None:
        entry = self.entry(golden)
        digest = hashlib.sha256(data).hexdigest()
        self.sha256 = digest
        if entry.get("sha256") != digest:
            raise _fail(INTEGRITY, *diagnosis.integrity(
                "sha256 %s does not match the manifest's %s (the file changed after it was recorded)"
                % (digest[:16], str(entry.get("sha256"))[:16]), golden.interpreter))

    def library_changes(self, golden: GoldenFile) -> List[distributions.VersionChange]:
        """The libraries the golden's manifest entry names whose version differs here."""
        try:
            entry = self.entry(golden)
        except ReplayEnded:
            return []
        if not entry.get("libraries"):
            return []  # no library's data (most goldens)
        return distributions.version_changes(manifest_schema.libraries(entry))

    def _library_detail(self, golden: GoldenFile) -> str:
        """A replay result's detail: the library versions it crossed, "" when none (the
        matrix names them in its cells)."""
        changes = self.library_changes(golden)
        return distributions.describe(changes) if changes else ""

    def _with_library_versions(self, golden: GoldenFile, message: str) -> str:
        changes = self.library_changes(golden)
        if not changes or "recorded with " in message:
            return message
        text = distributions.describe(changes)
        return "%s\n%s." % (message, text[0].upper() + text[1:])

    def fresh_bytes(self, fmt: str, protocol) -> Optional[bytes]:
        try:
            return self.ctx.fresh.get(fmt, protocol)
        except EncodeFailure:
            return None  # reported once per check as (e)

    def _write_obtained(self, golden: GoldenFile) -> None:
        protocol = golden.protocol
        if golden.format == PICKLE and protocol is not None and protocol > pickle.HIGHEST_PROTOCOL:
            return
        if golden.format == MARSHAL:
            protocol = min(protocol or marshal.version, marshal.version)
        data = self.fresh_bytes(golden.format, protocol)
        if data is not None:
            self.ctx.request(StoreRequest(WRITE, self._obtained_relpath(golden), data,
                                          reason="obtained"))

    def _obtained_relpath(self, golden: GoldenFile) -> str:
        return "%s/%s" % (golden.name, obtained_filename(golden.filename, self.ctx.interpreter.tag))

    def _clear_obtained(self, golden: GoldenFile) -> None:
        relpath = self._obtained_relpath(golden)
        folder, filename = relpath.rsplit("/", 1)
        if self.ctx.store.obtained_root is None and self.names is not None:
            present = filename in self.names
        else:
            present = filename in self._obtained_names(folder)
        if present:
            self.ctx.request(StoreRequest(DELETE, relpath, reason="obtained"))

    def _obtained_names(self, folder: str) -> frozenset:
        """The file names in one sample's ``.obtained`` folder: listed once per check (one
        call, where a check of many goldens would ask for each file)."""
        names = self._obtained.get(folder)
        if names is None:
            try:
                names = frozenset(os.listdir(str(self.ctx.store.obtained_path(folder))))
            except OSError:  # no such folder (nothing failed there), or not a folder
                names = frozenset()
            self._obtained[folder] = names
        return names

    def compare(self, loaded, golden: GoldenFile, protocol: int = pickle.DEFAULT_PROTOCOL,
                 current=UNSET) -> Compared:
        """Raise (c) unless ``loaded`` is the same as the current object."""
        ctx = self.ctx
        compared = ctx.comparison.check(loaded, ctx.obj if current is UNSET else current,
                                        protocol)
        if not compared.ok:
            raise _fail(NOT_EQUAL, *diagnosis.not_equal(
                compared.outcome.lines(), compared.detail, golden.interpreter))
        return compared

    # -------------------------------------------------------------- marshal


# Formats whose replay outcome depends on the bytes alone, not on which interpreter wrote
# them (a marshal golden holding code is skipped when another version wrote it).
_PRODUCER_NEUTRAL = frozenset((PICKLE, JSON))

REPLAYERS = {
    PICKLE: replay_pickle.replay_pickle,
    MARSHAL: replay_marshal.replay_marshal,
    JSON: replay_json.replay_json,
}


SELF_CHECK_READERS = {
    PICKLE: lambda replayer, data: pickle.loads(data),
    MARSHAL: lambda replayer, data: marshal.loads(data),
    JSON: lambda replayer, data: replayer.ctx.fresh.codec.from_json(json.loads(data.decode("utf-8"))),
}

"""Per-run state: what checks produced, and -- in the writer only -- carrying out store requests.

The *writer* is the single pytest process, or the pytest-xdist controller.
Workers only collect records per test item; the records travel on the test
report (``report.serialcompat_records``) and the writer applies them in
``pytest_runtest_logreport``, one report at a time, so no two processes ever
write the store.
"""

import base64
import collections
import os
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from . import environment, project
from .results import (
    DELETE, FAILED, MANIFEST, WRITE, Ask, GoldenResult, Records, StoreRequest, UNUSED,
)
from .safety import Gate
from .store import GoldenFile, Store, StoreError, is_obtained_for
from .verdict_cache import VerdictCache

REPORT_ATTRIBUTE = "serialcompat_records"


def _encode_request(request: StoreRequest) -> dict:
    wire = request.to_wire()
    wire["data"] = base64.b64encode(request.data).decode("ascii")
    return wire


def _decode_request(wire: dict) -> StoreRequest:
    wire = dict(wire)
    wire["data"] = base64.b64decode(wire["data"])
    return StoreRequest.from_wire(wire)


def records_to_wire(records: Records) -> dict:
    return {
        "results": [r.to_wire() for r in records.results],
        "asks": [a.to_wire() for a in records.asks],
        "requests": [_encode_request(q) for q in records.requests],
    }


def records_from_wire(wire: dict) -> Records:
    return Records(
        [GoldenResult.from_wire(r) for r in wire.get("results", ())],
        [Ask.from_wire(a) for a in wire.get("asks", ())],
        [_decode_request(q) for q in wire.get("requests", ())],
    )


def explicit_paths_reason(config) -> Optional[str]:
    """Why the paths or node ids given on the command line cover less than the whole suite."""
    rootpath = Path(str(config.rootpath)).resolve()
    kind = getattr(getattr(config, "args_source", None), "name", None)
    invocation = Path(str(config.invocation_params.dir)).resolve()
    if kind == "TESTPATHS":
        return None
    if kind == "INVOCATION_DIR":
        return None if invocation == rootpath else "run from %s" % invocation
    testpaths = {(rootpath / p).resolve() for p in config.getini("testpaths")}
    for arg in config.args:
        if "::" in arg:
            return "node id %s" % arg
        path = (invocation / arg).resolve()
        if path != rootpath and path not in testpaths:
            return "path %s" % arg
    return None


def partial_run_reason(config) -> Optional[str]:
    """Why this run does not cover the whole test suite (None for a full run)."""
    option = config.option
    if getattr(option, "keyword", ""):
        return "-k %s" % option.keyword
    if getattr(option, "markexpr", ""):
        return "-m %s" % option.markexpr
    if getattr(option, "lf", False):
        return "--lf"
    if getattr(option, "deselect", None):
        return "--deselect"
    if getattr(option, "stepwise", False) or getattr(option, "stepwise_skip", False):
        return "--stepwise"
    return explicit_paths_reason(config)


class SessionState:
    def __init__(self, config, settings):
        self.config = config
        self.settings = settings
        self.store = Store(settings.store_dir)
        self.interpreter = environment.CURRENT
        self.rootdir = Path(str(config.rootpath))
        self.is_writer = not hasattr(config, "workerinput")
        self.test_modules: Set[str] = set()
        self.sample_modules: Set[str] = set()
        self._allow_prefixes: Optional[Tuple[str, ...]] = None
        self._comparators: Dict[type, object] = {}
        # per item, in this process
        self.pending: Dict[str, Records] = {}
        self.names: Dict[str, str] = {}
        self.unnamed: Dict[str, int] = collections.Counter()
        # writer aggregates
        self.results: List[GoldenResult] = []
        self.asks: List[Ask] = []
        self.written: List[Tuple[str, str]] = []       # (display path, reason)
        self.write_errors: List[str] = []
        self.collected: Set[str] = set()
        self.completed: Set[str] = set()
        self.failed_items: Set[str] = set()
        self.unused: List[GoldenFile] = []
        self.pruned: List[str] = []
        self.prune_refused: Optional[str] = None
        self.partial: Optional[str] = None
        self.duplicates: Dict[str, Set[str]] = collections.defaultdict(set)
        self._owners: Dict[str, str] = {}
        self.report_written = None
        self.verdicts = VerdictCache(config)
        self.gate = Gate(self.settings.renames)    # decisions and resolved globals, this run

    def add_sample_module(self, module: str) -> None:
        top = module.split(".", 1)[0]
        if top not in self.sample_modules:
            self.sample_modules.add(top)
            self._allow_prefixes = None

    # ------------------------------------------------------------- gate data
    @property
    def allow_prefixes(self) -> Tuple[str, ...]:
        if self._allow_prefixes is None:
            names = set(self.settings.allow)
            names |= project.top_level_names(self.rootdir)
            names |= self.test_modules
            names |= self.sample_modules
            names.discard("__main__")
            self._allow_prefixes = tuple(sorted(names))
        return self._allow_prefixes

    def add_project_modules(self, modules) -> None:
        new = project.modules_top_levels(modules) - self.test_modules
        if new:
            self.test_modules |= new
            self._allow_prefixes = None

    def comparator_for(self, cls):
        if cls not in self._comparators:
            self._comparators[cls] = self.config.hook.pytest_serialcompat_comparator(
                config=self.config, cls=cls)
        return self._comparators[cls]

    def codec_hook(self, cls):
        return self.config.hook.pytest_serialcompat_json_codec(config=self.config, cls=cls)

    # ----------------------------------------------------------------- names
    def claim_name(self, name: str, nodeid: str) -> Optional[str]:
        """Register that ``nodeid`` uses ``name``; returns the other test when already taken."""
        owner = self.names.setdefault(name, nodeid)
        return None if owner == nodeid else owner

    def next_unnamed(self, nodeid: str) -> int:
        self.unnamed[nodeid] += 1
        return self.unnamed[nodeid]

    # --------------------------------------------------------------- records
    def add(self, nodeid: str, results=(), asks=(), requests=()) -> None:
        records = self.pending.setdefault(nodeid, Records([], [], []))
        records.results.extend(results)
        records.asks.extend(asks)
        records.requests.extend(requests)

    def drain(self, nodeid: str) -> Optional[dict]:
        records = self.pending.pop(nodeid, None)
        if records is None:
            return None
        wire = records_to_wire(records)
        if not self.is_writer:
            wire["verdicts"] = self.verdicts.wire()
        return wire

    def consume(self, report) -> None:
        """Writer side: apply the records attached to one test report."""
        if report.when == "call" and report.passed:
            self.completed.add(report.nodeid)
        if report.failed:
            self.failed_items.add(report.nodeid)
        wire = getattr(report, REPORT_ATTRIBUTE, None)
        if not wire:
            return
        records = records_from_wire(wire)
        self.verdicts.merge(wire.get("verdicts") or {})
        # the bytes are written now; keep the report light (terminal stats hold every report)
        setattr(report, REPORT_ATTRIBUTE, {"results": wire.get("results", []),
                                          "asks": wire.get("asks", []), "requests": []})
        self.results.extend(records.results)
        self.asks.extend(records.asks)
        for request in records.requests:
            if request.op == WRITE and not request.reason == "obtained":
                owner = self._owners.setdefault(request.path, report.nodeid)
                if owner != report.nodeid:
                    self.duplicates[request.path].update((owner, report.nodeid))
            try:
                written = self.store.apply(request)
            except (OSError, StoreError) as exc:
                self.write_errors.append("%s: %s" % (request.path or request.sample, exc))
                continue
            if written is not None and request.op == WRITE:
                self.written.append((written, request.reason))
            elif written is not None and request.op == MANIFEST:
                self.written.append((written, "manifest"))
            elif written is not None and request.op == DELETE and request.reason != "obtained":
                self.written.append((written, "deleted"))

    # ---------------------------------------------------------------- finish
    def _owners_of(self, name: str, interpreters) -> Set[str]:
        owners = set()
        for interp in interpreters:
            try:
                manifest = self.store.manifest(name, interp)
            except StoreError:
                continue
            if manifest and isinstance(manifest.get("recorded_by"), str):
                owners.add(manifest["recorded_by"])
        return owners

    def find_unused(self) -> List[GoldenFile]:
        asks = collections.defaultdict(list)
        for ask in self.asks:
            asks[ask.name].append(ask)
        full = self.partial is None
        unused = []
        for name in self.store.samples():
            goldens = self.store.goldens(name)
            if not goldens:
                continue
            owners = None
            for golden in goldens:
                if any(a.matches(golden.format, golden.protocol) for a in asks[name]):
                    continue
                if owners is None:
                    owners = self._owners_of(name, {g.interpreter for g in goldens})
                if asks[name] or owners & self.completed:
                    unused.append(golden)   # its test ran and did not ask for it
                elif full and not owners & self.collected:
                    unused.append(golden)   # no collected test owns it
        return unused

    def finish(self, exitstatus) -> None:
        if not (self.is_writer and self.settings.active):
            return
        try:
            self.verdicts.save()
        except OSError as exc:
            self.write_errors.append("verdict cache: %s" % exc)
        self.partial = partial_run_reason(self.config)
        try:
            self.unused = self.find_unused()
        except OSError as exc:
            self.write_errors.append("listing the store: %s" % exc)
            return
        self.results.extend(
            GoldenResult(g.name, g.format, g.protocol, g.interpreter, g.relpath, UNUSED)
            for g in self.unused
        )
        if self.settings.prune:
            self._prune(exitstatus)

    def _obtained_of(self, golden: GoldenFile) -> List[str]:
        """The obtained files of a golden, from every replaying interpreter."""
        try:
            names = os.listdir(str(self.store.folder(golden.name)))
        except OSError:
            return []
        return ["%s/%s" % (golden.name, n) for n in sorted(names)
                if is_obtained_for(n, golden.filename)]

    def _prune(self, exitstatus) -> None:
        if self.partial is not None:
            self.prune_refused = "partial run (%s): unused goldens are only reported" % self.partial
            return
        failed = [r for r in self.results if r.status == FAILED]
        if self.failed_items or failed or int(exitstatus) != 0:
            self.prune_refused = "the run had failures: unused goldens are only reported"
            return
        by_manifest = collections.defaultdict(dict)
        for golden in self.unused:
            for relpath in [golden.relpath] + self._obtained_of(golden):
                try:
                    deleted = self.store.apply(StoreRequest(DELETE, relpath))
                except OSError as exc:
                    self.write_errors.append("%s: %s" % (relpath, exc))
                    continue
                if deleted is not None:
                    self.pruned.append(deleted)
            by_manifest[(golden.name, golden.interpreter)][golden.filename] = None
        for (name, interp), entries in sorted(by_manifest.items()):
            try:
                self.store.apply(StoreRequest(MANIFEST, sample=name, interpreter=interp,
                                              entries=entries))
            except (OSError, StoreError) as exc:
                self.write_errors.append("%s manifest %s: %s" % (name, interp, exc))
        for name in sorted({golden.name for golden in self.unused}, reverse=True):
            self.store.remove_empty_folders(name)

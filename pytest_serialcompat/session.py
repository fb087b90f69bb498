"""Per-run state: what checks produced, and -- in the writer only -- carrying out store requests.

The *writer* is the single pytest process, or the pytest-xdist controller.
Workers only collect records per test item; the records travel on the test
report (``report.serialcompat_records``) and the writer applies them in
``pytest_runtest_logreport``, one report at a time, so no two processes ever
write the store.
"""

import base64
import collections
import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from . import environment, project
from .ownership import Collection
from .results import (
    DELETE, MANIFEST, WRITE, Ask, GoldenResult, Records, StoreRequest, UNUSED,
)
from .check.safety import Gate
from .store import GoldenFile, Store, StoreError
from .store.walk import StoreWalk
from .check.verdict_cache import VerdictCache

REPORT_ATTRIBUTE = "serialcompat_records"


def _encode_request(request: StoreRequest) -> dict:
    wire = request.to_wire()
    wire["data"] = base64.b64encode(request.data).decode("ascii")
    return wire


def _decode_request(wire: dict) -> StoreRequest:
    wire = dict(wire)
    wire["data"] = base64.b64decode(wire["data"])
    return StoreRequest.from_wire(wire)


# The wire form of one item's records is one JSON text, and each result or ask in it is a
# row (its fields in order), not a mapping: pytest-xdist sends a report's attributes with
# execnet's pure-Python serializer, which costs per object -- ten results as mappings were
# some 250 strings per report, more than the report itself, to encode in the worker and
# decode again in the controller.  One string is one object; the JSON codec is C on both
# sides.  (Plain JSON-able data, as pytest-reportlog needs.)


def records_to_wire(records: Records, verdicts: Optional[dict] = None) -> str:
    wire = {"results": [r.to_wire() for r in records.results],
            "asks": [a.to_wire() for a in records.asks]}
    if records.requests:
        wire["requests"] = [_encode_request(q) for q in records.requests]
    if verdicts:
        wire["verdicts"] = verdicts
    return json.dumps(wire, separators=(",", ":"))


def _parse_wire(wire) -> dict:
    data = json.loads(wire) if isinstance(wire, str) else wire
    return data if isinstance(data, dict) else {}


def records_from_wire(wire) -> Records:
    data = _parse_wire(wire)
    return Records(
        [GoldenResult.from_wire(row) for row in data.get("results", ())],
        [Ask.from_wire(row) for row in data.get("asks", ())],
        [_decode_request(q) for q in data.get("requests", ())],
    )


def _folder_version(path: str) -> Optional[Tuple[int, int]]:
    """What changes when an entry of the folder is added, removed or renamed."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_mtime_ns, found.st_nlink


class SessionState:
    def __init__(self, config, settings):
        self.config = config
        self.settings = settings
        self.store = Store(settings.store_dir, settings.obtained_dir)
        self.interpreter = environment.CURRENT
        self.rootdir = Path(str(config.rootpath))
        self.is_writer = not hasattr(config, "workerinput")
        self.test_modules: Set[str] = set()
        self.sample_modules: Set[str] = set()
        self._allow_prefixes: Optional[Tuple[str, ...]] = None
        self._project_names: Optional[Tuple[tuple, Set[str]]] = None  # (fingerprint, names)
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
        self.collection = Collection()
        self.completed: Set[str] = set()
        self.failed_items: Set[str] = set()
        self.unused: List[GoldenFile] = []
        self.walked: Optional[StoreWalk] = None      # the store as the end of the run saw it
        self.unchecked_releases: List[str] = []     # frozen generations no check of this run replayed
        self.pruned: List[str] = []
        self.prune_refused: Optional[str] = None
        self.stale_temp_files: List[str] = []       # left by killed writes, still in the store
        self._swept: Set[str] = set()                # sample folders cleared of our leftovers
        self.partial: Optional[str] = None
        self.duplicates: Dict[str, Set[str]] = collections.defaultdict(set)
        self._owners: Dict[str, str] = {}
        self.report_written = None
        self.verdicts = VerdictCache(config, settings.bounds)
        self.gate = Gate(self.settings.renames, project.top_level_scripts(self.rootdir))  # this run

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
            names |= self.project_names()
            names |= self.test_modules
            names |= self.sample_modules
            names.discard("__main__")
            self._allow_prefixes = tuple(sorted(names))
        return self._allow_prefixes

    def project_names(self) -> Set[str]:
        """The project's own top-level packages (:func:`.project.top_level_names`), listed again
        only when a source root's folder changed (an entry added, removed or renamed there;
        not a package folder's own ``__init__.py`` appearing later): recording asks for them
        once per golden, the gate once per run."""
        fingerprint = tuple(_folder_version(str(self.rootdir / sub)) for sub in project.SOURCE_ROOTS)
        known = self._project_names
        if known is None or known[0] != fingerprint:
            known = self._project_names = (fingerprint, project.top_level_names(self.rootdir))
        return set(known[1])

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

    def drain(self, nodeid: str) -> Optional[str]:
        records = self.pending.pop(nodeid, None)
        if records is None:
            return None
        return records_to_wire(records, None if self.is_writer else self.verdicts.wire())

    def consume(self, report) -> None:
        """Writer side: apply the records attached to one test report."""
        if report.when == "call" and report.passed:
            self.completed.add(report.nodeid)
        if report.failed:
            self.failed_items.add(report.nodeid)
        wire = getattr(report, REPORT_ATTRIBUTE, None)
        if not wire:
            return
        data = _parse_wire(wire)
        records = records_from_wire(data)
        self.verdicts.merge(data.get("verdicts") or {})
        if data.get("requests") or data.get("verdicts"):
            # the bytes are written now; keep the report light (terminal stats hold every report)
            setattr(report, REPORT_ATTRIBUTE, json.dumps(
                {"results": data.get("results", []), "asks": data.get("asks", [])},
                separators=(",", ":")))
        self.results.extend(records.results)
        self.asks.extend(records.asks)
        for request in records.requests:
            if request.op in (WRITE, MANIFEST) and request.reason != "obtained":
                self._sweep(request.sample or request.path.rsplit("/", 1)[0])
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

    def _sweep(self, name: str) -> None:
        """Before the first write into a sample folder: remove what our killed writes left there."""
        if name in self._swept:
            return
        self._swept.add(name)
        try:
            removed = self.store.remove_leftovers(name, self.interpreter.tag)
        except OSError as exc:
            self.write_errors.append("%s: %s" % (name, exc))
            return
        self.written.extend((path, "removed: left by an interrupted update") for path in removed)

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

    def walk_store(self) -> StoreWalk:
        """The one walk of the store this session makes, at its end (shared by the unused
        goldens, the releases no check replayed, and prune)."""
        if self.walked is None:
            self.walked = self.store.walk()
        return self.walked

    def find_unused(self) -> List[GoldenFile]:
        asks = collections.defaultdict(list)
        for ask in self.asks:
            asks[ask.name].append(ask)
        full = self.partial is None
        unused = []
        walked = self.walk_store()
        self.stale_temp_files = walked.leftovers
        for name in walked.samples:
            goldens = walked.goldens(name)
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
                elif full and not owners & self.collection.collected:
                    unused.append(golden)   # no collected test owns it
        return unused

    def finish(self, exitstatus) -> None:
        if not (self.is_writer and self.settings.active):
            return
        try:
            self.verdicts.save()
        except OSError as exc:
            self.write_errors.append("verdict cache: %s" % exc)
        self.partial = self.collection.partial_reason(self.config)
        try:
            self.unused = self.find_unused()
        except OSError as exc:
            self.write_errors.append("listing the store: %s" % exc)
            return
        self.results.extend(
            GoldenResult(g.name, g.format, g.protocol, g.interpreter, g.relpath, UNUSED)
            for g in self.unused
        )
        if self.partial is None:
            asked = {ask.name for ask in self.asks}
            self.unchecked_releases = [g.folder for g in self.walk_store().generations
                                       if g.sample not in asked]
        if self.settings.prune:
            self._prune(exitstatus)

    def _prune(self, exitstatus) -> None:
        from . import prune

        self.prune_refused = prune.refusal(self, exitstatus)
        if self.prune_refused is None:
            prune.run(self)

"""Remember the analyzer's verdict on golden bytes, so unchanged goldens are analyzed once.

The reference analyzer is pure Python; loading a golden with the C unpickler
is much faster.  A verdict depends only on the exact bytes, the allow-list
and the analyzer itself, so it is cached under the sha256 of the bytes in a
namespace derived from (plugin version, analyzer + allow-list sources, the
allowed prefixes).  Any change to those starts a fresh namespace.

Where: pytest's cache directory (``.pytest_cache``), which is local to the
machine and normally never committed -- a golden arriving in a pull request has
never been analyzed there, so it is analyzed before it is loaded; a fresh CI
checkout analyzes everything.  A cache file that *is* committed (``git add -f``)
could name any verdict, so the namespace also digests a random key of this
machine's user, kept outside the project (``$XDG_CACHE_HOME/pytest-serialcompat/
verdict-key``, mode 0600, made on first use): a file written elsewhere has
another namespace and is not read.  When that key cannot be kept, each run makes
its own (verdicts are then shared only within the run).  Without the cache provider (``-p
no:cacheprovider``) verdicts are only shared within the run (identical
goldens from several interpreters are analyzed once).

On a hit the guarded unpickler still resolves only the cached, verified
globals.

Beside the verdicts, the same file keeps the analyses of the *current* objects'
own pickles (``trust``: the globals each names and how it uses them, what the
gate's trust is made of), under the sha256 of those bytes: a warm run that
pickles the same objects to the same bytes does not analyze them again.  And
the set-order proofs (``orders``: the sha256 of a golden -> the sha256 of the
current pickle it was proven against, :mod:`.set_order`): a warm run under the
same hash seed passes such a golden without proving it again.

Only the writer (single process / xdist controller) saves the file; workers send the verdicts they computed along with their records.

The file holds one section per namespace, the most recent first, at most
:data:`MAX_SPACES` of them and :data:`MAX_ENTRIES` entries in all: the collected test
modules are allow words too, so ``pytest tests/test_a.py``, then ``pytest tests/test_b.py``,
then the whole suite are three namespaces, and each finds its verdicts again.  A section
keeps each distinct entry once (``facts``); ``verdicts`` and ``trust`` map a
sha256 to its index there.  The goldens of one class at one protocol have one entry
between them, so a store of thousands of goldens loads a few entries, not thousands
(1,000 goldens of the benchmark: 2.4 MB of JSON read in 23 ms before, 0.1 MB now).
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .. import __version__

CACHE_KEY = "serialcompat/verdicts"
_PROTO = b"\x80"
_TWINS = (b"\x04", b"\x05")  # PROTO arguments the analyzer reads alike (see _twin_of)
FORMAT = 3        # the file's layout: a file of another layout is not read (a fresh start)
MAX_ENTRIES = 50000
MAX_SPACES = 4    # namespaces the file keeps, most recent first (see save)

_PACKAGE = Path(__file__).resolve().parent.parent
# the code a remembered verdict or set-order proof comes from: a change to it starts afresh
SOURCES = tuple(_PACKAGE.joinpath(*part.split("/")) for part in (
    "reference/analyzer.py", "reference/analyzer_fast.py", "reference/allowlist.py", "reference/families.py",
    "reference/opcodes.py", "check/set_order.py"))


class UnsafeEntry(NamedTuple):
    module: str
    qualname: str
    reason: str
    kind: str = "global"
    use: str = ""   # the use of the global the finding is about (the gate's trust is per use)


class GoldenAnalysis:
    """The parts of an Analysis the gate needs; the tree is computed only on demand."""

    __slots__ = ("protocol", "globals", "unsafe", "uses", "_data", "_analysis", "_facts")

    def __init__(self, protocol: int, globals_: List[Tuple[str, str]], unsafe: List[UnsafeEntry],
                 data: bytes, analysis=None, uses=None):
        self.protocol = protocol
        self.globals = globals_
        self.unsafe = unsafe
        self.uses = uses if uses is not None else {}
        self._data = data
        self._analysis = analysis
        self._facts = None

    @classmethod
    def from_analysis(cls, analysis, data: bytes) -> "GoldenAnalysis":
        return cls(analysis.protocol, [tuple(g) for g in analysis.globals],
                   [UnsafeEntry(u.module, u.qualname, u.reason, u.kind, u.use) for u in analysis.unsafe], data,
                   analysis if analysis.max_depth is not None else None, dict(analysis.uses))

    @property
    def facts(self) -> tuple:
        """What the gate's decision depends on (safety.decision_facts), worked out once."""
        if self._facts is None:
            from .safety import decision_facts

            self._facts = decision_facts(self)
        return self._facts

    @property
    def tree(self):
        if self._analysis is None:
            from .safety import analyze

            self._analysis = analyze(self._data, ())
        return self._analysis.tree

    def to_entry(self) -> dict:
        return {"protocol": self.protocol, "globals": [list(g) for g in self.globals],
                "unsafe": [list(u) for u in self.unsafe],
                "uses": [[list(g), sorted(u)] for g, u in self.uses.items()]}

    @classmethod
    def from_parsed(cls, parsed: tuple, data: bytes) -> "GoldenAnalysis":
        """From :func:`parse_entry`'s parts, which analyses of the same entry share (read-only)."""
        protocol, globals_, unsafe, uses, facts = parsed
        found = cls(protocol, globals_, unsafe, data, None, uses)
        found._facts = facts
        return found


def _kept(found: GoldenAnalysis) -> tuple:
    """What the run's memory keeps of an analysis: its parts (:func:`parse_entry`'s), never
    the bytes it was made from -- a run over a large store would otherwise hold every
    analyzed golden and current pickle until it ends.  The caller binds the bytes again."""
    return found.protocol, found.globals, found.unsafe, found.uses, found.facts


def parse_entry(entry) -> Optional[tuple]:
    """An entry's parts (protocol, globals, unsafe, uses, decision facts); None when damaged."""
    try:
        protocol = int(entry["protocol"])
        globals_ = [(str(m), str(q)) for m, q in entry["globals"]]
        unsafe = [UnsafeEntry(*map(str, u)) for u in entry["unsafe"]]
        uses = {(str(g[0]), str(g[1])): frozenset(map(str, u)) for g, u in entry.get("uses", ())}
    except (KeyError, TypeError, ValueError):
        return None  # a damaged entry is simply a miss
    from .safety import decision_facts

    parsed = GoldenAnalysis(protocol, globals_, unsafe, b"", None, uses)
    return protocol, globals_, unsafe, uses, decision_facts(parsed)


KEY_NAME = "verdict-key"
_key: List[bytes] = []


def key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-serialcompat" / KEY_NAME


def machine_key() -> bytes:
    """This user's random key (see the module docstring); made once, kept 0600."""
    if _key:
        return _key[0]
    path = key_path()
    try:
        found = path.read_bytes()
    except OSError:
        found = b""
    if len(found) != 32:
        found = os.urandom(32)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name("%s.%d" % (KEY_NAME, os.getpid()))
            descriptor = os.open(str(temporary), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(found)
            try:
                os.link(str(temporary), str(path))   # never replaces another process's key
            except OSError:
                pass
            os.unlink(str(temporary))
            kept = path.read_bytes()
            if len(kept) == 32:
                found = kept
        except OSError:
            pass   # no place to keep it: this run's own key
    _key.append(found)
    return found


def namespace(allow_prefixes: Sequence[str], limits=None) -> str:
    """Digest of everything a verdict depends on besides the bytes, keyed by :func:`machine_key`."""
    digest = hashlib.sha256(__version__.encode())
    digest.update(machine_key())
    for source in SOURCES:
        try:
            digest.update(source.read_bytes())
        except OSError:
            digest.update(source.name.encode())
    digest.update("\0".join(sorted(allow_prefixes)).encode())
    if limits is not None:  # a verdict made under other limits is another verdict
        digest.update(repr(tuple(limits)).encode())
    return digest.hexdigest()[:32]


class VerdictCache:
    @property
    def _pytest_cache(self):
        return getattr(self._config, "cache", None)

    def __init__(self, config=None, bounds=None):
        self._config = config
        self.bounds = bounds  # budget.Bounds of the gate (None: the analyzer's default limits)
        self._limits = None  # config.cache appears after pytest_configure: looked up lazily
        self._namespace: Optional[str] = None
        self._prefixes: Optional[Tuple[str, ...]] = None
        self._stored: Dict[str, int] = {}   # sha256 -> index in _facts_table
        self._facts_table: list = []          # the file's distinct entries
        self._parsed: Dict[int, Optional[tuple]] = {}   # index -> parse_entry(entry)
        # sha256 -> an analysis's parts without the bytes (see _kept)
        self.memory: Dict[str, tuple] = {}
        self._last: Optional[tuple] = None  # (bytes, allow words, analysis): see _twin_of
        self.new: Dict[str, dict] = {}
        self.used = set()
        # analyses of the current objects' own pickles (see trust_analysis)
        self._stored_trust: Dict[str, int] = {}
        self.trust_memory: Dict[str, Optional[tuple]] = {}
        self.new_trust: Dict[str, dict] = {}
        # set-order proofs: golden sha256 -> the current pickle's sha256 (see proven_order)
        self._stored_orders: Dict[str, str] = {}
        self.new_orders: Dict[str, str] = {}

    def _open(self, allow_prefixes: Sequence[str]) -> None:
        if allow_prefixes == self._prefixes:
            return
        self._prefixes = tuple(allow_prefixes)
        space = namespace(allow_prefixes, self.bounds.values if self.bounds is not None else None)
        if space == self._namespace:
            return
        self._namespace = space
        self.memory.clear()
        self.trust_memory.clear()
        self._facts_table = []
        self._stored, self._stored_trust, self._stored_orders = _read(
            self._pytest_cache.get(CACHE_KEY, None) if self._pytest_cache is not None else None,
            space, self._facts_table)
        self._parsed = {}

    def _stored_entry(self, index, data: bytes) -> Optional[GoldenAnalysis]:
        if index not in self._parsed:   # _read kept only indices that name an entry
            self._parsed[index] = parse_entry(self._facts_table[index])
        parsed = self._parsed[index]
        return None if parsed is None else GoldenAnalysis.from_parsed(parsed, data)

    def remembered(self, data: bytes, sha256: str, allow_prefixes: Sequence[str]
                   ) -> Optional[GoldenAnalysis]:
        """The verdict on ``data`` when one is at hand (nothing is analyzed), else None."""
        self._open(allow_prefixes)
        kept = self.memory.get(sha256)
        if kept is not None:
            return GoldenAnalysis.from_parsed(kept, data)
        index = self._stored.get(sha256)
        if index is None:
            return None
        found = self._stored_entry(index, data)
        if found is not None:
            self.used.add(sha256)
            self.memory[sha256] = _kept(found)
        return found

    def analysis(self, data: bytes, sha256: str, allow_prefixes: Sequence[str]) -> GoldenAnalysis:
        """The verdict on ``data`` (raises MalformedPickle like the analyzer)."""
        found = self.remembered(data, sha256, allow_prefixes)
        if found is not None:
            return found
        from .safety import analyze

        if self._limits is None and self.bounds is not None:
            self._limits = self.bounds.limits()
        found = self._twin_of(data, allow_prefixes)
        if found is None:
            found = GoldenAnalysis.from_analysis(
                analyze(data, allow_prefixes, tree=False, limits=self._limits), data)
            if data[:1] == _PROTO and data[1:2] in _TWINS:
                self._last = (data, tuple(allow_prefixes), found)  # (the bytes, not a copy)
        self.new[sha256] = found.to_entry()
        self.used.add(sha256)
        self.memory[sha256] = _kept(found)
        return found

    def _twin_of(self, data: bytes, allow_prefixes: Sequence[str]) -> Optional[GoldenAnalysis]:
        """The analysis of the golden analyzed just before, when ``data`` is its bytes with
        another PROTO argument, 4 or 5: the analyzer reads those two protocols alike (what
        it does by protocol -- Python 2 names, str decoding -- is below protocol 3), so the
        verdict is the same but for the protocol.  A sample's protocol 4 and 5 goldens
        usually hold such bytes, and are replayed one after the other."""
        if self._last is None or data[:1] != _PROTO or data[1:2] not in _TWINS:
            return None
        last, words, twin = self._last
        if (len(data) != len(last) or tuple(allow_prefixes) != words
                or memoryview(data)[2:] != memoryview(last)[2:]):
            return None
        return GoldenAnalysis(data[1], twin.globals, twin.unsafe, data, None, twin.uses)

    def trust_analysis(self, data: bytes, sha256: str, allow_prefixes: Sequence[str]
                       ) -> Optional[GoldenAnalysis]:
        """The analysis of the current object's own pickle ``data`` (its globals and their
        uses: what the gate's trust is made of), without a tree; None when the analyzer
        does not finish it.  Once per bytes, and kept with the verdicts."""
        self._open(allow_prefixes)
        if sha256 in self.trust_memory:
            kept = self.trust_memory[sha256]
            return None if kept is None else GoldenAnalysis.from_parsed(kept, data)
        found = None
        index = self._stored_trust.get(sha256)
        if index is not None:
            found = self._stored_entry(index, data)
        if found is None:
            from .safety import analyze

            try:  # the analyzer's default limits, and no allow words: only names and uses count
                found = GoldenAnalysis.from_analysis(analyze(data, (), tree=False), data)
            except Exception:  # an analyzer limit on our own fresh data: no trust, no diff
                found = None
            else:
                self.new_trust[sha256] = found.to_entry()
        self.used.add(sha256)
        self.trust_memory[sha256] = None if found is None else _kept(found)
        return found

    def proven_order(self, sha256: str, fresh_sha256: str, allow_prefixes: Sequence[str]) -> bool:
        """Whether the golden ``sha256`` was proven to be the current pickle ``fresh_sha256``
        up to set order (by this run or a previous one)."""
        self._open(allow_prefixes)
        if (self.new_orders.get(sha256) or self._stored_orders.get(sha256)) != fresh_sha256:
            return False
        self.used.add(sha256)
        return True

    def remember_order(self, sha256: str, fresh_sha256: str) -> None:
        """Keep a set-order proof: golden ``sha256`` is the current pickle ``fresh_sha256``."""
        self.new_orders[sha256] = fresh_sha256
        self.used.add(sha256)

    # --------------------------------------------------------------- writer
    def wire(self) -> dict:
        """Verdicts computed here and not yet handed on (for xdist workers)."""
        new, self.new = self.new, {}
        trust, self.new_trust = self.new_trust, {}
        orders, self.new_orders = self.new_orders, {}
        if not new and not trust and not orders:
            return {}
        return {"namespace": self._namespace, "verdicts": new, "trust": trust, "orders": orders}

    def merge(self, wire: dict) -> None:
        if wire and wire.get("namespace") and isinstance(wire.get("verdicts"), dict):
            if self._namespace is None:
                self._namespace = wire["namespace"]
            if wire["namespace"] == self._namespace:
                self.new.update(wire["verdicts"])
                self.used.update(wire["verdicts"])
                trust = wire.get("trust")
                if isinstance(trust, dict):
                    self.new_trust.update(trust)
                    self.used.update(trust)
                orders = wire.get("orders")
                if isinstance(orders, dict):
                    self.new_orders.update(orders)
                    self.used.update(orders)

    def save(self) -> None:
        if self._pytest_cache is None or self._namespace is None or not (
                self.new or self.new_trust or self.new_orders):
            return
        stored = self._pytest_cache.get(CACHE_KEY, None)
        table: list = []
        verdicts, trust, orders = _read(stored, self._namespace, table)
        verdicts = {k: table[i] for k, i in verdicts.items()}
        trust = {k: table[i] for k, i in trust.items()}
        verdicts.update(self.new)
        trust.update(self.new_trust)
        orders.update(self.new_orders)
        if len(verdicts) > MAX_ENTRIES:
            verdicts = {k: v for k, v in verdicts.items() if k in self.used or k in self.new}
        if len(trust) > MAX_ENTRIES:
            trust = {k: v for k, v in trust.items() if k in self.used or k in self.new_trust}
        if len(orders) > MAX_ENTRIES:
            orders = {k: v for k, v in orders.items() if k in self.used or k in self.new_orders}
        facts: list = []
        index: Dict[str, int] = {}
        by_object: Dict[int, int] = {}   # the stored entries are shared: each is spelled once

        def number(entry) -> int:
            found = by_object.get(id(entry))
            if found is None:
                key = json.dumps(entry, sort_keys=True)
                if key not in index:
                    index[key] = len(facts)
                    facts.append(entry)
                found = by_object[id(entry)] = index[key]
            return found

        ours = {"namespace": self._namespace, "facts": facts,
                "verdicts": {k: number(v) for k, v in verdicts.items()},
                "trust": {k: number(v) for k, v in trust.items()}, "orders": orders}
        # The other namespaces the file held (another set of test files collected gives other
        # allow words, so another namespace): the most recent ones are kept after ours, within
        # MAX_SPACES and, all together, MAX_ENTRIES entries -- running one test file, then
        # another, then the whole suite finds each run's verdicts again.
        budget = MAX_ENTRIES - len(verdicts)
        kept = []
        for section in _sections(stored):
            if section["namespace"] == self._namespace:
                continue
            size = _size(section)
            if len(kept) >= MAX_SPACES - 1 or size > budget:
                break
            kept.append(section)
            budget -= size
        self._pytest_cache.set(CACHE_KEY, {"format": FORMAT, "spaces": [ours] + kept})
        self.new, self.new_trust, self.new_orders = {}, {}, {}


def _sections(stored) -> list:
    """The file's namespace sections, most recent first; [] when it is absent, damaged or of
    another layout."""
    if not (isinstance(stored, dict) and stored.get("format") == FORMAT
            and isinstance(stored.get("spaces"), list)):
        return []
    return [section for section in stored["spaces"] if isinstance(section, dict)
            and isinstance(section.get("namespace"), str) and isinstance(section.get("facts"), list)]


def _size(section: dict) -> int:
    return sum(len(section[name]) for name in ("verdicts", "trust", "orders")
               if isinstance(section.get(name), dict))


def _read(stored, space: str, table: list) -> Tuple[Dict[str, int], Dict[str, int], Dict[str, str]]:
    """The stored file's (verdicts, trust, orders) of namespace ``space``, the distinct
    entries appended to ``table``; empty when the file is absent, holds no such namespace,
    is of another layout, or damaged (indices that name no entry are left out)."""
    found = [section for section in _sections(stored) if section["namespace"] == space]
    if not found:
        return {}, {}, {}
    stored = found[0]
    table.extend(stored["facts"])
    count = len(table)

    def indices(name):
        found = stored.get(name)
        if not isinstance(found, dict):
            return {}
        return {k: i for k, i in found.items() if type(i) is int and 0 <= i < count}

    orders = stored.get("orders")
    return indices("verdicts"), indices("trust"), orders if isinstance(orders, dict) else {}

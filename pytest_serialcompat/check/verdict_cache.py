"""Remember the analyzer's verdict on golden bytes, so unchanged goldens are analyzed once.

The reference analyzer is pure Python; loading a golden with the C unpickler
is much faster.  A verdict depends only on the exact bytes, the allow-list
and the analyzer itself, so it is cached under the sha256 of the bytes in a
namespace derived from (plugin version, analyzer + allow-list sources, the
allowed prefixes).  Any change to those starts a fresh namespace.

Where: pytest's cache directory (``.pytest_cache``), which is local to the
machine and never committed -- a golden arriving in a pull request has never
been analyzed there, so it is analyzed before it is loaded; a fresh CI
checkout analyzes everything.  Without the cache provider (``-p
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
same hash seed loads and compares such a golden without proving it again.

Only the writer (single process / xdist controller) saves the file; workers send the verdicts they computed along with their records.
"""

import hashlib
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .. import __version__

CACHE_KEY = "serialcompat/verdicts"
MAX_ENTRIES = 50000

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
    def from_entry(cls, entry: dict, data: bytes) -> Optional["GoldenAnalysis"]:
        try:
            return cls(int(entry["protocol"]), [(str(m), str(q)) for m, q in entry["globals"]],
                       [UnsafeEntry(*map(str, u)) for u in entry["unsafe"]], data, None,
                       {(str(g[0]), str(g[1])): frozenset(map(str, u)) for g, u in entry.get("uses", ())})
        except (KeyError, TypeError, ValueError):
            return None  # a damaged entry is simply a miss


def namespace(allow_prefixes: Sequence[str], limits=None) -> str:
    """Digest of everything a verdict depends on besides the bytes."""
    digest = hashlib.sha256(__version__.encode())
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
        self._stored: Dict[str, dict] = {}
        self.memory: Dict[str, GoldenAnalysis] = {}
        self.new: Dict[str, dict] = {}
        self.used = set()
        # analyses of the current objects' own pickles (see trust_analysis)
        self._stored_trust: Dict[str, dict] = {}
        self.trust_memory: Dict[str, Optional[GoldenAnalysis]] = {}
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
        self._stored = {}
        self._stored_trust = {}
        self._stored_orders = {}
        if self._pytest_cache is not None:
            stored = self._pytest_cache.get(CACHE_KEY, None)
            if isinstance(stored, dict) and stored.get("namespace") == space and isinstance(
                    stored.get("verdicts"), dict):
                self._stored = stored["verdicts"]
                trust = stored.get("trust")
                self._stored_trust = trust if isinstance(trust, dict) else {}
                orders = stored.get("orders")
                self._stored_orders = orders if isinstance(orders, dict) else {}

    def remembered(self, data: bytes, sha256: str, allow_prefixes: Sequence[str]
                   ) -> Optional[GoldenAnalysis]:
        """The verdict on ``data`` when one is at hand (nothing is analyzed), else None."""
        self._open(allow_prefixes)
        found = self.memory.get(sha256)
        if found is not None:
            return found
        entry = self._stored.get(sha256)
        if entry is None:
            return None
        found = GoldenAnalysis.from_entry(entry, data)
        if found is not None:
            self.used.add(sha256)
            self.memory[sha256] = found
        return found

    def analysis(self, data: bytes, sha256: str, allow_prefixes: Sequence[str]) -> GoldenAnalysis:
        """The verdict on ``data`` (raises MalformedPickle like the analyzer)."""
        found = self.remembered(data, sha256, allow_prefixes)
        if found is not None:
            return found
        from .safety import analyze

        if self._limits is None and self.bounds is not None:
            self._limits = self.bounds.limits()
        found = GoldenAnalysis.from_analysis(analyze(data, allow_prefixes, tree=False, limits=self._limits),
                                             data)
        self.new[sha256] = found.to_entry()
        self.used.add(sha256)
        self.memory[sha256] = found
        return found

    def trust_analysis(self, data: bytes, sha256: str, allow_prefixes: Sequence[str]
                       ) -> Optional[GoldenAnalysis]:
        """The analysis of the current object's own pickle ``data`` (its globals and their
        uses: what the gate's trust is made of), without a tree; None when the analyzer
        does not finish it.  Once per bytes, and kept with the verdicts."""
        self._open(allow_prefixes)
        if sha256 in self.trust_memory:
            return self.trust_memory[sha256]
        found = None
        entry = self._stored_trust.get(sha256)
        if entry is not None:
            found = GoldenAnalysis.from_entry(entry, data)
        if found is None:
            from .safety import analyze

            try:  # the analyzer's default limits, and no allow words: only names and uses count
                found = GoldenAnalysis.from_analysis(analyze(data, (), tree=False), data)
            except Exception:  # an analyzer limit on our own fresh data: no trust, no diff
                found = None
            else:
                self.new_trust[sha256] = found.to_entry()
        self.used.add(sha256)
        self.trust_memory[sha256] = found
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
        verdicts, trust, orders = {}, {}, {}
        if isinstance(stored, dict) and stored.get("namespace") == self._namespace and isinstance(
                stored.get("verdicts"), dict):
            verdicts = stored["verdicts"]
            if isinstance(stored.get("trust"), dict):
                trust = stored["trust"]
            if isinstance(stored.get("orders"), dict):
                orders = stored["orders"]
        verdicts.update(self.new)
        trust.update(self.new_trust)
        orders.update(self.new_orders)
        if len(verdicts) > MAX_ENTRIES:
            verdicts = {k: v for k, v in verdicts.items() if k in self.used or k in self.new}
        if len(trust) > MAX_ENTRIES:
            trust = {k: v for k, v in trust.items() if k in self.used or k in self.new_trust}
        if len(orders) > MAX_ENTRIES:
            orders = {k: v for k, v in orders.items() if k in self.used or k in self.new_orders}
        self._pytest_cache.set(CACHE_KEY, {"namespace": self._namespace, "verdicts": verdicts,
                                           "trust": trust, "orders": orders})
        self.new, self.new_trust, self.new_orders = {}, {}, {}

"""Frozen generations within one check: freezing before a rewrite, and replaying each release.

Recording (``--serialcompat-update``) asks :func:`freeze_before_rewrite` before it
rewrites a golden: one another project version recorded is first copied into
that version's frozen generation (:mod:`..store.generations`), so re-recording
never destroys the last release's data.

Replay (:func:`replay_frozen`) takes every frozen golden of the sample through
today's replay -- integrity, the safety gate, imports, load -- with the
release named in every diagnosis, then judges the loaded object by upgrade
compatibility (:mod:`.upgrade`), or by equality under ``serialcompat_generations
= strict``.  A frozen golden gets no ``.obtained`` file: nothing could re-record it.
"""

from typing import List, Optional, Tuple

from ..diagnosis import releases
from ..results import CHECKED, NOT_EQUAL, NOT_UPGRADABLE, STATE_CHANGED, GoldenResult
from ..store import StoreError, generations as store_generations
from ..store.generations import PROJECT_VERSION
from .outcome import ReplayEnded, fail
from .replay import REPLAYERS, Replayer
from .upgrade import UpgradeComparison

STRICT = "strict"


# ----------------------------------------------------------------------------
# Freezing


def recorded_version(entry) -> Optional[str]:
    """The project version that recorded a manifest entry (None when it does not say)."""
    version = entry.get(PROJECT_VERSION) if isinstance(entry, dict) else None
    if not isinstance(version, str):
        return None
    try:
        return store_generations.normalize(version)
    except StoreError:
        return None


def freeze_before_rewrite(ctx, golden, entry, manifest) -> Optional[Tuple[str, str]]:
    """Queue the freezing of ``golden`` when another project version recorded it.

    Returns (message, fix) when it must not be rewritten, since it cannot be frozen.
    """
    settings = ctx.state.settings
    current = settings.project_version
    old = recorded_version(entry)
    if not settings.keep_generations or not current or old is None or old == current:
        return None
    try:
        frozen = store_generations.freeze_requests(ctx.store, ctx.name, golden.interpreter,
                                                   [golden.filename], old)
    except StoreError as exc:
        frozen = store_generations.Frozen([], [str(exc)], [])
    if frozen.problems:
        return ("Not rewritten: %s was recorded by %s, whose frozen generation cannot keep it (%s)."
                % (golden.relpath, old, "; ".join(frozen.problems)),
                "Restore the golden from version control, or set serialcompat_keep_generations "
                "= false to rewrite it without keeping %s's copy." % old)
    for request in frozen.requests:
        ctx.request(request)
    return None


# ----------------------------------------------------------------------------
# Replay


class _FrozenView:
    """The check's context as a frozen generation's replay sees it: the generation's folder
    is the sample, and the comparison is upgrade compatibility (or the check's own)."""

    def __init__(self, ctx, generation, comparison):
        self._ctx = ctx
        self.name = generation.folder
        self.comparison = comparison

    def __getattr__(self, name):
        return getattr(self._ctx, name)


class FrozenReplayer(Replayer):
    """Replays the goldens of one frozen generation."""

    def __init__(self, ctx, gate, verdicts, generation, strict: bool):
        self.generation = generation
        self.strict = strict
        self.upgrade = None if strict else UpgradeComparison()
        super().__init__(_FrozenView(ctx, generation, ctx.comparison if strict else self.upgrade),
                         gate, verdicts)
        self.sample_ctx = ctx
        self.notes = {}      # relpath -> notes of a golden that passed
        self._judged = {}    # (format, protocol, sha256) -> the Upgrade found

    def _write_obtained(self, golden) -> None:
        pass  # a frozen golden is never re-recorded: no bytes to offer in its place

    def _clear_obtained(self, golden) -> None:
        pass

    def _replay_bytes(self, golden, data: bytes) -> None:
        if self.strict:
            return super()._replay_bytes(golden, data)
        key = (golden.format, golden.protocol, self.sha256)
        if key not in self._judged:
            self.upgrade.found = None
            try:
                REPLAYERS[golden.format](self, golden, data)
            except ReplayEnded as ended:  # the format's words for "not compatible": ours instead
                found = self.upgrade.found
                if ended.kind not in (NOT_EQUAL, STATE_CHANGED) or found is None or found.ok:
                    raise
            self._judged[key] = self.upgrade.found
        found = self._judged[key]
        if found is None:
            return  # today's own bytes: nothing to upgrade
        version = self.generation.version
        if not found.ok:
            raise fail(NOT_UPGRADABLE, *releases.not_upgradable(
                version, golden.interpreter, found.lacking, found.types))
        verbose = self.sample_ctx.state.settings.verbose > 0
        text = releases.notes(found.left_behind, found.values if verbose else [], version)
        if text:
            self.notes[golden.relpath] = text

    def replay_frozen(self, golden) -> GoldenResult:
        result = self.replay(golden)
        version = self.generation.version
        message, fix = result.message, result.fix
        if result.status == CHECKED:
            message = self.notes.get(golden.relpath, "")
        elif result.diagnosis != NOT_UPGRADABLE:
            message, fix = releases.frozen_outcome(version, golden.interpreter, result.status,
                                                   result.diagnosis, message, fix)
        return result._replace(name=self.sample_ctx.name, message=message, fix=fix,
                               generation=version)


def replay_frozen(ctx, gate, verdicts) -> List[GoldenResult]:
    """Every frozen golden of the check's sample (in the formats and protocols it covers)."""
    plan = ctx.plan
    strict = ctx.state.settings.generations == STRICT
    results = []
    for generation in store_generations.frozen(ctx.store, ctx.name):
        replayer = FrozenReplayer(ctx, gate, verdicts, generation, strict)
        listed, names = ctx.store.listing(generation.folder)
        replayer.names = names
        for golden in listed:
            if golden.format not in plan.formats:
                continue
            if golden.format == "pickle" and plan.protocols is not None \
                    and golden.protocol not in plan.protocols:
                continue
            results.append(replayer.replay_frozen(golden))
    return results


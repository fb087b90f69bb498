"""``--serialcompat-prune``: delete the goldens no test of the suite asks for, after showing them.

Pruning is the one operation that destroys data, so it runs only when every
doubt is ruled out (:func:`refusal`): the run covered the whole suite
(:mod:`.ownership`), nothing failed, and -- on a terminal -- the user read the
list and said yes.  Outside a terminal the list is printed before anything is
deleted; in CI, pruning is refused when the options are read (settings).
"""

import collections
import sys
from typing import List, Optional

from .results import DELETE, FAILED, MANIFEST, StoreRequest
from .store import StoreError, is_obtained_for
from .summary import relative as _rel

PROMPT = "serialcompat: delete these %d file(s)? [y/N] "
YES = frozenset(("y", "yes"))


def refusal(state, exitstatus) -> Optional[str]:
    """Why the unused goldens of this run must not be deleted, or None."""
    if state.partial is not None:
        return "partial run (%s): unused goldens are only reported" % state.partial
    failed = [r for r in state.results if r.status == FAILED]
    if state.failed_items or failed or int(exitstatus) != 0:
        return "the run had failures: unused goldens are only reported"
    if state.stale_temp_files:
        return ("the store holds files left by an interrupted update (%s): run "
                "`pytest --serialcompat-update` first" % state.stale_temp_files[0])
    return None


def obtained_of(state, golden) -> List[str]:
    """The obtained files of a golden, from every replaying interpreter (beside it in the
    store, where earlier versions wrote them), as the session's walk of the store saw them."""
    names = state.walk_store().names(golden.name)
    return ["%s/%s" % (golden.name, n) for n in sorted(names)
            if is_obtained_for(n, golden.filename)]


def run(state) -> None:
    """Show what would go, ask on a terminal, then delete it and update the manifests."""
    doomed = [(golden, [golden.relpath] + obtained_of(state, golden)) for golden in state.unused]
    if not doomed:
        return
    paths = [relpath for _golden, relpaths in doomed for relpath in relpaths]
    answer = _confirm(state, paths)
    if answer is not None:
        state.prune_refused = answer
        return
    by_manifest = collections.defaultdict(dict)
    for golden, relpaths in doomed:
        for relpath in relpaths:
            try:
                deleted = state.store.apply(StoreRequest(DELETE, relpath))
            except OSError as exc:
                state.write_errors.append("%s: %s" % (relpath, exc))
                continue
            if deleted is not None:
                state.pruned.append(deleted)
        by_manifest[(golden.name, golden.interpreter)][golden.filename] = None
    for (name, interp), entries in sorted(by_manifest.items()):
        try:
            state.store.apply(StoreRequest(MANIFEST, sample=name, interpreter=interp, entries=entries))
        except (OSError, StoreError) as exc:
            state.write_errors.append("%s manifest %s: %s" % (name, interp, exc))
    state.store.remove_empty_folders(*{golden.name for golden, _relpaths in doomed})


def _confirm(state, paths: List[str]) -> Optional[str]:
    """None to go ahead; else why not.  Asks only when both stdin and the terminal are a tty."""
    config = state.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return None
    reporter.write_sep("=", "serialcompat prune")
    reporter.write_line("would delete (%d file(s), no test of the suite asks for them):" % len(paths))
    for relpath in paths:
        reporter.write_line("  %s" % _rel(state.store.display(relpath), config))
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        answer = _ask(reporter, len(paths))
    else:
        with capture.global_and_fixture_disabled():  # output now; restored afterwards
            capture.suspend_global_capture(in_=True)  # and the real stdin, as pdb does
            answer = _ask(reporter, len(paths))
    if answer is None or answer.strip().lower() in YES:
        return None
    return "not confirmed at the prompt: nothing was deleted"


def _ask(reporter, count: int) -> Optional[str]:
    """The line typed at the prompt; None when stdin or the output is not a terminal."""
    stdin = sys.stdin
    if stdin is None or not bool(reporter.isatty) or not stdin.isatty():
        return None
    reporter.write(PROMPT % count)
    reporter.flush()
    try:
        return stdin.readline()
    except (OSError, ValueError, KeyboardInterrupt):
        return ""

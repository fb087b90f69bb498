"""Soundness of the shortcuts: full analysis and prefiltered analysis give identical findings.

The prefiltered engine skips files by trigger words and an ast check, resolves qualified names
from imports without libcst's scope analysis where it can, skips value tracking in files without
candidates, and computes positions with its own code generation pass.  The full engine does none
of that.  Both must report exactly the same findings on a corpus: a sample of the running
interpreter's standard library (files that mention the modules the rules are about, plus others)
and every rule example.  Each interpreter samples a different slice of its standard library.
"""
import os
import sys
import sysconfig

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from serialcompat_lint.config import Settings
from serialcompat_lint.context import FileContext
from serialcompat_lint.engine import Linter, call_with_deep_stack, decode_source
from serialcompat_lint.model import Invalid
from serialcompat_lint.rules import ALL_RULES

STDLIB = sysconfig.get_paths()["stdlib"]
WORDS = ("multiprocessing", "concurrent", "pickle", "marshal", "__getstate__", "__reduce__", "threading", "socket", "json")


def _stdlib_sample(limit_interesting=12, limit_other=4, max_bytes=30000):
    interesting, other = [], []
    for directory, dirs, names in os.walk(STDLIB):
        dirs[:] = sorted(d for d in dirs if d not in ("test", "tests", "site-packages", "idle_test", "__pycache__"))
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            size = os.path.getsize(path)
            if size > max_bytes:
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            (interesting if any(w.encode() in data for w in WORDS) else other).append((path, data))
    # every interpreter takes another slice of its standard library: the suite runs on six, so
    # together they check four times the files one sample holds, at half the cost per run
    def every(files, limit):
        step = max(1, len(files) // limit)
        return files[sys.version_info[1] % step::step][:limit]

    return every(interesting, limit_interesting) + every(other, limit_other)


def _examples():
    for rule in ALL_RULES:
        if rule.PROJECT_RULE:
            continue
        for example in list(rule.VALID) + list(rule.INVALID):
            source = example.source if isinstance(example, Invalid) else example
            yield "%s-example.py" % rule.CODE, source.encode()


CORPUS = _stdlib_sample() + list(_examples())
SETTINGS = Settings(root=STDLIB, select=("SC",), requires_python=">=3.6")


def _findings(full):
    linter = Linter(SETTINGS, full=full)
    return call_with_deep_stack(lambda: [linter.lint_bytes(p, p, d).findings for p, d in CORPUS])


def test_full_and_prefiltered_analysis_agree():
    prefiltered = _findings(False)
    full = _findings(True)
    for (path, _data), fast, slow in zip(CORPUS, prefiltered, full):
        assert fast == slow, path
    assert sum(len(f) for f in full) > 20  # the corpus does exercise the rules
    assert not any(f.code in ("SC000", "SC001") for found in full for f in found)


def test_the_shortcuts_do_skip_work():
    linter = Linter(SETTINGS)
    active = [bool(linter.active_rules(decode_source(d))) for _p, d in CORPUS[:32]]
    assert 0 < sum(active) < len(active)


def test_own_positions_match_libcst_position_provider():
    for path, data in CORPUS[:12]:
        text = decode_source(data)
        module = cst.parse_module(text)
        ctx = FileContext(path, text, module, SETTINGS)
        nodes = ctx.nodes(cst.Call, cst.Assign, cst.AnnAssign, cst.Dict, cst.Lambda, cst.Return)
        ours = ctx.positions(nodes)
        theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        for node in nodes:
            r = theirs[node]
            assert ours[node] == (r.start.line, r.start.column + 1, r.end.line, r.end.column + 1), path


def test_full_and_prefiltered_evidence_facts_agree():
    """The evidence each file contributes (classes, sites, reducers, candidates) is the same
    whether or not the shortcuts run: the project-wide decision cannot depend on them."""

    def facts(full):
        linter = Linter(SETTINGS, full=full)
        return call_with_deep_stack(lambda: [linter.lint_bytes(p, p, d, project=True).facts for p, d in CORPUS])

    prefiltered, full = facts(False), facts(True)
    for (path, _data), fast, slow in zip(CORPUS, prefiltered, full):
        assert fast == slow, path
    assert sum(len(f.sites) for f in full if f) > 5 and sum(len(f.candidates) for f in full if f) > 5

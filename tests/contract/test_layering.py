"""What each part of the package may import (docs/architecture.md), read from the source.

Every import statement of every module counts, including the ones inside functions
(the plugin defers heavy imports to first use): a deferred import is still a
dependency.  A rule broken here is a layering mistake a reader would trip over:
the store reaching into replay, the engine calling pytest, the linter reading goldens
some other way than through the store.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "pytest_serialcompat"

# Modules of the pytest plugin itself (hooks, options, session, fixture, terminal).
PLUGIN_MODULES = {
    "plugin", "hookspecs", "settings", "session", "fixture", "samples", "ownership", "prune",
    "summary", "xdist_support", "cli", "inspect_formats",
}

# part -> (what it must never import, why)
RULES = {
    "reference": ({"pytest", "*"}, "the reference serializer stands alone (only itself)"),
    "store": ({"pytest", "check", "diagnosis", "matrix"} | PLUGIN_MODULES,
              "the store knows files and formats, not pytest or the replay engine"),
    "diagnosis": ({"pytest", "check", "matrix"} | PLUGIN_MODULES,
                  "diagnosis words what the engine found; the engine calls it"),
    "check": ({"pytest", "matrix"} | PLUGIN_MODULES,
              "the check engine returns results; the fixture decides what they mean for a test"),
    "matrix": ({"pytest", "check", "diagnosis"} | PLUGIN_MODULES,
               "the matrix talks to the plugin through subprocesses and report files"),
}


def imports_of(path: Path, package: str):
    """(line, absolute module) of every import in ``path``, a module of ``package``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # ``from . import check`` imports the sub-package
                yield node.lineno, module + "." + alias.name


def part_of(module: str):
    """The part of the package a module belongs to: "check", "store", "plugin", ... or None."""
    parts = module.split(".")
    if parts[0] == "pytest" or parts[0] == "_pytest":
        return "pytest"
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def modules(part: str):
    folder = REPO / PACKAGE / part
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(REPO).with_suffix("")
        package = ".".join(relative.parts[:-1])
        yield path, package


@pytest.mark.parametrize("part", sorted(RULES))
def test_each_part_imports_only_what_it_may(part):
    forbidden, why = RULES[part]
    found = list(modules(part))
    assert found, "no modules under %s/%s" % (PACKAGE, part)
    broken = []
    for path, package in found:
        for line, module in imports_of(path, package):
            other = part_of(module)
            if other is None or other == part:
                continue
            if other in forbidden or ("*" in forbidden and other != "pytest"):
                broken.append("%s:%d imports %s" % (path.relative_to(REPO), line, module))
    assert not broken, "%s: %s\n%s" % (part, why, "\n".join(broken))


def test_the_linter_reads_goldens_only_through_the_store():
    """serialcompat_lint may use the plugin's store package, project facts and the reference
    serializer's tables, nothing else."""
    allowed = {"store", "project", "reference"}
    broken = []
    for path in sorted((REPO / "lint").rglob("*.py")):
        relative = path.relative_to(REPO / "lint").with_suffix("")
        package = ".".join(("serialcompat_lint",) + relative.parts[:-1])
        for line, module in imports_of(path, package):
            other = part_of(module)
            if other not in (None, "pytest") and other not in allowed:
                broken.append("%s:%d imports %s" % (path.relative_to(REPO), line, module))
    assert not broken, "\n".join(broken)


def test_the_rules_see_a_real_violation(tmp_path):
    """The scan itself finds a deferred import inside a function (so the rules can fail)."""
    source = tmp_path / "sample.py"
    source.write_text("def f():\n    from ..check import replay\n    import pytest\n")
    found = {module for _line, module in imports_of(source, "pytest_serialcompat.store")}
    assert "pytest_serialcompat.check.replay" in found and "pytest" in found
    assert part_of("pytest_serialcompat.check.replay") == "check"

"""File discovery: .gitignore inside and outside git, excludes, explicit files."""
import os
import shutil
import subprocess

import pytest

from serialcompat_lint.discovery import GitIgnore, discover


def _tree(root, paths):
    for relative in paths:
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def _names(found, root):
    return sorted(os.path.relpath(f, str(root)).replace(os.sep, "/") for f in found.files)


LAYOUT = [
    "pkg/a.py", "pkg/b.pyi", "pkg/notes.txt", "pkg/gen/out.py", "pkg/keep/gen.py", "build/x.py",
    ".venv/lib/y.py", "pkg/__pycache__/c.py", "scripts/tool.py", "scripts/local_tool.py", "deep/a/b/c/skip_me.py",
]
GITIGNORE = "# comment\ngen/\nlocal_*.py\n!keep/\n/scripts/tool.py\n**/c/skip_*.py\n"
EXPECTED = ["deep/a/b/c/.gitignore", "pkg/a.py", "pkg/b.pyi", "pkg/keep/gen.py"]


def test_gitignore_outside_git(tmp_path):
    _tree(tmp_path, LAYOUT)
    (tmp_path / ".gitignore").write_text(GITIGNORE)
    (tmp_path / "deep" / "a" / "b" / "c" / ".gitignore").write_text("")
    found = discover([str(tmp_path)], str(tmp_path), use_git=False)
    assert _names(found, tmp_path) == [n for n in EXPECTED if n.endswith((".py", ".pyi"))]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_gitignore_inside_git(tmp_path):
    _tree(tmp_path, LAYOUT)
    (tmp_path / ".gitignore").write_text(GITIGNORE)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    found = discover([str(tmp_path)], str(tmp_path))
    assert _names(found, tmp_path) == [n for n in EXPECTED if n.endswith((".py", ".pyi"))]


@pytest.mark.parametrize("use_git", [False, True])
def test_explicit_files_are_linted_even_when_ignored(tmp_path, use_git):
    _tree(tmp_path, ["ignored/x.py"])
    (tmp_path / ".gitignore").write_text("ignored/\n")
    if use_git:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    explicit = str(tmp_path / "ignored" / "x.py")
    assert discover([str(tmp_path)], str(tmp_path), use_git=use_git).files == []
    assert discover([explicit], str(tmp_path), use_git=use_git).files == [explicit]


def test_configured_exclude_and_missing_paths(tmp_path):
    _tree(tmp_path, ["src/a.py", "src/generated/b.py", "other.py"])
    found = discover([str(tmp_path), str(tmp_path / "nope.py")], str(tmp_path), exclude=["src/generated"], use_git=False)
    assert _names(found, tmp_path) == ["other.py", "src/a.py"]
    assert found.errors == ["%s: no such file or directory" % (tmp_path / "nope.py")]


@pytest.mark.parametrize(
    "pattern, path, is_dir, expected",
    [
        ("*.py", "a/b.py", False, True),
        ("/b.py", "a/b.py", False, None),
        ("a/*.py", "a/b.py", False, True),
        ("a/*.py", "a/c/b.py", False, None),
        ("a/**/b.py", "a/c/d/b.py", False, True),
        ("build/", "build", False, None),
        ("build/", "build", True, True),
        ("b?.py", "bx.py", False, True),
        ("[ab].py", "c.py", False, None),
        ("\\#x.py", "#x.py", False, True),
    ],
)
def test_gitignore_patterns(tmp_path, pattern, path, is_dir, expected):
    ignore = GitIgnore(str(tmp_path), [pattern + "\n"])
    assert ignore.match(str(tmp_path / path), is_dir) is expected
    assert GitIgnore(str(tmp_path), [pattern + "\n", "!" + pattern.lstrip("\\") + "\n"]).match(str(tmp_path / path), is_dir) in (None, False)

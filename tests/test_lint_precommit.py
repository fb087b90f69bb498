"""Real pre-commit: ``pre-commit try-repo`` installs the hook from a copy of this repository and a
finding fails the commit of a temporary git repository."""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow


def _git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git"] + list(args), cwd=str(cwd), check=True, env=env, stdout=subprocess.DEVNULL)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_precommit_hook_fails_on_a_finding(tmp_path):
    pytest.importorskip("pre_commit", reason="pre-commit is a test dependency")
    hook_repo = tmp_path / "hook"
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".serialcompat-lint-cache", ".tox", "build", "dist")
    shutil.copytree(REPO, str(hook_repo), ignore=ignore)
    if not (hook_repo / "README.md").exists():
        (hook_repo / "README.md").write_text("pytest-serialcompat\n")
    _git("init", "-q", cwd=hook_repo)
    _git("add", "-A", cwd=hook_repo)
    _git("commit", "-q", "-m", "hook", cwd=hook_repo)

    project = tmp_path / "project"
    project.mkdir()
    _git("init", "-q", cwd=project)
    (project / "clean.py").write_text("import json\n\ndef body(x):\n    return json.dumps(x)\n")
    _git("add", "clean.py", cwd=project)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "serialcompat-lint"]
    clean = subprocess.run(command, cwd=str(project), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    assert clean.returncode == 0, clean.stdout

    (project / "bad.py").write_text("import pickle\n\ndef handle(conn):\n    return pickle.loads(conn.recv(4096))\n")
    _git("add", "bad.py", cwd=project)
    bad = subprocess.run(command, cwd=str(project), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    assert bad.returncode == 1, bad.stdout
    assert "bad.py:4:12: SC106" in bad.stdout
    assert "Failed" in bad.stdout

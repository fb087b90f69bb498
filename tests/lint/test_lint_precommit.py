"""Real pre-commit: ``pre-commit try-repo`` installs the hook from a copy of this repository and a
finding fails the commit of a temporary git repository."""
import os
import shutil
import subprocess
import sys

import pytest

from cli_run import skip_unless_matrix_host

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.slow


def _git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git"] + list(args), cwd=str(cwd), check=True, env=env, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def hook(tmp_path_factory):
    """A git copy of this repository to install the hook from, and a shared pre-commit home."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pytest.importorskip("pre_commit", reason="pre-commit is a test dependency")
    skip_unless_matrix_host(rank=4)   # pre-commit builds its own hook venv: once per CI
    base = tmp_path_factory.mktemp("precommit")
    hook_repo = base / "hook"
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".serialcompat-lint-cache", ".tox", "build", "dist", ".venv*")
    shutil.copytree(REPO, str(hook_repo), ignore=ignore)
    if not (hook_repo / "README.md").exists():
        (hook_repo / "README.md").write_text("pytest-serialcompat\n")
    _git("init", "-q", cwd=hook_repo)
    _git("add", "-A", cwd=hook_repo)
    _git("commit", "-q", "-m", "hook", cwd=hook_repo)
    env = dict(os.environ, PRE_COMMIT_HOME=str(base / "pre-commit-home"))
    return hook_repo, env


def _try_repo(hook, project):
    hook_repo, env = hook
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "serialcompat-lint"]
    return subprocess.run(command, cwd=str(project), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)


def test_precommit_hook_fails_on_a_finding(tmp_path, hook):
    project = tmp_path / "project"
    project.mkdir()
    _git("init", "-q", cwd=project)
    (project / "clean.py").write_text("import json\n\ndef body(x):\n    return json.dumps(x)\n")
    _git("add", "clean.py", cwd=project)
    clean = _try_repo(hook, project)
    assert clean.returncode == 0, clean.stdout

    (project / "bad.py").write_text("import pickle\n\ndef handle(conn):\n    return pickle.loads(conn.recv(4096))\n")
    _git("add", "bad.py", cwd=project)
    bad = _try_repo(hook, project)
    assert bad.returncode == 1, bad.stdout
    assert "bad.py:4:12: SC106" in bad.stdout
    assert "Failed" in bad.stdout


def test_precommit_sees_evidence_in_files_that_did_not_change(tmp_path, hook):
    """pre-commit passes only the staged files; the class is pickled in a committed one."""
    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    _git("init", "-q", cwd=project)
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "jobs.py").write_text(
        "from concurrent.futures import ProcessPoolExecutor\n\nfrom shop.counter import Counter\n\n"
        "def work(c):\n    return c\n\ndef run():\n    with ProcessPoolExecutor() as ex:\n        ex.submit(work, Counter())\n"
        # a finding of its own, to show that the hook is given the staged file only
        "\ndef handle(conn):\n    import pickle\n    return pickle.loads(conn.recv(9))\n"
    )
    (project / "shop" / "counter.py").write_text("class Counter:\n    pass\n")
    _git("add", "-A", cwd=project)
    _git("commit", "-q", "-m", "base", cwd=project)

    (project / "shop" / "counter.py").write_text("import threading\n\nclass Counter:\n    def __init__(self):\n        self._lock = threading.Lock()\n")
    _git("add", "shop/counter.py", cwd=project)
    staged = _try_repo(hook, project)
    assert staged.returncode == 1, staged.stdout
    assert "shop/counter.py:5:9: SC102" in staged.stdout and "pickled at shop/jobs.py:10 via ProcessPoolExecutor.submit" in staged.stdout
    assert "SC106" not in staged.stdout

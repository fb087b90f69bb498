"""Run the ``serialcompat`` command line in a real subprocess, as a user's shell would."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]   # the plugin's source, for --plugin-source
RUN_TIMEOUT = 1800


def serialcompat_cli(*args, cwd=None):
    """(exit status, stdout, stderr) of ``python -m pytest_serialcompat.cli ARGS``."""
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest_serialcompat.cli"] + [str(a) for a in args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, timeout=RUN_TIMEOUT)
    return (completed.returncode, completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"))


def skip_unless_matrix_host(rank=0, versions=("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")):
    """Skip unless this is the matrix host: a matrix run does not depend on the
    interpreter that starts it, so the 6-interpreter CI runs it once, from the
    ``rank``-th newest Python here (0: the newest).  The modules that build venvs for
    every interpreter take different ranks, so that tox's parallel envs share the work
    (SERIALCOMPAT_MATRIX_HOST=any runs it from any interpreter)."""
    import shutil

    import pytest

    found = sorted((v for v in versions if shutil.which("python" + v)),
                   key=lambda v: tuple(int(p) for p in v.split(".")), reverse=True)
    host = "%d.%d" % sys.version_info[:2]
    if not found or os.environ.get("SERIALCOMPAT_MATRIX_HOST") == "any":
        return
    chosen = found[min(rank, len(found) - 1)]
    if host != chosen:
        pytest.skip("this does not depend on the interpreter starting it, so CI runs it once, "
                    "under Python %s (SERIALCOMPAT_MATRIX_HOST=any runs it from %s too)"
                    % (chosen, host))

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


def skip_unless_matrix_host(versions=("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")):
    """Skip unless this is the newest Python here: a matrix run does not depend on the
    interpreter that starts it, so the 6-interpreter CI runs it once
    (SERIALCOMPAT_MATRIX_HOST=any runs it from any interpreter)."""
    import shutil

    import pytest

    found = [v for v in versions if shutil.which("python" + v)]
    newest = max(found, key=lambda v: tuple(int(p) for p in v.split(".")), default=None)
    host = "%d.%d" % sys.version_info[:2]
    if newest and host != newest and os.environ.get("SERIALCOMPAT_MATRIX_HOST") != "any":
        pytest.skip("a matrix run does not depend on the interpreter starting it: this one runs "
                    "under Python %s, the newest here (SERIALCOMPAT_MATRIX_HOST=any runs it from "
                    "%s too)" % (newest, host))

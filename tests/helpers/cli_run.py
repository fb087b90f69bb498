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

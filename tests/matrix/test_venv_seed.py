"""Throwaway venvs seeded from one pip-bearing venv per interpreter (matrix/venv_seed.py).

Real venvs of the running interpreter: the seed is a plain ``python -m venv`` (with
ensurepip), and a seeded venv must hold the same packages and a pip that works.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_serialcompat.matrix import environments, venv_seed


class Steps:
    """Runs each build command for real and keeps its argv."""

    def __init__(self):
        self.argvs = []

    def __call__(self, argv, label):
        self.argvs.append(list(argv))
        return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def _entries(folder):
    return sorted(name for name in os.listdir(str(folder)) if name != "__pycache__")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("venvs")
    interp = environments.probe_interpreter(sys.executable)
    steps = Steps()
    statuses = [venv_seed.create_venv(interp, root, root / name, steps) for name in ("one", "two")]
    return root, interp, steps, statuses


def test_the_seed_is_built_once_and_later_venvs_skip_ensurepip(built):
    root, interp, steps, statuses = built
    assert statuses == [0, 0]
    seeds = [p for p in root.iterdir() if p.name.startswith(venv_seed.SEED_PREFIX)]
    assert [p.name for p in seeds] == ["seed-%s-%s" % (interp.tag, venv_seed.seed_key(interp))]
    assert json.loads((seeds[0] / venv_seed.SEED_MARKER).read_text())["interpreter"] == interp.executable
    with_pip = [a for a in steps.argvs if a[1:3] == ["-m", "venv"] and "--without-pip" not in a]
    without = [a for a in steps.argvs if "--without-pip" in a]
    assert len(with_pip) == 1 and ".building-" in with_pip[0][-1]   # the seed, once
    assert [Path(a[-1]).name for a in without] == ["one", "two"]


def test_a_seeded_venv_holds_what_ensurepip_installs_and_its_pip_works(built):
    root, interp, _steps, _statuses = built
    seed = root / ("seed-%s-%s" % (interp.tag, venv_seed.seed_key(interp)))
    venv = root / "two"
    assert _entries(venv_seed.site_packages(venv)) == _entries(venv_seed.site_packages(seed))
    assert any(name.startswith("pip-") and name.endswith(".dist-info")
               for name in _entries(venv_seed.site_packages(venv)))
    python = environments.venv_python(venv)
    shown = subprocess.run([str(python), "-m", "pip", "--version"], stdout=subprocess.PIPE,
                           check=True).stdout.decode()
    # pip runs from the new venv's own copy, not from the seed
    assert str(venv_seed.site_packages(venv)) in shown and "seed-" not in shown
    prefix = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"],
                            stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    assert Path(prefix).resolve() == venv.resolve()


def test_a_seed_of_an_upgraded_interpreter_is_replaced(built, tmp_path):
    _root, interp, _steps, _statuses = built
    root = tmp_path / "venvs"
    stale = root / ("seed-%s-0000000000000000" % interp.tag)
    (stale / "lib").mkdir(parents=True)
    (stale / venv_seed.SEED_MARKER).write_text(json.dumps(
        {"key": "0000000000000000", "interpreter": interp.executable}))
    other = root / ("seed-%s-1111111111111111" % interp.tag)   # another interpreter's path
    other.mkdir()
    (other / venv_seed.SEED_MARKER).write_text(json.dumps(
        {"key": "1111111111111111", "interpreter": "/elsewhere/python"}))
    seed = venv_seed.ensure_seed(interp, root, Steps())
    assert seed is not None and seed.name.endswith(venv_seed.seed_key(interp))
    assert not stale.exists() and other.exists()

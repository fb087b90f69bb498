"""New throwaway venvs, seeded from one pip-bearing venv per interpreter.

``python -m venv DIR`` spends most of its time in ``ensurepip``, which unpacks
and byte-compiles pip (and setuptools before 3.12) into every new venv: about
2.5 s of CPU, where the venv itself takes 0.1 s.  The matrix builds one venv per
interpreter and project, and again whenever a dependency changes, so here
ensurepip runs once per interpreter, into a *seed* venv kept beside the
throwaway ones (``seed-<tag>-<key>``).  A new venv is then made with
``--without-pip`` and gets a copy of the seed's site-packages: the same files
``ensurepip`` would have written (the same pip and setuptools, from the same
interpreter's bundle), in about a tenth of the time.

The seed is built under a temporary name and renamed into place, like the venvs
(concurrent builders do not collide; an interrupted build is never used), and
is keyed by the interpreter (its path and version) and the seed layout.  When a
seed cannot be built or copied, the venv is made the plain way.
"""

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Callable, List, Optional

from .plans import PythonCommand

SEED_MARKER = "serialcompat-seed.json"

SEED_LAYOUT = 1                        # bump when what a seed holds changes

SEED_PREFIX = "seed-"

Runner = Callable[[List[str], str], int]


def seed_key(interp: PythonCommand) -> str:
    digest = hashlib.sha256()
    for part in ("seed", str(SEED_LAYOUT), interp.executable, interp.version):
        data = part.encode("utf-8", "surrogateescape")
        digest.update(b"%d:" % len(data) + data)
    return digest.hexdigest()[:16]


def site_packages(venv: Path) -> Optional[Path]:
    """The venv's site-packages folder (``lib/pythonX.Y/site-packages`` or ``Lib/site-packages``)."""
    found = sorted(venv.glob("lib/python*/site-packages")) + sorted(venv.glob("Lib/site-packages"))
    return found[0] if found else None


def _read_marker(seed: Path) -> Optional[dict]:
    try:
        return json.loads((seed / SEED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_seed(interp: PythonCommand, root: Path, run: Runner) -> Optional[Path]:
    """The seed venv of ``interp`` under ``root`` (built when absent); None when it cannot be."""
    key = seed_key(interp)
    final = root / ("%s%s-%s" % (SEED_PREFIX, interp.tag, key))
    marker = _read_marker(final)
    if marker is not None and marker.get("key") == key and site_packages(final) is not None:
        return final
    root.mkdir(parents=True, exist_ok=True)
    building = root / ("%s.building-%d-%d" % (final.name, os.getpid(), threading.get_ident()))
    shutil.rmtree(str(building), ignore_errors=True)
    try:
        if run([interp.executable, "-m", "venv", str(building)], "creating a venv") != 0:
            return None
        if site_packages(building) is None:
            return None
        (building / SEED_MARKER).write_text(json.dumps({
            "key": key, "interpreter": interp.executable, "python_version": interp.version,
            "layout": SEED_LAYOUT}, indent=1, sort_keys=True), encoding="utf-8")
        try:
            os.rename(str(building), str(final))
        except OSError:
            marker = _read_marker(final)
            if marker is None or marker.get("key") != key:   # not another run's identical seed
                return None
    finally:
        shutil.rmtree(str(building), ignore_errors=True)
    _prune_stale_seeds(root, interp, keep=final)
    return final


def _prune_stale_seeds(root: Path, interp: PythonCommand, keep: Path) -> None:
    """Seeds of the same interpreter path whose key no longer matches (it was upgraded)."""
    for candidate in root.glob("%s%s-*" % (SEED_PREFIX, interp.tag)):
        if candidate == keep or ".building-" in candidate.name:
            continue
        marker = _read_marker(candidate)
        if marker and marker.get("interpreter") == interp.executable:
            shutil.rmtree(str(candidate), ignore_errors=True)


def create_venv(interp: PythonCommand, root: Path, target: Path, run: Runner) -> int:
    """Make a venv with pip at ``target``; the exit status of the step that failed, or 0."""
    seed = ensure_seed(interp, root, run)
    if seed is not None:
        status = run([interp.executable, "-m", "venv", "--without-pip", str(target)],
                     "creating a venv")
        if status != 0:
            return status
        source, dest = site_packages(seed), site_packages(target)
        if source is not None and dest is not None:
            try:
                _copy_tree(source, dest)
                return 0
            except OSError:
                pass
        shutil.rmtree(str(target), ignore_errors=True)
    return run([interp.executable, "-m", "venv", str(target)], "creating a venv")


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy the seed's site-packages entries (pip, setuptools, their .pth and dist-info)."""
    for entry in os.scandir(str(source)):
        if entry.name == "__pycache__":
            continue
        target = dest / entry.name
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, str(target), symlinks=True)
        else:
            shutil.copy2(entry.path, str(target), follow_symlinks=False)

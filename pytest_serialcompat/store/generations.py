"""Generations: the goldens each release of the project wrote, kept read-only beside today's.

The *current* generation is the store as it has always been laid out.  A
*frozen* generation is what one project version recorded, copied with its
manifests into a ``releases/<version>/`` folder of each sample, so a diff of a
release shows one folder per sample and release::

    tests/__serialcompat__/order/
        cpython3.12-p4.pickle                    current generation (today's code)
        cpython3.12.manifest.json
        releases/
            1.2.0/
                cpython3.8-p4.pickle             what 1.2.0 wrote on CPython 3.8
                cpython3.8.manifest.json         its manifest, "project_version": "1.2.0"
            1.1.0/
                ...

Inside the store a frozen generation is addressed like a sample whose name is
``<sample>/releases/<version>`` (:func:`folder_name`), so the :class:`.files.Store`
reads its goldens and manifests with the same code; ``releases`` is therefore a
reserved folder name below a sample (:func:`.layout.name_problem` refuses it).  Versions are
read with :mod:`packaging.version` and written in their normalized form.

Frozen goldens are never rewritten: :func:`write_problem` is what the store
asks before every write below a ``releases/`` folder.  Nothing here imports
pytest or the replay engine.
"""

import os
import re
from pathlib import Path
from typing import Iterable, List, NamedTuple, Optional, Tuple

from .layout import RELEASES, StoreError, is_manifest_name, parse_filename

PROJECT_VERSION = "project_version"   # manifest header and entry key

try:  # the tomllib of 3.11+, tomli before (a dependency on those Pythons)
    import tomllib as _toml
except ImportError:  # pragma: no cover - depends on the Python
    import tomli as _toml  # type: ignore


class VersionError(StoreError):
    """A project version that :mod:`packaging.version` cannot read."""


def normalize(text: str, where: str = "project version") -> str:
    """The normalized form of a version (``1.2`` stays ``1.2``, ``v1.2.0`` becomes ``1.2.0``)."""
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(str(text).strip()))
    except InvalidVersion:
        raise VersionError("%s: %r is not a version (PEP 440, e.g. 1.2.0)" % (where, text)) from None


def sort_key(version: str):
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version), version)
    except InvalidVersion:
        return (1, None, version)  # pragma: no cover - folders are filtered by is_version


def is_version(text: str) -> bool:
    try:
        return normalize(text) == text
    except VersionError:
        return False


# ----------------------------------------------------------------------------
# Names


def folder_name(sample: str, version: str) -> str:
    """The store name of one sample's frozen generation: ``<sample>/releases/<version>``."""
    return "%s/%s/%s" % (sample, RELEASES, version)


def split_folder(name: str) -> Optional[Tuple[str, str]]:
    """(sample, version) when ``name`` is a frozen generation's folder, else None."""
    parts = name.split("/")
    if len(parts) >= 3 and parts[-2] == RELEASES and is_version(parts[-1]):
        return "/".join(parts[:-2]), parts[-1]
    return None


def split_relpath(relpath: str) -> Optional[Tuple[str, str, str]]:
    """(sample, version, file name) of a path inside a frozen generation, else None."""
    folder, _, filename = relpath.rpartition("/")
    found = split_folder(folder)
    return None if found is None else (found[0], found[1], filename)


def is_frozen_relpath(relpath: str) -> bool:
    return split_relpath(relpath) is not None


class Generation(NamedTuple):
    sample: str
    version: str

    @property
    def folder(self) -> str:
        return folder_name(self.sample, self.version)

    @property
    def label(self) -> str:
        return self.version


def frozen(store, sample: str) -> List[Generation]:
    """The frozen generations of one sample, oldest version first."""
    base = os.path.join(str(store.root), *sample.split("/"), RELEASES)
    try:
        names = os.listdir(base)
    except OSError:
        return []
    found = []
    for version in names:
        if not is_version(version):
            continue
        try:
            files = os.listdir(os.path.join(base, version))
        except OSError:
            continue
        if any(parse_filename(f) or is_manifest_name(f) for f in files):
            found.append(Generation(sample, version))
    found.sort(key=lambda g: sort_key(g.version))
    return found


def all_frozen(store, walked=None) -> List[Generation]:
    """Every frozen generation in the store, also of samples that have no current goldens
    left (their tests are gone, the release's data stays until it is retired).

    ``walked``: a walk of the store already made (:meth:`.files.Store.walk`)."""
    return list((store.walk() if walked is None else walked).generations)


def versions(store) -> List[str]:
    """The project versions that have a frozen generation anywhere in the store, oldest first."""
    return sorted({g.version for g in all_frozen(store)}, key=sort_key)


# ----------------------------------------------------------------------------
# The rule the store keeps: frozen goldens are never rewritten


def write_problem(store, relpath: str, data: bytes) -> Optional[str]:
    """Why writing ``data`` at ``relpath`` would rewrite a frozen golden, None when it would not.

    Writing the very bytes already there is no rewrite (freezing twice is harmless).
    """
    if not is_frozen_relpath(relpath):
        return None
    existing = store.read_if_exists(relpath)
    if existing is None or existing == data:
        return None
    return ("%s is a frozen golden of release %s and is never rewritten"
            % (store.display(relpath), split_relpath(relpath)[1]))


def entry_problem(sample_folder: str, filename: str, old: Optional[dict], new: Optional[dict]
                  ) -> Optional[str]:
    """Why a manifest change in a frozen generation would rewrite what it vouches for."""
    if split_folder(sample_folder) is None or old is None:
        return None
    if new is None or new.get("sha256") != old.get("sha256"):
        return ("%s/%s: the manifest entry of a frozen golden is never changed or removed "
                "(retire the whole release with `serialcompat prune-generation`)"
                % (sample_folder, filename))
    return None


# ----------------------------------------------------------------------------
# The project's version


class ProjectVersion(NamedTuple):
    version: str
    source: str   # where it was read: "ini serialcompat_project_version", "pyproject.toml", ...


def read_pyproject(rootdir: Path) -> dict:
    path = Path(rootdir) / "pyproject.toml"
    try:
        with open(str(path), "rb") as handle:
            return _toml.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StoreError("%s: cannot be read (%s)" % (path, exc)) from None


def project_version(rootdir: Path, configured: Optional[str] = None) -> Optional[ProjectVersion]:
    """The project's version: the ini value when set, else ``[project] version`` of
    pyproject.toml, else the installed distribution's metadata (a dynamic version);
    None when none says.  VersionError for one :mod:`packaging.version` cannot read."""
    if configured and configured.strip():
        return ProjectVersion(normalize(configured, "serialcompat_project_version"),
                              "serialcompat_project_version")
    project = read_pyproject(rootdir).get("project")
    if not isinstance(project, dict):
        return None
    version = project.get("version")
    if isinstance(version, str):
        return ProjectVersion(normalize(version, "pyproject.toml [project] version"),
                              "pyproject.toml")
    name = project.get("name")
    if isinstance(name, str) and "version" in (project.get("dynamic") or ()):
        try:
            from importlib import metadata
        except ImportError:  # pragma: no cover - 3.8 has it
            return None
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            return None
        return ProjectVersion(normalize(installed, "installed %s metadata" % name),
                              "installed distribution %s" % name)
    return None


_INI_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.*?)\s*$")


def read_ini_value(rootdir: Path, key: str) -> Optional[str]:
    """A pytest ini value as pytest would find it in the rootdir: pytest.ini, pyproject.toml
    ``[tool.pytest.ini_options]``, tox.ini ``[pytest]``, setup.cfg ``[tool:pytest]``.

    For the ``serialcompat`` command line, which runs without pytest (one-line values only).
    """
    rootdir = Path(rootdir)
    for filename, sections in (("pytest.ini", ("pytest",)), ("pyproject.toml", None),
                               ("tox.ini", ("pytest",)), ("setup.cfg", ("tool:pytest",))):
        path = rootdir / filename
        if not path.is_file():
            continue
        if sections is None:
            options = ((read_pyproject(rootdir).get("tool") or {}).get("pytest") or {}).get(
                "ini_options")
            if isinstance(options, dict):
                value = options.get(key)
                return None if value is None else str(value)
            continue
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(str(path), encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError, OSError):
            continue
        for section in sections:
            if parser.has_section(section):
                value = parser.get(section, key, fallback=None)
                return None if value is None else value.strip()
        if filename == "pytest.ini":
            return None
    return None


# ----------------------------------------------------------------------------
# Freezing: copying goldens of the current generation into a release's folder


class Frozen(NamedTuple):
    """What freezing some goldens takes: the store requests, and the goldens that cannot go."""

    requests: list          # results.StoreRequest: WRITE the bytes, MANIFEST the entries
    problems: List[str]     # "<relpath>: why" for goldens left where they are
    already: List[str]      # relpaths already frozen with the same bytes


def freeze_requests(store, sample: str, interpreter: str, filenames: Iterable[str],
                    version: str, reason: str = "frozen") -> Frozen:
    """The requests that copy ``filenames`` (goldens ``interpreter`` recorded for ``sample``)
    into the frozen generation ``version``, with their manifest entries.

    Only bytes that match their manifest are frozen (a tampered golden is not
    anyone's release data); a frozen golden already holding other bytes is left
    alone and reported.
    """
    import hashlib

    from ..results import MANIFEST, WRITE, StoreRequest
    from .layout import manifest_filename

    requests, problems, already = [], [], []
    manifest = store.manifest(sample, interpreter)
    target = folder_name(sample, version)
    try:
        frozen_manifest = store.manifest(target, interpreter) or {}
    except StoreError:
        frozen_manifest = {}
    frozen_entries = frozen_manifest.get("goldens", {})
    entries = {}
    for filename in filenames:
        relpath = "%s/%s" % (sample, filename)
        entry = (manifest or {}).get("goldens", {}).get(filename)
        if not isinstance(entry, dict):
            problems.append("%s: not frozen, no entry in %s" % (relpath, manifest_filename(interpreter)))
            continue
        try:
            data = store.read(relpath)
        except OSError as exc:
            problems.append("%s: not frozen, cannot be read (%s)" % (relpath, exc))
            continue
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            problems.append("%s: not frozen, its bytes do not match its manifest (tampered?)"
                            % relpath)
            continue
        frozen_path = "%s/%s" % (target, filename)
        existing = store.read_if_exists(frozen_path)
        if existing is not None and existing != data:
            problems.append("%s: not frozen, release %s already holds other bytes under that "
                            "name (%s)" % (relpath, version, store.display(frozen_path)))
            continue
        if existing is not None and filename in frozen_entries:
            already.append(frozen_path)
            continue
        if existing is None:  # (the same bytes without their entry: only the entry is added)
            requests.append(StoreRequest(WRITE, frozen_path, data, reason=reason))
        frozen_entry = dict(entry)
        frozen_entry[PROJECT_VERSION] = version
        entries[filename] = frozen_entry
    if entries:
        header = {k: v for k, v in (manifest or {}).items() if k != "goldens"}
        header[PROJECT_VERSION] = version
        header["frozen_from"] = sample
        requests.append(StoreRequest(MANIFEST, sample=target, interpreter=interpreter,
                                     header=header, entries=entries, reason=reason))
    return Frozen(requests, problems, already)


def freeze_store(store, version: str, samples: Optional[Iterable[str]] = None) -> Frozen:
    """The requests that freeze the whole current generation (or ``samples``) as ``version``."""
    requests, problems, already = [], [], []
    for sample in (store.samples() if samples is None else samples):
        goldens = store.goldens(sample)
        by_producer = {}
        for golden in goldens:
            by_producer.setdefault(golden.interpreter, []).append(golden.filename)
        for interpreter, filenames in sorted(by_producer.items()):
            try:
                found = freeze_requests(store, sample, interpreter, filenames, version)
            except StoreError as exc:
                problems.append("%s: not frozen (%s)" % (sample, exc))
                continue
            requests.extend(found.requests)
            problems.extend(found.problems)
            already.extend(found.already)
    return Frozen(requests, problems, already)


def retire(store, version: str) -> List[str]:
    """Delete the frozen generation ``version`` of every sample; returns the paths removed.

    The one way a frozen golden goes (``serialcompat prune-generation``).
    """
    import shutil

    removed = []
    for generation in all_frozen(store):
        if generation.version != version:
            continue
        folder = store.folder(generation.folder)
        removed.extend(str(p) for p in sorted(folder.rglob("*")) if p.is_file())
        shutil.rmtree(str(folder))
        store.remove_empty_folders("%s/%s" % (generation.sample, RELEASES))
    return removed

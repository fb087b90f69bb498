"""Where the matrix's throwaway venvs get pytest-serialcompat from: what the user has installed.

The plugin that runs ``serialcompat matrix`` is the one the environments must
run too, so it is read from the installed distribution's PEP 610 record
(``direct_url.json``): an editable or local-folder install is installed from
that folder, a VCS install from its URL at the recorded commit, a wheel or
sdist from its file while it is there.  An install with no such record came
from an index and is installed by version.  When none of these can be had
again (the folder or the file is gone, the install came from something other
than pip), a wheel is built from the installed files themselves: the plugin is
pure Python, so its installed files are a complete wheel.  ``--plugin-source``
overrides all of it.

A :class:`PluginSource` says what pip installs and what the venv cache key
follows (its ``identity``): a reinstall of the plugin changes the identity, an
edit inside an editable checkout does not (the venv sees it through ``-e``).
"""

import base64
import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Optional, Sequence, Tuple
from urllib.parse import unquote, urlparse

from importlib import metadata

from .. import __version__
from .plans import RunnerError


DISTRIBUTION = "pytest-serialcompat"


EDITABLE, LOCAL, VCS, ARCHIVE, INDEX, BUILT, GIVEN = (
    "editable", "local", "vcs", "archive", "index", "built", "given")


DIRECT_URL = "direct_url.json"


# installed files that are not part of a wheel (pip writes them at install time)
INSTALL_ONLY = {"RECORD", "INSTALLER", "REQUESTED", DIRECT_URL}


# a fixed timestamp, so the same installed files always make the same wheel (and venv key)
WHEEL_DATE = (1980, 1, 1, 0, 0, 0)


WHEEL_FOLDER = "plugin-wheels"


OPTION_HINT = ("give the plugin with --plugin-source PATH|WHEEL|REQUIREMENT (a checkout of "
               "pytest-serialcompat, a wheel file, or a pip requirement)")


class PluginSource:
    """What pip installs for the plugin, and what the venv key follows."""

    def __init__(self, kind: str, pip_args: Sequence[str], identity: str, description: str):
        self.kind = kind
        self.pip_args = list(pip_args)
        self.identity = identity
        self.description = description

    def __repr__(self):
        return "PluginSource(%r, %r)" % (self.kind, self.pip_args)

    def install_failed(self) -> str:
        """The one error text for a plugin that pip could not install (the same in every venv)."""
        return ("pytest-serialcompat %s could not be installed into the venvs from %s (pip "
                "install %s failed; see the logs): %s"
                % (__version__, self.description, " ".join(self.pip_args), OPTION_HINT))


def resolve(explicit: Optional[str], wheel_dir: Path) -> PluginSource:
    """The plugin source for this run: ``--plugin-source``, else what is installed."""
    if explicit:
        return _given(explicit)
    dist = installed_copy()
    if dist is None or not _is_this_copy(dist):
        root = source_root()
        if root is not None:   # running from a checkout that is not (this) installed copy
            return PluginSource(EDITABLE, ["-e", str(root)], "editable " + str(root),
                                "the checkout %s" % root)
        if dist is None:
            raise RunnerError("pytest-serialcompat runs here without being installed, so the "
                              "matrix cannot install it into its venvs: " + OPTION_HINT)
    return from_distribution(dist, wheel_dir)


def installed_copy():
    """The installed distribution of the running plugin (an ``*.egg-info`` of a checkout on
    sys.path is not it), else the first one found, else None."""
    found = list(metadata.distributions(name=DISTRIBUTION))
    for dist in found:
        if _is_this_copy(dist):
            return dist
    return found[0] if found else None


def from_distribution(dist, wheel_dir: Path) -> PluginSource:
    """The source of an installed distribution, read from its ``direct_url.json``."""
    version = dist.version
    try:
        direct = json.loads(dist.read_text(DIRECT_URL) or "null")
    except ValueError:
        direct = None
    if isinstance(direct, dict) and isinstance(direct.get("url"), str):
        found = _from_direct_url(dist, direct)
        if found is not None:
            return found
    elif (dist.read_text("INSTALLER") or "").strip() in ("pip", "uv"):
        requirement = "%s==%s" % (DISTRIBUTION, version)
        return PluginSource(INDEX, [requirement], "index " + requirement,
                            "the package index (%s)" % requirement)
    wheel = build_wheel(dist, wheel_dir)
    return PluginSource(BUILT, [str(wheel)], "wheel " + wheel.name + " " + _file_digest(wheel),
                        "a wheel built from the installed copy (%s)" % wheel)


def _from_direct_url(dist, direct: dict) -> Optional[PluginSource]:
    url = direct["url"]
    path = _file_url_path(url)
    if "vcs_info" in direct:
        info = direct["vcs_info"] or {}
        vcs, commit = info.get("vcs", "git"), info.get("commit_id", "")
        pip_url = "%s+%s%s" % (vcs, url, "@" + commit if commit else "")
        if direct.get("subdirectory"):
            pip_url += "#subdirectory=" + direct["subdirectory"]
        # the bare URL: pip reads "name @ git+file:///..." as a path (pip < 24), this it reads
        return PluginSource(VCS, [pip_url], "vcs " + pip_url, pip_url)
    if "dir_info" in direct:
        if path is None or not path.is_dir():
            return None
        if (direct["dir_info"] or {}).get("editable"):
            return PluginSource(EDITABLE, ["-e", str(path)], "editable " + str(path),
                                "the editable checkout %s" % path)
        return PluginSource(LOCAL, [str(path)], "local %s %s" % (path, _record_digest(dist)),
                            "the folder it was installed from (%s)" % path)
    if "archive_info" in direct:
        if path is None:
            requirement = "%s @ %s" % (DISTRIBUTION, url)
            return PluginSource(ARCHIVE, [requirement], "archive " + url, url)
        if path.is_file():
            return PluginSource(ARCHIVE, [str(path)], "archive %s %s" % (path, _file_digest(path)),
                                "the file it was installed from (%s)" % path)
    return None


def _given(explicit: str) -> PluginSource:
    path = Path(explicit)
    if path.is_dir():
        resolved = path.resolve()
        return PluginSource(GIVEN, ["-e", str(resolved)], "editable " + str(resolved),
                            "--plugin-source %s" % explicit)
    if path.is_file():
        resolved = path.resolve()
        return PluginSource(GIVEN, [str(resolved)], "file %s %s" % (resolved, _file_digest(
            resolved)), "--plugin-source %s" % explicit)
    return PluginSource(GIVEN, [explicit], "requirement " + explicit,
                        "--plugin-source %s" % explicit)


def _is_this_copy(dist) -> bool:
    """Whether ``dist`` is the copy whose code is running (not a stale install next to a checkout)."""
    here = Path(__file__).resolve().parent.parent
    if not str(getattr(dist, "_path", "")).endswith(".dist-info"):
        return False   # an egg-info folder beside a checkout describes no install
    try:
        located = Path(str(dist.locate_file("pytest_serialcompat"))).resolve()
    except (OSError, ValueError):
        return False
    if located == here:
        return True
    direct = dist.read_text(DIRECT_URL) or ""
    try:
        info = json.loads(direct) if direct else {}
    except ValueError:
        info = {}
    path = _file_url_path(info.get("url", "")) if isinstance(info, dict) else None
    return bool(path is not None and (info.get("dir_info") or {}).get("editable")
                and (path / "pytest_serialcompat").resolve() == here)


def source_root() -> Optional[Path]:
    """The checkout this plugin runs from, when it is one (a pyproject.toml naming the project)."""
    root = Path(__file__).resolve().parent.parent.parent
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if re.search(r'^name\s*=\s*"%s"' % re.escape(DISTRIBUTION), text, re.M) else None


def _file_url_path(url: str) -> Optional[Path]:
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _record_digest(dist) -> str:
    """A digest of the installed files' list with their hashes: a reinstall changes it."""
    return hashlib.sha256((dist.read_text("RECORD") or "").encode("utf-8")).hexdigest()[:16]


def _wheel_tag(dist) -> str:
    for line in (dist.read_text("WHEEL") or "").splitlines():
        if line.startswith("Tag:"):
            return line.split(":", 1)[1].strip()
    return "py3-none-any"


def _wheel_members(dist) -> Sequence[Tuple[str, bytes]]:
    """(archive name, bytes) of every installed file that belongs in the wheel."""
    members = []
    for entry in dist.files or ():
        parts = entry.parts
        if not parts or parts[0] == ".." or "__pycache__" in parts or entry.suffix == ".pyc":
            continue   # console scripts (pip makes them from entry_points.txt), bytecode
        if parts[0].endswith(".dist-info") and parts[-1] in INSTALL_ONLY:
            continue
        location = Path(str(dist.locate_file(entry)))
        try:
            members.append(("/".join(parts), location.read_bytes()))
        except OSError as exc:
            raise RunnerError("cannot build a wheel of the installed pytest-serialcompat: %s is "
                              "unreadable (%s); %s" % (location, exc.strerror or exc, OPTION_HINT)
                              ) from None
    return sorted(members)


def build_wheel(dist, wheel_dir: Path) -> Path:
    """A wheel of the installed files of ``dist`` under ``wheel_dir`` (reused when unchanged)."""
    members = _wheel_members(dist)
    if not any(name.endswith(".dist-info/METADATA") for name, _ in members):
        raise RunnerError("the installed pytest-serialcompat lists no files to build a wheel "
                          "from; " + OPTION_HINT)
    info_dir = next(name.split("/")[0] for name, _ in members if name.endswith("/METADATA"))
    content = hashlib.sha256()
    for name, data in members:
        content.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    name = "%s-%s-%s.whl" % (re.sub(r"[-_.]+", "_", dist.metadata["Name"]), dist.version,
                             _wheel_tag(dist))
    target = wheel_dir / content.hexdigest()[:16] / name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    record = []
    with zipfile.ZipFile(str(partial), "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members:
            archive.writestr(zipfile.ZipInfo(member, WHEEL_DATE), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append("%s,sha256=%s,%d" % (member, digest.decode("ascii"), len(data)))
        record.append("%s/RECORD,," % info_dir)
        archive.writestr(zipfile.ZipInfo(info_dir + "/RECORD", WHEEL_DATE),
                         "\n".join(record) + "\n")
    partial.replace(target)
    return target

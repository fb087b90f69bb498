"""Where ``.obtained`` files go: outside the committed store.

What the current code makes of a failed golden is an inspection aid, never
something to commit, so it is written under pytest's cache folder
(``<cache_dir>/serialcompat/obtained/``, ``.pytest_cache`` unless the ``cache_dir``
ini value says otherwise) or under the ini value ``serialcompat_obtained_dir``,
with the store's own layout below it (``<sample>/<golden>.<replayer>.obtained``),
and a ``.gitignore`` that keeps the folder out of version control.  Older runs
wrote them beside the goldens; those are still found and pruned with their golden.
"""

from pathlib import Path
from typing import Optional

DEFAULT_CACHE_DIR = ".pytest_cache"


SUBDIR = ("serialcompat", "obtained")


GITIGNORE = "# created by pytest-serialcompat: obtained bytes are never committed\n*\n"


def obtained_root(rootdir: Path, configured: Optional[str], cache_dir: Optional[str]) -> Path:
    """The folder of ``.obtained`` files: the configured one, else under pytest's cache dir
    (both relative to the rootdir)."""
    if configured:
        return rootdir / configured
    return (rootdir / (cache_dir or DEFAULT_CACHE_DIR)).joinpath(*SUBDIR)


def prepare(root: Path) -> None:
    """Create the folder with its .gitignore before the first file goes in."""
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        try:
            ignore.write_text(GITIGNORE, encoding="utf-8")
        except OSError:
            pass

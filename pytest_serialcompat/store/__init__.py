"""The golden store: layout, manifests, atomic writes (and nothing of pytest or replay).

Layout (one folder per sample, one file per format/protocol/interpreter)::

    tests/__serialcompat__/
        user/
            cpython3.8-p2.pickle ... cpython3.8-p5.pickle
            cpython3.8-v4.marshal
            cpython3.8.json
            cpython3.8.manifest.json     <- canonical JSON, one per producer
            cpython3.13-p5.pickle
            cpython3.13.manifest.json
            ...
            releases/1.2.0/             <- a frozen generation: what release 1.2.0 recorded
                cpython3.8-p4.pickle
                cpython3.8.manifest.json

* :mod:`.layout`: the names (sample folders, golden, manifest, obtained and
  temporary file names);
* :mod:`.manifest`: the manifest schema (globals as ``[module, qualname]``);
* :mod:`.files`: the :class:`Store` on disk and atomic writes;
* :mod:`.generations`: frozen generations (releases), the project version, freezing.

Both the plugin and the linter (``serialcompat_lint``, rule SC110) read goldens
through this package, so the two cannot disagree about the format.  It imports
neither pytest nor the replay engine.
"""

from . import generations, manifest
from .files import Store, atomic_write, canonical_bytes
from .layout import (
    DEFAULT_DIR, FILE_NAMES, MANIFEST_SUFFIX, MAX_NAME_LENGTH, OBTAINED_SUFFIX, TEMP_MARK,
    TEMP_SUFFIX, GoldenFile, StoreError, golden_filename, is_manifest_name, is_obtained_for,
    manifest_filename, name_problem, obtained_filename, parse_filename, producer_of,
    sanitize_name, temp_target, version_key,
)

MANIFEST_KIND = manifest.KIND
MANIFEST_VERSION = manifest.VERSION

__all__ = [
    "DEFAULT_DIR", "FILE_NAMES", "MANIFEST_KIND", "MANIFEST_SUFFIX", "MANIFEST_VERSION",
    "MAX_NAME_LENGTH", "OBTAINED_SUFFIX", "TEMP_MARK", "TEMP_SUFFIX", "GoldenFile", "Store",
    "StoreError", "atomic_write", "canonical_bytes", "golden_filename", "is_manifest_name",
    "generations", "is_obtained_for", "manifest", "manifest_filename", "name_problem", "obtained_filename",
    "parse_filename", "producer_of", "sanitize_name", "temp_target", "version_key",
]

"""The manifest: what one producer recorded in one sample folder, and how it is checked.

A manifest is canonical JSON, one per producer and sample
(``<sample>/<interpreter>.manifest.json``)::

    {"goldens": {"cpython3.12-p4.pickle": {"format": "pickle", "protocol": 4,
                  "sha256": "...", "size": 312, "type": "shop.models.Order",
                  "globals": [["shop.models", "Order"], ["numpy", "ndarray"]],
                  "libraries": {"numpy": "2.2.1"}}, ...},
     "implementation": "cpython", "interpreter": "cpython3.12", "kind": "pytest-serialcompat golden manifest",
     "magic_number": 3531, "manifest_version": 2, "marshal_version": 4, "pickle_highest_protocol": 5,
     "plugin_version": "0.1.0", "python_version": "3.12.1", "recorded_by": "tests/test_shop.py::test_order",
     "sample": "order"}

``globals`` lists every class or function a pickle golden names, as
``[module, qualname]`` pairs: the boundary between the two is what pickle
resolves (``a.b.C.D`` may be module ``a.b`` and class ``C.D``).  Version 1
manifests wrote ``"module.qualname"`` strings; they are still read (every
split of the string is a candidate) and rewritten as pairs by the next update.

``libraries`` (pickle goldens) names the installed version of every third-party
distribution whose globals the golden names (the project's own packages and
the standard library are none), so a replay on other versions can say
``recorded with numpy 2.2.1, read here with numpy 1.24.4``.  Manifests written
before it have no such key: nothing is said then.
"""

import json
from typing import Any, Iterable, List, Tuple

from .layout import StoreError

KIND = "pytest-serialcompat golden manifest"
VERSION = 2
MAX_BYTES = 16 * 1024 * 1024

Global = Tuple[str, str]


def parse(raw: bytes, path: str) -> dict:
    """A manifest from its bytes; StoreError naming ``path`` when it is not a usable one."""
    if len(raw) > MAX_BYTES:
        raise StoreError("%s: manifest larger than %d bytes" % (path, MAX_BYTES))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError("%s: not valid JSON (%s)" % (path, exc)) from None
    if not isinstance(data, dict) or data.get("kind") != KIND or not isinstance(data.get("goldens"), dict):
        raise StoreError("%s: not a serialcompat manifest" % (path,))
    return data


def encode_globals(pairs: Iterable[Global]) -> List[List[str]]:
    return [[module, qualname] for module, qualname in pairs]


def libraries(entry: Any) -> dict:
    """The entry's ``libraries`` (distribution -> version), {} when absent or malformed."""
    found = entry.get("libraries") if isinstance(entry, dict) else None
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def is_current(entry: Any) -> bool:
    """Whether an entry's globals are already written as pairs (no migration needed)."""
    names = entry.get("globals") if isinstance(entry, dict) else None
    return not isinstance(names, list) or all(isinstance(n, list) for n in names)


def global_candidates(entry: Any) -> Tuple[List[List[Global]], List[str]]:
    """For each global a golden names, its candidate ``(module, qualname)`` splits, and problems.

    A pair has one candidate.  A version-1 ``"a.b.C"`` string has one per dot,
    the longest module first (``("a.b", "C")``, ``("a", "b.C")``): the reader
    picks the one that names a module.
    """
    names = entry.get("globals") if isinstance(entry, dict) else None
    found: List[List[Global]] = []
    problems: List[str] = []
    if names is None:
        return found, problems
    if not isinstance(names, list):
        return found, ["\"globals\" is not a list"]
    for name in names:
        if isinstance(name, list) and len(name) == 2 and all(isinstance(p, str) and p for p in name):
            found.append([(name[0], name[1])])
        elif isinstance(name, str) and "." in name.strip("."):
            parts = name.split(".")
            found.append([(".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)])
        else:
            problems.append("malformed \"globals\" entry %r (expected [module, qualname])" % (name,))
    return found, problems


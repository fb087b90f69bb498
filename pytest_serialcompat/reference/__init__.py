"""The reference serializer: pure-Python pickle, a safe analyzer, marshal and canonical JSON.

Everything public is importable from here; each name lives in the module that
does that one job (``pickler``, ``unpickler``, ``analyzer``, ``marshal_codec``,
``pyc``, ``canonical_json``).  Submodules are imported on first use so that a
plugin run that never touches marshal never pays for it.
"""

import importlib

from .errors import MalformedPickle

_EXPORTS = {
    # pickle
    "Pickler": "pickler",
    "dumps": "pickler",
    "dump": "pickler",
    "PickleBuffer": "pickler",
    "Unpickler": "unpickler",
    "loads": "unpickler",
    "load": "unpickler",
    # analyzer
    "analyze": "analyzer",
    "analyze_file": "analyzer",
    "Analysis": "analyzer",
    "Limits": "analyzer",
    "CallSite": "analyzer",
    "UnsafeGlobal": "analyzer",
    "is_allowed": "allowlist",
    "DEFAULT_ALLOW": "allowlist",
    # marshal, code objects, .pyc
    "marshal_dumps": "marshal_codec",
    "marshal_loads": "marshal_codec",
    "MarshalError": "marshal_codec",
    "CodeInfo": "codeinfo",
    "read_code": "codeinfo",
    "CodeVersionError": "codeinfo",
    "read_pyc": "pyc",
    "PycInfo": "pyc",
    "PycError": "pyc",
    # canonical JSON
    "canonical_json_dumps": "canonical_json",
    "canonical_json_loads": "canonical_json",
    "CanonicalJSONError": "canonical_json",
    "JSONLimits": "canonical_json",
}

__all__ = ["MalformedPickle", *_EXPORTS]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)

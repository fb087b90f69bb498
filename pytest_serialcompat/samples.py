"""Declarative samples: ``[tool.serialcompat] samples = ["myapp.samples:SAMPLES"]`` in pyproject.toml.

Each spec names a mapping of sample name to an object or a zero-argument
factory (a function, method or functools.partial -- called afresh for every
run; classes and other objects are used as they are).  Wrap a value in
:class:`Sample` to choose formats, protocols or a comparator.  Under
``--serialcompat`` / ``--serialcompat-update`` every entry becomes a test item
``pyproject.toml::serialcompat[name]``, so a project needs no test code.
"""

import functools
import importlib
import sys
import traceback
import types
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import pytest

from .fixture import DEFAULT_FORMATS, check_object, get_state
from .store import name_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.8-3.10
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
FACTORY_TYPES = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial)


class SamplesError(Exception):
    """A samples declaration that cannot be used; the message says which and why."""


class Sample:
    """A sample value with its own check() options."""

    def __init__(self, value, *, formats: Sequence[str] = DEFAULT_FORMATS,
                 protocols: Optional[Sequence[int]] = None, compare: Optional[Callable] = None):
        self.value = value
        self.formats = formats
        self.protocols = protocols
        self.compare = compare

    def build(self):
        value = self.value
        return value() if isinstance(value, FACTORY_TYPES) else value


def pyproject_path(config) -> Path:
    inipath = getattr(config, "inipath", None)
    if inipath is not None and Path(str(inipath)).name == PYPROJECT:
        return Path(str(inipath))
    return Path(str(config.rootpath)) / PYPROJECT


def read_specs(path: Path) -> List[str]:
    """The ``samples`` list of ``[tool.serialcompat]``; empty when not declared."""
    try:
        with open(str(path), "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return []
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SamplesError("%s: %s" % (path, exc)) from None
    table = data.get("tool", {}).get("serialcompat", {})
    specs = table.get("samples", [])
    if isinstance(specs, str):
        specs = [specs]
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        raise SamplesError("%s: [tool.serialcompat] samples must be a list of 'module:NAME' strings"
                           % path)
    return specs


def _user_traceback(exc: BaseException) -> str:
    """The traceback of an exception, without importlib's and this plugin's frames."""
    frames = [
        frame for frame in traceback.extract_tb(exc.__traceback__)
        if "importlib" not in frame.filename and "pytest_serialcompat" not in frame.filename
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


def load_mapping(spec: str) -> Mapping[str, Any]:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SamplesError("samples entry %r: expected 'module:NAME'" % spec)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SamplesError(
            "samples entry %r: cannot import %s (%s: %s); is the project installed, or "
            "`pythonpath = .` set in the pytest configuration?"
            % (spec, module_name, type(exc).__name__, exc)) from None
    except Exception as exc:
        raise SamplesError("samples entry %r: importing %s raised:\n%s"
                           % (spec, module_name, _user_traceback(exc))) from None
    value = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise SamplesError("samples entry %r: %s has no attribute %r" % (spec, module_name, part)
                               ) from None
    if isinstance(value, FACTORY_TYPES):
        try:
            value = value()
        except Exception as exc:
            raise SamplesError("samples entry %r: calling it raised:\n%s"
                               % (spec, _user_traceback(exc))) from None
    if not isinstance(value, Mapping):
        raise SamplesError("samples entry %r is a %s, not a mapping of name to object or factory"
                           % (spec, type(value).__name__))
    return value


class SampleItem(pytest.Item):
    def __init__(self, *, sample_name: str, sample, spec: str, **kwargs):
        super().__init__(**kwargs)
        self.sample_name = sample_name
        self.sample = sample if isinstance(sample, Sample) else Sample(sample)
        self.spec = spec

    def runtest(self) -> None:
        state = get_state(self.config)
        obj = self.sample.build()
        sample = self.sample
        explicit = sample.formats is not DEFAULT_FORMATS
        formats = (sample.formats,) if isinstance(sample.formats, str) else tuple(sample.formats)
        check_object(state, self.nodeid, obj, self.sample_name, formats, explicit,
                     sample.protocols, sample.compare)

    def reportinfo(self):
        return self.path, None, "serialcompat sample %s (%s)" % (self.sample_name, self.spec)


class SamplesFile(pytest.File):
    """pyproject.toml, seen as a collector of its declared samples."""

    def collect(self):
        state = get_state(self.config)
        seen: Dict[str, str] = {}
        for spec in read_specs(self.path):
            mapping = load_mapping(spec)
            state.add_sample_module(spec.partition(":")[0])
            for key, value in mapping.items():
                problem = name_problem(key) if isinstance(key, str) else "sample names are strings"
                if problem:
                    raise SamplesError("samples entry %r: %s" % (spec, problem))
                if key in seen:
                    raise SamplesError("sample %r is declared by both %s and %s" % (key, seen[key], spec))
                seen[key] = spec
                yield SampleItem.from_parent(self, name="serialcompat[%s]" % key, sample_name=key,
                                             sample=value, spec=spec)

    def repr_failure(self, excinfo):  # collection errors: the message, not our traceback
        if isinstance(excinfo.value, SamplesError):
            return "serialcompat: %s" % excinfo.value
        return super().repr_failure(excinfo)


def has_samples(config) -> bool:
    try:
        return bool(read_specs(pyproject_path(config)))
    except SamplesError:
        return True  # collected, so that the error is reported

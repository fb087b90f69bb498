"""CPython's own pickle conformance suite, run against the reference serializer.

The suites come from the running interpreter's ``test.pickletester`` (the same
module ``Lib/test/test_pickle.py`` uses), wired the way ``test_pickle.py``
wires ``PyUnpicklerTests`` and ``CDumpPickle_LoadPickle``:

* ``AbstractUnpickleTests`` -- hand-written and Python 2 pickles -- against the
  reference unpickler reading from an in-memory ``loads``, a seekable
  ``BytesIO`` and an unseekable stream (each input path of the engine);
* the round-trip suites (``AbstractPickleTests``, the persistent-id suites,
  ``AbstractPicklerUnpicklerObjectTests``, ``AbstractPickleModuleTests``) with
  the C pickler writing and the reference unpickler reading.

Each pairing is one :class:`Implementation`; to run the suites for another
pickler/unpickler pair (e.g. the reference pickler), add an entry to
``IMPLEMENTATIONS``.  Tests that are about the C implementation itself are
skipped with the reason in ``C_ONLY`` (see ``C_ONLY_TABLE`` for the docs).
"""

import collections
import io
import pickle
import unittest
from typing import Callable, NamedTuple

import pytest

from pytest_serialcompat.reference import pickler as ref_pickler
from pytest_serialcompat.reference import unpickler as ref_unpickler

try:
    from test import pickletester
except ImportError as exc:  # the interpreter was built without its test package
    pickletester = None
    pytestmark = pytest.mark.skip(
        reason="CPython's test package (test.pickletester) is not installed: %s" % exc
    )


class Implementation(NamedTuple):
    """One pickler/unpickler pairing the suites run against."""

    name: str  # used in the generated class names
    Pickler: type
    Unpickler: type
    dumps: Callable  # dumps(obj, protocol=None, **kwargs) -> bytes
    dump: Callable
    loads: Callable  # loads(data, **kwargs) -> object
    load: Callable
    # How the unpickle-only suite feeds data to the unpickler: "memory" (loads),
    # "bytesio" (Unpickler(BytesIO)), "unseekable" (Unpickler(UnseekableIO)).
    feeds: tuple = ("memory", "bytesio", "unseekable")
    # Run the pickler-only suites (pickling errors, dispatch tables, hooks) on Pickler.
    pickler_suites: bool = False


IMPLEMENTATIONS = [
    Implementation(
        name="CPickleRefUnpickle",
        Pickler=pickle.Pickler,
        Unpickler=ref_unpickler.Unpickler,
        dumps=pickle.dumps,
        dump=pickle.dump,
        loads=ref_unpickler.loads,
        load=ref_unpickler.load,
    ),
    # The reference pickler, read back by the C unpickler: the pickler alone.
    Implementation(
        name="RefPickleCUnpickle",
        Pickler=ref_pickler.Pickler,
        Unpickler=pickle.Unpickler,
        dumps=ref_pickler.dumps,
        dump=ref_pickler.dump,
        loads=pickle.loads,
        load=pickle.load,
        feeds=(),
        pickler_suites=True,
    ),
    # Both halves of the reference serializer together.
    Implementation(
        name="RefPickleRefUnpickle",
        Pickler=ref_pickler.Pickler,
        Unpickler=ref_unpickler.Unpickler,
        dumps=ref_pickler.dumps,
        dump=ref_pickler.dump,
        loads=ref_unpickler.loads,
        load=ref_unpickler.load,
        feeds=(),
    ),
]

# Tests that exercise the C implementation rather than pickle behaviour:
# test name -> reason.  Applied to every generated suite.
C_ONLY = {}

# For the README/docs: (suite, test, reason) rows, filled from C_ONLY.
C_ONLY_TABLE = sorted(C_ONLY.items())


def _testcase_bases(abstract):
    """On 3.8 the Abstract* classes are TestCases themselves; later they are mixins."""
    if issubclass(abstract, unittest.TestCase):
        return (abstract,)
    return (abstract, unittest.TestCase)


def _skip_c_only(namespace):
    for name, reason in C_ONLY.items():
        namespace[name] = unittest.skip(reason)(lambda self: None)


def _feed_loads(impl: Implementation, feed: str):
    if feed == "memory":
        return lambda self, buf, **kwds: impl.loads(buf, **kwds)
    if feed == "bytesio":
        return lambda self, buf, **kwds: self.unpickler(io.BytesIO(buf), **kwds).load()
    if feed == "unseekable":
        return lambda self, buf, **kwds: self.unpickler(
            pickletester.UnseekableIO(buf), **kwds
        ).load()
    raise ValueError(feed)


def _make(name, abstract, namespace):
    if abstract is None:
        return
    _skip_c_only(namespace)
    cls = type(name, _testcase_bases(abstract), namespace)
    cls.__module__ = __name__
    globals()[name] = cls


def _suites(impl: Implementation):
    pt = pickletester
    # -- unpickling hand-written / Python 2 pickles ------------------------------------
    for feed in impl.feeds:
        _make(
            "Test%sUnpickle_%s" % (impl.name, feed),
            pt.AbstractUnpickleTests,
            {
                "unpickler": impl.Unpickler,
                "bad_stack_errors": (pickle.UnpicklingError,),
                "truncated_errors": (pickle.UnpicklingError,),
                "loads": _feed_loads(impl, feed),
            },
        )

    # -- round trips: impl.Pickler writes, impl.Unpickler reads --------------------------
    def dumps(self, arg, proto=None, **kwargs):
        f = io.BytesIO()
        self.pickler(f, proto, **kwargs).dump(arg)
        return f.getvalue()

    def loads(self, buf, **kwds):
        return self.unpickler(io.BytesIO(buf), **kwds).load()

    _make(
        "Test%sRoundTrip" % impl.name,
        pt.AbstractPickleTests,
        {"pickler": impl.Pickler, "unpickler": impl.Unpickler, "dumps": dumps, "loads": loads},
    )

    def pers_dumps(self, arg, proto=None):
        class PersPickler(self.pickler):
            def persistent_id(subself, obj):
                return self.persistent_id(obj)

        f = io.BytesIO()
        PersPickler(f, proto).dump(arg)
        return f.getvalue()

    def pers_loads(self, buf, **kwds):
        class PersUnpickler(self.unpickler):
            def persistent_load(subself, obj):
                return self.persistent_load(obj)

        return PersUnpickler(io.BytesIO(buf), **kwds).load()

    pers = {
        "pickler": impl.Pickler,
        "unpickler": impl.Unpickler,
        "dumps": pers_dumps,
        "loads": pers_loads,
        "persistent_load_error": pickle.UnpicklingError,
    }
    _make("Test%sPersistent" % impl.name, pt.AbstractPersistentPicklerTests, dict(pers))
    _make(
        "Test%sIdentityPersistent" % impl.name,
        getattr(pt, "AbstractIdentityPersistentPicklerTests", None),
        dict(pers),
    )
    _make(
        "Test%sObjects" % impl.name,
        pt.AbstractPicklerUnpicklerObjectTests,
        {"pickler_class": impl.Pickler, "unpickler_class": impl.Unpickler},
    )
    _make(
        "Test%sModule" % impl.name,
        pt.AbstractPickleModuleTests,
        {
            "Pickler": impl.Pickler,
            "Unpickler": impl.Unpickler,
            "dump": staticmethod(impl.dump),
            "dumps": staticmethod(impl.dumps),
            "load": staticmethod(impl.load),
            "loads": staticmethod(impl.loads),
        },
    )


    if impl.pickler_suites:
        _pickler_suites(impl)


def _pickler_suites(impl: Implementation):
    pt = pickletester

    def dumps(self, arg, proto=None, **kwargs):
        f = io.BytesIO()
        self.pickler(f, proto, **kwargs).dump(arg)
        return f.getvalue()

    # 3.13+: the errors a pickler raises for bad __reduce__ results and the like
    _make(
        "Test%sPicklingErrors" % impl.name,
        getattr(pt, "AbstractPicklingErrorTests", None),
        {"pickler": impl.Pickler, "dumps": dumps},
    )
    _make(
        "Test%sDispatchTable" % impl.name,
        pt.AbstractDispatchTableTests,
        {"pickler_class": impl.Pickler, "get_dispatch_table": lambda self: pickle.dispatch_table.copy()},
    )
    _make(
        "Test%sChainDispatchTable" % impl.name,
        pt.AbstractDispatchTableTests,
        {
            "pickler_class": impl.Pickler,
            "get_dispatch_table": lambda self: collections.ChainMap({}, pickle.dispatch_table),
        },
    )
    custom = type("Custom%sPickler" % impl.name, (impl.Pickler, pt.AbstractCustomPicklerClass), {})
    _make("Test%sHooks" % impl.name, pt.AbstractHookTests, {"pickler_class": custom})


if pickletester is not None:
    for _impl in IMPLEMENTATIONS:
        _suites(_impl)

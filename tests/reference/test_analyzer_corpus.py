"""The analyzer against pickles made by every installed CPython 3.8-3.13.

Each interpreter is started as a subprocess (found through the pyenv shims
``python3.X``) and pickles a broad corpus of stdlib data at protocols 0-5
with both its C pickler and ``pickle.py``'s pure-Python pickler.  Every such
pickle must analyze as safe on the running interpreter (zero false alarms).
The same interpreters also pickle objects whose ``__reduce__`` runs code, made
by the real picklers; every one must be refused, naming the global.

A missing interpreter is skipped with a reason, or fails when ``CI`` is set.
"""

import json
import os
import shutil
import subprocess

import pytest

from pytest_serialcompat.reference.analyzer import analyze

VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

# Runs under each interpreter: stdlib only, Python 3.8 syntax.  Prints JSON
# {"name/protocol/pickler": hex or "ERR ..."}.  Shared with tests/test_tree.py.
CORPUS_SOURCE = r'''
import sys, json, pickle, warnings
warnings.simplefilter("ignore")

def stdlib_corpus():
    import array, collections, datetime, decimal, fractions, functools, http, ipaddress
    import pathlib, re, signal, socket, time, types, uuid, enum
    c = {}
    c["none"] = None
    c["bools"] = [True, False]
    c["ints"] = [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**31, 2**63, -2**64, 10**40, -(10**300)]
    c["floats"] = [0.0, -0.0, 1.5, 1e308, 5e-324, float("inf"), float("-inf"), float("nan")]
    c["complex"] = [complex(1, -2.5), 1j]
    c["str"] = ["", "a", "h\xe9llo", "\u20ac\U0001f600", "x" * 300, "line\nbreak\\", "\ud800"]
    c["bytes"] = [b"", b"abc", bytes(range(256)), b"\x00" * 300]
    c["bytearray"] = [bytearray(), bytearray(b"abc\xff")]
    c["tuples"] = [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((1,), [2])]
    c["lists"] = [[], [1], list(range(1005)), [[[]]]]
    c["dict"] = {"a": 1, 2: "b", (1, 2): [3], None: {}}
    c["bigdict"] = {i: str(i) for i in range(1003)}
    c["sets"] = [{1, 2, 3}, set(), frozenset({"a", "b"}), frozenset(), set(range(1001))]
    c["slice_range"] = [slice(1, 10, 2), slice(None), range(0, 10, 3), range(5)]
    c["singletons"] = [Ellipsis, NotImplemented, type(None), type(Ellipsis), type(NotImplemented)]
    c["types"] = [int, list, dict, object, bytes, ValueError]
    c["datetime"] = [
        datetime.date(2024, 2, 29), datetime.time(12, 30, 1, 5), datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        datetime.timedelta(days=-1, seconds=5, microseconds=7), datetime.timezone.utc,
        datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST"),
        datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-3))),
        datetime.time(1, 2, tzinfo=datetime.timezone.utc), datetime.datetime(2021, 11, 7, 1, 30, fold=1),
        datetime.date.min, datetime.datetime.max,
    ]
    try:
        import zoneinfo
        c["zoneinfo"] = [zoneinfo.ZoneInfo("UTC"), datetime.datetime(2024, 6, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))]
    except Exception:
        pass
    c["decimal"] = [decimal.Decimal("1.10"), decimal.Decimal("NaN"), decimal.Decimal("-Infinity"),
                    decimal.Decimal("sNaN"), decimal.Decimal("-0"), decimal.Decimal("1E+999"),
                    decimal.Context(prec=5), decimal.Decimal("1.5").as_tuple()]
    c["fraction"] = [fractions.Fraction(3, 7), fractions.Fraction(-1, 2**70)]
    c["enums"] = [re.IGNORECASE, re.I | re.M, re.RegexFlag(0), http.HTTPStatus.NOT_FOUND, signal.SIGINT,
                  signal.Signals.SIGTERM, signal.SIG_DFL, socket.AF_INET, socket.SOCK_STREAM,
                  uuid.SafeUUID.safe]
    c["collections"] = [
        collections.OrderedDict([("b", 1), ("a", 2)]), collections.OrderedDict(),
        collections.deque([1, 2, 3], maxlen=5), collections.deque(),
        collections.defaultdict(list, {"k": [1]}), collections.defaultdict(None),
        collections.defaultdict(functools.partial(int, base=2)),
        collections.Counter("abracadabra"), collections.ChainMap({"a": 1}, {"b": 2}),
        collections.UserDict({"x": 1}), collections.UserList([1]), collections.UserString("s"),
    ]
    c["uuid"] = [uuid.UUID("12345678-1234-5678-1234-567812345678"), uuid.UUID(int=0)]
    c["paths"] = [pathlib.PurePosixPath("/a/b"), pathlib.PureWindowsPath("C:/x/y"),
                  pathlib.PosixPath("/tmp/x"), pathlib.PurePath("rel/p")]
    c["ip"] = [ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv6Address("::1"),
               ipaddress.IPv4Network("10.0.0.0/8"), ipaddress.IPv6Network("2001:db8::/32"),
               ipaddress.IPv4Interface("10.1.2.3/24"), ipaddress.IPv6Interface("::1/128")]
    c["re"] = [re.compile("a+b", re.I), re.compile(b"x\\d"), re.compile("(?x) a # c", re.M | re.S)]
    c["array"] = [array.array("i", [1, 2, 3]), array.array("d", [1.5, -2.0]), array.array("u", "hi"),
                  array.array("b"), array.array("Q", [2**64 - 1]), array.array("f", [0.5])]
    c["partial"] = [functools.partial(int, base=2), functools.partial(dict, a=1),
                    functools.partial(functools.partial(int, base=2), "101")]
    c["namespace"] = types.SimpleNamespace(a=1, b=[2])
    c["struct_time"] = time.gmtime(0)
    shared = [1, 2]
    c["shared"] = [shared, shared, (shared,)]
    rec = []
    rec.append(rec)
    c["recursive"] = rec
    rt = ([],)
    rt[0].append(rt)
    c["recursive_tuple"] = rt
    c["exceptions"] = [ValueError("bad", 3), KeyError("k"), StopIteration(), OSError(2, "nope")]
    c["mixed"] = {"when": datetime.date(2000, 1, 1), "amount": decimal.Decimal("9.99"),
                  "tags": frozenset({"x"}), "ids": [uuid.UUID(int=5)], "flags": re.A}
    return c


class Gadget(object):
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    def __call__(self, *args):  # the pickler only checks that a reduce callable is callable
        raise AssertionError("never called")


class StateGadget(object):
    """BUILD-based: a reduce that sets state through a setter callable."""

    def __init__(self, setter):
        self.setter = setter

    def __reduce__(self):
        return (dict, (), {"x": 1}, None, None, self.setter)


def hostile_corpus():
    import builtins, functools, importlib, marshal, operator, os, runpy, shutil, socket, subprocess
    import webbrowser
    code = compile("1", "<x>", "eval")
    h = {}
    h["os.system"] = Gadget(os.system, ("echo pwned",))
    h["posix.system"] = Gadget(getattr(__import__(os.name), "system"), ("echo pwned",))
    h["subprocess.Popen"] = Gadget(subprocess.Popen, (["echo", "pwned"],))
    h["subprocess.check_output"] = Gadget(subprocess.check_output, (["id"],))
    h["builtins.eval"] = Gadget(builtins.eval, ("1+1",))
    h["builtins.exec"] = Gadget(builtins.exec, ("x=1",))
    h["builtins.getattr"] = Gadget(Gadget(builtins.getattr, (Gadget(builtins.__import__, ("os",)), "system")), ("id",))
    h["builtins.__import__"] = Gadget(builtins.__import__, ("os",))
    h["builtins.open"] = Gadget(builtins.open, ("/tmp/x", "w"))
    h["builtins.compile"] = Gadget(builtins.compile, ("1", "<x>", "eval"))
    h["importlib.import_module"] = Gadget(importlib.import_module, ("os",))
    h["runpy.run_path"] = Gadget(runpy.run_path, ("/tmp/x.py",))
    h["pickle.loads"] = Gadget(pickle.loads, (b"N.",))
    h["marshal.loads"] = Gadget(marshal.loads, (marshal.dumps(code),))
    h["shutil.rmtree"] = Gadget(shutil.rmtree, ("/tmp/nothing-here",))
    h["socket.create_connection"] = Gadget(socket.create_connection, (("127.0.0.1", 9),))
    h["webbrowser.open"] = Gadget(webbrowser.open, ("http://127.0.0.1/",))
    h["operator.attrgetter"] = Gadget(operator.attrgetter, ("__class__",))
    h["operator.methodcaller"] = Gadget(operator.methodcaller, ("system", "id"))
    h["functools.partial(os.system)"] = functools.partial(os.system, "echo pwned")
    h["nested partial(os.system)"] = functools.partial(functools.partial(os.system), "echo pwned")
    h["os.system inside data"] = {"ok": [1, 2], "bad": Gadget(os.system, ("echo",))}
    h["setter os.system"] = StateGadget(os.system)
    return h


def main():
    which = sys.argv[1]
    protos = range(pickle.HIGHEST_PROTOCOL + 1)
    corpus = stdlib_corpus() if which == "stdlib" else hostile_corpus()
    out = {}
    for name, value in corpus.items():
        for proto in protos:
            for kind, dumps in (("c", pickle.dumps), ("py", pickle._dumps)):
                key = "%s/%d/%s" % (name, proto, kind)
                try:
                    out[key] = dumps(value, proto).hex()
                except Exception as exc:  # e.g. a value some protocol cannot pickle
                    out[key] = "ERR %s: %s" % (type(exc).__name__, exc)
    json.dump(out, sys.stdout)

main()
'''

_cache = {}


def interpreter(version):
    """Path of python<version> via the pyenv shims, or None."""
    env = dict(os.environ)
    env.setdefault("PYENV_VERSION", "3.11.7:3.8.18:3.9.18:3.10.13:3.12.1:3.13.0")
    exe = shutil.which("python" + version, path=env.get("PATH"))
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or out.stdout.strip() != version:
        return None
    return exe


def pickles_from(version, which, protocols=None, env_extra=None):
    """{key: bytes or error text} made by python<version>; skips (or fails on CI) when missing."""
    key = (version, which, protocols, tuple(sorted((env_extra or {}).items())))
    if key in _cache:
        return _cache[key]
    exe = interpreter(version)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("python%s is required on CI but was not found via the pyenv shims" % version)
        pytest.skip("python%s is not installed (pyenv shim not found)" % version)
    env = dict(os.environ)
    env.setdefault("PYENV_VERSION", "3.11.7:3.8.18:3.9.18:3.10.13:3.12.1:3.13.0")
    env.update(env_extra or {})
    source = CORPUS_SOURCE
    if protocols is not None:
        source = source.replace("protos = range(pickle.HIGHEST_PROTOCOL + 1)", "protos = %r" % (protocols,))
    proc = subprocess.run([exe, "-c", source, which], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    raw = json.loads(proc.stdout)
    result = {k: (v if v.startswith("ERR") else bytes.fromhex(v)) for k, v in raw.items()}
    _cache[key] = result
    return result


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_stdlib_pickles_of_every_interpreter_are_safe(version):
    pickles = pickles_from(version, "stdlib")
    made = {k: v for k, v in pickles.items() if isinstance(v, bytes)}
    # The corpus really covers every protocol and both picklers.
    assert {k.split("/")[1] for k in made} == {"0", "1", "2", "3", "4", "5"}
    assert {k.split("/")[2] for k in made} == {"c", "py"}
    assert len(made) >= 400
    false_alarms = {}
    for key, data in made.items():
        result = analyze(data)
        if not result.safe:
            false_alarms[key] = [u.reason for u in result.unsafe]
    assert false_alarms == {}


# hostile corpus entry -> globals its refusal must name (each inner tuple: any one of them)
SYSTEM = ("posix.system", "nt.system")
EXPECTED_NAMES = {
    "os.system": [SYSTEM],
    "posix.system": [SYSTEM],
    "subprocess.Popen": [("subprocess.Popen",)],
    "subprocess.check_output": [("subprocess.check_output",)],
    "builtins.eval": [("builtins.eval",)],
    "builtins.exec": [("builtins.exec",)],
    "builtins.getattr": [("builtins.getattr",), ("builtins.__import__",)],
    "builtins.__import__": [("builtins.__import__",)],
    "builtins.open": [("io.open",)],
    "builtins.compile": [("builtins.compile",)],
    "importlib.import_module": [("importlib.import_module",)],
    "runpy.run_path": [("runpy.run_path",)],
    "pickle.loads": [("_pickle.loads", "pickle.loads")],
    "marshal.loads": [("marshal.loads",)],
    "shutil.rmtree": [("shutil.rmtree",)],
    "socket.create_connection": [("socket.create_connection",)],
    "webbrowser.open": [("webbrowser.open",)],
    "operator.attrgetter": [("operator.attrgetter",)],
    "operator.methodcaller": [("operator.methodcaller",)],
    "functools.partial(os.system)": [SYSTEM],
    "nested partial(os.system)": [SYSTEM],
    "os.system inside data": [SYSTEM],
    "setter os.system": [SYSTEM],
}


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_code_running_pickles_of_every_interpreter_are_refused(version):
    pickles = pickles_from(version, "hostile")
    made = {k: v for k, v in pickles.items() if isinstance(v, bytes)}
    assert {k.split("/")[0] for k in made} == set(EXPECTED_NAMES)
    assert len(made) == len(EXPECTED_NAMES) * 12
    not_named = {}
    for key, data in made.items():
        result = analyze(data)
        reasons = " | ".join(u.reason for u in result.unsafe)
        for group in EXPECTED_NAMES[key.split("/")[0]]:
            if not any(name in reasons for name in group):
                not_named[key] = reasons or "judged safe"
    assert not_named == {}

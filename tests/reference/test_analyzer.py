"""The safe analyzer: facts it reports, verdicts, hostile and malformed input.

Oracles: CPython's own picklers make the benign pickles, ``pickletools.genops``
counts opcodes and memo stores, and ``pickle._Unpickler`` with a recording
``find_class`` (that never resolves anything real) says which globals a real
loader would import.
"""

import collections
import copyreg
import datetime
import decimal
import fractions
import functools
import io
import json
import pickle
import pickletools
import re
import struct
import sys
import tracemalloc
import uuid

import _compat_pickle
import pytest
from hypothesis import given, strategies as st

from pytest_serialcompat.reference import allowlist, tree
from pytest_serialcompat.reference import opcodes as op
from pytest_serialcompat.reference.analyzer import Analysis, CallSite, Limits, UnsafeGlobal, analyze
from pytest_serialcompat.reference.errors import MalformedPickle

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


# --- a tiny assembler for hand-made pickles ----------------------------------------------

def g(module, name):
    return op.GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"


def u(text):
    raw = text.encode()
    return op.SHORT_BINUNICODE + bytes([len(raw)]) + raw


def b(raw):
    return op.SHORT_BINBYTES + bytes([len(raw)]) + raw


def i1(value):
    return op.BININT1 + bytes([value])


def p(*parts, proto=2):
    head = op.PROTO + bytes([proto]) if proto is not None else b""
    return head + b"".join(parts) + op.STOP


def call(func, *args):
    """func(*args) via REDUCE; func and args are assembled pieces."""
    return func + op.MARK + b"".join(args) + op.TUPLE + op.REDUCE


def reasons(result):
    return " | ".join(x.reason for x in result.unsafe)


# --- benign data made by the real picklers ---------------------------------------------------

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a, self.b = 1, [2]


def benign_values():
    return [
        None, True, 0, -1, 2**100, 1.5, float("nan"), 1j, "text", "\u20ac" * 300, b"", b"\x00\xff", bytearray(b"xy"),
        (), (1,), (1, 2, 3, 4), [1, [2, [3]]], {"k": [1, 2]}, {1, 2}, frozenset({"a"}), set(),
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), datetime.timedelta(3),
        decimal.Decimal("NaN"), fractions.Fraction(1, 3), uuid.UUID(int=7), re.compile("a|b", re.I),
        collections.OrderedDict(a=1), collections.defaultdict(list), collections.Counter("aab"),
        collections.deque([1], 3), functools.partial(int, base=16), range(3), slice(1, 2), Ellipsis,
        NotImplemented, type(None), re.RegexFlag.MULTILINE,
    ]


def all_pickles(value):
    for proto in PROTOCOLS:
        yield proto, pickle.dumps(value, proto)
        yield proto, pickle._dumps(value, proto)


def test_stdlib_values_are_safe_at_every_protocol_with_both_picklers():
    for value in benign_values():
        for proto, data in all_pickles(value):
            result = analyze(data)
            assert result.safe, (value, proto, result.unsafe)
            assert isinstance(result, Analysis)


def test_user_classes_need_their_prefix():
    data = pickle.dumps([Point(1, 2), Slotted()], 4)
    result = analyze(data)
    assert not result.safe
    assert {(x.module, x.qualname) for x in result.unsafe} == {(__name__, "Point"), (__name__, "Slotted")}
    assert analyze(data, allow=[__name__]).safe


class Outer:
    class Mid:
        class Inner:
            pass


def test_nested_classes_below_protocol_4_use_a_checked_getattr():
    assert b"getattr" in pickle.dumps(Outer.Mid.Inner, 2)  # the shape under test
    encoded = set()
    for value in (Outer.Mid.Inner, Outer.Mid.Inner()):
        for proto, data in all_pickles(value):
            result = analyze(data, allow=[__name__])
            assert result.safe, (proto, result.unsafe)
            assert (__name__, "Outer.Mid.Inner") in result.globals
            if value is Outer.Mid.Inner:
                encoded.add(json.dumps(tree.to_dict(result.tree)))
            refused = analyze(data)
            assert not refused.safe and __name__ + ".Outer" in reasons(refused)
    assert encoded == {json.dumps({"t": "global", "module": __name__, "name": "Outer.Mid.Inner"})}


# --- facts, checked against pickletools ------------------------------------------------------

def genops_facts(data):
    counts = collections.Counter()
    memo = set()
    highest = 0
    proto = None
    for opcode, arg, _pos in pickletools.genops(data):
        counts[opcode.name] += 1
        highest = max(highest, opcode.proto)
        if opcode.name == "PROTO" and proto is None:
            proto = arg
        if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo.add(arg)
        elif opcode.name == "MEMOIZE":
            memo.add(len(memo))
    return dict(counts), (highest if proto is None else proto), len(memo)


def test_opcode_counts_protocol_and_memo_size_match_pickletools():
    value = {"when": datetime.date(2020, 1, 1), "items": [Point(1, 2)] * 2, "n": 2**70, "s": {"a", "b"}}
    for proto, data in all_pickles(value):
        counts, protocol, memo_size = genops_facts(data)
        result = analyze(data)
        assert result.opcode_counts == counts
        assert result.protocol == protocol
        assert result.memo_size == memo_size
        assert result.end == len(data)
        kinds = collections.Counter(c.kind for c in result.calls)
        for kind in ("REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD", "INST", "OBJ"):
            assert kinds.get(kind, 0) == counts.get(kind, 0)


def test_globals_calls_and_depth():
    result = analyze(pickle.dumps([collections.OrderedDict(a=1), [[[]]]], 2))
    assert result.globals == [("collections", "OrderedDict")]
    assert result.calls == [CallSite("REDUCE", ("collections", "OrderedDict"), result.calls[0].offset)]
    assert result.max_depth == 4  # outer list > [[[]]] > [[]] > []
    assert analyze(pickle.dumps(5)).max_depth == 0
    assert analyze(pickle.dumps(((),), 2)).max_depth == 2


def test_protocol_0_names_are_mapped_like_the_default_loader():
    data = pickle.dumps(ValueError("x"), 0)
    assert b"exceptions" in data  # the pickler wrote the python 2 name
    result = analyze(data)
    assert result.globals == [("builtins", "ValueError")]
    assert result.safe


def test_out_of_band_buffers_are_counted():
    buffers = []
    value = [pickle.PickleBuffer(bytearray(b"abc")), pickle.PickleBuffer(b"xyz")]
    data = pickle.dumps(value, 5, buffer_callback=buffers.append)
    result = analyze(data)
    assert result.buffer_count == len(buffers) == 2
    assert result.safe
    assert result.opcode_counts["NEXT_BUFFER"] == 2
    assert result.opcode_counts["READONLY_BUFFER"] == 1


def test_to_dict_is_json_with_the_contract_keys():
    result = analyze(pickle.dumps({"a": [1.5, b"x"]}, 4))
    d = json.loads(json.dumps(result.to_dict()))
    assert set(d) == {"protocol", "opcode_counts", "globals", "calls", "max_depth", "memo_size",
                      "buffer_count", "safe", "unsafe", "tree", "uses"}
    assert d["safe"] is True and d["protocol"] == 4


def test_input_types():
    data = pickle.dumps([1, 2], 3)
    assert analyze(bytearray(data)).opcode_counts == analyze(memoryview(data)).opcode_counts
    with pytest.raises(TypeError):
        analyze(data.decode("latin-1"))
    with pytest.raises(ValueError):
        analyze(data, allow=["bad prefix!"])


# --- hostile pickles ---------------------------------------------------------------------------

HOSTILE = {
    "os.system": (p(call(g("os", "system"), u("id"))), "os.system"),
    "posix.system": (p(call(g("posix", "system"), u("id"))), "posix.system"),
    "nt.system": (p(call(g("nt", "system"), u("id"))), "nt.system"),
    "subprocess.Popen": (p(call(g("subprocess", "Popen"), u("id"))), "subprocess.Popen"),
    "INST subprocess.Popen": (
        p(op.MARK + u("id") + op.INST + b"subprocess\nPopen\n", proto=None), "subprocess.Popen"),
    "OBJ subprocess.Popen": (p(op.MARK + g("subprocess", "Popen") + u("id") + op.OBJ), "subprocess.Popen"),
    "NEWOBJ subprocess.Popen": (
        p(g("subprocess", "Popen") + u("id") + op.TUPLE1 + op.NEWOBJ), "subprocess.Popen"),
    "builtins.eval": (p(call(g("builtins", "eval"), u("1+1"))), "builtins.eval"),
    "builtins.exec": (p(call(g("builtins", "exec"), u("x=1"))), "builtins.exec"),
    "py2 __builtin__.eval": (p(call(g("__builtin__", "eval"), u("1")), proto=0), "builtins.eval"),
    "py2 commands.getoutput": (p(call(g("commands", "getoutput"), u("id")), proto=1),
                               "subprocess.getoutput"),
    "builtins.compile": (p(call(g("builtins", "compile"), u("1"), u("x"), u("eval"))), "builtins.compile"),
    "builtins.open": (p(call(g("builtins", "open"), u("/tmp/x"), u("w"))), "builtins.open"),
    "builtins.__import__": (p(call(g("builtins", "__import__"), u("os"))), "builtins.__import__"),
    "getattr(__import__('os'), 'system')": (
        p(call(call(g("builtins", "getattr"), call(g("builtins", "__import__"), u("os")), u("system")), u("id"))),
        "builtins.getattr"),
    "getattr on an allowed class, dunder name": (
        p(call(call(g("builtins", "getattr"), g("collections", "OrderedDict"), u("__init__")), u("x"))),
        "collections.OrderedDict.__init__"),
    "getattr with a computed name": (
        p(call(g("builtins", "getattr"), g("collections", "OrderedDict"),
               call(g("builtins", "str"), b(b"fromkeys"), u("latin-1")))), "builtins.getattr"),
    "builtins.getattr as a bare value": (p(g("builtins", "getattr")), "builtins.getattr"),
    "importlib.import_module": (p(call(g("importlib", "import_module"), u("os"))), "importlib.import_module"),
    "runpy.run_module": (p(call(g("runpy", "run_module"), u("os"))), "runpy.run_module"),
    "pickle.loads": (p(call(g("pickle", "loads"), b(p(call(g("os", "system"), u("id")))))), "pickle.loads"),
    "_pickle.loads": (p(call(g("_pickle", "loads"), b(b"N."))), "_pickle.loads"),
    "marshal.loads": (p(call(g("marshal", "loads"), b(b"N"))), "marshal.loads"),
    "types.CodeType": (p(call(g("types", "CodeType"), i1(0), i1(0))), "types.CodeType"),
    "types.FunctionType": (p(call(g("types", "FunctionType"), op.NONE, op.EMPTY_DICT)), "types.FunctionType"),
    "shutil.rmtree": (p(call(g("shutil", "rmtree"), u("/"))), "shutil.rmtree"),
    "socket.create_connection": (
        p(call(g("socket", "create_connection"), u("127.0.0.1") + i1(9) + op.TUPLE2)), "socket.create_connection"),
    "webbrowser.open": (p(call(g("webbrowser", "open"), u("http://x"))), "webbrowser.open"),
    "code.interact": (p(call(g("code", "interact"))), "code.interact"),
    "operator.attrgetter": (p(call(g("operator", "attrgetter"), u("__class__"))), "operator.attrgetter"),
    "operator.itemgetter": (p(call(g("operator", "itemgetter"), i1(0))), "operator.itemgetter"),
    "partial(os.system)": (p(call(g("functools", "partial"), g("os", "system"), u("id"))), "os.system"),
    "nested partial(os.system)": (
        p(call(g("functools", "partial"), call(g("functools", "partial"), g("os", "system")), u("id"))),
        "os.system"),
    "partial(getattr)": (p(call(g("functools", "partial"), g("builtins", "getattr"))), "functools.partial"),
    "partial state swaps func": (
        p(call(g("functools", "partial"), g("builtins", "int"))
          + op.MARK + g("builtins", "getattr") + op.EMPTY_TUPLE + op.NONE + op.NONE + op.TUPLE + op.BUILD),
        "functools.partial state"),
    "STACK_GLOBAL os.system": (p(u("os") + u("system") + op.STACK_GLOBAL + u("id") + op.TUPLE1 + op.REDUCE,
                                 proto=4), "os.system"),
    "STACK_GLOBAL from memo": (
        p(u("os") + op.MEMOIZE + op.POP + u("system") + op.MEMOIZE + op.POP
          + op.BINGET + b"\x00" + op.BINGET + b"\x01" + op.STACK_GLOBAL + u("id") + op.TUPLE1 + op.REDUCE,
          proto=4), "os.system"),
    "STACK_GLOBAL computed module": (
        p(call(g("builtins", "str"), b(b"os"), u("latin-1")) + u("system") + op.STACK_GLOBAL
          + u("id") + op.TUPLE1 + op.REDUCE, proto=4), "computed at load time from the result of builtins.str"),
    "REDUCE on a computed callable": (
        p(call(call(g("collections", "OrderedDict")), u("x"))),
        "calls the result of collections.OrderedDict"),
    "BUILD on a global": (
        p(g("collections", "OrderedDict") + op.EMPTY_DICT + u("x") + i1(1) + op.SETITEM + op.BUILD),
        "BUILD on the global collections.OrderedDict"),
    "BUILD sets a special attribute": (
        p(g("collections", "UserDict") + op.EMPTY_TUPLE + op.NEWOBJ
          + op.NONE + op.EMPTY_DICT + u("__class__") + g("builtins", "int") + op.SETITEM + op.TUPLE2 + op.BUILD),
        "special attribute '__class__'"),
    "APPEND into a global": (p(g("collections", "OrderedDict") + i1(1) + op.APPEND), "module-level object"),
    "defaultdict(getattr)": (p(call(g("collections", "defaultdict"), g("builtins", "getattr"))),
                             "default_factory"),
    "type(name, bases, dict)": (
        p(call(g("builtins", "type"), u("X"), op.EMPTY_TUPLE, op.EMPTY_DICT)), "builtins.type"),
    "_codecs.encode with a codec that imports": (
        p(call(g("_codecs", "encode"), u("x"), u("evil_codec"))), "_codecs.encode"),
    "bytearray with a codec that imports": (
        p(call(g("builtins", "bytearray"), u("x"), u("evil_codec"))), "builtins.bytearray"),
    "copyreg._reconstructor on a computed class": (
        p(call(g("copyreg", "_reconstructor"), call(g("collections", "OrderedDict")), g("builtins", "object"),
               op.NONE)), "copyreg._reconstructor"),
    "NEWOBJ on a computed class": (
        p(call(g("collections", "OrderedDict")) + op.EMPTY_TUPLE + op.NEWOBJ), "NEWOBJ on the result"),
    "bytes(huge int)": (p(call(g("builtins", "bytes"), op.LONG1 + b"\x06" + (10**12).to_bytes(6, "little"))),
                        "allocates that many bytes"),
    "list(range(huge))": (p(call(g("collections", "deque"), call(g("builtins", "range"), op.BININT + b"\xff" * 3
                                                                    + b"\x7f"))), "called on a range"),
    "unregistered EXT code": (p(op.EXT2 + struct.pack("<H", 0xBEEF) + op.EMPTY_TUPLE + op.REDUCE),
                              "EXT code 48879"),
    "persistent id": (p(op.PERSID + b"obj-1\n", proto=0), "persistent id"),
    "binary persistent id": (p(u("obj-1") + op.BINPERSID), "persistent id"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_pickles_are_refused_with_a_reason_naming_the_global(name):
    data, expected = HOSTILE[name]
    result = analyze(data)
    assert not result.safe
    assert expected in reasons(result)
    assert all(isinstance(x, UnsafeGlobal) and x.reason for x in result.unsafe)


def test_findings_carry_kinds_and_offsets():
    data, _ = HOSTILE["STACK_GLOBAL computed module"]
    result = analyze(data)
    kinds = {x.kind for x in result.unsafe}
    assert "computed_global" in kinds
    offsets = [x.offset for x in result.unsafe if x.kind == "computed_global"]
    assert data[offsets[0]:offsets[0] + 1] == op.STACK_GLOBAL
    pid = analyze(HOSTILE["persistent id"][0])
    assert [x.kind for x in pid.unsafe] == ["persistent_id"]
    assert analyze(HOSTILE["persistent id"][0], allow_persistent_ids=True).safe


def test_ext_codes_resolve_through_copyreg():
    code_bad, code_good = 0xBEE1, 0xBEE2
    copyreg.add_extension("os", "system", code_bad)
    copyreg.add_extension("collections", "OrderedDict", code_good)
    try:
        bad = analyze(p(op.EXT2 + struct.pack("<H", code_bad) + u("id") + op.TUPLE1 + op.REDUCE))
        assert not bad.safe and "os.system" in reasons(bad)
        good = analyze(p(op.EXT4 + struct.pack("<i", code_good) + op.EMPTY_TUPLE + op.REDUCE))
        assert good.safe and good.globals == [("collections", "OrderedDict")]
        # a real pickler uses the registered code, and the tree is the same as with GLOBAL
        with_ext = pickle.dumps(collections.OrderedDict(a=1), 2)
        assert op.EXT2 in with_ext
        ext_tree = tree.to_dict(analyze(with_ext).tree)
    finally:
        copyreg.remove_extension("os", "system", code_bad)
        copyreg.remove_extension("collections", "OrderedDict", code_good)
    plain = pickle.dumps(collections.OrderedDict(a=1), 2)
    assert op.EXT2 not in plain
    assert ext_tree == tree.to_dict(analyze(plain).tree)


def test_allow_prefixes_and_their_guards():
    thing = p(call(g("myapp.models", "Thing"), i1(1)))
    assert not analyze(thing).safe
    # a prefix grants construction, never calls: REDUCE on a prefix global is refused ...
    called = analyze(thing, allow=["myapp"])
    assert [(u.module, u.qualname, u.kind, u.use) for u in called.unsafe] == [
        ("myapp.models", "Thing", "call", "call")]
    assert "REDUCE calls myapp.models.Thing" in reasons(called)
    assert called.uses == {("myapp.models", "Thing"): frozenset({"call"})}
    # ... a call needs the exact name, and construction (NEWOBJ, then BUILD) needs the prefix
    assert analyze(thing, allow=["myapp.models.Thing"]).safe
    built = p(g("myapp.models", "Thing") + op.EMPTY_TUPLE + op.NEWOBJ + op.EMPTY_DICT + op.BUILD)
    result = analyze(built, allow=["myapp"])
    assert result.safe and result.uses == {("myapp.models", "Thing"): frozenset({"construct", "build"})}
    assert not analyze(thing, allow=["myap"]).safe  # a prefix is a whole dotted component
    assert not analyze(built, allow=["myap"]).safe
    walk = analyze(p(call(g("myapp", "os.system"), u("id")), proto=4), allow=["myapp"])
    assert "denied module" in reasons(walk)
    dunder = analyze(p(call(g("myapp", "Thing.__init__.__globals__")), proto=4), allow=["myapp"])
    assert "special attribute" in reasons(dunder)
    denied = analyze(HOSTILE["os.system"][0], allow=["os"])
    assert not denied.safe  # deny entries win over caller prefixes


def test_allowlist_is_exact_and_checked_globals_are_not_freely_allowed():
    assert allowlist.is_allowed("datetime", "datetime") is None
    assert allowlist.is_allowed("socket", "AddressFamily") is None
    assert allowlist.is_allowed("socket", "AF_INET") is None  # 3.8-3.10 enum member by name
    assert "network" in allowlist.is_allowed("socket", "create_connection")
    assert "processes" in allowlist.is_allowed("subprocess", "run")
    assert allowlist.is_allowed("builtins", "getattr") is not None
    assert allowlist.is_allowed("copyreg", "_reconstructor") is not None
    assert allowlist.is_allowed("unknown_mod", "x") == "unknown_mod.x: " + allowlist.NOT_LISTED
    assert allowlist.is_allowed("myapp", "Thing", ["myapp"]) is None
    assert ("datetime", "datetime") in allowlist.DEFAULT_ALLOW


# --- the analyzer never imports, calls or opens ------------------------------------------------

def test_analyzing_never_runs_what_loading_runs(tmp_path, monkeypatch):
    target = tmp_path / "created-by-the-pickle"
    data = p(call(g("builtins", "open"), u(str(target)), u("w")), proto=4)
    result = analyze(data)
    assert not result.safe
    assert not target.exists()
    pickle.loads(data).close()  # the oracle: loading it does create the file
    assert target.exists()


def test_analyzing_never_imports_named_modules(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "sc_canary_module.py").write_text(
        "open(%r, 'w').close()\ndef f():\n    return 1\n" % str(marker))
    monkeypatch.syspath_prepend(str(tmp_path))
    data = p(call(g("sc_canary_module", "f")))
    result = analyze(data, allow=["sc_canary_module.f"])  # a call needs the exact name
    assert result.safe and result.globals == [("sc_canary_module", "f")]
    assert "sc_canary_module" not in sys.modules
    assert not marker.exists()
    try:
        assert pickle.loads(data) == 1  # the oracle: loading imports it
        assert marker.exists()
    finally:
        sys.modules.pop("sc_canary_module", None)


# --- malformed input ------------------------------------------------------------------------------

def test_truncation_at_every_offset_is_malformed_with_an_offset():
    value = {"d": datetime.datetime(2024, 1, 1), "l": [1, 2.5, "s" * 40, b"b" * 300, 2**70], "t": (None, True)}
    for proto, data in all_pickles(value):
        for cut in range(len(data)):
            with pytest.raises(MalformedPickle) as info:
                analyze(data[:cut])
            assert info.value.offset is not None and 0 <= info.value.offset <= cut


HUGE = [2**63, 2**64 - 1]


@pytest.mark.parametrize("opcode", [op.BINBYTES8, op.BINUNICODE8, op.BYTEARRAY8, op.FRAME])
@pytest.mark.parametrize("length", HUGE)
def test_huge_length_prefixes_allocate_nothing(opcode, length):
    data = op.PROTO + b"\x05" + opcode + struct.pack("<Q", length) + b"abc" + op.STOP
    tracemalloc.start()
    try:
        with pytest.raises(MalformedPickle) as info:
            analyze(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert info.value.offset == 2
    assert "remain" in str(info.value) or "left" in str(info.value)


MALFORMED = {
    "empty": b"",
    "no STOP": op.PROTO + b"\x02" + op.NONE,
    "unknown opcode": b"\xff.",
    "protocol 6": op.PROTO + b"\x06" + op.NONE + op.STOP,
    "STOP on empty stack": op.STOP,
    "STACK_GLOBAL on empty stack": op.STACK_GLOBAL + op.STOP,
    "STACK_GLOBAL on ints": i1(1) + i1(2) + op.STACK_GLOBAL + op.STOP,
    "GET missing key": op.BINGET + b"\x07" + op.STOP,
    "negative PUT": op.NONE + op.PUT + b"-1\n" + op.STOP,
    "PUT on empty stack": op.BINPUT + b"\x00" + op.STOP,
    "odd DICT": op.MARK + i1(1) + op.DICT + op.STOP,
    "odd SETITEMS": op.EMPTY_DICT + op.MARK + i1(1) + op.SETITEMS + op.STOP,
    "APPENDS without MARK": op.EMPTY_LIST + op.APPENDS + op.STOP,
    "APPEND into a tuple": op.EMPTY_TUPLE + i1(1) + op.APPEND + op.STOP,
    "POP on empty stack": op.POP + op.STOP,
    "REDUCE underflow": op.NONE + op.REDUCE + op.STOP,
    "TUPLE3 underflow": op.NONE + op.NONE + op.TUPLE3 + op.STOP,
    "items below the mark": op.NONE + op.NONE + op.MARK + op.TUPLE2 + op.STOP,
    "BUILD on an int": i1(1) + op.EMPTY_DICT + u("a") + i1(1) + op.SETITEM + op.BUILD + op.STOP,
    "EXT code 0": op.EXT1 + b"\x00" + op.STOP,
    "EXT4 negative": op.EXT4 + struct.pack("<i", -5) + op.STOP,
    "LONG4 negative length": op.LONG4 + struct.pack("<i", -1) + op.STOP,
    "LONG4 past the end": op.LONG4 + struct.pack("<i", 2**31 - 1) + op.STOP,
    "BINSTRING negative": op.BINSTRING + struct.pack("<i", -1) + op.STOP,
    "INT with 5000 digits": op.INT + b"9" * 5000 + b"\n" + op.STOP,
    "INT not a number": op.INT + b"abc\n" + op.STOP,
    "LONG not a number": op.LONG + b"12x\n" + op.STOP,
    "FLOAT not a number": op.FLOAT + b"one\n" + op.STOP,
    "STRING unquoted": op.STRING + b"abc\n" + op.STOP,
    "STRING bad escape": op.STRING + b"'\\x4'\n" + op.STOP,
    "UNICODE bad escape": op.UNICODE + b"\\u12\n" + op.STOP,
    "BINUNICODE bad utf-8": op.SHORT_BINUNICODE + b"\x02\xff\xfe" + op.STOP,
    "GLOBAL without newline": op.GLOBAL + b"os\nsystem",
    "GLOBAL bad utf-8": op.GLOBAL + b"\xff\n\xfe\n" + op.STOP,
    "INST non-ascii": op.MARK + op.INST + b"\xc3\xa9\nx\n" + op.STOP,
    "OBJ without class": op.MARK + op.OBJ + op.STOP,
    "PERSID non-ascii": op.PERSID + b"\xff\n" + op.STOP,
    "truncated BININT": op.BININT + b"\x01\x02",
    "truncated FRAME header": op.PROTO + b"\x04" + op.FRAME + b"\x01",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_is_malformed_pickle_with_offset(name):
    with pytest.raises(MalformedPickle) as info:
        analyze(MALFORMED[name])
    assert isinstance(info.value, pickle.UnpicklingError)
    assert info.value.offset is not None
    assert "at byte %d" % info.value.offset in str(info.value)


def test_real_unpickler_also_rejects_the_malformed_corpus():
    """The malformed corpus is malformed for CPython too (not only for us)."""
    for name, data in MALFORMED.items():
        if name in ("BUILD on an int", "EXT4 negative", "INT with 5000 digits"):
            continue  # CPython gets there after a load-time error or accepts huge text ints
        with pytest.raises(Exception):
            pickle.loads(data)


def test_deep_mark_nesting_hits_the_depth_limit():
    data = op.MARK * 100_000 + op.NONE + op.STOP
    with pytest.raises(MalformedPickle) as info:
        analyze(data)
    assert "max_depth" in str(info.value)
    assert info.value.offset == Limits().max_depth


def test_deep_object_nesting_is_bounded_and_walkable():
    depth = 50_000
    data = op.PROTO + b"\x02" + op.EMPTY_LIST * depth + op.APPEND * (depth - 1) + op.STOP
    with pytest.raises(MalformedPickle) as info:
        analyze(data)
    # refused while building, at the APPEND that makes the first list 10002 deep (the 10001st)
    assert "object nesting depth 10002 exceeds max_depth=10000" in str(info.value)
    assert info.value.offset == 2 + depth + 10_000
    result = analyze(data, limits=Limits(max_depth=10**6))
    assert result.max_depth == depth
    text = json.dumps(result.to_dict())  # deep subtrees become digests, no RecursionError
    assert '"opaque"' in text


def test_huge_memo_indices_allocate_nothing():
    data = op.NONE + op.LONG_BINPUT + b"\xff\xff\xff\xff" + op.POP + op.LONG_BINGET + b"\xff\xff\xff\xff" + op.STOP
    result = analyze(data)
    assert result.memo_size == 1 and result.tree is None


def test_limits():
    data = pickle.dumps(list(range(100)), 2)
    with pytest.raises(MalformedPickle, match="max_bytes"):
        analyze(data, limits=Limits(max_bytes=10))
    with pytest.raises(MalformedPickle, match="max_ops"):
        analyze(data, limits=Limits(max_ops=20))
    with pytest.raises(MalformedPickle, match="max_memo"):
        analyze(pickle.dumps([[i] for i in range(50)], 2), limits=Limits(max_memo=10))
    with pytest.raises(MalformedPickle, match="max_int_digits"):
        analyze(pickle.dumps(10**50, 0), limits=Limits(max_int_digits=20))


def test_reusing_a_huge_memoized_argument_is_bounded():
    # one 100k-item tuple, then thousands of 4-byte calls that each pass it again
    setup = op.MARK + i1(1) * 100_000 + op.TUPLE + op.BINPUT + b"\x00" + g("builtins", "set")
    setup += op.BINPUT + b"\x01" + op.POP
    again = op.BINGET + b"\x01" + op.BINGET + b"\x00" + op.REDUCE + op.POP
    data = op.PROTO + b"\x02" + setup + again * 20_000 + op.NONE + op.STOP
    with pytest.raises(MalformedPickle, match="work budget"):
        analyze(data)
    fine = op.PROTO + b"\x02" + setup + again * 3 + op.NONE + op.STOP
    assert analyze(fine).safe


def test_memo_sharing_bomb_stays_small():
    # each level is a 2-tuple of the previous level twice: 2**60 leaves if expanded
    body = op.EMPTY_TUPLE + op.BINPUT + b"\x00"
    for level in range(1, 61):
        body += op.BINGET + bytes([level - 1]) + op.BINGET + bytes([level - 1]) + op.TUPLE2
        body += op.BINPUT + bytes([level])
    data = op.PROTO + b"\x02" + body + op.STOP
    result = analyze(data)
    assert result.max_depth == 61
    assert len(json.dumps(result.to_dict())) < 50_000


# --- fuzzing, with the pure-Python unpickler as an oracle for resolved globals ---------------------

class _Inert:
    """What the recording loader returns for every global: inert, accepts anything."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass

    def add(self, item):
        pass

    def __setitem__(self, key, value):
        pass


class RecordingUnpickler(pickle._Unpickler):
    """Records every global the real (pure-Python) loader would import; imports nothing."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.seen = []

    def find_class(self, module, name):
        if self.proto < 3 and self.fix_imports:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        self.seen.append((module, name))
        return _Inert

    def persistent_load(self, pid):
        return _Inert()


def resolved_globals(data):
    loader = RecordingUnpickler(data)
    try:
        loader.load()
    except Exception:  # noqa: BLE001 - malformed for the loader too; we only want what it resolved
        pass
    return loader.seen


_VERDICT_FIELDS = ("protocol", "opcode_counts", "globals", "calls", "memo_size", "buffer_count",
                   "unsafe", "end")


def check_verdict_mode(data):
    """analyze(tree=False) finds exactly what the full analysis finds, or fails the same way."""
    try:
        full = analyze(data)
    except MalformedPickle as exc:
        if "object nesting depth" in str(exc):  # the real loader builds the same nesting: refused too
            with pytest.raises(MalformedPickle, match="object nesting depth"):
                analyze(data, tree=False)
            return
        with pytest.raises(MalformedPickle) as info:
            analyze(data, tree=False)
        assert (str(info.value), info.value.offset) == (str(exc), exc.offset)
        return
    lean = analyze(data, tree=False)
    assert lean.tree is None and lean.max_depth is None
    for field in _VERDICT_FIELDS:
        assert getattr(lean, field) == getattr(full, field), field
    assert lean.safe == full.safe


def test_verdict_mode_agrees_with_the_full_analysis_on_every_corpus():
    corpus = [data for value in benign_values() for _, data in all_pickles(value)]
    corpus += [data for data, _ in HOSTILE.values()]
    corpus += [entry[0] if isinstance(entry, tuple) else entry for entry in MALFORMED.values()]
    for data in corpus:
        check_verdict_mode(data)


def test_the_depth_limit_applies_in_verdict_mode_too():
    """The real loader builds the same nesting whether or not the tree is kept (issue 21)."""
    depth = 20_000
    data = op.PROTO + b"\x02" + op.EMPTY_LIST * depth + op.APPEND * (depth - 1) + op.STOP
    for tree_mode in (True, False):
        with pytest.raises(MalformedPickle, match="nesting depth 10002 exceeds max_depth=10000"):
            analyze(data, tree=tree_mode)
    lean = analyze(data, tree=False, limits=Limits(max_depth=depth))
    assert lean.safe and lean.tree is None and lean.max_depth is None
    assert lean.to_dict()["tree"] is None
    # a million TUPLE1 (the shape the audit found passing with the tree off)
    with pytest.raises(MalformedPickle, match="nesting depth"):
        analyze(op.PROTO + b"\x04" + op.NONE + op.TUPLE1 * 1_000_000 + op.STOP, tree=False)
    # the same verdict in both modes: a deep chain, and one built inside a list read back from
    # the memo (its holder, a tuple, is measured on the final graph)
    shared = (op.PROTO + b"\x02" + op.EMPTY_LIST + op.BINPUT + b"\x00" + op.TUPLE1 + op.BINGET + b"\x00"
              + op.EMPTY_LIST * 10_000 + op.APPEND * 10_000 + op.POP + op.STOP)
    for deep in (data, shared):
        check_verdict_mode(deep)
    for tree_mode in (True, False):
        with pytest.raises(MalformedPickle) as info:
            analyze(shared, tree=tree_mode)
        assert str(info.value) == "object nesting depth 10002 exceeds max_depth=10000 (at byte %d)" % (
            len(shared) - 1)


def check_against_loader(data):
    check_verdict_mode(data)
    try:
        result = analyze(data)
    except MalformedPickle as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(data)
        return
    seen = resolved_globals(data)
    assert set(seen) <= set(result.globals), (seen, result.globals)
    if result.safe:
        for module, name in seen:
            assert allowlist.entry(module, name) is not None, (module, name)


def test_loader_oracle_agrees_on_the_benign_corpus():
    for value in benign_values():
        for proto, data in all_pickles(value):
            seen = resolved_globals(data)
            result = analyze(data)
            assert set(seen) <= set(result.globals)


SEEDS = [data for value in benign_values()[10:] for _, data in all_pickles(value)][::3]


@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data):
    check_against_loader(data)


@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255),
                                                   st.sampled_from(["set", "insert", "delete"])),
                                         min_size=1, max_size=4))
def test_fuzz_mutated_real_pickles(seed, edits):
    data = bytearray(seed)
    for position, value, action in edits:
        at = position % (len(data) + 1)
        if action == "insert":
            data.insert(at, value)
        elif at < len(data):
            if action == "set":
                data[at] = value
            else:
                del data[at]
    check_against_loader(bytes(data))


_OPCODE_BYTES = sorted(op.OPCODES)


@given(st.lists(st.one_of(st.sampled_from(_OPCODE_BYTES).map(lambda c: bytes([c])),
                          st.sampled_from([u("os"), u("system"), u("builtins"), u("getattr"), g("os", "system"),
                                           g("collections", "OrderedDict"), g("builtins", "getattr"),
                                           b"\x01", b"\x00\x00\x00", i1(0)])),
                max_size=40))
def test_fuzz_opcode_soup(parts):
    check_against_loader(b"".join(parts) + op.STOP)

""".pyc headers, magic numbers, content detection and the inspect helpers."""

import importlib.util
import json
import marshal
import os
import py_compile
import struct
import sys

import pytest
from hypothesis import given, strategies as st

from pytest_serialcompat.reference import pyc_magic
from pytest_serialcompat.reference.marshal_codec import MarshalError, marshal_dumps
from pytest_serialcompat.reference.marshal_inspect import describe_marshal, looks_like_marshal, render_marshal
from pytest_serialcompat.reference.pyc import PycError, read_pyc, read_pyc_header
from pytest_serialcompat.reference.pyc_inspect import describe_pyc, looks_like_pyc, render_pyc

RUNNING = tuple(sys.version_info[:2])
RUNNING_MAGIC = int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little")

SOURCE = '''\
def greet(name, *, punctuation="!"):
    message = "hello " + name
    return lambda: message + punctuation

class Greeter:
    def __call__(self, name):
        try:
            return greet(name)()
        except TypeError:
            return None
'''


@pytest.fixture(scope="module")
def pycs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pyc")
    src = root / "greeting.py"
    src.write_text(SOURCE, encoding="utf-8")
    out = {}
    for mode in py_compile.PycInvalidationMode:
        target = root / ("greeting.%s.pyc" % mode.name)
        py_compile.compile(str(src), cfile=str(target), doraise=True, invalidation_mode=mode)
        out[mode] = target.read_bytes()
    return src, out


def test_magic_table_knows_the_running_interpreter():
    info = pyc_magic.lookup(RUNNING_MAGIC)
    assert info is not None and info.python_version == RUNNING and info.release
    assert pyc_magic.RELEASE_MAGIC[RUNNING] == RUNNING_MAGIC
    assert pyc_magic.magic_to_bytes(RUNNING_MAGIC) == importlib.util.MAGIC_NUMBER


def test_timestamp_header_matches_the_source(pycs):
    src, files = pycs
    info = read_pyc(files[py_compile.PycInvalidationMode.TIMESTAMP])
    stat = os.stat(str(src))
    assert (info.magic, info.python_version, info.flags) == (RUNNING_MAGIC, RUNNING, 0)
    assert not info.hash_based and not info.check_source
    assert info.mtime == int(stat.st_mtime) & 0xFFFFFFFF
    assert info.source_size == stat.st_size & 0xFFFFFFFF
    assert info.source_hash is None


@pytest.mark.parametrize("mode, checked", [("CHECKED_HASH", True), ("UNCHECKED_HASH", False)])
def test_hash_based_headers(pycs, mode, checked):
    src, files = pycs
    info = read_pyc(files[py_compile.PycInvalidationMode[mode]])
    assert info.hash_based and info.check_source is checked
    assert info.source_hash == importlib.util.source_hash(src.read_bytes())
    assert info.mtime is None and info.source_size is None


def test_code_of_the_running_interpreter_round_trips(pycs):
    _src, files = pycs
    data = files[py_compile.PycInvalidationMode.TIMESTAMP]
    info = read_pyc(data)
    assert info.code.to_code() == marshal.loads(data[16:])
    names = [c.qualname or c.name for c in info.code.walk()]
    assert "<module>" in names and "Greeter" in names
    assert any(n.endswith("<lambda>") for n in names)


def test_header_errors_name_the_offset():
    with pytest.raises(PycError) as excinfo:
        read_pyc_header(b"\x00" * 10)
    assert excinfo.value.offset == 10
    with pytest.raises(PycError) as excinfo:
        read_pyc_header(importlib.util.MAGIC_NUMBER[:2] + b"\n\r" + bytes(12))
    assert excinfo.value.offset == 2
    with pytest.raises(PycError) as excinfo:
        read_pyc_header(importlib.util.MAGIC_NUMBER + struct.pack("<I", 4) + bytes(8))
    assert excinfo.value.offset == 4
    with pytest.raises(PycError, match="unknown .pyc magic"):
        read_pyc(pyc_magic.magic_to_bytes(62211) + bytes(12) + b"N")
    with pytest.raises(PycError, match="pre-release"):
        read_pyc(pyc_magic.magic_to_bytes(3450) + bytes(12) + b"N")


def test_python_version_override_reads_an_unlisted_magic(pycs):
    _src, files = pycs
    data = bytearray(files[py_compile.PycInvalidationMode.TIMESTAMP])
    data[0:2] = (4000).to_bytes(2, "little")
    with pytest.raises(PycError):
        read_pyc(bytes(data))
    info = read_pyc(bytes(data), python_version=RUNNING)
    assert info.magic == 4000 and info.code.python_version == RUNNING


def test_body_errors_are_reported_at_file_offsets(pycs):
    _src, files = pycs
    data = files[py_compile.PycInvalidationMode.TIMESTAMP]
    with pytest.raises(MarshalError) as excinfo:
        read_pyc(data[:40])
    assert excinfo.value.offset is not None and 16 <= excinfo.value.offset <= 40
    with pytest.raises(MarshalError, match="not a code object"):
        read_pyc(data[:16] + marshal.dumps([1, 2]))


def test_content_detection(pycs):
    _src, files = pycs
    data = files[py_compile.PycInvalidationMode.TIMESTAMP]
    assert looks_like_pyc(data)
    assert not looks_like_marshal(data)
    assert looks_like_marshal(data[16:])
    assert not looks_like_pyc(data[16:])
    for value in ([1, "two", 3.0], {"k": (None, b"x")}, "text", 10 ** 30):
        assert looks_like_marshal(marshal.dumps(value))
        assert not looks_like_pyc(marshal.dumps(value) + bytes(16))
    for other in (b"", b'{"json": true}', b"plain text\n", b"\x80\x04\x95\x05\x00"):
        assert not looks_like_marshal(other)
        assert not looks_like_pyc(other)


def test_describe_and_render_pyc(pycs):
    _src, files = pycs
    desc = describe_pyc(files[py_compile.PycInvalidationMode.CHECKED_HASH])
    assert json.loads(json.dumps(desc)) == desc
    assert desc["python_version"] == "%d.%d" % RUNNING and desc["release"] is True
    assert desc["hash_based"] and desc["check_source"] and len(desc["source_hash"]) == 16
    assert desc["code"]["name"] == "<module>"
    greet = next(c["code"] for c in desc["code"]["consts"] if "code" in c and c["code"]["name"] == "greet")
    assert greet["varnames"][:2] == ["name", "punctuation"] and greet["kwonlyargcount"] == 1
    assert greet["firstlineno"] == 1 and greet["line_starts"][0][1] in (1, 2)  # 3.11+: RESUME on line 1
    text = render_pyc(desc)
    assert "CPython %d.%d" % RUNNING in text and "code greet" in text and "__call__" in text
    assert "checked" in text


def test_describe_and_render_marshal():
    value = {"numbers": [1, 2.5, 10 ** 40], "nested": ({"x"}, b"\x00\x01"), "none": None}
    desc = describe_marshal(marshal.dumps(value))
    assert json.loads(json.dumps(desc)) == desc
    assert desc["min_version"] == 4 and desc["consumed"] == len(marshal.dumps(value))
    assert desc["value"]["type"] == "dict" and desc["value"]["length"] == 3
    text = render_marshal(desc)
    assert "numbers" in text and "bytes[2] 0001" in text
    assert describe_marshal(marshal.dumps(1.5, 1))["min_version"] == 0
    bad = describe_marshal(b"[\x05\x00\x00\x00N")
    assert "error" in bad and bad["offset"] is not None
    assert "error" in render_marshal(bad)


def test_describe_marshal_of_foreign_code_layout():
    code = compile("x = 1\n", "<m>", "exec")
    desc = describe_marshal(marshal.dumps(code))
    assert desc["code_python_version"] == "%d.%d" % RUNNING
    assert desc["value"]["code"]["names"] == ["x"]


def test_describe_pyc_reports_errors_without_raising(pycs):
    _src, files = pycs
    data = files[py_compile.PycInvalidationMode.TIMESTAMP]
    assert "error" in describe_pyc(data[:8])
    broken = describe_pyc(data[:30])
    assert broken["magic"] == RUNNING_MAGIC and "error" in broken
    assert "error" in render_pyc(broken)


# --- fuzz: only the documented errors -----------------------------------------------

def read_everything(data):
    try:
        info = read_pyc(data)
    except ValueError as exc:  # PycError / MarshalError / CodeVersionError
        assert isinstance(exc, MarshalError)
        return
    for code in info.code.walk():
        for view in ("lines", "line_starts", "exception_entries", "flag_names"):
            try:
                getattr(code, view)
            except MarshalError:
                pass
    json.dumps(describe_pyc(data))


@given(st.data())
def test_mutated_pyc_gives_only_documented_errors(pycs, data):
    _src, files = pycs
    raw = bytearray(files[py_compile.PycInvalidationMode.TIMESTAMP])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(16, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    read_everything(bytes(raw))


@given(st.binary(max_size=200))
def test_random_pyc_bodies_give_only_documented_errors(body):
    read_everything(importlib.util.MAGIC_NUMBER + bytes(12) + body)
    for version in ((3, 8), (3, 10), (3, 13)):
        data = pyc_magic.magic_to_bytes(pyc_magic.RELEASE_MAGIC[version]) + bytes(12) + body
        read_everything(data)


@given(st.integers(0, 400))
def test_truncated_pyc_gives_only_documented_errors(pycs, end):
    _src, files = pycs
    read_everything(files[py_compile.PycInvalidationMode.UNCHECKED_HASH][:end])


def test_our_marshal_writer_output_reads_as_pyc(pycs):
    _src, files = pycs
    data = files[py_compile.PycInvalidationMode.TIMESTAMP]
    code = marshal.loads(data[16:])
    rewritten = data[:16] + marshal_dumps(code)
    assert read_pyc(rewritten).code == read_pyc(data).code


def test_describe_survives_hostile_constants():
    deep = ()
    for _ in range(1500):
        deep = (deep,)
    code = compile("x = 1\n", "<c>", "exec")
    code = code.replace(co_consts=code.co_consts + (deep, 10 ** 5000, "s" * 10000))
    data = importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)
    desc = describe_pyc(data)
    text = json.dumps(desc)
    assert "<int of 16610 bits>" in text and len(text) < 20000
    assert "x" in render_pyc(desc)
    desc = describe_marshal(data[16:])
    assert len(json.dumps(desc)) < 20000

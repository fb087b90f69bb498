"""Compile everywhere, read everywhere.

Every available CPython 3.8-3.13 (found like CI finds them: ``python3.X`` on
PATH through the PYENV_VERSION shims) compiles the same sample module to a
.pyc and reports, for every code object in that file, what the interpreter
itself says (names, constants, varnames, cellvars, freevars, line numbers,
exception table).  Our reader, running on this interpreter, must report the
same for every one of those files.  A missing interpreter is skipped with a
reason, except under CI (env CI set), where it is a failure.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from pytest_serialcompat.reference.codeinfo import CodeInfo, CodeVersionError
from pytest_serialcompat.reference.pyc import read_pyc

VERSIONS = [(3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
RUNNING = tuple(sys.version_info[:2])

SAMPLE = '''\
"""Sample module: every kind of code object the compiler makes."""
import os
from functools import wraps

CONSTANT = (1, 2.5, -3j, "text", b"bytes", None, True, ..., frozenset({"a", "b"}))
BIG = 2 ** 100
SQUARES = [n * n for n in range(10)]
SETS = {c for c in "abc"}
MAPPING = {k: v for k, v in zip("ab", (1, 2))}
GEN = sum(x for x in range(3))


def decorator(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


@decorator
def positional(a, b, /, c, *rest, d=4, e, **extra):
    """Docstring."""
    total = a + b + c + d + e
    for item in rest:
        total += item
    return total, extra


def closures(start):
    count = start
    def bump(step=1):
        nonlocal count
        count += step
        return lambda: count + step
    return bump


def handlers(path):
    try:
        with open(path) as handle:
            data = handle.read()
    except (OSError, ValueError) as error:
        return str(error)
    except Exception:
        raise
    else:
        return data
    finally:
        path = None


def generator(limit):
    value = yield 1
    yield from range(limit)
    return value


async def coroutine(source):
    async with source as stream:
        async for chunk in stream:
            await chunk
    return [c async for c in source if c]


class Base:
    attribute = "class body"

    def __init__(self, value):
        self.value = value

    @property
    def doubled(self):
        return [self.value * i for i in (1, 2)]

    class Nested:
        def method(self):
            return __class__, super().__init__


def walrus(items):
    if (n := len(items)) > 2:
        return f"{n!r:>10} items"
    return {**{"n": n}, "items": [*items]}
'''

# Runs on every interpreter: compile SAMPLE to a .pyc and report what the
# interpreter says about each code object in that file (depth first).
CHILD = textwrap.dedent('''
    import dis, importlib.util, json, marshal, py_compile, sys, types

    def canon(v):
        if isinstance(v, types.CodeType):
            return ["code"]
        if isinstance(v, tuple):
            return ["tuple", [canon(x) for x in v]]
        if isinstance(v, frozenset):
            return ["frozenset", sorted((canon(x) for x in v), key=json.dumps)]
        if isinstance(v, bytes):
            return ["bytes", v.hex()]
        if isinstance(v, (int, str)) or v is None:
            return [type(v).__name__, v]
        return [type(v).__name__, repr(v)]

    def lines_of(co):
        if sys.version_info >= (3, 10):
            return [list(t) for t in co.co_lines()]
        return None

    def starts_of(co):
        if sys.version_info < (3, 10):
            return [list(p) for p in dis.findlinestarts(co)]
        out, last = [], None
        for start, _end, line in co.co_lines():
            if line is not None and line != last:
                out.append([start, line])
                last = line
        return out

    src, pyc = sys.argv[1], sys.argv[2]
    py_compile.compile(src, cfile=pyc, doraise=True)
    with open(pyc, "rb") as f:
        top = marshal.loads(f.read()[16:])
    report = []
    stack = [top]
    while stack:
        co = stack.pop()
        report.append({
            "name": co.co_name,
            "qualname": getattr(co, "co_qualname", None),
            "filename": co.co_filename,
            "firstlineno": co.co_firstlineno,
            "argcount": co.co_argcount,
            "posonlyargcount": co.co_posonlyargcount,
            "kwonlyargcount": co.co_kwonlyargcount,
            "nlocals": co.co_nlocals,
            "stacksize": co.co_stacksize,
            "flags": co.co_flags,
            "code": co.co_code.hex(),
            "names": list(co.co_names),
            "varnames": list(co.co_varnames),
            "cellvars": list(co.co_cellvars),
            "freevars": list(co.co_freevars),
            "consts": [canon(c) for c in co.co_consts],
            "lines": lines_of(co),
            "line_starts": starts_of(co),
            "exceptions": [list(e) for e in dis._parse_exception_table(co)]
                          if hasattr(dis, "_parse_exception_table") else None,
        })
        stack.extend(reversed([c for c in co.co_consts if isinstance(c, types.CodeType)]))
    print(json.dumps({
        "version": list(sys.version_info[:2]),
        "magic": int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little"),
        "codes": report,
    }))
''')


def canon(v):
    """Same canonical form as CHILD's, for values our reader decoded."""
    if isinstance(v, CodeInfo):
        return ["code"]
    if isinstance(v, tuple):
        return ["tuple", [canon(x) for x in v]]
    if isinstance(v, frozenset):
        return ["frozenset", sorted((canon(x) for x in v), key=json.dumps)]
    if isinstance(v, bytes):
        return ["bytes", v.hex()]
    if isinstance(v, (int, str)) or v is None:
        return [type(v).__name__, v]
    return [type(v).__name__, repr(v)]


def find_interpreter(version):
    """Path of python3.X through the PYENV_VERSION shims, if it really runs."""
    exe = shutil.which("python%d.%d" % version)
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or out.stdout.strip() != str(tuple(version)):
        return None
    return exe


@pytest.fixture(scope="session")
def compiled(tmp_path_factory):
    """version -> (pyc bytes, the interpreter's own report), or a reason."""
    root = tmp_path_factory.mktemp("compile_everywhere")
    src = root / "sample_module.py"
    src.write_text(SAMPLE, encoding="utf-8")
    child = root / "child.py"
    child.write_text(CHILD, encoding="utf-8")
    results = {}
    for version in VERSIONS:
        exe = find_interpreter(version)
        if exe is None:
            results[version] = "python%d.%d not found on PATH (PYENV_VERSION shims)" % version
            continue
        pyc = root / ("sample.%d%d.pyc" % version)
        proc = subprocess.run(
            [exe, "-I", str(child), str(src), str(pyc)],
            capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        results[version] = (pyc.read_bytes(), json.loads(proc.stdout))
    return results


def get_compiled(compiled, version):
    result = compiled[version]
    if isinstance(result, str):
        if os.environ.get("CI"):
            pytest.fail("CI must provide every interpreter: " + result)
        pytest.skip(result)
    return result


def our_report(info):
    report = []
    for code in info.code.walk():
        report.append({
            "name": code.name,
            "qualname": code.qualname,
            "filename": code.filename,
            "firstlineno": code.firstlineno,
            "argcount": code.argcount,
            "posonlyargcount": code.posonlyargcount,
            "kwonlyargcount": code.kwonlyargcount,
            "nlocals": code.nlocals,
            "stacksize": code.stacksize,
            "flags": code.flags,
            "code": code.code.hex(),
            "names": list(code.names),
            "varnames": list(code.varnames),
            "cellvars": list(code.cellvars),
            "freevars": list(code.freevars),
            "consts": [canon(c) for c in code.consts],
            "lines": [list(t) for t in code.lines] if code.python_version >= (3, 10) else None,
            "line_starts": [list(p) for p in code.line_starts],
            "exceptions": [list(e) for e in code.exception_entries] if code.python_version >= (3, 11) else None,
        })
    return report


@pytest.mark.parametrize("version", VERSIONS, ids=["py%d%d" % v for v in VERSIONS])
def test_reader_reports_what_the_writing_interpreter_reports(compiled, version):
    data, theirs = get_compiled(compiled, version)
    info = read_pyc(data)
    assert info.python_version == version
    assert info.magic == theirs["magic"]
    assert info.release
    ours = our_report(info)
    assert len(ours) == len(theirs["codes"])
    for mine, reported in zip(ours, theirs["codes"]):
        if version < (3, 11):
            # exception tables exist from 3.11 on; dis of 3.8-3.10 has none
            reported = dict(reported, exceptions=None)
        assert mine == reported, "code object %s differs" % (reported["qualname"] or reported["name"])


def test_sample_exercises_every_kind_of_code(compiled):
    """The sample really has closures, cells, posonly/kwonly args, async..."""
    available = [v for v in VERSIONS if not isinstance(compiled[v], str)]
    if not available:
        pytest.skip("no interpreter available")
    info = read_pyc(compiled[available[-1]][0])
    codes = {c.qualname or c.name: c for c in info.code.walk()}
    flags = set()
    for code in codes.values():
        flags.update(code.flag_names)
    assert {"GENERATOR", "COROUTINE", "VARARGS", "VARKEYWORDS", "NESTED"} <= flags
    assert any(c.freevars for c in codes.values()) and any(c.cellvars for c in codes.values())
    assert any(c.posonlyargcount for c in codes.values()) and any(c.kwonlyargcount for c in codes.values())
    assert any(c.exception_entries for c in codes.values()) or info.python_version < (3, 11)


@pytest.mark.parametrize("version", VERSIONS, ids=["py%d%d" % v for v in VERSIONS])
def test_to_code_only_on_the_same_interpreter(compiled, version):
    data, _theirs = get_compiled(compiled, version)
    info = read_pyc(data)
    if version == RUNNING:
        import marshal

        live = info.code.to_code()
        assert live == marshal.loads(data[16:])
        namespace = {}
        exec(live, namespace)
        assert namespace["positional"](1, 2, 3, e=5, x=0) == ((15, {"x": 0}))
    else:
        with pytest.raises(CodeVersionError) as excinfo:
            info.code.to_code()
        message = str(excinfo.value)
        assert "%d.%d" % version in message and "%d.%d" % RUNNING in message
        for nested in info.code.walk():
            with pytest.raises(CodeVersionError):
                nested.to_code()


@pytest.mark.parametrize("version", VERSIONS, ids=["py%d%d" % v for v in VERSIONS])
def test_running_bytecode_check_knows_its_own_code_from_another_versions(compiled, version):
    """Another version's code that reads with this version's layout is still told apart."""
    from pytest_serialcompat.reference import codeinfo_layout
    from pytest_serialcompat.reference.codeinfo import make_reader, running_bytecode_problem

    data, _theirs = get_compiled(compiled, version)
    if codeinfo_layout.layout_name(version) != codeinfo_layout.layout_name(RUNNING):
        pytest.skip("%d.%d code does not even read with this version's layout" % version)
    info = make_reader(data[16:], RUNNING).read()  # read as if this version had written it
    problem = running_bytecode_problem(info)
    if version == RUNNING:
        assert problem is None
    else:
        assert problem is not None and "offset" in problem


def test_running_bytecode_check_accepts_the_stdlib_of_this_interpreter():
    """No false alarm on real code: every module of the stdlib's pickle/json/asyncio stack."""
    import asyncio
    import dataclasses
    import json as json_module
    import marshal
    import pickle
    import typing

    from pytest_serialcompat.reference.codeinfo import make_reader, running_bytecode_problem

    for module in (asyncio.base_events, dataclasses, json_module.decoder, pickle, typing):
        with open(module.__file__, encoding="utf-8") as handle:
            code = compile(handle.read(), module.__file__, "exec")
        info = make_reader(marshal.dumps(code), RUNNING).read()
        assert running_bytecode_problem(info) is None, module.__name__

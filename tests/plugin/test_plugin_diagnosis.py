"""Record, refactor, replay: each diagnosis, its suggested fix, and the safety gate (pytester)."""

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import pytest

from plugin_app import INI, make_app, other_interpreter, run, write_golden
from pytest_serialcompat.environment import CURRENT

# In-process pytester runs drop modules first imported during a run; importing the
# reference modules here keeps one copy of each (one tree.Node class) for every run.
from pytest_serialcompat.reference import allowlist, analyzer, canonical_json, tree  # noqa: F401

TAG = CURRENT.tag
STORE = "tests/__serialcompat__"

MODELS = '''
import dataclasses
import enum
from typing import List


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class User:
    name: str
    email: str
    tags: List[str] = dataclasses.field(default_factory=list)
    color: Color = Color.RED


class Profile:
    def __init__(self, handle, email):
        self.handle = handle
        self.email = email

    def __eq__(self, other):
        return type(other) is Profile and vars(self) == vars(other)


class Service:
    def __init__(self, name):
        self.name = name
        self.cache = {"hits": 0}

    def __eq__(self, other):
        return type(other) is Service and other.name == self.name
'''

TESTS = '''
from myapp.models import User, Profile, Service


def test_user(serialcompat):
    serialcompat.check(User("ann", "ann@example.org", ["admin"]), "user")


def test_profile(serialcompat):
    serialcompat.check(Profile("ann", "ann@example.org"), "profile", formats=("pickle",))


def test_service(serialcompat):
    serialcompat.check(Service("billing"), "service", formats=("pickle",), protocols=(4,))
'''


@pytest.fixture
def app(pytester, monkeypatch):
    """A small project: myapp/models.py, tests/test_app.py, pythonpath = ."""
    return make_app(pytester, monkeypatch, MODELS, TESTS)


def record(pytester):
    result = run(pytester, "--serialcompat-update")
    result.assert_outcomes(passed=3)
    return result


def edit(pytester, path, old, new):
    target = pytester.path / path
    text = target.read_text()
    assert old in text, (old, path)
    target.write_text(text.replace(old, new))


def golden_path(pytester, name, filename):
    return pytester.path / STORE / name / filename


# ------------------------------------------------------------- (a) moved


def test_class_moved_is_diagnosed_with_a_verified_fix(app):
    record(app)
    # move User to myapp/accounts.py
    edit(app, "myapp/models.py", "@dataclasses.dataclass\nclass User:", "@dataclasses.dataclass\nclass _Old:")
    (app.path / "myapp" / "accounts.py").write_text(textwrap.dedent('''
        import dataclasses
        from typing import List

        from myapp.models import Color


        @dataclasses.dataclass
        class User:
            name: str
            email: str
            tags: List[str] = dataclasses.field(default_factory=list)
            color: Color = Color.RED
    '''))
    edit(app, "tests/test_app.py", "from myapp.models import User, ", "from myapp.accounts import User\nfrom myapp.models import ")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "(a) class moved or renamed -- user/%s-p2.pickle*" % TAG,
        "*The golden names myapp.models.User, which no longer imports "
        "(AttributeError: module 'myapp.models' has no attribute 'User')*",
        "*Found myapp.accounts.User at myapp/accounts.py:9*",
        "*re-export it at the old path (add to the end of myapp/models.py):*",
        "*def __getattr__(name):  # old goldens name myapp.models.User*",
        "*or map the old path*serialcompat_renames*",
        "*myapp.models.User = myapp.accounts.User",
        "*Verified: with this mapping the golden loads and equals the current object.*",
        "*(a) class moved or renamed: 4 golden check(s) in 1 sample(s): user*",
    ])
    # the suggested ini fix works
    app.makeini("[pytest]\npythonpath = .\naddopts = -p no:cacheprovider\n"
                "serialcompat_renames =\n    myapp.models.User = myapp.accounts.User\n")
    run(app, "--serialcompat").assert_outcomes(passed=3)
    # and so does the suggested re-export, without the ini entry
    app.makeini("[pytest]\npythonpath = .\naddopts = -p no:cacheprovider\n")
    with open(str(app.path / "myapp" / "models.py"), "a") as handle:
        handle.write(textwrap.dedent('''
            def __getattr__(name):  # old goldens name myapp.models.User
                if name == 'User':
                    from myapp.accounts import User
                    return User
                raise AttributeError(name)
        '''))
    run(app, "--serialcompat").assert_outcomes(passed=3)


def test_renamed_class_suggests_the_current_class(app):
    record(app)
    edit(app, "myapp/models.py", "class Profile:", "class Account:")
    edit(app, "myapp/models.py", "type(other) is Profile", "type(other) is Account")
    edit(app, "tests/test_app.py", "Profile(", "Account(")
    edit(app, "tests/test_app.py", "User, Profile,", "User, Account,")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*The golden names myapp.models.Profile, which no longer imports*",
        "*Found myapp.models.Account at the current object's class (renamed?)*",
        "*from myapp.models import Account as Profile  # old goldens name myapp.models.Profile*",
        "*myapp.models.Profile = myapp.models.Account*",
        "*Verified*",
    ])


# ----------------------------------------------------- (b) state changed


def test_dropped_field_is_a_state_change_even_when_equal(app):
    record(app)
    edit(app, "myapp/models.py", "    tags: List[str] = dataclasses.field(default_factory=list)\n", "")
    edit(app, "tests/test_app.py", 'User("ann", "ann@example.org", ["admin"])', 'User("ann", "ann@example.org")')
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "(b) state changed -- user/%s.json*" % TAG,
        "*$.tags: removed (the golden has it, the current encoding does not)*",
        "(b) state changed -- user/%s-p2.pickle*" % TAG,
        "*obj.tags: removed (the golden has ?'admin'?; the current object has no such attribute)*",
        "*__setstate__*",
    ])


def test_renamed_attribute_is_paired(app):
    record(app)
    edit(app, "myapp/models.py", "self.handle = handle", "self.login = handle")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "(b) state changed -- profile/*",
        "*obj.handle -> obj.login: renamed (value 'ann')*",
    ])


# --------------------------------------------------------- (c) not equal


OBTAINED = ".pytest_cache/serialcompat/obtained"   # pytest's cache dir, outside the store


def obtained_path(pytester, name, filename, folder=OBTAINED):
    return pytester.path / folder / name / filename


def test_not_equal_shows_the_diff_and_writes_obtained_outside_the_store(app):
    record(app)
    edit(app, "tests/test_app.py", 'Profile("ann", "ann@example.org")', 'Profile("ann", "ann@example.com")')
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "(c) loads but is not equal -- profile/%s-p2.pickle*" % TAG,
        "*obj.email: 'ann@example.org' != 'ann@example.com'*",
        "*Obtained bytes written for inspection (outside the store): "
        "%s/profile/%s-p2.pickle.%s.obtained*" % (OBTAINED, TAG, TAG),
        "*obtained bytes written for inspection: %d file(s) (*.obtained) in %s"
        % (pickle.HIGHEST_PROTOCOL - 1, OBTAINED),   # protocols 2 to the highest
    ])
    assert not list((app.path / STORE).rglob("*.obtained"))
    assert (app.path / OBTAINED / ".gitignore").read_text().endswith("\n*\n")
    # the replaying interpreter is in the name: a parallel replay of the same golden on
    # another Python keeps its own file, which this run neither overwrites nor removes
    other = obtained_path(app, "profile", "%s-p4.pickle.cpython3.7.obtained" % TAG)
    other.write_bytes(b"left by another interpreter's replay")
    run(app, "--serialcompat").assert_outcomes(passed=2, failed=1)
    obtained = obtained_path(app, "profile", "%s-p4.pickle.%s.obtained" % (TAG, TAG)).read_bytes()
    golden = golden_path(app, "profile", "%s-p4.pickle" % TAG).read_bytes()
    assert obtained != golden
    assert b"ann@example.com" in obtained and b"ann@example.org" in golden
    assert other.read_bytes() == b"left by another interpreter's replay"
    # fixing the test back removes this interpreter's stale .obtained files only
    edit(app, "tests/test_app.py", "ann@example.com", "ann@example.org")
    run(app, "--serialcompat").assert_outcomes(passed=3)
    assert [p.name for p in (app.path / OBTAINED / "profile").glob("*.obtained")] == [other.name]


def test_obtained_files_go_to_the_configured_folder(app):
    record(app)
    app.makeini(INI + "serialcompat_obtained_dir = build/inspect\n")
    edit(app, "tests/test_app.py", 'Profile("ann", "ann@example.org")', 'Profile("ann", "ann@example.com")')
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*Obtained bytes written for inspection (outside the store): "
        "build/inspect/profile/%s-p2.pickle.%s.obtained*" % (TAG, TAG)])
    assert obtained_path(app, "profile", "%s-p2.pickle.%s.obtained" % (TAG, TAG),
                         "build/inspect").is_file()
    assert not list((app.path / STORE).rglob("*.obtained"))


def test_custom_compare_and_comparator_hook(app):
    """compare= and the comparator hook decide where they apply; a class without __eq__ is
    compared by its state, with no advice about __eq__."""
    (app.path / "tests" / "test_cmp.py").write_text(textwrap.dedent('''
        WHEN = "monday"

        class Box:
            def __init__(self, v):
                self.v = v
                self.when = WHEN

        def test_compare_arg(serialcompat):
            serialcompat.check(Box(1), "box1", formats=("pickle",), compare=lambda a, b: a.v == b.v)

        def test_hook(serialcompat):
            serialcompat.check([Box(2)], "box2", formats=("pickle",))

        def test_no_eq(serialcompat):
            serialcompat.check(Box(3), "box3", formats=("pickle",))

        def test_plain_eq(serialcompat):
            serialcompat.check(Box(4), "box4", formats=("pickle",), compare="eq")
    '''))
    (app.path / "tests" / "conftest.py").write_text(textwrap.dedent('''
        def pytest_serialcompat_comparator(config, cls):
            if cls.__name__ == "Box":
                def same(a, b):
                    return a.v == b.v  # "when" is not part of a Box's identity
                return same
    '''))
    # compare="eq" on a class without __eq__ is identity: it cannot even be recorded
    result = run(app, "--serialcompat-update", "tests/test_cmp.py")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["would not replay equal (not recorded) -- box4/*",
                                 "*(== is False)*"])
    run(app, "--serialcompat", "tests/test_cmp.py").assert_outcomes(passed=3, failed=1)
    test_file = app.path / "tests" / "test_cmp.py"
    test_file.write_text(test_file.read_text().replace('WHEN = "monday"', 'WHEN = "tuesday"'))
    # the comparator (for every Box, the one inside a list too) and compare= ignore "when"
    run(app, "--serialcompat", "tests/test_cmp.py", "-k", "not plain_eq").assert_outcomes(passed=3)
    (app.path / "tests" / "conftest.py").write_text("")
    result = run(app, "--serialcompat", "tests/test_cmp.py", "-k", "not plain_eq")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["(c) loads but is not equal -- box2/*",
                                 "*obj[[]0].when: 'monday' != 'tuesday'*",
                                 "(c) loads but is not equal -- box3/*",
                                 "*obj.when: 'monday' != 'tuesday'*"])
    assert "__eq__" not in result.stdout.str() and " object at 0x" not in result.stdout.str()


# ------------------------------------------------ (d) unreadable protocol


def test_newer_protocol_is_skipped_with_the_reason(app):
    record(app)
    future = b"\x80\x06" + pickle.dumps("future", 4)[2:]
    write_golden(app, "service", "cpython3.99-p4.pickle", future, "cpython3.99")
    result = run(app, "--serialcompat", "-rs")
    result.assert_outcomes(passed=3)  # the readable goldens still pass
    result.stdout.fnmatch_lines([
        "skipped:",
        "*(d) protocol or format this interpreter cannot read: service/cpython3.99-p4.pickle -- "
        "pickle protocol 6 (recorded by cpython3.99) is newer than this interpreter can read "
        "(highest %d)*" % pickle.HIGHEST_PROTOCOL,
    ])


# -------------------------------------------------- (e) no longer pickles


def test_added_lock_names_the_offending_path(app):
    record(app)
    edit(app, "myapp/models.py", 'self.cache = {"hits": 0}',
         'self.cache = {"hits": 0}\n        import threading\n        self.cache = Cache()')
    with open(str(app.path / "myapp" / "models.py"), "a") as handle:
        handle.write("\n\nclass Cache:\n    def __init__(self):\n        import threading\n"
                     "        self._lock = threading.Lock()\n")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "(e) the current object no longer serializes -- service/%s-p4.pickle*" % TAG,
        "*The current object does not pickle: obj.cache._lock: _thread.lock (TypeError: *",
        "*Keep that attribute out of the serialized state*",
    ])


# ------------------------------------------ (f) code from another version


def test_marshal_code_from_another_version_is_skipped_naming_both_magic_numbers(app):
    python, tag = other_interpreter()
    if python is None:
        pytest.skip("needs a second CPython 3.8-3.13 to produce a foreign code object")
    script = ("import marshal, sys, importlib.util;"
              "sys.stdout.buffer.write(marshal.dumps(compile('def f(x):\\n return x + 1\\n', 'm', 'exec')))")
    data = subprocess.run([python, "-c", script], check=True, stdout=subprocess.PIPE).stdout
    magic = int(subprocess.run([python, "-c", "import importlib.util as u;"
                                "print(int.from_bytes(u.MAGIC_NUMBER[:2], 'little'))"],
                               check=True, stdout=subprocess.PIPE).stdout)
    (app.path / "tests" / "test_code.py").write_text(textwrap.dedent('''
        def test_code(serialcompat):
            code = compile('def f(x):\\n return x + 1\\n', 'm', 'exec')
            serialcompat.check(code, "code", formats=("marshal",))
    '''))
    run(app, "--serialcompat-update", "tests/test_code.py").assert_outcomes(passed=1)
    write_golden(app, "code", "%s-v4.marshal" % tag, data, tag, {"contains_code": True})
    manifest_path = app.path / STORE / "code" / ("%s.manifest.json" % tag)
    manifest = json.loads(manifest_path.read_text())
    manifest["magic_number"] = magic
    manifest_path.write_text(json.dumps(manifest))
    result = run(app, "--serialcompat", "tests/test_code.py")
    result.assert_outcomes(passed=1)  # this interpreter's own code golden replays equal
    result.stdout.fnmatch_lines([
        "*(f) marshal code object from another Python version: code/%s-v4.marshal -- marshal golden "
        "holds a code object* from %s (magic number %d); this interpreter, %s, uses magic number %d*"
        % (tag, tag, magic, TAG, CURRENT.magic_number),
    ])


# -------------------------------------------------------- the safety gate


def test_hostile_golden_is_refused_and_never_runs(app):
    record(app)
    marker = app.path / "PWNED"

    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch %s" % marker,))

    class Opener:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    write_golden(app, "service", "cpython3.7-p4.pickle", pickle.dumps(Exploit(), 4), "cpython3.7")
    write_golden(app, "service", "cpython3.6-p4.pickle", pickle.dumps(Opener(), 4), "cpython3.6")
    # the payloads really do create the marker when loaded naively (proof the test can fail)
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    assert not marker.exists()
    result.stdout.fnmatch_lines([
        "refused by the safety gate (not loaded) -- service/cpython3.7-p4.pickle*",
        "*Refused by the safety gate; the golden was NOT loaded:*",
        "*%s.system: operating-system access*" % os.system.__module__,
        "*Denied globals can never be allowed.*",
    ])
    result.stdout.fnmatch_lines(["refused by the safety gate (not loaded) -- service/cpython3.6-p4.pickle*",
                                 "*io.open: *"])
    assert not marker.exists()
    # even allowing the module does not let a denied global through
    app.makeini("[pytest]\npythonpath = .\naddopts = -p no:cacheprovider\n"
                "serialcompat_allow = os posix io builtins\n")
    run(app, "--serialcompat").assert_outcomes(passed=2, failed=1)
    assert not marker.exists()
    # the payload is real: an unguarded load does create the marker
    subprocess.run([sys.executable, "-c", "import pickle,sys; pickle.loads(open(sys.argv[1],'rb').read())",
                    str(golden_path(app, "service", "cpython3.7-p4.pickle"))], check=True)
    assert marker.exists()


def test_unknown_module_is_refused_until_allowed(app):
    record(app)
    # a pickle naming a third-party module the project does not list
    body = b"\x8c\x0athirdparty\x94\x8c\x05Thing\x94\x93\x94)\x81\x94."
    data = b"\x80\x04\x95" + len(body).to_bytes(8, "little") + body
    write_golden(app, "service", "cpython3.7-p4.pickle", data, "cpython3.7")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*thirdparty.Thing: not on the allow-list*",
        "*serialcompat_allow = thirdparty*",
    ])


def test_tampered_golden_is_not_loaded(app):
    record(app)
    path = golden_path(app, "service", "%s-p4.pickle" % TAG)
    path.write_bytes(path.read_bytes().replace(b"billing", b"hacked!"))
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "golden does not match its manifest (not loaded) -- service/%s-p4.pickle*" % TAG,
        "*sha256 * does not match the manifest's * (the file changed after it was recorded)*",
    ])


def test_corrupt_golden_is_reported_with_offset(app):
    record(app)
    write_golden(app, "service", "cpython3.7-p4.pickle", b"\x80\x04\x95\xff\xff\xff\x7f", "cpython3.7")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["golden is corrupt (not loaded) -- service/cpython3.7-p4.pickle*",
                                 "*not a valid pickle (*byte*"])


def test_same_bytes_from_several_producers_are_loaded_once(app):
    """A matrix store holds the same bytes from many interpreters: each content loads once,
    and a golden with the same bytes but a broken manifest entry still fails on its own."""
    edit(app, "myapp/models.py", "class Service:\n", '''class Service:
    def __setstate__(self, state):
        import os
        log = os.path.join(os.path.dirname(__file__), os.pardir, "loads.log")
        with open(log, "a") as handle:
            handle.write(",".join(sorted(state["cache"])) + "\\n")
        self.__dict__.update(state)

''')
    record(app)
    same = golden_path(app, "service", "%s-p4.pickle" % TAG).read_bytes()
    other = same.replace(b"hits", b"miss")  # still == (Service compares names), not the fresh bytes
    assert other != same
    for producer in ("cpython3.6", "cpython3.7"):
        write_golden(app, "service", "%s-p4.pickle" % producer, same, producer)
    for producer in ("cpython3.4", "cpython3.5"):
        write_golden(app, "service", "%s-p4.pickle" % producer, other, producer)
    write_golden(app, "service", "cpython3.3-p4.pickle", same, "cpython3.3",
                 extra={"sha256": hashlib.sha256(b"something else").hexdigest()})
    log = app.path / "loads.log"
    log.write_text("")

    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["golden does not match its manifest (not loaded) -- "
                                 "service/cpython3.3-p4.pickle*"])
    # the current bytes not at all (they are the proof), the other bytes once (gated), and
    # one pristine copy of the current object to compare with -- not one load per golden file
    assert sorted(log.read_text().split()) == ["hits", "miss"]
    result.stdout.fnmatch_lines(["pickle *13 *0 *1 *0 *0"])


TEAM_MODELS = '''
import dataclasses
import os


@dataclasses.dataclass
class Team:
    name: str
    members: frozenset
    roles: dict

    def __setstate__(self, state):  # each load of a Team, logged
        with open(os.path.join(os.path.dirname(__file__), os.pardir, "loads.log"), "a") as log:
            log.write(state["name"] + "\\n")
        self.__dict__.update(state)
'''

TEAM_TESTS = '''
import os

from myapp.models import Team


def test_team(serialcompat):
    roles = {"lead": "ann", "dev": "bob"}
    if os.environ.get("ROLES_REVERSED"):  # the same dict, built in another order
        roles = dict(reversed(list(roles.items())))
    team = Team("core", frozenset({"ann", "bob", "cyd", "dee", "eve"}), roles)
    serialcompat.check(team, "team", formats=("pickle",))
'''


def _hash_seed_reordering(members) -> str:
    """A PYTHONHASHSEED under which ``members`` pickles in another order than under 0."""
    code = "import pickle, sys; sys.stdout.buffer.write(pickle.dumps(frozenset(%r), 4))" % (members,)

    def dumps(seed):
        return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONHASHSEED=seed),
                              check=True, stdout=subprocess.PIPE).stdout
    reference = dumps("0")
    return next(str(seed) for seed in range(1, 50) if dumps(str(seed)) != reference)


def test_goldens_differing_only_in_set_order_need_no_gate(pytester, monkeypatch):
    """Recorded under one PYTHONHASHSEED, replayed under another (real child processes):
    the frozenset pickles in another order, which is proven harmless without the analyzer;
    a dict built in another order still goes through the gate.  Both pass."""
    app = make_app(pytester, monkeypatch, TEAM_MODELS, TEAM_TESTS)
    app.makeini("[pytest]\npythonpath = .\n")  # with the cache: it holds the gate's verdicts
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    app.runpytest_subprocess("--serialcompat-update").assert_outcomes(passed=1)
    verdicts = app.path / ".pytest_cache" / "v" / "serialcompat" / "verdicts"
    shutil.rmtree(app.path / ".pytest_cache", ignore_errors=True)

    monkeypatch.setenv("PYTHONHASHSEED", _hash_seed_reordering(("ann", "bob", "cyd", "dee", "eve")))
    loads = app.path / "loads.log"
    loads.write_text("")  # recording read each golden back
    result = app.runpytest_subprocess("--serialcompat")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pickle *4 *0 *0 *0 *0"])  # checked, none failed
    # the same graph but for set order, as the bytes show: nothing was loaded
    assert loads.read_text() == ""
    [stored] = json.loads(verdicts.read_text())["spaces"]  # (one namespace: one set of tests)
    assert stored["verdicts"] == {} and stored["trust"] == {}  # no golden needed the analyzer
    # the proofs are remembered: golden sha256 -> the current pickle's sha256
    goldens = {hashlib.sha256(path.read_bytes()).hexdigest()
               for path in (app.path / STORE / "team").glob("*.pickle")}
    orders = stored["orders"]
    assert orders and set(orders) <= goldens
    assert all(len(fresh) == 64 and fresh not in goldens for fresh in orders.values())

    # a remembered proof counts only for the same current pickle: a wrong one is proven again
    stored["orders"] = {golden: "0" * 64 for golden in orders}
    verdicts.write_text(json.dumps({"format": 3, "spaces": [stored]}))
    app.runpytest_subprocess("--serialcompat").assert_outcomes(passed=1)
    assert json.loads(verdicts.read_text())["spaces"][0]["orders"] == orders
    app.runpytest_subprocess("--serialcompat").assert_outcomes(passed=1)  # warm: remembered

    monkeypatch.setenv("ROLES_REVERSED", "1")
    result = app.runpytest_subprocess("--serialcompat")
    result.assert_outcomes(passed=1)
    # other bytes for a reason other than set order: each golden was gated, loaded, compared
    assert loads.read_text().split().count("core") >= pickle.HIGHEST_PROTOCOL - 1
    assert len(json.loads(verdicts.read_text())["spaces"][0]["verdicts"]) == pickle.HIGHEST_PROTOCOL - 1

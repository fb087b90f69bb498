"""Frozen generations end to end (pytester): old releases' data keeps loading.

Record as 1.0, change the class and bump to 1.1, update: the 1.0 goldens move into
``releases/1.0/`` and today's are rewritten; replay checks both.  Then today's
code breaks the 1.0 data in the ways the issue names (a default removed, a class
moved without its re-export, a tampered frozen golden), and replay says so,
naming the release.
"""

import hashlib
import json
import textwrap

import pytest

from plugin_app import INI, make_app, run
from pytest_serialcompat.environment import CURRENT

# In-process pytester runs drop modules first imported during a run (see test_plugin_record).
from pytest_serialcompat.reference import allowlist, analyzer, canonical_json, tree  # noqa: F401

TAG = CURRENT.tag
STORE = "tests/__serialcompat__"
P4 = "%s-p4.pickle" % TAG

MODELS_10 = '''
class Job:
    def __init__(self, name, hosts):
        self.name = name
        self.hosts = hosts
'''

# 1.1: a field added with a class-level default (old data loads and reads it)
MODELS_11 = '''
class Job:
    retries = 3

    def __init__(self, name, hosts, retries=3):
        self.name = name
        self.hosts = hosts
        self.retries = retries
'''

TESTS = '''
from myapp.models import Job


def test_job(serialcompat):
    serialcompat.check(Job("nightly", ["a", "b"]), "job", formats=["pickle"], protocols=[4])
'''


def ini(version, extra=""):
    return INI + "serialcompat_project_version = %s\n%s" % (version, extra)


def set_version(pytester, version, extra=""):
    (pytester.path / "tox.ini").write_text(ini(version, extra))


def models(pytester, text):
    (pytester.path / "myapp" / "models.py").write_text(textwrap.dedent(text))


def frozen(pytester, version="1.0"):
    return pytester.path / STORE / "job" / "releases" / version


@pytest.fixture
def released(pytester, monkeypatch):
    """1.0 recorded, then 1.1 (a field with a default) updated: the 1.0 golden is frozen."""
    make_app(pytester, monkeypatch, MODELS_10, TESTS)
    set_version(pytester, "1.0")
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    current = pytester.path / STORE / "job"
    manifest = json.loads((current / ("%s.manifest.json" % TAG)).read_text())
    assert manifest["project_version"] == "1.0"
    assert manifest["goldens"][P4]["project_version"] == "1.0"
    old_bytes = (current / P4).read_bytes()

    models(pytester, MODELS_11)
    set_version(pytester, "1.1")
    result = run(pytester, "--serialcompat-update")
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "releases/1.0/%s (frozen)" % P4 in text
    assert (frozen(pytester) / P4).read_bytes() == old_bytes      # nothing lost
    assert (current / P4).read_bytes() != old_bytes               # today's golden rewritten
    frozen_manifest = json.loads((frozen(pytester) / ("%s.manifest.json" % TAG)).read_text())
    assert frozen_manifest["project_version"] == "1.0"
    assert frozen_manifest["goldens"][P4]["sha256"] == hashlib.sha256(old_bytes).hexdigest()
    return pytester


def test_update_freezes_the_last_release_and_replay_checks_it(released):
    result = run(released, "--serialcompat", "-rA")
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "1.0 / %s" % TAG in text          # the generation's row in the summary
    # a second update at 1.1 has nothing to freeze and keeps the frozen golden as it is
    before = (frozen(released) / P4).read_bytes()
    second = run(released, "--serialcompat-update")
    second.assert_outcomes(passed=1)
    assert "(frozen)" not in second.stdout.str()
    assert (frozen(released) / P4).read_bytes() == before


def test_removing_the_default_fails_naming_the_release_and_the_path(released):
    models(released, MODELS_11.replace("    retries = 3\n\n", ""))
    result = run(released, "--serialcompat")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert ("old data lacks obj.retries (added after 1.0): objects loaded from 1.0 data raise "
            "AttributeError on it; give it a class attribute default or set it in __setstate__"
            in text)
    assert "data written by 1.0 on %s loads, but does not fit today's classes" % TAG in text
    assert "releases/1.0/%s" % P4 in text


def test_setstate_migration_passes_and_left_behind_attributes_are_reported(released):
    models(released, '''
class Job:
    def __init__(self, name, hosts, retries=3):
        self.name = name
        self.host_list = hosts
        self.retries = retries

    def __setstate__(self, state):
        state = dict(state)
        state.setdefault("retries", 3)
        state.setdefault("host_list", state.get("hosts"))
        self.__dict__.update(state)
''')
    run(released, "--serialcompat-update").assert_outcomes(passed=1)
    result = run(released, "--serialcompat", "-rA")
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "left behind" in text and "obj.hosts" in text


def test_moving_the_class_without_reexport_is_a_class_move_naming_the_release(released):
    (released.path / "myapp" / "jobs.py").write_text(textwrap.dedent(MODELS_11))
    models(released, "")
    (released.path / "tests" / "test_app.py").write_text(
        TESTS.replace("from myapp.models import Job", "from myapp.jobs import Job"))
    result = run(released, "--serialcompat")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "data written by 1.0 on %s no longer loads: The golden names myapp.models.Job" % TAG \
        in text
    assert "(a) class moved or renamed" in text
    assert "from myapp.jobs import Job" in text   # the re-export fix
    # with the re-export, both generations load again
    models(released, "from myapp.jobs import Job  # old pickles\n")
    run(released, "--serialcompat").assert_outcomes(passed=1)


def test_a_tampered_frozen_golden_is_refused_and_never_rewritten(released):
    path = frozen(released) / P4
    data = bytearray(path.read_bytes())
    index = data.index(b"nightly")
    data[index:index + 7] = b"daytime"
    path.write_bytes(bytes(data))
    result = run(released, "--serialcompat")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "data written by 1.0 on %s was refused: sha256" % TAG in text
    assert "the golden was NOT loaded" in text
    # an update never rewrites it (nor freezes over it)
    run(released, "--serialcompat-update")
    assert path.read_bytes() == bytes(data)


def test_strict_generations_compare_for_equality(released):
    set_version(released, "1.1", "serialcompat_generations = strict\n")
    result = run(released, "--serialcompat")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "data written by 1.0 on %s no longer loads" % TAG in text
    assert "retries" in text


def test_values_are_listed_only_verbose(released):
    (released.path / "tests" / "test_app.py").write_text(TESTS.replace('"nightly"', '"weekly"'))
    run(released, "--serialcompat-update").assert_outcomes(passed=1)
    quiet = run(released, "--serialcompat")
    quiet.assert_outcomes(passed=1)
    assert "'nightly' != 'weekly'" not in quiet.stdout.str()
    loud = run(released, "--serialcompat", "-v")
    loud.assert_outcomes(passed=1)
    assert "obj.name: 'nightly' != 'weekly'" in loud.stdout.str()


def test_keep_generations_false_rewrites_in_place(pytester, monkeypatch):
    make_app(pytester, monkeypatch, MODELS_10, TESTS)
    set_version(pytester, "1.0")
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    models(pytester, MODELS_11)
    set_version(pytester, "1.1", "serialcompat_keep_generations = false\n")
    result = run(pytester, "--serialcompat-update")
    result.assert_outcomes(passed=1)
    assert "(frozen)" not in result.stdout.str()
    assert not (pytester.path / STORE / "job" / "releases").exists()


def test_project_version_from_pyproject_and_bad_versions(pytester, monkeypatch):
    make_app(pytester, monkeypatch, MODELS_10, TESTS)
    (pytester.path / "pyproject.toml").write_text(
        '[project]\nname = "myapp"\nversion = "2.0.0"\n')
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    manifest = json.loads((pytester.path / STORE / "job" / ("%s.manifest.json" % TAG)).read_text())
    assert manifest["goldens"][P4]["project_version"] == "2.0.0"
    set_version(pytester, "not a version")
    result = run(pytester, "--serialcompat")
    assert "serialcompat_project_version: 'not a version' is not a version" in result.stderr.str()


def test_sample_names_may_not_use_the_releases_folder(pytester, monkeypatch):
    make_app(pytester, monkeypatch, MODELS_10, '''
def test_bad(serialcompat):
    serialcompat.check(1, "job/releases/1.0")
''')
    result = run(pytester, "--serialcompat-update")
    result.assert_outcomes(failed=1)
    assert "below a sample is where its frozen generations" in result.stdout.str()


# ---------------------------------------------------------------- the command line


def test_freeze_command_and_prune_generation(pytester, monkeypatch):
    from cli_run import serialcompat_cli

    make_app(pytester, monkeypatch, MODELS_10, TESTS)
    set_version(pytester, "1.0")
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    status, out, err = serialcompat_cli("freeze", "--project", pytester.path, cwd=pytester.path)
    assert status == 0, err
    assert "frozen tests/__serialcompat__/job/releases/1.0/%s" % P4 in out
    assert (frozen(pytester) / P4).read_bytes() == (pytester.path / STORE / "job" / P4).read_bytes()
    # freezing again changes nothing; --as names another release
    status, out, err = serialcompat_cli("freeze", cwd=pytester.path)
    assert status == 0 and "0 golden(s) frozen as 1.0" in out and "1 already frozen" in out
    status, out, err = serialcompat_cli("freeze", "--as", "v0.9", cwd=pytester.path)
    assert status == 0 and (frozen(pytester, "0.9") / P4).exists()
    status, out, err = serialcompat_cli("freeze", "--as", "nope", cwd=pytester.path)
    assert status == 2 and "--as: 'nope' is not a version" in err
    # both releases are replayed
    result = run(pytester, "--serialcompat")
    result.assert_outcomes(passed=1)
    assert "0.9 / %s" % TAG in result.stdout.str() and "1.0 / %s" % TAG in result.stdout.str()

    # --serialcompat-prune never deletes a frozen generation, even of a sample no test asks for
    (pytester.path / "tests" / "test_app.py").write_text("def test_nothing():\n    pass\n")
    pruned = run(pytester, "--serialcompat-prune")
    pruned.assert_outcomes(passed=1)
    assert "old releases' goldens no test checks" in pruned.stdout.str()
    assert "tests/__serialcompat__/job/releases/0.9" in pruned.stdout.str()
    assert not (pytester.path / STORE / "job" / P4).exists()
    assert (frozen(pytester) / P4).exists() and (frozen(pytester, "0.9") / P4).exists()

    # prune-generation retires one release (no terminal here: the list is printed first)
    status, out, err = serialcompat_cli("prune-generation", "0.9", cwd=pytester.path)
    assert status == 0, err
    assert "releases/0.9/%s" % P4 in out and "deleted 2 file(s) of release 0.9" in out
    assert not frozen(pytester, "0.9").exists() and (frozen(pytester) / P4).exists()
    status, out, err = serialcompat_cli("prune-generation", "0.9", cwd=pytester.path)
    assert status == 2 and "no frozen generation 0.9" in err and "frozen: 1.0" in err


def test_freeze_refuses_a_tampered_golden(pytester, monkeypatch):
    from cli_run import serialcompat_cli

    make_app(pytester, monkeypatch, MODELS_10, TESTS)
    set_version(pytester, "1.0")
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    path = pytester.path / STORE / "job" / P4
    path.write_bytes(path.read_bytes().replace(b"nightly", b"daytime"))
    status, out, err = serialcompat_cli("freeze", cwd=pytester.path)
    assert status == 1
    assert "job/%s: not frozen, its bytes do not match its manifest" % P4 in err
    assert not frozen(pytester).exists()


def test_report_file_carries_the_generation_and_the_matrix_has_its_row(released):
    import io

    from pytest_serialcompat import cli

    models(released, MODELS_11.replace("    retries = 3\n\n", ""))   # 1.0 data breaks
    run(released, "--serialcompat", "--serialcompat-report=replay.json").assert_outcomes(failed=1)
    report = json.loads((released.path / "replay.json").read_text())
    by_file = {r["file"]: r for r in report["results"]}
    assert by_file["job/releases/1.0/%s" % P4]["generation"] == "1.0"
    assert by_file["job/releases/1.0/%s" % P4]["diagnosis"] == "not-upgradable"
    assert by_file["job/%s" % P4]["generation"] == ""
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["report", str(released.path / "replay.json"),
                       "--json", str(released.path / "matrix.json")], out, err)
    assert status == 1, err.getvalue()   # a required cell (1.0 data on this Python) fails
    text = out.getvalue()
    short = TAG.replace("cpython", "")
    row = [line for line in text.splitlines() if line.strip().startswith("1.0 / %s" % short)]
    assert row and "0/1/0" in row[0], text
    assert any(line.strip().startswith(short) and "1/0/0" in line for line in text.splitlines())
    matrix = json.loads((released.path / "matrix.json").read_text())
    assert "1.0 / %s" % TAG in matrix["recorded_on"]


# ---------------------------------------------------------------- across Pythons


def _python(version):
    import shutil
    import subprocess

    found = shutil.which("python%s" % version)
    if found is None:
        return None
    probe = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return found if probe.stdout.decode().strip() == version else None


@pytest.mark.slow
def test_a_frozen_38_generation_replays_on_this_python(pytester, monkeypatch, tmp_path):
    """Release 1.0's data as CPython 3.8 really wrote it, replayed by today's code here (3.13
    in the CI matrix): it loads and fits; without the default, it fails naming 1.0 on 3.8."""
    import subprocess

    from plugin_app import write_golden

    python38 = _python("3.8")
    if python38 is None:
        pytest.skip("no python3.8 on PATH")
    old = tmp_path / "release-1.0"
    (old / "myapp").mkdir(parents=True)
    (old / "myapp" / "__init__.py").write_text("")
    (old / "myapp" / "models.py").write_text(textwrap.dedent(MODELS_10))
    written = subprocess.run(
        [python38, "-c", "import pickle, sys; from myapp.models import Job; "
         "sys.stdout.buffer.write(pickle.dumps(Job('nightly', ['a', 'b']), 4))"],
        cwd=str(old), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    data = written.stdout
    assert data[:2] == b"\x80\x04"

    make_app(pytester, monkeypatch, MODELS_11, TESTS)
    set_version(pytester, "1.1")
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    write_golden(pytester, "job/releases/1.0", "cpython3.8-p4.pickle", data, "cpython3.8",
                 extra={"project_version": "1.0", "format": "pickle", "protocol": 4})
    result = run(pytester, "--serialcompat")
    result.assert_outcomes(passed=1)
    assert "1.0 / cpython3.8" in result.stdout.str()

    models(pytester, MODELS_11.replace("    retries = 3\n\n", ""))
    result = run(pytester, "--serialcompat")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "data written by 1.0 on cpython3.8 loads, but does not fit today's classes" in text
    assert "old data lacks obj.retries (added after 1.0)" in text


# ---------------------------------------------------------------- the store's side


def test_the_store_never_rewrites_or_deletes_a_frozen_golden(tmp_path):
    from pytest_serialcompat.results import DELETE, WRITE, StoreRequest
    from pytest_serialcompat.store import Store, StoreError

    store = Store(tmp_path)
    store.apply(StoreRequest(WRITE, "job/%s" % P4, b"today"))
    store.apply(StoreRequest(WRITE, "job/releases/1.0/%s" % P4, b"old"))
    assert store.samples() == ["job"]                     # releases/ is no sample
    assert store.apply(StoreRequest(WRITE, "job/releases/1.0/%s" % P4, b"old")) is None
    with pytest.raises(StoreError, match="frozen golden of release 1.0 and is never rewritten"):
        store.apply(StoreRequest(WRITE, "job/releases/1.0/%s" % P4, b"new"))
    with pytest.raises(StoreError, match="prune-generation"):
        store.apply(StoreRequest(DELETE, "job/releases/1.0/%s" % P4))
    assert (tmp_path / "job" / "releases" / "1.0" / P4).read_bytes() == b"old"


def test_project_version_sources(tmp_path):
    from pytest_serialcompat.store import StoreError, generations

    assert generations.project_version(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "v1.2.0"\n')
    assert generations.project_version(tmp_path) == ("1.2.0", "pyproject.toml")
    assert generations.project_version(tmp_path, " 2.0rc1 ").version == "2.0rc1"
    # a dynamic version: the installed distribution's metadata (pytest's, here)
    import pytest as installed

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "pytest"\ndynamic = ["version"]\n\n'
        '[tool.pytest.ini_options]\nserialcompat_dir = "golden"\n')
    assert generations.project_version(tmp_path).version == generations.normalize(
        installed.__version__)
    assert generations.read_ini_value(tmp_path, "serialcompat_dir") == "golden"
    (tmp_path / "pytest.ini").write_text("[pytest]\nserialcompat_dir = other\n")
    assert generations.read_ini_value(tmp_path, "serialcompat_dir") == "other"
    with pytest.raises(StoreError, match="'1.x' is not a version"):
        generations.project_version(tmp_path, "1.x")


@pytest.mark.slow
def test_freezing_under_xdist_goes_through_the_controller(pytester, monkeypatch):
    """Workers decide what to freeze; the controller writes it (the same records as any write)."""
    pytest.importorskip("xdist")
    make_app(pytester, monkeypatch, MODELS_10, TESTS + '''

def test_job_two(serialcompat):
    serialcompat.check(Job("hourly", ["c"]), "job-two", formats=["pickle"], protocols=[4])
''')
    set_version(pytester, "1.0")
    quiet = ("-n", "2", "-p", "no:hypothesispytest")
    pytester.runpytest_subprocess(*quiet, "--serialcompat-update").assert_outcomes(passed=2)
    models(pytester, MODELS_11)
    set_version(pytester, "1.1")
    result = pytester.runpytest_subprocess(*quiet, "--serialcompat-update")
    result.assert_outcomes(passed=2)
    assert result.stdout.str().count("(frozen)") == 2
    for sample in ("job", "job-two"):
        assert (pytester.path / STORE / sample / "releases" / "1.0" / P4).is_file()
    pytester.runpytest_subprocess(*quiet, "--serialcompat").assert_outcomes(passed=2)


def test_a_golden_its_release_cannot_keep_is_not_rewritten(released):
    """The 1.0 generation already holds other bytes under the name: nothing is lost."""
    current = released.path / STORE / "job"
    manifest_path = current / ("%s.manifest.json" % TAG)
    manifest = json.loads(manifest_path.read_text())
    manifest["goldens"][P4]["project_version"] = "1.0"     # as if 1.0 had recorded these too
    manifest_path.write_text(json.dumps(manifest))
    before = (current / P4).read_bytes()
    (released.path / "tests" / "test_app.py").write_text(TESTS.replace('"nightly"', '"weekly"'))
    result = run(released, "--serialcompat-update")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "Not rewritten: job/%s was recorded by 1.0" % P4 in text
    assert "release 1.0 already holds other bytes under that name" in text
    assert (current / P4).read_bytes() == before


def test_a_setstate_that_raises_on_old_state_names_the_release(released):
    models(released, MODELS_11 + '''
    def __setstate__(self, state):
        self.name = state["name"]
        self.hosts = state["hosts"]
        self.retries = state["retries"]     # 1.0 state has none: KeyError
''')
    result = run(released, "--serialcompat")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "data written by 1.0 on %s no longer loads:" % TAG in text
    assert "KeyError" in text and "'retries'" in text
    assert "serialcompat prune-generation 1.0" in text   # re-recording is no fix for a release

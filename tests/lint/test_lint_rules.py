"""Every rule's VALID/INVALID examples, alias handling, false-positive guards, rule docs."""
import json
import os

import pytest

from serialcompat_lint.config import Settings
from serialcompat_lint.docs import rules_markdown
from serialcompat_lint.engine import Linter
from serialcompat_lint.model import Invalid, ProjectExample
from serialcompat_lint.rules import ALL_RULES
from serialcompat_lint.runner import run

FILE_RULES = [r for r in ALL_RULES if not r.PROJECT_RULE]
PROJECT_RULES = [r for r in ALL_RULES if r.PROJECT_RULE]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cases(kind):
    for rule in FILE_RULES:
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id="%s-%s-%d" % (rule.CODE, kind.lower(), index))


def lint(source, code, full=False, requires_python=None, **settings):
    config = Settings(root=os.getcwd(), select=(code,), requires_python=requires_python, **settings)
    return Linter(config, full=full).lint_text("example.py", "example.py", source).findings


@pytest.mark.parametrize("full", [False, True], ids=["prefiltered", "full"])
@pytest.mark.parametrize("rule, source", list(_cases("VALID")))
def test_valid_examples_are_clean(rule, source, full):
    assert lint(source, rule.CODE, full=full) == ()


@pytest.mark.parametrize("full", [False, True], ids=["prefiltered", "full"])
@pytest.mark.parametrize("rule, example", list(_cases("INVALID")))
def test_invalid_examples_fire_on_the_marked_lines(rule, example, full):
    findings = lint(example.source, rule.CODE, full=full, requires_python=example.requires_python)
    assert [f.code for f in findings] == [rule.CODE] * len(example.lines)
    assert tuple(f.line for f in findings) == example.lines
    for finding in findings:
        assert finding.name == rule.NAME and finding.message and finding.severity == rule.SEVERITY


@pytest.mark.parametrize(
    "rule, example",
    [pytest.param(r, e, id=r.CODE) for r in FILE_RULES for e in r.INVALID if e.fixed],
)
def test_fix_examples(rule, example):
    config = Settings(root=os.getcwd(), select=(rule.CODE,))
    result = Linter(config).lint_text("example.py", "example.py", example.source, fix=True)
    assert result.fixed == example.fixed
    assert result.findings == ()  # nothing left after the fix
    compile(result.fixed, "fixed.py", "exec")


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.CODE)
def test_rule_declarations(rule):
    assert rule.validate_definition() == []


def test_codes_and_names_are_unique():
    assert len({r.CODE for r in ALL_RULES}) == len(ALL_RULES)
    assert len({r.NAME for r in ALL_RULES}) == len(ALL_RULES)


def test_docs_file_is_in_sync():
    with open(os.path.join(REPO, "docs", "lint-rules.md"), encoding="utf-8") as handle:
        assert handle.read() == rules_markdown(), "regenerate: python -m serialcompat_lint --write-docs docs/lint-rules.md"


def _write(root, files):
    for relative, text in files.items():
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    "example",
    [pytest.param(e, id="%s-%s-%d" % (r.CODE, kind, i)) for r in PROJECT_RULES for kind in ("VALID", "INVALID") for i, e in enumerate(getattr(r, kind))],
)
def test_project_rule_examples(tmp_path, example):
    _write(tmp_path, example.files)
    settings = Settings(root=str(tmp_path), select=("SC110",))
    result = run([str(tmp_path)], settings, use_cache=False, jobs=1)
    found = [f for f in result.findings if f.code == "SC110"]
    assert len(found) == example.findings
    for finding in found:
        assert finding.path.endswith("manifest.json") and "shop.models" in finding.message


def _manifest(goldens, indent=None):
    """A manifest as the plugin writes it (or, with ``indent``, as a person re-indented it)."""
    return json.dumps({"kind": "pytest-serialcompat golden manifest", "manifest_version": 2,
                       "interpreter": "cpython3.12", "sample": "s", "goldens": goldens},
                      indent=indent, sort_keys=True)


def test_golden_finding_points_at_the_manifest_line(tmp_path):
    manifest = _manifest({"cpython3.12-p4.pickle": {"globals": [["shop.models", "Order"],
                                                                ["shop.models", "Gone"]]}}, indent=2)
    _write(tmp_path, {"shop/__init__.py": "", "shop/models.py": "class Order:\n    pass\n",
                      "tests/__serialcompat__/s/cpython3.12.manifest.json": manifest})
    result = run([str(tmp_path)], Settings(root=str(tmp_path), select=("SC110",)), use_cache=False, jobs=1)
    line = manifest.splitlines().index(next(l for l in manifest.splitlines() if '"Gone"' in l)) + 1
    assert [(f.line, "Gone" in f.message) for f in result.findings] == [(line, True)]


def test_malformed_manifest_is_reported_not_crashing(tmp_path):
    _write(tmp_path, {
        "tests/__serialcompat__/s/cpython3.12.manifest.json":
            _manifest({"cpython3.12-p4.pickle": {"globals": [["only-one"]]}}),
        "tests/__serialcompat__/t/cpython3.12.manifest.json": "{not json",
    })
    result = run([str(tmp_path)], Settings(root=str(tmp_path), select=("SC110",)), use_cache=False, jobs=1)
    messages = sorted(f.message for f in result.findings)
    assert len(messages) == 2
    assert "malformed" in messages[0] and "not valid JSON" in messages[1]


# -- name resolution: aliases and same-named unrelated things ----------------------------------------

ALIAS_CASES = [
    ("import multiprocessing as mp\ndef f(xs):\n    with mp.Pool() as p:\n        p.imap_unordered(lambda x: x, xs)\n", 1),
    ("from multiprocessing import Pool as P\ndef f(xs):\n    pool = P()\n    pool.starmap_async(lambda x: x, xs)\n", 1),
    ("import multiprocessing as mp\ndef f(xs):\n    ctx = mp.get_context('forkserver')\n    ctx.Pool().apply(lambda: 1)\n", 1),
    ("from concurrent.futures import ProcessPoolExecutor as PPE\ndef f():\n    ex = PPE(initializer=lambda: None)\n", 1),
    ("import concurrent.futures\ndef f():\n    with concurrent.futures.ProcessPoolExecutor() as ex:\n        ex.submit(lambda: 1)\n", 1),
    ("class Worker:\n    def __init__(self):\n        import multiprocessing\n        self.pool = multiprocessing.Pool()\n    def run(self, xs):\n        return self.pool.map(lambda x: x, xs)\n", 1),
    # unrelated things with the same names
    ("from mylib import Pool\ndef f(xs):\n    with Pool() as p:\n        p.map(lambda x: x, xs)\n", 0),
    ("import multiprocessing\ndef f(xs, Pool):\n    with Pool() as p:\n        p.map(lambda x: x, xs)\n", 0),
    ("import multiprocessing\nclass Executor:\n    def submit(self, f):\n        return f()\ndef g():\n    return Executor().submit(lambda: 1)\n", 0),
    ("import multiprocessing.dummy as mpd\ndef f(xs):\n    with mpd.Pool() as p:\n        p.map(lambda x: x, xs)\n", 0),
]


@pytest.mark.parametrize("full", [False, True], ids=["prefiltered", "full"])
@pytest.mark.parametrize("source, expected", ALIAS_CASES)
def test_names_are_resolved_through_aliases(source, expected, full):
    assert len(lint(source, "SC101", full=full)) == expected


def test_shadowed_open_is_not_a_file():
    source = "import copy\ndef open(path):\n    return path\nclass A:\n    def __init__(self):\n        self.x = open('p')\ncopy.deepcopy(A())\n"
    assert lint(source, "SC102") == ()
    assert len(lint(source.replace("def open(path):\n    return path\n", ""), "SC102")) == 1


def test_configured_resource_types_and_version_fields():
    source = "import mydb, pickle\nclass Repo:\n    def __init__(self):\n        self.db = mydb.connect('x')\nblob = pickle.dumps(Repo())\n"
    assert lint(source, "SC102") == ()
    assert len(lint(source, "SC102", resource_types=("mydb.connect",))) == 1
    record = "import pickle\nclass S:\n    def __getstate__(self):\n        return {'rev': 1}\npickle.dump(S(), open('f', 'wb'))\n"
    assert len(lint(record, "SC105")) == 1
    assert lint(record, "SC105", version_fields=("rev",)) == ()


def test_protocol_rule_follows_requires_python():
    source = "import pickle\ndef f(x):\n    return pickle.dumps(x, protocol=5)\n"
    assert len(lint(source, "SC108", requires_python=">=3.7")) == 1
    assert lint(source, "SC108", requires_python=">=3.8") == ()
    assert lint(source, "SC108", requires_python=None) == ()
    assert len(lint(source.replace("5", "4"), "SC108", requires_python=">=3.3")) == 1


def test_noqa_suppresses_only_the_named_code():
    source = "import pickle\ndef h(conn):\n    return pickle.loads(conn.recv(9))  # noqa: SC106\n"
    assert lint(source, "SC106") == ()
    assert len(lint(source.replace("SC106", "SC101"), "SC106")) == 1

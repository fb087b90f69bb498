"""--fix and --diff on real files."""
import subprocess
import sys

HOIST = "from multiprocessing import Pool\n\nSCALE = 3\n\ndef run(items):\n    with Pool() as pool:\n        return pool.map(lambda x: x * SCALE, items)\n"
HOISTED = "from multiprocessing import Pool\n\nSCALE = 3\n\ndef _map_task(x):\n    return x * SCALE\n\ndef run(items):\n    with Pool() as pool:\n        return pool.map(_map_task, items)\n"
LOCAL = "from multiprocessing import Pool\n\ndef run(items, k):\n    with Pool() as pool:\n        return pool.map(lambda x: x * k, items)\n"
STATE = "class S:\n    def __getstate__(self):\n        return {'a': self.a}\n"
# Evidence in another module that S is written to a file: only then is its state a durable record.
STORE = "import pickle\nfrom state import S\n\ndef save(f):\n    pickle.dump(S(), f)\n"


def cli(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "serialcompat_lint", "--no-cache"] + list(args), cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    return done.returncode, done.stdout


def test_fix_hoists_a_lambda_and_versions_getstate(tmp_path):
    (tmp_path / "pool.py").write_text(HOIST)
    (tmp_path / "state.py").write_text(STATE)
    (tmp_path / "store.py").write_text(STORE)
    code, out = cli("--fix", ".", cwd=tmp_path)
    assert code == 0, out
    assert (tmp_path / "pool.py").read_text() == HOISTED
    assert (tmp_path / "state.py").read_text() == "class S:\n    def __getstate__(self):\n        return {'version': 1, 'a': self.a}\n"
    assert cli("--fix", ".", cwd=tmp_path)[0] == 0  # idempotent


def test_getstate_of_a_class_nothing_stores_is_left_alone(tmp_path):
    (tmp_path / "state.py").write_text(STATE)
    assert cli("--fix", ".", cwd=tmp_path)[0] == 0
    assert (tmp_path / "state.py").read_text() == STATE
    (tmp_path / "store.py").write_text(STORE)
    code, out = cli("--diff", ".", cwd=tmp_path)
    assert code == 1 and "+        return {'version': 1, 'a': self.a}" in out


def test_a_lambda_using_local_names_is_reported_but_not_rewritten(tmp_path):
    (tmp_path / "pool.py").write_text(LOCAL)
    code, out = cli("--fix", "pool.py", cwd=tmp_path)
    assert code == 1 and "SC101" in out
    assert (tmp_path / "pool.py").read_text() == LOCAL


def test_diff_previews_without_writing(tmp_path):
    (tmp_path / "pool.py").write_text(HOIST)
    code, out = cli("--diff", "pool.py", cwd=tmp_path)
    assert code == 1
    assert "--- a/pool.py" in out and "+def _map_task(x):" in out and "-        return pool.map(lambda x: x * SCALE, items)" in out
    assert (tmp_path / "pool.py").read_text() == HOIST
    (tmp_path / "pool.py").write_text(HOISTED)
    assert cli("--diff", "pool.py", cwd=tmp_path) == (0, "")


def test_hoisted_name_does_not_collide(tmp_path):
    source = HOIST.replace("SCALE = 3\n", "SCALE = 3\n_map_task = None\n")
    (tmp_path / "pool.py").write_text(source)
    assert cli("--fix", "pool.py", cwd=tmp_path)[0] == 0
    assert "def _map_task_2(x):" in (tmp_path / "pool.py").read_text()

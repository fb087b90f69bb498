"""The one protocol-by-version table (reference/opcodes.py) against the real interpreters.

The plugin's diagnoses, the matrix and the linter's SC103 (``requires-python``) all
read :data:`FIRST_PYTHON_READING`; here every installed CPython says what it reads.
"""

import shutil
import subprocess
import sys

import pytest

from pytest_serialcompat.reference.opcodes import FIRST_PYTHON_READING, highest_protocol_read_by

MINORS = range(8, 14)


def _interpreter(minor):
    if sys.version_info[:2] == (3, minor):
        return sys.executable
    return shutil.which("python3.%d" % minor)


@pytest.mark.parametrize("minor", MINORS, ids=["3.%d" % m for m in MINORS])
def test_each_interpreter_reads_what_the_table_says(minor):
    python = _interpreter(minor)
    if python is None:
        pytest.skip("python3.%d is not installed" % minor)
    out = subprocess.run([python, "-c", "import pickle, sys; print(pickle.HIGHEST_PROTOCOL, "
                          "'%d.%d' % sys.version_info[:2])"],
                         stdout=subprocess.PIPE, check=True, timeout=60).stdout.decode().split()
    assert out[1] == "3.%d" % minor
    assert highest_protocol_read_by((3, minor)) == int(out[0])


def test_the_linter_reads_the_same_table():
    from serialcompat_lint.rules.records import PROTOCOL_SINCE

    assert PROTOCOL_SINCE == {p: v for p, v in FIRST_PYTHON_READING.items() if v >= (3, 0)}
    assert PROTOCOL_SINCE[5] == (3, 8) and PROTOCOL_SINCE[4] == (3, 4)

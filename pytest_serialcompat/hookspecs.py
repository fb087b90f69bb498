"""Hooks other plugins and conftest.py files implement to extend pytest-serialcompat."""

import pytest


@pytest.hookspec(firstresult=True)
def pytest_serialcompat_json_codec(config, cls):
    """Return a JSON codec for instances of ``cls``, or None to leave it to the defaults.

    A codec is any object with ``to_json(obj) -> JSON value`` and
    ``from_json(value) -> obj`` (and optionally a ``name`` for messages).
    """


@pytest.hookspec(firstresult=True)
def pytest_serialcompat_comparator(config, cls):
    """Return ``compare(loaded, current) -> bool`` for instances of ``cls``, or None.

    None leaves them to the object-graph comparison.  A comparator decides for
    every instance of ``cls`` wherever it is in the compared graph (the checked
    object itself included, unless ``check()`` got ``compare=``).  It may also
    raise AssertionError with an explanation.
    """

"""Compatibility shims: the pickle functions re-exported under the project's own names."""
from pickle import dumps as pickle_dumps
from pickle import loads as pickle_loads

__all__ = ["pickle_dumps", "pickle_loads"]

"""pytest-serialcompat: guard pickle, marshal and JSON data across Python versions."""

__version__ = "0.1.0"

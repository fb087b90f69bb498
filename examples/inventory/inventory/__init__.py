"""Example application for pytest-serialcompat: a tiny warehouse inventory."""

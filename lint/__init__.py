"""serialcompat-lint: a libcst linter for serialization hazards.

Command line: ``serialcompat-lint PATH...`` (see ``--help``).  Programmatic use::

    from serialcompat_lint import Linter, Settings, load_settings, run
"""
__version__ = "0.1.0"

from .config import Settings, load_settings  # noqa: E402
from .engine import Linter  # noqa: E402
from .model import Finding  # noqa: E402
from .runner import run  # noqa: E402

__all__ = ["__version__", "Finding", "Linter", "Settings", "load_settings", "run"]

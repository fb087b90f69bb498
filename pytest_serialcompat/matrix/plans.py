"""What a ``serialcompat matrix`` run will do: environments, phases, options, outcomes.

An environment is either a tox env of the project (``tox run -e py38 -- ARGS``;
the project's tox.ini must hand ``{posargs}`` to pytest) or an interpreter run
directly (``--python python3.8``) in a throwaway virtual environment
(:mod:`.environments`).  Each writes a ``--serialcompat-report`` file and a
log; how each went is a :class:`.model.EnvStatus`.
"""

from pathlib import Path
from typing import Any, NamedTuple, Optional, Sequence

from .model import EnvStatus


STATE_DIR = ".serialcompat"            # under the project: venvs/, matrix/ (reports and logs)


VENVS_SUBDIR = "venvs"


REPORTS_SUBDIR = "matrix"


TOX, PYTHON = "tox", "python"


class RunnerError(Exception):
    """A matrix run that cannot start (no tox, no environments, bad option)."""


class PythonCommand(NamedTuple):
    command: str          # as given: "python3.8" or a path
    executable: str       # the real interpreter (sys.executable of the probe)
    implementation: str   # "cpython"
    version: str          # "3.8.18"
    tag: str              # "cpython3.8"


class EnvPlan(NamedTuple):
    name: str                              # "py38" (tox) or "cpython3.8" (python)
    kind: str                              # TOX or PYTHON
    explicit: bool                         # chosen on the command line (missing => failure)
    interpreter: Optional[PythonCommand] = None
    problem: str = ""                      # why it cannot run (interpreter not found)


class Phase(NamedTuple):
    name: str                 # "record" / "replay"
    pytest_args: tuple        # the plugin's options for this phase


RECORD = Phase("record", ("--serialcompat-update",))


REPLAY = Phase("replay", ("--serialcompat",))


class RunOptions(NamedTuple):
    project: Path
    reports_dir: Path
    venv_dir: Path
    tox_command: Sequence[str] = ()
    jobs: int = 0                         # 0: os.cpu_count()
    pytest_args: Sequence[str] = ()       # extra pytest arguments, after ours
    extras: Sequence[str] = ()            # project extras installed in throwaway venvs
    requirements: Sequence[str] = ()      # more requirements for throwaway venvs
    plugin_source: Optional[str] = None   # path or requirement for the plugin in throwaway venvs
    allow_update_in_ci: bool = False
    timeout: Optional[float] = None       # seconds per environment and phase
    plugin: Optional[Any] = None          # the resolved plugin_source.PluginSource (the runner's)


class EnvOutcome(NamedTuple):
    plan: EnvPlan
    phase: str
    state: str                    # ENV_OK / ENV_ERROR / ENV_MISSING
    elapsed: float
    returncode: Optional[int]
    report: Optional[Path]        # the report file, when one was written
    log: Optional[Path]
    message: str = ""
    python_version: str = ""
    tag: str = ""
    details: str = ""             # the log's last lines, for errors
    build_failed: bool = False    # its venv could not be built: no later phase
    plugin_problem: str = ""      # the plugin could not be installed (one note for the run)

    def status(self, required_missing: bool) -> EnvStatus:
        return EnvStatus(
            name=self.plan.name, state=self.state, elapsed=self.elapsed,
            interpreter=self.python_version, message=self.message,
            report=str(self.report) if self.report else "",
            required=self.plan.explicit or required_missing, tag=self.tag, details=self.details)

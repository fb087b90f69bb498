"""Child processes of a matrix run: a clean environment, streamed output, the progress display."""

import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence


LOG_TAIL_LINES = 15


PROGRESS_INTERVAL = 0.2


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# Variables that would make a child interpreter use another environment.
SCRUBBED_VARIABLES = ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "__PYVENV_LAUNCHER__")


def child_environment(keep_venv: bool = False) -> Dict[str, str]:
    environ = dict(os.environ)
    # Run inside a tox env (e.g. from the project's own test suite), tox exports
    # TOX_WORK_DIR, TOX_ENV_DIR, ...; tox reads TOX_<OPTION> as options, so a
    # child tox would reuse -- and recreate -- the outer tox's environments.
    for name in list(environ):
        if name.startswith("TOX_"):
            del environ[name]
    if not keep_venv:
        for name in SCRUBBED_VARIABLES:
            environ.pop(name, None)
    environ.setdefault("PYTHONIOENCODING", "utf-8")
    return environ


def tail_text(text: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = [line for line in ANSI_ESCAPE.sub("", text).splitlines() if line.strip()]
    return "\n".join("    " + line for line in kept[-lines:])


def last_line(data: bytes) -> str:
    """The last non-empty line of some output, without colours (for the progress line)."""
    text = ANSI_ESCAPE.sub("", data.decode("utf-8", "replace")).replace("\r", "\n")
    for line in reversed(text.split("\n")):
        if line.strip():
            return line.strip()
    return ""


class Children:
    """The subprocesses this run started, so an interrupt can end exactly them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._procs: List[subprocess.Popen] = []
        self.stopping = False

    def add(self, proc) -> None:
        with self._lock:
            self._procs.append(proc)

    def remove(self, proc) -> None:
        with self._lock:
            if proc in self._procs:
                self._procs.remove(proc)

    def terminate_all(self) -> None:
        self.stopping = True
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


def run_streaming(argv: List[str], cwd: Path, environ: Dict[str, str], log, on_output,
                  children: Children, timeout: Optional[float] = None) -> int:
    """Run ``argv``, copy its output to ``log``, report its last line; returns the exit status."""
    log.write(("$ %s\n" % " ".join(shlex.quote(a) for a in argv)).encode("utf-8"))
    log.flush()
    if children.stopping:
        return -1
    try:
        proc = subprocess.Popen(argv, cwd=str(cwd), env=environ, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except OSError as exc:
        log.write(("cannot start: %s\n" % exc).encode("utf-8"))
        return 127
    children.add(proc)
    timer = None
    if timeout:
        timer = threading.Timer(timeout, proc.kill)
        timer.daemon = True
        timer.start()
    tail = b""
    try:
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            log.write(chunk)
            log.flush()
            tail = (tail + chunk)[-2048:]
            on_output(last_line(tail))
        return proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
        proc.stdout.close()
        children.remove(proc)


class Progress:
    """One line per environment, redrawn in place on a terminal; plain lines otherwise."""

    def __init__(self, stream, names: Sequence[str], live: bool):
        self.stream = stream
        self.names = list(names)
        self.live = live
        self.width = max([len(n) for n in self.names] + [4])
        self._lock = threading.Lock()
        self._state: Dict[str, List] = {n: ["waiting", "", None, None] for n in self.names}
        self._drawn = 0
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.live:
            self._draw()
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._draw()

    def _loop(self):
        while not self._stop.wait(PROGRESS_INTERVAL):
            self._draw()

    def start(self, name: str, what: str) -> None:
        with self._lock:
            state = self._state[name]
            state[0], state[1] = what, ""
            if state[2] is None:
                state[2] = time.monotonic()
        if not self.live:
            self._plain("%s: %s" % (name.ljust(self.width), what))

    def output(self, name: str, line: str) -> None:
        with self._lock:
            self._state[name][1] = line

    def done(self, name: str, text: str, elapsed: float) -> None:
        with self._lock:
            state = self._state[name]
            state[0], state[1], state[3] = text, "", elapsed
        if not self.live:
            self._plain("%s: %s (%.1f s)" % (name.ljust(self.width), text, elapsed))

    def _plain(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _line(self, name: str, columns: int) -> str:
        what, last, started, elapsed = self._state[name]
        if elapsed is None and started is not None:
            elapsed = time.monotonic() - started
        seconds = "%6.1f s" % elapsed if elapsed is not None else " " * 8
        text = "%s %s  %s" % (name.ljust(self.width), seconds, what)
        if last:
            text += "  | " + last
        return text[:max(columns - 1, 20)]

    def _draw(self) -> None:
        columns = shutil.get_terminal_size((100, 20)).columns
        with self._lock:
            lines = [self._line(n, columns) for n in self.names]
            buffer = ""
            if self._drawn:
                buffer += "\x1b[%dA" % self._drawn
            buffer += "".join("\r\x1b[2K" + line + "\n" for line in lines)
            self._drawn = len(lines)
            self.stream.write(buffer)
            self.stream.flush()

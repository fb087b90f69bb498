"""``serialcompat``: the command line of pytest-serialcompat.

``serialcompat inspect FILE...`` describes pickle, marshal, ``.pyc`` and JSON
files without executing anything in them: the format is detected from the
content (``--as`` overrides it); pickles go through the safe analyzer.
Exit status: 0 all files safe and well-formed, 1 any file unsafe or malformed,
2 usage errors (unreadable file, bad option).

``serialcompat matrix`` runs ``pytest --serialcompat`` in several tox envs or
interpreters in parallel and prints which interpreter can load the goldens
recorded by which (``--record`` records on each first); ``serialcompat report
FILES...`` merges result files written elsewhere into the same tables.  Both
exit 1 when a required cell fails or an environment gave no result, 2 for
usage errors.  docs/matrix.md has the details.

``serialcompat freeze [--as VERSION]`` copies the current goldens into the
release's frozen generation; ``serialcompat prune-generation VERSION`` deletes
one (asking on a terminal).  docs/plugin.md, "Releases: keeping old data loading".
"""

import argparse
import json
import os
import sys

from . import __version__
from .inspect_formats import FORMATS, InspectError, detect_format, inspect_bytes


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="serialcompat",
        description="Guard pickle, marshal and JSON data across Python versions.",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    inspect = commands.add_parser(
        "inspect",
        help="describe serialized files without executing them",
        description="Describe pickle, marshal, .pyc and JSON files without executing anything.",
    )
    inspect.add_argument("files", nargs="+", metavar="FILE")
    inspect.add_argument(
        "--as",
        dest="as_format",
        choices=sorted(FORMATS),
        help="read every FILE as this format instead of detecting it from the content",
    )
    inspect.add_argument(
        "--format", dest="output", choices=("text", "json"), default="text", help="output format"
    )
    inspect.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="PREFIX",
        help="module prefix the pickle safety verdict accepts (repeatable), e.g. your own package",
    )
    inspect.set_defaults(handler=_cmd_inspect)
    _add_matrix_parsers(commands)
    _add_release_parsers(commands)
    return parser


# ----------------------------------------------------------------------------
# freeze / prune-generation: the store's frozen generations (old releases' data)


def _add_store_options(parser) -> None:
    parser.add_argument("--project", default=".", metavar="DIR",
                        help="the project (default: the current directory)")
    parser.add_argument("--dir", dest="store_dir", metavar="PATH",
                        help="golden store folder (default: ini serialcompat_dir of the project, "
                             "else tests/__serialcompat__)")


def _add_release_parsers(commands) -> None:
    freeze = commands.add_parser(
        "freeze",
        help="freeze the current goldens as a release's generation (replayed from then on)",
        description="Copy every golden of the current generation, with its manifest, into "
                    "<sample>/releases/VERSION/: a read-only generation that every later "
                    "`pytest --serialcompat` replays with the code of the day. Run it at "
                    "release time.",
    )
    freeze.add_argument("--as", dest="version", metavar="VERSION",
                        help="the release to freeze as (default: the project version: ini "
                             "serialcompat_project_version, else [project] version, else the "
                             "installed distribution's)")
    _add_store_options(freeze)
    freeze.set_defaults(handler=_cmd_freeze)

    retire = commands.add_parser(
        "prune-generation",
        help="delete one release's frozen generation from the store (asks on a terminal)",
        description="Delete <sample>/releases/VERSION/ of every sample: that release's data is "
                    "no longer checked. Lists the files first and asks on a terminal.",
    )
    retire.add_argument("version", metavar="VERSION")
    retire.add_argument("--yes", action="store_true", help="do not ask")
    _add_store_options(retire)
    retire.set_defaults(handler=_cmd_prune_generation)


def _release_store(args, stderr, command):
    from pathlib import Path

    from .store import DEFAULT_DIR, Store, StoreError, generations

    project = Path(args.project).resolve()
    if not project.is_dir():
        stderr.write("serialcompat %s: --project %s is not a directory\n" % (command, args.project))
        return None, None
    if args.store_dir:
        root = Path(args.store_dir).resolve()
    else:
        try:
            configured = generations.read_ini_value(project, "serialcompat_dir")
        except StoreError as exc:
            stderr.write("serialcompat %s: %s\n" % (command, exc))
            return None, None
        root = project / (configured or DEFAULT_DIR)
    return project, Store(root)


def _cmd_freeze(args, stdout, stderr):
    from .results import WRITE
    from .store import StoreError, generations

    project, store = _release_store(args, stderr, "freeze")
    if store is None:
        return 2
    try:
        if args.version:
            version = generations.normalize(args.version, "--as")
        else:
            found = generations.project_version(
                project, generations.read_ini_value(project, "serialcompat_project_version"))
            if found is None:
                stderr.write("serialcompat freeze: no project version found (ini "
                             "serialcompat_project_version, [project] version of pyproject.toml, "
                             "installed metadata): pass --as VERSION\n")
                return 2
            version = found.version
    except StoreError as exc:
        stderr.write("serialcompat freeze: %s\n" % exc)
        return 2
    if not store.root.is_dir():
        stderr.write("serialcompat freeze: no golden store at %s\n" % store.root)
        return 2
    plan = generations.freeze_store(store, version)
    written = 0
    for request in plan.requests:
        try:
            path = store.apply(request)
        except (OSError, StoreError) as exc:
            plan.problems.append("%s: %s" % (request.path or request.sample, exc))
            continue
        if path is not None and request.op == WRITE:
            written += 1
            stdout.write("frozen %s\n" % os.path.relpath(path))
    stdout.write("serialcompat freeze: %d golden(s) frozen as %s in %s%s\n" % (
        written, version, store.root,
        ", %d already frozen" % len(plan.already) if plan.already else ""))
    for problem in plan.problems:
        stderr.write("serialcompat freeze: %s\n" % problem)
    return 1 if plan.problems else 0


def _cmd_prune_generation(args, stdout, stderr):
    from .store import StoreError, generations

    project, store = _release_store(args, stderr, "prune-generation")
    if store is None:
        return 2
    try:
        version = generations.normalize(args.version, "VERSION")
    except StoreError as exc:
        stderr.write("serialcompat prune-generation: %s\n" % exc)
        return 2
    doomed = [g for g in generations.all_frozen(store) if g.version == version]
    if not doomed:
        known = generations.versions(store)
        stderr.write("serialcompat prune-generation: no frozen generation %s in %s (frozen: %s)\n"
                     % (version, store.root, ", ".join(known) or "none"))
        return 2
    files = [p for g in doomed for p in sorted(store.folder(g.folder).rglob("*")) if p.is_file()]
    stdout.write("would delete release %s's frozen generation (%d sample(s), %d file(s)):\n"
                 % (version, len(doomed), len(files)))
    for path in files:
        stdout.write("  %s\n" % os.path.relpath(str(path)))
    if not args.yes and sys.stdin is not None and sys.stdin.isatty() \
            and hasattr(stdout, "isatty") and stdout.isatty():
        stdout.write("serialcompat: delete these %d file(s)? [y/N] " % len(files))
        stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            stdout.write("not confirmed: nothing was deleted\n")
            return 1
    removed = generations.retire(store, version)
    stdout.write("serialcompat prune-generation: deleted %d file(s) of release %s\n"
                 % (len(removed), version))
    return 0


# ----------------------------------------------------------------------------
# matrix / report


def _add_output_options(parser) -> None:
    parser.add_argument("--markdown", metavar="PATH",
                        help="also write the tables as Markdown (e.g. \"$GITHUB_STEP_SUMMARY\")")
    parser.add_argument("--json", dest="json_path", metavar="PATH",
                        help="also write the merged matrix as JSON")
    parser.add_argument(
        "--optional", action="append", default=[], metavar="RECORDED:REPLAYED[:FORMAT[:PROTOCOL]]",
        help="cells whose failures do not fail the run, e.g. 3.13:3.8 or '3.13:*:pickle' "
             "(repeatable; * matches anything)")


def _add_matrix_parsers(commands) -> None:
    matrix = commands.add_parser(
        "matrix",
        help="replay the goldens on every interpreter and print the compatibility matrix",
        description="Run `pytest --serialcompat` in each tox env (default: the project's py3X "
                    "envs) or each --python interpreter, in parallel, and print recorded-on x "
                    "replayed-on tables. Arguments after `--` go to pytest.",
    )
    matrix.add_argument("--project", default=".", metavar="DIR",
                        help="the project to test (default: the current directory)")
    where = matrix.add_mutually_exclusive_group()
    where.add_argument("--envs", action="append", default=[], metavar="ENV[,ENV...]",
                       help="tox envs to run (default: the py3X envs of the tox configuration)")
    where.add_argument("--python", action="append", default=[], metavar="INTERPRETER",
                       help="run this interpreter directly, without tox, in a cached throwaway "
                            "venv (repeatable), e.g. --python python3.8 --python python3.13")
    matrix.add_argument("--record", action="store_true",
                        help="first record goldens on every interpreter (each writes only its own)")
    matrix.add_argument("--allow-update-in-ci", action="store_true",
                        help="with --record: record even when a CI environment is detected")
    matrix.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                        help="environments run at once (default: the number of CPUs)")
    matrix.add_argument("--tox", metavar="COMMAND",
                        help="how to run tox (default: this Python's tox module, else tox on PATH)")
    matrix.add_argument("--reports-dir", metavar="DIR",
                        help="where result files and logs go "
                             "(default: PROJECT/.serialcompat/matrix)")
    matrix.add_argument("--venv-dir", metavar="DIR",
                        help="cache of the --python venvs (default: PROJECT/.serialcompat/venvs)")
    matrix.add_argument("--extras", action="append", default=[], metavar="NAME[,NAME...]",
                        help="--python: install the project with these extras")
    matrix.add_argument("--with", dest="requirements", action="append", default=[],
                        metavar="REQUIREMENT", help="--python: also install this requirement")
    matrix.add_argument("--plugin-source", metavar="PATH|REQUIREMENT",
                        help="--python: where pytest-serialcompat comes from: a checkout, a "
                             "wheel or a requirement (default: where the running one was "
                             "installed from, read from its direct_url.json)")
    matrix.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="stop an environment's run after this long")
    matrix.add_argument("--progress", choices=("auto", "live", "plain"), default="auto",
                        help="live progress lines (default when stderr is a terminal) or "
                             "plain lines")
    _add_output_options(matrix)
    matrix.set_defaults(handler=_cmd_matrix, pytest_args=[])

    report = commands.add_parser(
        "report",
        help="merge --serialcompat-report files into the compatibility matrix",
        description="Merge result files (pytest --serialcompat --serialcompat-report=FILE, one per "
                    "interpreter, possibly from different machines) into recorded-on x replayed-on "
                    "tables.",
    )
    report.add_argument("files", nargs="+", metavar="FILE")
    report.add_argument("--expect", action="append", default=[], metavar="VERSION[,VERSION...]",
                        help="interpreters that must have a replay report, e.g. 3.8,3.13 "
                             "(a missing one fails the run)")
    _add_output_options(report)
    report.set_defaults(handler=_cmd_report)


def _split_list(values):
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _finish_matrix(matrix, args, stdout, stderr) -> int:
    from .matrix import build, render_json, render_markdown, render_text

    stdout.write(render_text.render_text(matrix))
    outputs = ((args.markdown, lambda: render_markdown.render_markdown(matrix).encode("utf-8")),
               (args.json_path, lambda: render_json.dumps_matrix_json(matrix)))
    for path, render in outputs:
        if not path:
            continue
        try:
            with open(path, "wb") as handle:
                handle.write(render())
        except OSError as exc:
            stderr.write("serialcompat: cannot write %s: %s\n" % (path, exc.strerror or exc))
            return 2
    return build.exit_status(matrix)


def _parse_optional(args, stderr, command):
    from .matrix.build import parse_optional

    try:
        return [parse_optional(spec) for spec in args.optional]
    except ValueError as exc:
        stderr.write("serialcompat %s: --optional %s\n" % (command, exc))
        return None


def _cmd_report(args, stdout, stderr):
    from .matrix import build
    from .store import report as report_format

    optional = _parse_optional(args, stderr, "report")
    if optional is None:
        return 2
    reports = []
    for path in args.files:
        try:
            reports.append(report_format.load_report(path))
        except report_format.ReportError as exc:
            stderr.write("serialcompat report: %s\n" % exc)
            return 2
    try:
        expected = [build.parse_version_word(word) for word in _split_list(args.expect)]
    except ValueError as exc:
        stderr.write("serialcompat report: --expect %s\n" % exc)
        return 2
    statuses = build.report_statuses(reports, [e for e in expected if e])
    matrix = build.build_matrix(reports, statuses, optional=optional)
    return _finish_matrix(matrix, args, stdout, stderr)


def _cmd_matrix(args, stdout, stderr):
    import os
    from pathlib import Path

    from .matrix import build, environments, plans as run_plans, runner
    from .store import report as report_format

    optional = _parse_optional(args, stderr, "matrix")
    if optional is None:
        return 2
    project = Path(args.project).resolve()
    if not project.is_dir():
        stderr.write("serialcompat matrix: --project %s is not a directory\n" % args.project)
        return 2
    if args.jobs < 0:
        stderr.write("serialcompat matrix: --jobs must be 0 (all CPUs) or more\n")
        return 2
    state = project / run_plans.STATE_DIR
    try:
        if args.python:
            plans = environments.python_plans(args.python)
            tox_command = ()
        else:
            tox_command = environments.find_tox(args.tox)
            envs = _split_list(args.envs)
            plans = environments.tox_plans(envs or environments.default_tox_envs(project, tox_command),
                                     explicit=bool(envs))
    except run_plans.RunnerError as exc:
        stderr.write("serialcompat matrix: %s\n" % exc)
        return 2
    options = run_plans.RunOptions(
        project=project,
        reports_dir=Path(args.reports_dir).resolve() if args.reports_dir
        else state / run_plans.REPORTS_SUBDIR,
        venv_dir=Path(args.venv_dir).resolve() if args.venv_dir else state / run_plans.VENVS_SUBDIR,
        tox_command=tox_command,
        jobs=args.jobs,
        pytest_args=tuple(args.pytest_args),
        extras=tuple(_split_list(args.extras)),
        requirements=tuple(args.requirements),
        plugin_source=args.plugin_source,
        allow_update_in_ci=args.allow_update_in_ci,
        timeout=args.timeout,
    )
    live = args.progress == "live" or (
        args.progress == "auto" and hasattr(stderr, "isatty") and stderr.isatty()
        and os.environ.get("TERM") != "dumb")
    try:
        if not args.reports_dir or not args.venv_dir:
            environments.ensure_state_dir(state)   # with a .gitignore: results and venvs stay out of git
        run = runner.run_matrix(plans, options, args.record, stderr, live)
    except run_plans.RunnerError as exc:
        stderr.write("serialcompat matrix: %s\n" % exc)
        return 2
    except KeyboardInterrupt:
        stderr.write("serialcompat matrix: interrupted; the environments' runs were stopped\n")
        return 130
    except OSError as exc:
        stderr.write("serialcompat matrix: %s\n" % exc)
        return 2
    reports = []
    for path in run.reports:
        try:
            reports.append(report_format.load_report(path))
        except report_format.ReportError as exc:  # checked by the runner; a file changed since
            stderr.write("serialcompat matrix: %s\n" % exc)
            return 2
    matrix = build.build_matrix(reports, run.statuses, optional, run.recorded, run.notes)
    return _finish_matrix(matrix, args, stdout, stderr)


def _cmd_inspect(args, stdout, stderr):
    reports = []
    status = 0
    for path in args.files:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            stderr.write("serialcompat inspect: cannot read %s: %s\n" % (path, exc.strerror or exc))
            return 2
        fmt = args.as_format or detect_format(data)
        try:
            report = inspect_bytes(data, fmt, allow=args.allow)
        except InspectError as exc:
            report = {"format": fmt, "ok": False, "error": str(exc), "text": "error: %s" % exc}
        report["path"] = path
        if not report["ok"]:
            status = 1
        reports.append(report)
    if args.output == "json":
        payload = [{k: v for k, v in r.items() if k != "text"} for r in reports]
        stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=repr) + "\n")
    else:
        for report in reports:
            stdout.write("%s (%s)\n" % (report["path"], report["format"] or "unknown format"))
            for line in report["text"].splitlines():
                stdout.write("  " + line + "\n")
    return status


def main(argv=None, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = []
    if "--" in argv:  # `serialcompat matrix ... -- PYTEST ARGS`
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    if passthrough:
        if not hasattr(args, "pytest_args"):
            parser.error("arguments after -- are only for `serialcompat matrix` (pytest arguments)")
        args.pytest_args = passthrough
    try:
        return args.handler(args, stdout, stderr)
    except BrokenPipeError:
        # the reader went away (`serialcompat inspect ... | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())

"""``serialcompat``: the command line of pytest-serialcompat.

``serialcompat inspect FILE...`` describes pickle, marshal, ``.pyc`` and JSON
files without executing anything in them: the format is detected from the
content (``--as`` overrides it); pickles go through the safe analyzer.
Exit status: 0 all files safe and well-formed, 1 any file unsafe or malformed,
2 usage errors (unreadable file, bad option).
"""

import argparse
import json
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
    return parser


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
    args = parser.parse_args(argv)
    return args.handler(args, stdout, stderr)


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())

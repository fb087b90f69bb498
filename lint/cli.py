"""Command line: ``serialcompat-lint PATH...`` and ``python -m serialcompat_lint``.

Exit status: 0 no findings, 1 findings (or, with --diff, changes to show), 2 usage error or
internal error.
"""
import argparse
import difflib
import os
import sys
from typing import List, Optional, Sequence

from . import __version__
from .cache import linter_version
from .config import ConfigError, Settings, find_pyproject, load_settings
from .docs import explain, list_rules, rules_markdown
from .reporters import FORMATS, render
from .rules import ALL_RULES, RULES_BY_CODE
from .runner import run

__all__ = ["main", "build_parser"]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep the message short
        self.print_usage(sys.stderr)
        sys.stderr.write("serialcompat-lint: error: %s\n" % message)
        raise SystemExit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="serialcompat-lint", description="Find serialization hazards: unpicklable work for process pools, unpicklable state, unversioned records, unsafe loads, moved classes.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument("--select", action="append", metavar="CODES", help="only these codes or prefixes (comma separated)")
    parser.add_argument("--extend-select", action="append", default=[], metavar="CODES", help="add codes, e.g. the off-by-default SC111")
    parser.add_argument("--ignore", action="append", default=[], metavar="CODES", help="skip these codes or prefixes")
    parser.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    parser.add_argument("--strict", action="store_true", help="report SC101/SC102/SC105 without evidence that anything is pickled")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes, then report what is left")
    parser.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; change nothing")
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation")
    parser.add_argument("--list-rules", action="store_true", help="list codes, names and summaries")
    parser.add_argument("--config", metavar="PYPROJECT", help="pyproject.toml to read (default: nearest one above the cwd)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: <root>/.serialcompat-lint-cache)")
    parser.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes (default: number of CPUs)")
    parser.add_argument("--write-docs", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version="serialcompat-lint %s" % __version__)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    pyproject = args.config if args.config else find_pyproject(os.getcwd())
    if args.config and not os.path.isfile(args.config):
        raise ConfigError("--config: %s does not exist" % args.config)
    settings = load_settings(pyproject)
    if args.strict:
        settings = settings._replace(strict=True)
    return settings.with_cli(args.select and [c for group in args.select for c in group.split(",")], args.extend_select, args.ignore)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        if args.explain:
            rule = RULES_BY_CODE.get(args.explain.strip().upper())
            if rule is None:
                raise ConfigError("unknown rule code %r (see --list-rules)" % args.explain)
            out.write(explain(rule))
            return EXIT_CLEAN
        if args.list_rules:
            out.write(list_rules())
            return EXIT_CLEAN
        if args.write_docs:
            with open(args.write_docs, "w", encoding="utf-8") as handle:
                handle.write(rules_markdown())
            return EXIT_CLEAN
        if args.jobs is not None and args.jobs < 1:
            raise ConfigError("--jobs must be at least 1")
        settings = _settings(args)
        result = run(
            args.paths or ["."],
            settings,
            jobs=args.jobs,
            use_cache=not args.no_cache,
            cache_dir=args.cache_dir,
            fix=args.fix or args.diff,
        )
    except ConfigError as exc:
        sys.stderr.write("serialcompat-lint: error: %s\n" % exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    for problem in result.errors:
        sys.stderr.write("serialcompat-lint: error: %s\n" % problem)
    if args.diff:
        for path in sorted(result.fixed):
            old, new = result.fixed[path]
            out.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/" + path, "b/" + path))
        if result.errors or result.internal_errors:
            return EXIT_ERROR
        return EXIT_FINDINGS if result.fixed else EXIT_CLEAN
    if args.fix:
        for path, (_old, new) in result.fixed.items():
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(new)
        if result.fixed:
            sys.stderr.write("Fixed %d file%s.\n" % (len(result.fixed), "" if len(result.fixed) == 1 else "s"))
    enabled = [r for r in ALL_RULES if settings.enabled(r.CODE, r.DEFAULT_ENABLED)]
    out.write(render(args.format, result.findings, enabled, linter_version()))
    if result.errors or result.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if result.findings else EXIT_CLEAN

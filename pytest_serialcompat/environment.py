"""Facts about the running interpreter and the machine: interpreter tag, CI detection."""

import importlib.util
import marshal
import os
import pickle
import platform
import sys
from typing import Dict, Mapping, NamedTuple, Optional

# Environment variables set by CI services.  A value counts when it is set
# and not one of FALSE_VALUES (``CI=false`` is how some people opt out).
CI_VARIABLES = (
    "CI",
    "CONTINUOUS_INTEGRATION",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "TF_BUILD",             # Azure Pipelines
    "JENKINS_URL",
    "TRAVIS",
    "CIRCLECI",
    "APPVEYOR",
    "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ID",   # AWS CodeBuild
    "DRONE",
    "SEMAPHORE",
    "HEROKU_TEST_RUN_ID",
    "BUILD_BUILDID",        # Azure (classic)
    "WOODPECKER_CI",
)
FALSE_VALUES = ("", "0", "false", "no", "off")


def ci_variable(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The first CI variable that is set (``NAME=value``), or None outside CI."""
    environ = os.environ if environ is None else environ
    for name in CI_VARIABLES:
        value = environ.get(name)
        if value is not None and value.strip().lower() not in FALSE_VALUES:
            return "%s=%s" % (name, value)
    return None


class Interpreter(NamedTuple):
    """The identity of a golden's producer, as recorded in file names and manifests."""

    tag: str                    # "cpython3.8": implementation + major.minor
    implementation: str         # "cpython"
    version: str                # "3.8.18"
    major_minor: tuple          # (3, 8)
    magic_number: int           # importlib.util.MAGIC_NUMBER as an int (marshalled code)
    pickle_highest_protocol: int
    marshal_version: int

    def to_manifest(self) -> Dict[str, object]:
        return {
            "interpreter": self.tag,
            "implementation": self.implementation,
            "python_version": self.version,
            "magic_number": self.magic_number,
            "pickle_highest_protocol": self.pickle_highest_protocol,
            "marshal_version": self.marshal_version,
        }


def interpreter_tag(implementation: str, major_minor) -> str:
    return "%s%d.%d" % (implementation, major_minor[0], major_minor[1])


def parse_tag(tag: str) -> Optional[tuple]:
    """("cpython", (3, 8)) from "cpython3.8", None when it is not a tag."""
    for index, char in enumerate(tag):
        if char.isdigit():
            impl, version = tag[:index], tag[index:]
            parts = version.split(".")
            if impl and len(parts) == 2 and all(p.isdigit() for p in parts):
                return impl, (int(parts[0]), int(parts[1]))
            return None
    return None


def current() -> Interpreter:
    impl = sys.implementation.name
    major_minor = tuple(sys.version_info[:2])
    return Interpreter(
        tag=interpreter_tag(impl, major_minor),
        implementation=impl,
        version=platform.python_version(),
        major_minor=major_minor,
        magic_number=int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little"),
        pickle_highest_protocol=pickle.HIGHEST_PROTOCOL,
        marshal_version=marshal.version,
    )


CURRENT = current()

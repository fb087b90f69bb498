import os
import sys

from hypothesis import HealthCheck, settings

# The shared scaffolding (tests/helpers/: plugin_app, pickle_samples) is imported by
# module name from every test folder; pickle_samples is also a global that test pickles
# name, so it must stay a top-level module.
HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers")
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)

pytest_plugins = ["pytester"]

# Pure-Python serializers are slow under coverage and on loaded CI machines:
# no per-example deadline.  "ci" keeps the whole suite affordable on six
# interpreters and two cores; "thorough" is for local bug hunting.
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

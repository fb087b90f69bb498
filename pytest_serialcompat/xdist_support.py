"""pytest-xdist: workers never write the store.

Records travel from a worker to the controller on the test report itself
(``report.serialcompat_records``, plain JSON-able data that pytest's report
serialization carries unchanged), so the controller writes each golden
exactly once, as soon as the report arrives -- nothing is lost when a worker
finishes early or crashes after reporting.  This module adds what only the
controller needs: the node ids the workers collected (for unused goldens).
"""

import pytest


def is_worker(config) -> bool:
    return hasattr(config, "workerinput")


class ControllerHooks:
    """Registered on the xdist controller only."""

    def __init__(self, state):
        self.state = state

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self.state.collected.update(ids)


def register(config, state) -> None:
    if config.pluginmanager.hasplugin("xdist") and not is_worker(config):
        config.pluginmanager.register(ControllerHooks(state), "serialcompat-xdist-controller")

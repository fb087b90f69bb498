"""pytest-xdist: workers never write the store.

Records travel from a worker to the controller on the test report itself
(``report.serialcompat_records``, plain JSON-able data that pytest's report
serialization carries unchanged), so the controller writes each golden
exactly once, as soon as the report arrives -- nothing is lost when a worker
finishes early or crashes after reporting.  What only the controller needs
is each worker's view of the collection (:mod:`.ownership`), for unused goldens.
"""

from .ownership import ControllerWatcher


def is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def register(config, state) -> None:
    if config.pluginmanager.hasplugin("xdist") and not is_worker(config):
        config.pluginmanager.register(ControllerWatcher(state.collection),
                                      "serialcompat-xdist-controller")

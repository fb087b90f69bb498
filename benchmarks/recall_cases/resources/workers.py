"""Objects that keep multiprocessing primitives made by a context (and are pickled)."""
import multiprocessing
import pickle

_ctx = multiprocessing.get_context("spawn")


class Tracker:
    def __init__(self):
        self.count = 0
        self._lock = _ctx.Lock()  # expect: SC102


class Mailbox:
    def __init__(self):
        self._ctx = multiprocessing.get_context()
        self._ready = self._ctx.Event()  # expect: SC102
        self.inbox = multiprocessing.Queue()  # expect: SC102


class Safe:
    def __init__(self):
        self._lock = _ctx.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        return state


def snapshot():
    return pickle.dumps([Tracker(), Mailbox(), Safe()])

"""A connection and a queue built on multiprocessing's reduction module (the channel is authenticated)."""
import functools
import pickle
from multiprocessing import reduction
from multiprocessing.reduction import ForkingPickler

_ForkingPickler = reduction.ForkingPickler
_load_latin1 = functools.partial(pickle.loads, encoding="latin1")


class Connection:
    def recv(self):
        buf = self._recv_bytes()
        return _ForkingPickler.loads(buf.getbuffer())  # expect: SC111

    def recv_legacy(self):
        return _load_latin1(self._recv_bytes())  # expect: SC111

    def _recv_bytes(self):
        raise NotImplementedError


class Queue:
    def get(self):
        res = self._reader.recv_bytes()
        return ForkingPickler.loads(res)  # expect: SC111


def prepare(from_parent):
    return reduction.pickle.load(from_parent)  # expect: SC111


def clone(obj):
    # the bytes visibly come from this process: a round trip is no hazard
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def clone_via_forking_pickler(obj):
    return _ForkingPickler.loads(_ForkingPickler.dumps(obj))

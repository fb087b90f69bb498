"""Hazards every version of the linter reports (kept so the recall of today stays measured)."""
import json
import marshal
import pickle
import threading
from multiprocessing import Pool


def run(items):
    with Pool() as pool:
        return pool.map(lambda x: x * 2, items)  # expect: SC101


def save_local():
    class Point:
        pass

    return pickle.dumps(Point())  # expect: SC103


class Counter:
    def __init__(self):
        self._lock = threading.Lock()  # expect: SC102


def save_counter(f):
    pickle.dump(Counter(), f)


def save_config(f, theme):
    json.dump({"theme": theme}, f)  # expect: SC105


def handle(conn):
    return pickle.loads(conn.recv(1024))  # expect: SC106


def restore(blob):
    return pickle.loads(blob)  # expect: SC111


def save_scores(f, scores):
    marshal.dump(scores, f)  # expect: SC107


def save_fast(obj, f):
    pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)  # expect: SC108


with Pool() as _pool:  # expect: SC109
    _pool.map(str, range(2))

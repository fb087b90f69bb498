"""Near misses: code that looks like the hazards of the other cases but is not one."""
import json
import pickle
from concurrent.futures import ThreadPoolExecutor

import yaml


class JobQueue:
    def submit(self, fn):
        return fn()


class QueueMixin:
    def setUp(self):
        self.queue = JobQueue()
        self.io = ThreadPoolExecutor()


class QueueTest(QueueMixin):
    def test_submit(self):
        def job():
            return 1

        class Payload:
            pass

        self.queue.submit(lambda: 1)
        self.io.submit(job)
        self.io.submit(print, Payload())


def parse(conn):
    return json.loads(conn.recv(1024))


def parse_config(request):
    return yaml.safe_load(request.data)


def test_round_trip(obj):
    blob = pickle.dumps(obj)
    assert pickle.loads(blob) == obj


def _decode(payload):
    return pickle.loads(payload)  # expect: SC111


def warm_start():
    with open("cache.pkl", "rb") as f:
        return _decode(f.read())


class Widget:
    def __init__(self):
        self.callbacks = {"clicked": self.on_clicked}

    def on_clicked(self, event):
        return pickle.loads(event)  # expect: SC111


def announce(sock, count):
    sock.sendall(json.dumps({"count": count}).encode())


def write_versioned(path, items):
    with open(path, "w") as f:
        f.write(json.dumps({"version": 3, "items": items}))

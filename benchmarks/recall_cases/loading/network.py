"""Bytes from sockets, pipes, HTTP bodies, queues and user-named files reaching pickle."""
import argparse
import pickle
import subprocess
import sys
from http.server import BaseHTTPRequestHandler

import marshal


def _decode(payload):
    return pickle.loads(payload)  # expect: SC106


def serve(sock):
    conn, _addr = sock.accept()
    data = conn.recv(65536)
    return _decode(data)


def read_frame(sock):
    header = sock.recv(4)
    size = int.from_bytes(header, "big")
    body = b""
    while len(body) < size:
        body += sock.recv(size - len(body))
    return pickle.loads(body)  # expect: SC106


def from_child(command):
    proc = subprocess.Popen(command, stdout=subprocess.PIPE)
    out, _err = proc.communicate()
    return pickle.loads(out)  # expect: SC106


class Upload(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        self.server.store(pickle.loads(body))  # expect: SC106


def view(request):
    blob = request.get_data()
    return marshal.loads(blob)  # expect: SC106


def consume(redis_client):
    _key, raw = redis_client.blpop("jobs")
    return pickle.loads(raw)  # expect: SC106


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("snapshot")
    args = parser.parse_args()
    with open(args.snapshot, "rb") as f:
        return pickle.load(f)  # expect: SC106


def restore_argv():
    with open(sys.argv[1], "rb") as f:
        return pickle.load(f)  # expect: SC106


def restore_cache(path):
    with open(path, "rb") as f:
        return pickle.load(f)  # expect: SC111

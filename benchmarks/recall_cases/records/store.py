"""A result cache that writes metadata and results next to each other (style of a memoizer)."""
import json
import os
import pathlib
import pickle
import shelve
import sqlite3
import time


class FileStore:
    def __init__(self, location):
        self.location = location

    def store_metadata(self, call_id, metadata):
        path = os.path.join(self.location, call_id, "metadata.json")
        with open(path, "w") as f:
            f.write(json.dumps(metadata))  # expect: SC105

    def store_result(self, call_id, result):
        with open(os.path.join(self.location, call_id, "output.pkl"), "wb") as f:
            f.write(pickle.dumps({"result": result}))  # expect: SC105


class Memoized:
    def __init__(self, store):
        self.store = store

    def _persist_input(self, duration, args):
        metadata = {"duration": duration, "input_args": args, "time": time.time()}
        self.store.store_metadata("id", metadata)
        return metadata

    def call(self, func, *args):
        start = time.time()
        result = func(*args)
        metadata = self._persist_input(time.time() - start, args)
        return self.store.store_metadata("id", metadata), result


def _summary(items):
    return {"count": len(items), "items": items}


def write_summary(directory, items):
    record = _summary(items)
    pathlib.Path(directory, "summary.json").write_text(json.dumps(record))  # expect: SC105


def write_versioned(directory, items):
    record = {"version": 2, "items": items}
    pathlib.Path(directory, "summary.json").write_text(json.dumps(record))


def response_body(items):
    return json.dumps({"count": len(items)})


def save_session(path, user):
    with shelve.open(path) as db:  # expect: SC111
        db["session"] = {"user": user, "started": time.time()}  # expect: SC105


def save_state(db_path, key, counts):
    state = {"counts": counts}
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO blobs VALUES (?, ?)", (key, pickle.dumps(state)))  # expect: SC105
    conn.commit()


def dump_index(path, index):
    with open(path, "wb") as f:
        pickle.dump({"index": index}, f)  # expect: SC105

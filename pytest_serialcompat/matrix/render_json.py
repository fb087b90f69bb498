"""The matrix as canonical JSON (``--json``), for tools."""

from ..store.report import ReportedResult
from .model import FAIL, MATRIX_KIND, MATRIX_VERSION, Matrix, PASS, SKIP
from .build import exit_status


def _result_json(result: ReportedResult) -> dict:
    return {
        "name": result.name, "file": result.file, "diagnosis": result.diagnosis,
        "generation": result.generation or None,
        "message": result.message, "fix": result.fix, "nodeid": result.nodeid,
    }


def matrix_json(matrix: Matrix) -> dict:
    tables = []
    for table in matrix.tables:
        cells = []
        for producer in table.producers:
            for replayer in matrix.replayers:
                cell = table.cells.get((producer, replayer))
                if cell is None:
                    continue
                cells.append({
                    "recorded_on": producer,
                    "replayed_on": replayer,
                    "pass": cell.counts[PASS],
                    "fail": cell.counts[FAIL],
                    "skip": cell.counts[SKIP],
                    "required": cell.required,
                    "state": cell.state,
                    "failures": [_result_json(r) for r in cell.failures],
                    "skips": [_result_json(r) for r in cell.skips],
                    "libraries": sorted(cell.libraries),
                })
        tables.append({"format": table.format, "protocol": table.protocol, "title": table.title,
                       "cells": cells})
    return {
        "kind": MATRIX_KIND,
        "matrix_version": MATRIX_VERSION,
        "ok": exit_status(matrix) == 0,
        "totals": matrix.totals(),
        "replayed_on": list(matrix.replayers),
        "recorded_on": list(matrix.producers),
        "interpreters": {tag: dict(facts) for tag, facts in matrix.interpreters.items()},
        "tables": tables,
        "missing": [dict(_result_json(r), replayed_on=replayer, recorded_on=r.producer,
                         format=r.format) for replayer, r in matrix.outside],
        "environments": [{
            "name": e.name, "state": e.state, "python": e.interpreter, "tag": e.tag,
            "elapsed": None if e.elapsed is None else round(e.elapsed, 2),
            "message": e.message, "details": e.details, "report": e.report,
            "required": e.required,
            "recorded": matrix.recorded.get(e.name),
        } for e in matrix.environments],
        "notes": list(matrix.notes),
    }


def dumps_matrix_json(matrix: Matrix) -> bytes:
    from ..reference.canonical_json import canonical_json_dumps

    return canonical_json_dumps(matrix_json(matrix)) + b"\n"

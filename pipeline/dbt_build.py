"""``dbt run`` of the project under ``sql/`` into a build file: the model phase of ``socialrank build``.

dbt runs in this process (:mod:`pipeline.dbt_invoke`, the committed profile and project): first ``dbt
parse``, whose manifest gives the number of models and is handed to ``dbt run`` (no second parse); the run's
parameters as ``--vars``; ``--full-refresh`` for a full build. dbt's ``target/`` and its log are kept in a
state folder of the data root (``<warehouse dir>/dbt/``), its console output is off.

Each finished model is reported to ``on_model`` from dbt's event stream (the build's progress bar, its
per-model timings and fault points). A failed model, or a project dbt cannot parse, raises
:class:`DbtRunError` naming the model's file and dbt's log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipeline.dbt_invoke import Connection, invoke, project_arguments, project_dir


class DbtRunError(RuntimeError):
    """dbt could not build the project: a model failed, or the project did not parse."""


@dataclass(frozen=True)
class ModelRun:
    """One model dbt built."""

    name: str
    relation: str
    """``schema.alias``."""
    path: Path
    """Its file."""
    seconds: float


def run_models(
    connection: Connection,
    state_dir: Path,
    run_vars: Mapping[str, Any],
    full_refresh: bool,
    on_model: Callable[[ModelRun], None],
    on_parsed: Callable[[int], None] = lambda models: None,
) -> list[ModelRun]:
    """Run the project's hooks and models into ``connection.database`` (an empty file, or a copy of the
    published warehouse for an incremental build); return the models in the order they finished.
    ``on_parsed`` gets the number of models before the first one runs."""
    from dbt.contracts.graph.manifest import Manifest

    finished: list[ModelRun] = []
    raised: list[BaseException] = []  # by on_model: dbt keeps only its message

    def model_finished(message: Any) -> None:
        if message.info.name != "NodeFinished":
            return
        node = message.data.node_info
        if not node.unique_id.startswith("model.") or message.data.run_result.status != "success":
            return
        model = ModelRun(
            name=node.node_name,
            relation=f"{node.node_relation.schema}.{node.node_relation.alias}",
            path=project_dir() / node.node_path,
            seconds=message.data.run_result.execution_time,
        )
        finished.append(model)
        try:
            on_model(model)
        except BaseException as exc:  # dbt fails the model with its message; the build raises it
            raised.append(exc)
            raise

    dbt_log = state_dir / "logs" / "dbt.log"
    arguments = [
        *project_arguments(),
        "--target-path", str(state_dir / "target"), "--log-path", str(dbt_log.parent),
        "--log-level", "none", "--log-level-file", "debug", "--no-use-colors-file",
        "--vars", json.dumps(dict(run_vars)),
    ]  # fmt: skip
    parsed = invoke(["parse", *arguments], connection)
    if not parsed.success or not isinstance(parsed.result, Manifest):
        raise DbtRunError(f"dbt could not parse {project_dir()}: {_reason(parsed, dbt_log)}")
    on_parsed(sum(unique_id.startswith("model.") for unique_id in parsed.result.nodes))
    ran = invoke(
        ["run", *(["--full-refresh"] if full_refresh else []), *arguments],
        connection,
        manifest=parsed.result,
        callbacks=[model_finished],
    )
    if not ran.success:
        message = _failure(ran, dbt_log)
        raise DbtRunError(message) from (raised[0] if raised else _duckdb_error(message))
    return finished


def _failure(ran: Any, dbt_log: Path) -> str:
    """What failed, naming the model's file: the first node in error, else dbt's exception."""
    for result in getattr(ran.result, "results", None) or ():
        if str(result.status) == "error":
            where = project_dir() / result.node.original_file_path
            said = " ".join(str(result.message).split())  # one log line
            return f"{where}: {said} (dbt's log: {dbt_log})"
    return f"dbt run failed: {_reason(ran, dbt_log)}"


def _duckdb_error(message: str) -> duckdb.Error | None:
    """The DuckDB error a failed model's message reports (dbt keeps its text, not the exception), for
    whoever tells a full disk or memory from a bug in the SQL (``pipeline.cli``)."""
    for kind, said in _DUCKDB_ERRORS.items():
        if f"{said}: " in message:
            return kind(message)
    return None


# How DuckDB's messages start, by exception: "IO Error: Could not write file ...".
_DUCKDB_ERRORS: dict[type[duckdb.Error], str] = {
    duckdb.IOException: "IO Error",
    duckdb.OutOfMemoryException: "Out of Memory Error",
    duckdb.FatalException: "FATAL Error",
    duckdb.TransactionException: "TransactionContext Error",  # "Failed to commit: Could not write file"
}


def _reason(result: Any, dbt_log: Path) -> str:
    return f"{result.exception or 'see the log'} (dbt's log: {dbt_log})"

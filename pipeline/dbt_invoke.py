"""dbt run in this process (``dbtRunner``) on the project under ``sql/`` with its committed profile.

``sql/profiles.yml`` reads what differs between runs from environment variables (the DuckDB file, the data
root the lake's paths resolve against, DuckDB's memory limit): :func:`invoke` sets them for the run alone,
with ``DO_NOT_TRACK`` (no usage statistics). dbt's in-process runner is one per process (global flags and
adapter), so a lock keeps two runs of this process apart; and dbt-duckdb keeps its DuckDB database open
after a run (a class attribute), so it is closed after each: else this process's next connection to the
file with other settings is refused ("a different configuration than existing connections").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.project import resource_dir

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult
    from dbt.contracts.graph.manifest import Manifest

_RUNNER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Connection:
    """What the committed profile connects to."""

    database: Path
    data_root: Path
    memory_limit: str | None = None
    """DuckDB's ``memory_limit``; None: the profile's default."""

    def environment(self) -> dict[str, str]:
        values = {"SOCIALRANK_BUILD_PATH": str(self.database), "SOCIALRANK_HOME": str(self.data_root)}
        if self.memory_limit is not None:
            values["SOCIALRANK_MEMORY_LIMIT"] = self.memory_limit
        return {**values, "DO_NOT_TRACK": "1"}


def project_dir() -> Path:
    return resource_dir() / "sql"


def project_arguments() -> list[str]:
    """The committed project and profile."""
    return ["--project-dir", str(project_dir()), "--profiles-dir", str(project_dir())]


def invoke(
    arguments: Sequence[str],
    connection: Connection,
    manifest: Manifest | None = None,
    callbacks: Sequence[Callable[[Any], None]] = (),
) -> dbtRunnerResult:
    """One dbt command (``arguments`` after ``dbt``), in process; dbt's DuckDB database closed after it."""
    from dbt.cli.main import dbtRunner

    with _RUNNER_LOCK, _environment(connection.environment()):
        try:
            return dbtRunner(manifest=manifest, callbacks=list(callbacks)).invoke(list(arguments))
        finally:
            close_dbt_duckdb()


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the run alone (the profile reads them with ``env_var()``)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def close_dbt_duckdb() -> None:
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()  # type: ignore[no-untyped-call]
        DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]

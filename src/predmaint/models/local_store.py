"""The embedded MLflow store read directly: which version an alias names, its tags, and where
its artifacts and its run's artifacts are, without importing MLflow.

Why: ``predmaint infer`` needs three facts from the registry (the champion's version and tags,
its pipeline files, its run's drift reference). Through MLflow's client they cost about 1.5 s
of a batch process's 2.5 s fixed cost: importing ``mlflow`` (about 1 s whatever submodule),
SQLAlchemy, and alembic reading its 67 migration scripts to check the store's schema on the
first registry call. Read here, with one read-only SQLite transaction, they cost a few
milliseconds: a 1,000-reading day 2.48 s -> 1.08 s wall, 2.58 -> 1.27 CPU-s (docs/benchmarks.md,
"Fixed costs, fourth pass").

Only what is certain is answered here; everything else returns ``None`` and the caller asks
MLflow's client, which stays the reference:

- the store is a local ``sqlite:///`` file that exists (a tracking server, PostgreSQL, anything
  else: MLflow), in MLflow's single-tenant mode (no workspaces configured);
- its schema is exactly :data:`SCHEMA_REVISION`, the alembic head of the pinned MLflow (a test
  checks the two agree): an older or newer store is MLflow's to judge (it refuses out-of-date
  schemas);
- the alias, version and run exist (a missing one is answered by MLflow, with its error), and
  artifact locations are absolute ``file:`` URIs (anything else, a logged-model ``models:/`` URI
  included, is resolved by MLflow);
- any SQLite error (locked for longer than the timeout, unreadable file) falls back too.

Nothing is cached between calls: every lookup reads the store, so an alias moved by a promotion
or a rollback is seen by the next lookup, exactly as through MLflow.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from predmaint.settings import Settings

log = logging.getLogger(__name__)

#: The alembic revision of the store schema these queries were written for: the head of the
#: migrations of the pinned MLflow (tests/unit/test_local_store.py checks they agree).
SCHEMA_REVISION = "dc11669786a5"
#: MLflow's single-tenant workspace: every row of a store without workspaces holds it.
DEFAULT_WORKSPACE = "default"
#: The stage MLflow gives a deleted version it keeps in the table.
DELETED_STAGE = "Deleted_Internal"
#: An alias MLflow computes rather than stores.
LATEST = "latest"
#: Seconds to wait for a writer (MLflow moving an alias) before asking MLflow instead.
BUSY_TIMEOUT_S = 10.0
_WORKSPACE_VARIABLES = (
    "MLFLOW_ENABLE_WORKSPACES",
    "MLFLOW_WORKSPACE",
    "MLFLOW_WORKSPACE_STORE_URI",
)


@dataclass(frozen=True)
class StoredVersion:
    """A model version as the store's tables hold it (MLflow's ``ModelVersion`` fields we use)."""

    name: str
    version: str
    run_id: str
    source: str
    storage_location: str | None
    creation_timestamp: int
    tags: dict[str, str]


def store_file(settings: Settings) -> Path | None:
    """The SQLite file of the store, when it is one this module may read (see the module)."""
    uri = settings.resolved_tracking_uri
    registry = os.environ.get("MLFLOW_REGISTRY_URI")
    if registry and registry != uri:
        return None
    if any(
        os.environ.get(name, "").strip().lower() not in ("", "false", "0")
        for name in _WORKSPACE_VARIABLES
    ):
        return None
    if not uri.startswith("sqlite:///") or "?" in uri:
        return None
    path = Path(uri[len("sqlite:///") :])
    if not path.is_absolute() or not path.is_file():
        return None
    return path


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(
        f"file:{quote(str(path))}?mode=ro",
        uri=True,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,  # the transaction below is explicit
        check_same_thread=False,
    )
    return connection


def read_version(
    settings: Settings, alias: str | None, version: str | None
) -> StoredVersion | None:
    """The version ``alias`` names (or version ``version``), with its tags, read in one
    transaction; None when this module cannot answer for certain (the caller asks MLflow)."""
    path = store_file(settings)
    if path is None or (version is None and (alias is None or alias.lower() == LATEST)):
        return None
    name = settings.model_name
    try:
        connection = _connect(path)
        try:
            connection.execute("BEGIN")  # one snapshot: the alias, its version and its tags
            if not _schema_is_known(connection):
                return None
            if version is None:
                row = connection.execute(
                    "SELECT version FROM registered_model_aliases "
                    "WHERE workspace = ? AND name = ? AND alias = ?",
                    (DEFAULT_WORKSPACE, name, alias),
                ).fetchone()
                if row is None:
                    return None
                number = int(row[0])
            else:
                number = int(version)
            found = connection.execute(
                "SELECT version, creation_time, source, run_id, storage_location "
                "FROM model_versions WHERE workspace = ? AND name = ? AND version = ? "
                "AND (current_stage IS NULL OR current_stage != ?)",
                (DEFAULT_WORKSPACE, name, number, DELETED_STAGE),
            ).fetchone()
            if found is None:
                return None
            tags = dict(
                connection.execute(
                    "SELECT key, value FROM model_version_tags "
                    "WHERE workspace = ? AND name = ? AND version = ?",
                    (DEFAULT_WORKSPACE, name, number),
                ).fetchall()
            )
            connection.execute("COMMIT")
        finally:
            connection.close()
    except (sqlite3.Error, ValueError, TypeError) as exc:
        log.info("registry read by MLflow instead: %s", exc)
        return None
    number, created, source, run_id, location = found
    return StoredVersion(
        name=name,
        version=str(number),
        run_id=str(run_id or ""),
        source=str(source),
        storage_location=location,
        creation_timestamp=int(created),
        tags={str(k): str(v) if v is not None else "" for k, v in tags.items()},
    )


def _schema_is_known(connection: sqlite3.Connection) -> bool:
    rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    return rows == [(SCHEMA_REVISION,)]


def version_artifacts(settings: Settings, version: str) -> Path | None:
    """The local folder of a version's artifacts (what ``models:/<name>/<version>`` downloads),
    or None: not an embedded store, not a local folder, not certain."""
    stored = read_version(settings, None, version)
    if stored is None:
        return None
    # MLflow's download URI of a version: its storage location, else its source.
    return local_folder(stored.storage_location or stored.source)


def run_artifacts(settings: Settings, run_id: str) -> Path | None:
    """The local folder of a run's artifacts, or None (ask MLflow)."""
    path = store_file(settings)
    if path is None or not run_id:
        return None
    try:
        connection = _connect(path)
        try:
            if not _schema_is_known(connection):
                return None
            row = connection.execute(
                "SELECT artifact_uri FROM runs WHERE run_uuid = ?", (run_id,)
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        log.info("run artifacts located by MLflow instead: %s", exc)
        return None
    return local_folder(row[0]) if row is not None and row[0] else None


def local_folder(uri: str | None) -> Path | None:
    """The folder an absolute ``file:`` URI (or absolute path) names, if it exists."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        path = Path(unquote(parsed.path))
    elif parsed.scheme == "" and uri.startswith("/"):
        path = Path(uri)
    else:
        return None
    return path if path.is_absolute() and path.is_dir() else None

"""Fixtures for the services tests: PostgreSQL, Redis and server processes, cleaned up.

The services tests prove the deployment's topology (MLflow server on PostgreSQL, Airflow with
the CeleryExecutor on PostgreSQL + Redis) with real processes. Every test gets uniquely named
databases and a unique Redis key prefix, dropped at teardown whether it passed or not, and every
server it starts is stopped, whole process group, pass or fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from tests.support.processes import Servers
from tests.support.services import (
    Postgres,
    RedisNamespace,
    require_postgres,
    require_redis,
    unique_name,
)


@pytest.fixture(scope="session")
def postgres_server() -> Postgres:
    """The PostgreSQL server on 127.0.0.1:5432, or a failure that says how to start it."""
    require_postgres()
    return Postgres()


@pytest.fixture
def postgres(postgres_server: Postgres) -> Iterator[Postgres]:
    """Databases created through this fixture are dropped when the test ends, pass or fail."""
    scoped = Postgres()
    try:
        yield scoped
    finally:
        errors = []
        for name in scoped.created:
            try:
                scoped.drop_database(name)
            except psycopg2.Error as error:  # report, but drop the others first
                errors.append(f"{name}: {error}")
        assert not errors, f"could not drop test databases: {errors}"


@pytest.fixture(scope="session")
def redis_server() -> redis.Redis:
    """The Redis server on 127.0.0.1:6379, or a failure that says how to start it."""
    return require_redis()


@pytest.fixture
def redis_namespace(redis_server: redis.Redis) -> Iterator[RedisNamespace]:
    """A key prefix of this test's own; every key under it is deleted at teardown."""
    namespace = RedisNamespace(redis_server, unique_name("celery") + ":")
    try:
        yield namespace
    finally:
        keys = namespace.keys()
        if keys:
            redis_server.delete(*keys)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """Processes a test starts through this fixture are stopped at teardown, pass or fail."""
    started = Servers(log_dir=tmp_path / "logs")
    try:
        yield started
    finally:
        survivors = started.stop_all(last=("airflow-api-server",))
        print(f"servers stopped in (s): {started.stop_seconds}")
        assert not survivors, f"processes still running after teardown: {survivors}"

"""PostgreSQL and Redis on 127.0.0.1 for the services tests: reachability, private databases
and key prefixes.

The services tests never skip: a machine without the servers fails them with the command that
starts the missing one, because a skipped deployment test reads as green in CI. Names carry the
pid and a random part, so runs of several developers sharing one PostgreSQL and one Redis cannot
see each other.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: The Redis database the tests use; isolation comes from a unique key prefix per test.
REDIS_DB = 9
#: Prefix of every database and Redis key the services tests create (and may clean up).
NAME_PREFIX = "predmaint_svc"

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def _pg_connect(dbname: str = "postgres") -> Any:
    return psycopg2.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=5
    )


def unique_name(purpose: str) -> str:
    """A database/prefix name no other test or developer's run will pick (pid + random)."""
    return f"{NAME_PREFIX}_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"


@dataclass
class Postgres:
    """The local PostgreSQL server, for creating and dropping private databases."""

    created: list[str] = field(default_factory=list)

    def url(self, dbname: str, driver: str = "psycopg2") -> str:
        """A SQLAlchemy URL with an explicit driver: SQLAlchemy 2.1 defaults ``postgresql://``
        to psycopg 3, which is not installed (psycopg2-binary is)."""
        return f"postgresql+{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"

    def create_database(self, purpose: str) -> str:
        name = unique_name(purpose)
        connection = _pg_connect()
        try:
            connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        self.created.append(name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop even with servers still connected (FORCE ends their sessions)."""
        connection = _pg_connect()
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            connection.close()

    def exists(self, name: str) -> bool:
        return bool(self.query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", name))

    def query(self, dbname: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        connection = _pg_connect(dbname)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            connection.close()


def require_postgres(host: str = PG_HOST, port: int = PG_PORT) -> None:
    """Fail (never skip) when PostgreSQL does not answer, naming the command that starts it."""
    try:
        psycopg2.connect(
            host=host, port=port, user=PG_USER, dbname="postgres", connect_timeout=5
        ).close()
    except psycopg2.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable on {host}:{port} as user {PG_USER!r} "
            f"({str(error).strip()}).\nThe services tests need it; start it with:\n"
            f"  {START_POSTGRES}",
            pytrace=False,
        )


def require_redis(host: str = REDIS_HOST, port: int = REDIS_PORT) -> redis.Redis:
    """Fail (never skip) when Redis does not answer, naming the command that starts it."""
    # No retries for the first ping: a missing server should fail at once, not after backoffs.
    probe = redis.Redis(
        host=host, port=port, db=REDIS_DB, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    try:
        probe.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(
            f"Redis is not reachable on {host}:{port} ({error}).\n"
            f"The services tests need it; start it with:\n  {START_REDIS}",
            pytrace=False,
        )
    finally:
        probe.close()
    return redis.Redis(host=host, port=port, db=REDIS_DB, socket_timeout=5)


@dataclass(frozen=True)
class RedisNamespace:
    """A unique key prefix in :data:`REDIS_DB`: Celery's queues, bindings and results live
    under it."""

    client: redis.Redis
    prefix: str

    @property
    def url(self) -> str:
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"

    def keys(self) -> list[bytes]:
        return list(self.client.scan_iter(match=f"{self.prefix}*", count=500))

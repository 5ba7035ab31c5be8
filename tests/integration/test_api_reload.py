"""The API follows the champion alias live: promotion, rollback, and a registry that goes away.

A client thread keeps posting readings while the alias moves: every answer must be 200 and
the version in the answers must change from the old champion to the new one, once.
"""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from bench.common import predmaint_server

from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.features.job import build_features
from predmaint.models.registry import rollback
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from predmaint.workflow import train_and_promote
from tests.support.project import DAY, FAST, make_settings

pytestmark = pytest.mark.slow
POLL = "0.5"


class Traffic:
    """Posts the spec's reading in a loop and records (status, model version) of each answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                response = client.post("/predict", json=SPEC_EXAMPLE)
                version = (
                    response.json().get("model_version", "") if response.status_code == 200 else ""
                )
                self.answers.append((response.status_code, version))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def wait_for(self, version: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers and self.answers[-1][1] == version:
                time.sleep(0.5)  # a little traffic on the new version too
                return
            time.sleep(0.05)
        raise AssertionError(
            f"still answering {self.answers[-1:]} after {timeout} s, expected v{version}"
        )

    def versions(self) -> list[str]:
        """Distinct versions in answer order (consecutive duplicates removed)."""
        out: list[str] = []
        for _, version in self.answers:
            if not out or out[-1] != version:
                out.append(version)
        return out


@pytest.fixture(scope="module")
def weak_champion(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home whose first champion is a one-stump forest: any real model beats it on F1.

    Module-scoped to train once: the promotion test leaves it with a real champion and the
    stump as previous champion, which is where the rollback test starts (it promotes first
    if run alone).
    """
    weak = make_settings(
        tmp_path_factory.mktemp("reload") / "home",
        models=["random_forest"],
        rf_n_estimators=1,
        rf_max_depth_grid=[1],
        cv_folds=2,
    )
    features = build_features(weak, DAY).features_path
    train_and_promote(weak, DAY, features)
    return weak


def promote_fast_model(home: Path) -> str:
    """Train a real (FAST) forest in ``home`` and promote it; returns its version."""
    settings = make_settings(home, models=["random_forest"], **FAST)
    outcome = train_and_promote(settings, DAY)
    assert outcome.decision.action == "promoted", outcome.decision.reason
    assert outcome.decision.champion_version is not None
    return outcome.decision.champion_version


def serve(home: Path, **env: str) -> AbstractContextManager[str]:
    """The API on ``home``, polling the alias every 0.5 s, its log beside the home."""
    log = home.parent / f"{home.name}-server.log"
    return predmaint_server(home, log=log, env=env, api_poll_interval_s=POLL)


def test_promotion_is_served_without_restart_or_failed_request(
    weak_champion: Settings,
) -> None:
    old = champion_info(weak_champion).version
    assert old == "1", "starts from the stump"
    with serve(weak_champion.home) as url, Traffic(url) as traffic:
        traffic.wait_for(old)
        # when a better model is trained and promoted while requests run
        new = promote_fast_model(weak_champion.home)
        traffic.wait_for(new)
    # then every request was answered, first by the old champion, then by the new one
    statuses = {status for status, _ in traffic.answers}
    assert statuses == {200}, f"{len(traffic.answers)} answers, statuses {statuses}"
    assert traffic.versions() == [old, new], traffic.versions()
    assert len(traffic.answers) > 50, "requests kept flowing during training and the swap"


def test_rollback_is_served_without_restart_or_failed_request(
    weak_champion: Settings,
) -> None:
    first = champion_info(weak_champion, version="1")
    if champion_info(weak_champion).version == first.version:  # run alone: promote first
        promote_fast_model(weak_champion.home)
    current = champion_info(weak_champion).version
    previous = first.version
    with serve(weak_champion.home) as url, Traffic(url) as traffic:
        traffic.wait_for(current)
        decision = rollback(weak_champion, reason="test: rollback while serving")
        assert decision.champion_version == previous
        traffic.wait_for(previous)
        model = httpx.get(f"{url}/model").json()
    assert {status for status, _ in traffic.answers} == {200}
    assert traffic.versions() == [current, previous], traffic.versions()
    assert model["version"] == previous, model


def test_unreachable_registry_keeps_serving_and_ready_says_so(
    trained_home: Settings, tmp_path: Path
) -> None:
    # given a server on a copy of the store, opening a new database connection per query
    home = tmp_path / "store"
    shutil.copytree(trained_home.home, home, ignore=shutil.ignore_patterns("data"))
    moved = tmp_path / "store-away"
    with (
        serve(home, MLFLOW_SQLALCHEMYSTORE_POOLCLASS="NullPool") as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        assert client.get("/ready").json()["registry"] == "reachable"
        # when the store disappears (an unmounted volume, a registry down)
        home.rename(moved)
        deadline = time.monotonic() + 20
        while "unreachable" not in client.get("/ready").json()["registry"]:
            assert time.monotonic() < deadline, client.get("/ready").json()
            time.sleep(0.2)
        # then the loaded model still answers, and readiness says what is wrong
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert client.post("/predict", json=SPEC_EXAMPLE).status_code == 200
        assert client.get("/model").json()["registry"].startswith("unreachable"), "shown in /model"
        assert "predmaint_registry_up 0.0" in client.get("/metrics").text
        # and when it comes back, so does the status
        moved.rename(home)
        deadline = time.monotonic() + 20
        while client.get("/ready").json()["registry"] != "reachable":
            assert time.monotonic() < deadline, client.get("/ready").json()
            time.sleep(0.2)

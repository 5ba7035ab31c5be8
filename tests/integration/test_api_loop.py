"""The API's part of the loop over real HTTP: each answer's id and its record in ``served/``,
``POST /feedback`` behind the key, the day's page at ``/reports``, and a full recording queue
that drops and counts instead of blocking."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from bench.common import predmaint_server

from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.inference.ids import prediction_id_time_ms
from predmaint.monitoring.daily import monitor_day
from predmaint.settings import Settings
from tests.support.recording_api import KEY, RecordingApi, served_answers
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(recording_api: RecordingApi) -> Path:
    return recording_api.data_dir


@pytest.fixture(scope="module")
def api(recording_api: RecordingApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=recording_api.url, timeout=30, headers=KEY) as client:
        yield client


def test_every_answer_has_an_id_and_is_recorded(api: httpx.Client, data_dir: Path) -> None:
    # when the spec's reading and a batch of three are answered
    one = api.post("/predict", json=SPEC_EXAMPLE).json()
    many = api.post("/predict/batch", json={"readings": [SPEC_EXAMPLE] * 3}).json()
    # then the spec's four fields come first and each answer has its own ULID, made now
    assert list(one)[:4] == ["prediction", "probability", "risk_level", "recommendation"]
    ids = [one["prediction_id"], *(a["prediction_id"] for a in many["predictions"])]
    assert len(set(ids)) == 4 and all(len(i) == 26 for i in ids), ids
    made = prediction_id_time_ms(one["prediction_id"])
    assert made is not None and abs(made / 1000 - datetime.now(UTC).timestamp()) < 60
    # and the background task writes them to served/ds=<today>/ with inputs, outputs, version
    wait_for(
        "the answers in served/",
        lambda: set(ids) <= set(served_answers(data_dir).get("prediction_id", [])),
        timeout=20,
        interval=0.2,
    )
    table = served_answers(data_dir).set_index("prediction_id").loc[one["prediction_id"]]
    assert table["air_temperature"] == SPEC_EXAMPLE["air_temperature"]
    assert table["failure_probability"] == pytest.approx(one["failure_probability"])
    assert (table["prediction"], table["model_version"]) == (
        one["prediction"],
        one["model_version"],
    )
    day = datetime.now(UTC).date()
    assert any((data_dir / "served" / f"ds={day}").iterdir())


def test_feedback_records_known_ids_and_quarantines_unknown_ones(
    api: httpx.Client, data_dir: Path
) -> None:
    answer = api.post("/predict", json=SPEC_EXAMPLE).json()
    outcome = {"prediction_id": answer["prediction_id"], "outcome": "no_failure"}
    # without the key: refused
    assert httpx.post(f"{api.base_url}/feedback", json=outcome).status_code == 401
    # one outcome, right after the answer (still queued: the route flushes first)
    single = api.post("/feedback", json=outcome)
    assert single.status_code == 200, single.text
    assert single.json() == {"recorded": 1, "quarantined": 0, "reasons": {}}
    # many: a correction of the same id (the latest wins) and an id nobody answered
    many = api.post(
        "/feedback",
        json={
            "outcomes": [
                {**outcome, "outcome": "failure", "failure_mode": "HDF", "note": "late report"},
                {"prediction_id": "20000101-0000000000000000", "outcome": "failure"},
            ]
        },
    ).json()
    assert (many["recorded"], many["quarantined"]) == (1, 1)
    assert any("unknown" in reason for reason in many["reasons"]), many
    recorded = pd.concat(
        pd.read_parquet(f) for f in sorted((data_dir / "outcomes").glob("ds=*/recorded-*"))
    )
    assert (recorded["prediction_id"] == answer["prediction_id"]).sum() == 2
    # a bad value is a 422 that names the field
    bad = api.post("/feedback", json={**outcome, "outcome": "broken"})
    assert bad.status_code == 422 and "outcome" in bad.text


def test_reports_serve_the_days_page(
    api: httpx.Client, trained_home: Settings, data_dir: Path
) -> None:
    missing = api.get("/reports/2020-01-01")
    assert missing.status_code == 404 and "predmaint monitor --date 2020-01-01" in missing.text
    assert api.get("/reports/2020-13-45").status_code == 422
    # given the day monitored (report only: the shared champion's aliases stay where they are)
    settings = trained_home.model_copy(update={"data_dir": data_dir})
    today = datetime.now(UTC).date()
    expired = settings.reports_dir / f"ds={today - timedelta(days=400)}"
    kept = settings.outcomes_dir / f"ds={today - timedelta(days=settings.retention_days)}"
    for folder in (expired, kept):
        folder.mkdir(parents=True)
    run = monitor_day(settings, today, log_to_mlflow=False)
    # (and the run ended with the cleanup: a page past retention went, the window stayed)
    assert expired in run.removed_partitions and not expired.exists()
    assert kept.is_dir()
    # then the latest page and the day's page are that file, as HTML
    for path in ("/reports/latest", f"/reports/{today}"):
        page = api.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.content == run.page_path.read_bytes()
    assert httpx.get(f"{api.base_url}/reports/latest").status_code == 401, "behind the key"


def test_a_full_queue_drops_and_counts_without_blocking(
    trained_home: Settings, tmp_path: Path
) -> None:
    # given a queue of one answer, flushed only every minute
    with (
        predmaint_server(
            trained_home.home,
            data_dir=str(tmp_path),
            api_record_queue_max="1",
            api_record_flush_s="60",
        ) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        # when five readings are answered
        answers = [client.post("/predict", json=SPEC_EXAMPLE) for _ in range(5)]
        metrics = client.get("/metrics").text
    # then all five are answered, one is queued and four are counted as dropped
    assert [a.status_code for a in answers] == [200] * 5
    assert "predmaint_answers_dropped_total 4.0" in metrics, metrics[-2000:]

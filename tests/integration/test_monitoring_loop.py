"""Monitoring over real files: predictions and outcomes joined per version and in shadow,
the day's report.json, its history, and the report page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from predmaint.monitoring.outcomes import load_outcomes
from predmaint.monitoring.page import page_path, render_page, write_page
from predmaint.monitoring.performance import realized_performance
from predmaint.monitoring.predictions import load_predictions, window
from predmaint.monitoring.report import drift_history, performance_history, report_path
from predmaint.settings import Settings
from tests.support.loop_days import FIRST, ROWS, play

DAYS = 4


@pytest.fixture
def played(settings_factory: Callable[..., Settings]) -> tuple[Settings, object]:
    settings = settings_factory(monitoring_window_days=30, min_outcomes=50)
    inputs = play(settings, DAYS, scenarios={3: "cooling_loss"})
    return settings, inputs


def test_realized_metrics_match_counts_made_from_the_files(played: tuple[Settings, object]) -> None:
    settings, _ = played
    end = FIRST + timedelta(days=DAYS - 1)
    start, _ = window(end, 30)
    predictions = load_predictions(settings, start, end)
    outcomes = load_outcomes(settings, end)
    # every batch row and the one API answer are there, with their days
    assert len(predictions) == DAYS * ROWS + 1
    assert set(predictions["source"]) == {"batch", "api"}
    performance = realized_performance(predictions, outcomes, start, end)
    # independent count: join by hand
    joined = predictions.merge(outcomes, on="prediction_id")
    actual = joined["outcome"] == "failure"
    predicted = joined["prediction"] == 1
    champion = performance.by_version["1"]
    assert champion.metrics.labelled == len(joined) > 0
    assert champion.metrics.tp == int((actual & predicted).sum())
    assert champion.metrics.fn == int((actual & ~predicted).sum())
    assert champion.predictions == DAYS * ROWS + 1
    assert champion.alerts == int((predictions["prediction"] == 1).sum())
    assert champion.alert_rate == pytest.approx(champion.alerts / (DAYS * ROWS + 1))
    # the rules-based champion never raises a false alarm; random failures are missed
    recall = champion.metrics.recall
    assert champion.metrics.precision == 1.0 and recall is not None and recall < 1.0
    # outcomes reported on the last day for the last day's readings are not all in yet
    assert performance.outcomes < 0.8 * DAYS * ROWS


def test_shadow_comparison_is_on_the_same_readings(played: tuple[Settings, object]) -> None:
    settings, _ = played
    end = FIRST + timedelta(days=DAYS - 1)
    predictions = load_predictions(settings, *window(end, 30))
    (shadow,) = realized_performance(
        predictions, load_outcomes(settings, end), *window(end, 30)
    ).shadow
    batch = predictions[predictions["source"] == "batch"]
    agreement = (batch["prediction"] == batch["challenger_prediction"]).mean()
    assert (shadow.champion_version, shadow.challenger_version) == ("1", "2")
    assert shadow.compared == len(batch), "the API answer had no shadow score"
    assert shadow.agreement_rate == pytest.approx(agreement)
    assert shadow.champion.labelled == shadow.challenger.labelled
    # the challenger ignores overstrain: it cannot catch more failures
    assert (shadow.challenger.recall or 0) <= (shadow.champion.recall or 0)


def test_each_day_has_a_report_json_in_the_issues_form(played: tuple[Settings, object]) -> None:
    settings, _ = played
    last = FIRST + timedelta(days=DAYS - 1)
    payload = json.loads(report_path(settings, last).read_text())
    assert {"by_version", "drift", "actions"} <= set(payload)
    assert {"labelled", "precision", "recall", "f1", "f1_ci95", "alert_rate"} <= set(
        payload["by_version"]["1"]
    )
    # the last day ran hot: drift names process temperature; earlier days were clear
    assert payload["drift"]["drift_detected"] is True
    assert payload["drift"]["features"]["process_temperature"]["drifted"] is True
    history = drift_history(settings, last, 30)
    assert [p.drift_detected for p in history] == [False, False, False, True]
    points = performance_history(settings, last, 30)
    assert [p.version for p in points] == ["1"] * DAYS
    assert points[0].labelled == 0 and points[0].precision is None, "no outcome on day 1 yet"
    labelled = [p.labelled for p in points]
    assert labelled == sorted(labelled) and labelled[-1] > 0, "outcomes trickle in"
    assert [a["action"] for a in payload["actions"]] == ["none"], payload["actions"]


def test_the_page_is_written_in_the_configured_language(played: tuple[Settings, object]) -> None:
    settings, inputs = played
    path = write_page(settings, inputs)  # type: ignore[arg-type]
    assert path == page_path(settings, FIRST + timedelta(days=DAYS - 1))
    text = path.read_text()
    assert 'lang="pt-BR"' in text
    assert re.search(r"Deriva detectada em: [a-z_, ]*process_temperature", text)
    english = render_page(inputs, "en")  # type: ignore[arg-type]
    assert 'lang="en"' in english and "Deriva" not in english
    assert re.search(r"Drift detected in: [a-z_, ]*process_temperature", english)
    for page in (text, english):
        assert page.count("<svg") == 4, "risk, drift today, drift over time, performance"
        assert "http://" not in page.replace("http://www.w3.org", "")
        assert "https://" not in page and "<script" not in page
        assert "&lt;b&gt;" in page, "texts from the registry are escaped"

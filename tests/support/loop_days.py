"""A few monitored days on disk without a trained model, for the loop's tests.

Predictions follow the data's documented rules (the "champion", version 1, alerts when HDF, PWF
or OSF holds; the shadow "challenger", version 2, knows only HDF and PWF), so realized metrics
can be checked against counts made independently here. Phase 2 runs the same with real models.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from predmaint.data.scenarios import Scenario, simulate_scenario
from predmaint.data.simulate import failure_modes
from predmaint.data.simulated_outcomes import reported_on, simulate_outcomes
from predmaint.features.drift import DriftRule, detect_drift
from predmaint.features.reference import DriftReference, build_reference
from predmaint.inference.ids import PREDICTION_ID, new_prediction_id, with_batch_ids
from predmaint.inference.shadow import SHADOW_COLUMNS, SHADOW_REPORT, ShadowReport
from predmaint.monitoring.decisions import (
    DecisionInputs,
    DecisionRules,
    VersionEvidence,
    decide,
)
from predmaint.monitoring.outcomes import load_outcomes, record_outcomes
from predmaint.monitoring.page import AlertRow, PageInputs, RegistryEvent
from predmaint.monitoring.performance import realized_performance
from predmaint.monitoring.predictions import known_prediction_ids, load_predictions, window
from predmaint.monitoring.report import (
    MonitoringReport,
    drift_history,
    drift_point,
    performance_history,
    write_monitoring_report,
)
from predmaint.settings import Settings
from predmaint.storage import partition_dir, write_json_atomic, write_parquet_atomic

FIRST = date(2027, 2, 1)
ROWS = 1500


def reference() -> DriftReference:
    training = pd.concat(simulate_scenario(2000, FIRST - timedelta(days=d + 1)) for d in range(5))
    return build_reference(training, source="simulated")


def score(frame: pd.DataFrame) -> pd.DataFrame:
    modes = failure_modes(frame)
    champion = (modes[["hdf", "pwf", "osf"]].max(axis=1)).to_numpy()
    challenger = (modes[["hdf", "pwf"]].max(axis=1)).to_numpy()
    out = frame.copy()
    out["prediction"] = champion.astype("int64")
    out["failure_probability"] = np.where(champion == 1, 0.9, 0.05)
    out["risk_level"] = np.where(champion == 1, "Crítico", "Baixo")
    out["model_version"] = "1"
    out["challenger_version"] = "2"
    out["challenger_prediction"] = challenger.astype("int64")
    out["challenger_failure_probability"] = np.where(challenger == 1, 0.8, 0.1)
    return out


def publish(settings: Settings, ds: date, scored: pd.DataFrame) -> None:
    """The day's predictions, and the challenger's answers apart, as ``predmaint infer`` and
    ``predmaint shadow`` publish them (joined back by ``prediction_id`` in monitoring)."""
    name = "part-simulated.parquet"
    shadow = scored[[PREDICTION_ID, *SHADOW_COLUMNS]]
    write_parquet_atomic(
        scored.drop(columns=list(SHADOW_COLUMNS)),
        partition_dir(settings.predictions_dir, ds) / name,
    )
    folder = partition_dir(settings.shadow_dir, ds)
    write_parquet_atomic(shadow.sample(frac=1.0, random_state=1), folder / name)  # any order
    agreements = int((scored["prediction"] == scored["challenger_prediction"]).sum())
    report = ShadowReport(ds.isoformat(), "1", "2", len(scored), agreements, "test", [name])
    write_json_atomic(folder / SHADOW_REPORT, report.to_dict())


def play(settings: Settings, days: int, scenarios: dict[int, Scenario] | None = None) -> PageInputs:
    """Score ``days`` days, record the outcomes reported on each, monitor; the last day's page."""
    ref = reference()
    all_outcomes = []
    last: PageInputs | None = None
    for offset in range(days):
        ds = FIRST + timedelta(days=offset)
        scenario = (scenarios or {}).get(offset, "normal")
        readings = with_batch_ids(simulate_scenario(ROWS, ds, scenario), ds, "simulated.parquet")
        scored = score(readings)
        publish(settings, ds, scored)
        all_outcomes.append(simulate_outcomes(scored, ds, report_share=0.8, max_delay_days=2))
        due = pd.concat([reported_on(o, ds) for o in all_outcomes], ignore_index=True)
        known = known_prediction_ids(settings, ds, settings.monitoring_window_days)
        record_outcomes(settings, due, known_ids=known, source=f"plant-{ds}")
        start, end = window(ds, settings.monitoring_window_days)
        performance = realized_performance(
            load_predictions(settings, start, end), load_outcomes(settings, end), start, end
        )
        drift = detect_drift(readings, ref, DriftRule.from_settings(settings))
        champion = performance.by_version.get("1")
        shadow = performance.shadow[0] if performance.shadow else None
        actions = decide(
            DecisionInputs(
                champion=VersionEvidence("1", 0.93, champion.metrics if champion else None),
                challenger=VersionEvidence("2", 0.80, shadow.challenger if shadow else None),
                champion_on_shared=shadow.champion if shadow else None,
                drift=[p.as_day() for p in drift_history(settings, ds, 5)]
                + [drift_point(ds, drift).as_day()],
            ),
            DecisionRules.from_settings(settings),
        )
        write_monitoring_report(settings, MonitoringReport(ds, performance, drift, actions))
        alerts = scored[scored["prediction"] == 1]
        last = PageInputs(
            ds=ds,
            model_version="1",
            threshold=0.5,
            failure_probabilities=scored["failure_probability"].tolist(),
            risk_levels={str(k): int(v) for k, v in scored["risk_level"].value_counts().items()},
            alerts=[
                AlertRow(str(pid), float(p), str(risk), "1", int(udi), str(product))
                for pid, p, risk, udi, product in zip(
                    alerts["prediction_id"],
                    alerts["failure_probability"],
                    alerts["risk_level"],
                    alerts["udi"],
                    alerts["product_id"],
                    strict=True,
                )
            ],
            simulated=True,
            drift=drift,
            drift_history=drift_history(settings, ds, 30),
            performance=performance,
            performance_history=performance_history(settings, ds, 30),
            actions=actions,
            events=[
                RegistryEvent("2027-01-31T10:00:00Z", "1", "promoted", "F1 0.930 > 0.910 <b>"),
            ],
        )
    # one API answer on the last day, as the API's recorder writes it
    served = pd.DataFrame(
        {
            "prediction_id": [new_prediction_id()],
            "model_version": ["1"],
            "prediction": [0],
            "failure_probability": [0.02],
        }
    )
    write_parquet_atomic(
        served, partition_dir(settings.served_dir, FIRST + timedelta(days=days - 1)) / "a.parquet"
    )
    assert last is not None
    return last

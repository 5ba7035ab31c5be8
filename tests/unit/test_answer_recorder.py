"""The API's answer recorder: ids in the body, a bounded queue that drops and counts, Parquet
files per UTC day written by the drain (real files in a temporary data folder)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
from prometheus_client import CollectorRegistry

from predmaint.api.recording import AnswerRecorder, stamp
from predmaint.settings import Settings

READING = (298.5, 308.9, 1551.0, 42.8, 108.0)


def test_stamp_adds_the_id_last_and_keeps_the_json_valid() -> None:
    body = '{"prediction":0,"probability":0.92,"model_version":"3"}'
    stamped = json.loads(stamp(body, "01JQ8Z6M4T5R2X9V0K3B7N1C8D"))
    assert list(stamped) == ["prediction", "probability", "model_version", "prediction_id"]
    assert stamped["prediction_id"] == "01JQ8Z6M4T5R2X9V0K3B7N1C8D"


def test_a_full_queue_drops_and_counts_and_a_flush_writes_the_rest(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(api_record_queue_max=2)
    registry = CollectorRegistry()
    recorder = AnswerRecorder(settings, registry)
    ids = [recorder.new_id() for _ in range(3)]
    # when three answers arrive for a queue of two
    for i, prediction_id in enumerate(ids):
        recorder.record(prediction_id, READING, i % 2, 0.1 * i, "Baixo", "7")
    # then the third is dropped and counted, never waited for
    assert recorder.queued == 2
    assert registry.get_sample_value("predmaint_answers_dropped_total") == 1.0
    # and a flush writes the two queued answers to served/ds=<UTC today>/
    written = asyncio.run(recorder.flush())
    assert written == 2 and recorder.queued == 0
    assert registry.get_sample_value("predmaint_answers_recorded_total") == 2.0
    folder = settings.served_dir / f"ds={datetime.now(UTC).date()}"
    files = sorted(folder.glob("served-*.parquet"))
    # named for the host too: replicas in containers share the data volume and all run as pid 1
    assert files and all(f"-{socket.gethostname()}-{os.getpid()}-" in p.name for p in files)
    frame = pd.concat(pd.read_parquet(p) for p in files)
    assert frame["prediction_id"].tolist() == ids[:2]
    assert frame["rotational_speed"].tolist() == [1551.0, 1551.0]
    assert frame["prediction"].tolist() == [0, 1] and set(frame["model_version"]) == {"7"}
    assert str(frame["answered_at"].dt.tz) == "UTC"


def test_recording_off_records_nothing(settings_factory: Callable[..., Settings]) -> None:
    recorder = AnswerRecorder(settings_factory(api_record_answers=False))
    recorder.record(recorder.new_id(), READING, 0, 0.1, "Baixo", "7")
    assert recorder.queued == 0 and asyncio.run(recorder.flush()) == 0

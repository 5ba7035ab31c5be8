"""``POST /feedback``: what happened after an answer, sent back by a technician or a CMMS.

One outcome or many (``{"outcomes": [...]}``). A body that breaks a field's rule is a 422 naming
the field, like a reading; an outcome naming a prediction id nobody answered (in the monitoring
window) is quarantined with that reason and reported back, and the others are recorded. The same
id recorded twice keeps the latest (:mod:`predmaint.monitoring.outcomes`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from predmaint.api.deps import SettingsDep
from predmaint.api.recording import AnswerRecorder
from predmaint.api.schemas import Problem
from predmaint.monitoring.outcomes import (
    FAILURE_MODE_CODES,
    FEEDBACK_MAX,
    NOTE_MAX,
    record_outcomes,
)
from predmaint.monitoring.predictions import known_prediction_ids

FailureModeCode = Literal["TWF", "HDF", "PWF", "OSF", "RNF"]
assert FAILURE_MODE_CODES == ("TWF", "HDF", "PWF", "OSF", "RNF")

router = APIRouter(tags=["feedback"])


class OutcomeIn(BaseModel):
    """What happened after one prediction."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "prediction_id": "01JQ8Z6M4T5R2X9V0K3B7N1C8D",
                    "outcome": "failure",
                    "failure_mode": "HDF",
                    "observed_at": "2026-11-25T14:05:00Z",
                    "note": "spindle stopped, heat dissipation",
                }
            ]
        },
    )

    prediction_id: str = Field(min_length=1, max_length=64, description="From the answer.")
    outcome: Literal["failure", "no_failure"]
    failure_mode: FailureModeCode | None = Field(
        default=None, description="Only with outcome failure."
    )
    observed_at: datetime | None = Field(
        default=None, description="When it was observed (ISO 8601; UTC when no offset)."
    )
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=FEEDBACK_MAX)


class FeedbackResult(BaseModel):
    recorded: int
    quarantined: int
    reasons: dict[str, int] = Field(description="Why rows were quarantined, with counts.")


@router.post(
    "/feedback",
    response_model=FeedbackResult,
    summary="Record outcomes of earlier predictions (one, or many under 'outcomes')",
    responses={
        400: {"model": Problem, "description": "The body could not be decoded at all."},
        401: {"model": Problem},
        422: {"description": "A field breaks its rule."},
    },
)
async def feedback(
    body: Annotated[OutcomeIn | FeedbackIn, "one outcome or many"],
    request: Request,
    settings: SettingsDep,
) -> FeedbackResult:
    items = body.outcomes if isinstance(body, FeedbackIn) else [body]
    recorder: AnswerRecorder = request.app.state.recorder
    await recorder.flush()  # answers still queued are known ids too
    frame = pd.DataFrame(
        {
            "prediction_id": [i.prediction_id for i in items],
            "outcome": [i.outcome for i in items],
            "failure_mode": [i.failure_mode for i in items],
            "observed_at": [i.observed_at.isoformat() if i.observed_at else None for i in items],
            "note": [i.note for i in items],
        }
    )
    known = await run_in_threadpool(
        known_prediction_ids, settings, date.today(), settings.monitoring_window_days
    )
    result = await run_in_threadpool(
        lambda: record_outcomes(settings, frame, known_ids=known, source="api-feedback")
    )
    return FeedbackResult(
        recorded=result.rows_recorded,
        quarantined=result.rows_quarantined,
        reasons=result.quarantine_reasons,
    )

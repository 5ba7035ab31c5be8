"""One router per resource, aggregated here (the template's ``api/main.py`` pattern)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from predmaint.api.deps import require_api_key
from predmaint.api.metrics import ApiMetrics
from predmaint.api.recording import AnswerRecorder
from predmaint.api.routes import feedback, health, model, oip, predict, prometheus, reports
from predmaint.api.single import SingleAnswers
from predmaint.settings import Settings


def api_router(
    settings: Settings,
    metrics: ApiMetrics,
    recorder: AnswerRecorder | None = None,
    single: SingleAnswers | None = None,
) -> APIRouter:
    """All routes; ``/predict*``, ``/model``, ``/feedback``, ``/reports`` and the Open Inference
    Protocol's ``infer`` behind the API key when one is configured (its probes and metadata are
    open, like ``/health`` and ``/ready``).

    The key check is attached only when a key is set, so an open deployment pays nothing for it.
    """
    router = APIRouter()
    guarded = [Depends(require_api_key)] if settings.api_key else []
    router.include_router(predict.router(settings, metrics, recorder, single), dependencies=guarded)
    router.include_router(model.router, dependencies=guarded)
    router.include_router(feedback.router, dependencies=guarded)
    router.include_router(reports.router, dependencies=guarded)
    router.include_router(oip.infer_router(settings, metrics, recorder), dependencies=guarded)
    router.include_router(health.router)
    router.include_router(oip.status_router(settings))
    router.include_router(prometheus.router)
    return router

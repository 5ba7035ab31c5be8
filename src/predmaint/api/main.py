"""The FastAPI app: ``create_app`` wires settings, model holder, metrics, routes and docs.

``predmaint serve`` runs ``uvicorn.run("predmaint.api.main:create_app", factory=True)``. Nothing
heavy happens at import: the champion is loaded in the lifespan, before uvicorn accepts
connections, and then followed by a background task.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from predmaint import __version__
from predmaint.api import docs, handlers
from predmaint.api.fastpath import FastPredict
from predmaint.api.holder import ModelHolder, ServedModel
from predmaint.api.limits import RequestLimits, body_limits, document_refusals
from predmaint.api.metrics import ApiMetrics, MetricsMiddleware
from predmaint.api.recording import AnswerRecorder
from predmaint.api.routes import api_router
from predmaint.api.schemas import SensorReading
from predmaint.settings import Settings, get_settings

DESCRIPTION = """
Failure prediction for AI4I 2020 machines from five sensor readings.

The model served is the registry's `champion` alias; a promotion or a rollback is picked up
within `PREDMAINT_API_POLL_INTERVAL_S` seconds without a restart. Texts are in Portuguese by
default (`PREDMAINT_LANGUAGE=en` for English).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app for these settings (default: the process settings from the environment)."""
    settings = settings or get_settings()
    metrics = ApiMetrics()

    def on_swap(served: ServedModel) -> None:
        metrics.model_reloads.inc()
        metrics.serving(
            served.info.name, served.info.version, served.info.model_type, served.scorer.runtime
        )

    holder = ModelHolder(settings, on_swap=on_swap)
    recorder = AnswerRecorder(settings, metrics.registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await holder.start()
        await recorder.start()
        # Everything loaded so far (MLflow, scikit-learn, the model) lives as long as the
        # process: move it out of the garbage collector's sight, so that full collections
        # scan the per-request garbage only instead of stalling requests for milliseconds.
        gc.freeze()
        try:
            yield
        finally:
            await recorder.stop()
            await holder.stop()

    app = FastAPI(
        title="predmaint",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.recorder = recorder
    handlers.install(app)
    app.include_router(api_router(settings, metrics, recorder))
    docs.install(app)
    document_refusals(app.routes)
    predict_route = next(r for r in app.routes if isinstance(r, APIRoute) and r.path == "/predict")
    app.add_middleware(
        FastPredict,
        route=predict_route,
        body_model=SensorReading,
        holder=holder,
        api_key=settings.api_key,
        overrides=app.dependency_overrides,
    )
    # Before the fast path and every route: size (413), content type (415), read time (408).
    app.add_middleware(
        RequestLimits,
        limits=body_limits(settings),
        timeout_s=settings.api_body_timeout_s,
        routes=app.routes,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: counts every request
    return app

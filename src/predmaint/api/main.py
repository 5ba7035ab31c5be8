"""The FastAPI app: ``create_app`` wires settings, model holder, metrics, routes and docs.

``predmaint serve`` runs ``uvicorn.run("predmaint.api.main:create_app", factory=True)``. Nothing
heavy happens at import: the champion is loaded in the lifespan, before uvicorn accepts
connections, and then followed by a background task.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from starlette.types import ASGIApp

from predmaint import __version__
from predmaint.api import docs, handlers
from predmaint.api.fastpath import FastPredict
from predmaint.api.holder import ModelHolder, ServedModel
from predmaint.api.limits import BodyReader, RequestLimits, body_limits, document_refusals
from predmaint.api.metrics import ApiMetrics, MetricsMiddleware
from predmaint.api.recording import AnswerRecorder
from predmaint.api.routes import api_router
from predmaint.api.schemas import SensorReading
from predmaint.api.single import SingleAnswers
from predmaint.settings import Settings, get_settings

DESCRIPTION = """
Failure prediction for AI4I 2020 machines from five sensor readings.

The model served is the registry's `champion` alias; a promotion or a rollback is picked up
within `PREDMAINT_API_POLL_INTERVAL_S` seconds without a restart. Texts are in Portuguese by
default (`PREDMAINT_LANGUAGE=en` for English).
"""


class PredmaintAPI(FastAPI):
    """FastAPI with one plain ASGI layer (``front``) in front of its whole middleware stack,
    Starlette's server-error layer included: the ``/predict`` fast path."""

    front: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.front is None else self.front(stack)


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
    single = SingleAnswers(settings, metrics, recorder)

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

    app = PredmaintAPI(
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
    app.include_router(api_router(settings, metrics, recorder, single))
    docs.install(app)
    document_refusals(app.routes)
    reader = BodyReader(body_limits(settings), settings.api_body_timeout_s, app.routes)
    # Before every route: size (413), content type (415), read time (408).
    app.add_middleware(RequestLimits, reader=reader)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # counts every request
    app.front = partial(  # outermost: answers the common POST /predict itself
        FastPredict,
        path="/predict",
        body_model=SensorReading,
        holder=holder,
        api_key=settings.api_key,
        overrides=app.dependency_overrides,
        reader=reader,
        single=single,
        metrics=metrics,
    )
    return app

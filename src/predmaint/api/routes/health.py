"""Liveness (the process answers) and readiness (a champion is loaded)."""

from __future__ import annotations

from fastapi import APIRouter

from predmaint.api.deps import HolderDep, ModelUnavailableError
from predmaint.api.schemas import Health, Problem, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="The process is alive")
async def health() -> Health:
    return Health()


@router.get(
    "/ready",
    response_model=Readiness,
    summary="A champion is loaded and answering",
    responses={503: {"model": Problem, "description": "No model loaded: how to train one."}},
)
async def ready(holder: HolderDep) -> Readiness:
    """200 while a model is served, even if the registry is unreachable (``registry`` says so:
    the replica keeps answering with the model it has); 503 only when no model is loaded."""
    served = holder.current
    if served is None:
        raise ModelUnavailableError(holder.missing_reason)
    return Readiness(
        model_version=served.info.version,
        registry=holder.registry_status,
        last_check=holder.last_check,
    )

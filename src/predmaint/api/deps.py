"""Dependencies as ``Annotated`` aliases: routes say what they need, tests can override it.

The functions are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
thread pool, which would put two thread hops on every request. Everything comes from
``app.state`` (set once in :func:`predmaint.api.main.create_app`), so a dependency is an attribute
read, never a registry call or a file read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from predmaint.api.auth import API_KEY_HEADER, api_key_problem
from predmaint.api.holder import ModelHolder, ServedModel
from predmaint.api.metrics import ApiMetrics
from predmaint.settings import Settings

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Needed by /predict*, /model, /feedback, /reports and the OIP infer routes when"
    " PREDMAINT_API_KEY is set.",
)


class ModelUnavailableError(Exception):
    """No model is loaded: the API answers 503 with how to train one."""


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> ModelHolder:
    holder: ModelHolder = request.app.state.holder
    return holder


async def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


async def get_model(request: Request) -> ServedModel:
    """The model snapshot this request uses from start to end (503 if none is loaded)."""
    holder: ModelHolder = request.app.state.holder
    served = holder.current
    if served is None:
        raise ModelUnavailableError(holder.missing_reason)
    return served


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
ModelDep = Annotated[ServedModel, Depends(get_model)]


async def require_api_key(
    request: Request,
    settings: SettingsDep,
    _documented: Annotated[str | None, Security(_api_key_header)],
) -> None:
    """Refuse the request unless it carries the configured key.

    The decision is :func:`predmaint.api.auth.api_key_problem` on the raw headers, the rule the
    fast path applies; the ``Security`` parameter only puts the scheme in the OpenAPI document
    (Swagger's "Authorize").
    """
    expected = settings.api_key
    if expected is None:
        return
    problem = api_key_problem(request.scope["headers"], expected.encode())
    if problem is not None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, problem, headers={"WWW-Authenticate": "ApiKey"}
        )

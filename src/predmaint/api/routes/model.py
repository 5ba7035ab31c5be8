"""The served model as the registry describes it, and whether it runs compiled."""

from __future__ import annotations

from fastapi import APIRouter

from predmaint.api.deps import HolderDep, ModelDep
from predmaint.api.schemas import ModelInfo, Problem

router = APIRouter(tags=["model"])


@router.get(
    "/model",
    response_model=ModelInfo,
    summary="Name, alias, version, run id, threshold and test metrics of the served model",
    responses={503: {"model": Problem}, 401: {"model": Problem}},
)
async def model_info(served: ModelDep, holder: HolderDep) -> ModelInfo:
    return ModelInfo(
        **vars(served.info),
        loaded_at=served.loaded_at,
        runtime=served.scorer.runtime,  # type: ignore[arg-type]
        runtime_detail=served.scorer.detail,
        registry=holder.registry_status,
        poll_interval_s=holder.settings.api_poll_interval_s,
    )

"""``GET /metrics`` in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from predmaint.api.deps import HolderDep, MetricsDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency, predictions, model version",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text format 0.0.4."}},
)
async def metrics(metrics: MetricsDep, holder: HolderDep) -> Response:
    metrics.registry_up.set(1 if holder.registry_status == "reachable" else 0)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

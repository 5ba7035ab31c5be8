"""The fast path for POST /predict answers exactly as the FastAPI route does, and steps aside
for everything it does not handle (invalid bodies, no model, API key, overrides)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from predmaint.api.deps import get_model
from predmaint.api.holder import ServedModel
from predmaint.api.main import create_app
from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.data.columns import SENSOR_COLUMNS, TARGET
from predmaint.features.transformer import PhysicsFeatures
from predmaint.models.compiled import ONNX_RUNTIME, compile_pipeline
from predmaint.models.versions import ModelVersion
from tests.support.project import make_settings

OVERSTRAIN = dict(SPEC_EXAMPLE, rotational_speed=1350, torque=65.0, tool_wear=230)


@pytest.fixture(scope="module")
def served(raw_frame: pd.DataFrame) -> ServedModel:
    """A small compiled forest wrapped as the holder would wrap a registered version."""
    x = raw_frame[list(SENSOR_COLUMNS)].to_numpy(np.float64)
    forest = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0, n_jobs=1)
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", forest)])
    pipeline.fit(x, raw_frame[TARGET].to_numpy(int))
    info = ModelVersion("m", "champion", "7", "run", "random_forest", 0.3, {"f1": 0.9}, "src", "t")
    scorer = compile_pipeline(pipeline)
    assert scorer.runtime == ONNX_RUNTIME
    return ServedModel(info, scorer, 0.3, "t")


def call(app: object, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.post(
                "/predict",
                content=body,
                headers={"Content-Type": "application/json", **(headers or {})},
            )

    return asyncio.run(go())


@pytest.fixture
def app_factory(served: ServedModel, tmp_path: Path) -> Callable[..., object]:
    def build(**overrides: Any) -> object:
        app = create_app(make_settings(tmp_path / "home", **overrides))
        app.state.holder.current = served
        return app

    return build


@pytest.mark.parametrize("reading", [SPEC_EXAMPLE, OVERSTRAIN], ids=["normal", "overstrain"])
def test_fast_path_and_route_give_the_same_bytes(
    app_factory: Callable[..., object], served: ServedModel, reading: dict[str, float]
) -> None:
    body = json.dumps(reading).encode()
    app = app_factory()
    fast = call(app, body)
    # when the route itself answers (a dependency override makes the fast path step aside)
    app.dependency_overrides[get_model] = lambda: served  # type: ignore[attr-defined]
    routed = call(app, body)
    assert fast.status_code == routed.status_code == 200
    # the same bytes but for each answer's own id
    ids = fast.json()["prediction_id"], routed.json()["prediction_id"]
    assert ids[0] != ids[1] and all(len(i) == 26 for i in ids), ids
    same = [r.content.replace(i.encode(), b"") for r, i in zip((fast, routed), ids, strict=True)]
    assert same[0] == same[1], (fast.content, routed.content)
    assert fast.headers["content-type"] == routed.headers["content-type"]
    answer = fast.json()
    assert answer["model_version"] == "7" and 0.0 <= answer["probability"] <= 1.0


def test_invalid_body_gets_the_routes_422(app_factory: Callable[..., object]) -> None:
    body = json.dumps(dict(SPEC_EXAMPLE, torque=-1)).encode()
    response = call(app_factory(), body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "torque", response.json()


def test_no_model_gets_503(app_factory: Callable[..., object]) -> None:
    app = app_factory()
    app.state.holder.current = None  # type: ignore[attr-defined]
    response = call(app, json.dumps(SPEC_EXAMPLE).encode())
    assert response.status_code == 503 and "predmaint run" in response.json()["detail"]


def test_api_key_is_checked_on_the_fast_path(app_factory: Callable[..., object]) -> None:
    app = app_factory(api_key="k3y")
    body = json.dumps(SPEC_EXAMPLE).encode()
    assert call(app, body).status_code == 401
    assert call(app, body, {"X-API-Key": "wrong"}).status_code == 401
    assert call(app, body, {"X-API-Key": "k3y"}).status_code == 200

"""A lean handler for the single-reading route, inside FastAPI's own extension point.

FastAPI's generic request handler (content-type sniffing, ``json.loads``, dependency solving,
response-model plumbing) costs about as much as everything else on ``/predict`` together. A
custom ``APIRoute`` class (FastAPI's documented way to customise request handling) keeps the
route, its OpenAPI schema and its error answers, but handles the request in three steps: parse
and validate the body in one pass (pydantic-core, ``model_validate_json``), take the model
snapshot, call the endpoint. Invalid bodies raise the same ``RequestValidationError`` FastAPI
would, so they get the same 422. A route with extra dependencies (the API key) keeps FastAPI's
full handler: correctness first, speed where nothing else is asked of the route.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from predmaint.api.deps import get_model

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def body_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors with FastAPI's ``("body", ...)`` location prefix."""
    return [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]


class SingleBodyRoute(APIRoute):
    """For endpoints ``async def endpoint(body: <model>, served: ModelDep) -> Response``."""

    def get_route_handler(self) -> Handler:
        if self.dependencies or self.body_field is None:
            return super().get_route_handler()
        model: type[BaseModel] = self.body_field.field_info.annotation  # type: ignore[assignment]
        validate = model.model_validate_json
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            body = await request.body()
            try:
                parsed = validate(body)
            except ValidationError as exc:
                raise RequestValidationError(body_errors(exc), body=body) from None
            resolve = request.app.dependency_overrides.get(get_model, get_model)
            response: Response = await endpoint(parsed, await resolve(request))
            return response

        return handler

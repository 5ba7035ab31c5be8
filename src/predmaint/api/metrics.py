"""Prometheus metrics, recorded by a plain ASGI middleware.

A plain ASGI wrapper costs a function call per request; Starlette's ``BaseHTTPMiddleware``
would add a task and a memory stream to every request. Requests are labelled by the route's
path template (``/predict``, not the raw URL), so fuzzed or unknown URLs collapse into one
``unmatched`` label instead of growing the series without bound. Each app has its own registry,
so several apps (tests, workers) never share or collide on counters.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Sub-millisecond buckets: the single-reading route answers well under a millisecond.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class ApiMetrics:
    """The API's metrics in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "predmaint_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "predmaint_http_request_duration_seconds",
            "Time from request to the end of the response, by route, method and status.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "predmaint_predictions",
            "Readings scored, by predicted class and risk level.",
            ["prediction", "risk_level"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "predmaint_model_info",
            "1 for the model version being served.",
            ["name", "version", "model_type", "runtime"],
            registry=self.registry,
        )
        self.model_reloads = Counter(
            "predmaint_model_reloads",
            "Models loaded (the first load and every alias change).",
            registry=self.registry,
        )
        self.registry_up = Gauge(
            "predmaint_registry_up",
            "1 if the last alias check reached the registry, else 0.",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._predicted: dict[tuple[int, str], Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:  # label lookups take a lock: do them once per series
            labels = (route, method, str(status))
            children = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def predicted(self, prediction: int, risk_level: str, count: int = 1) -> None:
        key = (prediction, risk_level)
        child = self._predicted.get(key)
        if child is None:
            child = self._predicted[key] = self.predictions.labels(str(prediction), risk_level)
        child.inc(count)

    def serving(self, name: str, version: str, model_type: str, runtime: str) -> None:
        """Point ``predmaint_model_info`` at the version now served."""
        self.model_info.clear()
        self.model_info.labels(name, version, model_type, runtime).set(1)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template, method and status."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        status = 500  # an exception escaping the app becomes a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(route, scope["method"], status, perf_counter() - start)

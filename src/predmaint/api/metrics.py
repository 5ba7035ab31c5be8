"""Prometheus metrics, recorded by a plain ASGI middleware.

A plain ASGI wrapper costs a function call per request; Starlette's ``BaseHTTPMiddleware``
would add a task and a memory stream to every request. The per-request series (requests,
latency, predictions) are plain numbers updated on the event loop and turned into Prometheus
families when scraped: ``prometheus_client``'s own counters and histograms take a lock per
update, five per ``/predict`` answer, about two microseconds of it (``bench/api_inprocess.py``).
Requests are labelled by the route's path template (``/predict``, not the raw URL), so fuzzed or
unknown URLs collapse into one ``unmatched`` label instead of growing the series without bound.
Each app has its own registry, so several apps (tests, workers) never share or collide on
counters.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from time import perf_counter, time

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString
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


_REQUEST_LABELS = ("route", "method", "status")
_BOUNDS = [floatToGoString(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]


class RequestSeries:
    """One request series: count, latency sum, and counts per latency bucket (last: above all)."""

    __slots__ = ("buckets", "count", "created", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.created = time()
        self.seconds = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)

    def add(self, seconds: float) -> None:
        """One request that took ``seconds``."""
        self.count += 1
        self.seconds += seconds
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # first bound >= seconds


class _Counted:
    """A labelled count (one per label tuple) and when it appeared."""

    __slots__ = ("count", "created")

    def __init__(self) -> None:
        self.count = 0
        self.created = time()


class _HotSeries(Collector):
    """Exposes the plain-number series as the Prometheus families they stand for.

    Written and scraped on the event loop only (``/metrics`` is an async route), so a scrape
    never sees half an update.
    """

    def __init__(self, metrics: ApiMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "predmaint_http_requests",
            "HTTP requests by route template, method and status.",
            labels=_REQUEST_LABELS,
        )
        latency = HistogramMetricFamily(
            "predmaint_http_request_duration_seconds",
            "Time from request to the end of the response, by route, method and status.",
            labels=_REQUEST_LABELS,
        )
        for (route, method, status), series in list(self.metrics.series.items()):
            labels = (route, method, str(status))
            requests.add_metric(labels, series.count, created=series.created)
            cumulative, running = [], 0
            for bound, count in zip(_BOUNDS, series.buckets, strict=True):
                running += count
                cumulative.append((bound, float(running)))
            latency.add_metric(labels, cumulative, series.seconds)
            created = dict(zip(_REQUEST_LABELS, labels, strict=True))
            latency.samples.append(Sample(f"{latency.name}_created", created, series.created))
        predictions = CounterMetricFamily(
            "predmaint_predictions",
            "Readings scored, by predicted class and risk level.",
            labels=("prediction", "risk_level"),
        )
        for (prediction, level), counted in list(self.metrics.predictions.items()):
            predictions.add_metric((str(prediction), level), counted.count, counted.created)
        yield requests
        yield latency
        yield predictions


class ApiMetrics:
    """The API's metrics in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.series: dict[tuple[str, str, int], RequestSeries] = {}
        self.predictions: dict[tuple[int, str], _Counted] = {}
        self.registry.register(_HotSeries(self))
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

    def series_of(self, route: str, method: str, status: int) -> RequestSeries:
        """The request series of a route template, method and status (new: created now)."""
        key = (route, method, status)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = RequestSeries()
        return series

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.series_of(route, method, status).add(seconds)

    def predicted(self, prediction: int, risk_level: str, count: int = 1) -> None:
        key = (prediction, risk_level)
        counted = self.predictions.get(key)
        if counted is None:
            counted = self.predictions[key] = _Counted()
        counted.count += count

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

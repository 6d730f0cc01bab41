"""Process-local metrics in the Prometheus text exposition format (no client library needed).

Each API process exposes its own counters at ``/metrics``; Prometheus adds the process label
when it scrapes. Recording is a dict increment and a bisect, cheap enough for the hot path.
"""

from __future__ import annotations

import bisect
import gc
from collections import defaultdict

# Seconds; fine-grained at the low end where the accept latency lives.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.n += 1


class Metrics:
    """Requests by route and status, order outcomes by code, request latency by route."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, Histogram] = {}
        self.orders: dict[str, int] = defaultdict(int)
        self.stream_clients = 0
        self.dropped: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        hist = self.latency.get(route)
        if hist is None:
            hist = self.latency[route] = Histogram()
        hist.observe(seconds)

    def order_outcome(self, outcome: str) -> None:
        self.orders[outcome] += 1

    def response_dropped(self, route: str) -> None:
        """An answer that could not be sent (the client left or the connection broke)."""
        self.dropped[route] += 1

    def render(self) -> str:
        out: list[str] = [
            "# HELP ordergate_api_requests_total HTTP requests by method, route and status.",
            "# TYPE ordergate_api_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.requests.items()):
            out.append(
                f'ordergate_api_requests_total{{method="{method}",route="{route}",'
                f'status="{status}"}} {n}'
            )
        out += [
            "# HELP ordergate_api_orders_total Order submissions by outcome "
            "(created, duplicate, or the error code).",
            "# TYPE ordergate_api_orders_total counter",
        ]
        for outcome, n in sorted(self.orders.items()):
            out.append(f'ordergate_api_orders_total{{outcome="{outcome}"}} {n}')
        out += [
            "# HELP ordergate_api_request_seconds Time from request to response, by route.",
            "# TYPE ordergate_api_request_seconds histogram",
        ]
        for route, hist in sorted(self.latency.items()):
            cumulative = 0
            for bound, count in zip(hist.buckets, hist.counts, strict=False):
                cumulative += count
                out.append(
                    f'ordergate_api_request_seconds_bucket{{route="{route}",le="{bound}"}} '
                    f"{cumulative}"
                )
            out.append(
                f'ordergate_api_request_seconds_bucket{{route="{route}",le="+Inf"}} {hist.n}'
            )
            out.append(f'ordergate_api_request_seconds_sum{{route="{route}"}} {hist.total:.6f}')
            out.append(f'ordergate_api_request_seconds_count{{route="{route}"}} {hist.n}')
        out += [
            "# HELP ordergate_api_gc_collections_total Garbage collections by generation "
            "(start-up objects are frozen; a rising generation 2 count means tail latency).",
            "# TYPE ordergate_api_gc_collections_total counter",
        ]
        for generation, stats in enumerate(gc.get_stats()):
            out.append(
                f'ordergate_api_gc_collections_total{{generation="{generation}"}} '
                f"{stats['collections']}"
            )
        out += [
            "# HELP ordergate_api_responses_dropped_total Answers not delivered because sending "
            "failed (the client left); the request itself was carried out.",
            "# TYPE ordergate_api_responses_dropped_total counter",
        ]
        for route, n in sorted(self.dropped.items()):
            out.append(f'ordergate_api_responses_dropped_total{{route="{route}"}} {n}')
        out += [
            "# HELP ordergate_api_stream_clients Open SSE and WebSocket subscriptions.",
            "# TYPE ordergate_api_stream_clients gauge",
            f"ordergate_api_stream_clients {self.stream_clients}",
        ]
        return "\n".join(out) + "\n"

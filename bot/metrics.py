"""Prometheus metrics, on a registry of the app's own (so tests can build many apps)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    http_requests: Counter
    http_seconds: Histogram
    cases_filed: Counter
    cases: Gauge
    outbox_pending: Gauge
    webhook_attempts: Counter
    webhook_failures: Counter
    webhook_oldest_pending: Gauge

    @staticmethod
    def create() -> Metrics:
        registry = CollectorRegistry()
        return Metrics(
            registry=registry,
            http_requests=Counter(
                "approvals_http_requests",
                "HTTP requests answered, by route and status code.",
                ["route", "status"],
                registry=registry,
            ),
            http_seconds=Histogram(
                "approvals_http_request_seconds",
                "Time to answer an HTTP request, by route.",
                ["route"],
                registry=registry,
            ),
            cases_filed=Counter(
                "approvals_cases_filed",
                "Exceptions filed, by the policy's outcome.",
                ["outcome"],
                registry=registry,
            ),
            cases=Gauge(
                "approvals_cases",
                "Cases in the database, by status (read at scrape time).",
                ["status"],
                registry=registry,
            ),
            outbox_pending=Gauge(
                "approvals_outbox_pending",
                "Messages waiting in the outbox for delivery (read at scrape time).",
                registry=registry,
            ),
            webhook_attempts=Counter(
                "approvals_webhook_attempts",
                "Webhook delivery attempts, by outcome: delivered, retry, failed, disabled.",
                ["outcome"],
                registry=registry,
            ),
            webhook_failures=Counter(
                "approvals_webhook_failures",
                "Webhook messages given up on (a 4xx, or failures for the whole retry window).",
                registry=registry,
            ),
            webhook_oldest_pending=Gauge(
                "approvals_webhook_oldest_pending_seconds",
                "Age of the oldest webhook not delivered yet, pending or disabled; 0 if none "
                "(read at scrape time).",
                registry=registry,
            ),
        )

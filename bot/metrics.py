"""Prometheus metrics, on a registry of the app's own (so tests can build many apps).

No `_created` series anywhere (`disable_created_metrics`): they double the series count and
Prometheus does not need them. Counters of what the lifecycle did count committed audit
events (`count_committed`, the database's commit listener), so a rolled-back change counts
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.registry import Collector

from policy.effects import AuditEvent
from policy.lifecycle import AuditKind

disable_created_metrics()  # type: ignore[no-untyped-call]

# Told of each platform API call: platform, method, status, seconds (Metrics.observe_api).
ApiObserver = Callable[[str, str, str, float], None]

# The audit events counted, as (counter field, label value or None for an unlabelled one).
_COUNTED: dict[AuditKind, tuple[str, str | None]] = {
    AuditKind.DECISION_APPROVED: ("decisions", "approved"),
    AuditKind.DECISION_REJECTED: ("decisions", "rejected"),
    AuditKind.STEP_REMINDED: ("reminders", "step"),
    AuditKind.REMEDIATION_REMINDED: ("reminders", "remediation"),
    AuditKind.STEP_ESCALATED: ("escalations", "step"),
    AuditKind.REMEDIATION_ESCALATED: ("escalations", "remediation"),
    AuditKind.STEP_REROUTED: ("reroutes", None),
    AuditKind.STEP_TIMED_OUT: ("timeouts", None),
}
# Platform API latency: Slack and the Bot Connector answer in tens to hundreds of ms.
_API_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _standard_collectors(registry: CollectorRegistry) -> None:
    """The process, platform and GC metrics a default registry has, on this one."""
    standard: tuple[Collector, ...] = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)
    for collector in standard:
        registry.register(collector)


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    http_requests: Counter
    http_seconds: Histogram
    cases_filed: Counter
    cases: Gauge
    outbox_pending: Gauge
    outbox_oldest_pending: Gauge
    deliveries: Counter
    delivery_failures: Counter
    webhook_attempts: Counter
    webhook_failures: Counter
    webhook_oldest_pending: Gauge
    sweep_last_run: Gauge
    sweep_duration: Gauge
    sweep_due: Gauge
    decisions: Counter
    reminders: Counter
    escalations: Counter
    reroutes: Counter
    timeouts: Counter
    platform_api: Histogram
    build_info: Gauge
    # How long database figures read at scrape time are reused (bot.metrics_reads).
    read_every: float = 15.0

    @staticmethod
    def create(read_every: float = 15.0) -> Metrics:
        registry = CollectorRegistry()
        _standard_collectors(registry)

        def counter(name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        metrics = Metrics(
            registry=registry,
            http_requests=counter(
                "approvals_http_requests",
                "HTTP requests answered, by route and status code.",
                ["route", "status"],
            ),
            http_seconds=Histogram(
                "approvals_http_request_seconds",
                "Time to answer an HTTP request, by route.",
                ["route"],
                registry=registry,
            ),
            cases_filed=counter(
                "approvals_cases_filed", "Exceptions filed, by the policy's outcome.", ["outcome"]
            ),
            cases=gauge(
                "approvals_cases",
                "Cases in the database, by status (read at most every read_every seconds).",
                ["status"],
            ),
            outbox_pending=gauge(
                "approvals_outbox_pending", "Chat messages waiting in the outbox for delivery."
            ),
            outbox_oldest_pending=gauge(
                "approvals_outbox_oldest_pending_seconds",
                "Age of the oldest chat message not delivered yet; 0 if none.",
            ),
            deliveries=counter(
                "approvals_deliveries",
                "Chat deliveries attempted, by platform and outbox message kind.",
                ["platform", "kind"],
            ),
            delivery_failures=counter(
                "approvals_delivery_failures",
                "Chat deliveries that failed (to be retried, or given up), by platform and kind.",
                ["platform", "kind"],
            ),
            webhook_attempts=counter(
                "approvals_webhook_attempts",
                "Webhook delivery attempts, by outcome: delivered, retry, failed, disabled.",
                ["outcome"],
            ),
            webhook_failures=counter(
                "approvals_webhook_failures",
                "Webhook messages given up on (a 4xx, or failures for the whole retry window).",
            ),
            webhook_oldest_pending=gauge(
                "approvals_webhook_oldest_pending_seconds",
                "Age of the oldest webhook not delivered yet, pending or disabled; 0 if none.",
            ),
            sweep_last_run=gauge(
                "approvals_sweep_last_run_timestamp_seconds",
                "When this process's overdue sweep last finished (Unix time); 0 before the first.",
            ),
            sweep_duration=gauge(
                "approvals_sweep_duration_seconds", "How long the last overdue sweep took."
            ),
            sweep_due=gauge(
                "approvals_sweep_due_steps",
                "Open steps still due (reminder, escalation or timeout) after the last sweep.",
            ),
            decisions=counter(
                "approvals_decisions", "Approvers' decisions recorded, by decision.", ["decision"]
            ),
            reminders=counter(
                "approvals_reminders", "Reminders sent, by what they are about.", ["of"]
            ),
            escalations=counter(
                "approvals_escalations", "Escalations to managers, by what they are about.", ["of"]
            ),
            reroutes=counter("approvals_reroutes", "Steps rerouted to someone else by the sweep."),
            timeouts=counter("approvals_timeouts", "Steps timed out by the overdue sweep."),
            platform_api=Histogram(
                "approvals_platform_api_seconds",
                "Slack and Teams API calls, by platform, method and status, with their latency.",
                ["platform", "method", "status"],
                buckets=_API_BUCKETS,
                registry=registry,
            ),
            build_info=gauge(
                "approvals_build_info",
                "1, labelled with this build's version and the policy version in force.",
                ["version", "policy_version"],
            ),
            read_every=read_every,
        )
        for field, label in _COUNTED.values():
            if label is not None:  # zero from the start, so rate() sees the first one
                metrics._counter(field).labels(label)
        return metrics

    def _counter(self, field: str) -> Counter:
        counter: Counter = getattr(self, field)
        return counter

    def count_committed(self, events: Sequence[AuditEvent]) -> None:
        """The database's commit listener: count a committed transaction's audit events."""
        for event in events:
            counted = _COUNTED.get(event.action)
            if counted is None:
                continue
            field, label = counted
            counter = self._counter(field)
            (counter.labels(label) if label is not None else counter).inc()

    def observe_api(self, platform: str, method: str, status: str, seconds: float) -> None:
        self.platform_api.labels(platform, method, status).observe(seconds)

    def show_build(self, policy_version: str) -> None:
        """The build-info series for the policy in force now (set at each scrape, so a change
        of policy shows at the next one without the follower knowing about metrics)."""
        self.build_info.clear()
        self.build_info.labels(version("procurement-approvals"), policy_version).set(1)

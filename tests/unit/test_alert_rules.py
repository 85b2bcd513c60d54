"""Alerting's pure rules: fingerprints, evaluation plans, routing, silences, inhibition,
retries, token buckets, the SSRF guard, payload shapes and metric windows."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from pathlib import Path

import pytest
from alerts.logic import payloads
from alerts.logic.evaluation import OpenAlert, inhibited, plan_rule
from alerts.logic.retries import backoff_s, classify, parse_retry_after
from alerts.logic.routing import Route, Silence, routed, silenced
from alerts.logic.rules import Rule, fingerprint, render_summary
from alerts.logic.targets import TargetRefused, checked_target
from alerts.logic.token_bucket import seconds_until_token, take
from hypothesis import given
from hypothesis import strategies as st

from cognitionos.metrics_store import Series, aggregate, label_key, validate

RULE = Rule("rule_1", "r", "billing.payments_failed", ">=", 3, 60, "high", "{value} failed")


def test_a_fingerprint_is_the_rule_and_its_labels_in_any_order() -> None:
    assert fingerprint("r", {"a": "1", "b": "2"}) == fingerprint("r", {"b": "2", "a": "1"})
    assert fingerprint("r", {"a": "1"}) != fingerprint("r2", {"a": "1"})
    assert fingerprint("r", {"a": "1"}) != fingerprint("r", {"a": "2"})


def test_a_rule_fires_once_per_label_set_and_resolves_what_no_longer_holds() -> None:
    series = [Series({"queue": "a"}, 3), Series({"queue": "b"}, 1)]
    plan = plan_rule(RULE, series, {})
    assert [(f.labels, f.summary) for f in plan.fire] == [({"queue": "a"}, "3 failed")]

    fp_a = plan.fire[0].fingerprint
    open_a = {fp_a: OpenAlert(fp_a, "alert_a", "rule_1", "high", "firing", {"queue": "a"})}
    assert plan_rule(RULE, series, open_a).fire == []  # still firing: no second alert
    quiet = plan_rule(RULE, [], open_a)  # the series left the window: counts as 0
    assert [r.alert.alert_id for r in quiet.resolve] == ["alert_a"] and quiet.fire == []


def test_a_summary_fills_in_value_threshold_and_labels() -> None:
    rule = Rule("r", "n", "m.x", ">", 0.5, 1, "low", "{queue}: {value} over {threshold} {odd}")
    assert render_summary(rule, {"queue": "q"}, 2.0) == "q: 2 over 0.5 {odd}"


def test_a_firing_critical_alert_inhibits_lower_severities_with_the_same_labels() -> None:
    critical = OpenAlert("f", "a", "r", "critical", "firing", {"team": "x"})
    assert inhibited("high", {"team": "x"}, [critical])
    assert not inhibited("high", {"team": "y"}, [critical])
    assert not inhibited("critical", {"team": "x"}, [critical])
    acknowledged = OpenAlert("f", "a", "r", "critical", "acknowledged", {"team": "x"})
    assert not inhibited("high", {"team": "x"}, [acknowledged])


def test_routing_by_min_severity_and_match_and_silences_by_match_until_they_end() -> None:
    routes = [Route("all", "info"), Route("pages", "high"), Route("team", "info", {"team": "x"})]
    assert routed("medium", {"team": "x"}, routes) == ["all", "team"]
    assert routed("critical", {}, routes) == ["all", "pages"]
    silence = Silence("s", {"team": "x"}, ends_at=100)
    assert silenced({"team": "x", "env": "prod"}, [silence], now=99)
    assert not silenced({"team": "x"}, [silence], now=100)
    assert not silenced({"team": "y"}, [silence], now=0)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "sent"),
        (204, "sent"),
        (500, "retry"),
        (503, "retry"),
        (429, "retry"),
        (None, "retry"),
        (400, "failed"),
        (404, "failed"),
        (301, "failed"),
    ],
)
def test_5xx_429_and_no_answer_are_retried_other_answers_are_not(
    status: int | None, verdict: str
) -> None:
    assert classify(status, "x", None, 0).verdict == verdict


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("2", 0) == 2
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40) == 60
    assert parse_retry_after("soon", 0) is None
    assert classify(429, None, "7", 0).retry_after_s == 7


@given(
    attempt=st.integers(1, 20),
    retry_after=st.none() | st.floats(0, 2000),
    seed=st.integers(0, 2**32),
)
def test_backoff_is_full_jitter_capped_and_never_sooner_than_retry_after(
    attempt: int, retry_after: float | None, seed: int
) -> None:
    delay = backoff_s(attempt, 2.0, 300.0, retry_after, random.Random(seed))
    assert 1 <= delay <= 900
    assert delay <= max(min(300.0, 2.0 * 2 ** (attempt - 1)), retry_after or 0) + 1
    if retry_after is not None:
        assert delay >= min(retry_after, 900)


def test_a_token_bucket_lets_a_burst_through_then_refills_at_its_rate() -> None:
    bucket = None
    taken = []
    for _ in range(12):
        ok, bucket = take(bucket, 10, now=1000.0)
        taken.append(ok)
    assert taken == [True] * 10 + [False] * 2
    assert seconds_until_token(bucket, 10) == pytest.approx(6.0)
    assert take(bucket, 10, now=1006.0)[0] and not take(bucket, 10, now=1005.0)[0]


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "addresses", "loopback", "problem"),
    [
        ("https://hooks.example.com/x", ("93.184.216.34",), False, None),
        ("http://hooks.example.com/x", ("93.184.216.34",), False, "must use https"),
        ("https://meta.example/x", ("169.254.169.254",), False, "not a public address"),
        ("https://rebind.example/x", ("93.184.216.34", "10.0.0.7"), False, "10.0.0.7"),
        ("https://v6.example/x", ("fd00::1",), False, "not a public address"),
        ("https://cgnat.example/x", ("100.64.0.1",), False, "not a public address"),
        ("http://127.0.0.1:8080/x", ("127.0.0.1",), True, None),
        ("http://127.0.0.1:8080/x", ("127.0.0.1",), False, "not a public address"),
        ("http://10.0.0.1/x", ("10.0.0.1",), True, "not a public address"),
        ("https://user:pw@hooks.example.com/", ("93.184.216.34",), False, "credentials"),
        ("ftp://hooks.example.com/", ("93.184.216.34",), False, "https://"),
    ],
)
def test_the_ssrf_guard_allows_https_to_public_addresses_only(
    url: str, addresses: tuple[str, ...], loopback: bool, problem: str | None
) -> None:
    if problem is None:
        target = checked_target(url, resolver(*addresses), allow_loopback=loopback)
        assert target.addresses == addresses
    else:
        with pytest.raises(TargetRefused, match=problem):
            checked_target(url, resolver(*addresses), allow_loopback=loopback)


ALERT = {
    "alert_id": "alert_1",
    "rule_id": "rule_1",
    "fingerprint": "fp1",
    "severity": "high",
    "status": "firing",
    "summary": "3 failed",
    "labels": {"team": "x"},
    "started_at": "2025-03-01T00:00:00Z",
    "runbook_url": "https://wiki/run",
}


def test_the_webhook_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = payloads.webhook_body("firing", ALERT)
    header = payloads.webhook_signature("s3cret", body, 1700000000)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert json.loads(body) == {"status": "firing", "alert": ALERT}


@pytest.mark.parametrize(
    ("severity", "pd"),
    [
        ("critical", "critical"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "info"),
        ("info", "info"),
    ],
)
def test_pagerduty_events_carry_the_fingerprint_as_dedup_key(severity: str, pd: str) -> None:
    for event, action in payloads.PAGERDUTY_ACTIONS.items():
        body = json.loads(payloads.pagerduty_body("key", event, {**ALERT, "severity": severity}))
        assert (body["event_action"], body["dedup_key"]) == (action, "fp1")
        assert body["payload"]["severity"] == pd and body["payload"]["summary"] == "3 failed"
        assert body["links"] == [{"href": "https://wiki/run", "text": "Runbook"}]


def test_a_digest_names_every_alert_it_folds() -> None:
    lines = [payloads.DigestLine(f"alert_{n}", "firing", "low", f"s{n}") for n in range(3)]
    assert payloads.DigestLine.decode(lines[0].encode()) == lines[0]
    text = json.loads(payloads.slack_digest_body(lines))["text"]
    assert all(f"alert_{n}" in text for n in range(3))
    webhook = json.loads(payloads.webhook_digest_body("ch", lines))
    assert webhook["digest"]["count"] == 3


def test_a_metric_window_sums_counters_and_takes_a_gauges_newest_value() -> None:
    items = [
        {"sk": "0000000001#", "kind": "counter", "value": 2},
        {"sk": "0000000002#", "kind": "counter", "value": 3},
        {"sk": "0000000001#q=a", "kind": "gauge", "value": 7, "at_ms": 60_500},
        {"sk": "0000000002#q=a", "kind": "gauge", "value": 5, "at_ms": 120_100},
    ]
    assert aggregate(items) == [Series({}, 5.0), Series({"q": "a"}, 5.0)]
    assert label_key({"b": "2", "a": "1"}) == "a=1,b=2"


@pytest.mark.parametrize(
    ("name", "value", "labels"),
    [
        ("payments", 1, {}),
        ("billing.x", float("nan"), {}),
        ("billing.x", 1, {"Bad": "v"}),
        ("billing.x", 1, {"k": "a,b"}),
        ("billing.x", True, {}),
    ],
)
def test_a_metric_that_cannot_be_stored_is_refused_naming_the_problem(
    name: str, value: float, labels: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match=r"metric"):
        validate(name, value, labels)


def test_default_rules_watch_every_dlq_and_dispatch_attempts_match_the_queue() -> None:
    from alerts.logic.default_rules import default_rules
    from alerts.settings import MAX_ATTEMPTS

    from infra import topology

    rules = default_rules(q.name for q in topology.QUEUES)
    metrics = {rule.metric for rule in rules}
    assert {f"queue.{q.name}.dlq_depth" for q in topology.QUEUES} <= metrics
    assert {"billing.payments_failed", "agents.cost_usd", "audit.verification_failures"} <= metrics
    root = Path(__file__).resolve().parents[2]
    assert all(rule.runbook_url and (root / rule.runbook_url).is_file() for rule in rules)
    assert topology.ALERT_NOTIFICATIONS.max_receives == MAX_ATTEMPTS

"""What each channel type receives, byte for byte (docs/ALERTS.md, "Deliveries").

``alert`` is the alert as the API shows it (``alert_id``, ``rule_id``, ``fingerprint``,
``severity``, ``status``, ``summary``, ``labels``, ``started_at``, ``runbook_url``). A digest
is a list of ``DigestLine``: the alerts a rate limit folded together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
PAGERDUTY_ACTIONS = {"firing": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}
PAGERDUTY_SEVERITY = {
    "critical": "critical",
    "high": "error",
    "medium": "warning",
    "low": "info",
    "info": "info",
}
SOURCE = "cognitionos"
SIGNATURE_HEADER = "X-Cognition-Signature"
MARKS = {"firing": ":rotating_light:", "acknowledged": ":eyes:", "resolved": ":white_check_mark:"}


@dataclass(frozen=True)
class DigestLine:
    alert_id: str
    event: str
    severity: str
    summary: str

    def encode(self) -> str:
        return "\t".join((self.alert_id, self.event, self.severity, self.summary))

    @classmethod
    def decode(cls, text: str) -> DigestLine:
        alert_id, event, severity, summary = text.split("\t", 3)
        return cls(alert_id, event, severity, summary)


def compact(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def webhook_signature(secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``, as Stripe signs its webhooks."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_body(event: str, alert: Mapping[str, Any]) -> bytes:
    return compact({"status": event, "alert": dict(alert)})


def webhook_digest_body(channel_id: str, lines: Sequence[DigestLine]) -> bytes:
    return compact(
        {
            "status": "digest",
            "digest": {
                "channel_id": channel_id,
                "count": len(lines),
                "alerts": [line.__dict__ for line in lines],
            },
        }
    )


def title(event: str, alert: Mapping[str, Any]) -> str:
    return f"{event.upper()}: {alert['summary']}"


def slack_body(event: str, alert: Mapping[str, Any]) -> bytes:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.get("labels", {}).items()))
    text = f"{MARKS.get(event, '')} [{alert['severity']}] {title(event, alert)}".strip()
    details = f"fingerprint `{alert['fingerprint']}`" + (f" · {labels}" if labels else "")
    if alert.get("runbook_url"):
        details += f" · <{alert['runbook_url']}|runbook>"
    return compact(
        {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": details}]},
            ],
        }
    )


def digest_text(lines: Sequence[DigestLine]) -> str:
    head = f"{len(lines)} alert notifications held back by this channel's rate limit:"
    return "\n".join(
        [head, *(f"- [{x.severity}] {x.event}: {x.summary} ({x.alert_id})" for x in lines)]
    )


def slack_digest_body(lines: Sequence[DigestLine]) -> bytes:
    text = digest_text(lines)
    return compact(
        {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    )


def pagerduty_body(routing_key: str, event: str, alert: Mapping[str, Any]) -> bytes:
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": PAGERDUTY_ACTIONS[event],
        "dedup_key": alert["fingerprint"],
        "payload": {
            "summary": alert["summary"],
            "source": SOURCE,
            "severity": PAGERDUTY_SEVERITY[alert["severity"]],
            "custom_details": {"alert_id": alert["alert_id"], "labels": alert.get("labels", {})},
        },
    }
    if alert.get("runbook_url"):
        body["links"] = [{"href": alert["runbook_url"], "text": "Runbook"}]
    return compact(body)


def pagerduty_digest_body(routing_key: str, channel_id: str, lines: Sequence[DigestLine]) -> bytes:
    """One trigger for the whole digest: PagerDuty deduplicates on it, not on each alert."""
    worst = max(lines, key=lambda line: list(PAGERDUTY_SEVERITY).index(line.severity) * -1)
    key = hashlib.sha256("\n".join(sorted(x.encode() for x in lines)).encode()).hexdigest()
    return compact(
        {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": f"digest-{key[:32]}",
            "payload": {
                "summary": f"{len(lines)} alerts held back by the rate limit of {channel_id}",
                "source": SOURCE,
                "severity": PAGERDUTY_SEVERITY[worst.severity],
                "custom_details": {"alerts": [line.__dict__ for line in lines]},
            },
        }
    )


def email_data(event: str, alert: Mapping[str, Any]) -> dict[str, str]:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.get("labels", {}).items()))
    return {
        "severity": str(alert["severity"]),
        "title": title(event, alert),
        "text": f"{alert['summary']}\nStatus: {event}\nLabels: {labels or '-'}",
        "runbook_url": str(alert.get("runbook_url") or "-"),
        "alert_id": str(alert["alert_id"]),
        "fingerprint": str(alert["fingerprint"]),
    }


def email_digest_data(channel_id: str, lines: Sequence[DigestLine]) -> dict[str, str]:
    worst = max(lines, key=lambda line: list(PAGERDUTY_SEVERITY).index(line.severity) * -1)
    return {
        "severity": worst.severity,
        "title": f"{len(lines)} alerts held back by the rate limit of {channel_id}",
        "text": digest_text(lines),
        "runbook_url": "-",
        "alert_id": "digest",
        "fingerprint": "-",
    }

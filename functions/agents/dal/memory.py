"""Agent memory in the agents table: run summaries, per-tenant long-term memory, and the
per-model token calibration. Text is sealed with the tenant's data key, like the runs.

Items (``pk`` / ``sk``):
- ``RUN#<id>`` / ``SUMMARY#<step key>``: a consolidation's summary and the items it covers
  (short-term: the run's TTL);
- ``MEMORY#<subject>`` / ``<finished at>#<run id>``: what a finished run learnt, kept until
  the tenant is erased (its data key shredded) or LONG_TERM_KEPT newer ones push it out of
  retrieval;
- ``CALIBRATION`` / ``<model>``: characters per token, learnt from reported usage.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from agents.dal.runs import RUN_RETENTION_S, run_pk, subject_of
from agents.logic.memory import MemoryItem
from agents.logic.run_state import Run
from agents.logic.tokens import Calibration, calibrated_chars_per_token
from cognitionos.crypto import SubjectErased, SubjectKeyring

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

LONG_TERM_KEPT = 100  # newest facts a run retrieves from; BM25 ranks them
FACT_CHARS = 1_500


class MemoryStore:
    def __init__(self, table: Table, keyring: SubjectKeyring, clock: Callable[[], float]) -> None:
        self._table = table
        self._keyring = keyring
        self._clock = clock
        self._calibrations: dict[str, Calibration] = {}

    def run_memory(self, run: Run, outputs: dict[str, str]) -> list[MemoryItem]:
        """Short-term: the run's task outputs, then its summaries."""
        items = [
            MemoryItem(f"output:{task_id}", text, "short") for task_id, text in outputs.items()
        ]
        response = self._table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :s)",
            ExpressionAttributeValues={":pk": run_pk(run.run_id), ":s": "SUMMARY#"},
            ConsistentRead=True,
        )
        for item in cast(list[dict[str, Any]], response.get("Items", [])):
            key = str(item["sk"]).removeprefix("SUMMARY#")
            text = self._open(run, f"summary:{key}", str(item["text"]))
            if text is not None:
                covers = tuple(str(c) for c in item.get("covers", []))
                items.append(MemoryItem(f"summary:{key}", text, "short", "summary", covers))
        return items

    def tenant_memory(self, run: Run) -> list[MemoryItem]:
        """Long-term: the tenant's newest facts (BM25 ranks them against each prompt)."""
        subject = subject_of(run.tenant_id)
        response = self._table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": f"MEMORY#{subject}"},
            ScanIndexForward=False,
            Limit=LONG_TERM_KEPT,
        )
        items = []
        for item in cast(list[dict[str, Any]], response.get("Items", [])):
            text = self._open(run, "memory", str(item["text"]))
            if text is not None:
                items.append(MemoryItem(f"memory:{item['sk']}", text, "long", "fact"))
        return items

    def add_summary(self, run: Run, key: str, summary: str, covers: tuple[str, ...]) -> None:
        self._table.put_item(
            Item={
                "pk": run_pk(run.run_id),
                "sk": f"SUMMARY#{key}",
                "text": self._seal(run, f"summary:{key}", summary),
                "covers": list(covers),
                "expires_at": int(run.created_at) + RUN_RETENTION_S,
            }
        )

    def remember_run(self, run: Run) -> None:
        """What a finished run learnt, for the tenant's later runs (idempotent per run)."""
        if not run.result:
            return
        fact = f"Goal: {run.goal}\nResult: {run.result[:FACT_CHARS]}"
        self._table.put_item(
            Item={
                "pk": f"MEMORY#{subject_of(run.tenant_id)}",
                "sk": f"{int(run.created_at):011d}#{run.run_id}",
                "text": self._seal(run, "memory", fact),
            }
        )

    def calibration(self, model: str) -> Calibration:
        if model not in self._calibrations:
            item: Any = self._table.get_item(Key={"pk": "CALIBRATION", "sk": model}).get("Item")
            self._calibrations[model] = (
                Calibration(float(item["chars_per_token"]), int(item["samples"]))
                if item
                else Calibration.default()
            )
        return self._calibrations[model]

    def calibrate(self, model: str, prompt_chars: int, input_tokens: int) -> None:
        updated = calibrated_chars_per_token(self.calibration(model), prompt_chars, input_tokens)
        self._calibrations[model] = updated
        self._table.put_item(
            Item={
                "pk": "CALIBRATION",
                "sk": model,
                "chars_per_token": Decimal(str(round(updated.chars_per_token, 4))),
                "samples": updated.samples,
            }
        )

    def _seal(self, run: Run, field: str, text: str) -> str:
        return self._keyring.encrypt(subject_of(run.tenant_id), field, text)

    def _open(self, run: Run, field: str, token: str) -> str | None:
        try:
            return self._keyring.decrypt(subject_of(run.tenant_id), field, token)
        except SubjectErased:
            return None

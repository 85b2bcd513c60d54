"""The agents table: runs, their steps and their task outputs (the only boto3 code of runs).

Items (``pk`` / ``sk``):
- ``RUN#<id>`` / ``RUN``: the run: status, plan, counters. Transitions are guarded by
  ``rev``; usage and the budget's headroom are counters changed with ADD, so a branch's
  reservation never waits for, or clobbers, another branch's transition.
- ``RUN#<id>`` / ``STEP#<key>``: one step's execution record: claimed (with its
  reservation), answered (the model's raw reply, stored before anything depends on it),
  applied (the followups it decided), done (the followups sent).
- ``RUN#<id>`` / ``OUT#<task>``: a task's latest output (short-term memory as well).

A run's start and end are audited (``cognitionos.audit``) in the transaction that makes
them, so only the writer whose transition wins records its entry.

Text people or models wrote (goal, descriptions, outputs, feedback, result, raw replies, code
validation findings) is
sealed with the tenant's data key (``cognitionos.crypto``), so erasing the tenant shreds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from agents.logic import run_audit
from agents.logic.code_blocks import CodeValidation
from agents.logic.plan import Task
from agents.logic.run_state import ACTIVE, Budget, Followup, Run, RunStatus, Usage
from cognitionos.audit.chain import Draft
from cognitionos.audit.store import AuditLog
from cognitionos.crypto import SubjectErased, SubjectKeyring
from cognitionos.dynamodb import is_condition_failure, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

OPERATOR_SUBJECT = "agents-operator"  # the data key of runs started with an operator key
StepStatus = Literal["claimed", "answered", "applied", "done"]


class RunMoved(Exception):
    """The run changed since it was read (another branch's transition): read it again."""


class RunExists(Exception):
    """A new run's id is taken (it cannot be, short of a UUID collision)."""


class StepTaken(Exception):
    """Another delivery holds this step's claim and its lease has not run out."""


@dataclass(frozen=True)
class StepRecord:
    key: str
    status: StepStatus
    lease_until: float = 0.0
    reserved_tokens: int = 0
    reserved_cost: Decimal = Decimal(0)
    raw: str | None = None  # the sealed reply; answer_of opens it
    error: str | None = None
    followups: tuple[Followup, ...] = ()


@dataclass(frozen=True)
class ClaimRefused:
    """Why a model step may not start: the run's state or its budget."""

    reason: Literal["terminal", "budget", "deadline"]


def subject_of(tenant_id: str | None) -> str:
    return tenant_id or OPERATOR_SUBJECT


def run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


MAX_END_ATTEMPTS = 20  # an ending run moved by its own steps is read again and ended


class RunStore:
    def __init__(
        self,
        table: Table,
        keyring: SubjectKeyring,
        clock: Callable[[], float],
        audit: AuditLog | None = None,
    ) -> None:
        self._table = table
        self._client: Any = table.meta.client  # takes Python values, as the resource does
        self._keyring = keyring
        self._clock = clock
        self._audit = audit

    # --- runs ---------------------------------------------------------------------------

    def create(self, run: Run, expires_at: int, *, actor: str) -> None:
        """Store a new run and, in the same transaction, its ``agent.run.started`` entry."""
        item = self._run_item(run)
        item["expires_at"] = expires_at
        budget = run.budget
        if budget.max_tokens is not None:
            item["headroom_tokens"] = budget.max_tokens
        if budget.max_cost_usd is not None:
            item["headroom_cost"] = budget.max_cost_usd
        if budget.max_seconds is not None:
            item["deadline_at"] = Decimal(str(run.created_at + budget.max_seconds))
        put = {
            "TableName": self._table.name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if self._audit is None:
            try:
                self._client.put_item(**put)
            except ClientError as exc:
                if is_condition_failure(exc):
                    raise RunExists(run.run_id) from None
                raise
            return
        draft = self._draft(run_audit.STARTED, run, actor, run_audit.started_details(run))
        if self._audit.commit_with([{"Put": put}], [draft]) is not None:
            raise RunExists(run.run_id)

    def get(self, run_id: str) -> Run | None:
        item = self._table.get_item(
            Key={"pk": run_pk(run_id), "sk": "RUN"}, ConsistentRead=True
        ).get("Item")
        return self._run_of(plain(item)) if item else None

    def end(self, run: Run, status: RunStatus, error: str | None = None, *, actor: str) -> bool:
        """Move an active run to ``status`` (cancel, budget, failure to queue) with its audit
        entry (``agent.run.cancelled`` or ``.finished``); False if it had already ended.

        Guarded by the run's revision as well, so the entry's usage is the run's at the
        moment it ended; a run its steps moved meanwhile is read again.
        """
        for _ in range(MAX_END_ATTEMPTS):
            ended = replace(run, status=status, error=error or run.error, rev=run.rev + 1)
            update = self._end_update(run, status, error)
            if self._ended(update, ended, actor):
                return True
            fresh = self.get(run.run_id)
            if fresh is None or fresh.terminal:
                return False
            run = fresh
        raise RunMoved(run.run_id)

    def _end_update(self, run: Run, status: RunStatus, error: str | None) -> dict[str, Any]:
        names = {"#status": "status", "#rev": "rev"}
        values: dict[str, Any] = {":status": status, ":now": self._now(), ":rev": run.rev}
        values.update({f":a{i}": s for i, s in enumerate(ACTIVE)})
        active = ", ".join(f":a{i}" for i in range(len(ACTIVE)))
        sets = "SET #status = :status, updated_at = :now"
        values[":one"] = 1
        if error:
            sets += ", #error = :e"
            names["#error"] = "error"
            values[":e"] = error
        return {
            "TableName": self._table.name,
            "Key": {"pk": run_pk(run.run_id), "sk": "RUN"},
            "UpdateExpression": f"{sets} ADD #rev :one",
            "ConditionExpression": f"#status IN ({active}) AND #rev = :rev",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _ended(self, update: dict[str, Any], ended: Run, actor: str) -> bool:
        if self._audit is None:
            try:
                self._client.update_item(**update)
            except ClientError as exc:
                if is_condition_failure(exc):
                    return False
                raise
            return True
        action = run_audit.ended_action(ended.status)
        draft = self._draft(action, ended, actor, run_audit.ended_details(ended))
        return self._audit.commit_with([{"Update": update}], [draft]) is None

    def _draft(self, action: str, run: Run, actor: str, details: dict[str, Any]) -> Draft:
        if self._audit is None:
            raise RuntimeError("this run store records no audit entries")
        return self._audit.draft(
            action,
            actor=actor,
            resource=run_audit.resource_of(run),
            tenant_id=run.tenant_id,
            details=details,
        )

    # --- steps --------------------------------------------------------------------------

    def step(self, run_id: str, key: str) -> StepRecord | None:
        item = self._table.get_item(
            Key={"pk": run_pk(run_id), "sk": f"STEP#{key}"}, ConsistentRead=True
        ).get("Item")
        return self._step_of(run_id, plain(item)) if item else None

    def claim(
        self,
        run: Run,
        key: str,
        *,
        tokens: int,
        cost: Decimal,
        lease_s: float,
        status_on_claim: RunStatus | None = None,
    ) -> ClaimRefused | None:
        """Claim a model step and reserve its worst case from the budget, atomically.

        None: claimed. A refusal: nothing was written. Raises StepTaken if another delivery
        claimed the step first.
        """
        now = self._now()
        names = {"#status": "status"}
        values: dict[str, Any] = {":now": now}
        values.update({f":a{i}": s for i, s in enumerate(ACTIVE)})
        conditions = [f"#status IN ({', '.join(f':a{i}' for i in range(len(ACTIVE)))})"]
        sets = ["updated_at = :now"]
        adds = []
        if status_on_claim:
            sets.append("#status = :claimed_status")
            values[":claimed_status"] = status_on_claim
        if run.budget.max_seconds is not None:
            conditions.append("deadline_at > :now")
        if run.budget.max_tokens is not None:
            conditions.append("headroom_tokens >= :tokens")
            adds.append("headroom_tokens :minus_tokens")
            values[":tokens"], values[":minus_tokens"] = tokens, -tokens
        if run.budget.max_cost_usd is not None:
            conditions.append("headroom_cost >= :cost")
            adds.append("headroom_cost :minus_cost")
            values[":cost"], values[":minus_cost"] = cost, -cost
        expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
        step_item = {
            "pk": run_pk(run.run_id),
            "sk": f"STEP#{key}",
            "status": "claimed",
            "lease_until": now + Decimal(str(lease_s)),
            "reserved_tokens": tokens,
            "reserved_cost": cost,
            "expires_at": self._expiry_of(run),
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": step_item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"pk": run_pk(run.run_id), "sk": "RUN"},
                            "UpdateExpression": expression,
                            "ConditionExpression": " AND ".join(conditions),
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": values,
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                ]
            )
        except ClientError as exc:
            reasons = _cancellation_reasons(exc)
            if not reasons:
                raise
            if reasons[0].get("Code") == "ConditionalCheckFailed":
                raise StepTaken(key) from None
            if reasons[1].get("Code") == "ConditionalCheckFailed":
                return _refusal(plain_item(reasons[1].get("Item", {})), self._clock())
            raise
        return None

    def reclaim(self, run_id: str, key: str, lease_s: float) -> None:
        """Take over a claimed step whose lease ran out (its Lambda died mid-call)."""
        now = self._now()
        try:
            self._table.update_item(
                Key={"pk": run_pk(run_id), "sk": f"STEP#{key}"},
                UpdateExpression="SET lease_until = :until",
                ConditionExpression="#s = :claimed AND lease_until < :now",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":until": now + Decimal(str(lease_s)),
                    ":claimed": "claimed",
                    ":now": now,
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise StepTaken(key) from None
            raise

    def store_answer(
        self, run: Run, key: str, raw: Mapping[str, Any], error: str | None = None
    ) -> None:
        """The model's raw reply, sealed, before anything acts on it."""
        sealed = self._seal(run, f"step:{key}", json.dumps(raw, separators=(",", ":")))
        values: dict[str, Any] = {":answered": "answered", ":claimed": "claimed", ":raw": sealed}
        expression = "SET #s = :answered, sealed_reply = :raw"
        if error:
            expression += ", step_error = :e"
            values[":e"] = error[:1000]
        self._table.update_item(
            Key={"pk": run_pk(run.run_id), "sk": f"STEP#{key}"},
            UpdateExpression=expression,
            ConditionExpression="#s = :claimed",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        )

    def apply(
        self,
        before: Run,
        after: Run,
        key: str,
        followups: list[Followup],
        *,
        settle: tuple[int, Decimal] | None = None,
        spent: Usage | None = None,
        outputs: Mapping[str, str] | None = None,
        model_step: bool,
    ) -> None:
        """Store the run's transition and the step's followups in one transaction.

        ``settle``: the reservation to give back (tokens, cost) less ``spent``. Raises
        RunMoved if the run changed since ``before`` was read, StepTaken if this step was
        applied already (a duplicate delivery got there first).
        """
        item = self._run_item(after)
        transition_fields = {
            k: v for k, v in item.items() if k not in {"pk", "sk", *_COUNTERS, "created_at"}
        }
        names = {f"#f{i}": name for i, name in enumerate(transition_fields)}
        values: dict[str, Any] = {f":f{i}": v for i, v in enumerate(transition_fields.values())}
        sets = [f"#f{i} = :f{i}" for i in range(len(transition_fields))]
        names["#rev"] = "rev"
        values[":rev"], values[":one"] = before.rev, 1
        adds = ["#rev :one", "steps :one"]
        if spent is not None:
            adds += ["input_tokens :in", "output_tokens :out", "cost_usd :cost"]
            values[":in"], values[":out"] = spent.input_tokens, spent.output_tokens
            values[":cost"] = spent.cost_usd
        if settle is not None and spent is not None:
            reserved_tokens, reserved_cost = settle
            if before.budget.max_tokens is not None:
                adds.append("headroom_tokens :give_tokens")
                values[":give_tokens"] = reserved_tokens - spent.total_tokens
            if before.budget.max_cost_usd is not None:
                adds.append("headroom_cost :give_cost")
                values[":give_cost"] = reserved_cost - spent.cost_usd
        step_update: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"pk": run_pk(before.run_id), "sk": f"STEP#{key}"},
            "UpdateExpression": "SET #s = :applied, followups = :followups, expires_at = :exp",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":applied": "applied",
                ":followups": [_followup_item(f) for f in followups],
                ":exp": self._expiry_of(before),
            },
        }
        if model_step:
            step_update["ConditionExpression"] = "#s = :answered"
            step_update["ExpressionAttributeValues"][":answered"] = "answered"
        else:
            step_update["ConditionExpression"] = "attribute_not_exists(#s)"
        transaction: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": run_pk(before.run_id), "sk": "RUN"},
                    "UpdateExpression": "SET " + ", ".join(sets) + " ADD " + ", ".join(adds),
                    "ConditionExpression": "#rev = :rev",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            },
            {"Update": step_update},
        ]
        for task_id, output in (outputs or {}).items():
            transaction.append(
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": {
                            "pk": run_pk(before.run_id),
                            "sk": f"OUT#{task_id}",
                            "output": self._seal(before, f"output:{task_id}", output),
                            "iteration": after.iteration,
                            "expires_at": self._expiry_of(before),
                        },
                    }
                }
            )
        drafts = self._finished_drafts(before, after, spent)
        if drafts and self._audit is not None:
            # The step that ends the run records agent.run.finished in its own transaction.
            refused = self._audit.commit_with(transaction, drafts)
            if refused is not None:
                _raise_for(refused, before.run_id, key)
                raise RuntimeError(f"run {before.run_id}'s apply was refused: {refused}")
            return
        try:
            self._client.transact_write_items(TransactItems=transaction)
        except ClientError as exc:
            reasons = _cancellation_reasons(exc)
            if not reasons:
                raise
            _raise_for(reasons, before.run_id, key)
            raise

    def _finished_drafts(self, before: Run, after: Run, spent: Usage | None) -> list[Draft]:
        if self._audit is None or before.terminal or not after.terminal:
            return []
        spent = spent or Usage()
        ended = replace(
            after,
            steps=before.steps + 1,
            usage=Usage(
                before.usage.input_tokens + spent.input_tokens,
                before.usage.output_tokens + spent.output_tokens,
                before.usage.cost_usd + spent.cost_usd,
            ),
        )
        action = run_audit.ended_action(ended.status)
        return [self._draft(action, ended, run_audit.STEP_ACTOR, run_audit.ended_details(ended))]

    def mark_done(self, run_id: str, key: str) -> None:
        self._table.update_item(
            Key={"pk": run_pk(run_id), "sk": f"STEP#{key}"},
            UpdateExpression="SET #s = :done",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":done": "done"},
        )

    def outputs(self, run: Run) -> dict[str, str]:
        """Every task's latest output, opened."""
        response = self._table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :out)",
            ExpressionAttributeValues={":pk": run_pk(run.run_id), ":out": "OUT#"},
            ConsistentRead=True,
        )
        found: dict[str, str] = {}
        for item in response.get("Items", []):
            task_id = str(item["sk"]).removeprefix("OUT#")
            opened = self._open(run, f"output:{task_id}", str(item["output"]))
            if opened is not None:
                found[task_id] = opened
        return found

    def answer_of(self, run: Run, step: StepRecord) -> dict[str, Any] | None:
        if step.raw is None:
            return None
        opened = self._open(run, f"step:{step.key}", step.raw)
        return json.loads(opened) if opened is not None else None

    # --- items ----------------------------------------------------------------------------

    def _run_item(self, run: Run) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": run_pk(run.run_id),
            "sk": "RUN",
            "run_id": run.run_id,
            "tenant_id": run.tenant_id or "",
            "status": run.status,
            "goal": self._seal(run, "goal", run.goal),
            "strategy": run.strategy,
            "max_iterations": run.max_iterations,
            "confidence_threshold": _stored(run.confidence_threshold),
            "created_at": Decimal(str(run.created_at)),
            "updated_at": self._now(),
            "iteration": run.iteration,
            "iterations": run.iterations,
            "pending": run.pending,
            "concerned": list(run.concerned),
            "validate_code": run.validate_code,
            "tasks": [
                {
                    "task_id": task.task_id,
                    "description": self._seal(run, f"task:{task.task_id}", task.description),
                    "depends_on": list(task.depends_on),
                    "parent": task.parent or "",
                    "status": task.status,
                    "rounds": task.rounds,
                    **self._validation_item(run, task),
                }
                for task in run.tasks
            ],
            "budget": {
                k: v
                for k, v in {
                    "max_tokens": run.budget.max_tokens,
                    "max_cost_usd": run.budget.max_cost_usd,
                    "max_seconds": run.budget.max_seconds,
                }.items()
                if v is not None
            },
            "input_tokens": run.usage.input_tokens,
            "output_tokens": run.usage.output_tokens,
            "cost_usd": run.usage.cost_usd,
            "rev": run.rev,
            "steps": run.steps,
        }
        if run.confidence is not None:
            item["confidence"] = _stored(run.confidence)
        if run.feedback is not None:
            item["feedback"] = self._seal(run, "feedback", run.feedback)
        if run.result is not None:
            item["result"] = self._seal(run, "result", run.result)
        if run.error is not None:
            item["error"] = run.error
        return item

    def _run_of(self, item: dict[str, Any]) -> Run:
        budget = item.get("budget", {})
        run = Run(
            run_id=item["run_id"],
            tenant_id=item.get("tenant_id") or None,
            goal="",
            strategy=item["strategy"],
            max_iterations=int(item["max_iterations"]),
            confidence_threshold=float(item["confidence_threshold"]),
            budget=Budget(
                max_tokens=_int_or_none(budget.get("max_tokens")),
                max_cost_usd=Decimal(str(budget["max_cost_usd"]))
                if budget.get("max_cost_usd") is not None
                else None,
                max_seconds=_int_or_none(budget.get("max_seconds")),
            ),
            created_at=float(item["created_at"]),
            status=item["status"],
            iteration=int(item.get("iteration", 0)),
            iterations=int(item.get("iterations", 0)),
            pending=int(item.get("pending", 0)),
            concerned=tuple(item.get("concerned", [])),
            confidence=float(item["confidence"]) if item.get("confidence") is not None else None,
            error=item.get("error"),
            usage=Usage(
                int(item.get("input_tokens", 0)),
                int(item.get("output_tokens", 0)),
                Decimal(str(item.get("cost_usd", 0))),
            ),
            rev=int(item.get("rev", 0)),
            steps=int(item.get("steps", 0)),
            updated_at=float(item.get("updated_at", item["created_at"])),
            validate_code=bool(item.get("validate_code", False)),
        )
        tasks = tuple(
            Task(
                task_id=t["task_id"],
                description=self._open(run, f"task:{t['task_id']}", t["description"]) or "",
                depends_on=tuple(t.get("depends_on", [])),
                parent=t.get("parent") or None,
                status=t["status"],
                rounds=int(t.get("rounds", 0)),
                validation=self._validation_of(run, t),
            )
            for t in item.get("tasks", [])
        )
        return replace(
            run,
            goal=self._open(run, "goal", item["goal"]) or "",
            tasks=tasks,
            feedback=self._open(run, "feedback", item["feedback"]) if "feedback" in item else None,
            result=self._open(run, "result", item["result"]) if "result" in item else None,
        )

    def _step_of(self, run_id: str, item: dict[str, Any]) -> StepRecord:
        return StepRecord(
            key=str(item["sk"]).removeprefix("STEP#"),
            status=item["status"],
            lease_until=float(item.get("lease_until", 0)),
            reserved_tokens=int(item.get("reserved_tokens", 0)),
            reserved_cost=Decimal(str(item.get("reserved_cost", 0))),
            raw=item.get("sealed_reply"),
            error=item.get("step_error"),
            followups=tuple(_followup_of(f) for f in item.get("followups", [])),
        )

    def _seal(self, run: Run, field: str, text: str) -> str:
        return self._keyring.encrypt(subject_of(run.tenant_id), field, text)

    def _open(self, run: Run, field: str, token: str) -> str | None:
        try:
            return self._keyring.decrypt(subject_of(run.tenant_id), field, token)
        except SubjectErased:
            return None  # the tenant was erased: the text is gone for good

    def _validation_item(self, run: Run, task: Task) -> dict[str, str]:
        """A task's code validation, sealed: findings quote the code the model wrote."""
        if task.validation is None:
            return {}
        text = json.dumps(asdict(task.validation), separators=(",", ":"))
        return {"validation": self._seal(run, f"validation:{task.task_id}", text)}

    def _validation_of(self, run: Run, item: Mapping[str, Any]) -> CodeValidation | None:
        sealed = item.get("validation")
        text = self._open(run, f"validation:{item['task_id']}", sealed) if sealed else None
        if text is None:
            return None
        fields = json.loads(text)
        return CodeValidation(**{**fields, "findings": tuple(fields["findings"])})

    def _now(self) -> Decimal:
        return Decimal(str(round(self._clock(), 3)))

    def _expiry_of(self, run: Run) -> int:
        return int(run.created_at) + RUN_RETENTION_S


RUN_RETENTION_S = 30 * 86_400  # runs, steps and outputs: kept 30 days, then TTL
_COUNTERS = {"input_tokens", "output_tokens", "cost_usd", "rev", "steps"}


def _stored(fraction: float) -> Decimal:
    """A 0..1 fraction as DynamoDB can hold it (no 1e-300): six decimals are plenty."""
    return Decimal(str(round(fraction, 6)))


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def _followup_item(followup: Followup) -> dict[str, Any]:
    item: dict[str, Any] = {"step": followup.step, "iteration": followup.iteration}
    if followup.task_id is not None:
        item["task_id"] = followup.task_id
    if followup.outcome is not None:
        item["outcome"] = followup.outcome
    return item


def _followup_of(item: Mapping[str, Any]) -> Followup:
    return Followup(
        step=item["step"],
        iteration=int(item.get("iteration", 0)),
        task_id=item.get("task_id"),
        outcome=item.get("outcome"),
    )


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return list(error.response.get("CancellationReasons", []))  # type: ignore[arg-type]


def _raise_for(reasons: list[dict[str, Any]], run_id: str, key: str) -> None:
    """An apply's refusal: the step was applied already, or the run moved under it."""
    if reasons[1].get("Code") == "ConditionalCheckFailed":
        raise StepTaken(key)
    if reasons[0].get("Code") == "ConditionalCheckFailed":
        raise RunMoved(run_id)


def plain_item(wire: Mapping[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {k: plain(deserializer.deserialize(v)) for k, v in wire.items()}


def _refusal(run_item: Mapping[str, Any], now: float) -> ClaimRefused:
    if run_item.get("status") not in ACTIVE:
        return ClaimRefused("terminal")
    deadline = run_item.get("deadline_at")
    if deadline is not None and float(deadline) <= now:
        return ClaimRefused("deadline")
    return ClaimRefused("budget")

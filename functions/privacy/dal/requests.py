"""Export and erasure requests in the privacy table: ``REQUEST#<id>`` / ``REQUEST``.

An item holds the kind, the status (``pending`` → ``completed`` | ``failed``) with the phase
that says why it is still pending, the subject as given (a customer id, or an email's blind
index: never the email), the tenant of the key that asked (empty for an operator key), the
resolved customer, and the result. Every change of status is conditional on the status read,
so a redelivered message never ends a request twice. An ended request expires a year later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cognitionos.audit.chain import Draft
from cognitionos.audit.store import AuditLog
from cognitionos.dynamodb import is_condition_failure, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

END_STATUSES = frozenset({"completed", "failed"})


def request_key(request_id: str) -> dict[str, str]:
    return {"pk": f"REQUEST#{request_id}", "sk": "REQUEST"}


class PrivacyRequests:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, request_id: str, item: dict[str, Any], audit: AuditLog, draft: Draft) -> None:
        """The new request and its ``privacy.<kind>.requested`` entry, in one transaction."""
        put = {
            "TableName": self._table.name,
            "Item": {**request_key(request_id), "request_id": request_id, **item},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        refused = audit.commit_with([{"Put": put}], [draft])
        if refused is not None:
            raise RuntimeError(f"request {request_id} exists already")  # a random id: never

    def get(self, request_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=request_key(request_id), ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def update(self, request_id: str, fields: dict[str, Any], *, unless_ended: bool = True) -> bool:
        """Set ``fields``; False (nothing written) if the request had ended already."""
        names = {f"#f{n}": name for n, name in enumerate(fields)}
        values = {f":v{n}": value for n, value in enumerate(fields.values())}
        expression = "SET " + ", ".join(f"#f{n} = :v{n}" for n in range(len(fields)))
        kwargs: dict[str, Any] = {
            "Key": request_key(request_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConditionExpression": "attribute_exists(pk)",
        }
        if unless_ended:
            kwargs["ConditionExpression"] += " AND NOT (#st IN (:done, :failed))"
            kwargs["ExpressionAttributeNames"]["#st"] = "status"
            kwargs["ExpressionAttributeValues"] |= {":done": "completed", ":failed": "failed"}
        try:
            self._table.update_item(**kwargs)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def consents_of(self, customer_id: str) -> list[dict[str, Any]]:
        """The consent helper's records of the customer (``CONSENT#<customer>``), oldest first."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": f"CONSENT#{customer_id}"},
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**kwargs)
            items += [plain(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

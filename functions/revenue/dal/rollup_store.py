"""The revenue table: the rollup's state, each customer's live change records, and the
monthly totals, twelve months to an item.

Items: ``ROLLUP / STATE`` (cursor, horizon, rates fingerprint, generation, lease);
``CUSTOMER#<id> / RECORDS`` (``records``: record key -> MRR, ``generation``);
``MONTHS / <yyyy>`` (``months``: ``YYYY-MM`` -> totals, ``revision``). A customer item of
another generation than the state's is left over from before a full recompute and counts
as absent. Year items are written with a revision check, so two writers cannot interleave.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from cognitionos.dynamodb import all_items, is_condition_failure, plain
from revenue.logic.months import Month, month_text, parse_month, year_of
from revenue.logic.rollup import CustomerRecords, RollupState
from revenue.logic.timeline import RecordValue
from revenue.logic.totals import MonthTotals

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

STATE_KEY = {"pk": "ROLLUP", "sk": "STATE"}
MONTHS_PK = "MONTHS"
BATCH_GET_MAX = 100
TRANSACTION_MAX = 100


class RollupBusy(RuntimeError):
    """Another rollup run holds the lease."""


def customer_key(customer_id: str) -> dict[str, str]:
    return {"pk": f"CUSTOMER#{customer_id}", "sk": "RECORDS"}


def year_key(year: int) -> dict[str, str]:
    return {"pk": MONTHS_PK, "sk": f"{year:04d}"}


def record_value(key: str, mrr: int) -> RecordValue:
    currency, effective = key.split("#", 1)
    return RecordValue(currency, int(effective), int(mrr))


class RevenueStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._client = table.meta.client
        self._years: dict[int, tuple[dict[str, Any], int]] = {}  # year -> (months, revision)

    # --- state and lease ---------------------------------------------------------------

    def state(self) -> RollupState:
        item = self._table.get_item(Key=STATE_KEY, ConsistentRead=True).get("Item")
        if not item:
            return RollupState()
        item = plain(item)
        return RollupState(
            cursor_ms=item.get("cursor_ms"),
            fingerprint=item.get("fingerprint"),
            currency=item.get("currency"),
            horizon=parse_month(item["horizon"]) if item.get("horizon") else None,
            generation=int(item.get("generation", 0)),
            full_pending=bool(item.get("full_pending")),
        )

    def acquire_lease(self, owner: str, seconds: int) -> None:
        now = int(time.time())
        try:
            self._table.update_item(
                Key=STATE_KEY,
                UpdateExpression="SET lease_owner = :o, lease_until = :u",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={":o": owner, ":u": now + seconds, ":now": now},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            raise RollupBusy(
                "another revenue-rollup run is in progress; try again when it has finished"
            ) from None

    def release_lease(self, owner: str) -> None:
        try:
            self._table.update_item(
                Key=STATE_KEY,
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :o",
                ExpressionAttributeValues={":o": owner},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise  # a lease already taken over after it expired is the new owner's

    def finish(self, state: RollupState, last_run_at: int) -> None:
        if state.horizon is None:
            raise ValueError("a finished run has a horizon")
        self._table.update_item(
            Key=STATE_KEY,
            UpdateExpression=(
                "SET cursor_ms = :c, fingerprint = :f, currency = :cur, horizon = :h, "
                "generation = :g, full_pending = :p, last_run_at = :t"
            ),
            ExpressionAttributeValues={
                ":c": state.cursor_ms,
                ":f": state.fingerprint,
                ":cur": state.currency,
                ":h": month_text(state.horizon),
                ":g": state.generation,
                ":p": False,
                ":t": last_run_at,
            },
        )

    # --- customers ---------------------------------------------------------------------

    def customers(self, ids: Iterable[str], generation: int) -> dict[str, CustomerRecords]:
        found: dict[str, CustomerRecords] = {}
        for item in self._batch_get([customer_key(i) for i in ids]):
            if int(item.get("generation", -1)) != generation:
                continue
            customer_id = str(item["pk"]).removeprefix("CUSTOMER#")
            records = item.get("records") or {}
            found[customer_id] = {k: record_value(k, v) for k, v in records.items()}
        return found

    def put_customers(self, customers: dict[str, CustomerRecords], generation: int) -> None:
        with self._table.batch_writer() as batch:
            for customer_id, records in customers.items():
                batch.put_item(Item=self._customer_item(customer_id, records, generation))

    def _customer_item(
        self, customer_id: str, records: CustomerRecords, generation: int
    ) -> dict[str, Any]:
        return {
            **customer_key(customer_id),
            "generation": generation,
            "records": {key: value.mrr for key, value in records.items()},
        }

    # --- months ------------------------------------------------------------------------

    def months(self, first: Month, last: Month) -> dict[Month, MonthTotals]:
        """Stored totals of the months ``first..last`` (their whole years are read and kept
        for the writes that follow)."""
        years = range(year_of(first), year_of(last) + 1)
        self._load_years(years)
        found: dict[Month, MonthTotals] = {}
        for year in years:
            months, _ = self._years.get(year, ({}, 0))
            for text, totals in months.items():
                month = parse_month(text)
                if first <= month <= last:
                    found[month] = MonthTotals.from_item(totals)
        return found

    def commit(
        self,
        customers: dict[str, CustomerRecords],
        months: dict[Month, MonthTotals],
        *,
        generation: int,
    ) -> None:
        items: list[Any] = [
            {"Put": {"TableName": self._table.name, "Item": self._customer_item(c, r, generation)}}
            for c, r in customers.items()
        ]
        years = self._merged_years(months)
        items += [self._year_put(*year) for year in years]
        if len(items) > TRANSACTION_MAX:
            raise ValueError(f"a rollup commit of {len(items)} items exceeds one transaction")
        self._client.transact_write_items(TransactItems=items)
        for year, merged, revision in years:
            self._years[year] = (merged, revision + 1)

    def begin_full(self, generation: int) -> None:
        self._table.update_item(
            Key=STATE_KEY,
            UpdateExpression="SET full_pending = :t, generation = :g",
            ExpressionAttributeValues={":t": True, ":g": generation},
        )

    def replace_months(self, months: dict[Month, MonthTotals]) -> None:
        """Every year item rewritten from ``months``; years that no longer have any go."""
        by_year: dict[int, dict[str, Any]] = {}
        for month, totals in months.items():
            by_year.setdefault(year_of(month), {})[month_text(month)] = totals.to_item()
        stored = {int(item["sk"]) for item in self._stored_years()}
        self._load_years(stored | set(by_year))
        for year, content in sorted(by_year.items()):
            revision = self._years.get(year, ({}, 0))[1] + 1
            self._table.put_item(Item=self._year_item(year, content, revision))
            self._years[year] = (content, revision)
        for year in sorted(stored - set(by_year)):
            self._table.delete_item(Key=year_key(year))
            self._years.pop(year, None)

    # --- internals ---------------------------------------------------------------------

    def _stored_years(self) -> Iterator[dict[str, Any]]:
        yield from all_items(
            self._table.query,
            KeyConditionExpression=Key("pk").eq(MONTHS_PK),
            ProjectionExpression="sk",
        )

    def _load_years(self, years: Iterable[int]) -> None:
        missing = [year_key(y) for y in years if y not in self._years]
        for item in self._batch_get(missing):
            self._years[int(item["sk"])] = (item.get("months") or {}, int(item["revision"]))

    def _merged_years(
        self, months: dict[Month, MonthTotals]
    ) -> list[tuple[int, dict[str, Any], int]]:
        """Each year ``months`` touch: its stored months with those put over them, and the
        revision it was read at (0: not stored yet)."""
        found = []
        for year in sorted({year_of(m) for m in months}):
            stored, revision = self._years.get(year, ({}, 0))
            merged = dict(stored)
            merged.update(
                {month_text(m): t.to_item() for m, t in months.items() if year_of(m) == year}
            )
            found.append((year, merged, revision))
        return found

    def _year_put(self, year: int, months: dict[str, Any], revision: int) -> dict[str, Any]:
        """The year's next revision, on condition that it is still at ``revision``."""
        condition = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if revision == 0
            else {
                "ConditionExpression": "revision = :r",
                "ExpressionAttributeValues": {":r": revision},
            }
        )
        item = self._year_item(year, months, revision + 1)
        return {"Put": {"TableName": self._table.name, "Item": item, **condition}}

    def _year_item(self, year: int, months: dict[str, Any], revision: int) -> dict[str, Any]:
        return {**year_key(year), "months": months, "revision": revision}

    def _batch_get(self, keys: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
        for start in range(0, len(keys), BATCH_GET_MAX):
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": keys[start : start + BATCH_GET_MAX],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                yield from (plain(i) for i in response["Responses"].get(self._table.name, []))
                request = response.get("UnprocessedKeys") or {}
                if request:
                    time.sleep(0.05)  # throttled: DynamoDB returns what it could not read

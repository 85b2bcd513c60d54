"""8 concurrent writers appending 1,000 entries to one audit chain: one chain, no fork, no gap.

The writers are threads, each with its own boto3 session and ``AuditLog`` (as 8 Lambda
environments would be), against the local runner's moto server, which serves one request
at a time as DynamoDB serialises transactions: the race is between the writers' requests,
exactly where it is in AWS.

A writer that loses the race ``MAX_APPEND_ATTEMPTS`` times in a row gets ``ChainContended``
and has written nothing; in Lambda its trigger retries the event, so here the writer appends
the same entry again. On a loaded machine a writer that pauses (full jitter) while the others
write back to back can lose that often; what must never happen is a fork, a gap or a double.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from cognitionos.audit.chain import chain_of, verify
from cognitionos.audit.store import AuditLog, AuditReader, ChainContended
from infra.local.moto_server import MotoServer

WRITERS = 8
ENTRIES = 1000
REGION = "us-east-1"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    server = MotoServer()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def tables(url: str) -> tuple[Any, Any]:
    dynamodb = boto3.session.Session().resource("dynamodb", endpoint_url=url, region_name=REGION)
    return dynamodb.Table("audit"), dynamodb.Table("audit-heads")


def test_eight_writers_extend_one_chain_without_fork_or_gap(endpoint: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    for name, keys in (("audit", ("pk", "sk")), ("audit-heads", ("chain",))):
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": k, "KeyType": t}
                for k, t in zip(keys, ("HASH", "RANGE"), strict=False)
            ],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        )
    failures: list[BaseException] = []
    written: list[str] = []

    def write(writer: int) -> None:
        log = AuditLog(*tables(endpoint))
        try:
            for n in range(ENTRIES // WRITERS):
                while True:
                    try:
                        entry = log.record(
                            "admin.job.run",
                            actor=f"writer-{writer}",
                            resource=f"job:{n}",
                            tenant_id="cus_race",
                        )
                    except ChainContended:
                        continue  # nothing written: the trigger's retry
                    break
                written.append(entry["event_id"])
        except BaseException as error:  # reported below, with the test's own assertion
            failures.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [repr(f) for f in failures] == []
    reader = AuditReader(*tables(endpoint))
    chain = chain_of("cus_race")
    entries = list(reader.entries(chain))
    assert [e["seq"] for e in entries] == list(range(1, ENTRIES + 1))  # no gap, no fork
    assert Counter(e["event_id"] for e in entries) == Counter(written)  # each once
    assert Counter(e["actor"] for e in entries) == {
        f"writer-{w}": ENTRIES // WRITERS for w in range(WRITERS)
    }
    result = verify(entries, chain, head=reader.head(chain))
    assert result.as_dict() == {"valid": True, "checked": ENTRIES, "first_invalid_seq": None}

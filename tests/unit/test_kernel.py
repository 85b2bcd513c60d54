"""Kernel: API-key parsing and grants, page tokens, settings errors, schedule events."""

from __future__ import annotations

import base64
import json

import pytest

from cognitionos.auth import Principal, bearer_token, hash_secret, parse_api_key, validate_grant
from cognitionos.dynamodb import decode_page_token, encode_page_token, plain
from cognitionos.errors import BadRequest, Forbidden, Unauthorized, Unprocessable
from cognitionos.jobs import is_on_demand, job_name, schedule_event
from cognitionos.settings import FunctionSettings, SettingsError, load_settings


def test_a_key_splits_into_id_and_secret_and_the_secret_may_hold_underscores() -> None:
    assert parse_api_key("cos_0123456789abcdef_" + "a_b-" * 10) == ("0123456789abcdef", "a_b-" * 10)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "cos_",
        "key_0123456789abcdef_" + "a" * 40,
        "cos_short_" + "a" * 40,
        "cos_0123456789abcdef_short",
    ],
)
def test_malformed_keys_are_unauthorized(raw: str) -> None:
    with pytest.raises(Unauthorized):
        parse_api_key(raw)


def test_the_hash_depends_on_the_pepper() -> None:
    assert hash_secret("p1", "s") != hash_secret("p2", "s")
    assert len(hash_secret("p1", "s")) == 64


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer "])
def test_a_missing_or_non_bearer_authorization_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        bearer_token(header)


def test_admin_implies_every_scope_and_tenants_are_isolated() -> None:
    admin = Principal("k", frozenset({"admin"}))
    reader = Principal("k", frozenset({"billing:read"}), tenant_id="cus_1")
    assert admin.has_scope("audit:read") and admin.can_see_tenant("cus_2")
    assert reader.can_see_tenant("cus_1") and not reader.can_see_tenant("cus_2")
    with pytest.raises(Forbidden, match="revenue:read"):
        reader.require_scope("revenue:read")


@pytest.mark.parametrize(
    ("scopes", "tenant"),
    [([], None), (["billing:write"], None), (["admin"], "cus_1"), (["billing:read"], "acme")],
)
def test_bad_grants_are_refused(scopes: list[str], tenant: str | None) -> None:
    with pytest.raises(Unprocessable):
        validate_grant(scopes, tenant)


def test_page_tokens_round_trip_and_refuse_other_listings() -> None:
    key = {"pk": "EVENT#evt_1", "sk": "EVENT", "gsi2pk": "EVENTS", "gsi2sk": "00000000100#evt_1"}
    attributes = frozenset(key)
    token = encode_page_token(key)
    assert decode_page_token(token, {"gsi2pk": "EVENTS"}, attributes) == key
    with pytest.raises(BadRequest, match="different listing"):
        decode_page_token(token, {"gsi2pk": "EVENTS#queued"}, attributes)
    with pytest.raises(BadRequest):
        decode_page_token("%%%", {}, attributes)
    assert encode_page_token(None) is None
    assert decode_page_token(None, {}, attributes) is None


@pytest.mark.parametrize(
    "key",
    [
        {"pk": "EVENT#evt_1", "sk": "EVENT", "gsi2pk": "EVENTS"},  # a key attribute missing
        {"pk": "EVENT#evt_1", "sk": "EVENT", "gsi2pk": "EVENTS", "gsi2sk": "1", "x": "y"},
        {"pk": "EVENT#evt_1", "sk": 1, "gsi2pk": "EVENTS", "gsi2sk": "00000000100#evt_1"},
        {"pk": "", "sk": "EVENT", "gsi2pk": "EVENTS", "gsi2sk": "00000000100#evt_1"},
        ["EVENTS"],
    ],
)
def test_a_token_that_is_not_a_key_of_the_listing_is_refused(key: object) -> None:
    """DynamoDB would refuse such an ExclusiveStartKey with a ValidationException (a 500)."""
    attributes = frozenset({"pk", "sk", "gsi2pk", "gsi2sk"})
    raw = json.dumps(key).encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")

    with pytest.raises(BadRequest, match="not a token this API issued"):
        decode_page_token(token, {"gsi2pk": "EVENTS"}, attributes)


@pytest.mark.parametrize("token", ["", "bm90IGpzb24", "_w"])
def test_an_empty_or_undecodable_token_is_refused(token: str) -> None:
    with pytest.raises(BadRequest, match="not a token this API issued"):
        decode_page_token(token, {}, frozenset({"key_id"}))


def test_plain_turns_decimals_into_numbers() -> None:
    from decimal import Decimal

    assert plain({"a": Decimal("2"), "b": [Decimal("1.5")]}) == {"a": 2, "b": [1.5]}


class _Needs(FunctionSettings):
    billing_table: str
    batch_size: int


def test_settings_name_every_missing_or_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_TABLE", raising=False)
    monkeypatch.setenv("BATCH_SIZE", "ten")
    with pytest.raises(SettingsError) as caught:
        load_settings(_Needs)
    assert "BILLING_TABLE: Field required" in str(caught.value)
    assert "BATCH_SIZE" in str(caught.value)


def test_a_schedule_event_names_its_job() -> None:
    event = schedule_event("billing-reconcile")
    assert (event["detail-type"], job_name(event)) == ("Scheduled Event", "billing-reconcile")
    with pytest.raises(ValueError, match=r"detail\.job"):
        job_name({"detail": {}})


def test_only_a_run_asked_for_now_is_on_demand() -> None:
    asked = schedule_event("billing-reconcile", on_demand=True)
    assert job_name(asked) == "billing-reconcile"
    assert is_on_demand(asked)
    assert not is_on_demand(schedule_event("billing-reconcile"))
    assert not is_on_demand({"detail": {"job": "billing-reconcile", "on_demand": "yes"}})


def test_tracing_is_off_unless_asked_and_then_wraps_with_powertools_tracer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from cognitionos.observability import traced

    def handler(event: dict[str, object], context: object) -> str:
        return "done"

    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    assert traced(handler) is handler
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    wrapped = traced(handler)
    assert wrapped is not handler
    assert "aws_xray_sdk" in sys.modules
    assert wrapped({}, None) == "done"


def test_a_body_is_the_bytes_sent_whether_text_or_base64() -> None:
    import base64

    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from cognitionos.http import body_bytes, body_text

    text = APIGatewayProxyEventV2({"body": "café", "isBase64Encoded": False})
    binary = APIGatewayProxyEventV2(
        {"body": base64.b64encode(b"\xff\x00").decode(), "isBase64Encoded": True}
    )
    assert body_bytes(text) == "café".encode() and body_text(text) == "café"
    assert body_bytes(binary) == b"\xff\x00"
    with pytest.raises(BadRequest, match="not UTF-8"):
        body_text(binary)


def test_payload_too_large_is_a_413() -> None:
    from cognitionos.errors import DomainError, PayloadTooLarge

    refused = PayloadTooLarge("at most 4 MiB")
    assert isinstance(refused, DomainError)
    assert (refused.status_code, refused.message) == (413, "at most 4 MiB")

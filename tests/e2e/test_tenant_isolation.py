"""Tenant isolation on every /v1 route, generated from the OpenAPI document.

The operations are read from the committed document (``functions/platform_api/openapi.json``,
which a test keeps equal to what the routes declare), so a route is covered the day it is
added: a path parameter, a tenant-naming query parameter or a request body the test has no
sample for fails here until one is given below (request bodies are built from the examples
the document gives each property).

For each operation, through the local runner, with two tenants (A and B) that both have a
customer, a subscription, a failed invoice, billing events, audit entries and an agent run:

- no key: 401;
- an operator key holding every scope but the operation's: 403;
- tenant B's key, holding every scope a bound key may hold, on a request naming tenant A's
  objects: 403 or 404; on a request naming none, 403 or an answer that mentions none of
  tenant A's ids;
- each list, asked by each tenant's key with no tenant named: 403 (a route spanning every
  tenant), or the tenant's own objects and none of the other's;
- the controls, so a refusal above is about the tenant and nothing else: the operator's admin
  key on the same request is neither 401 nor 403 (a GET naming A's objects is a 2xx), and
  tenant A's own key reads its objects (2xx) unless the route spans every tenant (403).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cognitionos.auth import ADMIN, SCOPES
from infra import topology
from tests.e2e.test_billing_reads import failed_invoice
from tests.e2e.test_billing_webhooks import wait_processed
from tests.factories import customer, stripe_event, subscription

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "functions/platform_api/openapi.json").read_text()
)
SCHEMAS = DOCUMENT["components"]["schemas"]
BOUND_SCOPES = sorted(SCOPES - {ADMIN})  # what a tenant-bound key may hold: all but admin
# Query parameters that name a tenant: filled with tenant A's id.
TENANT_QUERY = ("tenant_id", "customer", "customer_id")
SUFFIX = uuid.uuid4().hex[:8]
ALERT_ID = "alert_" + "0" * 32  # alerts are the operators': no tenant owns one


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    scope: str
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def changes_state(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}


def keyed_operations() -> list[Operation]:
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, spec in item.items():
            security = spec.get("security")
            if not security:
                continue  # Stripe's webhook: its signature is its key (tests/e2e/test_billing_*)
            [scope] = security[0]["apiKey"]
            found.append(Operation(method.upper(), path, scope, spec))
    return found


OPERATIONS = keyed_operations()


@dataclass
class Tenant:
    customer_id: str
    subscription_id: str
    invoice_id: str
    event_ids: list[str]
    key: str = ""
    run_id: str = ""
    export_id: str = ""  # a GDPR export of the tenant, asked by its own key
    erasure_id: str = ""  # an erasure by an email nobody has: fails, erases nothing

    @property
    def markers(self) -> set[str]:
        """Every id of this tenant's that another tenant's answer must never contain."""
        return {
            self.customer_id,
            self.subscription_id,
            self.invoice_id,
            self.run_id,
            self.export_id,
            self.erasure_id,
            *self.event_ids,
        }


@dataclass
class World:
    a: Tenant
    b: Tenant
    key_to_revoke: str
    all_but: dict[str, str]  # scope -> an operator key holding every other non-admin scope


def tenant_with_history(runner: Any, name: str) -> Tenant:
    now = int(time.time())
    cus, sub, inv = f"cus_iso{name}{SUFFIX}", f"sub_iso{name}{SUFFIX}", f"in_iso{name}{SUFFIX}"
    events = [
        stripe_event("customer.created", {**customer(cus), "currency": "usd"}, now - 300),
        stripe_event(
            "customer.subscription.created", subscription(sub_id=sub, customer=cus), now - 200
        ),
        stripe_event("invoice.payment_failed", failed_invoice(inv, cus, sub, now - 100), now - 100),
    ]
    for event in events:
        assert runner.post_stripe(event).status_code == 200
    return Tenant(cus, sub, inv, [e["id"] for e in events])


def new_key(runner: Any, scopes: list[str], tenant_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"isolation {SUFFIX}", "scopes": scopes}
    if tenant_id:
        body["tenant_id"] = tenant_id
    answer = runner.post("/v1/api-keys", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


@pytest.fixture(scope="module")
def world(runner: Any) -> World:
    a, b = tenant_with_history(runner, "A"), tenant_with_history(runner, "B")
    wait_processed(runner, {*a.event_ids, *b.event_ids})
    for tenant in (a, b):
        tenant.key = new_key(runner, BOUND_SCOPES, tenant.customer_id)["key"]
        started = runner.post(
            "/v1/agents/runs", key=tenant.key, json={"goal": f"Plan the launch #{SUFFIX}"}
        )
        assert started.status_code == 202, started.text
        tenant.run_id = started.json()["run_id"]
        exported = runner.post(
            "/v1/privacy/exports",
            key=tenant.key,
            json={"subject": {"customer_id": tenant.customer_id}},
        )
        assert exported.status_code == 202, exported.text
        tenant.export_id = exported.json()["request_id"]
        erasure = runner.post(
            "/v1/privacy/erasures",
            key=tenant.key,
            json={"subject": {"email": f"nobody.{SUFFIX}@example.org"}},
        )
        assert erasure.status_code == 202, erasure.text
        tenant.erasure_id = erasure.json()["request_id"]
    all_but = {
        scope: new_key(runner, [s for s in BOUND_SCOPES if s != scope])["key"]
        for scope in [*BOUND_SCOPES, ADMIN]
    }
    return World(a, b, new_key(runner, ["billing:read"])["key_id"], all_but)


def request_for(
    operation: Operation, world: World, name_tenant: bool = True
) -> tuple[str, dict[str, Any], bool]:
    """(path, request keywords, whether the request names tenant A's objects). Query
    parameters that name a tenant get tenant A's id, or are left out (``name_tenant``)."""
    a = world.a
    samples = {
        "customer_id": a.customer_id,
        "subscription_id": a.subscription_id,
        "event_id": a.event_ids[0],
        "run_id": a.run_id,
        "alert_id": ALERT_ID,
        "key_id": world.key_to_revoke,
        "job": "audit-anchor",
        "request_id": a.export_id if "/exports/" in operation.path else a.erasure_id,
    }
    names_a = {"customer_id", "subscription_id", "event_id", "run_id", "request_id"}
    path, params, naming_a = operation.path, {}, False
    for parameter in operation.spec.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            assert name in samples, (
                f"{operation.name}: no sample for the path parameter {name!r}; add tenant A's "
                "object to request_for() so the route's isolation is tested"
            )
            path = path.replace(f"{{{name}}}", samples[name])
            naming_a = naming_a or name in names_a
        elif where == "query" and name in TENANT_QUERY:
            if name_tenant:
                params[name] = a.customer_id
                naming_a = True
        elif where == "query" and parameter.get("required"):
            params[name] = next(iter(parameter["examples"].values()))["value"]
    kwargs: dict[str, Any] = {"params": params}
    if "requestBody" in operation.spec:
        body = operation.spec["requestBody"]["content"]["application/json"]["schema"]
        kwargs["json"] = example_of(body, operation.name)
    return path, kwargs, naming_a


def example_of(schema: dict[str, Any], where: str) -> Any:
    """A valid value built from the document's own examples: each required property's first."""
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    if "oneOf" in schema:
        return example_of(schema["oneOf"][0], where)
    if "examples" in schema:
        return schema["examples"][0]
    if "properties" in schema:
        return {
            name: example_of(schema["properties"][name], f"{where}.{name}")
            for name in schema.get("required", [])
        }
    if "enum" in schema:
        return schema["enum"][0]
    raise AssertionError(f"{where}: the document gives no example to build a request from")


def leaked(answer: Any, tenant: Tenant) -> set[str]:
    return {marker for marker in tenant.markers if marker in answer.text}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_no_key_is_401(runner: Any, world: World, operation: Operation) -> None:
    path, kwargs, _ = request_for(operation, world)

    answer = runner.request(operation.method, path, key=None, **kwargs)

    assert answer.status_code == 401, answer.text


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_a_key_without_the_scope_is_403(runner: Any, world: World, operation: Operation) -> None:
    path, kwargs, _ = request_for(operation, world)

    answer = runner.request(operation.method, path, key=world.all_but[operation.scope], **kwargs)

    assert answer.status_code == 403, answer.text
    assert operation.scope in answer.json()["message"]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_another_tenants_key_never_reaches_its_objects(
    runner: Any, world: World, operation: Operation
) -> None:
    path, kwargs, naming_a = request_for(operation, world)

    foreign = runner.request(operation.method, path, key=world.b.key, **kwargs)
    own = runner.request(operation.method, path, key=world.a.key, **kwargs)
    operator = runner.request(operation.method, path, **kwargs)

    if naming_a:
        assert foreign.status_code in (403, 404), foreign.text
    else:
        assert foreign.status_code == 403 or not leaked(foreign, world.a), foreign.text
    assert foreign.status_code != 401
    # The controls: the same request is refused for the tenant, not for being wrong.
    assert operator.status_code not in (401, 403), operator.text
    if operation.method == "GET" and naming_a:
        assert 200 <= operator.status_code < 300, operator.text
        assert own.status_code == 403 or 200 <= own.status_code < 300, own.text
    assert own.status_code != 401 and not leaked(own, world.b), own.text


LISTS = [
    op
    for op in OPERATIONS
    if op.method == "GET" and not any(p["in"] == "path" for p in op.spec.get("parameters", []))
]
# Lists that answer counts, not objects: no id of anyone's to look for.
COUNTS_ONLY = {"GET /v1/audit/verify"}


@pytest.mark.parametrize("operation", LISTS, ids=lambda op: op.name)
def test_a_list_shows_a_tenants_key_its_own_objects_only(
    runner: Any, world: World, operation: Operation
) -> None:
    path, kwargs, _ = request_for(operation, world, name_tenant=False)

    answers = [
        (tenant, other, runner.request(operation.method, path, key=tenant.key, **kwargs))
        for tenant, other in ((world.a, world.b), (world.b, world.a))
    ]

    for tenant, other, answer in answers:
        assert answer.status_code == 403 or 200 <= answer.status_code < 300, answer.text
        if answer.status_code == 403:
            continue  # a route spanning every tenant: no bound key reads it
        assert not leaked(answer, other), answer.text
        # The control: the list does show the tenant's own, so the check above has teeth.
        assert operation.name in COUNTS_ONLY or leaked(answer, tenant), answer.text


def test_the_matrix_holds_every_route_that_checks_a_key() -> None:
    declared = {route.route_key for route, _ in topology.routes() if route.auth == "api_key"}

    assert {op.name for op in OPERATIONS} == declared
    assert all(op.scope in {ADMIN, *BOUND_SCOPES} for op in OPERATIONS)

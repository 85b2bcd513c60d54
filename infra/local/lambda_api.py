"""The Lambda Invoke API on loopback, as ``sam local start-lambda`` serves it.

Functions get ``AWS_ENDPOINT_URL_LAMBDA`` pointing here, so ``boto3.client("lambda")
.invoke(FunctionName=...)`` in a handler runs the local function and returns its answer:
``POST /2015-03-31/functions/{FunctionName}/invocations``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import unquote

from infra.local.apigw import HttpRequest, HttpResponse
from infra.local.workers import Workers

log = logging.getLogger("infra.local")

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/?]+)/invocations(?:\?.*)?$")
_ARN = re.compile(r"^(?:arn:aws[\w-]*:lambda:[\w-]+:)?\d{12}:function:(?P<name>[^:]+)(?::.+)?$")


def _error(status: int, error_type: str, message: str) -> HttpResponse:
    body = json.dumps({"Type": "User", "message": message}).encode()
    headers = [("content-type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return HttpResponse(status, headers, body)


def function_name(raw: str) -> str:
    """A function name from a name, a name with a qualifier, or a full or partial ARN."""
    name = unquote(raw)
    arn = _ARN.match(name)
    if arn:
        return arn["name"]
    return name.split(":", 1)[0]


class LambdaApi:
    def __init__(self, workers: Workers, region: str, account_id: str) -> None:
        self._workers = workers
        self._region = region
        self._account_id = account_id

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _INVOKE_PATH.match(request.target)
        if request.method != "POST" or match is None:
            return _error(404, "UnknownOperationException", "only Invoke is served locally")
        name = function_name(match["name"])
        if name not in self._workers.names:
            arn = f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}"
            return _error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        payload = request.body or b"{}"
        try:
            json.loads(payload)
        except ValueError:
            return _error(
                400, "InvalidRequestContentException", "Could not parse request body into json"
            )
        headers = {key.lower(): value for key, value in request.headers}
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return HttpResponse(204)
        if invocation_type == "Event":
            threading.Thread(
                target=self._invoke_async, args=(name, payload), name=f"event:{name}", daemon=True
            ).start()
            return HttpResponse(202)
        invocation = self._workers.invoke(name, payload)
        response_headers = [
            ("content-type", "application/json"),
            ("x-amz-executed-version", "$LATEST"),
            ("x-amzn-requestid", invocation.request_id),
        ]
        if invocation.error:
            response_headers.append(("x-amz-function-error", invocation.error))
        return HttpResponse(200, response_headers, invocation.payload)

    def _invoke_async(self, name: str, payload: bytes) -> None:
        invocation = self._workers.invoke(name, payload)
        if invocation.error:
            log.warning("%s (async invoke) failed: %s", name, invocation.payload.decode())

"""Run the privacy compliance checker and print its findings (``make compliance``).

    python -m infra.compliance                      # the local runner (make run)
    python -m infra.compliance --stack CognitionOS  # a deployed stack (AWS credentials)

Both run the ``privacy-compliance`` job itself, the code its weekly schedule runs: locally
through the runner's ``POST /v1/admin/jobs/privacy-compliance`` (endpoint and admin key from
``.cognitionos/local.json``); on a stack by invoking the job's function (output
``PrivacyComplianceJobFunctionName``), since scanning every store may outlast the admin
route's 28 s. Exit status: 0 when nothing was found, 1 on findings, 2 when the check could
not run. A finding shows where (store, key, attribute path), what (email, phone, name,
setting) and a redacted sample; the job never returns a plaintext.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from cognitionos.jobs import schedule_event
from infra.admin_key import stack_outputs

JOB = "privacy-compliance"
FUNCTION_OUTPUT = "PrivacyComplianceJobFunctionName"
ROOT = Path(__file__).resolve().parents[1]
# Where the runner writes it (COGNITION_LOCAL_DIR moves the runner's directory).
LOCAL_JSON = Path(os.environ.get("COGNITION_LOCAL_DIR") or ROOT / ".cognitionos") / "local.json"
HTTP_TIMEOUT_S = 60


class CheckFailed(RuntimeError):
    """The check did not run (no runner, no stack, the job failed): nothing to report."""


def run_local(local_json: Path = LOCAL_JSON) -> dict[str, Any]:
    """The job's summary, run through the local runner's admin route."""
    if not local_json.is_file():
        raise CheckFailed(f"{local_json} is missing: start the local runner (make run) first")
    info = json.loads(local_json.read_text(encoding="utf-8"))
    url = f"{info['api_url'].rstrip('/')}/v1/admin/jobs/{JOB}"
    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise CheckFailed(f"{local_json} names a non-local API ({url}); use --stack")
    request = urllib.request.Request(  # noqa: S310 (the runner's own loopback URL)
        url, method="POST", headers={"Authorization": f"Bearer {info['admin_api_key']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:  # noqa: S310  # nosec B310
            body = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise CheckFailed(f"the job failed: HTTP {exc.code} {exc.read().decode()}") from None
    except urllib.error.URLError as exc:
        raise CheckFailed(f"the local runner does not answer at {url}: {exc.reason}") from None
    return dict(body["summary"])


def run_stack(stack: str) -> dict[str, Any]:
    """The job's summary, invoked directly on the deployed stack's job function."""
    outputs = stack_outputs(stack)
    if FUNCTION_OUTPUT not in outputs:
        raise CheckFailed(f"stack {stack} has no output {FUNCTION_OUTPUT}; deploy this version")
    answer = boto3.client("lambda").invoke(
        FunctionName=outputs[FUNCTION_OUTPUT],
        Payload=json.dumps(schedule_event(JOB, on_demand=True)).encode(),
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise CheckFailed(f"the job failed: {payload}")
    return dict(payload)


def render(summary: Mapping[str, Any]) -> str:
    """The findings as lines a person reads, then the counts."""
    lines = []
    for finding in summary.get("reported", []):
        where = finding["store"] + (f"  {finding['key']}" if finding["key"] else "")
        lines.append(f"{finding['kind']:<8} {where}  {finding['path']}  {finding['sample']}")
    if summary.get("not_reported"):
        lines.append(f"... and {summary['not_reported']} more findings")
    lines.append(
        f"{summary['findings']} findings ({summary['email_findings']} email, "
        f"{summary['phone_findings']} phone, {summary['name_findings']} name, "
        f"{summary['setting_findings']} setting) in {summary['records_scanned']} records of "
        f"{summary['stores_scanned']} stores; settings of {summary['stores_settings_checked']} "
        f"stores checked; {summary['known_names']} known names looked for"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", help="a deployed stack's name (default: the local runner)")
    parser.add_argument("--local-json", type=Path, default=LOCAL_JSON, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the job's summary as JSON")
    args = parser.parse_args(argv)
    try:
        summary = run_stack(args.stack) if args.stack else run_local(args.local_json)
    except CheckFailed as exc:
        print(f"compliance: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2) if args.json else render(summary))
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

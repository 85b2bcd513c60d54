"""Create an API key in a deployed stack (the first admin key has no other way in).

    python -m infra.admin_key --stack CognitionOS --name "ops laptop" [--scopes admin]

Reads the key table and pepper secret from the stack's outputs, stores only the keyed hash,
and prints the key once.
"""

from __future__ import annotations

import argparse
import sys

import boto3

from cognitionos.auth import ApiKeyStore
from cognitionos.timeutil import iso, now

TABLE_OUTPUT = "ApiKeysTableName"
PEPPER_OUTPUT = "ApiKeyPepperSecretArn"


def stack_outputs(stack: str) -> dict[str, str]:
    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", default="CognitionOS")
    parser.add_argument("--name", required=True, help="who or what the key is for")
    parser.add_argument("--scopes", nargs="+", default=["admin"])
    parser.add_argument("--tenant-id", default=None, help="bind the key to one Stripe customer")
    args = parser.parse_args(argv)
    outputs = stack_outputs(args.stack)
    missing = [k for k in (TABLE_OUTPUT, PEPPER_OUTPUT) if k not in outputs]
    if missing:
        print(
            f"stack {args.stack} has no outputs {missing}; deploy the current version",
            file=sys.stderr,
        )
        return 2
    pepper = boto3.client("secretsmanager").get_secret_value(SecretId=outputs[PEPPER_OUTPUT])[
        "SecretString"
    ]
    table = boto3.resource("dynamodb").Table(outputs[TABLE_OUTPUT])
    issued, _ = ApiKeyStore(table, pepper).create(
        args.name, args.scopes, args.tenant_id, iso(now())
    )
    print(issued.key)
    print(f"key id {issued.key_id}; shown once, store it in your password manager", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

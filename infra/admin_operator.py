"""Create a dashboard operator (the first one has no other way in).

    python -m infra.admin_operator --stack CognitionOS --email ada@example.com
    python -m infra.admin_operator --local --email ada@example.com --password-stdin < pw.txt

Asks the password twice (or reads one line from stdin with ``--password-stdin``) and refuses
one under 12 characters. Finds the operators table, the subject keys, the PII key and the
blind-index key through the stack's outputs (``--local``: the running local runner's
``.cognitionos/outputs.json``), stores the email sealed and keyed by its blind index, and
only the password's Argon2id hash. Prints the operator id.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from operators.dal.directory import OperatorDirectory, OperatorExists
from operators.logic.emails import normal_email
from operators.logic.passwords import WeakPassword, hash_password

from cognitionos.crypto import SubjectKeyring, blind_index
from cognitionos.timeutil import iso, now
from infra.admin_key import stack_outputs
from infra.local.config import FAKE_CREDENTIALS, LOCAL_DIR_NAME, ROOT

OUTPUTS = {
    "operators": "OperatorsTableName",
    "subject_keys": "SubjectKeysTableName",
    "pii_key": "PiiKeyArn",
    "blind_index_key": "PiiBlindIndexKeySecretArn",
}


def local_session(local_dir: Path) -> tuple[boto3.session.Session, str | None, dict[str, str]]:
    """A session on the local runner's moto server and its outputs; SystemExit if it is not
    running."""
    path = local_dir / "outputs.json"
    if not path.is_file():
        raise SystemExit(f"no {path}: start the local runner first (make run)")
    facts: dict[str, Any] = json.loads(path.read_text())
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=facts["region"],
    )
    return session, str(facts["aws_endpoint_url"]), dict(facts["outputs"])


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (12 characters at least): ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("the two passwords differ; nothing was created")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", default="CognitionOS")
    parser.add_argument(
        "--local",
        nargs="?",
        const=str(ROOT / LOCAL_DIR_NAME),
        default=None,
        metavar="DIR",
        help=f"the local runner's directory instead of a stack (default {LOCAL_DIR_NAME}/)",
    )
    parser.add_argument("--email", required=True)
    parser.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    args = parser.parse_args(argv)
    try:
        email = normal_email(args.email)
    except ValueError as exc:
        print(f"{exc}; nothing was created", file=sys.stderr)
        return 2
    if args.local:
        session, endpoint, outputs = local_session(Path(args.local))
    else:
        session, endpoint, outputs = boto3.session.Session(), None, stack_outputs(args.stack)
    missing = [name for name in OUTPUTS.values() if name not in outputs]
    if missing:
        print(
            f"stack {args.stack} has no outputs {missing}; deploy the current version",
            file=sys.stderr,
        )
        return 2
    password = read_password(args.password_stdin)
    try:
        password_hash = hash_password(password)
    except WeakPassword as exc:
        print(f"{exc}; nothing was created", file=sys.stderr)
        return 2
    dynamodb = session.resource("dynamodb", endpoint_url=endpoint)
    secret = session.client("secretsmanager", endpoint_url=endpoint).get_secret_value(
        SecretId=outputs[OUTPUTS["blind_index_key"]]
    )["SecretString"]
    keyring = SubjectKeyring(
        dynamodb.Table(outputs[OUTPUTS["subject_keys"]]),
        outputs[OUTPUTS["pii_key"]],
        session.client("kms", endpoint_url=endpoint),
    )
    directory = OperatorDirectory(dynamodb.Table(outputs[OUTPUTS["operators"]]), keyring)
    index = blind_index(email, str(secret).encode())
    try:
        if directory.find(index) is not None:  # before a data key is made for nothing
            raise OperatorExists("an operator with this email already exists")
        record = directory.create(email, index, password_hash, iso(now()))
    except OperatorExists as exc:
        print(f"{exc}; nothing was created", file=sys.stderr)
        return 3
    print(record.operator_id)
    print(f"operator {record.operator_id} can sign in at /dashboard as {email}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

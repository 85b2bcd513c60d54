"""``python -m cognitionos.audit verify BUNDLE``: check an exported chain offline.

Reads the JSON an export answered (``GET /v1/audit/export``), recomputes every hash and link,
and compares the anchors and head it carries. No AWS access, no network. Exit status 0 when
the chain is valid, 1 when it is not (the first invalid seq is printed), 2 on a bad file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cognitionos.audit.chain import verify_bundle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cognitionos.audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="verify an exported chain (a JSON file, - = stdin)")
    check.add_argument("bundle")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.bundle == "-" else Path(args.bundle).read_text("utf-8")
        result = verify_bundle(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"cannot verify {args.bundle}: {error}", file=sys.stderr)
        return 2
    report = result.as_dict() | {"reason": result.reason}
    print(json.dumps(report))
    return 0 if result.valid else 1


if __name__ == "__main__":
    raise SystemExit(main())

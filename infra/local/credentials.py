"""The local runner's admin key and Stripe webhook secret, kept across restarts.

Made on the first start that needs them and kept in ``<local dir>/credentials.json``, readable
by its owner only, so the key pasted into the dashboard and the secret given to `stripe
listen` still work after a restart. ``COGNITION_ADMIN_API_KEY`` and ``STRIPE_WEBHOOK_SECRET``
win for the run they are set in and leave the file as it is. Only these two are kept: the
data lives in moto's memory and is gone when the runner stops.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from infra.local.config import ConfigError, new_webhook_secret

CREDENTIALS_FILE = "credentials.json"
OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700


class CredentialsError(ConfigError):
    """The kept credentials cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class Credentials:
    admin_key: str
    webhook_secret: str


def credentials_path(local_dir: Path) -> Path:
    return local_dir / CREDENTIALS_FILE


def kept_credentials(local_dir: Path) -> Credentials:
    """The credentials kept in ``local_dir``, made and kept first if there are none."""
    path = credentials_path(local_dir)
    if path.exists():
        return _read(path)
    from cognitionos.auth import new_api_key

    made = Credentials(new_api_key(), new_webhook_secret())
    write_owner_only(path, json.dumps(_as_json(made), indent=2) + "\n", replace=False)
    # Two first starts at once keep one pair: the one whose file was linked first.
    return _read(path)


def write_owner_only(path: Path, text: str, *, replace: bool) -> None:
    """Write ``path`` whole (never half-written for a reader), mode 0600 from the start.

    ``replace`` False: an existing file is kept (the link that would replace it fails).
    """
    path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        if replace:
            os.replace(partial, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _as_json(credentials: Credentials) -> dict[str, str]:
    return {
        "admin_api_key": credentials.admin_key,
        "stripe_webhook_secret": credentials.webhook_secret,
    }


def _read(path: Path) -> Credentials:
    from cognitionos.auth import parse_api_key
    from cognitionos.errors import Unauthorized

    broken = CredentialsError(
        f"{path} is not as the runner wrote it: delete it to start with a new admin key "
        "and webhook secret, or set COGNITION_ADMIN_API_KEY and STRIPE_WEBHOOK_SECRET"
    )
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise broken from None
    if not isinstance(saved, dict):
        raise broken
    admin_key, webhook_secret = saved.get("admin_api_key"), saved.get("stripe_webhook_secret")
    if not isinstance(admin_key, str) or not isinstance(webhook_secret, str):
        raise broken
    if not webhook_secret.startswith("whsec_"):
        raise broken
    try:
        parse_api_key(admin_key)
    except Unauthorized:
        raise broken from None
    return Credentials(admin_key, webhook_secret)

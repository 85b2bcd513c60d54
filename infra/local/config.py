"""The local runner's settings, read once from the environment (README, "Two commands")."""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from infra.topology import SETTINGS, Bucket, Function, Key, Queue, Route, Secret, Table

ROOT = Path(__file__).resolve().parents[2]
# Where Lambda puts the function code (/var/task) and the layers (/opt/python).
CODE_PATHS = (ROOT / "functions", ROOT / "layers" / "kernel" / "python")

PREFIX = "cognitionos"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account: ARNs it returns carry this id
# moto accepts any credentials: the runner and every function use these, never a real key.
_FAKE = "testing"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": _FAKE,
    "AWS_SECRET_ACCESS_KEY": _FAKE,
    "AWS_SESSION_TOKEN": _FAKE,
}
POOL_SIZE = 4  # concurrent execution environments per function

# User variables a function sees when they are set (besides every COGNITION_* one, except a
# topology Setting's: only the functions that declare it see it, as on AWS).
PASS_THROUGH = (
    "STRIPE_API_BASE",
    "REDIS_URL",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
)
COGNITION_PREFIX = "COGNITION_"
# COGNITION_* variables that configure the runner only and never reach a function.
RUNNER_ONLY = frozenset({"COGNITION_ADMIN_API_KEY", "COGNITION_PII_KEY_ROTATION"})
# Local-only defaults for functions (a user's own value wins).
# The agents' replay provider (the default provider) plays the recorded run under events/.
FUNCTION_DEFAULTS = {
    "COGNITION_ALLOW_LOOPBACK_TARGETS": "1",
    "COGNITION_LLM_REPLAY_FILE": str(
        Path(__file__).resolve().parents[2] / "events" / "agents" / "replay-run.json"
    ),
}

LOCAL_DIR_NAME = ".cognitionos"  # the runner's files: local.json, credentials.json
DEFAULT_PORT = 3000
# The local From address of customer emails; the runner verifies it in moto's SES.
DEFAULT_EMAIL_SENDER = "billing@cognitionos.local"
DEFAULT_RETRY_DELAY_S = 1
STRIPE_API_KEY_UNSET = "unset"
_ALNUM = string.ascii_letters + string.digits


class ConfigError(ValueError):
    """A runner setting is invalid; the message names the variable."""


class TopologyModule(Protocol):
    """What the runner reads from a topology module (``infra.topology`` or a test one)."""

    FUNCTIONS: tuple[Function, ...]
    TABLES: tuple[Table, ...]
    QUEUES: tuple[Queue, ...]
    ALARM_TOPIC_SUBSCRIBERS: tuple[Queue, ...]  # fed by the alarm topic, raw
    SECRETS: tuple[Secret, ...]
    KEYS: tuple[Key, ...]
    BUCKETS: tuple[Bucket, ...]
    API_KEYS_TABLE: Table
    API_KEY_PEPPER: Secret

    def jobs(self) -> dict[str, Function]: ...

    def routes(self) -> list[tuple[Route, Function]]: ...


def random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def new_webhook_secret() -> str:
    """A webhook signing secret shaped like Stripe's."""
    return f"whsec_{random_alnum(32)}"


@dataclass(frozen=True)
class LocalConfig:
    port: int = DEFAULT_PORT
    local_dir: Path = ROOT / LOCAL_DIR_NAME
    schedules: bool = True
    webhook_secret: str = field(default_factory=new_webhook_secret)
    admin_key: str | None = None  # None: the key store makes one
    stripe_api_key: str = STRIPE_API_KEY_UNSET
    email_sender: str = DEFAULT_EMAIL_SENDER
    retry_delay_s: int = DEFAULT_RETRY_DELAY_S
    function_env: Mapping[str, str] = field(default_factory=lambda: dict(FUNCTION_DEFAULTS))
    prefix: str = PREFIX
    region: str = REGION
    account_id: str = ACCOUNT_ID
    pool_size: int = POOL_SIZE
    # A PII key rotation under way, as after deploying a new key generation: the runner
    # makes a second key, the previous one, and gives it to the functions that may use it.
    pii_key_rotation: bool = False

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, keep_credentials: bool = False
    ) -> LocalConfig:
        """``keep_credentials``: an admin key or webhook secret the environment does not give
        is the one kept in the local dir (made and kept there on first use), not a new one."""
        env = os.environ if environ is None else environ
        given_secret = env.get("STRIPE_WEBHOOK_SECRET")
        config = cls(
            port=_port(env.get("PORT")),
            local_dir=Path(env["COGNITION_LOCAL_DIR"])
            if env.get("COGNITION_LOCAL_DIR")
            else ROOT / LOCAL_DIR_NAME,
            schedules=_on_off("COGNITION_SCHEDULES", env.get("COGNITION_SCHEDULES", "on")),
            webhook_secret=given_secret or new_webhook_secret(),
            admin_key=_admin_key(env.get("COGNITION_ADMIN_API_KEY")),
            stripe_api_key=env.get("STRIPE_API_KEY") or STRIPE_API_KEY_UNSET,
            email_sender=_email_sender(env.get("COGNITION_EMAIL_SENDER")),
            retry_delay_s=_non_negative_int(
                "COGNITION_LOCAL_RETRY_DELAY_S",
                env.get("COGNITION_LOCAL_RETRY_DELAY_S", str(DEFAULT_RETRY_DELAY_S)),
            ),
            function_env=_function_env(env),
            pii_key_rotation=_on_off(
                "COGNITION_PII_KEY_ROTATION", env.get("COGNITION_PII_KEY_ROTATION", "off")
            ),
        )
        if not keep_credentials or (given_secret and config.admin_key):
            return config
        from infra.local.credentials import kept_credentials

        kept = kept_credentials(config.local_dir)  # only once every setting is known good
        return replace(
            config,
            webhook_secret=given_secret or kept.webhook_secret,
            admin_key=config.admin_key or kept.admin_key,
        )

    @property
    def local_json(self) -> Path:
        return self.local_dir / "local.json"

    @property
    def outputs_json(self) -> Path:
        """The local resources by the deployed stack's output names, for the operator CLIs."""
        return self.local_dir / "outputs.json"


def _port(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PORT
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"PORT must be a TCP port number (0-65535), got {raw!r}")
    return int(raw)


def _on_off(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"on", "1", "true", "yes"}:
        return True
    if value in {"off", "0", "false", "no"}:
        return False
    raise ConfigError(f"{name} must be 'on' or 'off', got {raw!r}")


def _non_negative_int(name: str, raw: str) -> int:
    if not raw.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number of seconds (0 or more), got {raw!r}")
    return int(raw)


def _email_sender(raw: str | None) -> str:
    if not raw:
        return DEFAULT_EMAIL_SENDER
    if raw.count("@") != 1 or any(c.isspace() or c in "<>" for c in raw):
        raise ConfigError(
            f"COGNITION_EMAIL_SENDER must be a bare email address (billing@example.org), "
            f"got {raw!r}"
        )
    return raw


def _admin_key(raw: str | None) -> str | None:
    """The operator's chosen admin key, checked exactly as the kernel parses keys."""
    if not raw:
        return None
    from cognitionos.auth import parse_api_key
    from cognitionos.errors import Unauthorized

    try:
        parse_api_key(raw)
    except Unauthorized:
        raise ConfigError(
            "COGNITION_ADMIN_API_KEY must look like cos_<key id>_<secret>: a key id of 16 "
            "lower-case letters or digits and a secret of 32-128 characters from "
            "[A-Za-z0-9_-], e.g. cos_0123456789abcdef_" + "x" * 32
        ) from None
    return raw


def _function_env(env: Mapping[str, str]) -> dict[str, str]:
    """Variables of the user's environment that functions see, plus local defaults.

    A topology Setting the user set is checked here, so a bad value stops the runner before
    it starts, naming the variable (``infra.local.functions`` gives it to its declarers).
    """
    passed = dict(FUNCTION_DEFAULTS)
    for name, value in env.items():
        if name in PASS_THROUGH or (name.startswith(COGNITION_PREFIX) and name not in RUNNER_ONLY):
            passed[name] = value
    for setting in SETTINGS:
        if passed.get(setting.env):
            try:
                setting.check(passed[setting.env])
            except ValueError as exc:
                raise ConfigError(f"{setting.env}: {exc}") from None
    return passed

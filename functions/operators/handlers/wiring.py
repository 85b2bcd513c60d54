"""The operator-auth function's doors, built once per execution environment."""

from __future__ import annotations

import functools
import time

from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import blind_index, blind_index_key, subject_keyring
from cognitionos.sessions import SessionStore
from operators.dal.directory import OperatorDirectory
from operators.logic.lockout import LockoutPolicy
from operators.logic.sign_in import SignInFlow
from operators.settings import operator_auth_settings


@functools.cache
def directory() -> OperatorDirectory:
    return OperatorDirectory(
        dynamodb_table(operator_auth_settings().operators_table), subject_keyring()
    )


def now_s() -> float:
    """The flow's clock (tests replace it to step past a lock or a session's end)."""
    return time.time()


def _flow_clock() -> float:
    return now_s()  # looked up at each call, so a test's replacement takes effect


def email_index(email: str) -> str:
    return blind_index(email, blind_index_key())


@functools.cache
def flow() -> SignInFlow:
    settings = operator_auth_settings()
    return SignInFlow(
        directory=directory(),
        sessions=SessionStore(dynamodb_table(settings.operator_sessions_table), clock=_flow_clock),
        audit=audit_log(),
        email_index=email_index,
        policy=LockoutPolicy(threshold=settings.cognition_operator_lockout_failures),
        clock=_flow_clock,
    )

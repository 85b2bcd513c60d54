"""Each topology function as a local Lambda: its name, ARN and environment.

The environment is built as the stack builds it (``infra/constructs/functions.py``): the
function's static variables, one variable per resource it names, its declared settings (the
user's value or the default), ``JOB_FUNCTIONS`` for a function that runs jobs,
``CODE_VALIDATE_FUNCTION`` for one that validates code; then what Lambda itself sets, with
endpoints pointing at moto and at the runner's Lambda API.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from infra.local.config import CODE_PATHS, FAKE_CREDENTIALS, LocalConfig, TopologyModule
from infra.local.provision import Resources
from infra.local.worker_main import WorkerSpec
from infra.topology import (
    CODE_VALIDATE,
    CODE_VALIDATE_ENV,
    EMAIL_SENDER_ENV,
    RUNTIME,
    SETTINGS,
    Bucket,
    DeadLetterQueue,
    EmailTemplate,
    Function,
    Key,
    Queue,
    Table,
)

# A Setting reaches only the functions that declare it, whatever the user's environment holds.
_SETTING_VARS = frozenset(setting.env for setting in SETTINGS)


def local_name(fn: Function, config: LocalConfig) -> str:
    return f"{config.prefix}-{fn.name}"


def function_arn(name: str, config: LocalConfig) -> str:
    return f"arn:aws:lambda:{config.region}:{config.account_id}:function:{name}"


def worker_specs(
    topology: TopologyModule,
    config: LocalConfig,
    resources: Resources,
    aws_endpoint_url: str,
    lambda_endpoint_url: str,
) -> list[WorkerSpec]:
    jobs = {job: local_name(fn, config) for job, fn in topology.jobs().items()}
    specs = []
    for fn in topology.FUNCTIONS:
        name = local_name(fn, config)
        env = function_env(fn, config, resources, jobs)
        env.update(lambda_env(fn, name, config, aws_endpoint_url, lambda_endpoint_url))
        specs.append(
            WorkerSpec(
                function_name=name,
                handler=fn.handler,
                memory_mb=fn.memory_mb,
                timeout_s=fn.timeout_s,
                invoked_function_arn=function_arn(name, config),
                env=env,
                code_paths=tuple(str(path) for path in CODE_PATHS),
            )
        )
    return specs


def function_env(
    fn: Function, config: LocalConfig, resources: Resources, jobs: dict[str, str]
) -> dict[str, str]:
    """What the function's code reads: the user's pass-through variables, then the stack's."""
    env = {k: v for k, v in config.function_env.items() if k not in _SETTING_VARS}
    env.update(fn.static_env())
    env["POWERTOOLS_TRACE_DISABLED"] = "true"  # no X-Ray daemon locally
    for var, resource in fn.resource_env().items():
        if isinstance(resource, Table):
            env[var] = resources.tables[resource.name]
        elif isinstance(resource, Queue):
            env[var] = resources.queue_urls[resource.name]
        elif isinstance(resource, Key):
            if resource.during_rotation and resource.name not in resources.keys:
                continue  # no rotation under way: no previous key
            env[var] = resources.keys[resource.name]
        elif isinstance(resource, EmailTemplate):
            env[var] = resources.email_templates[resource.name]
        elif isinstance(resource, Bucket):
            env[var] = resources.buckets[resource.name]
        elif isinstance(resource, DeadLetterQueue):
            env[var] = resources.dlq_urls[resource.queue.name]
        else:
            env[var] = resources.secret_arns[resource.name]
    if fn.emails:
        env[EMAIL_SENDER_ENV] = resources.email_sender
    env.update(setting_env(fn, config.function_env))
    if fn.invokes:
        env["JOB_FUNCTIONS"] = json.dumps({job: jobs[job] for job in fn.invokes})
    if fn.validates_code:
        env[CODE_VALIDATE_ENV] = f"{config.prefix}-{CODE_VALIDATE}"  # as local_name names it
    return env


def setting_env(fn: Function, user_env: Mapping[str, str]) -> dict[str, str]:
    """The function's declared settings: the user's value (checked by ``LocalConfig``), or
    the setting's default when the user did not set it."""
    return {setting.env: user_env.get(setting.env) or setting.default for setting in fn.settings}


def lambda_env(
    fn: Function,
    name: str,
    config: LocalConfig,
    aws_endpoint_url: str,
    lambda_endpoint_url: str,
) -> dict[str, str]:
    """What Lambda's runtime sets, and the endpoints that make unchanged code run locally."""
    env = {key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ}
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "TZ": ":UTC",
            "_HANDLER": fn.handler,
            "LAMBDA_TASK_ROOT": str(CODE_PATHS[0]),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_ENDPOINT_URL": aws_endpoint_url,
            "AWS_ENDPOINT_URL_LAMBDA": lambda_endpoint_url,
        }
    )
    return env

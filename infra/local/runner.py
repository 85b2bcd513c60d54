"""The local runner: wires moto, the functions' workers, the API, the pollers, the Lambda
API and the schedules together from one topology, and stops them cleanly."""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import cast

from infra.local.apigw import HttpRequest, HttpResponse, RouteTable, json_response
from infra.local.config import (
    CODE_PATHS,
    FAKE_CREDENTIALS,
    ConfigError,
    LocalConfig,
    TopologyModule,
)
from infra.local.credentials import credentials_path, write_owner_only
from infra.local.functions import local_name, worker_specs
from infra.local.http_server import ApiGateway, LocalHttpServer
from infra.local.lambda_api import LambdaApi
from infra.local.moto_server import MotoServer, delayed_by_function
from infra.local.provision import Aws, create_admin_key, provision, stack_outputs
from infra.local.scheduler import ScheduledJob, ScheduleError, Scheduler, invoke_job, parse
from infra.local.sqs_poller import EventSource, QueuePoller
from infra.local.workers import Workers

log = logging.getLogger("infra.local")
HOST = "127.0.0.1"
POLLER_JOIN_S = 3.0


class StartupError(RuntimeError):
    """The runner cannot start; the message says why and what to do."""


class LocalRunner:
    def __init__(self, topology: TopologyModule, config: LocalConfig) -> None:
        self.topology = topology
        self.config = config
        self._moto: MotoServer | None = None
        self._api: LocalHttpServer | None = None
        self._lambda_server: LocalHttpServer | None = None
        self._lambda_api: LambdaApi | None = None
        self._gateway: ApiGateway | None = None
        self._workers: Workers | None = None
        self._pollers: list[QueuePoller] = []
        self._scheduler: Scheduler | None = None

    def start(self) -> dict[str, str]:
        """Start everything; the facts ``local.json`` holds."""
        config = self.config
        config.local_json.unlink(missing_ok=True)  # stale facts of an earlier run
        config.outputs_json.unlink(missing_ok=True)
        started = datetime.now(UTC)
        jobs = self._scheduled_jobs(started)  # a bad expression fails before anything starts
        try:
            self._api = LocalHttpServer(HOST, config.port, self._serve_api, "api")
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {HOST}:{config.port} ({exc.strerror}); set PORT to a free port"
            ) from None
        self._moto = MotoServer(HOST)
        aws_url = self._moto.start()
        aws = Aws(aws_url, config.region)
        resources = provision(aws, self.topology, config)
        admin_key = create_admin_key(aws, self.topology, config, resources)
        outputs = {
            "aws_endpoint_url": aws_url,
            "region": config.region,
            "outputs": stack_outputs(self.topology, resources),
        }
        write_owner_only(config.outputs_json, json.dumps(outputs, indent=2) + "\n", replace=True)

        self._lambda_server = LocalHttpServer(HOST, 0, self._serve_lambda, "lambda-api")
        specs = worker_specs(self.topology, config, resources, aws_url, self._lambda_server.url)
        self._workers = Workers(specs, config.pool_size)
        self._lambda_api = LambdaApi(self._workers, config.region, config.account_id)
        self._gateway = ApiGateway(self._route_table(), self._workers)
        self._lambda_server.start()
        self._api.start()

        for fn in self.topology.FUNCTIONS:
            if fn.consumes is None:
                continue
            queue = fn.consumes
            source = EventSource(
                queue_name=queue.name,
                queue_url=resources.queue_urls[queue.name],
                queue_arn=resources.queue_arns[queue.name],
                function_name=local_name(fn, config),
                fifo=queue.fifo,
                batch_size=queue.batch_size,
                max_receives=queue.max_receives,
                max_batching_window_s=queue.max_batching_window_s,
            )
            poller = QueuePoller(
                source,
                sqs=aws.sqs(),
                workers=self._workers,
                region=config.region,
                retry_delay_s=config.retry_delay_s,
                concurrency=config.pool_size,
                delayed_by_function=delayed_by_function,
            )
            poller.start()
            self._pollers.append(poller)

        if config.schedules and jobs:
            fire = invoke_job(self._workers.invoke, config.account_id, config.region)
            self._scheduler = Scheduler(jobs, fire)
            self._scheduler.start()
        return {
            "api_url": self._api.url,
            "admin_api_key": admin_key,
            "stripe_webhook_secret": config.webhook_secret,
            "aws_endpoint_url": aws_url,
            "region": config.region,
        }

    def _scheduled_jobs(self, started: datetime) -> list[ScheduledJob]:
        jobs = []
        for fn in self.topology.FUNCTIONS:
            if fn.schedule is None:
                continue
            if fn.job is None:
                raise StartupError(f"{fn.name} has a schedule but no job name")
            try:
                expression = parse(fn.schedule.expression, started)
            except ScheduleError as exc:
                raise StartupError(f"{fn.name}: {exc}") from None
            jobs.append(
                ScheduledJob(
                    fn.job, local_name(fn, self.config), fn.schedule.expression, expression
                )
            )
        return jobs

    def _route_table(self) -> RouteTable:
        return RouteTable(
            (route.method, route.path, local_name(fn, self.config))
            for route, fn in self.topology.routes()
        )

    def _serve_api(self, request: HttpRequest) -> HttpResponse:
        if self._gateway is None:
            return json_response(503, {"message": "Service Unavailable"})
        return self._gateway(request)

    def _serve_lambda(self, request: HttpRequest) -> HttpResponse:
        if self._lambda_api is None:
            return json_response(503, {"message": "starting"})
        return self._lambda_api(request)

    def stop(self) -> None:
        """Stop in the order that loses nothing: intake first, moto last."""
        if self._api is not None:
            self._api.stop()
        if self._scheduler is not None:
            self._scheduler.stop()
        for poller in self._pollers:
            poller.stop()
        if self._workers is not None:
            self._workers.close()
        for poller in self._pollers:
            poller.join(POLLER_JOIN_S)
        if self._lambda_server is not None:
            self._lambda_server.stop()
        if self._moto is not None:
            self._moto.stop()


def write_local_json(config: LocalConfig, info: dict[str, str]) -> None:
    """Whole, so that a script waiting for the file never reads half of it; owner-only, as
    it holds the admin key."""
    write_owner_only(config.local_json, json.dumps(info, indent=2) + "\n", replace=True)


def banner(config: LocalConfig, info: dict[str, str]) -> str:
    """What the runner says once it is up: where, how to stop, and what outlives a stop."""
    return (
        f"CognitionOS is running at {info['api_url']} - Ctrl-C stops it. These facts are in "
        f"{config.local_json} until it stops.\n"
        "Data is not kept: every start begins with empty tables, queues and buckets (moto "
        "holds them in memory). The admin key and the webhook secret are kept across "
        f"restarts in {credentials_path(config.local_dir)} (COGNITION_ADMIN_API_KEY and "
        "STRIPE_WEBHOOK_SECRET, when set, are used instead)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument(
        "--topology",
        default="infra.topology",
        help="module that declares the topology (default: infra.topology)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="[local] %(levelname)s %(message)s"
    )
    for path in CODE_PATHS:  # the kernel (API keys, schedule events), as /opt/python
        if str(path) not in sys.path:
            sys.path.append(str(path))

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("%s: stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        config = LocalConfig.from_env(keep_credentials=True)
        topology = cast(TopologyModule, importlib.import_module(args.topology))
    except (ConfigError, ImportError) as exc:
        print(f"infra.local: {exc}", file=sys.stderr)
        return 2
    # Whatever in this process talks to AWS talks to moto, never with the user's real keys.
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update({"AWS_REGION": config.region, "AWS_DEFAULT_REGION": config.region})
    os.environ.pop("AWS_PROFILE", None)
    runner = LocalRunner(topology, config)
    try:
        info = runner.start()
    except StartupError as exc:
        print(f"infra.local: {exc}", file=sys.stderr)
        runner.stop()
        return 2
    except Exception:
        log.exception("the local runner failed to start")
        runner.stop()
        return 1
    print(json.dumps(info), flush=True)
    print(banner(config, info), flush=True)
    write_local_json(config, info)  # last: once it exists, everything is up and said
    while not stopping.wait(0.5):
        pass
    config.local_json.unlink(missing_ok=True)  # its URLs stop answering now
    config.outputs_json.unlink(missing_ok=True)
    runner.stop()
    log.info("stopped")
    # Interpreter teardown would garbage-collect moto's and botocore's object graphs for a
    # second or more; everything is stopped, so let exit skip that.
    gc.freeze()
    return 0

"""The local runner: the whole topology on one laptop, against a moto server.

``python -m infra.local`` (``make run``) starts moto, provisions every table, queue and
secret that ``infra/topology.py`` declares, runs each function in its own worker process,
serves the HTTP routes as API Gateway (payload v2), polls the queues like Lambda's event
source mappings, serves the Lambda Invoke API and fires the schedules.

This package's ``__init__`` stays empty on purpose: each worker process imports
``infra.local.worker_main`` and must not pay for the runner's imports (moto, boto3).
"""

"""CDK constructs that turn ``infra/topology.py`` into AWS resources, one concern per module."""

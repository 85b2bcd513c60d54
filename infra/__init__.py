"""Infrastructure: the topology, the CDK stack built from it, and the local runner."""

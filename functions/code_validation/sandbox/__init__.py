"""The sandbox: each stage's tool in a contained subprocess (``process``), the stages'
commands (``stages``), and what runs inside the sandbox itself (``inside/``)."""

"""Code validation: six stages (syntax, lint, format, types, security, tests) run on a
submission of Python files, each stage in a sandboxed subprocess with no permissions and no
network; safe fixes come back with the findings."""

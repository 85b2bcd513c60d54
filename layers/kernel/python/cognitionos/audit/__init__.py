"""The audit log: append-only hash chains (``chain``), their closed set of actions
(``actions``), the DynamoDB writer and reader (``store``), the S3 anchors (``anchors``) and the
offline verifier (``python -m cognitionos.audit verify BUNDLE``).

This package imports nothing of AWS itself, so the offline verifier runs with the standard
library and this package alone. A function records an event in one line::

    from cognitionos.audit.store import audit_log

    audit_log().record("agent.run.started", actor=principal.key_id, resource=f"run:{run_id}",
                       tenant_id=principal.tenant_id, details={"strategy": "parallel"})

(its topology entry adds ``AUDIT_WRITING`` to its tables: docs/AUDIT.md).
"""

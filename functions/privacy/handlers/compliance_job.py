"""The ``privacy-compliance`` job: weekly, and on demand through ``/v1/admin/jobs``, look for
plaintext personal data in every table and bucket, and check every store's settings against
the topology's declarations (docs/PRIVACY.md, "Compliance checker").

It answers with the counts and the redacted findings; records the count as the gauge
``privacy.compliance_findings`` (the default alert rule pages on anything above 0) and the
run as ``privacy.compliance.checked`` with counts only. A plaintext is never logged."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.audit.store import audit_log
from cognitionos.crypto import subject_keyring
from cognitionos.jobs import job_name
from cognitionos.metrics_store import set_gauge
from cognitionos.observability import MetricUnit, logger, metrics, traced
from privacy.dal.known_subjects import known_names
from privacy.dal.store_scan import StoreScanner, stores_from_environment
from privacy.dal.store_settings import bucket_settings, table_settings
from privacy.logic.compliance import ComplianceReport
from privacy.logic.pii_patterns import KnownNames
from privacy.logic.storage_settings import Expectations, bucket_findings, table_findings
from privacy.settings import compliance_settings

FINDINGS_GAUGE = "privacy.compliance_findings"


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = compliance_settings()
    job = job_name(event)
    logger.append_keys(job=job)
    tables, buckets = stores_from_environment()
    names = KnownNames.of(known_names(settings.billing_table, subject_keyring()))
    report = ComplianceReport(names)
    scanner = StoreScanner(tables, buckets)
    for name, physical in tables.items():
        report.store(f"table:{name}")
        for record in scanner.table_records(name, physical):
            report.scan(record.store, record.key, record.text)
    for name, physical in buckets.items():
        report.store(f"bucket:{name}")
        for record in scanner.bucket_records(name, physical):
            report.scan(record.store, record.key, record.text)
    expected = Expectations.from_json(settings.compliance_expectations)
    for name, table in expected.tables.items():
        found = table_settings(tables[name])
        report.settings(f"table:{name}", table_findings(name, table, found))
    for name, bucket in expected.buckets.items():
        found_bucket = bucket_settings(buckets[name])
        report.settings(f"bucket:{name}", bucket_findings(name, bucket, found_bucket))
    counts = report.counts()
    set_gauge(FINDINGS_GAUGE, counts["findings"])
    audit_log().record(
        "privacy.compliance.checked", actor=f"job:{job}", resource="privacy:stores", details=counts
    )
    metrics.add_metric("PrivacyComplianceFindings", MetricUnit.Count, counts["findings"])
    logger.info("privacy-compliance done", extra=counts)  # numbers only, never a sample
    return report.summary()

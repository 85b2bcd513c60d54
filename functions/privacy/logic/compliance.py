"""One run of the compliance checker, as numbers and redacted findings.

Pure: the handler feeds it what the stores hold (``record_findings``) and what their
settings are (``setting_findings``); ``summary`` is what the job answers and ``counts`` what
it audits (numbers only: no key, no sample).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from privacy.logic.pii_patterns import Finding, KnownNames, findings_in_record

# The job's answer lists at most this many findings (a Lambda response is at most 6 MB);
# the counts cover them all.
MAX_REPORTED = 200
KINDS = ("email", "phone", "name", "setting")


@dataclass
class ComplianceReport:
    names: KnownNames
    findings: list[Finding] = field(default_factory=list)
    records: Counter[str] = field(default_factory=Counter)  # store -> records scanned
    settings_checked: Counter[str] = field(default_factory=Counter)  # store -> checks

    def store(self, store: str) -> None:
        """A store about to be scanned (counted even if it turns out empty)."""
        self.records[store] += 0

    def scan(self, store: str, key: str, text: str) -> None:
        """One stored record (an item as JSON, an object's text)."""
        self.records[store] += 1
        self.findings.extend(findings_in_record(store, key, text, self.names))

    def settings(self, store: str, findings: Iterable[Finding]) -> None:
        """One store's settings, checked."""
        self.settings_checked[store] += 1
        self.findings.extend(findings)

    def counts(self) -> dict[str, int]:
        by_kind: Counter[str] = Counter(f.kind for f in self.findings)
        return {
            "findings": len(self.findings),
            **{f"{kind}_findings": by_kind.get(kind, 0) for kind in KINDS},
            "stores_scanned": len(self.records),
            "records_scanned": sum(self.records.values()),
            "stores_settings_checked": len(self.settings_checked),
            "known_names": len(self.names),
        }

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.findings, key=lambda f: (f.kind == "setting", f.store, f.key, f.path))
        return {
            **self.counts(),
            "reported": [f.as_dict() for f in ordered[:MAX_REPORTED]],
            "not_reported": max(0, len(ordered) - MAX_REPORTED),
        }

"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT / "functions", ROOT / "layers" / "kernel" / "python", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# In Lambda these exist before any handler module is imported; Powertools reads them at
# import, so they are set before the first test imports one.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CognitionOSTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "test")

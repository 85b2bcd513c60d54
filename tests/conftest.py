"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT / "functions", ROOT / "layers" / "kernel" / "python", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

"""One synthesis of the CognitionOS stack per test session, cdk-nag on, bundling skipped.

Under xdist each worker that runs infra tests synthesizes once.
"""

from __future__ import annotations

import pytest
from infra_synth import Synth, synthesize


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))

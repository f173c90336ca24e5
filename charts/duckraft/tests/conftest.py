"""Fixtures for the chart render tests; the harness is chart_harness.py."""

from __future__ import annotations

import sys
from pathlib import Path

import helm_python
import pytest

# chart_harness sits beside this file; make it importable under any
# --import-mode, not only the default "prepend".
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chart_harness import CHART_DIR, render_chart  # noqa: E402


@pytest.fixture(scope="session")
def chart():
    with helm_python.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render(chart):
    """render(values) -> chart_harness.Rendered."""
    return lambda values=None: render_chart(chart, values)


@pytest.fixture(scope="session")
def render_upgrade(chart):
    """render_upgrade(values): as `helm upgrade` renders (.Release.IsUpgrade)."""
    return lambda values=None: render_chart(chart, values, upgrade=True)

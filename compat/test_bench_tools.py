"""The benchmark tools in bench/ that read the server's own output keep
working: a change to what they parse fails here, not silently in a report."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import ducklake_statement_profile  # noqa: E402


def test_statement_profile_reads_each_commit_from_the_server_log():
    result = ducklake_statement_profile.run(5)
    by_shape = {row["statement"]: row for row in result["statements"]}
    assert by_shape["COMMIT"]["per_commit"] == 1.0
    assert any(s.startswith("INSERT INTO \"public\".ducklake_snapshot VALUES") for s in by_shape)
    assert result["server_cpu_ms_per_commit"] > 0
    assert 0 < result["server_statement_ms_per_commit"] <= result["wall_ms_per_commit"]
    assert abs(sum(row["share"] for row in result["statements"]) - 1.0) < 1e-6

"""duckraft gaps the differential suite has found and that are not fixed yet.

Each entry is a test id (with its duckraft parameter) and what was observed.
They run as strict expected failures: the run reports them, and a gap that
starts passing fails the suite until it is removed from this list. It is
empty now; a gap found later goes here with what was observed, and keeps
issue 2's compatibility items open until it is fixed.

The 3-node cluster (the ``cluster`` parameter) runs the same SQL layer: its
sessions read through the same local engine session and its writes are
applied by the same DuckDB engine after the same rewrites. So every gap in
``KNOWN_GAPS`` applies to ``[cluster...]`` too (``gap_for``), unless its id
is in ``STANDALONE_ONLY``. ``CLUSTER_GAPS`` would hold gaps of the
replication layer itself; it is empty on purpose: what the cluster does not
replicate yet (writes inside BEGIN ... COMMIT, 0A000) must show as failures,
not be hidden here.
"""

KNOWN_GAPS: dict[str, str] = {}

# Ids from KNOWN_GAPS whose gap is specific to the standalone node (none yet).
STANDALONE_ONLY: set[str] = set()

# Gaps of the replication layer only, by cluster test id. Keep empty unless
# a gap is understood and tracked; never for missing features.
CLUSTER_GAPS: dict[str, str] = {}


def gap_for(test_id: str) -> str | None:
    """The known gap of a test id, if any ('test_x.py::test_y[cluster-inlined]')."""
    if test_id in KNOWN_GAPS:
        return KNOWN_GAPS[test_id]
    if test_id in CLUSTER_GAPS:
        return CLUSTER_GAPS[test_id]
    if "[cluster" in test_id:
        standalone = test_id.replace("[cluster", "[duckraft", 1)
        if standalone in KNOWN_GAPS and standalone not in STANDALONE_ONLY:
            return f"{KNOWN_GAPS[standalone]} (shared SQL layer; same gap as {standalone})"
    return None

"""Render harness for the duckraft Helm chart (fixtures live in conftest.py).

A uniquely named module, so that running these tests in one pytest session
with other test directories cannot pick up another directory's conftest.

Helm v4 runs in-process: `helm-python-sdk` (import name `helm_python`) binds
with ctypes to libhelm_c, Helm's Go SDK built as a C library and shipped in
the wheel. `helm_python.lint` is `helm lint`; `Chart.render` is
`helm template` (values schema checked first, then the templates, offline;
`lookup` returns nothing; `.Release.IsInstall` unless rendered as an
upgrade, like `helm template --is-upgrade`). No helm binary, cluster or
network is used.

Every rendered manifest is validated with `kubernetes-validate` against the
strict schema of KUBERNETES_VERSION, except the kinds in
NOT_IN_KUBERNETES_SCHEMA, whose CRDs are not part of Kubernetes; the tests
assert those objects' fields directly instead.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml

CHART_DIR = Path(__file__).resolve().parent.parent
RUNBOOK = CHART_DIR.parent.parent / "docs" / "operations" / "kubernetes.md"
RELEASE = "duckraft"
NAMESPACE = "db"
KUBERNETES_VERSION = "1.37.0"

# (apiVersion, kind) of custom resources: skipped by kubernetes-validate,
# asserted field by field in test_duckraft_chart.py.
NOT_IN_KUBERNETES_SCHEMA = frozenset(
    {
        ("cert-manager.io/v1", "Certificate"),
        ("cert-manager.io/v1", "Issuer"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
    }
)

# The value sets every test module can render. Each must render and validate.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "five-replicas": {
        "replicas": 5,
        "membership": {"initialReplicas": 5},
        "podDisruptionBudget": {"maxUnavailable": 2},
    },
    "user-tls-secret": {"tls": {"existingSecret": "duckraft-tls"}},
    "custom-storage": {
        "persistence": {
            "size": "200Gi",
            "storageClass": "fast-ssd",
            "accessModes": ["ReadWriteOncePod"],
            "retentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
        }
    },
    "issuer-and-servicemonitor": {
        "tls": {
            "certManager": {
                "createSelfSignedIssuer": False,
                "issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer"},
            }
        },
        "metrics": {"serviceMonitor": {"enabled": True}},
    },
    "single-node-without-tls": {
        "replicas": 1,
        "membership": {"initialReplicas": 1},
        "quorum": {"allowFewerThanThreeReplicas": True},
        "tls": {"enabled": False},
    },
}

# Value sets only an upgrade renders (`helm template --is-upgrade`): states a
# cluster reaches after its install. Each must render and validate too.
UPGRADE_VALUE_SETS: dict[str, dict[str, Any]] = {
    # Installed with 3, scaled to 5: duckraft-3 and -4 join once added.
    "scaled-from-three-to-five": {"replicas": 5},
    # Installed with 5, two members removed, scaled to 3.
    "scaled-from-five-to-three": {"membership": {"initialReplicas": 5}},
    # Pods that start with an empty volume join instead of bootstrapping.
    "join": {"membership": {"join": True}},
}


@dataclass
class Rendered:
    """The manifests of one `helm template`, in render order."""

    documents: list[dict[str, Any]]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if doc["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        matches = [
            doc for doc in self.all(kind) if name is None or doc["metadata"]["name"] == name
        ]
        assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
        return matches[0]

    @property
    def statefulset(self) -> dict[str, Any]:
        return self.one("StatefulSet")

    @property
    def pod_spec(self) -> dict[str, Any]:
        return self.statefulset["spec"]["template"]["spec"]

    @property
    def container(self) -> dict[str, Any]:
        containers = self.pod_spec["containers"]
        assert [c["name"] for c in containers] == ["duckraft"]
        return containers[0]

    def arg(self, flag: str) -> str | None:
        """The value that follows `flag` in the container args, or None."""
        args = self.container["args"]
        if flag not in args:
            return None
        assert args.count(flag) == 1, f"{flag} given twice"
        return args[args.index(flag) + 1]


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two values dicts (override wins), leaving both untouched."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def render_chart(
    chart: helm_python.Chart,
    values: dict[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    upgrade: bool = False,
) -> Rendered:
    """`helm template` of the release (`--is-upgrade` with upgrade=True).

    Raises helm_python.HelmError on refusal.
    """
    manifests = chart.render(
        values or {},
        name=release,
        namespace=namespace,
        is_install=not upgrade,
        is_upgrade=upgrade,
    )
    documents: list[dict[str, Any]] = []
    for template in sorted(manifests):
        if not template.endswith(".yaml"):
            continue  # NOTES.txt
        documents.extend(doc for doc in yaml.safe_load_all(manifests[template]) if doc)
    return Rendered(documents)


def validate_against_kubernetes(document: dict[str, Any]) -> bool:
    """Validate one manifest; False when its kind is a skipped custom resource."""
    if (document["apiVersion"], document["kind"]) in NOT_IN_KUBERNETES_SCHEMA:
        return False
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    return True

"""What `helm template` produces for duckraft, and what it refuses.

Each test reads as one promise of the chart to an operator: where the
nodes find each other, what keeps quorum through disruptions, how a pod is
judged ready, how it shuts down, and which settings never render.
"""

from __future__ import annotations

import re

import helm_python
import pytest

from chart_harness import (
    CHART_DIR,
    KUBERNETES_VERSION,
    NAMESPACE,
    NOT_IN_KUBERNETES_SCHEMA,
    RUNBOOK,
    UPGRADE_VALUE_SETS,
    VALUE_SETS,
    merge,
    render_chart,
    validate_against_kubernetes,
)

HEADLESS = "duckraft-headless"


def pod_names(count: int) -> list[str]:
    return [f"duckraft-{ordinal}" for ordinal in range(count)]


def pod_fqdn(pod: str) -> str:
    return f"{pod}.{HEADLESS}.{NAMESPACE}.svc.cluster.local"


# --- Helm lint, schema and Kubernetes validation, for every value set ----------


ALL_VALUE_SETS = {**VALUE_SETS, **UPGRADE_VALUE_SETS}


@pytest.mark.parametrize("value_set", sorted(ALL_VALUE_SETS))
def test_helm_lint_passes_strict(value_set):
    report = helm_python.lint(
        CHART_DIR,
        ALL_VALUE_SETS[value_set],
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{KUBERNETES_VERSION}",
    )
    assert report["errors"] == []
    warnings = [m for m in report["messages"] if m["severity"] >= 2]
    assert warnings == []


@pytest.mark.parametrize(
    "value_set",
    sorted(VALUE_SETS) + [f"upgrade:{name}" for name in sorted(UPGRADE_VALUE_SETS)],
)
def test_every_manifest_validates_against_the_kubernetes_schema(
    render, render_upgrade, value_set
):
    if value_set.startswith("upgrade:"):
        rendered = render_upgrade(UPGRADE_VALUE_SETS[value_set.removeprefix("upgrade:")])
    else:
        rendered = render(VALUE_SETS[value_set])
    validated = [doc["kind"] for doc in rendered.documents if validate_against_kubernetes(doc)]
    skipped = {
        (doc["apiVersion"], doc["kind"])
        for doc in rendered.documents
        if (doc["apiVersion"], doc["kind"]) in NOT_IN_KUBERNETES_SCHEMA
    }
    assert {"StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap"} <= set(validated)
    assert skipped <= NOT_IN_KUBERNETES_SCHEMA


def test_the_values_schema_accepts_the_defaults_and_rejects_a_password_in_values(chart):
    chart.validate_schema({})
    with pytest.raises(helm_python.HelmValuesError, match="password"):
        chart.validate_schema({"auth": {"password": "hunter2"}})
    with pytest.raises(helm_python.HelmValuesError, match="replicas"):
        chart.validate_schema({"replicas": "three"})
    with pytest.raises(helm_python.HelmValuesError, match="initialReplicas"):
        chart.validate_schema({"membership": {"initialReplicas": 2.5}})
    with pytest.raises(helm_python.HelmValuesError, match="bootstrap"):
        chart.validate_schema({"membership": {"bootstrap": ["duckraft-0"]}})


def test_the_stable_top_level_values_keys_exist(chart):
    values = chart.values
    assert values["replicas"] == 3
    assert values["tls"]["enabled"] is True
    assert values["persistence"]["size"] == "20Gi"
    assert values["auth"]["existingSecret"] == "duckraft-auth"
    assert values["membership"] == {"initialReplicas": 3, "join": False}


# --- Workloads and services ---------------------------------------------------


def test_services_expose_the_postgres_peer_and_http_ports(render):
    rendered = render()
    container_ports = {p["name"]: p["containerPort"] for p in rendered.container["ports"]}
    assert container_ports == {"pg": 5433, "peer": 7433, "http": 8433}

    headless = rendered.one("Service", HEADLESS)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert {(p["name"], p["port"], p["targetPort"]) for p in headless["spec"]["ports"]} == {
        ("pg", 5433, "pg"),
        ("peer", 7433, "peer"),
        ("http", 8433, "http"),
    }

    client = rendered.one("Service", "duckraft")
    assert client["spec"]["type"] == "ClusterIP"
    assert client["spec"].get("clusterIP") != "None"
    assert client["spec"]["publishNotReadyAddresses"] is False
    assert client["spec"]["ports"] == [
        {"name": "pg", "port": 5433, "targetPort": "pg", "protocol": "TCP"}
    ]

    selector = rendered.statefulset["spec"]["selector"]["matchLabels"]
    pod_labels = rendered.statefulset["spec"]["template"]["metadata"]["labels"]
    for service in (headless, client):
        assert service["spec"]["selector"] == selector
        assert selector.items() <= pod_labels.items()


def test_the_client_service_port_is_configurable_and_targets_5433(render):
    client = render({"service": {"port": 5432, "type": "LoadBalancer"}}).one("Service", "duckraft")
    assert client["spec"]["type"] == "LoadBalancer"
    assert client["spec"]["ports"][0]["port"] == 5432
    assert client["spec"]["ports"][0]["targetPort"] == "pg"


def test_the_statefulset_has_stable_ordinals_behind_the_headless_service(render):
    spec = render().statefulset["spec"]
    assert spec["serviceName"] == HEADLESS
    assert spec["replicas"] == 3
    # Parallel: a new cluster needs a majority up before anyone is ready.
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}


@pytest.mark.parametrize("replicas", [3, 5])
def test_peers_are_the_pods_headless_dns_names_and_node_id_is_the_pod_name(render, replicas):
    values = merge(
        VALUE_SETS["defaults"],
        {
            "replicas": replicas,
            "membership": {"initialReplicas": replicas},
            "podDisruptionBudget": {"maxUnavailable": 1},
        },
    )
    rendered = render(values)

    expected = [f"{pod}={pod_fqdn(pod)}:7433" for pod in pod_names(replicas)]
    assert rendered.arg("--peers").split(",") == expected

    assert rendered.container["command"] == ["duckraft"]
    assert rendered.container["args"][0] == "serve"
    assert rendered.arg("--node-id") == "$(POD_NAME)"
    pod_name_env = next(e for e in rendered.container["env"] if e["name"] == "POD_NAME")
    assert pod_name_env["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert rendered.arg("--pg-listen") == "0.0.0.0:5433"
    assert rendered.arg("--peer-listen") == "0.0.0.0:7433"
    assert rendered.arg("--http-listen") == "0.0.0.0:8433"
    assert rendered.arg("--config") == "/etc/duckraft/duckraft.toml"

    # The per-pod certificates name the same hosts the peers dial.
    certificates = {
        c["metadata"]["name"]: c for c in rendered.all("Certificate") if not c["spec"].get("isCA")
    }
    assert sorted(certificates) == [f"{pod}-tls" for pod in pod_names(replicas)]


def test_another_release_name_keeps_peers_certificates_and_services_in_step(chart):
    rendered = render_chart(chart, release="analytics", namespace="warehouse")
    headless = "analytics-duckraft-headless"
    assert rendered.statefulset["metadata"]["name"] == "analytics-duckraft"
    assert rendered.statefulset["spec"]["serviceName"] == headless
    rendered.one("Service", headless)
    pods = [f"analytics-duckraft-{ordinal}" for ordinal in range(3)]
    fqdns = [f"{pod}.{headless}.warehouse.svc.cluster.local" for pod in pods]
    assert rendered.arg("--peers") == ",".join(
        f"{pod}={fqdn}:7433" for pod, fqdn in zip(pods, fqdns)
    )
    assert rendered.arg("--initial-members") == ",".join(pods)
    for pod, fqdn in zip(pods, fqdns):
        assert rendered.one("Certificate", f"{pod}-tls")["spec"]["dnsNames"][:2] == [pod, fqdn]


# --- Disruption budget and storage ---------------------------------------------


def test_the_pdb_allows_one_voluntary_disruption_by_default(render):
    rendered = render()
    pdb = rendered.one("PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert "minAvailable" not in pdb["spec"]
    assert pdb["spec"]["selector"] == rendered.statefulset["spec"]["selector"]


def test_the_pdb_may_allow_a_minority_of_five_or_require_a_majority(render):
    assert render(VALUE_SETS["five-replicas"]).one("PodDisruptionBudget")["spec"] == {
        "maxUnavailable": 2,
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "duckraft",
                "app.kubernetes.io/instance": "duckraft",
            }
        },
    }
    spec = render(
        {
            "replicas": 5,
            "membership": {"initialReplicas": 5},
            "podDisruptionBudget": {"maxUnavailable": None, "minAvailable": 3},
        }
    ).one("PodDisruptionBudget")["spec"]
    assert spec["minAvailable"] == 3
    assert "maxUnavailable" not in spec


def test_data_lives_on_a_volume_claim_template_mounted_at_data(render):
    rendered = render()
    (claim,) = rendered.statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in claim["spec"]  # the cluster default
    mounts = {m["name"]: m for m in rendered.container["volumeMounts"]}
    assert mounts["data"]["mountPath"] == "/data"
    assert rendered.arg("--data-dir") == "/data/duckraft"
    assert "data" not in {v["name"] for v in rendered.pod_spec["volumes"]}
    assert rendered.statefulset["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }


def test_custom_storage_class_size_and_retention(render):
    spec = render(VALUE_SETS["custom-storage"]).statefulset["spec"]
    claim = spec["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "fast-ssd"
    assert claim["resources"]["requests"]["storage"] == "200Gi"
    assert claim["accessModes"] == ["ReadWriteOncePod"]
    assert spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"

    no_class = render({"persistence": {"storageClass": "-"}}).statefulset["spec"]
    assert no_class["volumeClaimTemplates"][0]["spec"]["storageClassName"] == ""


# --- Probes and shutdown --------------------------------------------------------


def test_probes_run_duckraft_probe_ready_and_live(render):
    container = render().container
    assert container["readinessProbe"]["exec"]["command"] == ["duckraft", "probe", "ready"]
    assert container["livenessProbe"]["exec"]["command"] == ["duckraft", "probe", "live"]
    assert container["startupProbe"]["exec"]["command"] == ["duckraft", "probe", "live"]
    startup = container["startupProbe"]
    # Long enough for a reseed from peers: one hour by default.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 3600
    # The readiness probe authenticates as `duckraft` with this password.
    password = next(e for e in container["env"] if e["name"] == "DUCKRAFT_PASSWORD")
    assert password["valueFrom"] == {
        "secretKeyRef": {"name": "duckraft-auth", "key": "password"}
    }


def test_prestop_drains_within_the_termination_grace_period(render):
    rendered = render()
    assert rendered.container["lifecycle"]["preStop"]["exec"]["command"] == ["duckraft", "drain"]
    assert rendered.pod_spec["terminationGracePeriodSeconds"] == 90 + 30

    longer = render({"drain": {"timeoutSeconds": 300, "shutdownSeconds": 20}})
    assert longer.pod_spec["terminationGracePeriodSeconds"] == 320


# --- Placement and hardening ------------------------------------------------------


def test_pods_prefer_separate_nodes_and_spread_over_zones(render):
    rendered = render()
    selector = rendered.statefulset["spec"]["selector"]["matchLabels"]
    anti = rendered.pod_spec["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    (preferred,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert preferred["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector

    spread = {c["topologyKey"]: c for c in rendered.pod_spec["topologySpreadConstraints"]}
    assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"]["matchLabels"] == selector


def test_the_pod_runs_under_a_restricted_security_context(render):
    rendered = render()
    pod = rendered.pod_spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 65532
    assert pod["fsGroup"] == 65532
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}

    container = rendered.container["securityContext"]
    assert container["runAsNonRoot"] is True
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["privileged"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["seccompProfile"] == {"type": "RuntimeDefault"}

    assert rendered.pod_spec["automountServiceAccountToken"] is False
    assert rendered.one("ServiceAccount")["automountServiceAccountToken"] is False
    mounts = {m["mountPath"] for m in rendered.container["volumeMounts"]}
    assert "/tmp" in mounts  # the only writable paths are /tmp and /data


def test_resources_have_requests_and_limits(render):
    resources = render().container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


# --- Configuration and metrics ------------------------------------------------------


def test_the_configmap_carries_config_as_toml_and_rolls_the_pods(render):
    default = render()
    configured = render({"config": {"log": {"level": "debug"}}})
    toml = configured.one("ConfigMap")["data"]["duckraft.toml"]
    assert re.search(r'^\[log\]\n\s*level = "debug"$', toml, re.MULTILINE)
    volumes = {v["name"]: v for v in configured.pod_spec["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "duckraft"

    def checksum(rendered):
        return rendered.statefulset["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"
        ]

    assert checksum(default) != checksum(configured)


def test_prometheus_scrapes_the_http_port(render):
    annotations = render().statefulset["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8433"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert render().all("ServiceMonitor") == []


def test_the_servicemonitor_toggle_scrapes_every_pod_through_the_headless_service(render):
    rendered = render(VALUE_SETS["issuer-and-servicemonitor"])
    monitor = rendered.one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    headless = rendered.one("Service", HEADLESS)
    assert monitor["spec"]["selector"]["matchLabels"].items() <= headless["metadata"][
        "labels"
    ].items()
    client = rendered.one("Service", "duckraft")
    assert not monitor["spec"]["selector"]["matchLabels"].items() <= client["metadata"][
        "labels"
    ].items()


# --- Membership -------------------------------------------------------------------


def test_the_bootstrap_members_are_every_pod_of_a_fresh_install(render):
    rendered = render()
    assert rendered.arg("--initial-members") == "duckraft-0,duckraft-1,duckraft-2"
    assert "--join" not in rendered.container["args"]
    assert rendered.statefulset["spec"]["replicas"] == 3


def test_a_five_pod_install_bootstraps_with_all_five(render):
    rendered = render(VALUE_SETS["five-replicas"])
    assert rendered.arg("--initial-members").split(",") == pod_names(5)
    assert len(rendered.arg("--peers").split(",")) == 5


def test_scaling_up_keeps_the_install_time_bootstrap_members(render_upgrade):
    # helm upgrade --reuse-values --set replicas=5 of a 3-pod install:
    # duckraft-3 and duckraft-4 get addresses and certificates, and start
    # outside the cluster until ALTER CLUSTER ADD MEMBER.
    rendered = render_upgrade(UPGRADE_VALUE_SETS["scaled-from-three-to-five"])
    assert rendered.statefulset["spec"]["replicas"] == 5
    assert rendered.arg("--initial-members").split(",") == pod_names(3)
    assert rendered.arg("--peers").split(",") == [
        f"{pod}={pod_fqdn(pod)}:7433" for pod in pod_names(5)
    ]
    assert sorted(
        c["metadata"]["name"] for c in rendered.all("Certificate") if not c["spec"].get("isCA")
    ) == [f"{pod}-tls" for pod in pod_names(5)]
    assert "--join" not in rendered.container["args"]


def test_scaling_down_keeps_the_install_time_bootstrap_members(render_upgrade):
    # Installed with 5; duckraft-4 and duckraft-3 removed, then replicas=3.
    rendered = render_upgrade(UPGRADE_VALUE_SETS["scaled-from-five-to-three"])
    assert rendered.statefulset["spec"]["replicas"] == 3
    assert rendered.arg("--initial-members").split(",") == pod_names(5)
    assert len(rendered.arg("--peers").split(",")) == 3


def test_membership_join_passes_join_to_every_pod(render_upgrade):
    rendered = render_upgrade(UPGRADE_VALUE_SETS["join"])
    args = rendered.container["args"]
    assert args.count("--join") == 1
    # A bare flag: what follows it is the next flag, not a value.
    assert args[args.index("--join") + 1].startswith("--")
    assert rendered.arg("--initial-members") == "duckraft-0,duckraft-1,duckraft-2"
    assert "--join" in rendered.one("ConfigMap")["data"]["duckraft.toml"]


def test_the_membership_guards_also_hold_on_upgrades(render_upgrade):
    with pytest.raises(helm_python.HelmRenderError) as refusal:
        render_upgrade({"membership": {"initialReplicas": 0}})
    assert "duckraft: membership.initialReplicas=0 must be a whole number of at least 1" in str(
        refusal.value
    )
    # A release made before `membership` existed, upgraded with
    # --reuse-values, has no such value: the guard says so.
    with pytest.raises(helm_python.HelmRenderError) as refusal:
        render_upgrade({"membership": None})
    assert "duckraft: membership.initialReplicas=<nil> must be a whole number" in str(
        refusal.value
    )


# --- mTLS -------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", ["defaults", "five-replicas"])
def test_cert_manager_issues_one_certificate_per_pod_named_pod_first(render, value_set):
    rendered = render(VALUE_SETS[value_set])
    replicas = rendered.statefulset["spec"]["replicas"]
    issuers = {i["metadata"]["name"]: i["spec"] for i in rendered.all("Issuer")}
    assert issuers == {
        "duckraft-selfsigned": {"selfSigned": {}},
        "duckraft-ca": {"ca": {"secretName": "duckraft-ca"}},
    }
    ca = rendered.one("Certificate", "duckraft-ca")["spec"]
    assert ca["isCA"] is True
    assert ca["secretName"] == "duckraft-ca"
    assert ca["issuerRef"]["name"] == "duckraft-selfsigned"

    for pod in pod_names(replicas):
        spec = rendered.one("Certificate", f"{pod}-tls")["spec"]
        assert spec["secretName"] == f"{pod}-tls"
        assert spec["dnsNames"][:2] == [pod, pod_fqdn(pod)]
        assert "duckraft.db.svc" in spec["dnsNames"]  # clients of the Service
        assert {"server auth", "client auth"} <= set(spec["usages"])
        assert spec["issuerRef"] == {
            "name": "duckraft-ca",
            "kind": "Issuer",
            "group": "cert-manager.io",
        }
        assert spec["privateKey"]["rotationPolicy"] == "Always"

    assert_tls_volume(
        rendered,
        {
            pod: (
                f"{pod}-tls",
                {"ca.crt": "ca.pem", "tls.crt": f"{pod}.pem", "tls.key": f"{pod}-key.pem"},
            )
            for pod in pod_names(replicas)
        },
    )


def test_a_given_issuer_signs_the_pod_certificates_without_a_bootstrap_ca(render):
    rendered = render(VALUE_SETS["issuer-and-servicemonitor"])
    assert rendered.all("Issuer") == []
    certificates = rendered.all("Certificate")
    assert len(certificates) == 3
    for certificate in certificates:
        assert certificate["spec"]["issuerRef"] == {
            "name": "corp-ca",
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        }


def test_a_user_supplied_tls_secret_replaces_cert_manager(render):
    rendered = render(VALUE_SETS["user-tls-secret"])
    assert rendered.all("Certificate") == [] and rendered.all("Issuer") == []
    volume = next(v for v in rendered.pod_spec["volumes"] if v["name"] == "tls")
    (source,) = volume["projected"]["sources"]
    assert source["secret"]["name"] == "duckraft-tls"
    keys = {item["key"] for item in source["secret"]["items"]}
    assert "ca-key.pem" not in keys  # never mounted, even if present
    assert_tls_volume(
        rendered,
        {
            pod: (
                "duckraft-tls",
                {"ca.pem": "ca.pem", f"{pod}.pem": f"{pod}.pem", f"{pod}-key.pem": f"{pod}-key.pem"},
            )
            for pod in pod_names(3)
        },
    )


def assert_tls_volume(rendered, expected):
    """expected: pod -> (secret name, {secret key: file name in that pod's /tls})."""
    assert rendered.arg("--tls-dir") == "/tls"
    mount = next(m for m in rendered.container["volumeMounts"] if m["name"] == "tls")
    # Each pod sees only its own directory of the projected volume.
    assert mount == {
        "name": "tls",
        "mountPath": "/tls",
        "subPathExpr": "$(POD_NAME)",
        "readOnly": True,
    }
    volume = next(v for v in rendered.pod_spec["volumes"] if v["name"] == "tls")
    assert volume["projected"]["defaultMode"] == 0o440
    actual: dict[str, tuple[str, dict[str, str]]] = {}
    for source in volume["projected"]["sources"]:
        for item in source["secret"]["items"]:
            pod, file_name = item["path"].split("/")
            secret, files = actual.setdefault(pod, (source["secret"]["name"], {}))
            assert secret == source["secret"]["name"]
            files[item["key"]] = file_name
    assert actual == expected


def test_a_single_development_node_may_run_without_tls(render):
    rendered = render(VALUE_SETS["single-node-without-tls"])
    assert rendered.arg("--tls-dir") is None
    assert "tls" not in {v["name"] for v in rendered.pod_spec["volumes"]}
    assert rendered.all("Certificate") == []
    assert rendered.arg("--peers") == f"duckraft-0={pod_fqdn('duckraft-0')}:7433"
    assert rendered.arg("--initial-members") == "duckraft-0"


# --- Fail-closed guards -------------------------------------------------------------

# (values, the message the chart refuses with). Every message is listed in the
# runbook's "Settings the chart refuses".
GUARDS = {
    "no-auth-secret": (
        {"auth": {"existingSecret": ""}},
        "duckraft: auth.existingSecret must name an existing Secret holding the superuser password",
    ),
    "zero-replicas": (
        {"replicas": 0, "quorum": {"allowFewerThanThreeReplicas": True}},
        "duckraft: replicas=0: at least one node is needed",
    ),
    "one-replica": (
        {"replicas": 1},
        "duckraft: replicas=1 cannot keep quorum through the loss of a node; use 3 or more, "
        "or set quorum.allowFewerThanThreeReplicas=true",
    ),
    "two-replicas": (
        {"replicas": 2, "quorum": {"acknowledgeEvenReplicas": True}},
        "duckraft: replicas=2 cannot keep quorum through the loss of a node",
    ),
    "even-replicas": (
        {"replicas": 4},
        "duckraft: replicas=4 is even: it tolerates no more failures than replicas=3 and needs "
        "a larger majority; use an odd count, or set quorum.acknowledgeEvenReplicas=true",
    ),
    "initial-replicas-zero": (
        {"membership": {"initialReplicas": 0}},
        "duckraft: membership.initialReplicas=0 must be a whole number of at least 1: the number "
        "of pods (ordinals from 0) that bootstrapped the cluster",
    ),
    "initial-replicas-below-replicas-on-install": (
        {"replicas": 5, "podDisruptionBudget": {"maxUnavailable": 2}},
        "duckraft: membership.initialReplicas=3 differs from replicas=5 on a first install, where "
        "the cluster bootstraps with all its pods; set membership.initialReplicas to replicas (on "
        "upgrades it stays the install-time count)",
    ),
    "initial-replicas-above-replicas-on-install": (
        {"membership": {"initialReplicas": 5}},
        "duckraft: membership.initialReplicas=5 differs from replicas=3 on a first install",
    ),
    "join-on-install": (
        {"membership": {"join": True}},
        "duckraft: membership.join=true on a first install: every pod would wait to join a "
        "cluster that no pod bootstraps; install with membership.join=false and turn it on once "
        "the pods are ready",
    ),
    "pdb-max-unavailable-loses-quorum": (
        {"podDisruptionBudget": {"maxUnavailable": 2}},
        "duckraft: podDisruptionBudget.maxUnavailable=2 allows losing quorum: replicas=3 needs "
        "2 pods up, so at most 1 may be unavailable",
    ),
    "pdb-max-unavailable-loses-quorum-of-five": (
        {
            "replicas": 5,
            "membership": {"initialReplicas": 5},
            "podDisruptionBudget": {"maxUnavailable": 3},
        },
        "duckraft: podDisruptionBudget.maxUnavailable=3 allows losing quorum: replicas=5 needs "
        "3 pods up, so at most 2 may be unavailable",
    ),
    "pdb-min-available-loses-quorum": (
        {"podDisruptionBudget": {"maxUnavailable": None, "minAvailable": 1}},
        "duckraft: podDisruptionBudget.minAvailable=1 allows losing quorum: replicas=3 needs at "
        "least 2 pods up",
    ),
    "pdb-both-set": (
        {"podDisruptionBudget": {"maxUnavailable": 1, "minAvailable": 2}},
        "duckraft: set only one of podDisruptionBudget.maxUnavailable and "
        "podDisruptionBudget.minAvailable",
    ),
    "pdb-none-set": (
        {"podDisruptionBudget": {"maxUnavailable": None}},
        "duckraft: podDisruptionBudget needs maxUnavailable or minAvailable",
    ),
    "cluster-without-mtls": (
        {"tls": {"enabled": False}},
        "duckraft: replicas=3 is cluster mode, which requires mTLS between peers; set "
        "tls.enabled=true",
    ),
    "tls-without-a-source": (
        {"tls": {"certManager": {"enabled": False}}},
        "duckraft: tls.enabled=true needs a certificate source: tls.certManager.enabled=true or "
        "tls.existingSecret",
    ),
    "cert-manager-without-an-issuer": (
        {"tls": {"certManager": {"createSelfSignedIssuer": False}}},
        "duckraft: tls.certManager.createSelfSignedIssuer=false needs "
        "tls.certManager.issuerRef.name",
    ),
}


@pytest.mark.parametrize("guard", sorted(GUARDS))
def test_render_refuses_settings_that_cannot_keep_quorum_or_secrets(render, guard):
    values, message = GUARDS[guard]
    with pytest.raises(helm_python.HelmRenderError) as refusal:
        render(values)
    assert message in str(refusal.value)


def refusal_message(error: helm_python.HelmError) -> str:
    """The guard's own text: Helm prefixes it with the template position."""
    text = str(error)
    return text[text.index("duckraft: ") :].strip()


def numbers_as_n(text: str) -> str:
    return re.sub(r"\d+", "N", text)


@pytest.mark.parametrize("guard", sorted(GUARDS))
def test_every_refusal_is_documented_word_for_word_in_the_runbook(render, guard):
    with pytest.raises(helm_python.HelmRenderError) as refusal:
        render(GUARDS[guard][0])
    # The runbook writes numbers as N: "replicas=N cannot keep quorum ...".
    message = numbers_as_n(refusal_message(refusal.value))
    assert message in numbers_as_n(RUNBOOK.read_text()), f"{message!r} is not in {RUNBOOK}"


@pytest.mark.parametrize(
    "values",
    [
        {
            "replicas": 4,
            "membership": {"initialReplicas": 4},
            "quorum": {"acknowledgeEvenReplicas": True},
        },
        {
            "replicas": 2,
            "membership": {"initialReplicas": 2},
            "quorum": {"allowFewerThanThreeReplicas": True, "acknowledgeEvenReplicas": True},
        },
        {"podDisruptionBudget": {"maxUnavailable": 0}},
    ],
    ids=["four-acknowledged", "two-with-both-overrides", "pdb-blocks-all-evictions"],
)
def test_explicit_overrides_render(render, values):
    rendered = render(values)
    for document in rendered.documents:
        validate_against_kubernetes(document)

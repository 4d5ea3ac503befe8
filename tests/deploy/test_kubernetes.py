"""deploy/kubernetes/: every manifest is valid against the Kubernetes 1.30 schemas in strict
mode (unknown fields rejected; kubernetes-validate ships the schemas, so this runs offline),
and the manifests say what running on Kubernetes needs: two replicas probed on /healthz and
/readyz, requests, a non-root numeric user equal to the Dockerfile's, a Job that migrates,
and configuration names the bot actually reads.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.settings import Settings
from tests.deploy.dockerfile import ROOT, image_user

MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"
PORT = 3000
# The names of the bot's own variables, wherever they appear (values, keys, comments).
_ENV_NAME = re.compile(r"\b(?:APPROVALS|SLACK|TEAMS)_[A-Z0-9_]+\b")

Manifest = dict[str, Any]


def _documents() -> list[tuple[Path, Manifest]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                found.append((path, document))
    return found


def _one(kind: str) -> Manifest:
    matching = [document for _, document in _documents() if document["kind"] == kind]
    assert len(matching) == 1, f"expected one {kind}, found {len(matching)}"
    return matching[0]


def _pod(workload: Manifest) -> Manifest:
    pod: Manifest = workload["spec"]["template"]["spec"]
    return pod


def _container(workload: Manifest) -> Manifest:
    (container,) = _pod(workload)["containers"]
    return dict(container)


def _effective(workload: Manifest, key: str) -> Any:
    """A security setting as it applies: the container's, else the pod's."""
    container = _container(workload).get("securityContext", {})
    if key in container:
        return container[key]
    return _pod(workload).get("securityContext", {}).get(key)


def test_every_kind_is_there() -> None:
    kinds = sorted(document["kind"] for _, document in _documents())
    assert kinds == ["ConfigMap", "Deployment", "Job", "Secret", "Service"]


@pytest.mark.parametrize(
    ("path", "document"),
    _documents(),
    ids=[f"{p.name}:{d['kind']}" for p, d in _documents()],
)
def test_valid_against_the_kubernetes_schemas(path: Path, document: Manifest) -> None:
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path)
        pytest.fail(f"{path.name}: {where}: {error.message}")


def test_strict_validation_rejects_a_misspelt_field() -> None:
    deployment = copy.deepcopy(_one("Deployment"))
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGett"] = probe.pop("httpGet")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _port_number(container: Manifest, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return int(number)


def test_deployment_runs_two_replicas_probed_on_health_and_readiness() -> None:
    deployment = _one("Deployment")
    assert deployment["spec"]["replicas"] == 2
    container = _container(deployment)
    assert container["args"] == ["serve"]
    assert [p["containerPort"] for p in container["ports"]] == [PORT]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert _port_number(container, get["port"]) == PORT, probe
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()


def test_service_reaches_the_deployments_port() -> None:
    service, deployment = _one("Service"), _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert _port_number(_container(deployment), port["targetPort"]) == PORT


def test_migration_job_runs_migrate_once_with_the_deployments_image() -> None:
    job, deployment = _one("Job"), _one("Deployment")
    container = _container(job)
    assert container["args"] == ["migrate"]
    assert container["image"] == _container(deployment)["image"]
    assert job["spec"].get("parallelism", 1) == 1
    assert job["spec"].get("completions", 1) == 1
    assert _pod(job)["restartPolicy"] in ("Never", "OnFailure")


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_workloads_are_locked_down(kind: str) -> None:
    workload = _one(kind)
    uid, gid = image_user()
    assert _effective(workload, "runAsNonRoot") is True
    assert _effective(workload, "runAsUser") == uid
    if gid is not None:
        assert _effective(workload, "runAsGroup") == gid
    assert _effective(workload, "allowPrivilegeEscalation") is False
    assert _effective(workload, "readOnlyRootFilesystem") is True
    assert _effective(workload, "capabilities") == {"drop": ["ALL"]}
    assert _effective(workload, "seccompProfile") == {"type": "RuntimeDefault"}
    requests = _container(workload)["resources"]["requests"]
    assert {"cpu", "memory"} <= requests.keys()
    # A Service named "approvals" would otherwise inject APPROVALS_PORT=tcp://... into the pod.
    assert _pod(workload)["enableServiceLinks"] is False
    mounts = {m["mountPath"] for m in _container(workload).get("volumeMounts", [])}
    assert "/tmp" in mounts  # noqa: S108 (an emptyDir, where Python's tempfile writes)


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_workloads_read_the_configmap_and_the_secret(kind: str) -> None:
    sources = _container(_one(kind))["envFrom"]
    configmap = [s["configMapRef"]["name"] for s in sources if "configMapRef" in s]
    secret = [s["secretRef"]["name"] for s in sources if "secretRef" in s]
    assert configmap == [_one("ConfigMap")["metadata"]["name"]]
    assert secret == [_one("Secret")["metadata"]["name"]]


def test_every_variable_named_is_one_the_bot_reads() -> None:
    known = set(Settings.model_fields)
    named = {
        name
        for path in MANIFESTS.glob("*.yaml")
        for name in _ENV_NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert named, "the manifests name no variables"
    assert named <= known, f"not settings of the bot: {sorted(named - known)}"
    data = {**_one("ConfigMap")["data"], **_one("Secret")["stringData"]}
    needed = {"APPROVALS_DATABASE_URL", "APPROVALS_API_TOKEN", "APPROVALS_LINK_SECRET"}
    assert needed | {"APPROVALS_PUBLIC_URL"} <= data.keys()
    assert needed <= _one("Secret")["stringData"].keys()  # secrets are never in the ConfigMap


def test_the_example_secret_holds_placeholders_and_valid_settings() -> None:
    secret = _one("Secret")["stringData"]
    for name in ("APPROVALS_DATABASE_URL", "APPROVALS_API_TOKEN", "APPROVALS_LINK_SECRET"):
        assert "REPLACE-ME" in secret[name], name
    assert secret["APPROVALS_DATABASE_URL"].startswith("postgresql+asyncpg://")
    # The example, as written, is a configuration the bot accepts.
    settings = Settings.model_validate({**_one("ConfigMap")["data"], **secret})
    assert settings.APPROVALS_PORT == PORT

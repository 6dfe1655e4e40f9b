"""deploy/kubernetes/: valid against the Kubernetes schemas (PyPI's kubernetes-validate), the operator CRDs checked
against the schema of the fields we use (deploy/kubernetes/crd-schemas/), and consistent with the exporter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from exporter.config.config_file import load_config

MANIFESTS = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
CRDS = {"ServiceMonitor": "monitoring.coreos.com/v1", "VMServiceScrape": "operator.victoriametrics.com/v1beta1"}


def manifests() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out[doc["kind"]] = doc
    return out


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret", "Service", "StatefulSet"])
@pytest.mark.parametrize("version", ["1.28.0", "1.30.0"])
def test_core_manifests_validate_strictly(kind: str, version: str) -> None:
    kubernetes_validate.validate(manifests()[kind], version, strict=True)


@pytest.mark.parametrize("kind", list(CRDS))
def test_operator_resources_validate_against_their_crd_fields(kind: str) -> None:
    doc = manifests()[kind]
    assert doc["apiVersion"] == CRDS[kind]
    schema = json.loads((MANIFESTS / "crd-schemas" / "endpoints.json").read_text())
    jsonschema.validate(doc, schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema does catch a typo
        jsonschema.validate({**doc, "spec": {**doc["spec"], "endpoint": []}}, schema)


def test_the_pieces_fit_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = manifests()
    sts, service = m["StatefulSet"], m["Service"]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    args = dict(a.lstrip("-").split("=", 1) for a in container["args"])
    assert args["shard"] == f"auto/{sts['spec']['replicas']}"  # one share per replica
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert sts["spec"]["serviceName"] == service["metadata"]["name"]
    assert container["ports"][0] == {"name": "metrics", "containerPort": 9787}
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    for kind in CRDS:
        assert m[kind]["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert m[kind]["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    # the ConfigMap's config loads with the Secret's variables, at the path the args name
    mount = container["volumeMounts"][0]["mountPath"]
    assert args["config"] == f"{mount}/exporter.yml"
    for key in m["Secret"]["stringData"]:
        monkeypatch.setenv(key, "value")
    path = tmp_path / "exporter.yml"
    path.write_text(m["ConfigMap"]["data"]["exporter.yml"])
    config = load_config(str(path))
    assert config.discovery is not None and config.pmm is not None
    assert sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001  # the image's user

"""The simulated PMM answers as PMM's published API does: every field of every answer it gives, in each release it
claims, is declared by that release's OpenAPI files (field lists in tests/pmm_api_fields.py, with their source),
and on PMM 3, which emits unpopulated fields (grpc-gateway EmitUnpopulated), every declared field is sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pbm_pmm_simulator import SimReplicaSet
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.pmm_api_fields import DECLARED

TOKEN = "glsa_simulatedToken_0123"


def object_paths(doc: Any, path: str = "") -> Iterator[tuple[str, set[str]]]:
    """(JSON path, keys) of every object in an answer, lists' items at "<path>[]"."""
    if isinstance(doc, dict):
        yield path, set(doc)
        for key, value in doc.items():
            yield from object_paths(value, f"{path}.{key}" if path else key)
    elif isinstance(doc, list):
        for item in doc:
            yield from object_paths(item, path + "[]")


def undeclared(answer: Any, declared: dict[str, list[str] | str]) -> dict[str, list[str]]:
    """The keys of the answer its spec does not declare, by JSON path (a map's keys are free)."""
    found: dict[str, list[str]] = {}
    for path, keys in object_paths(answer):
        fields = declared.get(path)
        if fields == "*":
            continue
        extra = sorted(keys - set(fields or ()))
        if extra:
            found[path] = extra
    return found


def not_sent(answer: Any, declared: dict[str, list[str] | str]) -> dict[str, list[str]]:
    """The declared fields no object at a JSON path carries (the objects of a list together: a oneof's members
    are spread over them, as the locations' s3_config and filesystem_config)."""
    seen: dict[str, set[str]] = {}
    for path, keys in object_paths(answer):
        seen.setdefault(path, set()).update(keys)
    return {path: sorted(set(declared[path]) - keys) for path, keys in seen.items()
            if isinstance(declared.get(path), list) and set(declared[path]) - keys}


@pytest.mark.parametrize("version", sorted(DECLARED))
def test_every_simulated_answer_is_declared_by_pmms_api_of_its_release(version: str) -> None:
    with SimReplicaSet() as rs, SimPMMServer(version=version, token=TOKEN) as pmm:
        s3 = pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AKIASIMULATED", "SIMULATED/KEY")
        pmm.add_location_filesystem("nfs", "/mnt/backups")
        service = pmm.register_replica_set(rs, cluster="prod-rs")[rs.hosts[0]]
        pmm.add_node("db-container", "10.0.0.9", node_type="CONTAINER_NODE")
        pmm.add_scheduled_backup(service, s3, name="nightly", folder="prod-rs")
        artifact = pmm.add_artifact(service, s3, name="nightly-1", folder="prod-rs")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        problems = {}
        for endpoint, declared in DECLARED[version].items():
            method, path = endpoint.split(" ", 1)
            url = pmm.url + path.replace("{artifact_id}", artifact)
            if method == "GET":
                params = {"service_id": service} if path == "/v1/management/agents" else {}
                response = requests.get(url, params=params, headers=headers, timeout=5)
            else:
                body = ({"artifact_id": artifact} if "Compatible" in path else
                        {"service_id": service} if path.endswith("/Agent/List") else {})
                response = requests.post(url, json=body, headers=headers, timeout=5)
            assert response.status_code == 200, (endpoint, response.text)
            extra = undeclared(response.json(), declared)
            missing = not_sent(response.json(), declared) if pmm.major >= 3 else {}
            if extra or missing:
                problems[endpoint] = {"undeclared": extra, "not sent": missing}
        assert problems == {}


def test_the_check_finds_a_field_the_spec_does_not_declare() -> None:
    # the field that started this (issue 29 item 9): PMM 3.9.0's Settings has no update_snooze_duration
    declared = DECLARED["3.9.0"]["GET /v1/server/settings"]
    answer = {"settings": {"updates_enabled": True, "update_snooze_duration": "0s"}}
    assert undeclared(answer, declared) == {"settings": ["update_snooze_duration"]}
    assert "enable_internal_pg_qan" in declared["settings"] and \
        "enable_internal_pg_qan" not in DECLARED["3.4.0"]["GET /v1/server/settings"]["settings"]
    # the agent lists PMM 3 added release by release (pbm_pmm_simulator/pmm/_protocol.py LIST_KEYS_SINCE)
    agents = {v: DECLARED[v]["GET /v1/inventory/agents"][""] for v in ("3.1.0", "3.2.0", "3.3.0")}
    assert "nomad_agent" not in agents["3.1.0"] and "nomad_agent" in agents["3.2.0"]
    assert "qan_mongodb_mongolog_agent" not in agents["3.2.0"] and "qan_mongodb_mongolog_agent" in agents["3.3.0"]

"""The simulated PMM Server, exercised with real `requests` over its loopback socket, in both API dialects."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from pbm_pmm_simulator import MemberSpec, SimReplicaSet
from pbm_pmm_simulator.pmm_server import SimPMMServer, omit_empty
from tests.test_simulator import wait_for

TOKEN = "glsa_simulatedToken_0123"
V2, V3 = "2.44.0", "3.4.0"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# (what, PMM 2 method + path + JSON body, PMM 3 method + path + query)
ENDPOINTS: dict[str, tuple[tuple[str, str, dict[str, Any]], tuple[str, str, dict[str, Any]]]] = {
    "version": (("GET", "/v1/version", {}), ("GET", "/v1/server/version", {})),
    "settings": (("POST", "/v1/Settings/Get", {}), ("GET", "/v1/server/settings", {})),
    "services": (("POST", "/v1/inventory/Services/List", {}), ("GET", "/v1/inventory/services", {})),
    "agents": (("POST", "/v1/inventory/Agents/List", {}), ("GET", "/v1/inventory/agents", {})),
    "nodes": (("POST", "/v1/inventory/Nodes/List", {}), ("GET", "/v1/inventory/nodes", {})),
    "locations": (("POST", "/v1/management/backup/Locations/List", {}), ("GET", "/v1/backups/locations", {})),
}


def call(pmm: SimPMMServer, what: str, params: dict[str, Any] | None = None, *, auth: Any = None,
         headers: dict[str, str] | None = None, session: requests.Session | None = None) -> requests.Response:
    """The endpoint `what` in the server's own dialect, with the Admin token unless told otherwise."""
    method, path, defaults = ENDPOINTS[what][0 if pmm.major == 2 else 1]
    args = {**defaults, **(params or {})}
    if headers is None and auth is None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
    http = session or requests
    if method == "GET":
        return http.get(pmm.url + path, params=args, headers=headers, auth=auth, timeout=5)
    return http.post(pmm.url + path, json=args, headers=headers, auth=auth, timeout=5)


@pytest.fixture(params=[V2, V3], ids=["pmm2", "pmm3"])
def pmm(request: pytest.FixtureRequest) -> Iterator[SimPMMServer]:
    with SimPMMServer(version=request.param, token=TOKEN) as server:
        yield server


def walk(doc: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield key, value
            yield from walk(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from walk(item)


def assert_no_empty_values(doc: Any) -> None:
    for key, value in walk(doc):
        assert value not in (False, "", 0, None, [], {}), f"{key} = {value!r} should be omitted on PMM 2"


def assert_id(pmm: SimPMMServer, value: str, kind: str) -> None:
    pattern = UUID if pmm.major == 3 else f"/{kind}_id/{UUID}"
    assert re.fullmatch(pattern, value), value


# --- version, readiness, settings -----------------------------------------------------------------------------------


def test_version_shape(pmm: SimPMMServer) -> None:
    doc = call(pmm, "version").json()
    assert doc["version"] == pmm.version
    assert doc["server"]["version"] == pmm.version and doc["server"]["full_version"].startswith(pmm.version)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["managed"]["timestamp"])
    assert doc["distribution_method"] == ("DOCKER" if pmm.major == 2 else "DISTRIBUTION_METHOD_DOCKER")


def test_pmm2_has_no_server_version_endpoint() -> None:
    with SimPMMServer(version=V2) as pmm:
        # A Grafana server admin passes nginx's auth and reaches grpc-gateway, which has no such route.
        r = requests.get(pmm.url + "/v1/server/version", auth=("admin", "admin"), timeout=5)
        assert r.status_code == 404
        assert r.json() == {"error": "Not Found", "code": 5, "message": "Not Found"}
        # A path without an auth rule needs a Grafana server admin: an API key is denied before routing.
        r = requests.get(pmm.url + "/v1/server/version", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert r.status_code == 401
        assert r.text == '{"code":7,"error":"Access denied.","message":"Access denied."}\n'


def test_pmm3_answers_v1_version_too() -> None:
    with SimPMMServer(version=V3) as pmm:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        old = requests.get(pmm.url + "/v1/version", headers=headers, timeout=5)
        new = requests.get(pmm.url + "/v1/server/version", headers=headers, timeout=5)
        assert old.status_code == new.status_code == 200
        assert old.json() == new.json()  # nginx rewrite, not a redirect
        assert old.history == []


@pytest.mark.parametrize(("version", "paths"), [(V2, ["/v1/readyz"]), (V3, ["/v1/server/readyz", "/v1/readyz"])])
def test_readiness_needs_no_credentials(version: str, paths: list[str]) -> None:
    with SimPMMServer(version=version) as pmm:
        for path in paths:
            r = requests.get(pmm.url + path, timeout=5)
            assert (r.status_code, r.json()) == (200, {})


def test_settings(pmm: SimPMMServer) -> None:
    settings = call(pmm, "settings").json()["settings"]
    assert settings["backup_management_enabled"] is True
    assert settings["metrics_resolutions"] == {"hr": "5s", "mr": "10s", "lr": "60s"}
    pmm.backup_management = False
    settings = call(pmm, "settings").json()["settings"]
    if pmm.major == 2:
        assert "backup_management_enabled" not in settings
        assert "updates_disabled" not in settings and "ssh_key" not in settings
        assert settings["stt_enabled"] is True
        assert_no_empty_values(settings)
    else:
        assert settings["backup_management_enabled"] is False  # PMM 3 emits unpopulated fields
        assert settings["ssh_key"] == "" and settings["telemetry_summaries"] == []
        assert settings["updates_enabled"] is True and settings["advisor_enabled"] is True


def test_pmm3_readonly_settings() -> None:
    with SimPMMServer(version=V3, backup_management=False) as pmm:
        r = requests.get(pmm.url + "/v1/server/settings/readonly", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=5)
        assert r.status_code == 200
        assert r.json()["settings"]["backup_management_enabled"] is False
        assert set(r.json()["settings"]) >= {"updates_enabled", "pmm_public_address", "enable_access_control"}


# --- inventory ------------------------------------------------------------------------------------------------------


def test_services_shape(pmm: SimPMMServer) -> None:
    node = pmm.add_node("db1", "10.0.0.1")
    with_cluster = pmm.add_mongodb_service(node, "db1-mongodb", "10.0.0.1", 27017, cluster="prod-rs",
                                           replication_set="rs0", version="7.0.14")
    without = pmm.add_mongodb_service(node, "db1-mongodb-2", "10.0.0.1", 27018, environment="prod")
    doc = call(pmm, "services", {"service_type": "MONGODB_SERVICE" if pmm.major == 2 else
                                 "SERVICE_TYPE_MONGODB_SERVICE"}).json()
    services = {s["service_id"]: s for s in doc["mongodb"]}
    assert set(services) == {with_cluster, without}
    assert_id(pmm, with_cluster, "service")
    if pmm.major == 2:
        assert services[with_cluster] == {"service_id": with_cluster, "service_name": "db1-mongodb", "node_id": node,
                                          "address": "10.0.0.1", "port": 27017, "cluster": "prod-rs",
                                          "replication_set": "rs0", "version": "7.0.14"}
        assert "cluster" not in services[without] and "replication_set" not in services[without]
        assert set(doc) == {"mongodb"}  # no "mysql": [] and so on
        assert_no_empty_values(doc)
    else:
        assert services[with_cluster] == {
            "service_id": with_cluster, "service_name": "db1-mongodb", "node_id": node, "address": "10.0.0.1",
            "port": 27017, "socket": "", "environment": "", "cluster": "prod-rs", "replication_set": "rs0",
            "custom_labels": {}, "version": "7.0.14",
        }
        assert services[without]["cluster"] == "" and services[without]["socket"] == ""
        assert doc["mysql"] == [] and doc["postgresql"] == []
        assert "valkey" not in doc  # PMM 3.4.0 has no Valkey (tests/pmm_api_fields.py; from 3.9.0 it is listed)
    everything = call(pmm, "services").json()
    assert [s["service_name"] for s in everything["postgresql"]] == ["pmm-server-postgresql"]  # PMM's own
    by_node = call(pmm, "services", {"node_id": node}).json()
    assert len(by_node["mongodb"]) == 2 and not by_node.get("postgresql")


def test_agents_shape_and_filters(pmm: SimPMMServer) -> None:
    node = pmm.add_node("db1", "10.0.0.1")
    svc = pmm.add_mongodb_service(node, "db1-mongodb", port=27017, exporter_status="INITIALIZATION_ERROR")
    pmm_agent_id = pmm.pmm_agent_id(node)
    assert_id(pmm, pmm_agent_id, "agent")
    agent_type = "PMM_AGENT" if pmm.major == 2 else "AGENT_TYPE_PMM_AGENT"
    doc = call(pmm, "agents", {"agent_type": agent_type}).json()
    agents = {a["agent_id"]: a for a in doc["pmm_agent"]}
    assert agents[pmm_agent_id]["runs_on_node_id"] == node
    assert agents[pmm_agent_id]["connected"] is True
    assert agents["pmm-server"]["runs_on_node_id"] == "pmm-server"
    assert agents[pmm_agent_id]["process_exec_path"].endswith("/bin/pmm-agent")
    assert [k for k, v in doc.items() if v] == ["pmm_agent"]

    exporter_type = "MONGODB_EXPORTER" if pmm.major == 2 else "AGENT_TYPE_MONGODB_EXPORTER"
    exporters = call(pmm, "agents", {"agent_type": exporter_type, "service_id": svc}).json()["mongodb_exporter"]
    assert len(exporters) == 1
    exporter = exporters[0]
    assert exporter["pmm_agent_id"] == pmm_agent_id and exporter["service_id"] == svc
    assert exporter["status"] == pmm.status_name("INITIALIZATION_ERROR")
    assert exporter["status"] == ("INITIALIZATION_ERROR" if pmm.major == 2 else "AGENT_STATUS_INITIALIZATION_ERROR")
    assert exporter["username"] == "pmm" and exporter["listen_port"] >= 42000 and exporter["push_metrics_enabled"]
    if pmm.major == 2:
        assert "disabled" not in exporter and "tls" not in exporter and "log_level" not in exporter
    else:
        assert exporter["disabled"] is False and exporter["tls"] is False
        assert exporter["log_level"] == "LOG_LEVEL_UNSPECIFIED" and exporter["metrics_resolutions"] is None

    by_service = call(pmm, "agents", {"service_id": svc}).json()
    assert len(by_service["mongodb_exporter"]) == 1 and len(by_service["qan_mongodb_profiler_agent"]) == 1
    by_pmm_agent = call(pmm, "agents", {"pmm_agent_id": pmm_agent_id}).json()
    assert {k for k, v in by_pmm_agent.items() if v} == {"vm_agent", "node_exporter", "mongodb_exporter",
                                                          "qan_mongodb_profiler_agent"}
    by_node = call(pmm, "agents", {"node_id": node}).json()
    assert [a["pmm_agent_id"] for a in by_node["node_exporter"]] == [pmm_agent_id]

    # the other calls' rules (inventory AgentsService.List, models.FindAgents)
    two = call(pmm, "agents", {"service_id": svc, "node_id": node})
    assert two.status_code == 400
    assert two.json()["code"] == 3
    assert two.json()["message"] == "expected at most one param: pmm_agent_id, node_id or service_id"
    missing = call(pmm, "agents", {"service_id": svc + "0"})
    assert missing.status_code == 404
    assert missing.json()["message"] == f'Service with ID "{svc}0" not found.'
    assert missing.json()["error" if pmm.major == 2 else "message"] == f'Service with ID "{svc}0" not found.'


def test_disconnected_agent_and_model_changes(pmm: SimPMMServer) -> None:
    node = pmm.add_node("db1", "10.0.0.1")
    svc = pmm.add_mongodb_service(node, "db1-mongodb", cluster="prod-rs")
    pmm.set_agent_connected(svc, False)
    pmm_agent = next(a for a in call(pmm, "agents").json()["pmm_agent"] if a["runs_on_node_id"] == node)
    if pmm.major == 2:
        assert "connected" not in pmm_agent
    else:
        assert pmm_agent["connected"] is False
    exporter = call(pmm, "agents", {"service_id": svc}).json()["mongodb_exporter"][0]
    assert exporter["status"] == pmm.status_name("DONE")  # agents/handler.go on disconnect
    pmm.set_agent_connected(node, True)
    exporter = call(pmm, "agents", {"service_id": svc}).json()["mongodb_exporter"][0]
    assert exporter["status"] == pmm.status_name("RUNNING")
    pmm.set_exporter_status(svc, "AGENT_STATUS_STOPPING")
    assert call(pmm, "agents", {"service_id": svc}).json()["mongodb_exporter"][0]["status"] == \
        pmm.status_name("STOPPING")

    pmm.set_service_cluster(svc, "")
    service = call(pmm, "services").json()["mongodb"][0]
    assert service.get("cluster", "") == "" and (pmm.major == 3) == ("cluster" in service)
    pmm.remove_service(svc)
    assert not call(pmm, "services").json().get("mongodb")
    assert not call(pmm, "agents").json().get("mongodb_exporter")


def test_nodes(pmm: SimPMMServer) -> None:
    node = pmm.add_node("db1", "10.0.0.1", region="eu-west-1")
    doc = call(pmm, "nodes").json()
    nodes = {n["node_id"]: n for n in doc["generic"]}
    assert_id(pmm, node, "node")
    assert nodes["pmm-server"]["node_name"] == "pmm-server" and nodes["pmm-server"]["address"] == "127.0.0.1"
    assert nodes[node]["node_name"] == "db1" and nodes[node]["address"] == "10.0.0.1"
    assert nodes[node]["machine_id"].startswith("/machine_id/") and nodes[node]["region"] == "eu-west-1"
    if pmm.major == 2:
        assert set(doc) == {"generic"} and "az" not in nodes[node]
    else:
        assert doc["container"] == [] and doc["remote_azure_database"] == [] and nodes[node]["az"] == ""
    wanted = "CONTAINER_NODE" if pmm.major == 2 else "NODE_TYPE_CONTAINER_NODE"
    assert not any(call(pmm, "nodes", {"node_type": wanted}).json().values())


def test_enum_spelling_is_per_dialect(pmm: SimPMMServer) -> None:
    other = "SERVICE_TYPE_MONGODB_SERVICE" if pmm.major == 2 else "MONGODB_SERVICE"
    r = call(pmm, "services", {"service_type": other})
    assert r.status_code == 400 and r.json()["code"] == 3
    numeric = call(pmm, "services", {"service_type": 2 if pmm.major == 2 else "2"})
    assert numeric.status_code == 200 and not numeric.json().get("postgresql")  # 2 = MONGODB_SERVICE


# --- backup locations -------------------------------------------------------------------------------------------------


def test_locations(pmm: SimPMMServer) -> None:
    s3 = pmm.add_location_s3(name="s3-main", bucket="pbm-backups", endpoint="https://s3.us-east-1.amazonaws.com",
                             access_key="AKIAEXAMPLE", secret_key="SECRETEXAMPLE")
    fs = pmm.add_location_filesystem(name="nfs", path="/mnt/backups")
    assert_id(pmm, s3, "location")
    locations = {loc["location_id"]: loc for loc in call(pmm, "locations").json()["locations"]}
    assert locations[s3]["s3_config"] == {"endpoint": "https://s3.us-east-1.amazonaws.com",
                                          "access_key": "AKIAEXAMPLE", "secret_key": "SECRETEXAMPLE",
                                          "bucket_name": "pbm-backups"}  # in clear, as PMM sends it
    assert locations[fs]["filesystem_config"] == {"path": "/mnt/backups"}
    assert "filesystem_config" not in locations[s3] and "s3_config" not in locations[fs]  # oneof
    assert ("description" in locations[fs]) == (pmm.major == 3)


def test_locations_when_backup_management_is_disabled(pmm: SimPMMServer) -> None:
    pmm.add_location_filesystem(name="nfs", path="/mnt/backups")
    pmm.backup_management = False
    r = call(pmm, "locations")
    assert r.status_code == 400
    message = "Service backup.v1.LocationsService is disabled."
    expected: dict[str, Any] = {"error": message, "code": 9, "message": message}
    assert r.json() == (expected if pmm.major == 2 else expected | {"details": []})
    pmm.backup_management = True
    assert call(pmm, "locations").status_code == 200


# --- the other dialect's paths, methods ---------------------------------------------------------------------------


def test_other_dialects_paths(pmm: SimPMMServer) -> None:
    admin = ("admin", "admin")  # a Grafana server admin passes every auth rule, so routing answers
    index = 1 if pmm.major == 2 else 0
    for what in ("settings", "services", "agents", "nodes", "locations"):
        method, path, _ = ENDPOINTS[what][index]
        r = requests.request(method, pmm.url + path, json={} if method == "POST" else None, auth=admin, timeout=5)
        assert r.status_code == 404, (method, path, r.status_code)
        if pmm.major == 2:
            assert r.json() == {"error": "Not Found", "code": 5, "message": "Not Found"}
        else:
            assert r.json() == {"code": 5, "message": f"Endpoint not found: {path}, http method: {method}",
                                "details": []}


def test_pmm3_v2_paths_with_a_token() -> None:
    with SimPMMServer(version=V3) as pmm:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        inventory = requests.post(pmm.url + "/v1/inventory/Services/List", json={}, headers=headers, timeout=5)
        assert inventory.status_code == 404  # /v1/inventory needs Admin: the token passes, the route is missing
        settings = requests.post(pmm.url + "/v1/Settings/Get", json={}, headers=headers, timeout=5)
        assert settings.status_code == 401 and settings.json()["code"] == 7  # no rule: Grafana admin only


def test_wrong_method_on_a_known_path(pmm: SimPMMServer) -> None:
    method, path, _ = ENDPOINTS["services"][0 if pmm.major == 2 else 1]
    other = "GET" if method == "POST" else "DELETE"
    r = requests.request(other, pmm.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert r.status_code == 405 and r.json()["code"] == 12


# --- auth -------------------------------------------------------------------------------------------------------------


def test_missing_and_wrong_credentials(pmm: SimPMMServer) -> None:
    for what in ENDPOINTS:
        r = call(pmm, what, headers={})
        assert r.status_code == 401 and r.headers["Content-Type"] == "application/json"
        assert r.text == '{"code":16,"error":"Unauthorized","message":"Unauthorized"}\n'
    bad_token = call(pmm, "services", headers={"Authorization": "Bearer glsa_wrong"})
    assert bad_token.status_code == 401 and bad_token.json()["code"] == 16
    assert bad_token.json()["message"] == "Invalid API key"
    bad_password = call(pmm, "services", auth=("admin", "wrong"))
    assert bad_password.status_code == 401 and bad_password.json()["message"] == "Invalid username or password"


def test_basic_auth_forms(pmm: SimPMMServer) -> None:
    assert call(pmm, "services", auth=("admin", "admin")).status_code == 200
    assert call(pmm, "services", auth=("service_token", TOKEN)).status_code == 200
    assert call(pmm, "services", auth=("api_key", TOKEN)).status_code == 200
    assert call(pmm, "services", auth=("service_token", "glsa_wrong")).status_code == 401
    pmm.add_user("viewer", "secret", role="Viewer")
    assert call(pmm, "services", auth=("viewer", "secret")).status_code == 401
    assert call(pmm, "version", auth=("viewer", "secret")).status_code == 200


@pytest.mark.parametrize("version", [V2, V3])
def test_viewer_token(version: str) -> None:
    with SimPMMServer(version=version, token=TOKEN, role="Viewer") as pmm:
        for what in ("settings", "services", "agents", "nodes", "locations"):
            r = call(pmm, what)
            assert r.status_code == 401, what  # released PMM answers PermissionDenied with 401 too
            assert r.text == '{"code":7,"error":"Access denied.","message":"Access denied."}\n'
        assert call(pmm, "version").status_code == 200
        if pmm.major == 3:
            r = requests.get(pmm.url + "/v1/server/settings/readonly", headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=5)
            assert r.status_code == 200
        pmm.denied_status = 403  # PMM's main branch after 3.x
        r = call(pmm, "services")
        assert r.status_code == 403 and r.json()["code"] == 7


# --- register_replica_set ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["host", "loopback", "ip"])
def test_register_sim_replica_set(style: str) -> None:
    members = [MemberSpec(), MemberSpec(), MemberSpec(arbiter=True)]
    with SimReplicaSet(members=members) as rs, SimPMMServer(version=V3) as pmm:
        ids = pmm.register_replica_set(rs, cluster="prod-rs", style=style)  # type: ignore[arg-type]
        assert list(ids) == rs.hosts  # one per member, the arbiter included
        services = {s["service_id"]: s for s in call(pmm, "services").json()["mongodb"]}
        nodes = {n["node_id"]: n for n in call(pmm, "nodes").json()["generic"]}
        for member in rs.members:
            service = services[ids[member.host]]
            host, port = member.host.rsplit(":", 1)
            assert service["port"] == int(port) == member.port
            assert service["address"] == ("127.0.0.1" if style == "loopback" else host)
            assert (service["cluster"], service["replication_set"]) == ("prod-rs", rs.name)
            assert service["version"] == member.mongo_version
            assert nodes[service["node_id"]]["address"] == host
        exporters = call(pmm, "agents", {"agent_type": "AGENT_TYPE_MONGODB_EXPORTER"}).json()["mongodb_exporter"]
        assert {e["service_id"] for e in exporters} == set(ids.values())


@pytest.mark.parametrize(("style", "service_addresses", "node_addresses"), [
    ("host", ["db1.example.net", "db2.example.net"], ["db1.example.net", "db2.example.net"]),
    ("loopback", ["127.0.0.1", "127.0.0.1"], ["db1.example.net", "db2.example.net"]),
    ("ip", ["10.0.0.1", "10.0.0.2"], ["10.0.0.1", "10.0.0.2"]),
])  # fmt: skip
def test_register_replica_set_styles(style: str, service_addresses: list[str], node_addresses: list[str]) -> None:
    hosts = ["db1.example.net:27017", "db2.example.net:27018"]
    fake_dns = {"db1.example.net": "10.0.0.1", "db2.example.net": "10.0.0.2"}
    with SimPMMServer(version=V2) as pmm:
        ids = pmm.register_replica_set(hosts, cluster="c1", style=style, replication_set="rs1",  # type: ignore[arg-type]
                                       resolve=fake_dns.__getitem__)
        services = {s["service_id"]: s for s in call(pmm, "services").json()["mongodb"]}
        nodes = {n["node_id"]: n for n in call(pmm, "nodes").json()["generic"]}
        got = [services[ids[h]] for h in hosts]
        assert [s["address"] for s in got] == service_addresses
        assert [s["port"] for s in got] == [27017, 27018]
        assert [nodes[s["node_id"]]["address"] for s in got] == node_addresses
        assert {s["replication_set"] for s in got} == {"rs1"}


# --- faults -----------------------------------------------------------------------------------------------------------


def test_fail_with(pmm: SimPMMServer) -> None:
    pmm.fail_with(500)
    r = call(pmm, "services")
    assert r.status_code == 500 and r.json()["code"] == 13
    pmm.fail_with(502, paths=["/v1/inventory/"])  # latest fault wins where it matches
    r = call(pmm, "services")
    assert r.status_code == 502 and r.headers["Content-Type"] == "text/html" and "502 Bad Gateway" in r.text
    assert call(pmm, "version").status_code == 500
    pmm.clear_faults()
    assert call(pmm, "services").status_code == 200
    pmm.fail_with(429, body=b'{"message": "slow down"}', paths=[ENDPOINTS["version"][pmm.major - 2][1]])
    r = call(pmm, "version")
    assert (r.status_code, r.json(), r.headers["Content-Type"]) == (429, {"message": "slow down"}, "application/json")
    assert call(pmm, "settings").status_code == 200
    r = requests.get(pmm.url + "/v1/readyz", timeout=5)  # faults come before auth and routing
    pmm.fail_with(503)
    assert requests.get(pmm.url + "/v1/readyz", timeout=5).status_code == 503


def test_delay(pmm: SimPMMServer) -> None:
    pmm.delay = 0.3
    started = time.monotonic()
    assert call(pmm, "version").status_code == 200
    assert time.monotonic() - started >= 0.3
    pmm.delay = 2.5
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(pmm.url + "/v1/readyz", timeout=0.2)


def test_invalid_json(pmm: SimPMMServer) -> None:
    pmm.invalid_json = True
    r = call(pmm, "services")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(r.content)
    pmm.invalid_json = False
    assert call(pmm, "services").json()


def test_huge_response(pmm: SimPMMServer) -> None:
    node = pmm.add_node("db1", "10.0.0.1")
    pmm.add_mongodb_service(node, "db1-mongodb")
    normal = call(pmm, "services").json()
    pmm.huge_response_bytes = 3 * 1024 * 1024
    r = call(pmm, "services")
    assert len(r.content) == 3 * 1024 * 1024 and int(r.headers["Content-Length"]) == len(r.content)
    assert r.json() == normal
    assert len(call(pmm, "nodes").content) < 10_000  # only the services list grows


# --- plumbing -------------------------------------------------------------------------------------------------------


def test_requests_seen_and_keep_alive(pmm: SimPMMServer) -> None:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for what in ("version", "services", "services"):
            assert call(pmm, what, session=session, headers={}).status_code == 200
    method, path, _ = ENDPOINTS["services"][pmm.major - 2]
    assert pmm.requests_seen[0][1] == ENDPOINTS["version"][pmm.major - 2][1]
    assert [r[:2] for r in pmm.requests_seen[1:]] == [(method, path)] * 2
    assert pmm.connections_accepted == 1  # one keep-alive connection for three requests
    requests.get(pmm.url + "/v1/inventory/services?service_type=SERVICE_TYPE_MONGODB_SERVICE&node_id=x", timeout=5)
    assert pmm.requests_seen[-1] == ("GET", "/v1/inventory/services",
                                     "service_type=SERVICE_TYPE_MONGODB_SERVICE&node_id=x")
    assert pmm.request_log[1].auth == "bearer" and pmm.request_log[-1].auth == ""
    pmm.clear_requests()
    assert pmm.requests_seen == []


def test_stop_is_fast_with_open_connections_and_parked_requests() -> None:
    pmm = SimPMMServer(version=V3).start()
    session = requests.Session()
    assert session.get(pmm.url + "/v1/server/readyz", timeout=5).status_code == 200  # an idle keep-alive conn
    pmm.delay = 5.0
    errors: list[BaseException] = []

    def parked() -> None:
        try:
            requests.get(pmm.url + "/v1/server/readyz", timeout=5)
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=parked)
    thread.start()
    assert wait_for(lambda: pmm.requests_delayed == 1)  # parked: seen to be, not assumed after a sleep
    started = time.monotonic()
    pmm.stop()
    assert time.monotonic() - started < 0.5
    thread.join(30)
    assert errors  # the delayed request was dropped, not answered
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(pmm.url + "/v1/server/readyz", timeout=1)
    port = pmm.port
    pmm.delay = 0.0
    with pmm:  # restarts on the same port
        assert pmm.port == port
        assert requests.get(pmm.url + "/v1/server/readyz", timeout=5).status_code == 200
    session.close()


def test_omit_empty() -> None:
    doc = {"a": False, "b": "", "c": 0, "d": [], "e": {}, "f": None, "g": {"h": {"i": 0}}, "j": [{"k": ""}, 1],
           "l": True, "m": "x", "n": 7}
    assert omit_empty(doc) == {"j": [{}, 1], "l": True, "m": "x", "n": 7}


def test_rejects_unknown_versions_and_roles() -> None:
    with pytest.raises(ValueError):
        SimPMMServer(version="1.17.0")
    with pytest.raises(ValueError):
        SimPMMServer(role="Superuser")
    with pytest.raises(ValueError):
        SimPMMServer().set_exporter_status("x", "BROKEN")


# --- scheduled backups, artifacts, compatible services ----------------------------------------------------------------

BACKUP_ENDPOINTS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "scheduled": (("POST", "/v1/management/backup/Backups/ListScheduled"), ("GET", "/v1/backups/scheduled")),
    "artifacts": (("POST", "/v1/management/backup/Artifacts/List"), ("GET", "/v1/backups/artifacts")),
}


def backups_call(pmm: SimPMMServer, what: str) -> requests.Response:
    method, path = BACKUP_ENDPOINTS[what][pmm.major - 2]
    return requests.request(method, pmm.url + path, json={} if method == "POST" else None,
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)


def compatible_call(pmm: SimPMMServer, artifact_id: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if pmm.major == 2:
        return requests.post(pmm.url + "/v1/management/backup/Backups/ListArtifactCompatibleServices",
                             json={"artifact_id": artifact_id}, headers=headers, timeout=5)
    return requests.get(f"{pmm.url}/v1/backups/{quote(artifact_id, safe='')}/compatible-services", headers=headers,
                        timeout=5)


def mongodb_cluster(pmm: SimPMMServer, members: int = 3, cluster: str = "prod-rs") -> list[str]:
    out = []
    for i in range(members):
        node = pmm.add_node(f"db{i}", f"10.0.0.{i + 1}")
        out.append(pmm.add_mongodb_service(node, f"db{i}-mongodb", f"10.0.0.{i + 1}", 27017, cluster=cluster,
                                           replication_set="rs0", version="7.0.14"))
    return out


def test_scheduled_backups_shape(pmm: SimPMMServer) -> None:
    svc, other, _ = mongodb_cluster(pmm)
    location = pmm.add_location_s3("s3-main", "pbm", "https://s3.example.com", "AKIA", "SECRET")
    daily = pmm.add_scheduled_backup(svc, location, name="daily", folder="prod", description="nightly")
    pitr = pmm.add_scheduled_backup(other, location, name="pitr", cron_expression="*/30 * * * *",
                                    data_model="DATA_MODEL_LOGICAL", mode="BACKUP_MODE_PITR", enabled=False,
                                    retention=0, retries=2, last_run="2025-03-01T01:00:00Z")
    assert_id(pmm, daily, "scheduled_task")
    r = backups_call(pmm, "scheduled")
    assert r.status_code == 200
    got = {t["scheduled_backup_id"]: t for t in r.json()["scheduled_backups"]}
    assert set(got) == {daily, pitr}
    d, q = got[daily], got[pitr]
    assert (d["service_id"], d["service_name"], d["location_id"], d["location_name"]) == (svc, "db0-mongodb", location,
                                                                                          "s3-main")
    assert (d["name"], d["folder"], d["description"], d["cron_expression"]) == ("daily", "prod", "nightly",
                                                                                "0 1 * * *")
    assert d["vendor"] == "mongodb" and d["enabled"] is True and d["retention"] == 7
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT01:00:00Z", d["next_run"])
    assert q["last_run"] == "2025-03-01T01:00:00Z"
    if pmm.major == 2:
        assert (d["data_model"], d["mode"], q["mode"]) == ("LOGICAL", "SNAPSHOT", "PITR")
        assert "enabled" not in q and "retention" not in q and "last_run" not in d and "start_time" not in d
        assert q["retries"] == 2
        assert list(d) == ["scheduled_backup_id", "service_id", "service_name", "location_id", "location_name",
                           "cron_expression", "name", "description", "enabled", "data_model", "vendor", "next_run",
                           "retention", "mode", "folder"]  # proto field order, zero values dropped
        assert_no_empty_values(r.json())
    else:
        assert (d["data_model"], d["mode"], q["mode"]) == ("DATA_MODEL_LOGICAL", "BACKUP_MODE_SNAPSHOT",
                                                           "BACKUP_MODE_PITR")
        assert q["enabled"] is False and q["retention"] == 0 and q["retries"] == 2
        assert d["last_run"] is None and d["start_time"] is None and d["retry_interval"] is None
        assert list(d) == ["scheduled_backup_id", "service_id", "service_name", "location_id", "location_name",
                           "folder", "cron_expression", "start_time", "name", "description", "enabled", "retries",
                           "retry_interval", "data_model", "mode", "vendor", "last_run", "next_run", "retention"]

    pmm.set_scheduled_backup_enabled(pitr, True)
    pmm.set_scheduled_backup_enabled(daily, False)
    got = {t["scheduled_backup_id"]: t for t in backups_call(pmm, "scheduled").json()["scheduled_backups"]}
    assert got[pitr]["enabled"] is True and got[daily].get("enabled", False) is False
    pmm.remove_scheduled_backup(pitr)
    assert [t["scheduled_backup_id"] for t in backups_call(pmm, "scheduled").json()["scheduled_backups"]] == [daily]
    pmm.remove_service(svc)  # models.RemoveService (cascade) removes the service's scheduled tasks
    assert not backups_call(pmm, "scheduled").json().get("scheduled_backups")
    with pytest.raises(ValueError):
        pmm.add_scheduled_backup(other, location, mode="FULL")
    with pytest.raises(KeyError):
        pmm.add_scheduled_backup(other, location + "x")


def test_artifacts_shape_and_order(pmm: SimPMMServer) -> None:
    svc, other, _ = mongodb_cluster(pmm)
    location = pmm.add_location_filesystem("nfs", "/mnt/backups")
    first = pmm.add_artifact(svc, location, folder="prod")
    second = pmm.add_artifact(svc, location, name="manual", data_model="PHYSICAL", status="ERROR")
    third = pmm.add_artifact(other, location, mode="PITR", status="BACKUP_STATUS_IN_PROGRESS", is_sharded_cluster=True)
    old = pmm.add_artifact(other, location, created_at="2024-01-02T03:04:05Z")
    assert_id(pmm, first, "artifact")
    r = backups_call(pmm, "artifacts")
    assert r.status_code == 200
    artifacts = r.json()["artifacts"]
    assert [a["artifact_id"] for a in artifacts] == [third, second, first, old]  # ORDER BY created_at DESC
    by_id = {a["artifact_id"]: a for a in artifacts}
    a = by_id[first]
    assert (a["service_id"], a["service_name"], a["location_id"], a["location_name"]) == (svc, "db0-mongodb",
                                                                                          location, "nfs")
    assert a["vendor"] == "mongodb" and a["folder"] == "prod" and a["status"] == "BACKUP_STATUS_SUCCESS"
    assert a["name"] == f"db0-mongodb_{a['created_at']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["created_at"])
    assert a["created_at"] < by_id[second]["created_at"] < by_id[third]["created_at"]
    metadata = {"file_list": [], "restore_to": None} if pmm.major == 3 else {}
    assert a["metadata_list"] == [{**metadata, "pbm_metadata": {"name": a["created_at"]}}]  # PBM's backup name
    assert by_id[second]["name"] == "manual" and by_id[second]["status"] == "BACKUP_STATUS_ERROR"
    assert by_id[third]["status"] == "BACKUP_STATUS_IN_PROGRESS" and by_id[third]["is_sharded_cluster"] is True
    assert by_id[old]["created_at"] == "2024-01-02T03:04:05Z"
    if pmm.major == 2:
        assert (a["data_model"], a["mode"], by_id[second]["data_model"], by_id[third]["mode"]) == (
            "LOGICAL", "SNAPSHOT", "PHYSICAL", "PITR")
        assert "is_sharded_cluster" not in a and "metadata_list" not in by_id[second]
        assert_no_empty_values(r.json())
    else:
        assert (a["data_model"], a["mode"], by_id[second]["data_model"], by_id[third]["mode"]) == (
            "DATA_MODEL_LOGICAL", "BACKUP_MODE_SNAPSHOT", "DATA_MODEL_PHYSICAL", "BACKUP_MODE_PITR")
        assert a["is_sharded_cluster"] is False and by_id[second]["metadata_list"] == []
        assert list(a) == ["artifact_id", "name", "vendor", "location_id", "location_name", "service_id",
                           "service_name", "data_model", "status", "created_at", "mode", "is_sharded_cluster",
                           "folder", "metadata_list"]

    pmm.set_artifact_status(third, "SUCCESS")
    assert backups_call(pmm, "artifacts").json()["artifacts"][0]["status"] == "BACKUP_STATUS_SUCCESS"
    pmm.remove_service(svc)  # the artifacts stay, without their service (UpdateArtifact ServiceID "")
    by_id = {a["artifact_id"]: a for a in backups_call(pmm, "artifacts").json()["artifacts"]}
    assert len(by_id) == 4
    assert by_id[first].get("service_id", "") == "" and by_id[first].get("service_name", "") == ""
    assert ("service_name" in by_id[first]) == (pmm.major == 3)
    with pytest.raises(ValueError):
        pmm.set_artifact_status(first, "DONE")


def test_compatible_services(pmm: SimPMMServer) -> None:
    svc, same_version, no_pbm = mongodb_cluster(pmm)
    node = pmm.add_node("db9", "10.0.0.9")
    newer = pmm.add_mongodb_service(node, "db9-mongodb", cluster="other", version="8.0.4")
    old_pbm = pmm.add_mongodb_service(node, "db9-mongodb-2", port=27018, cluster="other", version="7.0.14")
    edge_pbm = pmm.add_mongodb_service(node, "db9-mongodb-3", port=27019, version="7.0.14")
    pmm.set_service_backup_software(no_pbm, None)
    pmm.set_service_backup_software(old_pbm, "1.8.1")
    pmm.set_service_backup_software(edge_pbm, "2.0.1")  # pbmMinSupportedVersion itself passes
    location = pmm.add_location_filesystem("nfs", "/mnt/backups")
    artifact = pmm.add_artifact(svc, location, status="ERROR", is_sharded_cluster=True)  # no status/sharding check

    r = compatible_call(pmm, artifact)
    assert r.status_code == 200
    doc = r.json()
    expected = sorted([svc, same_version, edge_pbm])  # same version, pbm >= 2.0.1, in service_id order; any cluster
    assert [s["service_id"] for s in doc["mongodb"]] == expected
    assert newer not in expected
    inventory = {s["service_id"]: s for s in call(pmm, "services").json()["mongodb"]}
    assert doc["mongodb"][0] == inventory[expected[0]]  # inventory's MongoDBService
    assert (doc.get("mysql", []) == []) and (("mysql" in doc) == (pmm.major == 3))

    pmm.set_service_version(same_version, "7.0.15")
    assert same_version not in [s["service_id"] for s in compatible_call(pmm, artifact).json()["mongodb"]]

    unknown = pmm.add_artifact(no_pbm, location, db_version="")  # pmm-agent < 2.35: only the same service
    assert [s["service_id"] for s in compatible_call(pmm, unknown).json()["mongodb"]] == [no_pbm]
    pmm.remove_service(no_pbm)
    assert not compatible_call(pmm, unknown).json().get("mongodb")
    mismatch = pmm.add_artifact(newer, location, db_version="6.0.1")
    assert not compatible_call(pmm, mismatch).json().get("mongodb")

    missing = compatible_call(pmm, artifact + "0")
    assert missing.status_code == 404
    message = f"artifact by id '{artifact}0': not found"
    expected_error: dict[str, Any] = {"error": message, "code": 5, "message": message}
    assert missing.json() == (expected_error if pmm.major == 2 else expected_error | {"details": []})


def test_pmm2_compatible_services_needs_an_artifact_id() -> None:
    with SimPMMServer(version=V2) as pmm:
        r = requests.post(pmm.url + "/v1/management/backup/Backups/ListArtifactCompatibleServices", json={},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert r.status_code == 400 and r.json()["code"] == 3
        assert r.json()["message"] == ("invalid ListArtifactCompatibleServicesRequest.ArtifactId: "
                                       "value length must be at least 1 runes")


def test_pmm3_compatible_services_routing() -> None:
    with SimPMMServer(version=V3) as pmm:
        svc = mongodb_cluster(pmm, members=1)[0]
        artifact = pmm.add_artifact(svc, pmm.add_location_filesystem("nfs", "/mnt"))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        path = f"/v1/backups/{artifact}/compatible-services"
        r = requests.post(pmm.url + path, json={}, headers=headers, timeout=5)
        assert r.status_code == 405 and r.json()["code"] == 12  # the template exists for GET
        r = requests.get(pmm.url + path, params={"artifact_id": "other"}, headers=headers, timeout=5)
        assert [s["service_id"] for s in r.json()["mongodb"]] == [svc]  # the path parameter wins
        r = requests.get(pmm.url + f"/v1/backups/{artifact}/compatible-services/x", headers=headers, timeout=5)
        assert r.status_code == 404
        assert pmm.requests_seen[-2] == ("GET", path, "artifact_id=other")


def test_backup_services_when_backup_management_is_disabled(pmm: SimPMMServer) -> None:
    svc = mongodb_cluster(pmm, members=1)[0]
    artifact = pmm.add_artifact(svc, pmm.add_location_filesystem("nfs", "/mnt"))
    pmm.backup_management = False
    names = {"scheduled": "Backups", "artifacts": "Artifacts", "compatible": "Backups"}
    for what, pmm2_name in names.items():
        r = compatible_call(pmm, artifact) if what == "compatible" else backups_call(pmm, what)
        assert r.status_code == 400, what
        message = f"Service backup.v1.{pmm2_name if pmm.major == 2 else 'BackupService'} is disabled."
        expected: dict[str, Any] = {"error": message, "code": 9, "message": message}
        assert r.json() == (expected if pmm.major == 2 else expected | {"details": []})
    pmm.backup_management = True
    assert backups_call(pmm, "artifacts").status_code == 200


def test_restore_disables_the_target_services_schedules_only(pmm: SimPMMServer) -> None:
    target, other, _ = mongodb_cluster(pmm)
    location = pmm.add_location_filesystem("nfs", "/mnt")
    on_target = [pmm.add_scheduled_backup(target, location, name="daily"),
                 pmm.add_scheduled_backup(target, location, name="pitr", mode="PITR")]
    on_other = pmm.add_scheduled_backup(other, location, name="other")
    artifact = pmm.add_artifact(other, location)
    pmm.restore_artifact(artifact, target)
    enabled = {t["scheduled_backup_id"]: t.get("enabled", False)
               for t in backups_call(pmm, "scheduled").json()["scheduled_backups"]}
    assert enabled == {on_target[0]: False, on_target[1]: False, on_other: True}
    with pytest.raises(KeyError):
        pmm.restore_artifact(artifact + "x", target)


def test_backup_paths_get_faults_and_are_logged(pmm: SimPMMServer) -> None:
    prefix = "/v1/backups/" if pmm.major == 3 else "/v1/management/backup/"
    pmm.fail_with(503, paths=[prefix])
    r = backups_call(pmm, "artifacts")
    assert r.status_code == 503 and r.headers["Content-Type"] == "text/html"
    assert pmm.requests_seen[-1][1] == BACKUP_ENDPOINTS["artifacts"][pmm.major - 2][1]
    pmm.clear_faults()
    pmm.delay = 0.2
    started = time.monotonic()
    assert compatible_call(pmm, "nope").status_code == 404
    assert time.monotonic() - started >= 0.2


# --- management API: agents with versions ----------------------------------------------------------------------------


def management_agents(pmm: SimPMMServer, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if pmm.major == 2:
        return requests.post(pmm.url + "/v1/management/Agent/List", json=params, headers=headers, timeout=5)
    return requests.get(pmm.url + "/v1/management/agents", params=params, headers=headers, timeout=5)


def test_management_agents_by_node_and_by_service(pmm: SimPMMServer) -> None:
    node = pmm.add_node("db1", "10.0.0.1")
    svc = pmm.add_mongodb_service(node, "db1-mongodb", cluster="prod-rs")
    pmm_agent = pmm.pmm_agent_id(node)
    r = management_agents(pmm, node_id=node)
    assert r.status_code == 200
    by_node = {a["agent_type"]: a for a in r.json()["agents"]}
    assert sorted(by_node) == ["node_exporter", "pmm-agent", "vmagent"]  # node_id or runs_on_node_id == node
    assert [a["agent_id"] for a in r.json()["agents"]] == sorted(a["agent_id"] for a in r.json()["agents"])
    agent = by_node["pmm-agent"]
    assert (agent["agent_id"], agent["runs_on_node_id"], agent["version"]) == (pmm_agent, node, pmm.version)
    assert agent["is_connected"] is True
    assert by_node["node_exporter"]["node_id"] == node and by_node["vmagent"]["node_id"] == node
    assert by_node["node_exporter"]["version"] == pmm.version and by_node["node_exporter"]["pmm_agent_id"] == pmm_agent
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", agent["created_at"])

    by_service = {a["agent_type"]: a for a in management_agents(pmm, service_id=svc).json()["agents"]}
    assert sorted(by_service) == ["mongodb_exporter", "pmm-agent", "qan-mongodb-profiler-agent", "vmagent"]
    exporter = by_service["mongodb_exporter"]
    assert (exporter["service_id"], exporter["pmm_agent_id"], exporter["version"]) == (svc, pmm_agent, pmm.version)
    assert exporter["status"] == pmm.status_name("RUNNING") and exporter["username"] == "pmm"
    assert exporter["listen_port"] >= 42000 and exporter["push_metrics"] is True and exporter["is_password_set"]
    assert exporter.get("is_connected", False) is False  # the registry knows pmm-agents only
    if pmm.major == 2:
        assert "is_connected" not in exporter and "log_level" not in exporter and "node_id" not in exporter
        assert "max_query_log_size" not in exporter and "status" not in by_service["pmm-agent"]
        assert_no_empty_values(management_agents(pmm, service_id=svc).json())
    else:
        assert exporter["is_connected"] is False and exporter["log_level"] == "LOG_LEVEL_UNSPECIFIED"
        assert exporter["max_query_log_size"] == "0" and exporter["azure_options"] is None
        assert exporter["mongo_db_options"]["stats_collections"] == [] and by_node["pmm-agent"]["status"] == ""
        assert list(exporter)[:3] == ["agent_id", "is_agent_password_set", "agent_type"]
        assert list(exporter)[-4:] == ["updated_at", "version", "is_connected", "expose_exporter"]

    pmm.set_pmm_agent_version(svc, "2.41.0")
    pmm.set_agent_connected(node, False)
    by_service = {a["agent_type"]: a for a in management_agents(pmm, service_id=svc).json()["agents"]}
    assert by_service["pmm-agent"]["version"] == by_service["mongodb_exporter"]["version"] == "2.41.0"
    assert by_service["pmm-agent"].get("is_connected", False) is False
    assert by_service["mongodb_exporter"]["status"] == pmm.status_name("DONE")

    # validateListAgentRequest, then FindServiceByID; an unknown node is just empty
    for params, message in (({}, "Either service_id or node_id is expected."),
                            ({"service_id": svc, "node_id": node},
                             "Either service_id or node_id is expected, not both.")):
        r = management_agents(pmm, **params)
        assert (r.status_code, r.json()["code"], r.json()["message"]) == (400, 3, message)
    r = management_agents(pmm, service_id=svc + "0")
    assert r.status_code == 404 and r.json()["message"] == f'Service with ID "{svc}0" not found.'
    assert not management_agents(pmm, node_id=node + "0").json().get("agents")


def test_management_agents_of_a_remotely_monitored_service(pmm: SimPMMServer) -> None:
    monitor = pmm.add_node("monitor", "10.0.0.100")
    db = pmm.add_node("db1", "10.0.0.1")
    svc = pmm.add_mongodb_service(db, "db1-mongodb", "10.0.0.1", cluster="prod-rs", pmm_agent_node_id=monitor)
    remote_agent = pmm.pmm_agent_id(monitor)
    pmm.set_pmm_agent_version(monitor, "3.1.0" if pmm.major == 3 else "2.40.0")
    agents = management_agents(pmm, service_id=svc).json()["agents"]
    by_type = {a["agent_type"]: a for a in agents}
    # the db node's own pmm-agent and vmagent (IsNodeAgent, IsVMAgent), and the service's agents run remotely
    assert by_type["pmm-agent"]["agent_id"] == pmm.pmm_agent_id(db) != remote_agent
    assert by_type["mongodb_exporter"]["pmm_agent_id"] == remote_agent
    assert by_type["qan-mongodb-profiler-agent"]["pmm_agent_id"] == remote_agent
    assert by_type["mongodb_exporter"]["version"] == ("3.1.0" if pmm.major == 3 else "2.40.0")
    assert by_type["pmm-agent"]["version"] == pmm.version
    monitor_agents = management_agents(pmm, node_id=monitor).json()["agents"]
    assert {a["agent_type"] for a in monitor_agents} == {"pmm-agent", "node_exporter", "vmagent"}
    exporter = call(pmm, "agents", {"service_id": svc}).json()["mongodb_exporter"][0]
    assert exporter["pmm_agent_id"] == remote_agent  # the inventory agrees
    with pytest.raises(KeyError):
        pmm.add_mongodb_service(db, "db1-mongodb-2", pmm_agent_node_id="nope")


def test_pmm3_agent_versions() -> None:
    with SimPMMServer(version=V3) as pmm:
        nodes = {name: pmm.add_node(name, f"10.0.0.{i}") for i, name in enumerate(["same", "old", "major", "new",
                                                                                    "dev", "bad"], 1)}
        pmm.set_pmm_agent_version(nodes["old"], "3.2.1")
        pmm.set_pmm_agent_version(nodes["major"], "2.44.0")
        pmm.set_pmm_agent_version(nodes["new"], "3.5.0")
        pmm.set_pmm_agent_version(nodes["dev"], "3.4.0-rc1")
        pmm.set_pmm_agent_version(nodes["bad"], "")  # unparsable: skipped
        pmm.set_agent_connected(nodes["same"], False)  # connection does not matter
        r = requests.get(pmm.url + "/v1/management/agents/versions", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=5)
        assert r.status_code == 200
        rows = r.json()["agent_versions"]
        assert [row["agent_id"] for row in rows] == sorted(row["agent_id"] for row in rows)
        by_node = {row["node_name"]: row for row in rows}
        assert set(by_node) == {"same", "old", "major", "new", "dev", "pmm-server"}
        assert by_node["same"] == {"agent_id": pmm.pmm_agent_id(nodes["same"]), "version": "3.4.0",
                                   "node_name": "same", "severity": "UPDATE_SEVERITY_UP_TO_DATE"}
        assert by_node["pmm-server"]["agent_id"] == "pmm-server"
        assert by_node["pmm-server"]["severity"] == "UPDATE_SEVERITY_UP_TO_DATE"
        assert by_node["old"]["severity"] == "UPDATE_SEVERITY_REQUIRED"
        assert by_node["major"]["severity"] == "UPDATE_SEVERITY_CRITICAL"
        assert by_node["new"]["severity"] == "UPDATE_SEVERITY_UNSUPPORTED"
        assert by_node["dev"]["severity"] == "UPDATE_SEVERITY_REQUIRED"  # 3.4.0-rc1 < 3.4.0


def test_pmm2_has_no_agent_versions_and_pmm3_no_agent_list_post() -> None:
    with SimPMMServer(version=V2) as pmm2, SimPMMServer(version=V3) as pmm3:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        r = requests.get(pmm2.url + "/v1/management/agents/versions", headers=headers, timeout=5)
        assert r.status_code == 404 and r.json() == {"error": "Not Found", "code": 5, "message": "Not Found"}
        r = requests.post(pmm3.url + "/v1/management/Agent/List", json={"node_id": "pmm-server"}, headers=headers,
                          timeout=5)
        assert r.status_code == 404 and r.json()["message"].startswith("Endpoint not found")


def test_management_paths_need_admin_and_get_faults(pmm: SimPMMServer) -> None:
    viewer = "glsa_viewer"
    pmm.add_token(viewer, "Viewer")
    path = "/v1/management/Agent/List" if pmm.major == 2 else "/v1/management/agents"
    method = "POST" if pmm.major == 2 else "GET"
    r = requests.request(method, pmm.url + path, json={"node_id": "pmm-server"} if pmm.major == 2 else None,
                         params={"node_id": "pmm-server"} if pmm.major == 3 else None,
                         headers={"Authorization": f"Bearer {viewer}"}, timeout=5)
    assert r.status_code == 401 and r.json()["code"] == 7
    pmm.fail_with(500, paths=[path])
    assert management_agents(pmm, node_id="pmm-server").status_code == 500
    pmm.clear_faults()
    agents = management_agents(pmm, node_id="pmm-server").json()["agents"]
    assert {a["agent_type"] for a in agents} == {"pmm-agent", "node_exporter"}  # no vmagent on PMM Server
    assert pmm.requests_seen[-1][:2] == (method, path)

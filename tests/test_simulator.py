"""The MongoDB replica-set simulator, driven by real pymongo (sync and async) over loopback TCP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pymongo
import pytest
from bson import Int64, ObjectId, Timestamp
from pymongo.errors import AutoReconnect, NetworkTimeout, OperationFailure
from pymongo.server_type import SERVER_TYPE

from pbm_pmm_simulator import PMM_BACKUP_ROLES, AgentSpec, MemberSpec, SimReplicaSet, SimRole, SimUser, wire


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as sim:
        yield sim


@pytest.fixture
def make_client() -> Iterator[Callable[..., pymongo.MongoClient[dict[str, Any]]]]:
    clients: list[pymongo.MongoClient[dict[str, Any]]] = []

    def make(uri: str, **kwargs: Any) -> pymongo.MongoClient[dict[str, Any]]:
        kwargs.setdefault("serverSelectionTimeoutMS", 2000)
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@contextlib.contextmanager
def raw_socket(host: str, timeout: float = 2.0) -> Iterator[socket.socket]:
    addr, port = host.rsplit(":", 1)
    sock = socket.create_connection((addr, int(port)), timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll until `predicate` holds; the bound is generous, it is only reached when a test fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def address(host: str) -> tuple[str, int]:
    addr, port = host.rsplit(":", 1)
    return addr, int(port)


# --- connecting and authenticating -------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", [None, "SCRAM-SHA-256"])
def test_sync_client_discovers_set_and_authenticates(
    rs: SimReplicaSet, make_client: Any, mechanism: str | None
) -> None:
    options: dict[str, Any] = {"authMechanism": mechanism} if mechanism else {}
    client = make_client(rs.uri(**options))
    assert client.admin.command("ping")["ok"] == 1.0
    assert client.primary == address(rs.hosts[0])
    assert client.secondaries == {address(h) for h in rs.hosts[1:]}
    status = client.admin.command("connectionStatus")
    assert status["authInfo"]["authenticatedUsers"] == [{"user": "pmm", "db": "admin"}]
    seen = rs.members[0].commands_seen
    assert "saslStart" in seen and "saslContinue" in seen


def test_uri_shape(rs: SimReplicaSet) -> None:
    uri = rs.uri(readPreference="primary", directConnection=False)
    assert uri == (
        f"mongodb://pmm:secret@{','.join(rs.hosts)}/?replicaSet=rs0&authSource=admin"
        "&readPreference=primary&directConnection=false"
    )
    assert rs.uri(auth=False) == f"mongodb://{','.join(rs.hosts)}/?replicaSet=rs0"
    assert rs.members[1].uri().endswith(f"@{rs.hosts[1]}/?authSource=admin&directConnection=true")


def test_wrong_password_and_unknown_user_fail_with_code_18(rs: SimReplicaSet, make_client: Any) -> None:
    for uri in (rs.uri(password="wrong"), rs.uri(user="nobody", password="x")):
        client = make_client(uri)
        with pytest.raises(OperationFailure) as info:
            client.admin.command("ping")
        assert info.value.code == 18
        assert info.value.details is not None
        assert info.value.details["errmsg"] == "Authentication failed."
        assert info.value.details["codeName"] == "AuthenticationFailed"


def test_scram_without_skip_empty_exchange_and_scram_sha1(make_client: Any) -> None:
    users = [SimUser("pmm", "secret", roles=PMM_BACKUP_ROLES, mechanisms=("SCRAM-SHA-1", "SCRAM-SHA-256"))]
    with SimReplicaSet(users=users) as sim:
        sim.honor_skip_empty_exchange = False
        client = make_client(sim.members[0].uri())  # one member: monitors never authenticate
        client.admin.command("ping")
        # saslStart, saslContinue (proof), saslContinue (final empty exchange)
        assert sim.members[0].commands_seen.count("saslContinue") == 2
        client_sha1 = make_client(sim.uri(authMechanism="SCRAM-SHA-1"))
        assert client_sha1.admin.command("ping")["ok"] == 1.0


def test_unauthenticated_commands(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri(auth=False))
    assert client.admin.command("ping")["ok"] == 1.0
    assert "version" in client.admin.command("buildInfo")
    assert client.admin.command("connectionStatus")["authInfo"] == {
        "authenticatedUsers": [],
        "authenticatedUserRoles": [],
    }
    with pytest.raises(OperationFailure) as info:
        client.admin.pbmAgents.find_one()
    assert info.value.code == 13
    assert info.value.details is not None
    assert info.value.details["errmsg"] == "command find requires authentication"
    assert info.value.details["codeName"] == "Unauthorized"


def test_async_client(rs: SimReplicaSet) -> None:
    async def main() -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
        client: pymongo.AsyncMongoClient[dict[str, Any]] = pymongo.AsyncMongoClient(
            rs.uri(), serverSelectionTimeoutMS=2000
        )
        try:
            hello = await client.admin.command("hello")
            agents = await client.admin.pbmAgents.find({}, {"n": 1, "hb": 1}).to_list()
            primary = await client.address
            return hello, agents, primary
        finally:
            await client.close()

    hello, agents, primary = asyncio.run(main())
    assert hello["isWritablePrimary"] is True
    assert isinstance(hello["$clusterTime"]["clusterTime"], Timestamp)
    assert sorted(a["n"] for a in agents) == sorted(rs.hosts)
    assert primary == address(rs.hosts[0])


# --- reply shapes --------------------------------------------------------------------------------------------


def test_hello_shape(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    hello = client.admin.command("hello")
    assert hello["setName"] == "rs0"
    assert hello["hosts"] == rs.hosts
    assert hello["primary"] == rs.hosts[0] and hello["me"] == rs.hosts[0]
    assert hello["isWritablePrimary"] is True and hello["secondary"] is False
    assert isinstance(hello["electionId"], ObjectId)
    assert hello["setVersion"] == 1
    assert hello["maxWireVersion"] == 21 and hello["minWireVersion"] == 0
    assert hello["maxBsonObjectSize"] == 16777216
    assert hello["maxMessageSizeBytes"] == 48000000
    assert hello["maxWriteBatchSize"] == 100000
    assert hello["logicalSessionTimeoutMinutes"] == 30
    assert hello["readOnly"] is False
    assert "topologyVersion" not in hello and "speculativeAuthenticate" not in hello
    assert isinstance(hello["connectionId"], int)
    assert isinstance(hello["lastWrite"]["opTime"]["ts"], Timestamp)
    cluster_time = hello["$clusterTime"]
    assert isinstance(cluster_time["clusterTime"], Timestamp)
    assert cluster_time["signature"] == {"hash": b"\x00" * 20, "keyId": 0}
    assert isinstance(hello["operationTime"], Timestamp)
    assert abs(cluster_time["clusterTime"].time - time.time()) < 5

    with raw_socket(rs.hosts[1]) as sock:
        reply = wire.command(sock, {"isMaster": 1, "helloOk": True, "saslSupportedMechs": "admin.pmm"})
        assert reply["ismaster"] is False and reply["secondary"] is True and reply["helloOk"] is True
        assert reply["saslSupportedMechs"] == ["SCRAM-SHA-256"]
        assert "electionId" not in reply and "isWritablePrimary" not in reply
        assert wire.command(sock, {"hello": 1, "saslSupportedMechs": "admin.nobody"}).get("saslSupportedMechs") is None


def test_hello_member_kinds() -> None:
    members = [
        MemberSpec(),
        MemberSpec(priority=0),
        MemberSpec(hidden=True),
        MemberSpec(delay_secs=3600, hidden=True),
        MemberSpec(arbiter=True),
    ]
    with SimReplicaSet(members=members, mongo_version="8.0.4") as sim:
        h = sim.hosts
        replies = []
        for host in h:
            with raw_socket(host) as sock:
                replies.append(wire.command(sock, {"hello": 1}))
        assert replies[0]["hosts"] == [h[0]]
        assert replies[0]["passives"] == [h[1]]
        assert replies[0]["arbiters"] == [h[4]]
        assert replies[0]["maxWireVersion"] == 25
        assert replies[1]["passive"] is True
        assert replies[2]["hidden"] is True and replies[2]["passive"] is True
        assert replies[3]["secondaryDelaySecs"] == 3600
        assert replies[4]["arbiterOnly"] is True and replies[4]["secondary"] is False
        assert "lastWrite" not in replies[4]
        assert all(r["me"] == host for r, host in zip(replies, h, strict=True))
        assert all(r["primary"] == h[0] for r in replies)


def test_build_info(make_client: Any) -> None:
    members = [MemberSpec(), MemberSpec(psmdb=False, mongo_version="6.0.19")]
    with SimReplicaSet(members=members) as sim:
        info = make_client(sim.members[0].uri()).admin.command("buildInfo")
        assert info["version"] == "7.0.14" and info["psmdbVersion"] == "7.0.14-8"
        assert info["versionArray"] == [7, 0, 14, 0]
        assert info["storageEngines"] == ["devnull", "inMemory", "wiredTiger"]
        assert info["maxBsonObjectSize"] == 16777216 and info["bits"] == 64
        info2 = make_client(sim.members[1].uri()).admin.command("buildinfo")
        assert info2["version"] == "6.0.19" and "psmdbVersion" not in info2


def test_repl_set_get_status_and_config(make_client: Any) -> None:
    members = [MemberSpec(), MemberSpec(), MemberSpec(hidden=True, delay_secs=600), MemberSpec(arbiter=True)]
    with SimReplicaSet(members=members) as sim:
        client = make_client(sim.uri())
        status = client.admin.command("replSetGetStatus")
        assert status["set"] == "rs0" and status["myState"] == 1
        assert status["term"] == 1 and status["heartbeatIntervalMillis"] == 2000
        assert status["votingMembersCount"] == 4 and status["writableVotingMembersCount"] == 3
        assert status["majorityVoteCount"] == 3 and status["writeMajorityCount"] == 3
        assert isinstance(status["optimes"]["appliedOpTime"]["ts"], Timestamp)
        by_name = {m["name"]: m for m in status["members"]}
        assert [by_name[h]["stateStr"] for h in sim.hosts] == ["PRIMARY", "SECONDARY", "SECONDARY", "ARBITER"]
        assert by_name[sim.hosts[0]]["self"] is True
        assert all("self" not in by_name[h] for h in sim.hosts[1:])
        assert all(m["health"] == 1.0 for m in status["members"])
        assert by_name[sim.hosts[1]]["syncSourceHost"] == sim.hosts[0]
        assert isinstance(by_name[sim.hosts[1]]["optime"]["t"], int)
        assert "optime" not in by_name[sim.hosts[3]]

        config = client.admin.command("replSetGetConfig")["config"]
        assert config["_id"] == "rs0" and config["protocolVersion"] == 1
        assert config["writeConcernMajorityJournalDefault"] is True
        cfg_members = config["members"]
        assert [m["host"] for m in cfg_members] == sim.hosts
        assert cfg_members[2]["hidden"] is True and cfg_members[2]["priority"] == 0.0
        assert cfg_members[2]["secondaryDelaySecs"] == 600
        assert cfg_members[3]["arbiterOnly"] is True and cfg_members[3]["priority"] == 0.0
        assert cfg_members[0]["priority"] == 1.0 and cfg_members[0]["votes"] == 1

        with pytest.raises(OperationFailure) as info:
            client.local.command("replSetGetStatus")
        assert info.value.code == 13


def test_privileges_roles_and_revocation(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    status = client.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
    assert {"role": "pbmAnyAction", "db": "admin"} in status["authenticatedUserRoles"]
    privileges = status["authenticatedUserPrivileges"]
    resources = [str(sorted(p["resource"].items())) for p in privileges]
    assert len(resources) == len(set(resources)), "privileges on one resource must be merged"
    cluster = next(p for p in privileges if p["resource"] == {"cluster": True})
    assert {"replSetGetStatus", "replSetGetConfig", "appendOplogNote"} <= set(cluster["actions"])

    # Without pbmAnyAction and readWrite/backup, admin.pbmAgents is still readable through pmmMonitor's
    # {db:"", collection:""} find; after revoking that too, it is not.
    for role, db in [("pbmAnyAction", "admin"), ("readWrite", "admin"), ("backup", "admin"), ("restore", "admin")]:
        rs.revoke_role("pmm", role, db)
    assert client.admin.pbmAgents.find_one() is not None
    rs.revoke_role("pmm", "pmmMonitor", "admin")
    with pytest.raises(OperationFailure) as info:
        client.admin.pbmAgents.find_one()
    assert info.value.code == 13
    assert info.value.details is not None
    assert info.value.details["errmsg"].startswith('not authorized on admin to execute command { find: "pbmAgents"')
    # clusterMonitor still grants replSetGetStatus; system collections are never covered by {db:"",collection:""}
    client.admin.command("replSetGetStatus")
    rs.revoke_role("pmm", "clusterMonitor", "admin")
    with pytest.raises(OperationFailure) as info:
        client.admin.command("replSetGetConfig")
    assert info.value.code == 13
    rs.grant_role("pmm", "pbmAnyAction", "admin")
    client.admin.command("replSetGetConfig")
    assert client.admin.pbmAgents.find_one() is not None


def test_custom_role_inheritance_and_collection_rules(make_client: Any) -> None:
    roles = [
        SimRole(
            "agentsReader",
            "admin",
            privileges=[{"resource": {"db": "admin", "collection": "pbmAgents"}, "actions": ["find"]}],
        ),
        SimRole(
            "pbmReader",
            "admin",
            privileges=[{"resource": {"db": "", "collection": "pbmConfig"}, "actions": ["find"]}],
            roles=[("agentsReader", "admin")],
        ),
    ]
    users = [SimUser("reader", "pw", roles=[{"role": "pbmReader", "db": "admin"}])]
    with SimReplicaSet(users=users, roles=roles) as sim:
        client = make_client(sim.uri())
        auth_info = client.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
        assert auth_info["authenticatedUserRoles"] == [
            {"role": "pbmReader", "db": "admin"},
            {"role": "agentsReader", "db": "admin"},
        ]
        assert len(auth_info["authenticatedUserPrivileges"]) == 2
        assert len(list(client.admin.pbmAgents.find())) == 3
        assert client.admin.pbmConfig.find_one({"profile": None}, {"storage.type": 1}) is not None
        with pytest.raises(OperationFailure):
            client.admin.pbmBackups.find_one()
        with pytest.raises(OperationFailure):
            client.admin.command("replSetGetStatus")


def test_any_normal_resource_does_not_match_local_or_config(make_client: Any) -> None:
    # server ResourcePatternSearchList: {db: "", collection: ""} never matches a namespace of local or config
    roles = [SimRole("findAnywhere", "admin",
                     privileges=[{"resource": {"db": "", "collection": ""}, "actions": ["find"]}])]
    users = [SimUser("reader", "pw", roles=[("findAnywhere", "admin")])]
    with SimReplicaSet(users=users, roles=roles) as sim:
        client = make_client(sim.uri())
        assert len(list(client.admin.pbmAgents.find())) == 3
        with pytest.raises(OperationFailure) as info:
            client.local.get_collection("oplog.rs").find_one()
        assert info.value.code == 13


# --- data ---------------------------------------------------------------------------------------------------


def test_find_projection_removes_credentials(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    full = client.admin.pbmConfig.find_one({"profile": None})
    assert full is not None and full["storage"]["s3"]["credentials"]["secret-access-key"]
    doc = client.admin.pbmConfig.find_one(
        {"profile": None},
        {"storage.type": 1, "storage.s3.bucket": 1, "storage.s3.region": 1, "pitr.enabled": 1, "epoch": 1},
    )
    assert doc is not None
    assert doc["storage"] == {"type": "s3", "s3": {"region": "us-east-1", "bucket": "pbm-backups"}}
    assert doc["pitr"] == {"enabled": False} and isinstance(doc["epoch"], Timestamp)
    assert "credentials" not in str(doc)
    excluded = client.admin.pbmConfig.find_one({}, {"storage.s3.credentials": 0, "_id": 0})
    assert excluded is not None and "_id" not in excluded and "credentials" not in excluded["storage"]["s3"]
    rs.pbm_config = None
    assert client.admin.pbmConfig.find_one({"profile": None}) is None


def test_find_filters_sort_limit_and_get_more(make_client: Any) -> None:
    docs: list[dict[str, Any]] = [
        {"_id": i, "name": f"b{i}", "status": "done" if i % 2 else "error", "meta": {"rs": f"rs{i % 3}"}}
        for i in range(7)
    ]
    docs.append({"_id": 7, "name": None})
    with SimReplicaSet(collections={("admin", "pbmBackups"): docs}) as sim:
        coll = make_client(sim.uri()).admin.pbmBackups
        assert [d["_id"] for d in coll.find({"status": "done"})] == [1, 3, 5]
        assert [d["_id"] for d in coll.find({"meta.rs": "rs1"})] == [1, 4]
        assert [d["_id"] for d in coll.find({"status": None})] == [7]
        assert [d["_id"] for d in coll.find({"name": None})] == [7]
        assert [d["_id"] for d in coll.find({"_id": {"$in": [2, 3, 42]}})] == [2, 3]
        assert [d["_id"] for d in coll.find({"meta": {"$exists": False}})] == [7]
        assert [d["_id"] for d in coll.find({}).sort([("status", 1), ("_id", -1)]).limit(3)] == [7, 5, 3]
        batched = list(coll.find({}, {"_id": 1}).sort("_id", -1).batch_size(3))
        assert [d["_id"] for d in batched] == list(range(7, -1, -1))
        assert "getMore" in sim.members[0].commands_seen
        assert coll.find_one({}, sort=[("_id", -1)], projection={"_id": 1}) == {"_id": 7}


def test_reads_on_secondary_need_secondary_ok(rs: SimReplicaSet, make_client: Any) -> None:
    direct = make_client(rs.members[1].uri())  # pymongo sends primaryPreferred on direct connections
    assert direct.admin.pbmAgents.find_one() is not None
    with raw_socket(rs.hosts[1]) as sock:
        reply = wire.command(sock, {"find": "pbmAgents"})
        assert reply["code"] == 13  # unauthenticated first
    unauth = SimReplicaSet(users=[]).start()
    try:
        with raw_socket(unauth.hosts[1]) as sock:
            reply = wire.command(sock, {"find": "pbmAgents"})
            assert reply["ok"] == 0.0 and reply["code"] == 13435
            reply = wire.command(sock, {"find": "pbmAgents", "$readPreference": {"mode": "secondaryPreferred"}})
            assert reply["ok"] == 1.0 and len(reply["cursor"]["firstBatch"]) == 3
    finally:
        unauth.stop()


# --- PBM agents ----------------------------------------------------------------------------------------------


def hb_by_host(client: pymongo.MongoClient[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["n"]: d for d in client.admin.pbmAgents.find({})}


def test_pbm_agents_fresh_and_frozen(make_client: Any) -> None:
    members = [MemberSpec(), MemberSpec(), MemberSpec(), MemberSpec(arbiter=True)]
    with SimReplicaSet(members=members) as sim:
        stopped_at = sim.cluster_time().time - 100
        sim.members[1].agent = AgentSpec(running=False, stopped_at=stopped_at)
        sim.members[2].agent = None
        client = make_client(sim.uri())
        docs = hb_by_host(client)
        ct = client.admin.command("hello")["$clusterTime"]["clusterTime"]
        assert set(docs) == {sim.hosts[0], sim.hosts[1]}  # no agent on member 2, none on the arbiter
        assert 0 <= ct.time - docs[sim.hosts[0]]["hb"].time <= 4
        assert docs[sim.hosts[1]]["hb"].time == stopped_at
        assert docs[sim.hosts[0]]["rs"] == "rs0" and docs[sim.hosts[0]]["s"] == 1
        assert docs[sim.hosts[1]]["str"] == "SECONDARY"

        sim.advance_clock(60)
        docs2 = hb_by_host(client)
        assert docs2[sim.hosts[0]]["hb"].time >= docs[sim.hosts[0]]["hb"].time + 56
        assert docs2[sim.hosts[1]]["hb"].time == stopped_at
        assert docs2[sim.hosts[0]]["_id"] == docs[sim.hosts[0]]["_id"]

        sim.members[1].start_agent()
        sim.members[0].stop_agent()
        docs3 = hb_by_host(client)
        frozen = docs3[sim.hosts[0]]["hb"].time
        sim.advance_clock(40)
        docs4 = hb_by_host(client)
        assert docs4[sim.hosts[0]]["hb"].time == frozen
        assert client.admin.command("hello")["$clusterTime"]["clusterTime"].time - frozen >= 40
        assert 0 <= sim.cluster_time().time - docs4[sim.hosts[1]]["hb"].time <= 4


def test_pbm_agent_document_fields_by_version(make_client: Any) -> None:
    versions = ["1.4.0", "2.0.1", "2.3.0", "2.6.0", "2.15.0"]
    members = [MemberSpec(agent=AgentSpec(version=v)) for v in versions]
    members[1].psmdb = False
    with SimReplicaSet(members=members) as sim:
        docs = hb_by_host(make_client(sim.uri()))
        keys = [list(docs[h]) for h in sim.hosts]
    base = ["_id", "n", "rs"]
    tail = ["pbms", "nodes", "stors", "hb"]
    assert keys[0] == [*base, "v", *tail]
    assert keys[1] == [*base, "s", "str", "hdn", "psv", "v", *tail, "e"]
    assert keys[2] == [*base, "s", "str", "hdn", "psv", "arb", "v", "mv", "pv", *tail, "e"]
    assert keys[3] == [*base, "s", "str", "hdn", "psv", "arb", "delay", "repl_lag", "v", "mv", "pv", *tail, "e"]
    assert keys[4] == keys[3]


def test_pbm_agent_community_has_no_pv_and_extra_docs(make_client: Any) -> None:
    extra: list[dict[str, Any]] = [{"n": "gone:27017", "rs": "rs0", "v": "2.7.0"}, {"broken": True}]
    with SimReplicaSet(psmdb=False, extra_agent_docs=extra) as sim:
        docs = list(make_client(sim.uri()).admin.pbmAgents.find({}))
        assert len(docs) == 5
        assert "pv" not in docs[0] and docs[0]["mv"] == "7.0.14"
        assert docs[3:] == extra


def test_pbm_agent_when_its_mongod_is_down(make_client: Any) -> None:
    members = [MemberSpec(), MemberSpec(agent=AgentSpec(version="2.7.0")), MemberSpec(agent=AgentSpec(version="2.6.0"))]
    with SimReplicaSet(members=members) as sim:
        client = make_client(sim.uri())
        before = hb_by_host(client)
        sim.members[1].stop()
        sim.members[2].stop()
        sim.advance_clock(60)
        after = hb_by_host(client)
        new, old = after[sim.hosts[1]], after[sim.hosts[2]]
        assert new["hb"] == before[sim.hosts[1]]["hb"]  # >= 2.7: hb from the node's own hello -> frozen
        assert new["nodes"]["ok"] is False and "connection refused" in new["nodes"]["e"]
        assert new["s"] == 6 and new["str"] == "UNKNOWN" and new["e"].startswith("get NodeInfo: ")
        assert old["hb"].time >= before[sim.hosts[2]]["hb"].time + 56  # < 2.7: keeps advancing
        assert old["nodes"]["ok"] is False
        sim.members[1].start()
        assert hb_by_host(client)[sim.hosts[1]]["nodes"]["ok"] is True


def test_clock_offset_shifts_cluster_time(make_client: Any) -> None:
    two_days = 2 * 86400
    with SimReplicaSet(clock_offset=two_days) as sim:
        client = make_client(sim.uri())
        ct = client.admin.command("hello")["$clusterTime"]["clusterTime"]
        assert abs(ct.time - (time.time() + two_days)) < 5
        hb = client.admin.pbmAgents.find_one()
        assert hb is not None and abs(hb["hb"].time - (time.time() + two_days)) < 10
        assert abs(sim.cluster_time().time - (time.time() + two_days)) < 5


# --- faults ---------------------------------------------------------------------------------------------------


def test_stopped_node_is_down_for_others_and_for_pymongo(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri(), heartbeatFrequencyMS=500)
    client.admin.command("ping")
    assert wait_for(lambda: len(client.secondaries) == 2)
    node = rs.members[2]
    port = node.port
    node.stop()
    status = client.admin.command("replSetGetStatus")
    down = next(m for m in status["members"] if m["name"] == node.host)
    assert down["health"] == 0.0 and down["state"] == 8 and down["stateStr"] == "(not reachable/healthy)"
    assert down["lastHeartbeatMessage"] == f"Error connecting to {node.host} :: caused by :: Connection refused"
    assert client.admin.command("hello")["hosts"] == rs.hosts

    def server_type() -> int:
        description = client.topology_description.server_descriptions()[address(node.host)]
        return int(description.server_type)

    assert wait_for(lambda: server_type() == SERVER_TYPE.Unknown)
    with pytest.raises(OSError):
        socket.create_connection(address(node.host), timeout=0.5).close()
    # its port stays its own while it is down: no other listener (another simulated member) can take it, as a
    # fleet's processes binding port 0 did, which made clients reach another replica set at this address
    other = socket.socket()
    with pytest.raises(OSError):
        other.bind(("127.0.0.1", port))
    other.close()
    node.start()
    assert node.port == port
    assert wait_for(lambda: server_type() == SERVER_TYPE.RSSecondary)
    status = client.admin.command("replSetGetStatus")
    assert all(m["health"] == 1.0 for m in status["members"])


def test_step_down_and_set_primary(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri(), heartbeatFrequencyMS=500)
    client.admin.command("ping")
    rs.set_primary(1)
    assert wait_for(lambda: client.primary == address(rs.hosts[1]))
    hello = client.admin.command("hello")
    assert hello["me"] == rs.hosts[1] and hello["electionId"] == ObjectId("7fffffff0000000000000002")
    rs.step_down()
    assert rs.primary_index == 2
    assert wait_for(lambda: client.primary == address(rs.hosts[2]))
    rs.primary_index = None
    with raw_socket(rs.hosts[0]) as sock:
        reply = wire.command(sock, {"hello": 1})
    assert reply["isWritablePrimary"] is False and reply["secondary"] is True and "primary" not in reply
    with pytest.raises(ValueError):
        SimReplicaSet(members=[MemberSpec(), MemberSpec(arbiter=True)]).set_primary(1)


def test_delay(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    client.admin.command("ping")
    rs.members[0].set_delay(0.3)
    started = time.monotonic()
    client.admin.command("ping")
    assert time.monotonic() - started >= 0.3
    rs.members[0].set_delay(0)
    started = time.monotonic()
    client.admin.command("ping")
    assert time.monotonic() - started < 0.2


def test_hang_times_out_socket(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.members[1].uri(), socketTimeoutMS=300, connectTimeoutMS=300, serverSelectionTimeoutMS=500)
    client.admin.command("ping")
    rs.members[1].hang()
    started = time.monotonic()
    with pytest.raises((NetworkTimeout, AutoReconnect)):
        client.admin.command("ping")
    assert time.monotonic() - started < 1.5
    assert rs.members[1].commands_seen[-1] == "ping"
    rs.members[1].unhang()
    assert wait_for(lambda: _ping_ok(client))


def _ping_ok(client: pymongo.MongoClient[dict[str, Any]]) -> bool:
    try:
        return bool(client.admin.command("ping")["ok"])
    except (AutoReconnect, OperationFailure):
        return False


def test_refuse(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    rs.members[0].refuse("replSetGetStatus")
    with pytest.raises(OperationFailure) as info:
        client.admin.command("replSetGetStatus")
    assert info.value.code == 13
    assert info.value.details is not None and info.value.details["codeName"] == "Unauthorized"
    rs.members[0].refuse("buildInfo", code=11601, errmsg="operation was interrupted")
    with pytest.raises(OperationFailure) as info:
        client.admin.command("buildinfo")
    assert info.value.code == 11601
    assert info.value.details is not None and info.value.details["errmsg"] == "operation was interrupted"
    rs.members[0].unrefuse("replSetGetStatus")
    rs.members[0].unrefuse("buildInfo")
    assert client.admin.command("replSetGetStatus")["ok"] == 1.0


def test_on_receive_acts_before_the_reply_once(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    client.admin.command("ping")
    primary = rs.members[0]
    primary.on_receive("replSetGetStatus", lambda: primary.refuse("replSetGetStatus"))
    with pytest.raises(OperationFailure):  # the action ran before this request was answered
        client.admin.command("replSetGetStatus")
    primary.unrefuse("replSetGetStatus")
    assert client.admin.command("replSetGetStatus")["ok"] == 1.0  # and only once
    primary.on_receive("ping", primary.stop)  # from a worker thread: the node's sync API works there
    with pytest.raises(AutoReconnect):
        client.admin.command("ping")
    assert not primary.is_up


def test_replies_delayed_counts_the_replies_held_back(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    client.admin.command("ping")
    rs.members[0].set_delay(0.3)
    pinging = threading.Thread(target=lambda: client.admin.command("ping"))
    pinging.start()
    assert wait_for(lambda: rs.members[0].replies_delayed == 1)
    rs.members[0].clear_faults()  # the delay already running runs out
    pinging.join(30)
    assert rs.members[0].replies_delayed == 0


def test_commands_seen_and_writes_rejected(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    client.admin.pbmAgents.find_one({}, {"n": 1})
    with pytest.raises(OperationFailure) as info:
        client.admin.pbmAgents.insert_one({"n": "x"})
    assert info.value.code == 13
    seen = rs.members[0].commands_seen
    assert "find" in seen and "insert" in seen
    _, db, body = next(entry for entry in rs.members[0].command_log if entry[0] == "find")
    assert db == "admin" and body["projection"] == {"n": 1}


def test_unknown_and_case_sensitive_commands(rs: SimReplicaSet, make_client: Any) -> None:
    client = make_client(rs.uri())
    with pytest.raises(OperationFailure) as info:
        client.admin.command("noSuchCommand")
    assert info.value.code == 59
    assert info.value.details is not None
    assert info.value.details["errmsg"] == "no such command: 'noSuchCommand'"
    assert info.value.details["codeName"] == "CommandNotFound"
    with pytest.raises(OperationFailure) as info:
        client.admin.command("Ping")
    assert info.value.code == 59
    assert client.admin.command("ismaster")["ismaster"] is True
    assert client.admin.command("buildinfo")["version"] == "7.0.14"


def test_standalone(make_client: Any) -> None:
    with SimReplicaSet(standalone=True) as sim:
        assert "replicaSet" not in sim.uri()
        client = make_client(sim.uri(directConnection=True))
        hello = client.admin.command("hello")
        assert hello["isWritablePrimary"] is True
        for key in ("setName", "hosts", "$clusterTime", "operationTime", "me"):
            assert key not in hello
        with pytest.raises(OperationFailure) as info:
            client.admin.command("replSetGetStatus")
        assert info.value.code == 76
        assert info.value.details is not None
        assert info.value.details["errmsg"] == "not running with --replSet"
        assert info.value.details["codeName"] == "NoReplicationEnabled"
        assert client.topology_description.topology_type_name == "Single"
        assert list(client.admin.pbmAgents.find()) == []
    with pytest.raises(ValueError):
        SimReplicaSet(standalone=True, members=[MemberSpec(), MemberSpec()])


# --- wire protocol ---------------------------------------------------------------------------------------------


def test_legacy_op_query_handshake(rs: SimReplicaSet) -> None:
    with raw_socket(rs.hosts[0]) as sock:
        sock.sendall(wire.encode_op_query({"isMaster": 1, "helloOk": True}))
        op_code, reply = wire.read_reply(sock)
        assert op_code == wire.OP_REPLY and reply["ismaster"] is True and reply["helloOk"] is True
        sock.sendall(wire.encode_op_query({"$query": {"hello": 1}, "$readPreference": {"mode": "primary"}}))
        op_code, reply = wire.read_reply(sock)
        assert op_code == wire.OP_REPLY and reply["isWritablePrimary"] is True
        sock.sendall(wire.encode_op_query({"ping": 1}))
        _, reply = wire.read_reply(sock)
        assert reply["ok"] == 0.0 and reply["code"] == 352


def test_op_msg_sequences_checksum_and_more_to_come(rs: SimReplicaSet) -> None:
    with raw_socket(rs.hosts[0]) as sock:
        # moreToCome: no reply; the next request's reply is the next thing on the socket.
        sock.sendall(wire.encode_op_msg({"ping": 1}, flags=wire.MORE_TO_COME))
        sock.sendall(wire.encode_op_msg({"hello": 1}, checksum=True))
        op_code, reply = wire.read_reply(sock)
        assert op_code == wire.OP_MSG and reply["isWritablePrimary"] is True
        # A kind-1 document sequence is merged into the body (the insert is rejected: read-only simulator).
        sock.sendall(wire.encode_op_msg({"insert": "c"}, sequences={"documents": [{"a": 1}, {"a": 2}]}))
        _, reply = wire.read_reply(sock)
        assert reply["ok"] == 0.0 and reply["code"] == 13
    assert rs.members[0].commands_seen[-3:] == ["ping", "hello", "insert"]
    insert_body = rs.members[0].command_log[-1][2]
    assert insert_body["documents"] == [{"a": 1}, {"a": 2}]


# --- architecture ------------------------------------------------------------------------------------------------


def test_not_thread_per_connection(rs: SimReplicaSet) -> None:
    baseline = threading.active_count()
    sockets = []
    try:
        for _ in range(50):
            sock = socket.create_connection(address(rs.hosts[0]), timeout=2)
            sockets.append(sock)
            assert wire.command(sock, {"hello": 1})["ok"] == 1.0
        assert rs.members[0].connection_count == 50
        # at most the baseline: threads left by earlier tests' clients may end meanwhile, none may start
        assert threading.active_count() <= baseline
        loop_threads = [t for t in threading.enumerate() if t.name == "mongo-sim-loop"]
        assert len(loop_threads) == 1
        with SimReplicaSet(name="rs1") as other:  # a second set is served by the same loop thread
            assert threading.active_count() <= baseline
            with raw_socket(other.hosts[0]) as sock:
                assert wire.command(sock, {"hello": 1})["setName"] == "rs1"
    finally:
        for sock in sockets:
            sock.close()


def test_stop_is_fast(make_client: Any) -> None:
    sim = SimReplicaSet().start()
    client = make_client(sim.uri())
    client.admin.pbmAgents.find_one()
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 0.5
    assert all(not m.is_up for m in sim.members)
    assert isinstance(Int64(1), int)


# ---------------------------------------------------------------------------------------------------------------
# PBM's operations as its agents write them (pbm_pmm_simulator/pbm_operations.py)


def test_a_backup_start_deletes_stale_agent_documents_and_holds_its_lock(
        rs: SimReplicaSet, make_client: Callable[..., pymongo.MongoClient[dict[str, Any]]]) -> None:
    admin = make_client(rs.uri())["admin"]
    stopped, fresh = rs.members[2], rs.members[1]
    stopped.stop_agent(at=rs.cluster_time().time - 60)  # SIGTERM: the document stays, its hb frozen
    assert stopped.host in {d["n"] for d in admin["pbmAgents"].find()}
    opid = rs.pbm.start_backup()
    # AgentStatusGC at the backup's start: only the document more than 35 s stale is gone
    assert {d["n"] for d in admin["pbmAgents"].find()} == {rs.members[0].host, fresh.host}
    [lock] = list(admin["pbmLock"].find())
    now = rs.cluster_time().time
    assert lock["type"] == "backup" and lock["opid"] == opid and lock["replset"] == "rs0"
    assert lock["node"] == rs.members[0].host and now - 2 <= lock["hb"].time <= now  # heartbeating
    [backup] = list(admin["pbmBackups"].find({"opid": opid}))
    assert backup["status"] == "running" and now - 5 <= backup["start_ts"] <= now
    rs.pbm.finish_backup()
    assert list(admin["pbmLock"].find()) == []
    assert admin["pbmBackups"].find_one({"opid": opid})["status"] == "done"
    # the agent comes back: it writes its document again
    stopped.start_agent()
    assert stopped.host in {d["n"] for d in admin["pbmAgents"].find()}


def test_a_physical_restore_pauses_every_agents_heartbeat(
        rs: SimReplicaSet, make_client: Callable[..., pymongo.MongoClient[dict[str, Any]]]) -> None:
    admin = make_client(rs.uri())["admin"]
    assert rs.pbm_config is not None
    rs.pbm_config["pitr"] = {"enabled": True}
    name = rs.pbm.start_physical_restore("2026-12-01T00:00:00Z")
    before = {d["n"]: d["hb"].time for d in admin["pbmAgents"].find()}
    rs.advance_clock(60)
    after = {d["n"]: d["hb"].time for d in admin["pbmAgents"].find()}
    assert after == before and len(after) == 3
    assert list(admin["pbmLock"].find()) == []  # PBM releases a physical restore's lock at once
    assert list(admin["pbmRestores"].find()) == []  # its metadata goes to the storage only
    [command] = list(admin["pbmCmd"].find().sort("$natural", -1).limit(1))
    assert command["cmd"] == "restore" and command["restore"]["name"] == name
    assert command["restore"]["backupName"] == "2026-12-01T00:00:00Z"
    assert admin["pbmBackups"].find_one({"name": "2026-12-01T00:00:00Z"})["type"] == "physical"
    assert admin["pbmConfig"].find_one()["pitr"]["enabled"] is False  # the leader turns PITR off
    rs.pbm.stop_mongod_for_restore()
    assert not any(member.is_up for member in rs.members)
    rs.pbm.finish_physical_restore()
    now = rs.cluster_time().time
    assert all(hb >= now - 10 for hb in (d["hb"].time for d in admin["pbmAgents"].find()))
    assert list(admin["pbmCmd"].find()) == []  # cleanUpPBMCollections on the restored data


def test_natural_order_sorts_by_insertion(
        rs: SimReplicaSet, make_client: Callable[..., pymongo.MongoClient[dict[str, Any]]]) -> None:
    admin = make_client(rs.uri())["admin"]
    rs.set_collection("admin", "pbmCmd", [{"cmd": "backup", "ts": 3}, {"cmd": "resync", "ts": 1}])
    assert [d["cmd"] for d in admin["pbmCmd"].find().sort("$natural", -1)] == ["resync", "backup"]
    assert [d["cmd"] for d in admin["pbmCmd"].find().sort("$natural", 1)] == ["backup", "resync"]


def test_pitr_slicing_holds_its_op_lock_and_writes_a_chunk_every_span(
        rs: SimReplicaSet, make_client: Callable[..., pymongo.MongoClient[dict[str, Any]]]) -> None:
    admin = make_client(rs.uri())["admin"]
    now = rs.cluster_time().time
    rs.pbm.start_pitr(span_min=1, since=now - 150)  # 2.5 spans ago: two chunks
    [lock] = list(admin["pbmLockOp"].find())
    assert lock["type"] == "pitr" and lock["replset"] == "rs0" and lock["hb"].time >= now - 2
    chunks = list(admin["pbmPITRChunks"].find({"rs": "rs0"}).sort("start_ts", -1))
    assert [(c["start_ts"].time, c["end_ts"].time) for c in chunks] == [(now - 90, now - 30), (now - 150, now - 90)]
    rs.pbm.stop_pitr(crash=True)
    rs.advance_clock(120)
    [lock] = list(admin["pbmLockOp"].find())
    assert lock["hb"].time <= now + 2  # no longer refreshed
    assert len(list(admin["pbmPITRChunks"].find())) == 2  # and no new chunk


def test_a_logical_backup_pauses_pitr_slicing_until_it_ends_or_its_lock_goes_stale(
        rs: SimReplicaSet, make_client: Callable[..., pymongo.MongoClient[dict[str, Any]]]) -> None:
    admin = make_client(rs.uri())["admin"]
    now = rs.cluster_time().time
    rs.pbm.start_pitr(span_min=1, since=now - 150)
    opid = rs.pbm.start_backup()
    backup = admin["pbmBackups"].find_one({"opid": opid})
    assert backup["type"] == "logical" and backup["store"]["type"] == "s3" and "profile" not in backup["store"]
    rs.advance_clock(600)
    assert list(admin["pbmLockOp"].find()) == []  # paused: no agent holds the pitr lock
    newest = admin["pbmPITRChunks"].find_one({"rs": "rs0"}, sort=[("end_ts", -1)])
    assert newest["end_ts"].time <= now  # no chunk past the backup's start
    rs.pbm.finish_backup()  # Catchup: the backup's oplog becomes chunks, slicing resumes
    [lock] = list(admin["pbmLockOp"].find())
    newest = admin["pbmPITRChunks"].find_one({"rs": "rs0"}, sort=[("end_ts", -1)])
    assert lock["type"] == "pitr" and newest["end_ts"].time >= now + 600 - 60
    rs.pbm.start_backup(profile="archive")  # to a profile's storage: no pause
    assert admin["pbmBackups"].find_one({"status": "running"})["store"]["profile"] is True
    assert len(list(admin["pbmLockOp"].find())) == 1
    rs.pbm.finish_backup()
    rs.pbm.start_backup()
    rs.pbm.crash_backup()
    assert list(admin["pbmLockOp"].find()) == []
    rs.advance_clock(31)  # the crashed backup's lock is stale: PBM ignores it and slices again
    assert len(list(admin["pbmLockOp"].find())) == 1


def test_a_crashed_backup_leaves_a_lock_that_goes_stale(
        rs: SimReplicaSet, make_client: Callable[..., pymongo.MongoClient[dict[str, Any]]]) -> None:
    admin = make_client(rs.uri())["admin"]
    rs.pbm.start_backup()
    rs.pbm.crash_backup()
    frozen = admin["pbmLock"].find_one()["hb"].time
    rs.advance_clock(60)
    assert admin["pbmLock"].find_one()["hb"].time == frozen
    assert admin["pbmBackups"].find_one()["status"] == "running"

"""The sharded-cluster simulator (CSRS + shards + mongos), driven by real pymongo over loopback TCP."""

from __future__ import annotations

import contextlib
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pymongo
import pytest
from bson import Int64, ObjectId, Timestamp
from pymongo.errors import AutoReconnect, OperationFailure, ServerSelectionTimeoutError
from pymongo.read_preferences import SecondaryPreferred
from pymongo.server_type import SERVER_TYPE

from pbm_pmm_simulator import AgentSpec, MemberSpec, SimReplicaSet, SimShardedCluster, wire
from pbm_pmm_simulator.sharded import connection_string

Client = pymongo.MongoClient[dict[str, Any]]


@pytest.fixture
def cluster() -> Iterator[SimShardedCluster]:
    with SimShardedCluster() as sim:
        yield sim


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(uri: str, **kwargs: Any) -> Client:
        kwargs.setdefault("serverSelectionTimeoutMS", 1000)
        client: Client = pymongo.MongoClient(uri, **kwargs)
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


def failure(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(OperationFailure) as info:
        call()
    assert info.value.details is not None
    return dict(info.value.details)


# --- the mongos -----------------------------------------------------------------------------------------------


def test_mongos_handshake_auth_and_sharded_topology(cluster: SimShardedCluster, make_client: Any) -> None:
    assert cluster.uri() == f"mongodb://pmm:secret@{cluster.mongos.host}/?authSource=admin"
    client = make_client(cluster.uri())
    assert client.admin.command("ping")["ok"] == 1.0
    assert client.topology_description.topology_type_name == "Sharded"
    (description,) = client.topology_description.server_descriptions().values()
    assert description.server_type == SERVER_TYPE.Mongos
    hello = client.admin.command("hello")
    assert hello["isWritablePrimary"] is True and hello["msg"] == "isdbgrid"
    for absent in ("setName", "hosts", "me", "primary", "readOnly", "ismaster"):
        assert absent not in hello
    assert hello["maxWireVersion"] == 21 and hello["minWireVersion"] == 0
    assert hello["logicalSessionTimeoutMinutes"] == 30
    assert isinstance(hello["$clusterTime"]["clusterTime"], Timestamp)
    assert hello["operationTime"] == hello["$clusterTime"]["clusterTime"]
    assert {"saslStart", "saslContinue"} <= set(cluster.mongos.commands_seen)
    status = client.admin.command("connectionStatus", showPrivileges=True)
    assert status["authInfo"]["authenticatedUsers"] == [{"user": "pmm", "db": "admin"}]
    assert {"role": "clusterMonitor", "db": "admin"} in status["authInfo"]["authenticatedUserRoles"]
    build = client.admin.command("buildInfo")
    assert build["version"] == "7.0.14" and build["psmdbVersion"] == "7.0.14-8"

    # Legacy OP_QUERY handshake: ismaster, no setName.
    with raw_socket(cluster.mongos.host) as sock:
        sock.sendall(wire.encode_op_query({"isMaster": 1, "helloOk": True}))
        op_code, reply = wire.read_reply(sock)
    assert op_code == wire.OP_REPLY
    assert reply["ismaster"] is True and reply["msg"] == "isdbgrid" and reply["helloOk"] is True
    assert "setName" not in reply

    bad = make_client(cluster.uri(password="wrong"))
    assert failure(lambda: bad.admin.command("ping"))["code"] == 18


def test_mongos_replica_set_commands_cursors_and_writes(cluster: SimShardedCluster, make_client: Any) -> None:
    client = make_client(cluster.uri())
    details = failure(lambda: client.admin.command("replSetGetStatus"))
    assert details["info"] == "mongos" and details["ok"] == 0.0
    assert details["errmsg"] == "replSetGetStatus is not supported through mongos"
    assert "code" not in details and "codeName" not in details
    details = failure(lambda: client.admin.command("replSetGetConfig"))
    assert (details["code"], details["codeName"]) == (59, "CommandNotFound")
    assert details["errmsg"] == "no such command: 'replSetGetConfig'"
    assert failure(lambda: client.admin.pbmAgents.insert_one({"x": 1}))["code"] == 13
    # A small batch: find, then getMore on the mongos's cursor.
    docs = list(client.admin.pbmAgents.find({}, {"rs": 1, "n": 1}, batch_size=2))
    assert len(docs) == 9
    assert "getMore" in cluster.mongos.commands_seen
    cursor = client.admin.pbmAgents.find({}, batch_size=2)
    next(cursor)
    cursor.close()
    assert "killCursors" in cluster.mongos.commands_seen


# --- shard registry ---------------------------------------------------------------------------------------------


def test_list_shards_get_shard_map_and_config_shards(cluster: SimShardedCluster, make_client: Any) -> None:
    client = make_client(cluster.uri())
    shards = client.admin.command("listShards")["shards"]
    assert [s["_id"] for s in shards] == ["shard0", "shard1"]
    for doc, rs in zip(shards, cluster.shards, strict=True):
        assert doc["host"] == f"{rs.name}/{','.join(rs.hosts)}"
        assert doc["state"] == 1 and isinstance(doc["topologyTime"], Timestamp)
        config_hosts = [m["host"] for m in make_client(rs.uri()).admin.command("replSetGetConfig")["config"]["members"]]
        assert doc["host"].split("/", 1)[1].split(",") == config_hosts

    shard_map = client.admin.command("getShardMap")
    cfg = f"cfg/{','.join(cluster.config.hosts)}"
    expected_map = {rs.name: f"{rs.name}/{','.join(rs.hosts)}" for rs in cluster.shards} | {"config": cfg}
    assert shard_map["map"] == expected_map
    assert list(shard_map["map"]) == ["shard0", "shard1", "config"]
    assert shard_map["hosts"] == {
        **{h: rs.name for rs in cluster.shards for h in rs.hosts},
        **{h: "config" for h in cluster.config.hosts},
    }
    assert shard_map["connStrings"] == {v: k for k, v in expected_map.items()}
    # The config servers and shard members answer getShardMap too (PBM runs it on the CSRS primary).
    on_csrs = make_client(cluster.config.uri()).admin.command("getShardMap")
    assert on_csrs["map"] == expected_map

    assert list(client.config.shards.find({}, sort=[("_id", 1)])) == shards
    assert list(client.config.shards.find({"_id": "shard1"}, {"host": 1, "_id": 0})) == [{"host": shards[1]["host"]}]
    assert list(make_client(cluster.config.uri()).config.shards.find()) == shards

    # Privileges: listShards and getShardMap need clusterMonitor's actions.
    cluster.config.revoke_role("pmm", "clusterMonitor", "admin")
    cluster.config.revoke_role("pmm", "pbmAnyAction", "admin")
    for command in ("listShards", "getShardMap"):
        details = failure(lambda command=command: client.admin.command(command))  # type: ignore[misc]
        assert details["code"] == 13
        assert details["errmsg"] == f'not authorized on admin to execute command {{ {command}: 1, $db: "admin" }}'
    assert failure(lambda: client.test.command("listShards"))["errmsg"] == (
        "listShards may only be run against the admin database."
    )


def test_balancer_status(cluster: SimShardedCluster, make_client: Any) -> None:
    client = make_client(cluster.uri())
    status = client.admin.command("balancerStatus")
    assert {k: status[k] for k in ("mode", "inBalancerRound", "numBalancerRounds", "ok")} == {
        "mode": "full",
        "inBalancerRound": False,
        "numBalancerRounds": 0,
        "ok": 1.0,
    }
    assert isinstance(status["numBalancerRounds"], Int64)
    assert client.config.settings.find_one({"_id": "balancer"}) is None
    cluster.advance_clock(35)
    assert client.admin.command("balancerStatus")["numBalancerRounds"] == 3
    cluster.balancer_in_round = True
    assert client.admin.command("balancerStatus")["inBalancerRound"] is True
    cluster.balancer_mode = "off"
    cluster.advance_clock(60)
    status = client.admin.command("balancerStatus")
    assert (status["mode"], status["numBalancerRounds"]) == ("off", 3)
    assert client.config.settings.find_one({"_id": "balancer"}) == {"_id": "balancer", "mode": "off", "stopped": True}
    # Privilege: find on config.settings (clusterMonitor has it through read@config, so do the others here).
    for role in ("clusterMonitor", "pbmAnyAction", "backup", "restore", "pmmMonitor"):
        cluster.config.revoke_role("pmm", role, "admin")
    details = failure(lambda: client.admin.command("balancerStatus"))
    assert details["code"] == 13
    # CSRS without a primary: the mongos cannot reach the balancer.
    cluster.config.grant_role("pmm", "clusterMonitor", "admin")
    cluster.config.primary_index = None
    details = failure(lambda: client.admin.command("balancerStatus"))
    assert (details["code"], details["codeName"]) == (133, "FailedToSatisfyReadPreference")
    assert details["errmsg"] == 'Could not find host matching read preference { mode: "primary" } for set cfg'


# --- PBM's documents -------------------------------------------------------------------------------------------


def test_every_agent_document_lives_on_the_config_servers(cluster: SimShardedCluster, make_client: Any) -> None:
    mongos = make_client(cluster.uri())
    csrs = make_client(cluster.config.uri())
    for client in (mongos, csrs):
        docs = list(client.admin.pbmAgents.find({}))
        assert len(docs) == 9
        assert Counter(d["rs"] for d in docs) == {"cfg": 3, "shard0": 3, "shard1": 3}
        for rs in cluster.replica_sets:
            assert sorted(d["n"] for d in docs if d["rs"] == rs.name) == sorted(rs.hosts)
        assert all(d["v"] == "2.7.0" for d in docs)
        config = client.admin.pbmConfig.find_one({"profile": None}, {"storage.type": 1})
        assert config is not None and config["storage"] == {"type": "s3"}
    for rs in cluster.shards:
        shard = make_client(rs.uri())
        assert list(shard.admin.pbmAgents.find()) == []
        assert shard.admin.pbmConfig.find_one() is None
        assert rs.agent_documents() == []
        assert len(rs.written_agent_documents()) == 3
    # One clock: heartbeats and every set's cluster time agree.
    cluster.advance_clock(1000)
    clients = [make_client(rs.uri()) for rs in cluster.replica_sets] + [mongos]
    times = [c.admin.command("hello")["$clusterTime"]["clusterTime"].time for c in clients]
    assert max(times) - min(times) <= 1
    hbs = [d["hb"].time for d in csrs.admin.pbmAgents.find()]
    assert all(0 <= min(times) - hb <= 6 for hb in hbs)
    assert cluster.shards[0].clock_offset == cluster.clock_offset == 1000


def test_agent_reads_through_mongos_follow_the_read_preference(cluster: SimShardedCluster, make_client: Any) -> None:
    client = make_client(cluster.uri())
    cluster.config.members[0].stop()  # the CSRS primary
    details = failure(lambda: client.admin.pbmAgents.find_one())
    assert details["code"] == 133
    assert details["errmsg"] == 'Could not find host matching read preference { mode: "primary" } for set cfg'
    agents = client.get_database("admin", read_preference=SecondaryPreferred()).pbmAgents
    assert len(list(agents.find())) == 9
    assert client.admin.command("listShards")["ok"] == 1.0  # read from the nearest config server
    for member in cluster.config.members:
        member.stop()
    assert failure(lambda: client.admin.command("listShards"))["errmsg"] == (
        'Could not find host matching read preference { mode: "nearest" } for set cfg'
    )
    assert client.admin.command("getShardMap")["ok"] == 1.0  # from the mongos's shard registry


def test_mixed_pbm_versions_per_shard(make_client: Any) -> None:
    def members(version: str) -> list[MemberSpec]:
        return [MemberSpec(agent=AgentSpec(version=version)) for _ in range(3)]

    with SimShardedCluster(
        shard_members=[members("2.6.0"), members("2.0.1"), [*members("2.7.0")[:2], MemberSpec(arbiter=True)]],
        config_member_specs=members("2.5.0"),
    ) as cluster:
        assert cluster.shard_names == ["shard0", "shard1", "shard2"]
        docs = list(make_client(cluster.uri()).admin.pbmAgents.find())
        versions = {(d["rs"], d["v"]) for d in docs}
        assert versions == {("cfg", "2.5.0"), ("shard0", "2.6.0"), ("shard1", "2.0.1"), ("shard2", "2.7.0")}
        assert Counter(d["rs"] for d in docs)["shard2"] == 2  # no agent on the arbiter
        assert "arb" not in next(d for d in docs if d["rs"] == "shard1")  # 2.0.1 documents predate `arb`
        # The arbiter is in the shard's host string; a hidden member is not (hello never lists it).
        shard2 = cluster.shards[2]
        assert connection_string(shard2) == f"shard2/{','.join(shard2.hosts)}"
        hidden = cluster.add_shard([MemberSpec(), MemberSpec(), MemberSpec(hidden=True)])
        (doc,) = [s for s in make_client(cluster.uri()).admin.command("listShards")["shards"] if s["_id"] == "shard3"]
        assert doc["host"] == f"shard3/{hidden.hosts[0]},{hidden.hosts[1]}"


# --- shards and config servers ------------------------------------------------------------------------------------


def test_shard_identity_and_config_server_markers(cluster: SimShardedCluster, make_client: Any) -> None:
    csrs = make_client(cluster.config.uri())
    cluster_id = csrs.config.version.find_one({"_id": 1})["clusterId"]
    assert isinstance(cluster_id, ObjectId)
    for member in cluster.config.members:
        hello = make_client(member.uri()).admin.command("hello")
        assert hello["configsvr"] == 2 and hello["setName"] == "cfg"
        assert "$configServerState" not in hello
        assert list(hello).index("configsvr") == list(hello).index("maxBsonObjectSize") - 1
    assert csrs.admin.command("replSetGetConfig")["config"]["configsvr"] is True
    opts = csrs.admin.command("getCmdLineOpts")["parsed"]
    assert opts["sharding"] == {"clusterRole": "configsvr"} and opts["replication"] == {"replSetName": "cfg"}

    cfg_string = f"cfg/{','.join(cluster.config.hosts)}"
    for rs in cluster.shards:
        config = make_client(rs.uri()).admin.command("replSetGetConfig")["config"]
        assert "configsvr" not in config
        for member in rs.members:
            direct = make_client(member.uri())
            hello = direct.admin.command("hello")
            assert "configsvr" not in hello and hello["setName"] == rs.name
            assert set(hello["$configServerState"]["opTime"]) == {"ts", "t"}
            identity = direct.admin.system.version.find_one({"_id": "shardIdentity"})
            assert identity == {
                "_id": "shardIdentity",
                "shardName": rs.name,
                "clusterId": cluster_id,
                "configsvrConnectionString": cfg_string,
            }
        opts = make_client(rs.uri()).admin.command("getCmdLineOpts")["parsed"]
        assert opts["sharding"] == {"clusterRole": "shardsvr"}

    # A plain replica set is none of these.
    with SimReplicaSet() as plain:
        client = make_client(plain.uri())
        hello = client.admin.command("hello")
        assert "configsvr" not in hello and "$configServerState" not in hello and "lastCommittedOpTime" not in hello
        assert client.admin.system.version.find_one({"_id": "shardIdentity"}) is None
        details = failure(lambda: client.admin.command("getShardMap"))
        assert (details["code"], details["codeName"], details["errmsg"]) == (
            62,
            "ShardingStateNotInitialized",
            "Sharding is not enabled",
        )
        assert "sharding" not in client.admin.command("getCmdLineOpts")["parsed"]


def test_add_and_remove_shard(cluster: SimShardedCluster, make_client: Any) -> None:
    client = make_client(cluster.uri())
    new = cluster.add_shard()
    assert new.name == "shard2" and all(m.is_up for m in new.members)
    assert [s["_id"] for s in client.admin.command("listShards")["shards"]] == ["shard0", "shard1", "shard2"]
    assert client.admin.command("getShardMap")["map"]["shard2"] == connection_string(new)
    assert Counter(d["rs"] for d in client.admin.pbmAgents.find())["shard2"] == 3
    assert make_client(new.uri()).admin.system.version.find_one({"_id": "shardIdentity"})["shardName"] == "shard2"

    removed = cluster.remove_shard("shard1")
    assert not any(m.is_up for m in removed.members)
    assert [s["_id"] for s in client.admin.command("listShards")["shards"]] == ["shard0", "shard2"]
    assert "shard1" not in client.admin.command("getShardMap")["map"]
    assert Counter(d["rs"] for d in client.admin.pbmAgents.find()) == {"cfg": 3, "shard0": 3, "shard2": 3}

    cluster.remove_shard("shard2", keep_agent_documents=True)  # its agents' documents stay, heartbeats frozen
    assert [s["_id"] for s in client.admin.command("listShards")["shards"]] == ["shard0"]
    assert Counter(d["rs"] for d in client.admin.pbmAgents.find())["shard2"] == 3
    assert cluster.add_shard(members=[MemberSpec()]).name == "shard3"  # shard names are never reused
    with pytest.raises(KeyError):
        cluster.remove_shard("shard1")


def test_stopped_shard_and_mongos_faults(cluster: SimShardedCluster, make_client: Any) -> None:
    client = make_client(cluster.uri())
    before = client.admin.command("listShards")["shards"]
    cluster.shards[1].stop()
    assert client.admin.command("listShards")["shards"] == before  # the host string stays registered
    assert client.admin.command("getShardMap")["map"]["shard1"] == before[1]["host"]
    docs = [d for d in client.admin.pbmAgents.find() if d["rs"] == "shard1"]
    assert len(docs) == 3 and all(d["nodes"]["ok"] is False for d in docs)  # agents cannot reach their mongod
    with pytest.raises(ServerSelectionTimeoutError):
        make_client(cluster.shards[1].uri(), serverSelectionTimeoutMS=200).admin.command("ping")
    cluster.shards[1].start()
    assert make_client(cluster.shards[1].uri()).admin.command("ping")["ok"] == 1.0

    cluster.mongos.refuse("listShards", code=13)
    assert failure(lambda: client.admin.command("listShards"))["code"] == 13
    cluster.mongos.unrefuse("listShards")
    cluster.mongos.stop()
    with pytest.raises((AutoReconnect, ServerSelectionTimeoutError)):
        make_client(cluster.uri(), serverSelectionTimeoutMS=200).admin.command("ping")
    cluster.mongos.start()
    assert make_client(cluster.uri()).admin.command("listShards")["ok"] == 1.0


def test_revoke_on_one_shard_only(cluster: SimShardedCluster, make_client: Any) -> None:
    shard0, shard1 = cluster.shards
    for role in ("clusterMonitor", "pbmAnyAction"):
        shard0.revoke_role("pmm", role, "admin")
    details = failure(lambda: make_client(shard0.uri()).admin.command("replSetGetStatus"))
    assert details["code"] == 13
    assert details["errmsg"] == 'not authorized on admin to execute command { replSetGetStatus: 1, $db: "admin" }'
    assert make_client(shard1.uri()).admin.command("replSetGetStatus")["set"] == "shard1"
    assert make_client(cluster.config.uri()).admin.command("replSetGetStatus")["set"] == "cfg"
    mongos = make_client(cluster.uri())
    assert mongos.admin.command("listShards")["ok"] == 1.0  # the mongos uses the config servers' users
    roles = mongos.admin.command("connectionStatus")["authInfo"]["authenticatedUserRoles"]
    assert {"role": "clusterMonitor", "db": "admin"} in roles
    # A user missing from one shard fails authentication there only.
    uri = shard1.uri()
    shard1.drop_user("pmm")
    assert failure(lambda: make_client(uri).admin.command("ping"))["code"] == 18
    assert make_client(shard0.uri()).admin.command("ping")["ok"] == 1.0
    assert mongos.admin.command("ping")["ok"] == 1.0


def test_shard_uri_from_the_mongos_shard_map(cluster: SimShardedCluster, make_client: Any) -> None:
    """How an exporter reaches each replica set: getShardMap's "rs/h1,h2" with the mongos URI's credentials."""
    shard_map = make_client(cluster.uri()).admin.command("getShardMap")["map"]
    for shard_id, conn in shard_map.items():
        name, hosts = conn.split("/", 1)
        client = make_client(f"mongodb://pmm:secret@{hosts}/?replicaSet={name}&authSource=admin")
        assert client.admin.command("hello")["setName"] == name
        assert (shard_id == "config") == (name == "cfg")
        assert client.admin.command("replSetGetStatus", read_preference=pymongo.ReadPreference.PRIMARY)["ok"] == 1.0

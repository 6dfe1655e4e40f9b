"""Sharded clusters end to end: the exporter's real probe through mongos, then every shard and the config
servers directly, against the simulated sharded cluster over the wire protocol."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bson.timestamp import Timestamp

from exporter.config.config_file import ClusterConfig, PMMConfig
from exporter.results.check_result import Status
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, SnapshotStore
from pbm_pmm_simulator import PMM_BACKUP_ROLES, AgentSpec, MemberSpec, SimRole, SimShardedCluster, SimUser
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.probing import probe_clusters

PER_NODE = ("replica_set_member", "pbm_agent_running", "pbm_version_supported", "pbm_storage_reachable")


def config(cluster: SimShardedCluster, **over: object) -> ClusterConfig:
    values: dict[str, object] = {"name": "big", "uri": cluster.uri(), "backup_mode": "logical",
                                 "seeds": (cluster.mongos.host,), "username": "pmm", "password": "secret"}
    values.update(over)
    return ClusterConfig(**values)  # type: ignore[arg-type]


def probe(cluster: SimShardedCluster, store: SnapshotStore | None = None, timeout: float = 2.0,
          pmm: PMMConfig | None = None, **over: object) -> ClusterSnapshot:
    snap = probe_clusters([config(cluster, **over)], timeout, store=store, pmm=pmm).get("big")
    assert snap is not None
    return snap


def by_set(snap: ClusterSnapshot, check: str) -> dict[str, dict[str, Status]]:
    out: dict[str, dict[str, Status]] = {}
    for r in snap.results:
        if r.check == check:
            out.setdefault(r.replica_set, {})[r.node] = r.status
    return out


@pytest.fixture
def cluster() -> Iterator[SimShardedCluster]:
    with SimShardedCluster() as sharded:
        yield sharded


def test_two_shards_and_config_servers_all_healthy(cluster: SimShardedCluster) -> None:
    snap = probe(cluster)
    assert snap.probe_success and snap.ready is True, [r for r in snap.results if r.status is not Status.PASS]
    for check in PER_NODE:
        nodes = by_set(snap, check)
        assert set(nodes) == {"cfg", "shard0", "shard1"}, check
        for rs in cluster.replica_sets:
            assert nodes[rs.name] == dict.fromkeys(rs.hosts, Status.PASS), (check, rs.name)
    # judged on every replica set: users and builds are per shard
    assert set(by_set(snap, "mongodb_user_permissions")) == {"cfg", "shard0", "shard1"}
    reason = next(r.reason for r in snap.results if r.check == "supported_configuration" and r.replica_set == "cfg")
    assert "sharded cluster of 2 shards: PMM backs it up, restores need the PBM CLI" in reason
    assert "balancer full (PBM stops it for each backup)" in reason
    assert len(snap.agents) == 9 and {a.replica_set for a in snap.agents} == {"cfg", "shard0", "shard1"}


def test_agent_missing_on_a_config_server(cluster: SimShardedCluster) -> None:
    cluster.config.members[2].agent = None
    snap = probe(cluster)
    status = by_set(snap, "pbm_agent_running")
    assert status["cfg"][cluster.config.hosts[2]] is Status.FAIL
    assert set(status["shard0"].values()) == {Status.PASS}
    reason = next(r.reason for r in snap.results
                  if r.check == "pbm_agent_running" and r.node == cluster.config.hosts[2])
    assert reason.startswith(f"no pbm-agent document for this node (cfg/{cluster.config.hosts[2]}) in admin.pbmAgents")
    # a config server secondary's agent: backups go on (the leader is the config servers' primary), but a physical
    # restore would need it
    assert snap.ready is True
    assert snap.operations["logical_backup"] is True and snap.operations["physical_restore"] is False


def test_the_leaders_agent_on_the_config_servers_blocks_every_backup(cluster: SimShardedCluster) -> None:
    primary = cluster.config.members[0]
    primary.stop_agent(at=cluster.cluster_time().time - 120)
    snap = probe(cluster)
    [running] = [r for r in snap.results if r.check == "pbm_agent_running" and r.node == primary.host]
    assert running.blocks == ("logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore",
                              "pitr_restore")
    assert "this is the cluster leader, whose agent starts every backup and PITR" in running.reason
    assert snap.ready is False and snap.operations["logical_backup"] is False and snap.operations["pitr"] is False
    primary.start_agent()
    # a shard's primary is no leader: PBM takes that shard's backup from another member, but restores it logically
    # on its primary only
    shard_primary = cluster.shards[0].members[0]
    shard_primary.stop_agent(at=cluster.cluster_time().time - 120)
    snap = probe(cluster)
    [running] = [r for r in snap.results if r.check == "pbm_agent_running" and r.node == shard_primary.host]
    assert running.blocks == ("logical_restore", "physical_restore", "pitr_restore")
    assert snap.ready is True and snap.operations["logical_restore"] is False


def test_a_shard_down_makes_only_its_own_checks_unknown(cluster: SimShardedCluster) -> None:
    down = cluster.shards[1]
    for node in down.members:
        node.stop()
    snap = probe(cluster, timeout=1.0)
    assert snap.probe_success
    judged = [r for r in snap.results if r.status is not Status.SKIPPED]  # the PMM checks: no pmm: section
    assert {r.status for r in judged if r.replica_set == "shard1"} == {Status.UNKNOWN}
    assert {r.node for r in judged if r.replica_set == "shard1"} == {*down.hosts, ""}  # "": per-set checks
    assert all("no usable member answered" in r.reason for r in judged if r.replica_set == "shard1")
    assert {r.status for r in judged if r.replica_set in ("cfg", "shard0")} == {Status.PASS}
    assert snap.ready is None  # unknown, not a false "not ready"


def test_a_shard_added_between_probes_is_checked_next_probe(cluster: SimShardedCluster) -> None:
    store = SnapshotStore()
    first = probe(cluster, store)
    assert {r.replica_set for r in first.results} == {"cfg", "shard0", "shard1"}
    added = cluster.add_shard()
    second = probe(cluster, store)
    assert by_set(second, "pbm_agent_running")[added.name] == dict.fromkeys(added.hosts, Status.PASS)
    cluster.remove_shard("shard0")
    third = probe(cluster, store)
    assert "shard0" not in {r.replica_set for r in third.results}


def test_mixed_pbm_versions_across_shards() -> None:
    old = [MemberSpec(agent=AgentSpec(version="2.0.0")) for _ in range(3)]
    new = [MemberSpec(agent=AgentSpec(version="2.7.0")) for _ in range(3)]
    with SimShardedCluster(shard_members=[new, old]) as cluster:
        snap = probe(cluster)
        versions = by_set(snap, "pbm_version_supported")
        assert set(versions["shard0"].values()) == {Status.PASS}
        assert set(versions["shard1"].values()) == {Status.FAIL}
        assert {(a.replica_set, a.version) for a in snap.agents} == {("cfg", "2.7.0"), ("shard0", "2.7.0"),
                                                                     ("shard1", "2.0.0")}
        # the config servers' leader (2.7.0) panics on shard1's documents, which have no mv
        [mixed] = [r for r in snap.results if r.check == "pbm_versions_consistent"]
        assert mixed.status is Status.FAIL and mixed.blocks == ("logical_backup", "physical_backup")
        assert snap.operations["logical_backup"] is False


def test_user_missing_a_role_on_one_shard(cluster: SimShardedCluster) -> None:
    cluster.shards[0].revoke_role("pmm", "pbmAnyAction", "admin")
    snap = probe(cluster)
    permissions = {r.replica_set: r.status for r in snap.results if r.check == "mongodb_user_permissions"}
    assert permissions == {"cfg": Status.PASS, "shard0": Status.FAIL, "shard1": Status.PASS}


def test_pbm_agents_user_is_judged_on_every_shard(cluster: SimShardedCluster) -> None:
    # pbm-agent runs as pbmuser (seen on the config servers, where every agent's leading connection goes); each
    # shard's agents work on that shard as its shard-local user of the same name, which lacks restore on shard0
    view = SimRole("viewUsers", "admin", privileges=[{"resource": {"db": "admin", "collection": ""},
                                                      "actions": ["viewUser"]}])
    for rs in (cluster.config, *cluster.shards):
        weak = rs is cluster.shards[0]
        roles = [r for r in PMM_BACKUP_ROLES if not weak or r[0] not in ("restore", "pbmAnyAction")]
        rs.add_user(SimUser("pbmuser", "pbm-secret", roles=roles))
        rs.add_role(view)
        rs.grant_role("pmm", "viewUsers", "admin")
    cluster.config.agent_user = ("pbmuser", "admin")
    snap = probe(cluster)
    permissions = {r.replica_set: (r.status, r.reason) for r in snap.results if r.check == "mongodb_user_permissions"}
    assert {name: status for name, (status, _) in permissions.items()} == {
        "cfg": Status.PASS, "shard0": Status.FAIL, "shard1": Status.PASS}
    assert permissions["shard0"][1].startswith("pbm-agent's user pbmuser@admin, which runs PBM's backups and "
                                               "restores, lacks the privileges of restore@admin (")


def test_restore_from_pmm_and_a_backup_beside_a_running_balancer(cluster: SimShardedCluster) -> None:
    snap = probe(cluster, restore_from_pmm=True)
    sc = next(r for r in snap.results if r.check == "supported_configuration" and r.replica_set == "cfg")
    assert sc.status is Status.FAIL and "PMM cannot restore sharded clusters" in sc.reason
    assert "pbm restore" in sc.fix
    # a PBM backup whose lock is fresh while the balancer still runs: in its first 30 s PBM is still stopping the
    # balancer (pbm/backup/backup.go: WaitForBalancerDisabled waits 30 s after the lock), so that is no failure
    now = cluster.cluster_time().time
    cluster.config.set_collection("admin", "pbmLock", [
        {"type": "backup", "replset": "cfg", "node": cluster.config.hosts[0], "opid": "6650f1", "epoch":
         Timestamp(now - 5000, 1), "hb": Timestamp(now - 2, 1)}])  # epoch: the config's, not the backup's start
    backup = {"name": "2026-12-01T10:00:00Z", "opid": "6650f1", "type": "logical", "status": "running",
              "start_ts": now - 10}
    cluster.config.set_collection("admin", "pbmBackups", [backup])
    sc = next(r for r in probe(cluster).results if r.check == "supported_configuration" and r.replica_set == "cfg")
    assert sc.status is Status.PASS and "a PBM backup started 1" in sc.reason
    # past that, a warning: PBM goes on with the backup (it only logs that the balancer is not disabled)
    cluster.config.set_collection("admin", "pbmBackups", [{**backup, "start_ts": now - 100}])
    sc = next(r for r in probe(cluster).results if r.check == "supported_configuration" and r.replica_set == "cfg")
    assert sc.status is Status.FAIL and "has run for 10" in sc.reason and "while the balancer is full" in sc.reason
    assert sc.blocks == () and "balancerStop" not in sc.fix  # the option exists from PBM 2.14; these agents run 2.7
    for member in cluster.config.members:
        assert member.agent is not None
        member.agent.version = "2.14.0"
    sc = next(r for r in probe(cluster).results if r.check == "supported_configuration" and r.replica_set == "cfg")
    assert "set backup.timeouts.balancerStop in PBM's config" in sc.fix
    assert "PMM rewrites PBM's whole config at each backup" in sc.fix
    cluster.balancer_mode = "off"
    sc = next(r for r in probe(cluster).results if r.check == "supported_configuration" and r.replica_set == "cfg")
    assert sc.status is Status.PASS and "balancer off" in sc.reason


def test_unreachable_shard_addresses_can_be_overridden(cluster: SimShardedCluster) -> None:
    shard = cluster.shards[0]
    snap = probe(cluster, shard_uris=(("shard0", shard.uri()),))
    assert by_set(snap, "pbm_agent_running")["shard0"] == dict.fromkeys(shard.hosts, Status.PASS)


def test_pmm_checks_on_a_sharded_cluster_are_judged_once() -> None:
    with SimShardedCluster() as cluster, SimPMMServer(version="3.4.0", token="glsa_t") as pmm:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        for rs in cluster.replica_sets:
            pmm.register_replica_set(rs, cluster="big")
        snap = probe(cluster, pmm=PMMConfig(pmm.url, "glsa_t"))
        assert snap.ready is True, [r for r in snap.results if r.status is not Status.PASS]
        for check in ("backup_management_enabled", "storage_location_configured", "pbm_config_managed_by_pmm"):
            assert [r.replica_set for r in snap.results if r.check == check] == ["cfg"], check
        clients = by_set(snap, "pmm_client_connected")
        assert set(clients) == {"cfg", "shard0", "shard1"}
        assert sum(len(v) for v in clients.values()) == 9


def test_check_command_groups_nodes_by_replica_set(tmp_path: object, cluster: SimShardedCluster) -> None:
    import subprocess
    import sys
    from pathlib import Path

    path = Path(str(tmp_path)) / "exporter.yml"
    path.write_text(f"interval: 30s\ntimeout: 3s\nclusters:\n  - name: big\n    uri: {cluster.uri()}\n")
    cluster.shards[0].members[1].stop_agent(at=cluster.cluster_time().time - 90)
    done = subprocess.run([sys.executable, "-m", "exporter", "check", "--config", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    # a shard secondary's agent: the logical backup runs from another member; only a physical restore is blocked
    assert lines[0].startswith("big: READY for logical backups (")
    assert lines[1] == ("  operations: logical_backup READY · physical_backup UNKNOWN · pitr READY · "
                        "logical_restore READY · physical_restore BLOCKED · pitr_restore READY")
    headings = [line.strip() for line in lines if line.startswith("  replica set ")]
    assert headings == ["replica set cfg:", "replica set shard0:", "replica set shard1:"]
    shard0 = lines.index("  replica set shard0:")
    assert lines[shard0 + 1].split()[:3] == ["FAIL", "pbm_agent_running", cluster.shards[0].hosts[1]]


def test_a_shard_with_no_backup_candidate_stops_every_backup(cluster: SimShardedCluster) -> None:
    # every agent of shard1 stopped: the leader (on the config servers) is fine, but nobody can back up shard1
    for member in cluster.shards[1].members:
        member.stop_agent(at=cluster.cluster_time().time - 120)
    snap = probe(cluster)
    verdicts = {r.replica_set: r for r in snap.results if r.check == "backup_candidate_available"}
    assert {rs: r.status for rs, r in verdicts.items()} == {"cfg": Status.PASS, "shard0": Status.PASS,
                                                            "shard1": Status.FAIL}
    assert verdicts["shard1"].reason.startswith("PBM has no agent it would nominate for a logical backup of shard1 (")
    assert "its agent's heartbeat is stale" in verdicts["shard1"].reason
    assert verdicts["shard1"].blocks == ("logical_backup", "physical_backup", "pitr")
    assert snap.ready is False and snap.operations["logical_backup"] is False


@pytest.mark.parametrize(("version", "ready"), [("2.9.0", False), ("2.9.1", True)])
def test_a_shard_whose_only_healthy_agent_is_hidden_under_a_pbm_2_9_0_leader(version: str, ready: bool) -> None:
    # the audit's case: shard1's P and S agents are stopped, its hidden member's agent runs. PBM 2.9.0's
    # CheckTopoForBackup (the leader's, on the config servers) skips passive members: "no available agent(s)"
    def spec(running: bool = True) -> MemberSpec:
        return MemberSpec(agent=AgentSpec(version=version, running=running))
    shard1 = [spec(running=False), spec(running=False), MemberSpec(hidden=True, agent=AgentSpec(version=version))]
    with SimShardedCluster(shard_members=[[spec(), spec(), spec()], shard1],
                           config_member_specs=[spec(), spec(), spec()]) as cluster:
        snap = probe(cluster)
        assert snap.operations["logical_backup"] is ready
        [candidate] = [r for r in snap.results if r.check == "backup_candidate_available" and r.replica_set == "shard1"]
        assert (candidate.status is Status.PASS) is ready
        if not ready:
            assert "PBM 2.9.0" in candidate.reason and "no available agent(s) on replsets: shard1" in candidate.reason


@pytest.mark.parametrize("version", ["2.44.0", "3.4.0"], ids=["pmm2", "pmm3"])
def test_a_shard_pmm_cannot_reach_does_not_block_the_clusters_backups(version: str) -> None:
    # PMM starts a sharded backup through one service and pbm reconnects to the config servers (PBM connect.go
    # Connect, getConfigsvrURI): a shard whose pmm-agents are all disconnected stops no backup and no PITR
    with SimShardedCluster() as cluster, SimPMMServer(version=version, token="glsa_t") as pmm:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        services = {rs.name: pmm.register_replica_set(rs, cluster="big") for rs in cluster.replica_sets}
        for service in services["shard1"].values():
            pmm.set_agent_connected(service, False)
        snap = probe(cluster, pmm=PMMConfig(pmm.url, "glsa_t"))
    shard1 = [r for r in snap.results if r.check == "pmm_client_connected" and r.replica_set == "shard1"]
    assert {(r.status, r.blocks) for r in shard1} == {(Status.FAIL, ("logical_restore", "physical_restore",
                                                                    "pitr_restore"))}
    assert "PMM runs a sharded cluster's backups and PITR through any one of its services" in shard1[0].reason
    assert snap.operations["logical_backup"] is True and snap.operations["pitr"] is True
    assert snap.operations["physical_restore"] is False  # PMM restarts every labelled service's mongod


@pytest.mark.parametrize("version", ["2.44.0", "3.4.0"], ids=["pmm2", "pmm3"])
def test_an_unlabelled_shard_does_not_block_the_clusters_backups(version: str) -> None:
    with SimShardedCluster() as cluster, SimPMMServer(version=version, token="glsa_t") as pmm:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        for rs in cluster.replica_sets:
            pmm.register_replica_set(rs, cluster="" if rs.name == "shard1" else "big")
        snap = probe(cluster, pmm=PMMConfig(pmm.url, "glsa_t"))
    shard1 = [r for r in snap.results if r.check == "service_cluster_name" and r.replica_set == "shard1"]
    assert {(r.status, r.blocks) for r in shard1} == {(Status.FAIL, ("physical_restore",))}
    assert "PMM starts a sharded cluster's backups through any one of its services" in shard1[0].reason
    assert snap.operations["logical_backup"] is True and snap.operations["pitr"] is True


def test_an_old_pmm_agent_on_one_shard_does_not_block_the_clusters_backups() -> None:
    # PMM 2 only: a pmm-agent below 2.19 cannot connect to PMM 3 (agent.v1.AgentService), so PMM 3 never sees one
    with SimShardedCluster() as cluster, SimPMMServer(version="2.44.0", token="glsa_t") as pmm:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        services = {rs.name: pmm.register_replica_set(rs, cluster="big") for rs in cluster.replica_sets}
        for service in services["shard1"].values():
            pmm.set_pmm_agent_version(service, "2.18.1")
        snap = probe(cluster, pmm=PMMConfig(pmm.url, "glsa_t"))
    shard1 = [r for r in snap.results if r.check == "pmm_agent_version_supported" and r.replica_set == "shard1"]
    assert {r.status for r in shard1} == {Status.FAIL}
    assert {op for r in shard1 for op in r.blocks} == {"logical_restore", "physical_restore", "pitr_restore"}
    assert snap.operations["logical_backup"] is True and snap.operations["pitr"] is True

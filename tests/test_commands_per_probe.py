"""Commands a probe no longer sends (issue 30: three of a probe's dozen), with what they told still there.

replSetGetConfig and buildInfo are read again only when the primary's hello says they can have changed, and what
they say still reaches the checks at the next probe when it does; the cluster time is the $clusterTime of the
replies PBM's documents came in (one session), not a ping's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exporter.probes.mongodb import STABLE_REREAD_EVERY
from pbm_pmm_simulator import SimReplicaSet
from tests.probing import cluster_config
from tests.test_faults import LiveExporter


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet(name="rs0") as replica_set:
        yield replica_set


@pytest.fixture
def live(rs: SimReplicaSet) -> Iterator[LiveExporter]:
    """The exporter's long-lived ProbeCycle over cluster "c" (rs); it probes only when a test cycles it."""
    exporter = LiveExporter([cluster_config(rs, "c")])
    try:
        yield exporter
    finally:
        exporter.close()


def sent(rs: SimReplicaSet, command: str) -> int:
    return sum(node.commands_seen.count(command) for node in rs.members)


def supported_reason(live: LiveExporter) -> str:
    """supported_configuration's reason, which names the primary's MongoDB version (buildInfo) when it is too old."""
    return next(r.reason for r in live.snap("c").results if r.check == "supported_configuration")


def test_read_once_while_the_config_version_and_the_primary_stay(rs: SimReplicaSet, live: LiveExporter) -> None:
    live.cycle()
    assert (sent(rs, "replSetGetConfig"), sent(rs, "buildInfo")) == (1, 1)
    for _ in range(STABLE_REREAD_EVERY - 1):
        live.cycle()
    assert (sent(rs, "replSetGetConfig"), sent(rs, "buildInfo")) == (1, 1)
    assert sent(rs, "replSetGetStatus") == STABLE_REREAD_EVERY  # the rest is read every probe
    live.cycle()  # the backstop
    assert (sent(rs, "replSetGetConfig"), sent(rs, "buildInfo")) == (2, 2)


def test_a_reconfig_an_election_and_an_upgrade_are_read_at_the_next_probe(rs: SimReplicaSet,
                                                                           live: LiveExporter) -> None:
    live.cycle()
    live.cycle()
    assert sent(rs, "replSetGetConfig") == 1
    with rs.lock:
        rs.config_version += 1  # a replSetReconfig
    live.cycle()
    assert sent(rs, "replSetGetConfig") == 2
    rs.set_primary(1)
    live.cycle_until("c", lambda s: s.probe_success)  # the first may fail: "the primary changed during the probe"
    new_primary = rs.members[1].commands_seen
    assert (new_primary.count("replSetGetConfig"), new_primary.count("buildInfo")) == (1, 1)
    live.cycle()
    assert (new_primary.count("replSetGetConfig"), new_primary.count("buildInfo")) == (1, 1)
    assert "older than" not in supported_reason(live)
    rs.upgrade("4.2.24")  # a downgrade, so that the version shows in a reason
    live.cycle()
    assert new_primary.count("buildInfo") == 2
    assert "MongoDB 4.2 is older than 4.4" in supported_reason(live)


def test_a_refused_reply_is_asked_again_each_probe(rs: SimReplicaSet, live: LiveExporter) -> None:
    for member in rs.members:
        member.refuse("replSetGetConfig")
    live.cycle()
    live.cycle()
    assert sent(rs, "replSetGetConfig") == 2


def test_the_cluster_time_comes_with_pbms_documents_not_from_a_ping(rs: SimReplicaSet, live: LiveExporter) -> None:
    live.cycle()
    primary = rs.members[0].commands_seen
    assert "ping" not in primary and "find" in primary
    snap = live.snap("c")
    # heartbeats are compared with it: written by the agents as the cluster time, never in its future
    ages = [a.heartbeat_age for a in snap.agents]
    assert ages and all(age is not None and 0 <= age <= 5 for age in ages), ages
    assert next(r for r in snap.results if r.check == "pbm_agent_running").status.value == "pass"

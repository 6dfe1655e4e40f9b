"""Snapshots: the latest complete result per cluster, which scrapes, the status output and `check` read.

A scrape never waits on MongoDB: it reads the store. A failed probe replaces the cluster's check results with
nothing (no stale truth) while keeping the time of the last successful probe.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from exporter.checks.registry import run_cluster_checks
from exporter.facts.observed import ClusterFacts, PMMFacts, ReplicaSetFacts
from exporter.model.cluster_settings import ClusterSettings
from exporter.model.cluster_view import CheckInput, build_view
from exporter.model.oplog_window import windows
from exporter.model.pbm_locks import running_operations
from exporter.model.pbm_pitr_config import pitr_enabled
from exporter.model.pbm_timeline import Recoverability, recoverability
from exporter.model.pmm_inventory import ServiceMatch, match_members
from exporter.probes.mongodb import ProbeOutcome
from exporter.probes.pmm import BACKUP_API, DIALECTS
from exporter.readiness.cluster_readiness import backups_ready
from exporter.results.check_result import CheckResult, readiness
from exporter.results.operations import OPERATIONS, PHYSICAL


@dataclass(frozen=True)
class DiscoveryStatus:
    """The last cluster discovery from PMM's inventory."""

    success: bool
    error: str
    clusters: int  # clusters from PMM being probed now
    last_success_timestamp: float | None


@dataclass(frozen=True)
class PMMStatus:
    """How the cycle's read of PMM Server went; shared by every cluster."""

    version: str
    success: bool
    error: str = ""
    duration: float = 0.0


def pmm_status(facts: PMMFacts, duration: float) -> PMMStatus:
    """PMM's read succeeds when every list answered; the backup API's may fail only while Backup Management is off
    (PMM disables it then). The calls about single agents and artifacts tell their failures in the checks."""
    if facts.error is not None:
        return PMMStatus(facts.version, False, facts.error, duration)
    backup_off = facts.settings.ok and not (facts.settings.value or {}).get("backup_management_enabled")
    for name in DIALECTS:
        fact = getattr(facts, name)
        if fact.error is not None and not (name in BACKUP_API and backup_off):
            return PMMStatus(facts.version, False, fact.error, duration)
    return PMMStatus(facts.version, True, "", duration)


@dataclass(frozen=True, slots=True)
class AgentObservation:
    node: str
    replica_set: str
    version: str
    heartbeat_age: int | None


@dataclass(frozen=True, slots=True)
class OplogWindow:
    """A member's oplog window: seconds from its oldest to its newest entry (model/oplog_window.py)."""

    node: str
    replica_set: str
    seconds: int


@dataclass(frozen=True, slots=True)
class MemberIdentity:
    """A member as PMM knows it: the service PMM monitors it as, and that service's environment ("" when no PMM
    service matches it), so that dashboards join our series to PMM's (node_info)."""

    node: str
    replica_set: str
    pmm_service: str = ""
    pmm_environment: str = ""


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    cluster: str
    probe_success: bool
    probe_error: str = ""
    probe_duration: float = 0.0
    last_success_timestamp: float | None = None
    results: tuple[CheckResult, ...] = ()
    agents: tuple[AgentObservation, ...] = ()
    pmm: PMMStatus | None = None  # None when no PMM Server is configured
    source: str = "static"  # where the cluster came from: "static" (the config file) or "pmm" (discovered)
    probe_cause: str = ""  # the kind of failure (ProbeOutcome.cause)
    backup_mode: str = "logical"  # the backups PMM takes of it (the config's backup_mode)
    pitr_enabled: bool = False  # PBM's config has PITR on (pitr.enabled), so PMM's PITR must run too
    running: tuple[str, ...] = ()  # the types of PBM's operations running now (backup, restore, pitr, ...)
    members: tuple[MemberIdentity, ...] = ()  # from the last successful probe
    # what a restore can reach now, from PBM's catalogue (None: the probe failed)
    recoverability: Recoverability | None = None
    # the oplog windows of the members PBM could slice on, read with PITR on (empty otherwise)
    oplog_windows: tuple[OplogWindow, ...] = ()

    @property
    def operations(self) -> dict[str, bool | None]:
        """Per operation, whether PMM would run it now (readiness/cluster_readiness.py); all None when the probe
        failed. The physical operations are judged only for physical clusters, whose PSMDB and arbiter rules are
        checked."""
        if not self.probe_success or not self.results:
            return dict.fromkeys(OPERATIONS)
        return readiness(self.results, self._unjudged)

    @property
    def _unjudged(self) -> frozenset[str]:
        return frozenset() if self.backup_mode == "physical" else PHYSICAL

    @property
    def ready(self) -> bool | None:
        """Whether the backups PMM takes of the cluster will run: the backup_mode's backup, and PITR when it is on.
        Warnings, and what blocks only restores, do not lower it; None when it depends on what is unknown."""
        return self.ready_given(self.operations)

    def ready_given(self, operations: dict[str, bool | None]) -> bool | None:
        """`ready` from `operations` (this snapshot's), for a caller that has them already: PMM's refusal of
        snapshot backups beside a PITR schedule standing alone does not lower it (cluster_readiness.backups_ready)."""
        if not self.probe_success or not self.results:
            return backups_ready((), operations, self.backup_mode, self.pitr_enabled)
        return backups_ready(self.results, operations, self.backup_mode, self.pitr_enabled, self._unjudged)


def agent_observations(facts: ReplicaSetFacts) -> tuple[AgentObservation, ...]:
    """Version and heartbeat age of the agents that belong to current members (orphans are left out)."""
    view = build_view(facts)
    if view.members is None or view.agents is None:
        return ()
    out = []
    for member in view.members:
        agent = view.agent(member.host)
        if agent is None:
            continue
        age = agent.heartbeat_age(view.cluster_time) if view.cluster_time is not None else None
        out.append(AgentObservation(member.host, view.replica_set,
                                    agent.version if isinstance(agent.version, str) else "", age))
    return tuple(out)


def cluster_agents(cluster: ClusterFacts) -> tuple[AgentObservation, ...]:
    return tuple(a for facts in cluster.replica_sets for a in agent_observations(facts))


def build_snapshot(name: str, settings: ClusterSettings, outcome: ProbeOutcome, previous: ClusterSnapshot | None,
                   pmm: PMMFacts | None = None, pmm_probe: PMMStatus | None = None,
                   addresses: dict[str, frozenset[str]] | None = None, now: float | None = None,
                   source: str = "static") -> ClusterSnapshot:
    if outcome.facts is None:
        return ClusterSnapshot(name, False, outcome.error, outcome.duration,
                               previous.last_success_timestamp if previous else None, pmm=pmm_probe, source=source,
                               probe_cause=outcome.cause, backup_mode=settings.backup_mode,
                               pitr_enabled=previous.pitr_enabled if previous else False,
                               members=previous.members if previous else ())
    return ClusterSnapshot(
        name, True, "", outcome.duration, time.time() if now is None else now,
        tuple(run_cluster_checks(outcome.facts, settings, pmm, addresses)), cluster_agents(outcome.facts), pmm_probe,
        source, backup_mode=settings.backup_mode, pitr_enabled=cluster_pitr_enabled(outcome.facts),
        running=running_now(outcome.facts), members=member_identities(outcome.facts, settings, pmm, addresses),
        recoverability=cluster_recoverability(outcome.facts), oplog_windows=cluster_oplog_windows(outcome.facts))


def cluster_oplog_windows(cluster: ClusterFacts) -> tuple[OplogWindow, ...]:
    return tuple(OplogWindow(node, facts.name, seconds) for facts in cluster.replica_sets
                 for node, seconds in sorted(windows(facts).items()))


def cluster_recoverability(cluster: ClusterFacts) -> Recoverability | None:
    control = cluster.control_facts
    return recoverability(control, cluster.sharding) if control is not None else None


def member_identities(cluster: ClusterFacts, settings: ClusterSettings, pmm: PMMFacts | None,
                      addresses: dict[str, frozenset[str]] | None) -> tuple[MemberIdentity, ...]:
    """Every member of every replica set, with the PMM service the checks matched it to."""
    out = []
    for facts in cluster.replica_sets:
        view = build_view(facts)
        matches = match_members(CheckInput(facts, view, settings, pmm, addresses or {}))
        for member in view.members or ():
            service = matches.get(member.host, ServiceMatch(None)).service or {}
            out.append(MemberIdentity(member.host, view.replica_set, str(service.get("service_name") or ""),
                                      str(service.get("environment") or "")))
    return tuple(out)


def running_now(cluster: ClusterFacts) -> tuple[str, ...]:
    control = cluster.control_facts
    return tuple(sorted(running_operations(control))) if control is not None else ()


def cluster_pitr_enabled(cluster: ClusterFacts) -> bool:
    """PBM's config has PITR on, read from the replica set whose config PBM uses."""
    control = cluster.control_facts
    return control is not None and pitr_enabled(control.pbm_config.value)


@dataclass(frozen=True)
class Published:
    """What a store has published: all a scrape can see, sent from the probing process to the serving one."""

    snapshots: tuple[ClusterSnapshot, ...]
    pmm: PMMStatus | None
    discovery: DiscoveryStatus | None
    interval: float
    cycles: int
    last_cycle_duration: float | None


@dataclass
class SnapshotStore:
    """Thread-safe latest snapshot per cluster; written by the prober, read by scrapes."""

    _snapshots: dict[str, ClusterSnapshot] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    first_cycle_done: threading.Event = field(default_factory=threading.Event)
    pmm: PMMStatus | None = None  # the last read of PMM Server
    discovery: DiscoveryStatus | None = None  # the last discovery, when clusters come from PMM
    interval: float = 0.0  # the probe interval in force
    version: int = 0  # bumped when a cycle ends (or the config changes): what scrapes see is re-rendered then
    cycles: int = 0
    last_cycle_duration: float | None = None

    def end_cycle(self, duration: float | None) -> None:
        """Publish what this cycle stored: a scrape renders the snapshot once per version, not per request."""
        with self._lock:
            if duration is not None:
                self.cycles += 1
                self.last_cycle_duration = duration
            self.version += 1

    def published(self) -> Published:
        with self._lock:
            return Published(tuple(self._snapshots.values()), self.pmm, self.discovery, self.interval, self.cycles,
                             self.last_cycle_duration)

    def publish(self, state: Published) -> None:
        """Take on what another store published, as one new version."""
        with self._lock:
            self._snapshots = {s.cluster: s for s in state.snapshots}
            self.pmm, self.discovery, self.interval = state.pmm, state.discovery, state.interval
            self.cycles, self.last_cycle_duration = state.cycles, state.last_cycle_duration
            self.version += 1
        if state.cycles:
            self.first_cycle_done.set()

    def put(self, snapshot: ClusterSnapshot) -> None:
        with self._lock:
            self._snapshots[snapshot.cluster] = snapshot

    def remove(self, cluster: str) -> None:
        """Forget a cluster that is no longer probed, so none of its series stays behind."""
        with self._lock:
            self._snapshots.pop(cluster, None)

    def get(self, cluster: str) -> ClusterSnapshot | None:
        with self._lock:
            return self._snapshots.get(cluster)

    def all(self) -> list[ClusterSnapshot]:
        with self._lock:
            return list(self._snapshots.values())

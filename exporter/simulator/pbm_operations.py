"""What PBM's agents do to their collections when an operation starts, as the simulated replica set shows it.

Read from PBM's source (percona/percona-backup-mongodb, v2.15):
- A backup: the cluster leader lists the steady agents first (cmd/pbm-agent/backup.go ListSteadyAgents), which runs
  AgentStatusGC: agent documents whose `hb` is older than cluster time - 35 s are deleted (pbm/topo/agent.go,
  "stalesec ... 35"). A stopped pbm-agent (it does not catch SIGTERM) so loses its document until it runs again.
  The agent that runs the backup holds the lock in admin.pbmLock (pbm/lock/lock.go LockData: type, replset, node,
  opid, epoch, hb; hb refreshed every 5 s) and the backup's metadata is in admin.pbmBackups (pbm/backup/types.go
  BackupMeta: name, opid, type, status, start_ts, ...).
- A physical restore: every agent pauses its heartbeats (cmd/pbm-agent/restore.go passes a.HbPause to
  PhysRestore.Snapshot; agent.go HbPause) while mongod is stopped and restored; the lock's type is "restore".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bson import ObjectId, Timestamp

if TYPE_CHECKING:
    from .node import SimNode
    from .replset import SimReplicaSet

AGENT_GC_SECS = 35  # pbm/topo/agent.go AgentStatusGC: max(3 * AgentsStatCheckRange, 35)


class PBMOperations:
    """The operations PBM runs on a cluster, played on its control replica set (the only one, or the CSRS, whose
    admin collections hold every agent's document, the locks and the backups)."""

    def __init__(self, rs: SimReplicaSet) -> None:
        self._rs = rs
        self._lock: dict[str, Any] | None = None
        rs.dynamic_collections[("admin", "pbmLock")] = self._lock_documents

    def _members(self) -> Iterator[SimNode]:
        """Every member whose agent writes its document into this set's admin.pbmAgents."""
        rs = self._rs
        sets = ([rs] if rs.serves_own_agents else []) + list(rs.agent_sources)
        for each in sets:
            yield from each.members

    def _lock_documents(self) -> list[dict[str, Any]]:
        with self._rs.lock:
            if self._lock is None:
                return []
            return [{**self._lock, "hb": self._rs.cluster_time()}]  # a running operation heartbeats its lock

    def _take_lock(self, kind: str, opid: str) -> None:
        primary = self._rs.primary
        self._lock = {"_id": ObjectId(), "type": kind, "replset": self._rs.name,
                      "node": primary.host if primary is not None else "", "opid": opid,
                      "epoch": Timestamp(int(self._rs.now_secs()) - 3600, 1)}  # the config's epoch, older

    def collect_stale_agents(self) -> list[str]:
        """AgentStatusGC: delete the documents of agents whose heartbeat is older than cluster time - 35 s; returns
        their hosts. A stopped agent writes it again only when it runs again (start_agent)."""
        with self._rs.lock:
            now = self._rs.cluster_time().time
            hbs = {d["n"]: d["hb"].time for d in self._rs.agent_documents() if isinstance(d.get("hb"), Timestamp)}
            gone = []
            for node in self._members():
                if node.agent is not None and hbs.get(node.host, now) < now - AGENT_GC_SECS:
                    node.agent.document_deleted = True
                    gone.append(node.host)
            return gone

    def start_backup(self, kind: str = "logical", name: str | None = None) -> str:
        """A backup starts: stale agent documents are deleted, the lock is taken and the metadata written; returns
        the backup's opid. It runs (its lock heartbeating) until finish_backup()."""
        with self._rs.lock:
            self.collect_stale_agents()
            now = int(self._rs.now_secs())
            opid = str(ObjectId())
            self._take_lock("backup", opid)
            backups = [d for d in self._rs.collections.get(("admin", "pbmBackups"), []) if d.get("opid") != opid]
            backups.append({"_id": ObjectId(), "name": name or f"backup-{now}", "opid": opid, "type": kind,
                            "status": "running", "start_ts": now, "last_transition_ts": now})
            self._rs.collections[("admin", "pbmBackups")] = backups
            return opid

    def finish_backup(self, status: str = "done") -> None:
        with self._rs.lock:
            if self._lock is None:
                return
            opid = self._lock["opid"]
            for doc in self._rs.collections.get(("admin", "pbmBackups"), []):
                if doc.get("opid") == opid:
                    doc.update(status=status, last_transition_ts=int(self._rs.now_secs()))
            self._lock = None

    def start_physical_restore(self) -> None:
        """A physical restore starts: every agent pauses its heartbeats, and the restore lock is taken."""
        with self._rs.lock:
            now = float(self._rs.cluster_time().time)
            for node in self._members():
                if node.agent is not None and node.agent.paused_at is None:
                    node.agent.paused_at = now
            self._take_lock("restore", str(ObjectId()))

    def finish_physical_restore(self) -> None:
        with self._rs.lock:
            for node in self._members():
                if node.agent is not None:
                    node.agent.paused_at = None
            self._lock = None

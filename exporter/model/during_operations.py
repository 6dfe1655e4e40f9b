"""What a running PBM operation legitimately disturbs: those checks report the operation instead of failing.

A physical restore (percona/percona-backup-mongodb v2.15) pauses every agent's heartbeat (cmd/pbm-agent/restore.go
passes HbPause to PhysRestore.Snapshot) and stops and restarts mongod on every node (pbm/restore/physical.go), so
stale heartbeats, members down and no backup candidate are its doing, not faults; it shows as its command, the
newest in admin.pbmCmd, with the agents' heartbeats stale (model/pbm_locks.py running_physical_restore).
"""

from __future__ import annotations

from exporter.facts.observed import ReplicaSetFacts
from exporter.model.pbm_locks import running_physical_restore
from exporter.results.check_result import CheckResult, Status

DISTURBED_BY_PHYSICAL_RESTORE = {"replica_set_member", "pbm_agent_running", "pbm_version_supported",
                                 "pbm_versions_consistent", "pbm_storage_reachable", "backup_candidate_available",
                                 "pitr_running"}


def while_operations_run(results: list[CheckResult], control: ReplicaSetFacts) -> list[CheckResult]:
    """The results, with the failures a running physical restore causes turned into unknowns that name it."""
    restore = running_physical_restore(control)
    if restore is None:
        return results
    name = restore.get("name")
    what = (f"a physical restore ({name if isinstance(name, str) and name else '?'}) is running, which pauses the "
            f"agents' heartbeats and restarts mongod")
    return [r._replace(status=Status.UNKNOWN, reason=f"{what}: {r.reason}", fix="")
            if r.status is Status.FAIL and r.check in DISTURBED_BY_PHYSICAL_RESTORE else r for r in results]

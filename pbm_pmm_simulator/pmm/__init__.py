"""A simulated PMM Server (2.x and 3.x API dialects) on a real loopback HTTP socket, for tests and demos.

    with SimPMMServer(version="3.4.0") as pmm:           # token glsa_simulatedToken_0123 (Admin), admin:admin
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com", "AKIA...", "SECRET...")
        with SimReplicaSet() as rs:
            pmm.register_replica_set(rs, cluster="prod-rs")
            requests.get(pmm.url + "/v1/inventory/services",
                         headers={"Authorization": "Bearer glsa_simulatedToken_0123"})

Backups and agent versions (`_backups.py`, `_management.py`): scheduled backups, artifacts (listed newest first),
the services an artifact can be restored to, and the management API's agents with their versions:

    svc = pmm.register_replica_set(rs, cluster="prod-rs")[rs.hosts[0]]
    loc = pmm.add_location_filesystem("nfs", "/mnt/backups")
    daily = pmm.add_scheduled_backup(svc, loc, name="daily", mode="PITR")    # GET /v1/backups/scheduled
    artifact = pmm.add_artifact(svc, loc, status="SUCCESS")                  # GET /v1/backups/artifacts
    pmm.set_service_backup_software(svc, None)     # no pbm: not in GET /v1/backups/{artifact_id}/compatible-services
    pmm.restore_artifact(artifact, svc)            # disables the target service's schedules, as RestoreBackup does
    pmm.set_pmm_agent_version(svc, "2.41.0")       # GET /v1/management/agents?service_id=..., .../agents/versions

Every response shape and error body names its source in `_protocol.py`, `_model.py`, `_backups.py` and
`_management.py`.
"""

from ._http import Response
from ._protocol import AGENT_STATUSES, APIError, omit_empty
from .server import Fault, RecordedRequest, SimPMMServer

__all__ = ["AGENT_STATUSES", "APIError", "Fault", "RecordedRequest", "Response", "SimPMMServer", "omit_empty"]

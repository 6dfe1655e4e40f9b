"""A simulated PMM Server (2.x and 3.x API dialects) on a real loopback HTTP socket, for tests and demos.

    with SimPMMServer(version="3.4.0") as pmm:           # token glsa_simulatedToken_0123 (Admin), admin:admin
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com", "AKIA...", "SECRET...")
        with SimReplicaSet() as rs:
            pmm.register_replica_set(rs, cluster="prod-rs")
            requests.get(pmm.url + "/v1/inventory/services",
                         headers={"Authorization": "Bearer glsa_simulatedToken_0123"})

Every response shape and error body names its source in `_protocol.py` / `_model.py`.
"""

from ._http import Response
from ._protocol import AGENT_STATUSES, APIError, omit_empty
from .server import Fault, RecordedRequest, SimPMMServer

__all__ = ["AGENT_STATUSES", "APIError", "Fault", "RecordedRequest", "Response", "SimPMMServer", "omit_empty"]

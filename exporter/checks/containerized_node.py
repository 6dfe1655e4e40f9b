"""containerized_node, as PMM's inventory tells it: the node PMM registered each member's service on is a container
node (`pmm-admin config --node-type=container`, the `container` list of PMM's inventory, api/inventory nodes).

PMM backs up MongoDB on VMs and bare metal only: "backup feature in PMM doesn't support k8s or other containerized
DB installations" (a maintainer in percona/pmm#1552); PMM's docs give no support for containerized deployments for
physical restores. No code of PMM's refuses by the node type, so it is a warning. node-check judges the same rule on
the host itself (exporter/node/checks.py: /.dockerenv, mongod's cgroup); the dashboard and the alert take the lower
of the two.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import ServiceMatch, match_members, usable_pmm
from exporter.model.pmm_service_agents import node_name
from exporter.results.check_result import CheckResult, failed, passed, skipped
from exporter.results.operations import NOTHING

CHECK = "containerized_node"
MAY_BLOCK = NOTHING
CONTAINER = "container"  # the list of PMM's inventory answer a container node comes in (probes/pmm.py: "kind")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "nodes", members=True)
    if isinstance(pmm, list):
        return pmm
    matches = match_members(inp)
    results = []
    for member in inp.view.members or ():  # read: usable_pmm(members=True)
        service = matches.get(member.host, ServiceMatch(None)).service
        if service is None:
            results.append(skipped(CHECK, "no PMM service matches this node (see pmm_client_connected)", member.host,
                                   rs))
            continue
        node_id = service.get("node_id")
        node = pmm.inventory.nodes.get(node_id)
        name, where = service.get("service_name"), node_name(pmm, node_id)
        if node is None:
            results.append(skipped(CHECK, f"PMM's inventory has no node {where} of service {name}", member.host, rs))
        elif node.get("kind") == CONTAINER:
            results.append(failed(
                CHECK, f"PMM registers service {name} on {where}, a container node: PMM does not support backups of "
                       f"containerized MongoDB (percona/pmm#1552, PMM's backup docs)",
                "Back this cluster up with PBM directly (pbm backup), or with Percona Operator for MongoDB on "
                "Kubernetes; PMM's backups need mongod on a VM or bare metal, registered as a generic node "
                "(pmm-admin config --node-type=generic)", member.host, rs))
        else:
            results.append(passed(CHECK, f"PMM registers service {name} on {where}, a {node.get('kind') or 'generic'} "
                                         f"node", member.host, rs))
    return results

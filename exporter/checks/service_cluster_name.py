"""service_cluster_name: each node's PMM service carries a cluster name, the one the exporter's config uses, and
all services of the replica set agree. PMM refuses to back up a service without one ("Service %s must be a
member of a cluster", pmm.md 3.2) and needs it to restart the cluster after a physical restore.

Blocks (percona/pmm): a service without a cluster name, or with another than the replica set's other services,
blocks physical_restore: after one, pmm-managed restarts mongod and pbm-agent through every MongoDB service
carrying the restored service's cluster label, and refuses a service without one (managed/services/agents/jobs.go
runMongoPostRestore). A missing one also blocks backups and PITR when no service of the replica set has it:
StartBackup and ScheduleBackup refuse "Service %s must be a member of a cluster" (services/management/backup
backup_service.go); restores do not ask. In a sharded cluster a backup may be started through any labelled
service of the cluster, in any replica set, so a shard without one blocks them only when the cluster has none. A
name all services agree on but the exporter's config does not is a
warning: PMM uses its own label, and so do the exporter's PMM checks (pmm_schedules.cluster_label: the label on the
services matched to the members chooses the cluster's services, schedules and artifacts).

Fixes set the label in place (inventory ChangeService), which keeps the service and its artifacts but deletes the
scheduled backups of the old and new cluster (managed/services/management/common/common.go RemoveScheduledTasks);
re-registering (pmm-admin remove, then add) also orphans the service's artifacts: models.RemoveService with
RemoveCascade empties their service ID, and PMM refuses to restore them ("Empty Service ID.").
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import REMOVE_DESTROYS, change_label_fix, match_members, pmm_unavailable
from exporter.model.pmm_schedules import cluster_label, is_sharded, our_services
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import BACKUPS, EVERYTHING, NOTHING, PHYSICAL_RESTORE, PITR

CHECK = "service_cluster_name"
MAY_BLOCK = EVERYTHING


def readd_fix(service: str, cluster: str, replica_set: str, member: str) -> str:
    return (
        f"or re-register it with the cluster name, as PMM's docs say ({REMOVE_DESTROYS}): pmm-admin remove mongodb "
        f"{service}, then pmm-admin add mongodb --username=<pmm user> --password=<password> --cluster={cluster} "
        f"--replication-set={replica_set} {service} {member}"
    )


def label_fix(inp: CheckInput, service: dict[str, object], cluster: str, replica_set: str, member: str) -> str:
    name = str(service.get("service_name") or "?")
    return (f"{change_label_fix(inp, service.get('service_id'), cluster)}; "
            f"{readd_fix(name, cluster, replica_set, member)}")


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = inp.pmm
    unavailable = pmm_unavailable(CHECK, inp, *([pmm.services, pmm.nodes] if pmm else []))
    if unavailable is not None:
        return unavailable
    if inp.view.members is None:
        return [unknown(CHECK, inp.view.members_error, node, rs) for node in inp.mongo.seeds]
    matches = match_members(inp)
    wanted = cluster_label(inp)  # PMM's label on the members' services, else the config's name
    config_name = inp.settings.name
    clusters = {str(m.service.get("cluster") or "") for m in matches.values() if m.service is not None}
    labelled = [h for h, m in matches.items() if m.service is not None and m.service.get("cluster")]
    results = []
    for member in inp.view.members:
        match = matches.get(member.host)
        if match is None or match.service is None:
            if member.data_bearing:
                results.append(unknown(CHECK, "no PMM service matches this node (see pmm_client_connected)",
                                       member.host, rs))
            continue
        name = str(match.service.get("service_name") or "?")
        cluster = str(match.service.get("cluster") or "")
        others = sorted(clusters - {cluster, ""})
        disagree = f"; the replica set's other services say {', '.join(repr(c) for c in others)}" if others else ""
        if not cluster:
            # a sharded cluster's backup can be started through a labelled service of any of its replica sets
            elsewhere = [] if labelled or not is_sharded(inp) else \
                [str(s.get("service_name")) for s in our_services(inp)]
            blocks = frozenset({PHYSICAL_RESTORE}) if labelled or elsewhere else BACKUPS | {PHYSICAL_RESTORE, PITR}
            where = (f"; backups can be started through {', '.join(labelled)}" if labelled
                     else f"; no service of the replica set has one, but PMM starts a sharded cluster's backups "
                          f"through any one of its services, such as {', '.join(elsewhere[:3])}" if elsewhere
                     else "; no service of the replica set has one")
            results.append(failed(CHECK, f"service {name} has no cluster name: PMM refuses to back it up, and a "
                                         f"physical restore would not restart it{disagree}{where}",
                                  _first_up(label_fix(inp, match.service, wanted, rs, member.host)), member.host,
                                  rs, blocks))
        elif cluster != wanted:
            # the replica set's services disagree: this one is not the label most of them carry
            results.append(failed(
                CHECK, f"service {name} has cluster name {cluster!r}, not {wanted!r}, which most of the replica "
                       f"set's services carry (a physical restore restarts only the services with the restored one's "
                       f"cluster name)", _first_up(label_fix(inp, match.service, wanted, rs, member.host)),
                member.host, rs, frozenset({PHYSICAL_RESTORE})))
        elif cluster != config_name:
            results.append(failed(
                CHECK, f"service {name} has cluster name {cluster!r}, not {config_name!r} as the exporter's config "
                       f"names this cluster: PMM uses its own label, and the exporter's PMM checks follow it, so "
                       f"this blocks nothing",
                f"rename the cluster to {cluster!r} in the exporter's config, so that its metrics and PMM agree; "
                f"or, if {config_name!r} is right, {label_fix(inp, match.service, config_name, rs, member.host)}",
                member.host, rs, NOTHING))
        else:
            results.append(passed(CHECK, f"service {name} has cluster name {cluster!r}", member.host, rs))
    return results

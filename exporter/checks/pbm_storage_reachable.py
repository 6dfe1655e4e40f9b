"""pbm_storage_reachable: once PBM has a storage config, each node's agent reports its storage check OK.

PBM's agent re-checks the storage every 15 s (60 s before 2.7) and writes the result in `stors` (pbm.md 1.3).
Before any config exists every agent has stors.ok=false, which is expected: PMM writes the config when its
first backup starts, so the check does not apply until then.

Blocks: an agent whose storage check fails is no backup or PITR candidate (pbm/prio/priority.go CalcNodesPriority
skips agents whose OK() fails, storage included) and cannot take part in a restore, so it blocks what a dead agent
on that node blocks (checks/agent_duties.py), except that the leader still nominates others.
"""

from __future__ import annotations

from typing import Any

from exporter.checks.agent_duties import without_agent
from exporter.checks.operations import EVERYTHING
from exporter.checks.results import CheckResult, failed, passed, skipped, unknown
from exporter.checks.topology import host_and_port
from exporter.checks.view import CheckInput, judged_members

CHECK = "pbm_storage_reachable"
MAY_BLOCK = EVERYTHING

# The field that names where a storage type keeps backups (pbm/config/config.go StorageConf)
_TARGET_FIELD = {"s3": "bucket", "minio": "bucket", "gcs": "bucket", "oss": "bucket", "oci": "bucket",
                 "azure": "container", "filesystem": "path"}


def describe_storage(config: dict[str, Any]) -> str | None:
    """"s3 bucket my-backups" or "filesystem path /backup"; None when no storage type is set."""
    storage = config.get("storage")
    if not isinstance(storage, dict):
        return None
    kind = storage.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    field_name = _TARGET_FIELD.get(kind)
    section = storage.get(kind)
    target = section.get(field_name) if field_name and isinstance(section, dict) else None
    return f"{kind} {field_name} {target}" if isinstance(target, str) and target else kind


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    rs = view.replica_set
    if facts.pbm_config.error is not None:
        return [unknown(CHECK, f"cannot read admin.pbmConfig: {facts.pbm_config.error}")]
    storage = describe_storage(facts.pbm_config.value) if facts.pbm_config.value is not None else None
    if storage is None:
        return [skipped(CHECK, "PBM has no storage configured yet; PMM writes PBM's config when its first "
                               "backup starts, so there is nothing to reach yet", "", rs)]
    data_members, cluster_time, results = judged_members(CHECK, facts, view)
    for member in data_members:
        agent = view.agent(member.host)
        if agent is None or agent.is_stale(cluster_time):
            # unknown only for what this node's agent does, which pbm_agent_running already fails it for
            results.append(unknown(CHECK, "no running pbm-agent on this node reports on the storage", member.host, rs,
                                   without_agent(view, member.host, control=inp.control).blocks))
        elif agent.storage is None:
            duties = without_agent(view, member.host, control=inp.control, nominates=False)
            results.append(failed(CHECK, f"the pbm-agent document has no valid storage status (stors) "
                                         f"({duties.why})",
                                  "Upgrade pbm-agent on this node to the version of the other nodes",
                                  member.host, rs, duties.blocks))
        elif not agent.storage.ok:
            host = host_and_port(member.host)[0]
            duties = without_agent(view, member.host, control=inp.control, nominates=False)
            results.append(failed(
                CHECK, f"pbm-agent cannot use the storage ({storage}): {agent.storage.error or 'not ok'} "
                       f"({duties.why})",
                f"From {host}, as the user pbm-agent runs as: make the storage reachable with the credentials in "
                f"PMM's storage location (network route, DNS, bucket policy allowing List/Get/Put/Delete; for a "
                f"filesystem location, the same mount on every node, writable by pbm-agent's user), then check "
                f"PMM > Backup > Storage Locations",
                member.host, rs, duties.blocks))
        else:
            results.append(passed(CHECK, f"pbm-agent reaches the storage ({storage})", member.host, rs))
    return results

"""write_majority_available: with PITR on, the replica set can acknowledge majority writes, so PITR advances.

PBM's rule (percona/percona-backup-mongodb v2.15.0): the slicer cuts each chunk at the node's
lastWrite.majorityOpTime (pbm/slicer/slicer.go Stream: `topo.GetLastWrite(ctx, s.node, majority)`; pbm/topo/cluster.go
OpTimeFromNodeInfo and IsWriteMajorityRequested, true unless PBM's URI asks for a smaller w). MongoDB advances that
majority point only while writeMajorityCount voting data-bearing members apply writes (model/write_majority.py): a
PSA set with its secondary down keeps taking writes on the primary, but its majority point stops, so every chunk
ends there and PITR stops advancing while the slicer's lock stays fresh (pitr_running sees it only once the newest
chunk is a span old). Blocks pitr. Skipped while PITR is off.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_pitr_config import pitr_config
from exporter.model.write_majority import write_majority
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import PITR

CHECK = "write_majority_available"
MAY_BLOCK = frozenset({PITR})
FIX = ("bring the down data-bearing member back (or add one) so that a majority of the voting data-bearing members "
       "applies writes again; while it cannot be, take its vote away (rs.reconfig with votes: 0 and priority: 0 for "
       "it, MongoDB's advice for a PSA set with a member down), so that the majority counts only the members up")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, rs = inp.mongo, inp.view.replica_set
    _, cannot = pitr_config(CHECK, facts, rs)
    if cannot:
        return cannot
    for fact, name in ((facts.status, "replSetGetStatus"), (facts.config, "replSetGetConfig")):
        if fact.value is None:
            return [unknown(CHECK, f"cannot read {name}: {fact.error or 'no reply'}", "", rs)]
    majority = write_majority(facts.status.value, facts.config.value)
    if majority is None:
        return [unknown(CHECK, "replSetGetStatus or replSetGetConfig has no members list", "", rs)]
    lag = f"; the majority commit point is {majority.commit_lag} s behind the last write" \
        if majority.commit_lag is not None else ""
    if not majority.available:
        return [failed(CHECK, f"{rs} cannot acknowledge majority writes: {len(majority.able)} voting data-bearing "
                              f"member{'s' if len(majority.able) != 1 else ''} apply writes "
                              f"({', '.join(majority.able) or 'none'}), writeMajorityCount is {majority.required}, "
                              f"and {', '.join(majority.unable)} cannot{lag}. PBM's slicer cuts each chunk at the "
                              f"majority point, so PITR stops advancing while its lock stays fresh", FIX, "", rs,
                       {PITR})]
    return [passed(CHECK, f"{len(majority.able)} voting data-bearing members of {rs} apply writes, "
                          f"writeMajorityCount {majority.required}{lag}", "", rs)]

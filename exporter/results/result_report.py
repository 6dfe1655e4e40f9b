"""Check results in words: the rows of the table people read and the entries of the JSON scripts read, the same
for `check` (report/check_report.py, per cluster) and node-check (per node), so that both read alike.

Shared with node-check, which runs on the MongoDB hosts' own Pythons: Python 3.6 and the standard library only.
"""

import textwrap
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from exporter.results.check_result import CheckResult, Status, blocks_in_words

ORDER = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.PASS: 2, Status.SKIPPED: 3}
OPERATION_STATES = {True: "ready", False: "blocked", None: "unknown"}  # the JSON's words, upper case in the table
READY_WORDS = {True: "READY", False: "NOT READY", None: "UNKNOWN"}  # a cluster's (or node's) backups will run


def operations_line(operations: Dict[str, Optional[bool]]) -> str:
    """"logical_backup READY · physical_backup UNKNOWN · ...": one readiness word per operation."""
    return " · ".join(f"{op} {OPERATION_STATES[state].upper()}" for op, state in operations.items())


def operations_document(operations: Dict[str, Optional[bool]]) -> Dict[str, str]:
    return {op: OPERATION_STATES[state] for op, state in operations.items()}


def check_document(r: CheckResult) -> Dict[str, Any]:
    """One result in the JSON; blocks: for a failing result, the operations it blocks ([]: a warning); for an
    unknown one, those it would; for a passing one, those it rules out (known impossible here, nothing to fix)."""
    return {"check": r.check, "node": r.node, "replica_set": r.replica_set, "status": r.status.value,
            "reason": r.reason, "fix": r.fix, "blocks": list(r.blocks)}


def summary(results: Sequence[CheckResult]) -> str:
    """"11 pass, 1 fail (1 warning), 0 unknown"."""
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    warnings = sum(1 for r in results if r.warning)
    noted = f" ({warnings} warning{plural(warnings)})" if warnings else ""
    return f"{counts[Status.PASS]} pass, {counts[Status.FAIL]} fail{noted}, {counts[Status.UNKNOWN]} unknown"


def result_rows(results: Sequence[CheckResult], width: int,
                describe: Callable[[CheckResult], str] = blocks_in_words) -> List[str]:
    """A row per judged result, failures first, under a heading per replica set when there are several; then the
    skipped checks, once per reason."""
    out: List[str] = []
    judged = [r for r in results if r.status is not Status.SKIPPED]
    node_width = max([len(r.node) for r in judged] + [4])
    check_width = max([len(r.check) for r in judged] + [25])
    replica_sets = list(dict.fromkeys(r.replica_set for r in judged))
    for rs in replica_sets:  # a sharded cluster's shards and config servers each under their own heading
        rows = sorted((r for r in judged if r.replica_set == rs), key=lambda r: ORDER[r.status])
        indent = "  "
        if len(replica_sets) > 1:
            out.append(f"  replica set {rs or '(unknown)'}:")
            indent = "    "
        for r in rows:
            head = f"{indent}{r.status.value.upper():<8} {r.check:<{check_width}} {r.node or '-':<{node_width}}  "
            out.append(wrap(r.reason, width, " " * len(head), head))
            if r.status is Status.FAIL or r.rules_out:
                out.append(wrap(describe(r), width, " " * len(head), " " * len(head)))
            if r.fix and r.status is Status.FAIL:
                out.append(wrap(r.fix, width, " " * (len(head) + 5), " " * len(head) + "fix: "))
    skipped: Dict[str, List[str]] = {}  # said once per reason, not once per node and replica set
    for r in results:
        if r.status is Status.SKIPPED and r.check not in skipped.setdefault(r.reason, []):
            skipped[r.reason].append(r.check)
    for reason, checks in skipped.items():
        out.append(wrap(f"{', '.join(checks)}: {reason}", width, "           ", "  SKIPPED  "))
    return out


def plural(count: int) -> str:
    return "" if count == 1 else "s"


def wrap(text: str, width: int, indent: str, first: Optional[str] = None) -> str:
    return textwrap.fill(text, width, initial_indent=first if first is not None else indent,
                         subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)


def failing(results: Iterable[CheckResult]) -> bool:
    """Whether a result fails or could not be evaluated: the exit status 1 of `check` and node-check."""
    return any(r.status in (Status.FAIL, Status.UNKNOWN) for r in results)

"""PITR in PBM's config: whether it is on, and its slice span, for every check (and the snapshot) that judges PITR."""

from __future__ import annotations

from typing import Any

from exporter.facts.observed import ReplicaSetFacts
from exporter.results.check_result import CheckResult, skipped, unknown


def pitr_enabled(config: Any) -> bool:
    """PBM's config has PITR on: pbmConfig.pitr.enabled (pbm/config/config.go PITRConf). A missing or odd field is
    off, as PBM reads it (the zero value)."""
    pitr = config.get("pitr") if isinstance(config, dict) else None
    return isinstance(pitr, dict) and pitr.get("enabled") is True


DEFAULT_SPAN_SEC = 600  # pbm/defs: DefaultPITRInterval, 10 minutes


def span_seconds(config: dict[str, Any]) -> int:
    """The slicer's span: pitr.oplogSpanMin minutes (pbm/config/config.go OplogSlicerInterval), 10 when unset."""
    pitr = config.get("pitr")
    minutes = pitr.get("oplogSpanMin") if isinstance(pitr, dict) else None
    return int(minutes * 60) if isinstance(minutes, int | float) and minutes > 0 else DEFAULT_SPAN_SEC


def pitr_config(check: str, facts: ReplicaSetFacts, rs: str) -> tuple[dict[str, Any], list[CheckResult]]:
    """PBM's config when PITR is on in it, and otherwise the result of a check that judges PITR alone: unknown
    when admin.pbmConfig could not be read, skipped when PITR is off."""
    config = facts.pbm_config.value
    if facts.pbm_config.error is not None:
        return {}, [unknown(check, f"cannot read admin.pbmConfig: {facts.pbm_config.error}", "", rs)]
    if not pitr_enabled(config) or not isinstance(config, dict):
        return {}, [skipped(check, "PITR is off in PBM's config (pitr.enabled)", "", rs)]
    return config, []

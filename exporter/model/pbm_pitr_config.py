"""PITR in PBM's config: whether it is on, and its slice span, for every check (and the snapshot) that judges PITR."""

from __future__ import annotations

from typing import Any


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

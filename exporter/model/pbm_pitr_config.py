"""Whether PITR is on in PBM's config, for the checks that judge PITR from PBM's side and from PMM's."""

from __future__ import annotations

from typing import Any


def pitr_enabled(config: Any) -> bool:
    """PBM's config has PITR on: pbmConfig.pitr.enabled (pbm/config/config.go PITRConf). A missing or odd field is
    off, as PBM reads it (the zero value)."""
    pitr = config.get("pitr") if isinstance(config, dict) else None
    return isinstance(pitr, dict) and pitr.get("enabled") is True

"""What a check needs to know about the cluster's configuration, besides what it observed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterSettings:
    backup_mode: str = "logical"
    name: str = ""
    pmm_services: tuple[tuple[str, str], ...] = ()  # member host:port -> PMM service name, from the config
    restore_from_pmm: bool = False  # sharded clusters: restores are expected from PMM, which cannot do them
    # recovery objectives the config states (key, seconds, where set): rpo, max_backup_age, min_window; the others
    # are derived from PMM's schedules and PBM's PITR span (checks/recovery_objectives_met.py)
    objectives: tuple[tuple[str, float, str], ...] = ()

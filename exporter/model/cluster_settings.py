"""What a check needs to know about the cluster's configuration, besides what it observed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterSettings:
    backup_mode: str = "logical"
    name: str = ""
    pmm_services: tuple[tuple[str, str], ...] = ()  # member host:port -> PMM service name, from the config
    restore_from_pmm: bool = False  # sharded clusters: restores are expected from PMM, which cannot do them

"""What a person reads of a cluster's recoverability: one line for `check`, a document for JSON and /api/status."""

from __future__ import annotations

from typing import Any

from exporter.model.pbm_timeline import Recoverability, utc


def _ago(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def recoverability_line(rec: Recoverability | None) -> str:
    """"restorable from ... to ... (RPO 1 min); PITR hole ... on rs1; last done: logical ... (2 h ago)"."""
    if rec is None:
        return "unknown: the probe failed"
    if rec.window is None:
        return f"unknown: {rec.error}"
    window, parts = rec.window, []
    if window.newest is None or window.oldest is None:
        parts.append("nothing to restore: no usable backup in PBM's catalogue")
    else:
        rpo = f" (RPO {_ago(rec.rpo)})" if rec.rpo is not None else ""
        parts.append(f"restorable from {utc(window.oldest)} to {utc(window.newest)}{rpo}")
    parts += [f"PITR hole {utc(h.start)} to {utc(h.end)} on {h.rs}" for h in window.holes]
    done = [b for b in rec.last_backups if b.status == "done"]
    if done:
        now = rec.now
        parts.append("last done: " + ", ".join(
            f"{b.type} {utc(b.ended)}" + (f" ({_ago(max(0, now - b.ended))} ago)" if now is not None else "")
            for b in done))
    return "; ".join(parts)


def recoverability_document(rec: Recoverability | None) -> dict[str, Any] | None:
    """The same as data; None when the probe failed. Timestamps in Unix seconds by the cluster's clock; None
    (null) when not known, never 0."""
    if rec is None:
        return None
    window = rec.window
    return {
        "error": rec.error,
        "cluster_time_seconds": rec.now,
        "restorable_oldest_timestamp_seconds": window.oldest if window else None,
        "restorable_newest_timestamp_seconds": window.newest if window else None,
        "rpo_seconds": rec.rpo,
        "pitr_gaps": len(window.gaps) if window else None,
        "pitr_gap_seconds": window.gap_seconds if window else None,
        "pitr_ranges": [{"from": r.start, "to": r.end, "base_backup": r.base or None}
                        for r in window.ranges] if window else [],
        "pitr_holes": [{"replica_set": h.rs, "from": h.start, "to": h.end} for h in window.holes] if window else [],
        "last_backups": [{"type": b.type, "status": b.status, "name": b.name, "timestamp_seconds": b.ended,
                          "duration_seconds": b.duration, "size_bytes": b.size} for b in rec.last_backups],
    }

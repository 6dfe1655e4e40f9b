"""The published state: one immutable snapshot per cluster (facts, results, readiness), built after each probe."""

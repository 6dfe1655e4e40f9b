"""The model of what PBM and PMM do, shared by several checks: the cluster as the checks see it, its members and
their roles, PBM's agents, locks and duties, PMM's inventory, schedules and agents. No check lives here; no I/O
either."""

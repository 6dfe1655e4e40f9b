"""Node-side checks: the backup prerequisites only a MongoDB node itself can show (binaries on pmm-agent's PATH,
systemd services, pbm-agent's URI, the storage mount), written for PMM's textfile collector."""

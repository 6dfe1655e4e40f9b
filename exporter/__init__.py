"""pmm-backup-prereq-exporter: is PMM able to back up each MongoDB cluster right now?"""

__version__ = "0.2.0"

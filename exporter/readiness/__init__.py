"""Verdicts per operation: the check results added up into whether each backup and restore operation would run now."""

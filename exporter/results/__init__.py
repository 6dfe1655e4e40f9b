"""The shape of a check's result, shared by the exporter and node-check: the operations a result can block, Status
and CheckResult, and the words and rows that report them. Python 3.6 and the standard library only (node-check
runs on the database hosts' own Pythons)."""

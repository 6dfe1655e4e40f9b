"""What the probes observed, as plain data (the input of every check), and the indexes over PMM's lists that several
checks share."""

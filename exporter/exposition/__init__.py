"""The Prometheus face: metric families built from the snapshots, rendered once per cycle and served as cached bytes."""

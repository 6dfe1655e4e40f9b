"""The checks: one module per check (its rule, its upstream source, what its failure blocks), and the registry that
runs them. What several checks share lives in exporter.model."""

"""Configuration: the exporter's YAML file, the web config file (TLS, basic auth), and the redaction of the secrets
they hold."""

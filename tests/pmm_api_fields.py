"""The fields PMM's published API declares for each answer the simulated PMM gives, per release it claims.

Copied (names only) from PMM's OpenAPI files, the `200` response schema of each path, properties by JSON path
("" the answer, "a.b[]" the objects of list b of a); "*" a map of any keys (additionalProperties). The spec files
stay out of this repository. Sources:
- 2.44.0: percona/pmm v2 branch at eeb3c544b279eddd44189158224e269eb3d2c4c5 (2025-03-06; public fork
  datacosmos-br/pmm): api/serverpb/json/serverpb.json, api/inventorypb/json/inventorypb.json,
  api/managementpb/backup/json/backup.json, api/managementpb/agent/json/agent.json.
- 3.1.0, 3.2.0, 3.3.0, 3.4.0: the tips of the pmm-3.1.0, pmm-3.2.0, pmm-3.3.0 and pmm-3.4.0 release branches as
  merged into v3 (ef0e649eb, merged as f97d0451e; 60c952647, as 3e20a7b0c; 067e23685, as 96afa903d; 238209e6e, as
  fc3c2903d, 2025-09-15; public fork postgres1st/pfm): api/{server,inventory,backup,management}/v1/json/v1.json.
- 3.9.0: v3.9.0, 2cccd1107b56ff924b34dbe77ebaad2d021c30ea (postgres1st/pfm): the same files.
Only the paths the simulator answers with are kept; a new one fails tests/test_pmm_api_spec.py until its fields
are copied here from the spec of each release.
"""

from __future__ import annotations

# release -> "METHOD path" -> JSON path -> declared property names
DECLARED: dict[str, dict[str, dict[str, list[str] | str]]] = {
    "2.44.0": {
        "GET /v1/version": {
            "": ["distribution_method", "managed", "server", "version"],
            "managed": ["full_version", "timestamp", "version"],
            "server": ["full_version", "timestamp", "version"],
        },
        "POST /v1/Settings/Get": {
            "": ["settings"],
            "settings": [
                "alert_manager_rules", "alert_manager_url", "alerting_enabled", "aws_partitions",
                "azurediscover_enabled", "backup_management_enabled", "connected_to_platform", "data_retention",
                "dbaas_enabled", "default_role_id", "email_alerting_settings", "enable_access_control",
                "metrics_resolutions", "platform_email", "pmm_public_address", "slack_alerting_settings", "ssh_key",
                "stt_check_intervals", "stt_enabled", "telemetry_enabled", "telemetry_summaries", "updates_disabled",
            ],
            "settings.metrics_resolutions": ["hr", "lr", "mr"],
            "settings.stt_check_intervals": ["frequent_interval", "rare_interval", "standard_interval"],
        },
        "POST /v1/inventory/Services/List": {
            "": ["external", "haproxy", "mongodb", "mysql", "postgresql", "proxysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "postgresql[]": [
                "address", "auto_discovery_limit", "cluster", "custom_labels", "database_name", "environment",
                "node_id", "port", "replication_set", "service_id", "service_name", "socket", "version",
            ],
        },
        "POST /v1/inventory/Agents/List": {
            "": [
                "azure_database_exporter", "external_exporter", "mongodb_exporter", "mysqld_exporter", "node_exporter",
                "pmm_agent", "postgres_exporter", "proxysql_exporter", "qan_mongodb_profiler_agent",
                "qan_mysql_perfschema_agent", "qan_mysql_slowlog_agent", "qan_postgresql_pgstatements_agent",
                "qan_postgresql_pgstatmonitor_agent", "rds_exporter", "vm_agent",
            ],
            "mongodb_exporter[]": [
                "agent_id", "collections_limit", "custom_labels", "disabled", "disabled_collectors",
                "enable_all_collectors", "expose_exporter", "listen_port", "log_level", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "stats_collections",
                "status", "tls", "tls_skip_verify", "username",
            ],
            "node_exporter[]": [
                "agent_id", "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "listen_port",
                "log_level", "metrics_resolutions", "pmm_agent_id", "process_exec_path", "push_metrics_enabled",
                "status",
            ],
            "pmm_agent[]": ["agent_id", "connected", "custom_labels", "process_exec_path", "runs_on_node_id"],
            "postgres_exporter[]": [
                "agent_id", "auto_discovery_limit", "custom_labels", "disabled", "disabled_collectors",
                "expose_exporter", "listen_port", "log_level", "max_exporter_connections", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "status", "tls",
                "tls_skip_verify", "username",
            ],
            "qan_mongodb_profiler_agent[]": [
                "agent_id", "custom_labels", "disabled", "log_level", "max_query_length", "pmm_agent_id",
                "process_exec_path", "service_id", "status", "tls", "tls_skip_verify", "username",
            ],
            "vm_agent[]": ["agent_id", "listen_port", "pmm_agent_id", "process_exec_path", "status"],
        },
        "POST /v1/inventory/Nodes/List": {
            "": ["container", "generic", "remote", "remote_azure_database", "remote_rds"],
            "container[]": [
                "address", "az", "container_id", "container_name", "custom_labels", "machine_id", "node_id",
                "node_model", "node_name", "region",
            ],
            "generic[]": [
                "address", "az", "custom_labels", "distro", "machine_id", "node_id", "node_model", "node_name",
                "region",
            ],
        },
        "POST /v1/management/backup/Locations/List": {
            "": ["locations"],
            "locations[]": ["description", "filesystem_config", "location_id", "name", "s3_config"],
            "locations[].filesystem_config": ["path"],
            "locations[].s3_config": ["access_key", "bucket_name", "endpoint", "secret_key"],
        },
        "POST /v1/management/backup/Backups/ListScheduled": {
            "": ["scheduled_backups"],
            "scheduled_backups[]": [
                "cron_expression", "data_model", "description", "enabled", "folder", "last_run", "location_id",
                "location_name", "mode", "name", "next_run", "retention", "retries", "retry_interval",
                "scheduled_backup_id", "service_id", "service_name", "start_time", "vendor",
            ],
        },
        "POST /v1/management/backup/Artifacts/List": {
            "": ["artifacts"],
            "artifacts[]": [
                "artifact_id", "created_at", "data_model", "folder", "is_sharded_cluster", "location_id",
                "location_name", "metadata_list", "mode", "name", "service_id", "service_name", "status", "vendor",
            ],
            "artifacts[].metadata_list[]": ["file_list", "pbm_metadata", "restore_to"],
            "artifacts[].metadata_list[].pbm_metadata": ["name"],
        },
        "POST /v1/management/backup/Backups/ListArtifactCompatibleServices": {
            "": ["mongodb", "mysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
        },
        "POST /v1/management/Agent/List": {
            "": ["agents"],
            "agents[]": [
                "agent_id", "agent_type", "aws_access_key", "azure_options", "comments_parsing_disabled", "created_at",
                "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "is_agent_password_set",
                "is_aws_secret_key_set", "is_connected", "is_password_set", "listen_port", "log_level",
                "max_query_length", "max_query_log_size", "metrics_path", "metrics_scheme", "mongo_db_options",
                "mysql_options", "node_id", "pmm_agent_id", "postgresql_options", "process_exec_path", "push_metrics",
                "query_examples_disabled", "rds_basic_metrics_disabled", "rds_enhanced_metrics_disabled",
                "runs_on_node_id", "service_id", "status", "table_count", "table_count_tablestats_group_limit", "tls",
                "tls_skip_verify", "updated_at", "username", "version",
            ],
        },
    },
    "3.1.0": {
        "GET /v1/server/version": {
            "": ["distribution_method", "managed", "server", "version"],
            "managed": ["full_version", "timestamp", "version"],
            "server": ["full_version", "timestamp", "version"],
        },
        "GET /v1/server/settings": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "advisor_run_intervals", "alerting_enabled", "aws_partitions",
                "azurediscover_enabled", "backup_management_enabled", "connected_to_platform", "data_retention",
                "default_role_id", "enable_access_control", "metrics_resolutions", "platform_email",
                "pmm_public_address", "ssh_key", "telemetry_enabled", "telemetry_summaries", "updates_enabled",
            ],
            "settings.advisor_run_intervals": ["frequent_interval", "rare_interval", "standard_interval"],
            "settings.metrics_resolutions": ["hr", "lr", "mr"],
        },
        "GET /v1/server/settings/readonly": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "alerting_enabled", "azurediscover_enabled", "backup_management_enabled",
                "enable_access_control", "pmm_public_address", "telemetry_enabled", "updates_enabled",
            ],
        },
        "GET /v1/inventory/services": {
            "": ["external", "haproxy", "mongodb", "mysql", "postgresql", "proxysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
            "postgresql[]": [
                "address", "auto_discovery_limit", "cluster", "custom_labels", "database_name", "environment",
                "node_id", "port", "replication_set", "service_id", "service_name", "socket", "version",
            ],
            "postgresql[].custom_labels": "*",
        },
        "GET /v1/inventory/agents": {
            "": [
                "azure_database_exporter", "external_exporter", "mongodb_exporter", "mysqld_exporter", "node_exporter",
                "pmm_agent", "postgres_exporter", "proxysql_exporter", "qan_mongodb_profiler_agent",
                "qan_mysql_perfschema_agent", "qan_mysql_slowlog_agent", "qan_postgresql_pgstatements_agent",
                "qan_postgresql_pgstatmonitor_agent", "rds_exporter", "vm_agent",
            ],
            "mongodb_exporter[]": [
                "agent_id", "collections_limit", "custom_labels", "disabled", "disabled_collectors",
                "enable_all_collectors", "expose_exporter", "listen_port", "log_level", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "stats_collections",
                "status", "tls", "tls_skip_verify", "username",
            ],
            "mongodb_exporter[].custom_labels": "*",
            "node_exporter[]": [
                "agent_id", "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "listen_port",
                "log_level", "metrics_resolutions", "pmm_agent_id", "process_exec_path", "push_metrics_enabled",
                "status",
            ],
            "node_exporter[].custom_labels": "*",
            "pmm_agent[]": ["agent_id", "connected", "custom_labels", "process_exec_path", "runs_on_node_id"],
            "pmm_agent[].custom_labels": "*",
            "postgres_exporter[]": [
                "agent_id", "auto_discovery_limit", "custom_labels", "disabled", "disabled_collectors",
                "expose_exporter", "listen_port", "log_level", "max_exporter_connections", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "status", "tls",
                "tls_skip_verify", "username",
            ],
            "postgres_exporter[].custom_labels": "*",
            "qan_mongodb_profiler_agent[]": [
                "agent_id", "custom_labels", "disabled", "log_level", "max_query_length", "pmm_agent_id",
                "process_exec_path", "service_id", "status", "tls", "tls_skip_verify", "username",
            ],
            "qan_mongodb_profiler_agent[].custom_labels": "*",
            "vm_agent[]": ["agent_id", "listen_port", "pmm_agent_id", "process_exec_path", "status"],
        },
        "GET /v1/inventory/nodes": {
            "": ["container", "generic", "remote", "remote_azure_database", "remote_rds"],
            "container[]": [
                "address", "az", "container_id", "container_name", "custom_labels", "machine_id", "node_id",
                "node_model", "node_name", "region",
            ],
            "container[].custom_labels": "*",
            "generic[]": [
                "address", "az", "custom_labels", "distro", "machine_id", "node_id", "node_model", "node_name",
                "region",
            ],
            "generic[].custom_labels": "*",
        },
        "GET /v1/backups/locations": {
            "": ["locations"],
            "locations[]": ["description", "filesystem_config", "location_id", "name", "s3_config"],
            "locations[].filesystem_config": ["path"],
            "locations[].s3_config": ["access_key", "bucket_name", "endpoint", "secret_key"],
        },
        "GET /v1/backups/scheduled": {
            "": ["scheduled_backups"],
            "scheduled_backups[]": [
                "cron_expression", "data_model", "description", "enabled", "folder", "last_run", "location_id",
                "location_name", "mode", "name", "next_run", "retention", "retries", "retry_interval",
                "scheduled_backup_id", "service_id", "service_name", "start_time", "vendor",
            ],
        },
        "GET /v1/backups/artifacts": {
            "": ["artifacts"],
            "artifacts[]": [
                "artifact_id", "created_at", "data_model", "folder", "is_sharded_cluster", "location_id",
                "location_name", "metadata_list", "mode", "name", "service_id", "service_name", "status", "vendor",
            ],
            "artifacts[].metadata_list[]": ["file_list", "pbm_metadata", "restore_to"],
            "artifacts[].metadata_list[].pbm_metadata": ["name"],
        },
        "GET /v1/backups/{artifact_id}/compatible-services": {
            "": ["mongodb", "mysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
        },
        "GET /v1/management/agents": {
            "": ["agents"],
            "agents[]": [
                "agent_id", "agent_type", "aws_access_key", "azure_options", "comments_parsing_disabled", "created_at",
                "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "is_agent_password_set",
                "is_aws_secret_key_set", "is_connected", "is_password_set", "listen_port", "log_level",
                "max_query_length", "max_query_log_size", "metrics_path", "metrics_scheme", "mongo_db_options",
                "mysql_options", "node_id", "pmm_agent_id", "postgresql_options", "process_exec_path", "push_metrics",
                "query_examples_disabled", "rds_basic_metrics_disabled", "rds_enhanced_metrics_disabled",
                "runs_on_node_id", "service_id", "status", "table_count", "table_count_tablestats_group_limit", "tls",
                "tls_skip_verify", "updated_at", "username", "version",
            ],
            "agents[].custom_labels": "*",
            "agents[].mongo_db_options": [
                "authentication_database", "authentication_mechanism", "collections_limit", "enable_all_collectors",
                "is_tls_certificate_key_file_password_set", "is_tls_certificate_key_set", "stats_collections",
            ],
        },
        "GET /v1/management/agents/versions": {
            "": ["agent_versions"],
            "agent_versions[]": ["agent_id", "node_name", "severity", "version"],
        },
    },
    "3.2.0": {
        "GET /v1/server/version": {
            "": ["distribution_method", "managed", "server", "version"],
            "managed": ["full_version", "timestamp", "version"],
            "server": ["full_version", "timestamp", "version"],
        },
        "GET /v1/server/settings": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "advisor_run_intervals", "alerting_enabled", "aws_partitions",
                "azurediscover_enabled", "backup_management_enabled", "connected_to_platform", "data_retention",
                "default_role_id", "enable_access_control", "metrics_resolutions", "platform_email",
                "pmm_public_address", "ssh_key", "telemetry_enabled", "telemetry_summaries", "updates_enabled",
            ],
            "settings.advisor_run_intervals": ["frequent_interval", "rare_interval", "standard_interval"],
            "settings.metrics_resolutions": ["hr", "lr", "mr"],
        },
        "GET /v1/server/settings/readonly": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "alerting_enabled", "azurediscover_enabled", "backup_management_enabled",
                "enable_access_control", "pmm_public_address", "telemetry_enabled", "updates_enabled",
            ],
        },
        "GET /v1/inventory/services": {
            "": ["external", "haproxy", "mongodb", "mysql", "postgresql", "proxysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
            "postgresql[]": [
                "address", "auto_discovery_limit", "cluster", "custom_labels", "database_name", "environment",
                "node_id", "port", "replication_set", "service_id", "service_name", "socket", "version",
            ],
            "postgresql[].custom_labels": "*",
        },
        "GET /v1/inventory/agents": {
            "": [
                "azure_database_exporter", "external_exporter", "mongodb_exporter", "mysqld_exporter", "node_exporter",
                "nomad_agent", "pmm_agent", "postgres_exporter", "proxysql_exporter", "qan_mongodb_profiler_agent",
                "qan_mysql_perfschema_agent", "qan_mysql_slowlog_agent", "qan_postgresql_pgstatements_agent",
                "qan_postgresql_pgstatmonitor_agent", "rds_exporter", "vm_agent",
            ],
            "mongodb_exporter[]": [
                "agent_id", "collections_limit", "custom_labels", "disabled", "disabled_collectors",
                "enable_all_collectors", "expose_exporter", "listen_port", "log_level", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "stats_collections",
                "status", "tls", "tls_skip_verify", "username",
            ],
            "mongodb_exporter[].custom_labels": "*",
            "node_exporter[]": [
                "agent_id", "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "listen_port",
                "log_level", "metrics_resolutions", "pmm_agent_id", "process_exec_path", "push_metrics_enabled",
                "status",
            ],
            "node_exporter[].custom_labels": "*",
            "pmm_agent[]": ["agent_id", "connected", "custom_labels", "process_exec_path", "runs_on_node_id"],
            "pmm_agent[].custom_labels": "*",
            "postgres_exporter[]": [
                "agent_id", "auto_discovery_limit", "custom_labels", "disabled", "disabled_collectors",
                "expose_exporter", "listen_port", "log_level", "max_exporter_connections", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "status", "tls",
                "tls_skip_verify", "username",
            ],
            "postgres_exporter[].custom_labels": "*",
            "qan_mongodb_profiler_agent[]": [
                "agent_id", "custom_labels", "disabled", "log_level", "max_query_length", "pmm_agent_id",
                "process_exec_path", "service_id", "status", "tls", "tls_skip_verify", "username",
            ],
            "qan_mongodb_profiler_agent[].custom_labels": "*",
            "vm_agent[]": ["agent_id", "listen_port", "pmm_agent_id", "process_exec_path", "status"],
        },
        "GET /v1/inventory/nodes": {
            "": ["container", "generic", "remote", "remote_azure_database", "remote_rds"],
            "container[]": [
                "address", "az", "container_id", "container_name", "custom_labels", "machine_id", "node_id",
                "node_model", "node_name", "region",
            ],
            "container[].custom_labels": "*",
            "generic[]": [
                "address", "az", "custom_labels", "distro", "machine_id", "node_id", "node_model", "node_name",
                "region",
            ],
            "generic[].custom_labels": "*",
        },
        "GET /v1/backups/locations": {
            "": ["locations"],
            "locations[]": ["description", "filesystem_config", "location_id", "name", "s3_config"],
            "locations[].filesystem_config": ["path"],
            "locations[].s3_config": ["access_key", "bucket_name", "endpoint", "secret_key"],
        },
        "GET /v1/backups/scheduled": {
            "": ["scheduled_backups"],
            "scheduled_backups[]": [
                "cron_expression", "data_model", "description", "enabled", "folder", "last_run", "location_id",
                "location_name", "mode", "name", "next_run", "retention", "retries", "retry_interval",
                "scheduled_backup_id", "service_id", "service_name", "start_time", "vendor",
            ],
        },
        "GET /v1/backups/artifacts": {
            "": ["artifacts"],
            "artifacts[]": [
                "artifact_id", "created_at", "data_model", "folder", "is_sharded_cluster", "location_id",
                "location_name", "metadata_list", "mode", "name", "service_id", "service_name", "status", "vendor",
            ],
            "artifacts[].metadata_list[]": ["file_list", "pbm_metadata", "restore_to"],
            "artifacts[].metadata_list[].pbm_metadata": ["name"],
        },
        "GET /v1/backups/{artifact_id}/compatible-services": {
            "": ["mongodb", "mysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
        },
        "GET /v1/management/agents": {
            "": ["agents"],
            "agents[]": [
                "agent_id", "agent_type", "aws_access_key", "azure_options", "comments_parsing_disabled", "created_at",
                "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "is_agent_password_set",
                "is_aws_secret_key_set", "is_connected", "is_password_set", "listen_port", "log_level",
                "max_query_length", "max_query_log_size", "metrics_path", "metrics_scheme", "mongo_db_options",
                "mysql_options", "node_id", "pmm_agent_id", "postgresql_options", "process_exec_path", "push_metrics",
                "query_examples_disabled", "rds_basic_metrics_disabled", "rds_enhanced_metrics_disabled",
                "runs_on_node_id", "service_id", "status", "table_count", "table_count_tablestats_group_limit", "tls",
                "tls_skip_verify", "updated_at", "username", "version",
            ],
            "agents[].custom_labels": "*",
            "agents[].mongo_db_options": [
                "authentication_database", "authentication_mechanism", "collections_limit", "enable_all_collectors",
                "is_tls_certificate_key_file_password_set", "is_tls_certificate_key_set", "stats_collections",
            ],
        },
        "GET /v1/management/agents/versions": {
            "": ["agent_versions"],
            "agent_versions[]": ["agent_id", "node_name", "severity", "version"],
        },
    },
    "3.3.0": {
        "GET /v1/server/version": {
            "": ["distribution_method", "managed", "server", "version"],
            "managed": ["full_version", "timestamp", "version"],
            "server": ["full_version", "timestamp", "version"],
        },
        "GET /v1/server/settings": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "advisor_run_intervals", "alerting_enabled", "aws_partitions",
                "azurediscover_enabled", "backup_management_enabled", "connected_to_platform", "data_retention",
                "default_role_id", "enable_access_control", "metrics_resolutions", "platform_email",
                "pmm_public_address", "ssh_key", "telemetry_enabled", "telemetry_summaries", "updates_enabled",
            ],
            "settings.advisor_run_intervals": ["frequent_interval", "rare_interval", "standard_interval"],
            "settings.metrics_resolutions": ["hr", "lr", "mr"],
        },
        "GET /v1/server/settings/readonly": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "alerting_enabled", "azurediscover_enabled", "backup_management_enabled",
                "enable_access_control", "pmm_public_address", "telemetry_enabled", "updates_enabled",
            ],
        },
        "GET /v1/inventory/services": {
            "": ["external", "haproxy", "mongodb", "mysql", "postgresql", "proxysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
            "postgresql[]": [
                "address", "auto_discovery_limit", "cluster", "custom_labels", "database_name", "environment",
                "node_id", "port", "replication_set", "service_id", "service_name", "socket", "version",
            ],
            "postgresql[].custom_labels": "*",
        },
        "GET /v1/inventory/agents": {
            "": [
                "azure_database_exporter", "external_exporter", "mongodb_exporter", "mysqld_exporter", "node_exporter",
                "nomad_agent", "pmm_agent", "postgres_exporter", "proxysql_exporter", "qan_mongodb_mongolog_agent",
                "qan_mongodb_profiler_agent", "qan_mysql_perfschema_agent", "qan_mysql_slowlog_agent",
                "qan_postgresql_pgstatements_agent", "qan_postgresql_pgstatmonitor_agent", "rds_exporter", "vm_agent",
            ],
            "mongodb_exporter[]": [
                "agent_id", "collections_limit", "custom_labels", "disabled", "disabled_collectors",
                "enable_all_collectors", "expose_exporter", "listen_port", "log_level", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "stats_collections",
                "status", "tls", "tls_skip_verify", "username",
            ],
            "mongodb_exporter[].custom_labels": "*",
            "node_exporter[]": [
                "agent_id", "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "listen_port",
                "log_level", "metrics_resolutions", "pmm_agent_id", "process_exec_path", "push_metrics_enabled",
                "status",
            ],
            "node_exporter[].custom_labels": "*",
            "pmm_agent[]": ["agent_id", "connected", "custom_labels", "process_exec_path", "runs_on_node_id"],
            "pmm_agent[].custom_labels": "*",
            "postgres_exporter[]": [
                "agent_id", "auto_discovery_limit", "custom_labels", "disabled", "disabled_collectors",
                "expose_exporter", "listen_port", "log_level", "max_exporter_connections", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "status", "tls",
                "tls_skip_verify", "username",
            ],
            "postgres_exporter[].custom_labels": "*",
            "qan_mongodb_profiler_agent[]": [
                "agent_id", "custom_labels", "disabled", "log_level", "max_query_length", "pmm_agent_id",
                "process_exec_path", "service_id", "status", "tls", "tls_skip_verify", "username",
            ],
            "qan_mongodb_profiler_agent[].custom_labels": "*",
            "vm_agent[]": ["agent_id", "listen_port", "pmm_agent_id", "process_exec_path", "status"],
        },
        "GET /v1/inventory/nodes": {
            "": ["container", "generic", "remote", "remote_azure_database", "remote_rds"],
            "container[]": [
                "address", "az", "container_id", "container_name", "custom_labels", "machine_id", "node_id",
                "node_model", "node_name", "region",
            ],
            "container[].custom_labels": "*",
            "generic[]": [
                "address", "az", "custom_labels", "distro", "machine_id", "node_id", "node_model", "node_name",
                "region",
            ],
            "generic[].custom_labels": "*",
        },
        "GET /v1/backups/locations": {
            "": ["locations"],
            "locations[]": ["description", "filesystem_config", "location_id", "name", "s3_config"],
            "locations[].filesystem_config": ["path"],
            "locations[].s3_config": ["access_key", "bucket_name", "endpoint", "secret_key"],
        },
        "GET /v1/backups/scheduled": {
            "": ["scheduled_backups"],
            "scheduled_backups[]": [
                "cron_expression", "data_model", "description", "enabled", "folder", "last_run", "location_id",
                "location_name", "mode", "name", "next_run", "retention", "retries", "retry_interval",
                "scheduled_backup_id", "service_id", "service_name", "start_time", "vendor",
            ],
        },
        "GET /v1/backups/artifacts": {
            "": ["artifacts"],
            "artifacts[]": [
                "artifact_id", "created_at", "data_model", "folder", "is_sharded_cluster", "location_id",
                "location_name", "metadata_list", "mode", "name", "service_id", "service_name", "status", "vendor",
            ],
            "artifacts[].metadata_list[]": ["file_list", "pbm_metadata", "restore_to"],
            "artifacts[].metadata_list[].pbm_metadata": ["name"],
        },
        "GET /v1/backups/{artifact_id}/compatible-services": {
            "": ["mongodb", "mysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
        },
        "GET /v1/management/agents": {
            "": ["agents"],
            "agents[]": [
                "agent_id", "agent_type", "aws_access_key", "azure_options", "comments_parsing_disabled", "created_at",
                "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "is_agent_password_set",
                "is_aws_secret_key_set", "is_connected", "is_password_set", "listen_port", "log_level",
                "max_query_length", "max_query_log_size", "metrics_path", "metrics_scheme", "mongo_db_options",
                "mysql_options", "node_id", "pmm_agent_id", "postgresql_options", "process_exec_path", "push_metrics",
                "query_examples_disabled", "rds_basic_metrics_disabled", "rds_enhanced_metrics_disabled",
                "runs_on_node_id", "service_id", "status", "table_count", "table_count_tablestats_group_limit", "tls",
                "tls_skip_verify", "updated_at", "username", "version",
            ],
            "agents[].custom_labels": "*",
            "agents[].mongo_db_options": [
                "authentication_database", "authentication_mechanism", "collections_limit", "enable_all_collectors",
                "is_tls_certificate_key_file_password_set", "is_tls_certificate_key_set", "stats_collections",
            ],
        },
        "GET /v1/management/agents/versions": {
            "": ["agent_versions"],
            "agent_versions[]": ["agent_id", "node_name", "severity", "version"],
        },
    },
    "3.4.0": {
        "GET /v1/server/version": {
            "": ["distribution_method", "managed", "server", "version"],
            "managed": ["full_version", "timestamp", "version"],
            "server": ["full_version", "timestamp", "version"],
        },
        "GET /v1/server/settings": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "advisor_run_intervals", "alerting_enabled", "aws_partitions",
                "azurediscover_enabled", "backup_management_enabled", "connected_to_platform", "data_retention",
                "default_role_id", "enable_access_control", "metrics_resolutions", "platform_email",
                "pmm_public_address", "ssh_key", "telemetry_enabled", "telemetry_summaries", "updates_enabled",
            ],
            "settings.advisor_run_intervals": ["frequent_interval", "rare_interval", "standard_interval"],
            "settings.metrics_resolutions": ["hr", "lr", "mr"],
        },
        "GET /v1/server/settings/readonly": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "alerting_enabled", "azurediscover_enabled", "backup_management_enabled",
                "enable_access_control", "pmm_public_address", "telemetry_enabled", "updates_enabled",
            ],
        },
        "GET /v1/inventory/services": {
            "": ["external", "haproxy", "mongodb", "mysql", "postgresql", "proxysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
            "postgresql[]": [
                "address", "auto_discovery_limit", "cluster", "custom_labels", "database_name", "environment",
                "node_id", "port", "replication_set", "service_id", "service_name", "socket", "version",
            ],
            "postgresql[].custom_labels": "*",
        },
        "GET /v1/inventory/agents": {
            "": [
                "azure_database_exporter", "external_exporter", "mongodb_exporter", "mysqld_exporter", "node_exporter",
                "nomad_agent", "pmm_agent", "postgres_exporter", "proxysql_exporter", "qan_mongodb_mongolog_agent",
                "qan_mongodb_profiler_agent", "qan_mysql_perfschema_agent", "qan_mysql_slowlog_agent",
                "qan_postgresql_pgstatements_agent", "qan_postgresql_pgstatmonitor_agent", "rds_exporter", "vm_agent",
            ],
            "mongodb_exporter[]": [
                "agent_id", "collections_limit", "custom_labels", "disabled", "disabled_collectors",
                "enable_all_collectors", "expose_exporter", "listen_port", "log_level", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "stats_collections",
                "status", "tls", "tls_skip_verify", "username",
            ],
            "mongodb_exporter[].custom_labels": "*",
            "node_exporter[]": [
                "agent_id", "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "listen_port",
                "log_level", "metrics_resolutions", "pmm_agent_id", "process_exec_path", "push_metrics_enabled",
                "status",
            ],
            "node_exporter[].custom_labels": "*",
            "pmm_agent[]": ["agent_id", "connected", "custom_labels", "process_exec_path", "runs_on_node_id"],
            "pmm_agent[].custom_labels": "*",
            "postgres_exporter[]": [
                "agent_id", "auto_discovery_limit", "custom_labels", "disabled", "disabled_collectors",
                "expose_exporter", "listen_port", "log_level", "max_exporter_connections", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "status", "tls",
                "tls_skip_verify", "username",
            ],
            "postgres_exporter[].custom_labels": "*",
            "qan_mongodb_profiler_agent[]": [
                "agent_id", "custom_labels", "disabled", "log_level", "max_query_length", "pmm_agent_id",
                "process_exec_path", "service_id", "status", "tls", "tls_skip_verify", "username",
            ],
            "qan_mongodb_profiler_agent[].custom_labels": "*",
            "vm_agent[]": ["agent_id", "listen_port", "pmm_agent_id", "process_exec_path", "status"],
        },
        "GET /v1/inventory/nodes": {
            "": ["container", "generic", "remote", "remote_azure_database", "remote_rds"],
            "container[]": [
                "address", "az", "container_id", "container_name", "custom_labels", "machine_id", "node_id",
                "node_model", "node_name", "region",
            ],
            "container[].custom_labels": "*",
            "generic[]": [
                "address", "az", "custom_labels", "distro", "machine_id", "node_id", "node_model", "node_name",
                "region",
            ],
            "generic[].custom_labels": "*",
        },
        "GET /v1/backups/locations": {
            "": ["locations"],
            "locations[]": ["description", "filesystem_config", "location_id", "name", "s3_config"],
            "locations[].filesystem_config": ["path"],
            "locations[].s3_config": ["access_key", "bucket_name", "endpoint", "secret_key"],
        },
        "GET /v1/backups/scheduled": {
            "": ["scheduled_backups"],
            "scheduled_backups[]": [
                "cron_expression", "data_model", "description", "enabled", "folder", "last_run", "location_id",
                "location_name", "mode", "name", "next_run", "retention", "retries", "retry_interval",
                "scheduled_backup_id", "service_id", "service_name", "start_time", "vendor",
            ],
        },
        "GET /v1/backups/artifacts": {
            "": ["artifacts"],
            "artifacts[]": [
                "artifact_id", "created_at", "data_model", "folder", "is_sharded_cluster", "location_id",
                "location_name", "metadata_list", "mode", "name", "service_id", "service_name", "status", "vendor",
            ],
            "artifacts[].metadata_list[]": ["file_list", "pbm_metadata", "restore_to"],
            "artifacts[].metadata_list[].pbm_metadata": ["name"],
        },
        "GET /v1/backups/{artifact_id}/compatible-services": {
            "": ["mongodb", "mysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
        },
        "GET /v1/management/agents": {
            "": ["agents"],
            "agents[]": [
                "agent_id", "agent_type", "aws_access_key", "azure_options", "comments_parsing_disabled", "created_at",
                "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "is_agent_password_set",
                "is_aws_secret_key_set", "is_connected", "is_password_set", "listen_port", "log_level",
                "max_query_length", "max_query_log_size", "metrics_path", "metrics_scheme", "mongo_db_options",
                "mysql_options", "node_id", "pmm_agent_id", "postgresql_options", "process_exec_path", "push_metrics",
                "query_examples_disabled", "rds_basic_metrics_disabled", "rds_enhanced_metrics_disabled",
                "runs_on_node_id", "service_id", "status", "table_count", "table_count_tablestats_group_limit", "tls",
                "tls_skip_verify", "updated_at", "username", "version",
            ],
            "agents[].custom_labels": "*",
            "agents[].mongo_db_options": [
                "authentication_database", "authentication_mechanism", "collections_limit", "enable_all_collectors",
                "is_tls_certificate_key_file_password_set", "is_tls_certificate_key_set", "stats_collections",
            ],
        },
        "GET /v1/management/agents/versions": {
            "": ["agent_versions"],
            "agent_versions[]": ["agent_id", "node_name", "severity", "version"],
        },
    },
    "3.9.0": {
        "GET /v1/server/version": {
            "": ["distribution_method", "managed", "server", "version"],
            "managed": ["full_version", "timestamp", "version"],
            "server": ["full_version", "timestamp", "version"],
        },
        "GET /v1/server/settings": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "advisor_run_intervals", "alerting_enabled", "aws_partitions",
                "azurediscover_enabled", "backup_management_enabled", "connected_to_platform", "data_retention",
                "default_role_id", "enable_access_control", "enable_internal_pg_qan", "metrics_resolutions",
                "platform_email", "pmm_public_address", "ssh_key", "telemetry_enabled", "telemetry_summaries",
                "updates_enabled",
            ],
            "settings.advisor_run_intervals": ["frequent_interval", "rare_interval", "standard_interval"],
            "settings.metrics_resolutions": ["hr", "lr", "mr"],
        },
        "GET /v1/server/settings/readonly": {
            "": ["settings"],
            "settings": [
                "advisor_enabled", "alerting_enabled", "azurediscover_enabled", "backup_management_enabled",
                "enable_access_control", "pmm_public_address", "telemetry_enabled", "updates_enabled",
            ],
        },
        "GET /v1/inventory/services": {
            "": ["external", "haproxy", "mongodb", "mysql", "postgresql", "proxysql", "valkey"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
            "postgresql[]": [
                "address", "auto_discovery_limit", "cluster", "custom_labels", "database_name", "environment",
                "node_id", "port", "replication_set", "service_id", "service_name", "socket", "version",
            ],
            "postgresql[].custom_labels": "*",
        },
        "GET /v1/inventory/agents": {
            "": [
                "azure_database_exporter", "external_exporter", "mongodb_exporter", "mysqld_exporter", "node_exporter",
                "nomad_agent", "pmm_agent", "postgres_exporter", "proxysql_exporter", "qan_mongodb_mongolog_agent",
                "qan_mongodb_profiler_agent", "qan_mysql_perfschema_agent", "qan_mysql_slowlog_agent",
                "qan_postgresql_pgstatements_agent", "qan_postgresql_pgstatmonitor_agent", "rds_exporter",
                "rta_mongodb_agent", "valkey_exporter", "vm_agent",
            ],
            "mongodb_exporter[]": [
                "agent_id", "collections_limit", "connection_timeout", "custom_labels", "disabled",
                "disabled_collectors", "enable_all_collectors", "enable_diagnostic_data_histograms",
                "environment_variable_names", "expose_exporter", "listen_port", "log_level", "metrics_resolutions",
                "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id", "stats_collections",
                "status", "tls", "tls_skip_verify", "username",
            ],
            "mongodb_exporter[].custom_labels": "*",
            "node_exporter[]": [
                "agent_id", "custom_labels", "disabled", "disabled_collectors", "expose_exporter", "listen_port",
                "log_level", "metrics_resolutions", "pmm_agent_id", "process_exec_path", "push_metrics_enabled",
                "status",
            ],
            "node_exporter[].custom_labels": "*",
            "pmm_agent[]": ["agent_id", "connected", "custom_labels", "process_exec_path", "runs_on_node_id"],
            "pmm_agent[].custom_labels": "*",
            "postgres_exporter[]": [
                "agent_id", "auto_discovery_limit", "connection_timeout", "custom_labels", "disabled",
                "disabled_collectors", "expose_exporter", "listen_port", "log_level", "max_exporter_connections",
                "metrics_resolutions", "pmm_agent_id", "process_exec_path", "push_metrics_enabled", "service_id",
                "status", "tls", "tls_skip_verify", "username",
            ],
            "postgres_exporter[].custom_labels": "*",
            "qan_mongodb_profiler_agent[]": [
                "agent_id", "custom_labels", "disabled", "log_level", "max_query_length", "pmm_agent_id",
                "process_exec_path", "service_id", "status", "tls", "tls_skip_verify", "username",
            ],
            "qan_mongodb_profiler_agent[].custom_labels": "*",
            "vm_agent[]": ["agent_id", "listen_port", "pmm_agent_id", "process_exec_path", "status"],
        },
        "GET /v1/inventory/nodes": {
            "": ["container", "generic", "remote", "remote_azure_database", "remote_rds"],
            "container[]": [
                "address", "az", "container_id", "container_name", "custom_labels", "is_pmm_server_node", "machine_id",
                "node_id", "node_model", "node_name", "region",
            ],
            "container[].custom_labels": "*",
            "generic[]": [
                "address", "az", "custom_labels", "distro", "is_pmm_server_node", "machine_id", "node_id",
                "node_model", "node_name", "region",
            ],
            "generic[].custom_labels": "*",
        },
        "GET /v1/backups/locations": {
            "": ["locations"],
            "locations[]": ["description", "filesystem_config", "location_id", "name", "s3_config"],
            "locations[].filesystem_config": ["path"],
            "locations[].s3_config": ["access_key", "bucket_name", "endpoint", "secret_key"],
        },
        "GET /v1/backups/scheduled": {
            "": ["scheduled_backups"],
            "scheduled_backups[]": [
                "cron_expression", "data_model", "description", "enabled", "folder", "last_run", "location_id",
                "location_name", "mode", "name", "next_run", "retention", "retries", "retry_interval",
                "scheduled_backup_id", "service_id", "service_name", "start_time", "vendor",
            ],
        },
        "GET /v1/backups/artifacts": {
            "": ["artifacts"],
            "artifacts[]": [
                "artifact_id", "created_at", "data_model", "folder", "is_sharded_cluster", "location_id",
                "location_name", "metadata_list", "mode", "name", "service_id", "service_name", "status", "vendor",
            ],
            "artifacts[].metadata_list[]": ["file_list", "pbm_metadata", "restore_to"],
            "artifacts[].metadata_list[].pbm_metadata": ["name"],
        },
        "GET /v1/backups/{artifact_id}/compatible-services": {
            "": ["mongodb", "mysql"],
            "mongodb[]": [
                "address", "cluster", "custom_labels", "environment", "node_id", "port", "replication_set",
                "service_id", "service_name", "socket", "version",
            ],
            "mongodb[].custom_labels": "*",
        },
        "GET /v1/management/agents": {
            "": ["agents"],
            "agents[]": [
                "agent_id", "agent_type", "aws_access_key", "azure_options", "comments_parsing_disabled",
                "connection_timeout", "created_at", "custom_labels", "disabled", "disabled_collectors",
                "expose_exporter", "is_agent_password_set", "is_aws_secret_key_set", "is_connected", "is_password_set",
                "listen_port", "log_level", "max_query_length", "max_query_log_size", "metrics_path", "metrics_scheme",
                "mongo_db_options", "mysql_options", "node_id", "pmm_agent_id", "postgresql_options",
                "process_exec_path", "push_metrics", "query_examples_disabled", "rds_basic_metrics_disabled",
                "rds_enhanced_metrics_disabled", "rta_options", "runs_on_node_id", "service_id", "status",
                "table_count", "table_count_tablestats_group_limit", "tls", "tls_skip_verify", "updated_at",
                "username", "valkey_options", "version",
            ],
            "agents[].custom_labels": "*",
            "agents[].mongo_db_options": [
                "authentication_database", "authentication_mechanism", "collections_limit", "enable_all_collectors",
                "enable_diagnostic_data_histograms", "is_tls_certificate_key_file_password_set",
                "is_tls_certificate_key_set", "stats_collections",
            ],
        },
        "GET /v1/management/agents/versions": {
            "": ["agent_versions"],
            "agent_versions[]": ["agent_id", "node_name", "severity", "version"],
        },
    },
}

"""What PBM's agents write to admin.pbmLog that the exporter reads, shared by the probe and the checks.

pbm/log/history.go Entry {ts, ns, tz, s, rs, node, e, eobj, ep, opid, msg}; Severity (pbm/log/log.go): Fatal 0,
Error 1, Warning 2, Info 3, Debug 4. pbmLog is capped and, from PBM 2.13, indexed (cmd/pbm-agent/setup.go):
opid_ts, epoch_rs_event_severity_ts, event_severity_rs_ts.
"""

WARNING = 2
LOG_INDEX = "event_severity_rs_ts"  # {e: 1, s: 1, rs: 1, ts: -1}
LOG_INDEX_SINCE = (2, 13)  # the first PBM whose agents create it
# cmd/pbm-agent/agent.go storStatus: logged every 15 s (HbStatus storageCheckInterval) while .pbm.init is not seen
NOT_INITIALIZED = "storage is not initialized"
STORAGE_WARNING_WINDOW = 60  # four of those checks

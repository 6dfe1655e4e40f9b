"""The status page as a person sees it: headless Chromium (Debian's chromium) loads it from the real exporter
running against the simulators, on a phone-sized screen.

The screenshot in docs/ is made by this test: UPDATE_SCREENSHOT=1 pytest tests/test_status_page.py
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from pbm_pmm_simulator import SimReplicaSet
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.browser import chromium, png_size
from tests.exporter_process import Exporter, write_config

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "status-page.png"
PHONE = "390,1400"


def test_the_status_page_in_a_browser(tmp_path: Path) -> None:
    with SimReplicaSet(name="rs0") as rs, SimReplicaSet(name="rs1") as healthy, \
            SimPMMServer(version="3.4.0", token="glsa_page") as pmm:
        rs.members[0].stop_agent(at=rs.cluster_time().time - 240)  # the primary's: the cluster leader's
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        services = pmm.register_replica_set(rs, cluster="prod-rs")
        pmm.set_service_cluster(services[rs.hosts[1]], "")
        pmm.register_replica_set(healthy, cluster="billing-rs")
        # billing-rs's PBM catalogue: PITR chunks for 3 hours (slicing since stopped), a 10-minute hole 2.5 hours ago,
        # then a full backup that ended 2 hours ago: restorable from that backup on
        now = int(healthy.cluster_time().time)
        healthy.pbm.start_pitr(span_min=10, since=now - 3 * 3600)
        healthy.pbm.make_pitr_hole("rs1", now - 9000, now - 8900)
        healthy.pbm.add_backup("logical", "done", now - 7800, now - 7200)
        healthy.pbm.stop_pitr()
        config = Path(write_config(tmp_path, rs, timeout="2s", interval="30s"))
        billing = healthy.uri(password="${TEST_MONGO_PASSWORD}").replace("%24%7BTEST_MONGO_PASSWORD%7D",
                                                                        "${TEST_MONGO_PASSWORD}")
        config.write_text(config.read_text() + f"  - name: billing-rs\n    uri: {billing}\n"
                          f"pmm:\n  url: {pmm.url}\n  token: glsa_page\n")
        exporter = Exporter("--config", str(config))
        try:
            exporter.metrics_when(r'^pmm_backup_prereq_cluster_ready\{cluster="billing-rs"\}')
            exporter.metrics_when(r'^pmm_backup_prereq_cluster_ready\{cluster="prod-rs"\}')
            url = f"http://127.0.0.1:{exporter.port}/"
            dom = chromium("--dump-dom", url, profile=tmp_path / "profile-dom", size=PHONE).stdout
            shot = tmp_path / "status.png"
            chromium(f"--screenshot={shot}", url, profile=tmp_path / "profile-shot", size=PHONE)
        finally:
            exporter.terminate()

    # what a user sees first: the summary, then the cluster that is not ready, with its failures and fixes
    assert "1 of 2 clusters ready for backup" in dom
    prod = dom.index('id="cluster-prod-rs"')
    assert prod < dom.index('id="cluster-billing-rs"')  # not-ready clusters come first
    section = dom[prod:dom.index("</section>", prod)]
    assert 'class="badge notready">NOT READY<' in section and "<small>for logical backups</small>" in section
    # the readiness row: one word per operation, as the metrics and check say
    assert ('<div class="ops"><span class="op"><span class="badge notready">BLOCKED</span> logical_backup</span>'
            in section)
    assert "blocks logical_backup, physical_backup, pitr, logical_restore, physical_restore" in section
    failing = section[:section.index("<details")]  # outside the folded part
    assert "Failing (3)" in failing  # the leader's agent, backup_candidate_available, the cluster name
    assert "pbm_agent_running" in failing and "heartbeat is stale: last heartbeat 24" in failing
    assert "Fix: On 127.0.0.1: sudo systemctl restart pbm-agent" in failing
    assert "service_cluster_name" in failing and "Fix: Set its cluster label in place through PMM" in failing
    passing = section[section.index("<details"):]
    assert re.search(r"<details><summary>Passing \(\d+\)</summary>", passing)  # folded: no open attribute
    billing = dom[dom.index('id="cluster-billing-rs"'):]
    assert 'class="badge ready">READY<' in billing and "Failing" not in billing[:billing.index("</section>")]
    # its restorable window, in words and as a bar: the hole in red, the backup-started range in green
    window = billing[:billing.index("</section>")]
    assert "<b>Recoverability:</b> restorable from " in window and " (RPO " in window
    assert "PITR hole " in window and " on rs1" in window and "last done: logical " in window
    assert '<svg class="window"' in window and 'fill="#cf222e"' in window and 'fill="#1a7f37"' in window
    assert "<script" not in dom  # no JavaScript
    assert "glsa_page" not in dom and "secret" not in dom
    width, height = png_size(shot)
    assert (width, height) == tuple(int(v) for v in PHONE.split(","))  # rendered at phone width, no overflow
    if os.environ.get("UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENSHOT)
    assert SCREENSHOT.exists(), "make the screenshot with UPDATE_SCREENSHOT=1 pytest tests/test_status_page.py"

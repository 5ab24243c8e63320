"""A scheduled run that fails notifies, also when started by `meltano schedule run` (the
schedules run their job through `marina-ops run`), and leaves a log file of the run."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading

from conftest import MELTANO, ROOT


def test_meltano_schedule_run_of_a_failing_job_notifies_and_writes_its_log(tmp_path):
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    missing = tmp_path / "no-such-folder"
    env = {
        **os.environ,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_ENVIRONMENT": "dev",
        "TAP_MARINA_S3_MOLO_PATH": str(missing),
        "TAP_MARINA_S3_STELLAR_PATH": str(missing),
        "TARGET_ORACLE_DUCKDB_PATH": str(tmp_path / "marina.duckdb"),
        "MARINA_DUCKDB_PATH": str(tmp_path / "marina.duckdb"),
        "MARINA_WEBHOOK_URL": f"http://127.0.0.1:{server.server_address[1]}/hook",
        "MARINA_NOTIFY_ON": "failure",
        "MARINA_LOG_DIR": str(tmp_path / "logs"),
    }
    try:
        result = subprocess.run(
            [str(MELTANO), "schedule", "run", "marina-hourly"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode != 0
    (notice,) = received
    assert notice["status"] == "failure" and notice["job"] == "marina-hourly"
    assert str(missing) in notice["text"], notice["text"]
    (log,) = (tmp_path / "logs" / "marina-hourly").glob("*.log")
    assert str(missing) in log.read_text()

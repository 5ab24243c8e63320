"""Staging/prod keep Meltano's state in S3 (MELTANO_STATE_BACKEND_URI), not on a worker's disk.

Meltano (with its `s3` extra, from requirements-dev.txt) talks HTTP to moto's S3 server on
localhost: state written through `meltano state` lands as an object in the bucket, is read back
by a second Meltano process, and the local system database never sees it.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from conftest import run_meltano
from moto import server as moto_server

BUCKET = "marina-meltano-state"
KEYS = {
    "AWS_ACCESS_KEY_ID": "testing-key",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def endpoint(monkeypatch_module):
    for name, value in KEYS.items():
        monkeypatch_module.setenv(name, value)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_prod_state_is_written_to_and_read_from_s3(endpoint):
    prefix = f"state-{uuid.uuid4().hex[:8]}"
    remote = {
        "MELTANO_STATE_BACKEND_URI": f"s3://{BUCKET}/{prefix}",
        # botocore's own endpoint variable: Meltano's S3 client takes it like any boto3 client
        "AWS_ENDPOINT_URL_S3": endpoint,
        **KEYS,
    }
    state_id = f"prod:tap-marina-s3-to-target-oracle-{prefix}"
    state = {
        "singer_state": {
            "bookmarks": {
                "marina_load_audit": {"loaded_exports": {"molo": [{"key": "molo/backup_2025-11-17.zip", "size": 123}]}}
            }
        }
    }
    run_meltano("--environment=prod", "state", "set", "--force", state_id, json.dumps(state), env=remote)

    objects = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    keys = [o["Key"] for o in objects.get("Contents", [])]
    assert any(state_id in key for key in keys), keys

    got = json.loads(run_meltano("--environment=prod", "state", "get", state_id, env=remote))
    assert got == state
    # without the remote backend (the local system db) this state does not exist
    assert state_id not in run_meltano("state", "list", env={"MELTANO_STATE_BACKEND_URI": "systemdb"})

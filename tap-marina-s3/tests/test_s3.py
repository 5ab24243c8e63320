"""Exports in S3: a real S3 API over HTTP (moto's server on 127.0.0.1), real boto3 in the tap.

The sample exports are generated once for the module and uploaded; runs select a few tables of
each system (the others are not read), which keeps the module fast while the archives are the
full generated ones.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from conftest import loaded_keys, run_tap, run_tap_failing, select_catalog

from tap_marina_s3.samples import generate

moto_server = pytest.importorskip("moto.server")

SELECTED = {"molo_slips", "molo_piers", "molo_contacts", "stellar_holidays", "stellar_customers"}
CREDENTIALS = {
    "aws_access_key_id": "testing-key",
    "aws_secret_access_key": "testing-secret",
    "aws_session_token": "testing-token",
    "aws_region": "us-east-1",
}
NOISE = 1_000  # with the exports after them: more than one page of ListObjectsV2 (1,000 keys)


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory):
    """Hermetic AWS environment: only the tap's settings can provide credentials."""
    saved = dict(os.environ)
    folder = tmp_path_factory.mktemp("aws")
    for name in list(os.environ):
        if name.startswith("AWS_") and name != "AWS_CA_BUNDLE":
            del os.environ[name]
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(Path(folder, "none"))
    os.environ["AWS_CONFIG_FILE"] = str(Path(folder, "none"))
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def endpoint(s3_env):
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1"
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing-key",
        aws_secret_access_key="testing-secret",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("s3-samples")
    manifest = generate(out, seed=5, rows=200, exports=2)
    return out, manifest


@pytest.fixture(scope="module")
def catalog():
    return select_catalog(SELECTED)


def exports_of(manifest: dict, system: str) -> list[dict]:
    return [e for e in manifest["exports"] if e["system"] == system]


def upload(s3, bucket: str, key: str, path: Path) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    time.sleep(0.01)  # distinct LastModified, in upload order
    return key


def fresh_bucket(s3, name: str) -> str:
    s3.create_bucket(Bucket=name)
    return name


def config(endpoint: str, **extra) -> dict:
    return {"endpoint_url": endpoint, **CREDENTIALS, **extra}


def expected_rows(export: dict, stream: str) -> int:
    return export["tables"][stream]["rows"]


def test_pagination_prefix_and_latest(s3, endpoint, samples, catalog):
    out, manifest = samples
    bucket = fresh_bucket(s3, "molo-paged")
    old, new = exports_of(manifest, "molo")
    with ThreadPoolExecutor(8) as pool:  # sorts before the exports: "exports/a..." < "exports/z..."
        list(
            pool.map(
                lambda i: s3.put_object(Bucket=bucket, Key=f"exports/a-noise/{i:05d}.txt", Body=b"x"), range(NOISE)
            )
        )
    s3.put_object(Bucket=bucket, Key="exports/a-noise/not-an-export.csv", Body=b"x")
    old_key = upload(s3, bucket, "exports/z/" + Path(old["path"]).name, out / old["path"])
    new_key = upload(s3, bucket, "exports/z/" + Path(new["path"]).name, out / new["path"])
    # a newer-looking export outside the prefix must not be seen
    upload(s3, bucket, "elsewhere/molo_backup_2030-01-01_00-00-00.zip", out / new["path"])
    first_page = s3.list_objects_v2(Bucket=bucket, Prefix="exports/")
    assert first_page["IsTruncated"] and new_key not in {o["Key"] for o in first_page["Contents"]}

    run = run_tap(config(endpoint, molo_bucket=bucket, molo_prefix="exports/", stellar_enabled=False), catalog=catalog)
    assert loaded_keys(run.state, "molo") == [new_key]  # latest: only the newest
    for stream in ("molo_slips", "molo_piers", "molo_contacts"):
        records = run.records(stream)
        assert len(records) == expected_rows(new, stream)
        assert {r["_sdc_source_key"] for r in records} == {new_key}
        (audit,) = run.audit(stream)
        assert audit["rows_read"] == audit["rows_emitted"] + audit["rows_rejected"] == expected_rows(new, stream)
    assert old_key not in {r["_sdc_source_key"] for r in run.records("molo_slips")}
    entry = run.state["bookmarks"]["marina_load_audit"]["loaded_exports"]["molo"][0]
    head = s3.head_object(Bucket=bucket, Key=new_key)
    assert entry["etag"] == head["ETag"].strip('"') and entry["size"] == head["ContentLength"]


def test_all_then_nothing_new_then_reupload(s3, endpoint, samples, catalog):
    out, manifest = samples
    molo_bucket = fresh_bucket(s3, "molo-exports")
    stellar_bucket = fresh_bucket(s3, "stellar-exports")
    keys = {}
    for system, bucket in (("molo", molo_bucket), ("stellar", stellar_bucket)):
        keys[system] = [upload(s3, bucket, Path(e["path"]).name, out / e["path"]) for e in exports_of(manifest, system)]
    cfg = config(endpoint, molo_bucket=molo_bucket, stellar_bucket=stellar_bucket, mode="all")

    first = run_tap(cfg, catalog=catalog)
    for system in ("molo", "stellar"):
        assert loaded_keys(first.state, system) == keys[system]  # oldest first
    for stream in SELECTED:
        system = stream.split("_")[0]
        exports = exports_of(manifest, system)
        versions = [m["version"] for m in first.of_type("ACTIVATE_VERSION", stream)]
        assert len(versions) == 2 and versions[0] < versions[1], stream
        records = first.of_type("RECORD", stream)
        for export, key, version in zip(exports, keys[system], versions):
            mine = [m for m in records if m["record"]["_sdc_source_key"] == key]
            assert len(mine) == expected_rows(export, stream), (stream, key)
            assert {m["version"] for m in mine} == {version}
            assert {m["record"]["_sdc_exported_at"][:19] for m in mine} == {export["exported_at"][:19]}
    assert first.records("marina_rejects") == []

    started = time.monotonic()
    second = run_tap(cfg, state=first.state, catalog=catalog)
    assert second.of_type("RECORD") == [] and second.of_type("ACTIVATE_VERSION") == []
    assert time.monotonic() - started < 10
    assert (
        second.state["bookmarks"]["marina_load_audit"]["loaded_exports"]
        == first.state["bookmarks"]["marina_load_audit"]["loaded_exports"]
    )

    # the vendor re-uploads the newest MOLO export under the same key with other content
    newest = keys["molo"][-1]
    before = s3.head_object(Bucket=molo_bucket, Key=newest)["ETag"]
    other = exports_of(manifest, "molo")[0]
    upload(s3, molo_bucket, newest, out / other["path"])
    assert s3.head_object(Bucket=molo_bucket, Key=newest)["ETag"] != before
    third = run_tap(cfg, state=second.state, catalog=catalog)
    assert {r["_sdc_source_key"] for r in third.records("molo_slips")} == {newest}
    assert len(third.records("molo_slips")) == expected_rows(other, "molo_slips")
    assert third.records("stellar_holidays") == []
    assert loaded_keys(third.state, "molo") == keys["molo"] + [newest]
    assert loaded_keys(third.state, "stellar") == keys["stellar"]


def test_wrong_bucket_is_a_clear_error(s3, endpoint, catalog):
    error, failed = run_tap_failing(
        config(endpoint, molo_bucket="no-such-bucket-here", stellar_enabled=False), catalog=catalog
    )
    message = str(error)
    assert message.startswith("molo: ") and "s3://no-such-bucket-here/" in message, message
    assert "NoSuchBucket" in message, message
    assert failed.records("molo_slips") == []
    assert all(loaded_keys(m["value"], "molo") == [] for m in failed.of_type("STATE"))


def test_credentials_come_from_the_settings(s3, endpoint, samples, catalog):
    out, manifest = samples
    bucket = fresh_bucket(s3, "stellar-creds")
    export = exports_of(manifest, "stellar")[-1]
    key = upload(s3, bucket, "x/" + Path(export["path"]).name, out / export["path"])
    cfg = {"endpoint_url": endpoint, "stellar_bucket": bucket, "molo_enabled": False}
    error, _ = run_tap_failing(cfg, catalog=catalog)  # no credentials anywhere
    assert "credentials" in str(error).lower() and f"s3://{bucket}/" in str(error), error
    run = run_tap({**cfg, **CREDENTIALS}, catalog=catalog)
    assert loaded_keys(run.state, "stellar") == [key]
    assert len(run.records("stellar_customers")) == expected_rows(export, "stellar_customers")

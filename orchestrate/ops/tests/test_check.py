"""`marina-ops check`: a good local setup passes; each broken part gets its own message.

S3 is moto's server over HTTP (127.0.0.1), with IAM authentication switched on for the credential
tests; Oracle is checked up to what needs no server (wallet folders, a refused connection).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tarfile
import time
import urllib.request
import zipfile

import boto3
import pytest
import staging_db as sdb
from conftest import REPO, base_env, mini_project, run_cli

from marina_ops.check import run_checks
from marina_ops.check_config import plugin_configs
from marina_ops.cli import main

moto_server = pytest.importorskip("moto.server")


def by_name(results) -> dict:
    return {r.name: r for r in results}


def zip_export(members: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (members or {"Slips.csv": b"ID\n1\n", "Piers.csv": b"ID\n1\n"}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def targz_export() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"LOCATION_ID,HOLIDAY_DATE\n1,2025-12-25\n"
        info = tarfile.TarInfo("data/holidays.csv")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


OPERATIONS = REPO / "docs" / "operations.md"


def documented(*fragments: str) -> None:
    """docs/operations.md's error table quotes the message an operator sees."""
    text = OPERATIONS.read_text(encoding="utf-8")
    assert [f for f in fragments if f not in text] == []


MOLO_EXPORT = "molo_backup_2025-01-01.zip"
STELLAR_EXPORT = "prod_2025-01-01-DATA.sql.gz"


@pytest.fixture
def local_setup(tmp_path):
    """Export folders with one export each, a loaded DuckDB, the small dbt project."""
    for system, name, data in (("molo", MOLO_EXPORT, zip_export()), ("stellar", STELLAR_EXPORT, targz_export())):
        (tmp_path / "exports" / system).mkdir(parents=True)
        (tmp_path / "exports" / system / name).write_bytes(data)
    db = tmp_path / "marina.duckdb"
    sdb.create_all(db)
    project = mini_project(tmp_path)
    env = {
        "MELTANO_PROJECT_ROOT": str(tmp_path),
        "DBT_TARGET": "duckdb",
        "TAP_MARINA_S3_MOLO_PATH": str(tmp_path / "exports" / "molo"),
        "TAP_MARINA_S3_STELLAR_PATH": str(tmp_path / "exports" / "stellar"),
        "TARGET_ORACLE_DUCKDB_PATH": str(db),
        "MARINA_DUCKDB_PATH": str(db),
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
    }
    return env


def test_good_local_setup_passes(local_setup):
    proc = run_cli(["check", "--from-env"], {**base_env(), **local_setup})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    checks = lines[: lines.index("")]
    assert len(checks) == 6 and all(ln.startswith("OK ") for ln in checks), proc.stdout
    assert any(
        "exports molo: local folder" in ln
        and f"1 export(s), newest {MOLO_EXPORT} (zip of 2 members, 2 CSV; arrived " in ln
        and "0 h ago)" in ln
        for ln in lines
    ), proc.stdout
    assert any(f"newest {STELLAR_EXPORT} (gzip'd tar, first member data/holidays.csv;" in ln for ln in lines)
    assert any(f"{sdb.CATALOG.__len__() + 2} STG_ and 0 DW_ tables" in ln for ln in lines)
    assert any(ln.startswith("OK    dbt (target duckdb): dbt debug: all checks passed") for ln in lines)
    assert lines[-1] == "all checks passed"


def test_missing_folder_is_named(clean_env, local_setup, tmp_path, capsys):
    for k, v in {**local_setup, "TAP_MARINA_S3_STELLAR_PATH": str(tmp_path / "nope")}.items():
        clean_env.setenv(k, v)
    assert main(["check", "--from-env", "--no-dbt"]) == 1
    out = capsys.readouterr().out
    # the tap's own message (the listing is the tap's code)
    assert (
        f"FAIL  exports stellar: export folder {tmp_path / 'nope'} does not exist (setting stellar_path): create it, "
        "or point stellar_path (TAP_MARINA_S3_STELLAR_PATH) at the exports"
    ) in out
    documented("export folder ... does not exist (setting molo_path)")
    assert out.rstrip().endswith("1 check(s) failed")
    assert "OK    exports molo" in out


def test_loader_and_dbt_on_different_duckdb_files(local_setup, tmp_path):
    env = {**local_setup, "MARINA_DUCKDB_PATH": str(tmp_path / "other.duckdb")}
    r = by_name(run_checks(env, use_meltano=False, with_dbt=False))["loader and dbt"]
    assert r.status == "FAIL" and "MARINA_DUCKDB_PATH" in r.message and str(tmp_path / "other.duckdb") in r.message


# --- S3 -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto server with a user allowed to do everything, a bucket holding one MOLO export."""
    saved = dict(os.environ)
    folder = tmp_path_factory.mktemp("aws")
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        {
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "none"),
            "AWS_CONFIG_FILE": str(folder / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    admin = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "setup",
        "aws_secret_access_key": "setup",
    }
    iam = boto3.client("iam", **admin)
    iam.create_user(UserName="marina")
    iam.put_user_policy(
        UserName="marina",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="marina")["AccessKey"]
    s3c = boto3.client("s3", **admin)
    s3c.create_bucket(Bucket="marina-exports")
    s3c.put_object(Bucket="marina-exports", Key="molo/molo_backup_2025-01-01.zip", Body=zip_export())
    # a damaged copy (the first 200 bytes of a zip: no central directory) under another prefix
    s3c.put_object(Bucket="marina-exports", Key="cut/molo_backup_2025-01-02.zip", Body=zip_export()[:200])
    yield {"endpoint": endpoint, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    server.stop()
    os.environ.clear()
    os.environ.update(saved)


def s3_env(s3, local_setup, **over) -> dict:
    return {
        **local_setup,
        "TAP_MARINA_S3_ENDPOINT_URL": s3["endpoint"],
        "TAP_MARINA_S3_AWS_REGION": "us-east-1",
        "TAP_MARINA_S3_MOLO_BUCKET": "marina-exports",
        "TAP_MARINA_S3_MOLO_PREFIX": "molo/",
        "TAP_MARINA_S3_AWS_ACCESS_KEY_ID": s3["key"],
        "TAP_MARINA_S3_AWS_SECRET_ACCESS_KEY": s3["secret"],
        **over,
    }


def molo_check(env: dict):
    return by_name(run_checks(env, use_meltano=False, with_dbt=False))["exports molo"]


def test_bucket_is_listed(s3, local_setup):
    r = molo_check(s3_env(s3, local_setup))
    assert r.status == "OK", r.message
    assert r.message.startswith(
        "s3://marina-exports/molo/: 1 export(s), newest molo/molo_backup_2025-01-01.zip "
        "(zip of 2 members, 2 CSV; arrived "
    ), r.message


def test_damaged_zip_in_the_bucket_fails(s3, local_setup):
    """The central directory is read with ranged GETs: a cut-off zip is told, not just its name."""
    r = molo_check(s3_env(s3, local_setup, TAP_MARINA_S3_MOLO_PREFIX="cut/"))
    assert r.status == "FAIL"
    assert "newest export cut/molo_backup_2025-01-02.zip" in r.message and "not a readable zip" in r.message
    documented("is not a readable zip")


def test_wrong_bucket_is_named(s3, local_setup):
    r = molo_check(s3_env(s3, local_setup, TAP_MARINA_S3_MOLO_BUCKET="marina-exprots"))
    assert r.status == "FAIL"
    assert "bucket 'marina-exprots' does not exist" in r.message and "MARINA_MOLO_BUCKET" in r.message


@pytest.fixture
def iam_auth(s3):
    """moto checks credentials and permissions from now on (until the test ends)."""

    def reset(count: str) -> None:
        urllib.request.urlopen(
            urllib.request.Request(
                f"{s3['endpoint']}/moto-api/reset-auth",
                data=count.encode(),
                method="POST",
                headers={"Content-Type": "text/plain"},
            ),
            timeout=10,
        ).read()

    reset("0")
    yield
    reset("inf")


def test_bad_credentials_are_told_apart(s3, local_setup, iam_auth):
    assert molo_check(s3_env(s3, local_setup)).status == "OK"  # the real user still works
    unknown = molo_check(s3_env(s3, local_setup, TAP_MARINA_S3_AWS_ACCESS_KEY_ID="AKIANOTAREALKEY00000"))
    assert unknown.status == "FAIL"
    assert "bad credentials: the AWS access key id is not known" in unknown.message
    wrong_secret = molo_check(s3_env(s3, local_setup, TAP_MARINA_S3_AWS_SECRET_ACCESS_KEY="wrong-secret"))
    assert wrong_secret.status == "FAIL"
    assert "bad credentials: the AWS secret access key does not match" in wrong_secret.message


# --- Oracle -------------------------------------------------------------------------------------
@pytest.fixture
def oracle_env(local_setup, tmp_path):
    env = {k: v for k, v in local_setup.items() if "DUCKDB" not in k}
    return {
        **env,
        "DBT_TARGET": "oracle",
        "ORACLE_USER": "marina_app",
        "ORACLE_PASSWORD": "pw",
        "ORACLE_DSN": "marina_high",
        "ORACLE_CONFIG_DIR": str(tmp_path / "wallet"),
        "ORACLE_WALLET_LOCATION": str(tmp_path / "wallet"),
        "ORACLE_WALLET_PASSWORD": "wpw",
    }


def test_missing_wallet_folder_is_named(oracle_env, tmp_path):
    results = by_name(run_checks(oracle_env, use_meltano=False, with_dbt=True))
    for name in ("warehouse (loader target-oracle)", "dbt (target oracle)"):
        r = results[name]
        assert r.status == "FAIL"
        wallet = tmp_path / "wallet"
        assert r.message == (
            f"Oracle marina_app@marina_high: no tnsnames.ora in {wallet} (ORACLE_CONFIG_DIR); no ewallet.pem in "
            f"{wallet} (ORACLE_WALLET_LOCATION): unzip the Autonomous Database wallet there "
            "(docs/operations.md, first production run)"
        )


def test_wallet_folder_without_its_files_is_named(oracle_env, tmp_path):
    (tmp_path / "wallet").mkdir()
    r = by_name(run_checks(oracle_env, use_meltano=False, with_dbt=False))["warehouse (loader target-oracle)"]
    assert r.status == "FAIL"
    assert "no tnsnames.ora in" in r.message and "no ewallet.pem in" in r.message
    documented("no tnsnames.ora in", "no ewallet.pem in")


def test_alias_without_a_configuration_folder_is_named(oracle_env):
    env = {k: v for k, v in oracle_env.items() if "WALLET" not in k and "CONFIG_DIR" not in k}
    results = by_name(run_checks(env, use_meltano=False, with_dbt=True))
    for name in ("warehouse (loader target-oracle)", "dbt (target oracle)"):
        assert results[name].status == "FAIL"
        assert results[name].message == (
            "Oracle marina_app@marina_high: ORACLE_DSN 'marina_high' is a tnsnames alias but ORACLE_CONFIG_DIR "
            "(or TNS_ADMIN) is not set: set it to the wallet folder, or ORACLE_DSN to host:port/service"
        )
    documented("is a tnsnames alias but ORACLE_CONFIG_DIR (or TNS_ADMIN) is not set")


def test_unreachable_database_is_named(oracle_env):
    from conftest import free_port

    env = {k: v for k, v in oracle_env.items() if "WALLET" not in k and "CONFIG_DIR" not in k}
    env["ORACLE_DSN"] = f"127.0.0.1:{free_port()}/marina_high"  # nothing listens there
    r = by_name(run_checks(env, use_meltano=False, with_dbt=False))["warehouse (loader target-oracle)"]
    assert r.status == "FAIL"
    assert "cannot connect to the host/port in ORACLE_DSN" in r.message
    documented("cannot connect to the host/port in ORACLE_DSN")


def test_unresolvable_host_is_a_fail_line_not_a_crash(oracle_env, capsys, clean_env):
    env = {k: v for k, v in oracle_env.items() if "WALLET" not in k and "CONFIG_DIR" not in k}
    env["ORACLE_DSN"] = "adb.example.invalid:1522/marina_high"
    for k, v in env.items():
        clean_env.setenv(k, v)
    assert main(["check", "--from-env", "--no-dbt"]) == 1
    out = capsys.readouterr().out
    assert (
        "FAIL  warehouse (loader target-oracle): Oracle marina_app@adb.example.invalid:1522/marina_high: "
        "the database host in ORACLE_DSN cannot be resolved"
    ) in out
    assert "Traceback" not in out and out.rstrip().endswith("check(s) failed")


def test_prod_without_any_setting(local_setup, clean_env, capsys):
    """prod with neither buckets nor ORACLE_*: one FAIL per part, each naming what to set; no
    check reports an empty schema or host as OK."""
    env = {k: v for k, v in local_setup.items() if k.startswith(("MELTANO_PROJECT", "DBT_PRO"))}
    for k, v in {**env, "MELTANO_ENVIRONMENT": "prod", "DBT_TARGET": "oracle"}.items():
        clean_env.setenv(k, v)
    assert main(["check", "--from-env"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  exports molo: MARINA_MOLO_BUCKET is not set for environment prod" in out
    documented("MARINA_MOLO_BUCKET is not set for environment prod", "no warehouse configured for environment prod")
    assert "FAIL  exports stellar: MARINA_STELLAR_BUCKET is not set for environment prod" in out
    assert "FAIL  warehouse (loader target-oracle): no warehouse configured for environment prod" in out
    assert "FAIL  loader and dbt: dbt has no Oracle to compare with" in out
    assert "FAIL  dbt (target oracle): ORACLE_USER, ORACLE_PASSWORD, ORACLE_DSN not set for environment prod" in out
    assert "OK " not in out.replace("OK    settings", "") and "5 check(s) failed" in out


def test_dbt_target_other_than_the_environments_is_refused(local_setup):
    env = {**local_setup, "MELTANO_ENVIRONMENT": "dev", "MARINA_DBT_TARGET_REQUESTED": "oracle"}
    r = by_name(run_checks(env, use_meltano=False, with_dbt=False))["loader and dbt"]
    assert r.status == "FAIL"
    assert r.message.startswith("DBT_TARGET=oracle is refused: environment dev uses duckdb"), r.message
    documented("DBT_TARGET=oracle is refused")


# --- export contents and age ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("molo_backup_2025-01-02.zip", b"<html>Not Found</html>", "is neither a zip nor a gzip archive"),
        ("molo_backup_2025-01-02.zip", zip_export()[:-30], "is not a readable zip"),
        ("molo_backup_2025-01-02.zip", zip_export({"readme.txt": b"hello"}), "is zip of 1 member(s), none a .csv"),
        ("molo_backup_2025-01-02.zip", b"\x1f\x8b" + b"\0" * 40, "is a gzip whose first tar header cannot be read"),
    ],
)
def test_junk_newest_export_fails(local_setup, tmp_path, name, data, expected):
    folder = tmp_path / "exports" / "molo"
    os.utime(folder / MOLO_EXPORT, (time.time() - 86400,) * 2)  # the good one is older
    (folder / name).write_bytes(data)
    r = by_name(run_checks(local_setup, use_meltano=False, with_dbt=False))["exports molo"]
    assert r.status == "FAIL", r.message
    assert f"newest export {name} (arrived " in r.message and expected in r.message, r.message


@pytest.mark.parametrize(("late_export", "status"), [("fail", "FAIL"), ("warn", "WARN")])
def test_export_two_days_old_is_late(local_setup, tmp_path, late_export, status):
    two_days_ago = time.time() - 2 * 86400
    os.utime(tmp_path / "exports" / "molo" / MOLO_EXPORT, (two_days_ago, two_days_ago))
    env = {**local_setup, "TAP_MARINA_S3_MOLO_MAX_EXPORT_AGE_HOURS": "30", "TAP_MARINA_S3_LATE_EXPORT": late_export}
    results = by_name(run_checks(env, use_meltano=False, with_dbt=False))
    r = results["exports molo"]
    arrived = dt.datetime.fromtimestamp(two_days_ago, dt.UTC)
    assert r.status == status
    assert (
        f"arrived {arrived:%Y-%m-%d %H:%M} UTC, 48 h ago): the next export is late "
        "(molo_max_export_age_hours=30)" in r.message
    ), r.message
    assert results["exports stellar"].status == "OK"  # no limit set for Stellar


# --- settings from Meltano ----------------------------------------------------------------------
MELTANO = REPO / ".venv" / "bin" / "meltano"


@pytest.mark.skipif(not MELTANO.is_file(), reason="needs the project's .venv (make install)")
def test_settings_come_from_meltano_for_the_active_environment():
    env = {
        **base_env(),
        "MELTANO_PROJECT_ROOT": str(REPO),
        "MARINA_MELTANO_BIN": str(MELTANO),
        "MELTANO_ENVIRONMENT": "staging",
        "MARINA_MOLO_BUCKET": "molo-from-env",
        "ORACLE_USER": "marina_app",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    tap, target, source = plugin_configs(env, use_meltano=True)
    assert source.startswith("meltano config")
    assert tap["molo_bucket"] == "molo-from-env"  # staging maps MARINA_MOLO_BUCKET to the tap
    assert "molo_path" not in tap and "stellar_path" not in tap  # local folders only in dev
    assert (tap["molo_max_export_age_hours"], tap["late_export"]) == (30, "fail")
    assert target["oracle_user"] == "marina_app"


@pytest.mark.skipif(not MELTANO.is_file(), reason="needs the project's .venv (make install)")
def test_prod_check_through_meltano_names_the_unset_bucket(tmp_path):
    """`make check` reads the settings from `meltano config` like the run: in prod an unset bucket
    variable is a FAIL naming it (meltano.yml gives prod no local folder to fall back on)."""
    env = {
        **base_env(),
        "MELTANO_PROJECT_ROOT": str(REPO),
        "MARINA_MELTANO_BIN": str(MELTANO),
        "MELTANO_ENVIRONMENT": "prod",
        "MARINA_STELLAR_BUCKET": "",
        "MARINA_MOLO_BUCKET": "",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    results = by_name(run_checks(env, use_meltano=True, with_dbt=False))
    for system in ("molo", "stellar"):
        r = results[f"exports {system}"]
        assert r.status == "FAIL"
        assert r.message.startswith(f"MARINA_{system.upper()}_BUCKET is not set for environment prod"), r.message

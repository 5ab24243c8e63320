"""meltano.yml's jobs and environments, as Meltano itself resolves them."""

from __future__ import annotations

import json

import pytest


def test_meltano_yml_follows_meltanos_schema(project, meltano_schema):
    import jsonschema  # a Meltano dependency

    validator = jsonschema.Draft202012Validator(meltano_schema)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(project)] == []


def test_every_job_task_resolves(project, meltano):
    """`meltano run --dry-run` accepts every job's blocks (plugins exist, extractor before
    loader); it does not check command names, so those are looked up in meltano.yml."""
    blocks = [word for job in project["jobs"] for task in job["tasks"] for word in task.split()]
    meltano("run", "--dry-run", *blocks)
    commands = {
        plugin["name"]: set(plugin.get("commands") or {}) for kind in project["plugins"].values() for plugin in kind
    }
    missing = [b for b in blocks if ":" in b and b.split(":")[1] not in commands.get(b.split(":")[0], set())]
    assert missing == []


@pytest.mark.parametrize("environment", ["dev", "prod"])  # staging = prod here
def test_per_system_extractors_switch_the_other_system_off(environment, meltano):
    env = {"MELTANO_ENVIRONMENT": environment, "MARINA_MOLO_BUCKET": "molo-b", "MARINA_STELLAR_BUCKET": "stellar-b"}
    molo = json.loads(meltano("config", "print", "tap-marina-s3--molo", env=env))
    stellar = json.loads(meltano("config", "print", "tap-marina-s3--stellar", env=env))
    assert (molo["molo_enabled"], molo["stellar_enabled"]) == (True, False)
    assert (stellar["molo_enabled"], stellar["stellar_enabled"]) == (False, True)
    if environment != "dev":  # the environment's S3 settings reach the inherited extractors
        assert (molo["molo_bucket"], stellar["stellar_bucket"]) == ("molo-b", "stellar-b")


def test_each_environment_has_its_own_batch_sizes(meltano):
    sizes = {}
    for environment in ("dev", "staging", "prod"):
        config = json.loads(meltano("config", "print", "target-oracle", env={"MELTANO_ENVIRONMENT": environment}))
        sizes[environment] = (config.get("batch_size_rows"), config.get("oracle_array_size"))
    assert all(rows for rows, _ in sizes.values()), sizes
    assert sizes["staging"][1] and sizes["prod"][1], sizes
    assert len(set(sizes.values())) == 3, sizes

"""Finding exports: the tap and `marina-ops check` open them through `store_for`, so both see the
same exports with the same settings."""

from __future__ import annotations

import os

import pytest

from marina_common.exports import LocalStore, S3Store, StorageError, order, store_for


def test_a_folder_lists_the_matching_exports_under_the_prefix_oldest_first(tmp_path):
    (tmp_path / "daily").mkdir()
    for name, mtime in (("daily/b.zip", 200), ("daily/a.zip", 100), ("daily/notes.txt", 50), ("other.zip", 10)):
        path = tmp_path / name
        path.write_bytes(b"x")
        os.utime(path, (mtime, mtime))
    store = store_for("molo", {"molo_path": tmp_path.as_uri(), "molo_prefix": "daily/"})
    assert isinstance(store, LocalStore)
    assert [r.key for r in order(store.list("molo", "*.ZIP"))] == ["daily/a.zip", "daily/b.zip"]


def test_a_bucket_wins_over_a_folder_and_nothing_set_is_none():
    store = store_for(
        "stellar",
        {"stellar_bucket": "exports", "stellar_path": "/unused", "aws_region": "eu-west-1", "stellar_prefix": "s/"},
    )
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.client.meta.region_name) == ("exports", "s/", "eu-west-1")
    assert store_for("stellar", {"molo_path": "/x"}) is None


def test_a_missing_folder_names_the_setting(tmp_path):
    with pytest.raises(StorageError, match=r"export folder .*missing does not exist \(setting molo_path\)"):
        store_for("molo", {"molo_path": str(tmp_path / "missing")}).list("molo", "*.zip")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_an_unreadable_folder_is_an_error_not_an_empty_listing(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.zip").write_bytes(b"x")
    locked.chmod(0)
    try:
        with pytest.raises(StorageError, match="not readable"):
            LocalStore(str(tmp_path)).list("molo", "*.zip")
    finally:
        locked.chmod(0o700)

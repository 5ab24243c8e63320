"""The generated dbt files must match the catalog; the generator must refuse inconsistent input."""

from __future__ import annotations

import re
import shutil

import generate_models as gm
import pytest
import yaml


def test_generated_files_match_the_catalog():
    problems = gm.drift()
    assert problems == [], "run: python transform/scripts/generate_models.py\n" + "\n".join(problems[:20])


@pytest.fixture(scope="module")
def files():
    return gm.render()


def _selected(sql: str, before: str) -> list[str]:
    """The column lines of the select that ends at `before` (one column per line)."""
    body = sql.split(before, 1)[0].rsplit("select\n", 1)[1]
    return [line.strip().rstrip(",") for line in body.splitlines() if line.strip() and "{{" not in line]


def test_models_spell_out_their_columns(files):
    """Each model selects the catalog's columns by name, one per line, in catalog order: the
    staging view casts each, both DW branches list each."""
    tables = gm.read_catalog()
    assert len(tables) == 79
    for t in tables:
        names = [gm.quote(c.name) for c in t.columns]
        stg = files[gm.Path(f"models/staging/{t.system}/stg_{t.system}__{t.name}.sql")]
        assert re.findall(r"marina_cast\('(.+?)', '.+?'\) \}\}\s+as (.+),\n", stg) == [(n, n) for n in names]
        assert f"source('{t.system}', '{t.staging_table}')" in stg
        dw_sql = files[gm.Path(f"models/dw/{t.system}/dw_{t.stream}.sql")]
        assert f"alias='{t.dw_table}'" in dw_sql
        assert _selected(dw_sql, "from dw_changed_rows") == names
        assert _selected(dw_sql, "from dw_deleted_rows") == names
        model = yaml.safe_load(files[gm.Path(f"models/dw/{t.system}/dw_{t.stream}.yml")])["models"][0]
        assert model["config"]["meta"]["grain"] == list(t.primary_key)


def test_key_columns_go_to_the_macros_with_their_types(files):
    """A composite key with a DATE part: the macros build DW_ID and the record key from it."""
    holidays = files[gm.Path("models/dw/stellar/dw_stellar_holidays.sql")]
    assert "key_columns = [['LOCATION_ID', 'NUMBER(10,0)'], ['HOLIDAY_DATE', 'DATE']]" in holidays


def test_composite_keys_get_the_combined_unique_test(files):
    holidays = yaml.safe_load(files[gm.Path("models/dw/stellar/dw_stellar_holidays.yml")])["models"][0]
    assert holidays["data_tests"] == [
        {"marina_unique_combination": {"arguments": {"columns": ["LOCATION_ID", "HOLIDAY_DATE"]}}}
    ]
    slips = yaml.safe_load(files[gm.Path("models/dw/molo/dw_molo_slips.yml")])["models"][0]
    id_col = next(c for c in slips["columns"] if c["name"] == "ID")
    assert id_col["data_tests"] == ["not_null", "unique"]


def test_drift_is_detected(tmp_path):
    root = tmp_path / "transform"
    shutil.copytree(gm.TRANSFORM_DIR / "models", root / "models")
    (root / "macros").mkdir()
    shutil.copy(gm.TRANSFORM_DIR / "macros/marina_reserved_words.sql", root / "macros")
    assert gm.drift(root=root) == []
    (root / "models/dw/molo/dw_molo_slips.sql").write_text("select 1\n")
    (root / "models/dw/molo/dw_molo_gone.yml").write_text(gm.YAML_HEADER)
    (root / "models/staging/molo/stg_molo__piers.yml").unlink()
    assert sorted(gm.drift(root=root)) == [
        "differs: models/dw/molo/dw_molo_slips.sql",
        "missing: models/staging/molo/stg_molo__piers.yml",
        "stale: models/dw/molo/dw_molo_gone.yml",
    ]


def test_catalog_errors_are_refused(tmp_path):
    catalog = yaml.safe_load(gm.DEFAULT_CATALOG.read_text())
    catalog[0]["primary_key"] = ["NO_SUCH_COLUMN"]
    bad = tmp_path / "catalog.yml"
    bad.write_text(yaml.safe_dump(catalog))
    with pytest.raises(ValueError, match="primary key"):
        gm.render(bad)
    catalog[0]["primary_key"] = ["ID"]
    catalog[0]["columns"][0]["oracle_type"] = "XMLTYPE"
    bad.write_text(yaml.safe_dump(catalog))
    with pytest.raises(ValueError, match="unsupported oracle_type"):
        gm.render(bad)


def test_reserved_words_are_the_loaders_and_quoted(tmp_path):
    """One list: the generated macro holds exactly the loader's words; a catalog column named
    by one is quoted in the generated SQL and `quote: true` in the YAML."""
    macro = (gm.TRANSFORM_DIR / "macros/marina_reserved_words.sql").read_text()
    body = macro.split("return(", 1)[1]
    assert set(re.findall(r"\b[A-Z][A-Z0-9_]*\b", body)) == gm.RESERVED_WORDS
    assert {"ROWS", "COMMENT", "LEVEL", "ACCESS", "SESSION", "WHENEVER"} <= gm.RESERVED_WORDS
    catalog = yaml.safe_load(gm.DEFAULT_CATALOG.read_text())
    catalog[0]["columns"].append({"name": "ROWS", "oracle_type": "NVARCHAR2(10)"})
    path = tmp_path / "catalog.yml"
    path.write_text(yaml.safe_dump(catalog))
    files = gm.render(path)
    t = gm.read_catalog(path)[0]
    stg = files[gm.Path(f"models/staging/{t.system}/{gm.stg_name(t)}.sql")]
    assert """{{ marina_cast('"ROWS"', 'NVARCHAR2(10)') }} as "ROWS",""" in stg
    assert '\n        "ROWS",\n' in files[gm.Path(f"models/dw/{t.system}/{gm.dw_name(t)}.sql")]
    model = yaml.safe_load(files[gm.Path(f"models/dw/{t.system}/{gm.dw_name(t)}.yml")])["models"][0]
    assert next(c for c in model["columns"] if c["name"] == "ROWS")["quote"] is True
    assert "quote" not in next(c for c in model["columns"] if c["name"] == "ID")

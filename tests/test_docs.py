"""Lineage docs: `meltano invoke dbt:docs-generate` on a small real warehouse, browsed as a person would.

One tiny generated export goes through the real pipeline once (tap -> loader -> dbt run), so every
relation exists and the docs catalog has real column types. The generated site is served on
localhost and opened in headless Chromium (Debian's, driven by Playwright): the lineage graph of a
mart must show the DW models it is built from (read from the page's cytoscape graph and checked
against manifest.json), and the Database tab must list the DW table of every catalog table.
The lineage screenshot is kept in the test's tmp dir and output/docs-lineage.png.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, TABLES, Project, generate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MART = "dw_molo_daily_slip_occupancy_vw"  # whose lineage graph is checked and saved
SCREENSHOT = ROOT / "output" / "docs-lineage.png"
GRAIN = re.compile(r"\bone row per\b", re.IGNORECASE)
DOCUMENTED_TYPES = ("model", "snapshot")  # and every source table


@dataclass
class DocsProject(Project):
    """The project with dbt's target/ and logs/ in the test's own folder (not transform/)."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env["DBT_TARGET_PATH"] = str(self.target)
        env["DBT_LOG_PATH"] = str(self.base / "dbt-logs")
        return env

    @property
    def target(self) -> Path:
        return self.base / "target"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """target/ of `meltano invoke dbt:docs-generate` over a warehouse built by the real pipeline."""
    base = tmp_path_factory.mktemp("docs")
    manifest = generate(base / "generated", rows=100, exports=1, seed=11)
    project = DocsProject(base / "main")
    for export in manifest["exports"]:
        project.publish(base / "generated", export)
    project.run("tap-marina-s3", "target-duckdb", "dbt:run")
    # the run's target path (DBT_TARGET_PATH) is reused: partial parsing, one parse for both
    project.meltano("invoke", "dbt:docs-generate", "--target-path", str(project.target))
    for name in ("index.html", "manifest.json", "catalog.json"):
        assert (project.target / name).is_file(), f"docs generate wrote no {name}"
    return project.target


@pytest.fixture(scope="module")
def manifest(site) -> dict:
    return json.loads((site / "manifest.json").read_text())


@pytest.fixture(scope="module")
def catalog(site) -> dict:
    return json.loads((site / "catalog.json").read_text())


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the page's requests are not test output
        return


@pytest.fixture(scope="module")
def url(site):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "no /usr/bin/chromium: apt-get install -y chromium (.ci/run does)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the docs site: {errors}"


def model_id(manifest: dict, name: str) -> str:
    ids = [uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "model" and n["name"] == name]
    assert len(ids) == 1, f"model {name} not in manifest.json"
    return ids[0]


def is_dw(node: dict) -> bool:
    """A DW_* model: models/dw/<system>/ (fqn marina.dw.<system>.<name>)."""
    return node["resource_type"] == "model" and node["fqn"][1] == "dw"


def dw_ancestors(manifest: dict, uid: str) -> set[str]:
    """The DW models a node is built from, through any intermediate models (manifest parent_map)."""
    found, queue, seen = set(), deque(manifest["parent_map"][uid]), set()
    while queue:
        parent = queue.popleft()
        if parent in seen:
            continue
        seen.add(parent)
        node = manifest["nodes"].get(parent)
        if node is None:  # a source
            continue
        if is_dw(node):
            found.add(parent)
        else:
            queue.extend(manifest["parent_map"][parent])
    return found


def lineage(manifest: dict, uid: str) -> set[str]:
    """uid with all its ancestors and descendants (what dbt docs shows for +uid+)."""
    out = {uid}
    for graph in (manifest["parent_map"], manifest["child_map"]):
        queue = deque(graph[uid])
        while queue:
            other = queue.popleft()
            if other not in out:
                out.add(other)
                queue.extend(graph.get(other, ()))
    return out


GRAPH_NODES_JS = """() => {
  const el = Array.from(document.querySelectorAll('.launcher *')).find(e => e._cyreg && e._cyreg.cy);
  return el ? el._cyreg.cy.nodes().filter(n => n.visible()).map(n => n.id()) : null;
}"""


def settled_graph(page, timeout: float = 20.0) -> set[str]:
    """Node ids of the lineage graph once they stop changing (the fullscreen graph re-renders)."""
    deadline, last, stable = time.monotonic() + timeout, None, 0
    while time.monotonic() < deadline:
        nodes = page.evaluate(GRAPH_NODES_JS)
        current = frozenset(nodes or ())
        stable = stable + 1 if current and current == last else 0
        if stable >= 3:
            return set(current)
        last = current
        page.wait_for_timeout(300)
    raise AssertionError(f"lineage graph did not settle in {timeout}s (last: {sorted(last or ())})")


def test_mart_lineage_graph_shows_its_dw_parents(manifest, url, page, tmp_path):
    mart = model_id(manifest, MART)
    assert manifest["nodes"][mart]["fqn"][1] == "marts"
    parents = dw_ancestors(manifest, mart)
    assert len(parents) >= 2, f"{MART} reads from DW models per manifest.json, found {parents}"

    page.goto(f"{url}#!/model/{mart}")
    page.get_by_role("heading", name=MART).wait_for()
    page.get_by_title("View Lineage Graph").click()
    page.locator("a[title='View Fullscreen']:visible").click()
    page.locator(".launcher[data-launcher='fullscreen']").wait_for(state="attached")
    shown = settled_graph(page)
    page.mouse.move(800, 120)  # no tooltip of the buttons in the picture
    page.wait_for_timeout(300)

    shot = tmp_path / "docs-lineage.png"
    page.screenshot(path=str(shot))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)

    assert parents <= shown, f"DW parents missing from the lineage graph: {sorted(parents - shown)}"
    assert mart in shown
    outside = shown - lineage(manifest, mart)
    assert not outside, f"graph shows nodes outside the mart's lineage: {sorted(outside)}"
    # the graph is the whole chain: the DW parents' staging views and loader tables are there too
    upstream = {p for dw in parents for p in manifest["parent_map"][dw]}
    assert upstream <= shown


def test_docs_site_lists_every_catalog_tables_dw_model(manifest, catalog, url, page):
    by_alias = {n["alias"]: uid for uid, n in manifest["nodes"].items() if is_dw(n)}
    built = {n["metadata"]["name"].upper() for n in catalog["nodes"].values()}
    expected = {t["dw_table"] for t in TABLES.values()}
    assert len(expected) == 79
    assert expected <= set(by_alias), f"no DW model for {sorted(expected - set(by_alias))}"
    assert expected <= built, f"not in catalog.json (not built): {sorted(expected - built)}"

    page.goto(f"{url}#!/overview")
    tree = page.locator("model-tree")
    tree.get_by_text("Database", exact=True).click()
    tree.locator("a:visible", has_text="marina").first.click()
    tree.locator("a:visible", has_text="main").first.click()
    listed = set(
        page.evaluate(
            "() => Array.from(document.querySelectorAll('model-tree a'))"
            ".filter(a => a.offsetParent !== null).map(a => a.textContent.replace(/\\s+/g, ''))"
        )
    )
    assert expected <= listed, f"Database tab does not list {sorted(expected - listed)}"

    # a DW model's page shows its grain sentence and the shared doc blocks, rendered
    slips = manifest["nodes"][by_alias["DW_MOLO_SLIPS"]]
    page.goto(f"{url}#!/model/{slips['unique_id']}")
    page.get_by_role("heading", name=slips["name"]).wait_for()
    text = page.locator("body").inner_text()
    assert "One row per MOLO slip (key ID), current and soft-deleted." in text
    assert "{{ doc(" not in text

    def plain(markdown: str) -> str:
        return re.sub(r"\s+", " ", re.sub(r"[*\\]", "", markdown))

    assert plain(manifest["docs"]["doc.marina.grain_dw"]["block_contents"]) in plain(text)


def documented(manifest: dict) -> dict[str, dict]:
    nodes = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] in DOCUMENTED_TYPES and n["package_name"] == "marina"
    }
    nodes.update(manifest["sources"])
    return nodes


def test_every_model_snapshot_and_source_states_its_grain(manifest):
    nodes = documented(manifest)
    kinds = {n["resource_type"] for n in nodes.values()}
    assert {"model", "source"} <= kinds
    missing = sorted(uid for uid, n in nodes.items() if not GRAIN.search(n["description"] or ""))
    assert missing == [], f"description without its grain ('One row per ...'): {missing}"


def test_every_built_column_is_documented(manifest, catalog):
    nodes = documented(manifest)
    built = {**catalog["nodes"], **catalog["sources"]}
    undocumented = []
    for uid, entry in built.items():
        if uid not in nodes:
            continue
        described = {name.upper(): c["description"] for name, c in nodes[uid]["columns"].items()}
        undocumented += [f"{uid}.{col}" for col in entry["columns"] if not described.get(col.upper())]
    assert len(built) > 2 * len(TABLES), "catalog.json misses relations"
    assert undocumented == [], f"{len(undocumented)} undocumented column(s): {undocumented[:20]}"


def test_shared_columns_reuse_one_doc_block(manifest):
    """DW_* and SDC_* columns carry the text of their doc block, the same everywhere."""
    blocks = {d["name"]: d["block_contents"] for d in manifest["docs"].values() if d["package_name"] == "marina"}
    shared = {name.upper(): text for name, text in blocks.items() if name.startswith(("dw_", "sdc_"))}
    assert {"DW_ID", "DW_IS_DELETED", "DW_SOURCE_KEY", "SDC_ROW_HASH", "SDC_SOURCE_KEY"} <= set(shared)
    uses = 0
    for uid, node in documented(manifest).items():
        generated = node["resource_type"] == "source" or node["fqn"][1] in ("staging", "dw")
        for name, col in node["columns"].items():
            if name.upper() in shared and generated:
                assert col["description"] == shared[name.upper()], f"{uid}.{name}"
                uses += 1
    assert uses >= 79 * 8 * 2 + 79 * 7, "every source, staging view and DW model uses the blocks"
    key = blocks["catalog_key_column"]
    for uid, node in manifest["nodes"].items():
        if is_dw(node):
            for k in node["config"]["meta"]["grain"]:
                assert node["columns"][k]["description"].startswith(key), f"{uid}.{k}"

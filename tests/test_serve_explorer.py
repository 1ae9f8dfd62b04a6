"""The explorer page in headless Chromium, against the real `centroids serve` process:
it loads with nothing from outside, lists the segments and draws the map, and a rename
made on the page (with the token) shows after a reload."""

from __future__ import annotations

import os
import signal

import pytest
from test_report_html import _chromium
from test_serve import FEATURES, customers
from test_serve_process import free_port, start_service, wait_until_ready

from centroids.segments.segmentation import Segmentation
from centroids.store import SegmentStore

TOKEN = "explorer-token-91c"


def test_explorer_lists_segments_draws_the_map_and_renames(tmp_path):
    chromium = _chromium()
    playwright = pytest.importorskip("playwright.sync_api", reason="the dev extra has playwright")
    url = f"sqlite:///{tmp_path / 'segments.db'}"
    frame = customers(900)
    with SegmentStore(url) as store:
        store.save_run(Segmentation(3, columns=FEATURES, random_state=0).fit(frame), frame)
        store.save_run(Segmentation(4, columns=FEATURES, random_state=1).fit(frame), frame)
        names = store.segments()["name"]
        ids = store.segment_ids(2).tolist()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environ = {**os.environ, "CENTROIDS_TOKEN": TOKEN}
    environ.pop("CENTROIDS_TOKEN_FILE", None)
    process = start_service(url, port, environ)
    try:
        wait_until_ready(base, process)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                requests = []
                page.on("request", lambda r: requests.append(r.url))
                page.goto(base + "/")
                page.wait_for_selector("body[data-loaded='2']", timeout=20_000)
                rows = page.eval_on_selector_all(
                    "#segments tbody tr",
                    "rows => rows.map(r => [Number(r.dataset.segmentId),"
                    " r.querySelector('.segment-name').textContent])",
                )
                points = page.eval_on_selector_all("#map circle", "c => c.length")
                centers = page.eval_on_selector_all("#map circle.center", "c => c.length")
                options = page.eval_on_selector_all("#version option", "o => o.length")

                target = ids[0]
                page.fill("#token", TOKEN)
                page.dispatch_event("#token", "change")
                row = page.locator(f"#segments tbody tr[data-segment-id='{target}']")
                row.locator("input").fill("Weekend regulars")
                row.locator("button").click()
                page.wait_for_function(
                    "document.getElementById('status').textContent.includes('renamed')",
                    timeout=20_000,
                )
                page.reload()
                page.wait_for_selector("body[data-loaded='2']", timeout=20_000)
                after = page.eval_on_selector(
                    f"#segments tbody tr[data-segment-id='{target}'] .segment-name",
                    "e => e.textContent",
                )
                # a wrong token is refused and says so on the page
                page.fill("#token", "not-the-token")
                page.dispatch_event("#token", "change")
                row = page.locator(f"#segments tbody tr[data-segment-id='{target}']")
                row.locator("input").fill("Should not stick")
                row.locator("button").click()
                page.wait_for_function(
                    "document.getElementById('status').textContent.includes('failed')",
                    timeout=20_000,
                )
                status = page.text_content("#status")
            finally:
                browser.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert [u for u in requests if not u.startswith(base)] == []
    assert rows == [[i, names[i]] for i in ids]
    assert options == 2
    assert centers == 4 and points == 900 + 4
    assert after == "Weekend regulars"
    assert "token" in status
    with SegmentStore(url) as store:
        assert store.segments().loc[target, "name"] == "Weekend regulars"

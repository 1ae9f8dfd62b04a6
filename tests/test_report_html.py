"""The HTML report: its structure, read directly, and its rendering in headless Chromium."""

import base64
import io
import os
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from centroids.datasets import make_customers
from centroids.evaluate.choose_k import choose_k
from centroids.evaluate.diagnose import diagnose
from centroids.report.html import render_report, report_text_content, write_report
from centroids.segments.segmentation import Segmentation
from centroids.store import SegmentStore

CHROMIUM_ENV = "CENTROIDS_TEST_CHROMIUM"


class _Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.sections, self.external = [], [], []
        self.headings, self._heading = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and not value.startswith(("data:", "#")):
                self.external.append(value)
        if tag == "h2":
            self._heading = ""

    def handle_data(self, data):
        if self._heading is not None:
            self._heading += data

    def handle_endtag(self, tag):
        if tag == "h2" and self._heading is not None:
            self.headings.append(self._heading.strip())
            self._heading = None


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    customers = make_customers(2_500, missing_rate=0.002, random_state=3)
    columns = [c for c in customers.columns if c != "customer_id"]
    first = Segmentation(5, columns=columns, random_state=0).fit(customers)
    store = SegmentStore(f"sqlite:///{root / 'segments.db'}")
    store.save(first)
    store.record_assignments(customers, key_column="customer_id")
    second = Segmentation(5, columns=columns, random_state=1).fit(customers.sample(frac=1.0))
    version = store.save(second)
    store.record_assignments(customers, key_column="customer_id")
    drift = store.drift(1, 2)
    store.close()
    whole = second.preparation_.complete_rows(customers)
    Z = second.transform(customers.loc[whole])
    choice = choose_k(Z, range(2, 8), random_state=0, n_references=2, n_stability=1)
    diagnosis = diagnose(Z, second.model_, second.preparation_.model_feature_names_, random_state=0)
    path = write_report(
        root / "report.html",
        second,
        customers,
        choice=choice,
        diagnosis=diagnosis,
        version=version,
        drift=drift,
        source="customers.csv",
    )
    return path, second


def test_report_is_one_self_contained_file(report):
    path, segmentation = report
    text = path.read_text()
    structure = _Structure()
    structure.feed(text)
    assert structure.external == []  # nothing fetched from anywhere
    assert structure.sections == [
        "summary",
        "segments",
        "k-selection",
        "scatter",
        "profiles",
        "sizes",
        "silhouette",
        "diagnostics",
        "drift",
    ]
    assert len(structure.images) == 5
    for image in structure.images:
        assert image["alt"]
        png = base64.b64decode(image["src"].split(",", 1)[1])
        with Image.open(io.BytesIO(png)) as decoded:
            assert decoded.format == "PNG"
            assert (decoded.width, decoded.height) == (int(image["width"]), int(image["height"]))
    visible = report_text_content(text)
    for name in segmentation.names_:
        assert name in visible
    assert "Drift since version 1" in visible
    assert "changed segment" in visible


def test_user_text_is_escaped(report):
    _, segmentation = report
    customers = make_customers(500, random_state=0)
    names = [f"<script>alert({i})</script>" for i in range(5)]
    text = render_report(segmentation, customers, segment_names=names, title="<b>t</b>")
    assert "<script>alert" not in text and "&lt;script&gt;alert(0)" in text
    assert "<b>t</b>" not in text


def test_report_checks_its_segment_lists(report):
    _, segmentation = report
    with pytest.raises(ValueError, match="one entry per segment"):
        render_report(segmentation, make_customers(100), segment_ids=[1, 2])


def _chromium():
    wanted = os.environ.get(CHROMIUM_ENV)
    path = wanted or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip(
            f"headless Chromium not found: install Debian's chromium package (.ci/run does) "
            f"or set {CHROMIUM_ENV} to its path"
        )
    if wanted and not os.path.exists(wanted):
        pytest.fail(f"{CHROMIUM_ENV}={wanted} does not exist")
    return path


@pytest.mark.parametrize("width", [1280, 700])
def test_report_renders_in_chromium_with_every_image_and_nothing_overflowing(
    report, tmp_path, width
):
    chromium = _chromium()
    playwright = pytest.importorskip("playwright.sync_api", reason="the dev extra has playwright")
    path, _ = report
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.complete, i.naturalWidth,"
                " i.getBoundingClientRect().right])"
            )
            overflow = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            clipped = page.evaluate(
                "Array.from(document.querySelectorAll('section, .card, .finding, h1, p'))"
                ".filter(e => e.scrollWidth > e.clientWidth + 1 && !e.closest('.table-wrap'))"
                ".map(e => e.tagName + '.' + e.className)"
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert len(images) == 5
    assert all(complete and natural > 0 for complete, natural, _ in images)
    assert all(right <= width for *_, right in images)
    assert overflow[0] <= overflow[1], "the page scrolls sideways"
    assert clipped == []
    with Image.open(tmp_path / "report.png") as shot:
        assert shot.width == width and shot.height > 2_000
        # not a blank page: the screenshot has many colours (the figures)
        assert len(np.unique(np.asarray(shot.convert("RGB")).reshape(-1, 3), axis=0)) > 100

"""report.html in a real browser: headless Chromium renders it, no image is broken, the headline
figures are on the page, and nothing is fetched from a network. The screenshot is kept in
results/test-artifacts/ (git-ignored) with the test output."""
from __future__ import annotations

import re
import shutil

import pytest

import sim
from conftest import ROOT, SCENARIOS, metric
from sim.summary.catalogue import entry

ARTIFACTS = ROOT / "results" / "test-artifacts"


def _driver():
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("no Chromium here: install Debian's chromium and chromium-driver packages (.ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,3000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def test_report_renders_in_headless_chromium(tmp_path):
    r = sim.run(SCENARIOS / "plain_binary.yaml", tmp_path / "run", replicates=300, seed=3)
    page = r.out / "report.html"
    text = page.read_text(encoding="utf-8")
    # Self-contained: every image inline, nothing to fetch.
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    assert text.count('src="data:image/png;base64,') >= 3
    driver = _driver()
    try:
        driver.get(page.as_uri())
        images = driver.execute_script("return document.images.length")
        broken = driver.execute_script(
            "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length")
        body = driver.find_element("tag name", "body").text
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "report.png"))
    finally:
        driver.quit()
    assert images >= 3 and broken == 0
    power, exact = metric(r.summary, "power"), metric(r.summary, "exact_power_plain_binomial")
    assert f"{power['estimate']:.3f}" in body and f"{power['mcse']:.4f}" in body
    # The deterministic reference is shown in the catalogue's own format (no MCSE to round to).
    assert entry("exact_power_plain_binomial").format(exact["estimate"]) in body
    assert "seed 3" in body and "Power of the DCR comparison" in body
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000

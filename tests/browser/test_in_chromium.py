"""The pages a person opens, in a real browser (issue 12 item 7): headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium, on `therapy-kg serve`. Each page must work, and the browser's own
request log (Chrome's performance log) must show no request leaving this server."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.served import Served, served

pytestmark = pytest.mark.slow
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    if os.environ.get("CI"):  # CI installs them (.ci/run): a missing browser there is a failure, not a skip
        raise RuntimeError("chromium and chromium-driver are needed: apt-get install chromium chromium-driver")
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402  # only once the browser is known to be there
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ready  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT_S = 60
#: axe-core, vendored (tests/data/axe-core: its version and licence beside it)
AXE = Path(__file__).parents[1] / "data" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with served() as running:
        yield running


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def requested(driver: webdriver.Chrome) -> list[str]:
    """Every URL the page sent a request to so far, from the browser's network log: those the page's
    Content-Security-Policy blocked in the browser are left out (they were never sent)."""
    urls: dict[str, str] = {}
    blocked = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason") == "csp":
            blocked.add(params["requestId"])
    return [url for request, url in urls.items() if request not in blocked]


#: Serious and critical violations inside the vendored widgets (YASGUI, Swagger UI, ReDoc), by page, as axe-core
#: 4.14 finds them: roles and labels of YASGUI's tabs, editor and page-size select; Swagger UI's method badges
#: (contrast) and nested controls; ReDoc's code spans (contrast) and unlabelled content-type selects. This project
#: does not patch the widgets; the page around each one must have none, and a rule not listed here fails.
KNOWN_IN_WIDGETS = {
    "/sparql": {
        "aria-required-children",
        "aria-valid-attr-value",
        "color-contrast",
        "label",
        "scrollable-region-focusable",
        "select-name",
    },
    "/docs": {"color-contrast", "nested-interactive"},
    "/redoc": {"color-contrast", "select-name"},
}
WIDGETS = {"/sparql": "#yasgui", "/docs": "#swagger-ui", "/redoc": "redoc"}


def serious_violations(driver: webdriver.Chrome, exclude: str | None = None) -> dict[str, list[str]]:
    """The serious and critical accessibility violations axe-core finds on the page as it is now (rule → the
    elements), leaving out the part `exclude` selects."""
    driver.set_script_timeout(WAIT_S)
    driver.execute_script(AXE.read_text())
    context = {"exclude": [[exclude]]} if exclude else {"include": [["html"]]}
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(arguments[0], {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(' '))])));",
        context,
    )
    return {rule: nodes[:3] for rule, impact, nodes in found if impact in ("serious", "critical")}


def assert_accessible(driver: webdriver.Chrome, page: str) -> None:
    assert serious_violations(driver, exclude=WIDGETS[page]) == {}  # the page around the widget: none
    inside = serious_violations(driver)
    assert set(inside) <= KNOWN_IN_WIDGETS[page], {r: n for r, n in inside.items() if r not in KNOWN_IN_WIDGETS[page]}


def assert_stayed_here(urls: list[str], base: str) -> None:
    assert urls, "the browser's request log is empty"
    elsewhere = [u for u in urls if not u.startswith((base + "/", "data:", "blob:"))]
    assert not elsewhere, elsewhere


def test_the_sparql_editor_runs_a_query_and_shows_its_rows(server, browser) -> None:
    browser.get(f"{server.base}/sparql")
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".yasqe .CodeMirror")))
    tabs = [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".tabsList .tab")]
    assert "therapy-ladder" in " ".join(tabs)
    browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    rows = wait.until(ready.presence_of_all_elements_located((By.CSS_SELECTOR, ".yasr table tbody tr")))
    assert len(rows) > 1 and "tkg:" in browser.find_element(By.CSS_SELECTOR, ".yasr table").text
    assert_stayed_here(requested(browser), server.base)
    assert_accessible(browser, "/sparql")


COUNT_QUERY = """PREFIX tkg: <https://w3id.org/therapy-kg/>
SELECT ?kind (COUNT(?statement) AS ?statements) WHERE { ?statement tkg:claimText ?claim ; a ?kind .
  FILTER (STRSTARTS(STR(?kind), STR(tkg:))) } GROUP BY ?kind ORDER BY ?kind"""


def test_the_sparql_editor_charts_a_count(server, browser) -> None:
    """A result with a number column is offered as a bar chart (Chart.js, vendored), drawn here."""
    browser.get(f"{server.base}/sparql")
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".yasqe .CodeMirror")))
    browser.execute_script(
        "document.querySelector('.tab-panel.active .CodeMirror, .CodeMirror').CodeMirror.setValue(arguments[0])",
        COUNT_QUERY,
    )
    browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    wait.until(ready.presence_of_all_elements_located((By.CSS_SELECTOR, ".yasr table tbody tr")))
    chart_button = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".yasr .select_chart")))
    chart_button.click()
    canvas = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".yasr .tkg-chart canvas")))
    drawn = browser.execute_script(
        "var c = Chart.getChart(arguments[0]); return c ? [c.data.labels, c.data.datasets[0].data] : null", canvas
    )
    assert drawn is not None, "no chart was drawn on the canvas"
    labels, values = drawn
    assert "tkg:Recommendation" in labels and all(isinstance(v, int) and v > 0 for v in values)
    assert canvas.get_attribute("role") == "img" and "statements by kind" in canvas.get_attribute("aria-label")
    assert_stayed_here(requested(browser), server.base)


@pytest.mark.parametrize(("page", "shown"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_the_api_documentation_renders_offline(server, browser, page, shown) -> None:
    browser.get(f"{server.base}{page}")
    title = WebDriverWait(browser, WAIT_S).until(ready.visibility_of_element_located((By.CSS_SELECTOR, shown)))
    assert "therapy-kg" in title.text
    assert_stayed_here(requested(browser), server.base)
    assert_accessible(browser, page)


def test_a_term_page_renders_its_statements_and_passes_the_accessibility_check(server, browser) -> None:
    browser.get(f"{server.base}/terms/Spasticity")
    heading = WebDriverWait(browser, WAIT_S).until(ready.visibility_of_element_located((By.TAG_NAME, "h1")))
    assert heading.text == "spasticity"
    assert len(browser.find_elements(By.CSS_SELECTOR, "article blockquote")) > 3
    drawing = browser.find_element(By.CSS_SELECTOR, "figure img")
    WebDriverWait(browser, WAIT_S).until(lambda _: browser.execute_script("return arguments[0].complete", drawing))
    assert browser.execute_script("return arguments[0].naturalWidth", drawing) > 100  # the ladder's SVG rendered
    assert_stayed_here(requested(browser), server.base)
    assert serious_violations(browser) == {}  # this project's own page: no known exceptions

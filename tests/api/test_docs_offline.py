"""`/docs` and `/redoc` work offline (issue 12 item 1): Swagger UI and ReDoc come from fastapi-offline's
package, served by this server; the pages name no other origin, and everything they load is here."""

from __future__ import annotations

import re

import pytest

#: What a page loads: the URL of each src and href attribute.
_LOADED = re.compile(r'(?:src|href)="([^"]*)"')


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_the_documentation_pages_load_everything_from_this_server(client, page, script) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    loaded = _LOADED.findall(response.text)
    assert any(url.endswith(script) for url in loaded)
    for url in loaded:
        assert url.startswith("/") and not url.startswith("//"), url  # this server, never a CDN
        asset = client.get(url)
        assert asset.status_code == 200 and asset.content, url
    assert "https://" not in response.text and "http://" not in response.text
    assert "fonts.googleapis" not in response.text


def test_swagger_ui_asks_no_validator_and_reads_this_servers_openapi(client) -> None:
    text = client.get("/docs").text
    assert 'data-openapi="/openapi.json"' in text and '<html lang="en">' in text and "<main" in text
    assert "<script>" not in text  # started by a script file: the page policy runs no inline script
    start = client.get("/page-assets/swagger-init.js").text
    assert "validatorUrl: null" in start  # Swagger UI's default asks validator.swagger.io about the API
    assert client.get("/openapi.json").json()["info"]["title"] == "therapy-kg"


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/sparql"])
def test_every_page_tells_the_browser_to_load_nothing_from_another_origin(client, page) -> None:
    """ReDoc's bundle shows a logo from cdn.redoc.ly whatever it is told: the page's policy blocks it."""
    response = client.get(page, headers={"Accept": "text/html"})
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    for directive in ("default-src", "img-src", "connect-src", "script-src", "style-src", "font-src"):
        assert policy[directive].split()[0] == "'self'" and "http" not in policy[directive], directive
    assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'self'"  # no inline script


def test_json_answers_carry_no_page_policy(client) -> None:
    assert "content-security-policy" not in client.get("/health").headers

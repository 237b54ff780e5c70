"""/docs: interactive API docs from the installed swagger-ui-bundle, nothing from the internet."""

from __future__ import annotations

import re


def test_docs_page_loads_and_references_only_local_urls(client):
    r = client.get("/docs")
    assert r.status_code == 200
    html = r.text
    assert "SwaggerUIBundle" in html and "/openapi.json" in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert urls, html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "http://" not in html and "https://" not in html
    csp = r.headers["content-security-policy"]
    assert "'sha256-" in csp and "http" not in csp
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100
    assert client.get("/docs/assets/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/openapi.json").json()["paths"]["/api/v1/claims"]


def test_docs_serves_only_the_listed_assets(client):
    assert client.get("/docs/assets/..%2F..%2F__init__.py").status_code == 404
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_every_schema_has_its_own_name(client) -> None:
    """Two models of one name in different modules make FastAPI publish module paths
    (`everymetre__linkage__api__ReviewIn`) that integrators would code against: names stay unique."""
    names = client.get("/openapi.json").json()["components"]["schemas"]
    assert not [n for n in names if "__" in n and not n.startswith("Body_")]

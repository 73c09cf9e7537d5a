"""The committed web app build (frontend/dist) is the one its sources make, its typed client
matches the API, and Django serves it at /app/.

A stale build can never ship: after changing anything under frontend/ (or the API schema),
run ``python3 dev.py build-web`` and commit frontend/dist with the sources.
"""

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
DIST = FRONTEND / "dist"
REBUILD = "run `python3 dev.py build-web` and commit frontend/ (sources and dist)"
FIRST_PAGE_BUDGET_GZIP = 250 * 1024


def source_files() -> list[str]:
    """frontend/build_sources.txt's entries, folders walked: as scripts/stamp.mjs does."""
    entries = [
        line.strip()
        for line in (FRONTEND / "build_sources.txt").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    files = []
    for entry in entries:
        path = FRONTEND / entry
        if path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file()]
        else:
            files.append(path)
    return sorted(p.relative_to(FRONTEND).as_posix() for p in files)


def sources_digest() -> str:
    digest = hashlib.sha256()
    for name in source_files():
        digest.update(name.encode() + b"\0")
        digest.update((FRONTEND / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def first_page_assets() -> list[Path]:
    html = (DIST / "index.html").read_text()
    names = re.findall(r'(?:src|href)="/static/app/([^"]+)"', html)
    return [DIST / name for name in names]


def test_the_build_is_made_from_the_committed_sources():
    stamp = json.loads((DIST / "build-stamp.json").read_text())
    assert stamp["sources"] == sources_digest(), f"frontend/dist is stale: {REBUILD}"


def test_the_typed_client_is_generated_from_the_current_api_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    current = json.loads(OpenApiJsonRenderer().render(schema))
    committed = json.loads((FRONTEND / "src" / "api" / "openapi.json").read_text())
    assert committed == current, f"the API schema changed since the web app was built: {REBUILD}"


def test_the_first_page_loads_under_its_size_budget():
    assets = first_page_assets()
    assert any(a.suffix == ".js" for a in assets), "index.html loads no script"
    assert all(a.exists() for a in assets), f"index.html names missing files: {REBUILD}"
    size = sum(len(gzip.compress(a.read_bytes(), 9)) for a in assets)
    assert size < FIRST_PAGE_BUDGET_GZIP, f"first page {size / 1024:.0f} KB gzipped"


@pytest.mark.parametrize("path", ["/app/", "/app/campaigns/42", "/app/accounts/demo"])
def test_every_app_path_serves_the_app_page(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b'<div id="root"></div>' in response.content
    assert response["Cache-Control"] == "no-cache"
    assert "csrftoken" in response.cookies


def test_the_root_redirects_to_the_app(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/app/"


def test_the_app_assets_are_static_files():
    for asset in first_page_assets():
        found = finders.find(f"app/{asset.relative_to(DIST).as_posix()}")
        assert found and Path(found).read_bytes() == asset.read_bytes()

"""The API documentation works on a network without internet: every asset is ours."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from server.app import create_app
from tests.conftest import app_settings, make_app

# Any absolute URL in a page would make the browser leave the origin.
ABSOLUTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_docs_pages_load_only_local_assets() -> None:
    ledger = make_app("memory://")
    with TestClient(create_app(app_settings("memory://"), ledger=ledger)) as client:
        for page in ("/docs", "/redoc"):
            r = client.get(page)  # no token: the documentation is public
            assert r.status_code == 200, page
            assert ABSOLUTE.search(r.text) is None, f"{page} loads from another origin"
            assets = re.findall(r"""(?:src|href)\s*=\s*["'](/docs/static/[^"']+)""", r.text)
            assert assets, f"{page} names no local asset"
            for asset in assets:
                got = client.get(asset)
                assert got.status_code == 200, asset
                assert len(got.content) > 1000, asset  # the real script or stylesheet
        assert client.post("/docs/static/swagger-ui.css").status_code == 403
    ledger.close()

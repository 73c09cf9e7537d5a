"""What every /api/v1/batches endpoint shares: credentials."""

import pytest

# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/batches"),
        ("post", "/api/v1/batches"),
        ("post", "/api/v1/batches/excel/preview"),
        ("post", "/api/v1/batches/excel/create"),
        ("get", "/api/v1/batches/batch-x"),
        ("patch", "/api/v1/batches/batch-x"),
        ("post", "/api/v1/batches/batch-x/cancel"),
        ("get", "/api/v1/batches/batch-x/status"),
        ("get", "/api/v1/batches/batch-x/jobs"),
        ("get", "/api/v1/batches/batch-x/logs"),
    ],
)
def test_every_endpoint_requires_credentials(anon_api, db, method, path):
    response = getattr(anon_api, method)(path)
    assert response.status_code == 401
    assert "detail" in response.json()

"""The OpenAPI schema documents every /api/v1/batches endpoint."""

import json

# --- control ---------------------------------------------------------------------------------


def test_schema_documents_every_endpoint(api_operator):
    response = api_operator.get("/api/schema/?format=json")
    paths = json.loads(response.content)["paths"]
    for path in (
        "/api/v1/batches",
        "/api/v1/batches/excel/preview",
        "/api/v1/batches/excel/create",
        "/api/v1/batches/{batch_id}",
        "/api/v1/batches/{batch_id}/cancel",
        "/api/v1/batches/{batch_id}/status",
        "/api/v1/batches/{batch_id}/jobs",
        "/api/v1/batches/{batch_id}/logs",
    ):
        assert path in paths, path
    upload = paths["/api/v1/batches/excel/create"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload

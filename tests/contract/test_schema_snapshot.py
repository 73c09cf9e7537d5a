"""The committed OpenAPI schema (tests/contract/schema_snapshot.json) is the contract a typed
client is generated from: this test fails when a path, an operation, a component or one of its
properties is renamed or removed. Additions are allowed. After an intended change, refresh it:

    DJANGO_SETTINGS_MODULE=callcenter.settings.test .venv/bin/python manage.py spectacular \\
        --format openapi-json --file tests/contract/schema_snapshot.json
"""

import json
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

SNAPSHOT = Path(__file__).parent / "schema_snapshot.json"


def names(schema: dict) -> set[str]:
    """Every path + method, component, and property of a component (recursively)."""
    found = {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops}

    def walk(prefix: str, node):
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                found.add(f"{prefix}.{key}")
                walk(f"{prefix}.{key}", value)
            if isinstance(node.get("items"), dict):
                walk(f"{prefix}[]", node["items"])

    for name, component in schema.get("components", {}).get("schemas", {}).items():
        found.add(name)
        walk(name, component)
    return found


def test_no_field_renamed_or_removed_since_the_snapshot():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    current = json.loads(OpenApiJsonRenderer().render(schema))
    missing = names(json.loads(SNAPSHOT.read_text())) - names(current)
    assert not missing, f"Renamed or removed vs the snapshot: {sorted(missing)}"

"""The OpenAPI document's links lead to operations that exist, with parameters they take."""
from __future__ import annotations

from gateway.docs import build_spec


def test_every_link_names_a_real_operation_and_its_path_parameter():
    document = build_spec("/api/v1")
    operations = {op["operationId"]: op for path in document["paths"].values()
                  for op in path.values()}
    links = [link for op in operations.values() for answer in op["responses"].values()
             for link in answer.get("links", {}).values()]
    assert len(links) >= 10
    for link in links:
        target = operations[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) <= names, link

"""The OpenAPI document is valid OpenAPI 3, lists every route, and the docs page serves."""
import pytest
from openapi_spec_validator import validate

from gateway.app import create_app
from gateway.routes import ROUTES
from tests.conftest import make_config


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    config = make_config(tmp_path_factory.mktemp("var"), "amqp://guest:guest@127.0.0.1:1/")
    return create_app(config).test_client()


def test_document_is_valid_openapi_3_with_every_route(client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    for route in ROUTES:
        operation = document["paths"]["/api/v1" + route.openapi_path][route.method.lower()]
        assert str(route.status) in operation["responses"]
        assert ("security" in operation) == route.auth


def test_errors_are_documented_with_the_one_error_shape(client):
    document = client.get("/api/v1/openapi.json").json
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert {"401", "422", "423", "429", "503"} <= set(login["responses"])
    schema = login["responses"]["422"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorBody"}


def test_browsable_page_and_its_assets_work_offline(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"/api/v1/openapi.json" in page.data
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js"):
        assert client.get(f"/api/v1/docs/static/{asset}").status_code == 200


def test_unknown_path_and_method_answer_json(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = client.get("/api/v1/auth/login")
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"


def test_body_over_the_limit_is_413(client):
    big = client.post("/api/v1/auth/login", data="x" * 70000, content_type="application/json")
    assert big.status_code == 413 and big.json["error"]["code"] == "request_entity_too_large"


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_json_answer_has_a_typed_schema_and_the_main_ones_an_example(client):
    document = client.get("/api/v1/openapi.json").json
    for route in ROUTES:
        if route.status == 204 or route.download:
            continue
        operation = document["paths"]["/api/v1" + route.openapi_path][route.method.lower()]
        body = operation["responses"][str(route.status)]["content"]["application/json"]
        schema = _resolve(document, body["schema"])
        if schema.get("type") == "array":
            schema = _resolve(document, schema["items"])
        # an object whose fields are named and typed, most of them always there
        assert schema.get("properties") and schema.get("required"), route.endpoint
        assert all(p.keys() & {"type", "$ref", "allOf", "anyOf"}
                   for p in schema["properties"].values()), route.endpoint
    for path, method in (("/auth/login", "post"), ("/accounts", "get"),
                         ("/accounts/{account_id}/readings", "post"),
                         ("/accounts/{account_id}/debt", "get"), ("/payments", "post")):
        responses = document["paths"]["/api/v1" + path][method]["responses"]
        success = next(v for k, v in responses.items() if k.startswith("2"))
        assert success["content"]["application/json"]["example"], path


def test_a_profile_tab_body_is_one_of_the_three_tabs(client):
    document = client.get("/api/v1/openapi.json").json
    body = document["paths"]["/api/v1/profile/{tab}"]["put"]["requestBody"]
    tabs = [_resolve(document, s) for s in
            body["content"]["application/json"]["schema"]["oneOf"]]
    assert [sorted(t["properties"])[:2] for t in tabs] == [
        ["birth_date", "citizenship"], ["birth_place", "household_size"],
        ["notify_email", "notify_sms"]]


def test_growing_lists_take_limit_and_cursor_and_answer_items_and_next(client):
    document = client.get("/api/v1/openapi.json").json
    for path in ("/notices", "/payments/history"):
        operation = document["paths"]["/api/v1" + path]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"limit", "cursor"} <= names and not names & {"before_id", "page", "per_page"}
        answer = _resolve(document, operation["responses"]["200"]["content"][
            "application/json"]["schema"])
        assert {"items", "next"} <= set(answer["required"])
        assert answer["properties"]["next"]["nullable"] is True

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

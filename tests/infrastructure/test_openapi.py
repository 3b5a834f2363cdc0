"""docs/openapi.json is what the handlers describe, and the template routes exactly the handlers' routes."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from openapi_document import DOCUMENT, HttpFunction, describe, document, http_functions, render, routes_of
from referrals_local.template import REPO_ROOT

pytestmark = pytest.mark.infrastructure


def test_the_committed_document_is_what_the_handlers_describe() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "docs/openapi.json drifted: run `make openapi`"


def test_the_document_is_valid_openapi_with_the_error_body_and_api_key() -> None:
    described = document()
    validate(described)
    assert described["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert set(described["components"]["schemas"]["Error"]["properties"]) == {"error"}


@pytest.mark.parametrize("function", http_functions(), ids=lambda function: function.logical_id)
def test_the_template_routes_exactly_the_handlers_routes(function: HttpFunction) -> None:
    handled = routes_of(describe(function))
    assert function.routes - handled == set(), f"routed by the template, not by {function.module}"
    assert handled - function.routes == set(), f"routed by {function.module}, not by the template"


def test_the_api_function_serves_the_committed_document() -> None:
    served = REPO_ROOT / "functions" / "api" / "openapi.json"
    assert served.resolve() == DOCUMENT.resolve()
    assert json.loads(served.read_text(encoding="utf-8"))["paths"]

"""docs/openapi.json: one OpenAPI document for the whole HTTP API, generated from the handlers.

Every function of template.yaml with `HttpApi` events is a part of the API: its handler module's
resolver (`app`) describes its routes from the same typed parameters it validates requests with; a
handler routed by hand (inbound_webhook, admin) by its route table (`ROUTES`, web/routes.py) and the records
it parses requests into (their msgspec JSON schema); a plain handler without either (track_click) by a
small hand-kept path item below. The paths are merged into one document, which the api function serves
at GET /v1/openapi.json.

    python tools/openapi_document.py           # (re)write docs/openapi.json (`make openapi`)
    python tools/openapi_document.py --check   # exit 1 if docs/openapi.json is not what this makes
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from referrals_local.template import REPO_ROOT, Template, load_template, resources_of_type

DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
TITLE = "referral-engine"
VERSION = "1"
DESCRIPTION = (
    "The HTTP API of a self-hosted referral engine: the server API under /v1 (API-key authenticated), "
    "the admin API under /v1/admin (IAM SigV4 on AWS, an admin-scoped API key otherwise), "
    "referral links (/r/{code}) and inbound webhooks (/hooks/...). Every 4xx answer is an `Error`."
)

SCHEMA_REF = "#/components/schemas/{name}"
# Functions whose handler has no resolver nor route table describe their routes here, by handler module.
_CODE_PARAMETER = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "A participant's referral code.",
}
_TO_LANDING = {
    "302": {
        "description": "To the landing URL; sets the `ref` cookie. An unknown or malformed code: to the "
        "fallback page (the `FallbackUrl` parameter, else `/r`)."
    },
}
PLAIN_HANDLERS: dict[str, dict[str, Any]] = {
    "track_click": {
        "/r": {
            "get": {
                "summary": "The page an unknown referral link lands on",
                "description": "A static HTML page without any campaign (docs/adr/0023).",
                "operationId": "track_click_r_get",
                "tags": ["links"],
                "responses": {"200": {"description": "The page (text/html)."}},
            }
        },
        "/r/{code}": {
            "head": {
                "summary": "Check a referral link",
                "description": "Answered as GET is, without a body, and never counted.",
                "operationId": "track_click_r__code__head",
                "tags": ["links"],
                "parameters": [_CODE_PARAMETER],
                "responses": {
                    **_TO_LANDING,
                    "503": {"description": "The link's target could not be read (`unavailable`)."},
                },
            },
            "get": {
                "summary": "Follow a referral link",
                "description": "Counts the click, sets a first-party `ref` cookie (30 days) and "
                "redirects to the campaign's landing URL with `?ref=<code>`. The redirect does not depend "
                "on the count: a click that cannot be counted is still redirected (and metered). A known "
                "bot or link-preview fetcher is redirected but not counted; the same browser again within "
                "an hour (its `rc_<code>` cookie) is counted as a repeat click (docs/adr/0023).",
                "operationId": "track_click_r__code__get",
                "tags": ["links"],
                "parameters": [_CODE_PARAMETER],
                "responses": {
                    **_TO_LANDING,
                    "503": {
                        "description": "The link's target could not be read (`unavailable`): only when "
                        "DynamoDB can be neither written nor read; retry after `Retry-After` seconds.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            },
        },
    }
}


# OpenAPI links: what a created resource's answer leads to, by (method, path, status) → link name →
# (method, path, its parameters or request body as runtime expressions). Clients read them as
# documentation; schemathesis' stateful tests (tests/integration/test_fuzz_api.py) follow them.
Link = tuple[str, str, dict[str, Any]]


def _by_id(method: str, path: str) -> Link:
    """A link to the operation on the answer's resource: its one path parameter is the answer's `id`."""
    [parameter] = re.findall(r"\{(\w+)\}", path)
    return method, path, {parameter: "$response.body#/id"}


LINKS: dict[tuple[str, str, str], dict[str, Link]] = {
    ("POST", "/v1/campaigns", "201"): {
        "GetCampaign": _by_id("GET", "/v1/campaigns/{campaign_id}"),
        "EnrolAdvocate": _by_id("POST", "/v1/campaigns/{campaign_id}/advocates"),
        "ListReferrals": _by_id("GET", "/v1/campaigns/{campaign_id}/referrals"),
        "CreateConnection": _by_id("POST", "/v1/campaigns/{campaign_id}/connections"),
    },
    ("POST", "/v1/campaigns/{campaign_id}/advocates", "201"): {
        "FollowReferralLink": ("GET", "/r/{code}", {"code": "$response.body#/code"}),
        "SignUpFriend": (
            "POST",
            "/v1/referrals",
            {"requestBody": {"code": "$response.body#/code", "email": "friend@example.org"}},
        ),
    },
    ("POST", "/v1/referrals", "201"): {
        "GetReferral": _by_id("GET", "/v1/referrals/{referral_id}"),
        "QualifyReferral": _by_id("POST", "/v1/referrals/{referral_id}/qualify"),
        "ReverseReferral": _by_id("POST", "/v1/referrals/{referral_id}/reverse"),
    },
    ("POST", "/v1/campaigns/{campaign_id}/connections", "201"): {
        "GetConnection": _by_id("GET", "/v1/connections/{connection_id}"),
        "RotateSecret": _by_id("POST", "/v1/connections/{connection_id}/rotate-secret"),
        "DeleteConnection": _by_id("DELETE", "/v1/connections/{connection_id}"),
    },
    ("POST", "/v1/hooks/subscriptions", "201"): {
        "Unsubscribe": _by_id("DELETE", "/v1/hooks/subscriptions/{subscription_id}"),
    },
    ("POST", "/v1/admin/api-keys", "201"): {
        "RevokeApiKey": _by_id("DELETE", "/v1/admin/api-keys/{key_id}"),
    },
}


@dataclass(frozen=True)
class HttpFunction:
    logical_id: str
    module: str
    routes: frozenset[tuple[str, str]]  # (METHOD, /path/{param}) from the template's HttpApi events


def http_functions(template: Template | None = None) -> list[HttpFunction]:
    """The template's functions with HttpApi events, in template order."""
    functions = []
    resources = resources_of_type(template or load_template(), "AWS::Serverless::Function")
    for logical_id, resource in resources.items():
        properties = resource["Properties"]
        routes = frozenset(
            (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
            for event in properties.get("Events", {}).values()
            if event["Type"] == "HttpApi"
        )
        if routes:
            code_dir = str(REPO_ROOT / properties["CodeUri"])
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
            functions.append(HttpFunction(logical_id, properties["Handler"].rsplit(".", 1)[0], routes))
    return functions


def describe(function: HttpFunction) -> dict[str, Any]:
    """One function's part of the document (paths, components): its resolver's, its route table's or
    its hand-kept one."""
    from referral_engine.web.contract import SECURITY_SCHEMES

    if function.module in PLAIN_HANDLERS:
        return {"paths": PLAIN_HANDLERS[function.module]}
    module = importlib.import_module(function.module)
    if hasattr(module, "ROUTES"):
        return _described_routes(module)
    app = getattr(module, "app", None)
    if app is None:
        raise LookupError(f"{function.module} has no resolver `app`: describe it in PLAIN_HANDLERS")
    schema = app.get_openapi_schema(security_schemes=SECURITY_SCHEMES)
    described: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    query_fields = _query_model_fields(app)
    for item in described["paths"].values():
        for operation in item.values():
            fields = query_fields.get(operation["operationId"], {})
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in fields:
                    parameter["schema"] = fields[parameter["name"]]
    return described


def _query_model_fields(app: Any) -> dict[str, dict[str, Any]]:
    """operationId -> each field of its query model with its full JSON schema (Powertools documents a
    query model's fields by their bare type: no bounds, no enum)."""
    from pydantic import BaseModel

    fields: dict[str, dict[str, Any]] = {}
    for route in app._static_routes + app._dynamic_routes:
        for parameter in route.dependant.query_params:
            model = parameter.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                fields.setdefault(route.operation_id, {}).update(schema["properties"])
    return fields


def _described_routes(module: ModuleType) -> dict[str, Any]:
    """A hand-routed handler's paths from its `ROUTES` (and its `PATH_PARAMETERS` where a route has no
    record of them) and `TAGS`; the records its routes read are described by their msgspec JSON
    schema, those the paths refer to as components."""
    from msgspec.json import schema_components

    from referral_engine.web.routes import Route

    routes: list[Route] = module.ROUTES
    records = {
        record
        for route in routes
        for record in (route.query, route.body, route.path_parameters)
        if record is not None
    }
    _, schemas = schema_components(
        sorted(records, key=lambda record: record.__name__), ref_template=SCHEMA_REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {"tags": module.TAGS, "summary": route.summary}
        if route.description:
            operation["description"] = route.description
        # As Powertools names a resolver's operations.
        name = re.sub(r"\W", "_", f"{route.handle.__name__}{route.path}")
        operation["operationId"] = f"{name}_{route.method.lower()}"
        path_fields = (
            schemas[route.path_parameters.__name__]["properties"]
            if route.path_parameters
            else getattr(module, "PATH_PARAMETERS", {})
        )
        parameters = [
            _path_parameter(name, path_fields[name]) for name in re.findall(r"\{(\w+)\}", route.path)
        ]
        if route.query:
            fields = schemas[route.query.__name__]["properties"]
            parameters += [_query_parameter(name, schema) for name, schema in fields.items()]
        if parameters:
            operation["parameters"] = parameters
        if route.body:
            operation["requestBody"] = _request_body(route.body.__name__, required=route.body_required)
        elif route.request_body:
            operation["requestBody"] = dict(route.request_body)
        operation["responses"] = _responses(dict(route.answers), route.errors, route.answer_schema)
        if route.security is not None:
            operation["security"] = route.security
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {"paths": paths, "components": {"schemas": _referred(schemas, paths)}}


def _path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": schema["description"],
        "required": True,
        "schema": {"type": "string", **schema},
        "name": name,
        "in": "path",
    }


def _query_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    described = {"description": schema["description"]} if "description" in schema else {}
    return {**described, "required": False, "schema": schema, "name": name, "in": "query"}


def _request_body(record: str, *, required: bool) -> dict[str, Any]:
    """A JSON body of the record; one not required may be left out (or be empty)."""
    ref = {"$ref": SCHEMA_REF.format(name=record)}
    if required:
        return {"content": {"application/json": {"schema": ref}}, "required": True}
    return {"content": {"application/json": {"schema": {"anyOf": [ref, {"type": "null"}]}}}}


def _referred(schemas: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """The components that the paths refer to, and those they refer to in turn: a record read only as
    parameters is described inline, not as a component (whose name another function may use)."""
    referred: dict[str, Any] = {}
    text = json.dumps(paths)
    while True:
        found = {name for name in schemas if f'"{SCHEMA_REF.format(name=name)}"' in text} - set(referred)
        if not found:
            return dict(sorted(referred.items()))
        for name in found:
            referred[name] = schemas[name]
        text = json.dumps([schemas[name] for name in found])


def _responses(success: dict[int, str], errors: tuple[int, ...], body: str | None = None) -> dict[str, Any]:
    """`contract.answers`, with its `Error` model as the reference the resolvers' documents use; the
    successes answer the `body` component when given."""
    from referral_engine.web.contract import answers

    documented = {}
    for status, answer in answers(success, *errors).items():
        content = answer["content"].get("application/json", {})
        if "model" in content:
            content = {"schema": {"$ref": SCHEMA_REF.format(name=content.pop("model").__name__)}}
            answer["content"]["application/json"] = content
        elif body is not None and status in success:
            answer["content"]["application/json"] = {"schema": {"$ref": SCHEMA_REF.format(name=body)}}
        documented[str(status)] = answer
    return documented


def routes_of(described: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation described."""
    return {(method.upper(), path) for path, item in described["paths"].items() for method in item}


def document() -> dict[str, Any]:
    """The whole API's document: every HTTP function's paths and components, merged."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    from referral_engine.web.contract import SECURITY_SCHEMES

    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes=SECURITY_SCHEMES,
        on_conflict="error",
    )
    for function in http_functions():
        merge.add_schema(describe(function))
    merged = merge.get_openapi_schema()
    _document_idempotency_keys(merged)
    _document_links(merged)
    schemas = merged["components"]["schemas"]
    # Powertools adds its own 422 bodies to every resolver's components; our 4xx answers are all `Error`.
    for powertools_own in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(powertools_own, None)
    merged["components"]["schemas"] = dict(sorted(schemas.items()))
    return merged


def _document_idempotency_keys(merged: dict[str, Any]) -> None:
    """Every POST under /v1 honours `Idempotency-Key` (a middleware, so no route declares it)."""
    from referral_engine.web.idempotency import IDEMPOTENCY_KEY_HEADER, MAX_KEY_LENGTH

    parameter = {
        "name": IDEMPOTENCY_KEY_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": "Retrying with the same key returns the first answer (`Idempotent-Replayed: true`) "
        "for 24 hours; the same key with another request is a 422, while the first still runs a 409.",
    }
    for path, item in merged["paths"].items():
        if path.startswith("/v1/") and "post" in item:
            item["post"].setdefault("parameters", []).append(parameter)


def _document_links(merged: dict[str, Any]) -> None:
    """LINKS, each target named by its operationId."""
    paths = merged["paths"]
    for (method, path, status), links in LINKS.items():
        documented = {}
        for name, (target_method, target_path, given) in links.items():
            link: dict[str, Any] = {"operationId": paths[target_path][target_method.lower()]["operationId"]}
            parameters = {key: value for key, value in given.items() if key != "requestBody"}
            if parameters:
                link["parameters"] = parameters
            if "requestBody" in given:
                link["requestBody"] = given["requestBody"]
            documented[name] = link
        paths[path][method.lower()]["responses"][status]["links"] = documented


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is out of date")
    args = parser.parse_args(argv)
    rendered = render()
    if args.check:
        if DOCUMENT.read_text(encoding="utf-8") != rendered:
            print(f"{DOCUMENT.relative_to(REPO_ROOT)} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(rendered, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

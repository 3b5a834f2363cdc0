"""An API Gateway HTTP API resolver with the project's error mapping, shared by the HTTP functions."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from pydantic import ValidationError

from referral_engine.domain.errors import DomainError
from referral_engine.web.errors import error_body, status_for, validation_details
from referral_engine.web.request_ids import RequestIdResolver


def json_response(status: int, body: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def new_resolver(logger: Logger) -> APIGatewayHttpResolver:
    app = RequestIdResolver(logger)

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain_error(error: DomainError) -> Response[str]:
        status = status_for(error)
        logger.info("request refused", extra={"status": status, "error_code": error.code})
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return json_response(status, error_body(error.code, error.message), headers)

    @app.exception_handler(ValidationError)  # type: ignore[untyped-decorator]
    def _invalid(error: ValidationError) -> Response[str]:
        details = validation_details(error)
        logger.info("request invalid", extra={"status": 422, "fields": [d["field"] for d in details]})
        return json_response(422, error_body("validation_error", "the request is not valid", details=details))

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return json_response(404, error_body("not_found", "no such route"))

    return app


def base_url(configured: str, domain_name: str, stage: str | None) -> str:
    """The public URL of this API: configured (custom domain, local stack) or the request's own host."""
    if configured:
        return configured.rstrip("/")
    suffix = f"/{stage}" if stage and stage != "$default" else ""
    return f"https://{domain_name}{suffix}"

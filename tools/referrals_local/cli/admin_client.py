"""The admin use cases as the CLI reaches them: in-process through the product's admin service on the
local stack, and over `/v1/admin/...` signed with the operator's AWS credentials (SigV4) on a deployed
stack, where the admin function records the caller's IAM ARN as the actor. Both answer the admin
routes' JSON shapes (`referral_engine.web.admin_views`), so the CLI prints the same either way."""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from referral_engine.domain.errors import DomainError, NotFound
from referral_engine.domain.reviews import Decision, ReviewKind
from referral_engine.ports import ApiKeyScope
from referral_engine.services.admin_messages import QueueName
from referral_engine.web.admin_views import api_key_view, message_view, result_view
from referral_engine.web.paging import page_view
from referral_engine.web.review_views import bulk_view, detail_view, review_view
from referral_engine.wiring import Services
from referrals_local.outputs import StackNotFound

PAGE = 100


class AdminClient(Protocol):
    def messages(self, name: QueueName) -> list[dict[str, Any]]: ...
    def redrive(
        self, name: QueueName, message_id: str | None, reason: str | None
    ) -> list[dict[str, Any]]: ...
    def discard(self, name: QueueName, message_id: str, reason: str) -> dict[str, Any]: ...
    def create_key(self, name: str, scope: ApiKeyScope) -> dict[str, Any]: ...
    def keys(self) -> list[dict[str, Any]]: ...
    def revoke_key(self, key_id: str) -> dict[str, Any]: ...
    def reviews(self, query: dict[str, Any]) -> dict[str, Any]: ...
    def review(self, review_id: str) -> dict[str, Any]: ...
    def decide(self, review_ids: list[str], decision: str, reason: str) -> list[dict[str, Any]]:
        """One result per id, as the bulk route answers them (`status`, `review` or `error`)."""


class LocalAdmin:
    def __init__(self, services: Services, operator: str) -> None:
        self._services = services
        self._operator = operator

    def messages(self, name: QueueName) -> list[dict[str, Any]]:
        return [message_view(listed) for listed in self._services.admin_queues.inspect((name,))]

    def redrive(self, name: QueueName, message_id: str | None, reason: str | None) -> list[dict[str, Any]]:
        results = self._services.admin_queues.redrive(
            name, message_id, operator=self._operator, reason=reason
        )
        return [result_view(result) for result in results]

    def discard(self, name: QueueName, message_id: str, reason: str) -> dict[str, Any]:
        return result_view(
            self._services.admin_queues.discard(name, message_id, operator=self._operator, reason=reason)
        )

    def create_key(self, name: str, scope: ApiKeyScope) -> dict[str, Any]:
        issued = self._services.api_keys.create(name, scope=scope, operator=self._operator)
        return api_key_view(issued.key, issued.secret)

    def keys(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self._services.api_keys.page(limit=PAGE, cursor=cursor)
            found.extend(api_key_view(key) for key in page.items)
            if not (cursor := page.next_cursor):
                return found

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return api_key_view(self._services.api_keys.revoke(key_id, operator=self._operator))

    def reviews(self, query: dict[str, Any]) -> dict[str, Any]:
        page = self._services.reviews.page(
            campaign_id=query.get("campaign_id"),
            kind=ReviewKind(query["kind"]) if query.get("kind") else None,
            reason=query.get("reason"),
            older_than_seconds=query.get("older_than"),
            limit=query.get("limit", 50),
            cursor=query.get("cursor"),
        )
        return page_view([review_view(item) for item in page.items], page.next_cursor)

    def review(self, review_id: str) -> dict[str, Any]:
        return detail_view(self._services.reviews.show(review_id))

    def decide(self, review_ids: list[str], decision: str, reason: str) -> list[dict[str, Any]]:
        outcomes = self._services.reviews.decide_many(
            review_ids, Decision(decision), reason=reason, operator=self._operator
        )
        results: list[dict[str, Any]] = bulk_view(outcomes)["results"]
        return results


class AdminRouteRefused(DomainError):
    """The deployed stack's admin route answered with an error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class HttpAdmin:
    """`/v1/admin/...` of a deployed stack, each request signed with SigV4 for `execute-api`."""

    def __init__(self, api_url: str, credentials: Any, region: str) -> None:
        self._base = api_url.rstrip("/") + "/v1/admin"
        self._credentials = credentials
        self._region = region

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import requests
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = self._base + path
        data = json.dumps(body) if body is not None else None
        request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
        SigV4Auth(self._credentials, "execute-api", self._region).add_auth(request)
        try:
            response = requests.request(method, url, headers=dict(request.headers), data=data, timeout=60)
        except requests.RequestException as unreachable:
            raise StackNotFound(
                f"cannot reach the stack's admin API at {self._base}: {unreachable}"
            ) from unreachable
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code < 400:
            return answer
        refusal = answer.get("error", {}) if isinstance(answer, dict) else {}
        message = refusal.get("message") or answer.get("message") or response.reason
        if response.status_code == 404 and refusal.get("code") == "not_found":
            raise NotFound(message)
        raise AdminRouteRefused(
            str(refusal.get("code", "refused")), f"{message} (HTTP {response.status_code})"
        )

    def _pages(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = self._call("GET", f"{path}?{urlencode(query)}")
            items.extend(page["items"])
            if not (cursor := page.get("next_cursor")):
                return items

    def messages(self, name: QueueName) -> list[dict[str, Any]]:
        return self._pages(f"/queues/{name}/messages")

    def redrive(self, name: QueueName, message_id: str | None, reason: str | None) -> list[dict[str, Any]]:
        body = {"reason": reason} if reason else {}
        if message_id is None:
            return list(self._call("POST", f"/queues/{name}/redrive", body)["results"])
        return [self._call("POST", f"/queues/{name}/messages/{quote(message_id, safe='')}/redrive", body)]

    def discard(self, name: QueueName, message_id: str, reason: str) -> dict[str, Any]:
        path = f"/queues/{name}/messages/{quote(message_id, safe='')}/discard"
        answer: dict[str, Any] = self._call("POST", path, {"reason": reason})
        return answer

    def create_key(self, name: str, scope: ApiKeyScope) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("POST", "/api-keys", {"name": name, "scope": scope})
        return answer

    def keys(self) -> list[dict[str, Any]]:
        return self._pages("/api-keys")

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("DELETE", f"/api-keys/{quote(key_id, safe='')}")
        return answer

    def reviews(self, query: dict[str, Any]) -> dict[str, Any]:
        given = {name: value for name, value in query.items() if value is not None}
        answer: dict[str, Any] = self._call("GET", f"/reviews?{urlencode(given)}")
        return answer

    def review(self, review_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", f"/reviews/{quote(review_id, safe='')}")
        return answer

    def decide(self, review_ids: list[str], decision: str, reason: str) -> list[dict[str, Any]]:
        body = {"decision": decision, "reason": reason, "review_ids": review_ids}
        return list(self._call("POST", "/reviews/decisions", body)["results"])

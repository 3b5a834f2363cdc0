"""Each function runs with its own role, enforced by the local AWS endpoint (ADR 0017): the whole e2e
suite passing is the proof that every role covers its function's calls; here, a permission taken
away fails the call as it would on AWS."""

from __future__ import annotations

from support import iam
from support.local_stack import RunningStack

CAMPAIGN = {
    "name": "Roles",
    "landing_url": "https://shop.example.com/",
    "reward": {"amount": "20.00", "currency": "USD"},
}


def test_a_permission_missing_from_a_role_fails_the_function_as_on_aws(local_stack: RunningStack) -> None:
    roles = iam.roles_file(local_stack.state_dir)
    as_sam_made_them = roles.read_text(encoding="utf-8")
    table = local_stack.outputs.table_name
    items_before = local_stack.client("dynamodb").scan(TableName=table)["Items"]
    try:
        iam.revoke(roles, "ApiFunction", "dynamodb:PutItem")
        response = local_stack.post("/v1/campaigns", CAMPAIGN)
        # DynamoDB refuses the write; the function raises; API Gateway answers for it, as on AWS.
        assert response.status_code == 500, response.text
        assert response.json() == {"message": "Internal Server Error"}
        function_log = (local_stack.state_dir / "logs" / "api.log").read_text(encoding="utf-8")
        assert "(AccessDeniedException) when calling the TransactWriteItems operation" in function_log
        assert "is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:" in function_log
        assert local_stack.client("dynamodb").scan(TableName=table)["Items"] == items_before
    finally:
        iam.write(roles, as_sam_made_them)
    assert local_stack.post("/v1/campaigns", CAMPAIGN).status_code == 201

"""The template loader and the create_table translation in tests/support/template.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from referrals_local.template import (
    TEMPLATE_PATH,
    load_template,
    resources_of_type,
    table_create_kwargs,
    time_to_live_kwargs,
)

pytestmark = pytest.mark.infrastructure

SHORT_FORMS = """
AWSTemplateFormatVersion: "2010-09-09"
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Thing:
    Type: AWS::SQS::Queue
    Condition: IsProd
    Properties:
      QueueName: !Sub "${AWS::StackName}-thing"
      Tags:
        - Key: arn
          Value: !GetAtt Table.StreamArn
        - Key: joined
          Value: !Join ["-", [a, !Ref AWS::Region]]
        - Key: picked
          Value: !If [IsProd, !Select [0, !GetAZs ""], !Base64 {"Fn::Sub": "x"}]
        - Key: long-form GetAtt
          Value: !GetAtt [Table, Arn]
        - Key: condition
          Value: !Condition IsProd
"""


def test_short_form_intrinsics_load_as_their_long_form(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SHORT_FORMS, encoding="utf-8")
    template = load_template(path)
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    queue = template["Resources"]["Thing"]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "${AWS::StackName}-thing"}
    assert [tag["Value"] for tag in queue["Tags"]] == [
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        {"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]},
        {"Fn::If": ["IsProd", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}, {"Fn::Base64": {"Fn::Sub": "x"}}]},
        {"Fn::GetAtt": ["Table", "Arn"]},
        {"Condition": "IsProd"},
    ]


def test_loader_agrees_with_cfn_lint_on_the_real_template() -> None:
    from cfnlint.decode import decode

    decoded, matches = decode(str(TEMPLATE_PATH))
    assert not matches
    assert json.loads(json.dumps(decoded)) == load_template()


def test_a_non_template_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not-a-template.yaml"
    path.write_text("just: a mapping\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a CloudFormation template"):
        load_template(path)


def test_resources_of_type() -> None:
    template = load_template()
    assert set(resources_of_type(template, "AWS::DynamoDB::Table")) == {"ReferralsTable"}
    assert resources_of_type(template, "AWS::No::Such") == {}


def test_table_create_kwargs_translate_the_table_definition() -> None:
    kwargs = table_create_kwargs(load_template(), table_name="referrals-test")
    assert kwargs["TableName"] == "referrals-test"
    assert kwargs["BillingMode"] == "PAY_PER_REQUEST"
    assert kwargs["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert [index["IndexName"] for index in kwargs["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    # Only what create_table accepts: TTL, PITR and SSE are not create_table arguments.
    assert set(kwargs) == {
        "TableName",
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "StreamSpecification",
    }


def test_table_name_defaults_to_the_logical_id() -> None:
    assert table_create_kwargs(load_template())["TableName"] == "ReferralsTable"


def test_kwargs_are_copies_not_views_of_the_template() -> None:
    template = load_template()
    kwargs = table_create_kwargs(template)
    kwargs["KeySchema"].clear()
    assert template["Resources"]["ReferralsTable"]["Properties"]["KeySchema"]


def test_time_to_live_kwargs() -> None:
    assert time_to_live_kwargs(load_template(), table_name="t") == {
        "TableName": "t",
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"},
    }


def _table_template(properties: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": properties}}}


def test_provisioned_tables_and_missing_ttl() -> None:
    template = _table_template(
        {
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        }
    )
    kwargs = table_create_kwargs(template, "T")
    assert kwargs["BillingMode"] == "PROVISIONED"
    assert kwargs["ProvisionedThroughput"] == {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    assert "StreamSpecification" not in kwargs
    assert time_to_live_kwargs(template, "T") is None


def test_intrinsics_and_wrong_resources_are_refused() -> None:
    template = _table_template(
        {
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": {"Ref": "BillingModeParameter"},
        }
    )
    with pytest.raises(ValueError, match="uses Ref"):
        table_create_kwargs(template, "T")
    with pytest.raises(KeyError, match="NoSuchTable"):
        table_create_kwargs(template, "NoSuchTable")
    with pytest.raises(ValueError, match="not an AWS::DynamoDB::Table"):
        table_create_kwargs(load_template(), "EventBus")


def test_moto_creates_the_table_from_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    template = load_template()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_kwargs(template, table_name="referrals"))
        ttl = time_to_live_kwargs(template, table_name="referrals")
        assert ttl is not None
        client.update_time_to_live(**ttl)
        table = client.describe_table(TableName="referrals")["Table"]
        assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert table["LatestStreamArn"]
        assert sorted(index["IndexName"] for index in table["GlobalSecondaryIndexes"]) == ["gsi1", "gsi2"]
        description = client.describe_time_to_live(TableName="referrals")["TimeToLiveDescription"]
        assert description == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}

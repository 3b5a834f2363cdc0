"""Reading template.yaml the way the local stack does: Globals merged, intrinsics resolved."""

from __future__ import annotations

from typing import Any

import pytest

from referrals_local.stack.filters import matches
from referrals_local.stack.model import Resolver, functions
from referrals_local.stack.rules import Schedule
from referrals_local.template import load_template


def test_functions_get_globals_merged_with_their_own_settings() -> None:
    specs = {spec.logical_id: spec for spec in functions(load_template(), "st")}
    qualify = specs["QualifyFunction"]
    assert qualify.name == "st-QualifyFunction"
    assert qualify.handler == "qualify.handler"
    assert qualify.timeout == 60  # its own, over the Globals' 10
    assert specs["ApiFunction"].timeout == 10
    assert {"TABLE_NAME", "EVENT_BUS_NAME", "EXCEPTIONS_QUEUE_URL"} <= set(qualify.environment)
    assert "EXCEPTIONS_QUEUE_URL" not in specs["ApiFunction"].environment
    assert qualify.layer_dirs[0].name == "common"
    assert {event.type for event in qualify.events} == {"DynamoDB"}


def test_intrinsics_resolve_against_local_resources() -> None:
    resolver = Resolver(
        "st", {"Stage": "dev"}, refs={"Queue": "http://q"}, attributes={("Table", "Arn"): "arn:t"}
    )
    assert resolver.resolve({"Ref": "Queue"}) == "http://q"
    assert resolver.resolve({"Fn::GetAtt": ["Table", "Arn"]}) == "arn:t"
    assert resolver.resolve({"Fn::GetAtt": "Table.Arn"}) == "arn:t"
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}-${Table.Arn}"}) == "st-dev-arn:t"
    assert resolver.resolve({"Fn::Sub": ["${X}!", {"X": {"Ref": "Queue"}}]}) == "http://q!"
    assert resolver.resolve({"Fn::Join": ["/", ["a", {"Ref": "Stage"}]]}) == "a/dev"
    with pytest.raises(KeyError, match="Nowhere"):
        resolver.resolve({"Ref": "Nowhere"})


def test_filter_patterns_match_exact_values_and_refuse_content_filters() -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["signal"]}}}}
    signal = {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "signal"}}}}
    assert matches(pattern, signal)
    assert not matches(pattern, {**signal, "eventName": "MODIFY"})
    assert not matches(pattern, {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "audit"}}}})
    assert not matches(pattern, {"eventName": "INSERT"})
    with pytest.raises(ValueError, match="content filters"):
        matches({"a": [{"prefix": "x"}]}, {"a": "xy"})


def test_the_release_schedule_runs_at_the_templates_rate_unless_capped_for_tests() -> None:
    [spec] = [s for s in functions(load_template(), "st") if s.logical_id == "ReleaseRewardsFunction"]
    [event] = spec.events
    invoker: Any = None  # never called: the schedules are not started

    assert Schedule(spec, event, invoker).period == 60
    assert Schedule(spec, event, invoker, at_most=0.5).period == 0.5
    assert Schedule(spec, event, invoker, at_most=600).period == 60

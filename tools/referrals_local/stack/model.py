"""What the local stack runs, read from template.yaml: functions (Globals merged), their events,
and CloudFormation intrinsics resolved against the resources created locally."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from referrals_local.template import REPO_ROOT, Template, resources_of_type

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Sub, Fn::Join and Fn::If against what exists locally."""

    stack_name: str
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)  # logical id → Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attr) → value

    def ref(self, name: str) -> str:
        if name == "AWS::StackName":
            return self.stack_name
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"nothing local answers Ref {name}")

    def get_att(self, name: str, attribute: str) -> str:
        try:
            return self.attributes[(name, attribute)]
        except KeyError:
            raise KeyError(f"nothing local answers Fn::GetAtt {name}.{attribute}") from None

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(self.resolve(item)) for item in items)
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, argument: str | list[Any]) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)


@dataclass(frozen=True)
class EventSpec:
    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, Any]  # unresolved; resolve with a Resolver once resources exist
    layer_dirs: tuple[Path, ...]
    log_format: str
    events: tuple[EventSpec, ...]
    event_invoke_config: dict[str, Any]

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}"

    @property
    def short_name(self) -> str:
        return self.code_dir.name


def _merged(globals_: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    merged = {**globals_, **properties}
    variables = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    merged["Environment"] = {"Variables": variables}
    return merged


def functions(template: Template, stack_name: str) -> list[FunctionSpec]:
    globals_ = template.get("Globals", {}).get("Function", {})
    layers = resources_of_type(template, "AWS::Serverless::LayerVersion")
    specs = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = _merged(globals_, resource.get("Properties", {}))
        layer_dirs = tuple(
            REPO_ROOT / layers[layer["Ref"]]["Properties"]["ContentUri"]
            for layer in properties.get("Layers", [])
            if isinstance(layer, dict) and layer.get("Ref") in layers
        )
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                name=f"{stack_name}-{logical_id}",
                code_dir=(REPO_ROOT / properties["CodeUri"]).resolve(),
                handler=properties["Handler"],
                timeout=int(properties.get("Timeout", 3)),
                memory=int(properties.get("MemorySize", 128)),
                environment=properties["Environment"]["Variables"],
                layer_dirs=layer_dirs,
                log_format=properties.get("LoggingConfig", {}).get("LogFormat", "Text"),
                events=tuple(
                    EventSpec(name, event["Type"], event.get("Properties", {}))
                    for name, event in properties.get("Events", {}).items()
                ),
                event_invoke_config=properties.get("EventInvokeConfig", {}),
            )
        )
    return specs


def parameter_defaults(template: Template) -> dict[str, str]:
    return {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }

"""The template as CloudFormation receives it: SAM's own translator (the `samtranslator` that `sam
deploy` runs, in .venv-sam) expands the Serverless resources into the roles, policies and event
source mappings it generates, so the local roles are SAM's, not a re-implementation of its rules.

The translation takes about three seconds; its result is kept next to the translator
(`.venv-sam/referrals-transformed/`, keyed by the template's content), so a stack starts without it
after the first time, and a reinstalled translator translates again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from referrals_local.template import REPO_ROOT, Template

SAM_VENV = REPO_ROOT / ".venv-sam"

# Run by .venv-sam's interpreter: the template (JSON) on stdin, the translated one on stdout. SAM
# validates CodeUri and ContentUri as S3 locations; `sam validate` stands in placeholders the same way.
# The managed policy map is empty: SAM then names AWS managed policies by their well-known ARNs.
_TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform
template = json.load(sys.stdin)
for resource in template["Resources"].values():
    properties = resource.get("Properties") or {}
    for key in ("CodeUri", "ContentUri"):
        if isinstance(properties.get(key), str):
            properties[key] = "s3://local-bucket/" + properties[key].strip("/")
class NoLookups:
    def load(self):
        return {}
json.dump(transform(template, {"AWS::Region": "us-east-1"}, NoLookups()), sys.stdout)
"""


class TranslatorMissing(RuntimeError):
    """The SAM translator is not installed: the message says how to install it."""


def transformed(template: Template, sam_venv: Path = SAM_VENV) -> Template:
    source = json.dumps(template, sort_keys=True)
    digest = hashlib.sha256((_TRANSLATE + source).encode()).hexdigest()[:24]
    cache = sam_venv / "referrals-transformed" / f"{digest}.json"
    if cache.is_file():
        kept: Template = json.loads(cache.read_text(encoding="utf-8"))
        return kept
    python = sam_venv / "bin" / "python"
    if not python.is_file():
        raise TranslatorMissing(f"local IAM needs SAM's translator ({python} is missing): run `make install`")
    completed = subprocess.run(  # noqa: S603 - the SAM venv's interpreter running our script
        [str(python), "-c", _TRANSLATE],
        input=source,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"SAM could not translate the template:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    cache.parent.mkdir(exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(completed.stdout, encoding="utf-8")
    partial.replace(cache)  # atomic: two stacks starting at once both write the same content
    return result

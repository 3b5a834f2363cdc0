"""What a function's cold start imports (bench/cold_start.py measures the time; this keeps the causes out).

- boto3 never: the clients come from a botocore session (adapters/aws.py); the boto3 package pulls in
  s3transfer, 20-30 ms of every cold start.
- pydantic not on the click path nor in announce_referrals (their budget has no room for it).
- Powertools' parser models never: `aws_lambda_powertools.utilities.batch` builds them when pydantic is
  already imported, so the batch functions import it before anything that imports pydantic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(
    path.name for path in (REPO / "functions").iterdir() if (path / f"{path.name}.py").is_file()
)
_PROBE = """
import json, sys
import {module}
print(json.dumps(sorted(sys.modules)))
"""


WITHOUT_PYDANTIC = ("track_click", "announce_referrals")


def imported_by(function: str) -> list[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "functions" / function), str(REPO / "layers" / "common")]),
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": "cold",
        "EVENT_BUS_NAME": "cold",
    }
    output = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE.format(module=function)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    imported: list[str] = json.loads(output.stdout)
    return imported


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_cold_start_imports_neither_boto3_nor_the_parser_models(function: str) -> None:
    imported = imported_by(function)

    assert not [name for name in imported if name.split(".")[0] in ("boto3", "s3transfer")]
    assert not [name for name in imported if name.startswith("aws_lambda_powertools.utilities.parser")]


@pytest.mark.parametrize("function", WITHOUT_PYDANTIC)
def test_the_lightest_functions_import_no_pydantic(function: str) -> None:
    assert "pydantic" not in imported_by(function)

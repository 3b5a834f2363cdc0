"""The domain and the services stay free of AWS: they load without boto3, and unit tests run offline."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"


def test_domain_and_services_do_not_import_boto3() -> None:
    code = (
        "import sys\n"
        "import referral_engine.ports, referral_engine.settings\n"
        "import referral_engine.domain.links, referral_engine.domain.milestone\n"
        "import referral_engine.domain.states\n"
        "import referral_engine.services.api_keys, referral_engine.services.campaigns\n"
        "import referral_engine.services.qualification, referral_engine.services.referrals\n"
        "import referral_engine.services.rewards, referral_engine.services.signals\n"
        "import referral_engine.domain.subscriptions, referral_engine.domain.events\n"
        "import referral_engine.services.subscriptions, referral_engine.adapters.http_delivery\n"
        "import referral_engine.services.connections, referral_engine.services.webhooks\n"
        "import referral_engine.vendors.hubspot, referral_engine.vendors.salesforce\n"
        "import referral_engine.vendors.pipedrive, referral_engine.vendors.zoho\n"
        "import referral_engine.vendors.intercom, referral_engine.vendors.stripe\n"
        "import referral_engine.vendors.automation\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore', 'moto'})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(LAYER)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_unit_tests_cannot_reach_the_network() -> None:
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("example.com", 443), timeout=1)
    with socket.socket() as raw, pytest.raises(RuntimeError, match="network"):
        raw.connect(("127.0.0.1", 9))

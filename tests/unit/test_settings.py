"""The functions' environment."""

from __future__ import annotations

import pytest

from referral_engine.settings import Settings, SettingsError


def test_reads_the_upper_case_variables_and_ignores_the_rest() -> None:
    settings = Settings.from_environ(
        {
            "TABLE_NAME": "referrals",
            "EVENT_BUS_NAME": "bus",
            "PUBLIC_BASE_URL": "https://r.example",
            "HOME": "/",
        }
    )
    assert settings == Settings(
        table_name="referrals",
        event_bus_name="bus",
        exceptions_queue_url="",
        public_base_url="https://r.example",
    )


@pytest.mark.parametrize("environ", [{}, {"TABLE_NAME": ""}, {"table_name": "referrals"}])
def test_a_missing_table_name_is_an_error(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="TABLE_NAME"):
        Settings.from_environ(environ)

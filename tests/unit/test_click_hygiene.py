"""The bot matcher against user agents as they arrive, and how a request on /r/{code} is counted."""

from __future__ import annotations

import pytest

from referral_engine.domain.bots import is_known_bot
from referral_engine.domain.click_hygiene import ClickKind, NotCounted, classify, repeat_cookie

LINK_PREVIEWS_AND_CRAWLERS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slackbot 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "WhatsApp/2.23.20.0 A",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
    "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
    "python-requests/2.32.3",
    "curl/8.5.0",
]
PEOPLE = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 "
    "Mobile Safari/537.36",
    # In-app browsers: a person who tapped the link inside the app, not the app's preview fetcher.
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.109;FBBV/600000000;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;"
    "FBSV/17.5;FBSS/3;FBCR/;FBID/phone;FBLC/en_GB;FBOP/5]",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 Instagram 357.0.0.25.101 Android",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.0.0",
]


@pytest.mark.parametrize("user_agent", LINK_PREVIEWS_AND_CRAWLERS)
def test_crawlers_link_previews_and_http_libraries_are_known_bots(user_agent: str) -> None:
    assert is_known_bot(user_agent)


@pytest.mark.parametrize("user_agent", [*PEOPLE, ""])
def test_browsers_in_app_browsers_and_no_user_agent_are_people(user_agent: str) -> None:
    assert not is_known_bot(user_agent)


def test_a_head_is_never_counted_whoever_sends_it() -> None:
    assert classify("HEAD", PEOPLE[0], [], "k7m2xq9pw4ha") == ClickKind(NotCounted.HEAD)


def test_a_bot_is_not_counted_even_with_a_repeat_cookie() -> None:
    kind = classify("GET", LINK_PREVIEWS_AND_CRAWLERS[0], ["rc_k7m2xq9pw4ha=1"], "k7m2xq9pw4ha")
    assert kind == ClickKind(NotCounted.BOT)


def test_only_this_codes_cookie_makes_a_repeat() -> None:
    assert classify("GET", PEOPLE[0], ["rc_k7m2xq9pw4ha=1"], "k7m2xq9pw4ha") == ClickKind(repeat=True)
    assert classify("GET", PEOPLE[0], ["rc_otherxcode0=1", "rc_k7m2xq9pw4h=1"], "k7m2xq9pw4ha") == ClickKind()


def test_the_repeat_cookie_is_secure_only_over_https() -> None:
    assert repeat_cookie("k7m2xq9pw4ha", secure=True).endswith("; Secure")
    assert "Secure" not in repeat_cookie("k7m2xq9pw4ha", secure=False)

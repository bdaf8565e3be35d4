"""serving.cors.parse_origin: the one origin grammar, for the stack's corsAllowOrigins
(infra/config.py, its property tests in tests/infra/test_infra_config.py) and any other
option that takes origins. A pure function: text in, the same text or ValueError out."""

from __future__ import annotations

import pytest

from serving.cors import parse_origin

ACCEPTED = [
    "https://example.com",
    "http://localhost:8080",
    "https://a-b.example.co.uk:443",
    "http://127.0.0.1:1",
    "http://[::1]:65535",
    "https://[2001:db8::1]",
    "https://1e100.net",  # a last label with a letter is a name, not an address
]
REFUSED = [
    ("*", "starts with http:// or https://"),
    ("example.com", "starts with http:// or https://"),
    ("ftp://example.com", "starts with http:// or https://"),
    ("HTTPS://example.com", "starts with http:// or https://"),  # browsers send it in lower case
    ("https://example.com/", "no path"),
    ("https://example.com?x=1", "no path, query"),
    ("https://user@example.com", "user"),
    ("https://example.com:0", "from 1 to 65535, got '0'"),
    ("https://example.com:65536", "from 1 to 65535, got '65536'"),
    ("https://example.com:99999", "from 1 to 65535"),
    ("https://example.com:080", "from 1 to 65535"),  # never sent: browsers drop leading zeros
    ("https://example.com:+80", "from 1 to 65535"),
    ("https://example.com:\uff18\uff10", "from 1 to 65535"),  # full-width 80
    ("https://example.com:", "from 1 to 65535, got ''"),
    ("http://-", "DNS name"),
    ("http://..", "DNS name"),
    ("http://a..b", "DNS name"),
    ("http://-a.example", "DNS name"),
    ("http://a-.example", "DNS name"),
    ("http://example.com.", "DNS name"),
    ("http://ex_ample.com", "DNS name"),
    ("http://\u00e9.example", "DNS name"),  # browsers send the xn-- form
    ("http://" + "a" * 64 + ".example", "DNS name"),
    ("http://" + ".".join(["a" * 60] * 5), "at most 253"),
    ("http://1.2.3", "not an IPv4 address"),
    ("http://256.1.1.1", "not an IPv4 address"),
    ("http://[::1", "bracketed IPv6"),
    ("http://[fe80::1%eth0]", "bracketed IPv6"),
    ("http://[::1]x", "nothing after the port"),
    ("http://", "DNS name"),
]


@pytest.mark.parametrize("origin", ACCEPTED)
def test_origins_of_the_grammar_are_returned_as_given(origin):
    assert parse_origin(origin) == origin


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_anything_else_is_refused_saying_why(text, reason):
    with pytest.raises(ValueError) as error:
        parse_origin(text)
    assert reason in str(error.value)

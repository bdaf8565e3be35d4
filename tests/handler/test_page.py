"""The page for browsers: who gets it (content negotiation), what it is (self-contained,
under a strict CSP, within its size budget), and that JSON clients get exactly what they
got before. The page's behaviour in a real browser: tests/browser/."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from chipotle_model import page
from serving.api import LocalContext
from tests.support.events import get_event, load_event, point_event

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
# The budget: the page's own HTML, script and style; the stores' coordinates come on top,
# at most this many bytes per store drawn.
TEMPLATE_BUDGET_BYTES = 30_000
BYTES_PER_POINT = 16


def with_accept(event: dict, accept: str | None) -> dict:
    event["headers"].pop("accept", None)
    if accept is not None:
        event["headers"]["accept"] = accept
    return event


def answer(api, event: dict) -> dict:
    return api.handler(event, LocalContext())


@pytest.mark.parametrize(
    ("accept", "html_wins"),
    [
        (BROWSER_ACCEPT, True),
        ("text/html", True),
        ("text/*, application/json;q=0.5", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", False),
        ("text/html;q=0, */*", False),
        ("text/html;q=abc, */*;q=0.1", False),
    ],
)
def test_html_is_chosen_only_when_preferred_to_json(accept, html_wins):
    assert (
        page.accept_quality(accept, "text/html") > page.accept_quality(accept, "application/json")
    ) is html_wins


def test_a_browser_without_coordinates_gets_the_page(api):
    response = answer(api, with_accept(get_event(None), BROWSER_ACCEPT))
    assert response["statusCode"] == 200
    headers = response["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Vary"] == "Accept"
    html = response["body"]
    assert f"{len(api.model):,}" in html and "{{" not in html
    assert answer(api, with_accept(get_event({"k": "5"}), BROWSER_ACCEPT))["body"] == html


def test_the_page_is_self_contained_under_a_strict_csp(api):
    response = answer(api, with_accept(get_event(None), BROWSER_ACCEPT))
    html, csp = response["body"], response["headers"]["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["connect-src"] == "'self'"
    assert "unsafe" not in csp and "http" not in csp
    inline = re.findall(r"<(script|style)>(.*?)</\1>", html, re.DOTALL)
    assert {tag for tag, _ in inline} == {"script", "style"}
    for tag, body in inline:  # each inline script and style, allowed by its own hash
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives[f"{tag}-src"]
    # nothing to load from anywhere: no src, no stylesheet, no URL but the data: icon
    assert not re.search(r"\bsrc=|<link[^>]+stylesheet|url\(|https?://", html)


def test_the_page_stays_within_its_budget(real_model):
    template = page.TEMPLATE_PATH.read_bytes()
    assert len(template) <= TEMPLATE_BUDGET_BYTES
    points = page.map_points(real_model.stores.latitude, real_model.stores.longitude)
    assert len(points) == 2 * len(real_model)  # every store is drawn
    html = page.render(template.decode(), points=points, store_count=len(real_model), max_k=20)
    assert len(html.encode()) <= len(template) + BYTES_PER_POINT * len(real_model)


def test_the_map_samples_large_data_sets_evenly():
    n = 3 * page.MAX_MAP_POINTS + 1
    latitudes = [i * 80 / n for i in range(n)]
    points = page.map_points(latitudes, [-100.0] * n)
    assert page.MAX_MAP_POINTS // 2 < len(points) // 2 <= page.MAX_MAP_POINTS
    drawn = points[0::2]
    assert drawn[0] == 0 and drawn[-1] > 79  # the whole extent, not its start


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/html;q=0.9"])
def test_json_clients_without_coordinates_get_the_same_400(api, accept):
    expected = answer(api, load_event("get_no_query"))
    got = answer(api, with_accept(load_event("get_no_query"), accept))
    assert got == expected and got["statusCode"] == 400


@pytest.mark.parametrize(
    "name",
    ["get_nearest", "get_nearest_lng", "get_missing_long", "get_empty_lat", "post_batch", "post_health"],
)
def test_a_browser_asking_with_coordinates_or_posting_gets_json(api, name):
    """Any request with a coordinate parameter, and any POST, is answered as before."""
    expected = answer(api, load_event(name))
    assert answer(api, with_accept(load_event(name), BROWSER_ACCEPT)) == expected
    assert expected["headers"]["Content-Type"] == "application/json"


def test_the_page_is_built_once_and_not_at_init(real_artifact, monkeypatch):
    from serving.artifact import load_artifact
    from tests.support.logs import make_api

    renders = []
    render = page.render
    monkeypatch.setattr(page, "render", lambda *a, **k: renders.append(1) or render(*a, **k))
    api, _ = make_api(load_artifact(real_artifact))  # a model of its own: its page not built yet
    answer(api, point_event(39.15, -77.07))
    assert renders == []
    first = answer(api, with_accept(get_event(None), BROWSER_ACCEPT))
    second = answer(api, with_accept(get_event(None), BROWSER_ACCEPT))
    assert first == second and len(renders) == 1

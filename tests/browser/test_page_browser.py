"""The page, used as a person would: real headless Chromium (Debian's `chromium`) driven by
Playwright, against the local server around the real model.

It types a point, clicks on the map, moves with the keyboard, uses the (emulated) browser
location and submits a bad coordinate; every answer it shows is checked against brute
force or against the API's own JSON, and no console error (a CSP violation is one) may
appear. It saves the screenshot README.md shows (docs/page.png).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from chipotle_model.geo import haversine_km
from tests.support import REPO_ROOT, require
from tests.support.http import http_front
from tests.support.logs import make_api

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# As root, on a machine whose only network is the loopback: no sandbox, and none of
# Chromium's own background connections.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = REPO_ROOT / "docs" / "page.png"
NEW_YORK = {"latitude": 40.712776, "longitude": -74.005974}
TIMEOUT_MS = 15_000


def nearest_address(model, lat: float, lon: float) -> str:
    """Brute force: the address of the store at the least great-circle distance."""
    distances = haversine_km(lat, lon, np.asarray(model.stores.latitude), np.asarray(model.stores.longitude))
    return model.stores.address[int(np.argmin(distances))]


def api_error(base_url: str, query: str) -> str:
    """The API's own error message for a query, as JSON clients get it."""
    try:
        urllib.request.urlopen(f"{base_url}?{query}", timeout=10)
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())["error"]
    raise AssertionError(f"?{query} was answered without an error")


@pytest.fixture(scope="module")
def base_url(real_loaded):
    api, _ = make_api(real_loaded)
    with http_front(api.handler) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM} (scripts/setup installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (scripts/setup installs requirements/dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, geolocation=NEW_YORK, permissions=["geolocation"]
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    answer = page.goto(base_url)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
    assert "script-src 'sha256-" in answer.headers["content-security-policy"]
    yield page
    context.close()


def first_result(page):
    return page.locator("#results li").first


def shown_point(page) -> tuple[float, float]:
    return float(page.input_value("#lat")), float(page.input_value("#long"))


def answered(page, action) -> str:
    """Do `action`, wait until the page shows the answer to the search it starts (the
    status line names the point), and return the first result's text."""
    before = page.inner_text("#status")
    action()
    page.wait_for_function(
        """before => { const now = document.getElementById('status').innerText;
        return now !== before && now.includes(' nearest to '); }""",
        arg=before,
    )
    return first_result(page).inner_text()


def test_a_typed_point_shows_the_nearest_stores_and_a_screenshot_is_saved(page, real_model):
    page.fill("#lat", "38.5")
    page.fill("#long", "-98.0")
    page.select_option("#k", "5")
    shown = answered(page, lambda: page.click("text=Find nearest"))
    assert shown.startswith(nearest_address(real_model, 38.5, -98.0))
    assert " km (" in shown
    assert page.locator("#results li").count() == 5
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert page.console_errors == []


def test_clicking_the_map_searches_there(page, real_model):
    page.fill("#lat", "39.153198")
    page.fill("#long", "-77.066176")
    before = answered(page, lambda: page.click("text=Find nearest"))
    page.click("#zoom-all")
    box = page.locator("#map").bounding_box()
    # a point in the West, far from the typed one
    after = answered(
        page, lambda: page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    )
    assert after != before
    lat, lon = shown_point(page)
    assert lon < -95, (lat, lon)  # a point in the West was asked for, not the typed one
    assert after.startswith(nearest_address(real_model, lat, lon))
    assert page.console_errors == []


def test_the_keyboard_moves_the_cross_and_searches(page, real_model):
    page.focus("#map")
    page.keyboard.press("Shift+ArrowRight")
    shown = answered(page, lambda: page.keyboard.press("Enter"))
    lat, lon = shown_point(page)
    assert shown.startswith(nearest_address(real_model, lat, lon))
    page.keyboard.press("Shift+ArrowUp")
    after = answered(page, lambda: page.keyboard.press("Enter"))
    moved = shown_point(page)
    assert moved[0] > lat and moved[1] == pytest.approx(lon, abs=1e-5)
    assert after.startswith(nearest_address(real_model, *moved))
    assert page.console_errors == []


def test_the_browser_location_is_used(page, real_model):
    shown = answered(page, lambda: page.click("text=Use my location"))
    assert shown.startswith(nearest_address(real_model, NEW_YORK["latitude"], NEW_YORK["longitude"]))
    assert shown_point(page) == pytest.approx((NEW_YORK["latitude"], NEW_YORK["longitude"]))
    assert page.console_errors == []


@pytest.mark.parametrize(("lat", "long"), [("91", "-77.07"), ("39.15", "west"), ("", "-77.07")])
def test_a_bad_coordinate_shows_the_api_message(page, base_url, lat, long):
    page.fill("#lat", lat)
    page.fill("#long", long)
    page.click("text=Find nearest")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert error.inner_text() == api_error(base_url, f"lat={lat}&long={long}&k=3")
    assert page.locator("#results li").count() == 0
    # a 400 is the API's answer, not a page error; the browser logs the failed fetch itself
    assert [e for e in page.console_errors if "400" not in e] == []


def test_the_page_loads_nothing_from_elsewhere(page, base_url):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.reload()
    page.fill("#lat", "40")
    page.fill("#long", "-100")
    answered(page, lambda: page.click("text=Find nearest"))
    assert requested and all(url.startswith(base_url) for url in requested), requested
    assert page.console_errors == []

"""The web page, driven in headless Chromium (Debian's package) through Playwright.

A real uvicorn server over a published home; the page is used as a person would: pick a user,
read the cards and reasons, press Like, see the list change by fold-in; on a phone-width
screen with the keyboard alone; as a brand-new user. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recsys.settings import Settings
from tests.conftest import serving

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def site(writable_home: Settings) -> Iterator[str]:
    with serving(writable_home) as url:
        yield url


def _open(browser, site: str, **context):
    page = browser.new_context(**context).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def check(response) -> None:
        # A user without events has no profile yet (404 by contract); nothing else may fail.
        if response.status >= 400 and not response.url.endswith("/profile"):
            errors.append(f"{response.status} {response.url}")

    page.on("response", check)
    page.goto(site)
    page.wait_for_selector("body[data-ready=true]")
    return page, errors


def _example_user(site: str, index: int) -> str:
    about = httpx.get(f"{site}/about").json()
    return about["example_users"][index]


def _shown(page) -> list[str]:
    return page.locator("#recommendations .card").evaluate_all(
        "cards => cards.map(card => card.dataset.itemId)"
    )


def test_pick_a_user_like_an_item_and_watch_the_list_change(site: str, browser):
    from playwright.sync_api import expect

    page, errors = _open(browser, site, viewport={"width": 1280, "height": 900})
    user = _example_user(site, -1)
    page.get_by_label("User id").fill(user)
    page.get_by_role("button", name="Show recommendations").click()
    cards = page.locator("#recommendations .card")
    expect(cards).to_have_count(12)
    expect(page.locator("#recs-meta")).to_have_attribute("data-source", "precomputed")
    before = _shown(page)
    first = cards.first
    title = first.locator(".title").inner_text()
    assert not re.fullmatch(r"i\d+", title), "cards show titles, not bare ids"
    assert first.locator(".score").inner_text().startswith("score ")
    assert first.locator(".reason").inner_text()  # "because you watched ..." or similar

    with page.expect_request("**/events") as sent:
        first.get_by_role("button", name=f"Like: {title}", exact=True).click()
    # The like is credited to the list it came from.
    assert re.fullmatch(r"[0-9a-f]{16}", sent.value.post_data_json["request_id"])

    expect(page.locator("#recs-meta")).to_have_attribute("data-source", "fold_in")
    expect(page.locator("#status")).to_contain_text(f"Liked “{title}”")
    after = _shown(page)
    assert before[0] not in after, "a liked item is never recommended back"
    assert after != before
    expect(page.locator("#recommendations .card.is-new").first).to_be_visible()
    expect(page.locator("#profile .history")).to_contain_text(f"like: {title}")
    # The model panel: version, metrics against popularity, links to the rest of the system.
    expect(page.locator("#model-version")).to_contain_text(
        page.locator("#recs-meta").inner_text().split()[1]
    )
    expect(page.locator("#model table.metrics")).to_contain_text("NDCG@10")
    links = {a.inner_text(): a.get_attribute("href") for a in page.locator("#links a").all()}
    assert any(label.startswith("Dagster UI") for label in links)
    assert any(label.startswith("MLflow") for label in links)
    docs = next(href for label, href in links.items() if label.startswith("Data Docs"))
    assert httpx.get(f"{site}{docs}").status_code == 200
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-page.png"), full_page=True)
    assert errors == []


def test_phone_width_and_keyboard_alone(site: str, browser):
    from playwright.sync_api import expect

    page, errors = _open(browser, site, viewport={"width": 390, "height": 844}, is_mobile=True)
    user = _example_user(site, -2)
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "user-id"
    page.keyboard.type(user)
    page.keyboard.press("Enter")
    expect(page.locator("#recommendations .card")).to_have_count(12)
    before = _shown(page)
    # Tab through the form's two buttons to the first card's first action, and press it.
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.event") == "like":
            break
    assert page.evaluate("document.activeElement.dataset.event") == "like"
    page.keyboard.press("Enter")
    expect(page.locator("#recs-meta")).to_have_attribute("data-source", "fold_in")
    assert _shown(page) != before
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-page-phone.png"), full_page=True)
    assert errors == []


def test_a_new_user_starts_on_trending_and_gets_personal_after_a_like(site: str, browser):
    from playwright.sync_api import expect

    page, errors = _open(browser, site, viewport={"width": 1280, "height": 900})
    page.get_by_role("button", name="Start as a new user").click()
    expect(page.locator("#recs-meta")).to_have_attribute("data-source", "trending")
    expect(page.locator("#profile")).to_contain_text("No events yet")
    trending = page.locator("#trending .card").first
    title = trending.locator(".title").inner_text()
    liked = trending.get_attribute("data-item-id")
    trending.get_by_role("button", name=f"Like: {title}", exact=True).click()
    expect(page.locator("#recs-meta")).to_have_attribute("data-source", "fold_in")
    assert liked not in _shown(page)
    # Catalogue search finds items by title and pages through them.
    page.get_by_label("Title contains").fill(title.split()[0])
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#catalog .card").first).to_contain_text(title.split()[0])
    assert errors == []


def test_the_api_docs_render_with_no_network(site: str, browser):
    """FastAPI's Swagger UI loads its script and styles from a CDN by default: offline that
    is a blank page. Served by the app itself, /docs lists every operation with no network."""
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    elsewhere: list[str] = []

    def only_this_host(route) -> None:
        if route.request.url.startswith(site):
            route.continue_()
        else:  # what a machine without internet gets
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_host)
    page.goto(f"{site}/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/events" in paths and "/recommendations/{user_id}" in paths
    assert elsewhere == [] and errors == []
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))


def test_about_links_the_rest_of_the_system_and_serves_the_page(api, api_settings):
    about = api.get("/about").json()
    assert about["dagster_url"] == f"http://127.0.0.1:{api_settings.dagster_port}"
    assert about["mlflow_url"] == f"http://127.0.0.1:{api_settings.mlflow_port}"
    assert len(about["example_users"]) == 12
    assert api.get(f"/recommendations/{about['example_users'][0]}").json()["source"] != "trending"
    assert "Drama" in about["genres"]
    # The Data Docs site the checks wrote, served by the API itself.
    assert about["data_docs_url"] == "/quality/docs/index.html"
    docs = api.get(about["data_docs_url"])
    assert docs.status_code == 200 and "static/vendor/bootstrap" in docs.text
    page = api.get("/")
    assert page.status_code == 200 and '<label for="user-id">User id</label>' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert api.get(asset).status_code == 200
    # Nothing on the page comes from another host: it has to work offline.
    for text in (page.text, api.get("/static/app.js").text, api.get("/static/style.css").text):
        assert "http://" not in text and "https://" not in text


def test_an_items_window_shows_on_its_card(site: str, writable_home: Settings, browser):
    import time

    from playwright.sync_api import expect

    from recsys.catalogue.payloads import ItemFields
    from recsys.warehouse import item_writes
    from recsys.warehouse.connection import Warehouse

    item = httpx.get(f"{site}/catalog", params={"limit": 1}).json()["items"][0]
    fields = ItemFields(
        title=item["title"], genres=item["genres"], available_until="2031-01-01T00:00:00Z"
    )
    store = Warehouse.from_url(writable_home.warehouse_url)
    with store.session() as client:  # as another process (an editor's tool) would write it
        item_writes.upsert(client, [(item["item_id"], fields)])
    store.notify_changed("catalogue")
    deadline = time.monotonic() + 60
    while not httpx.get(f"{site}/items/{item['item_id']}").json()["available_until"]:
        assert time.monotonic() < deadline, "the site never saw the change"
        time.sleep(0.1)

    page, errors = _open(browser, site, viewport={"width": 1280, "height": 900})
    page.get_by_label("Title contains").fill(item["title"])
    page.get_by_role("button", name="Search").click()
    card = page.locator(f'#catalog .card[data-item-id="{item["item_id"]}"]')
    expect(card.locator(".availability")).to_contain_text("available until")
    expect(card.locator(".availability")).to_contain_text("2031")
    assert errors == []


def test_the_model_panel_shows_the_running_experiment(
    writable_home: Settings, tmp_path: Path, browser
):
    from playwright.sync_api import expect

    experiments = tmp_path / "experiments.yaml"
    experiments.write_text(
        "experiments:\n"
        "  - name: model-vs-trending\n"
        "    variants:\n"
        "      - {name: model, role: champion}\n"
        "      - {name: trending, list: trending}\n"
    )
    settings = writable_home.model_copy(update={"experiments_file": experiments})
    with serving(settings) as url:
        page, errors = _open(browser, url, viewport={"width": 1280, "height": 900})
        for user in httpx.get(f"{url}/about").json()["example_users"][:6]:
            page.get_by_label("User id").fill(user)
            page.get_by_role("button", name="Show recommendations").click()
            expect(page.locator("#recs-meta")).to_contain_text(
                "experiment model-vs-trending: variant "
            )
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        panel = page.locator("#experiment")
        expect(panel).to_contain_text("Experiment model-vs-trending (running)")
        expect(panel.locator("table.metrics")).to_contain_text("trending")
        panel.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        panel.screenshot(path=str(ARTIFACTS / "experiment-panel.png"))
        assert errors == []

"""The operations console in a real browser (Debian's Chromium driven by Playwright) against a
real ``ordergate up`` stack: log in with a token, see the FIX session logged on, find an order
submitted through the API with its trail, inject a fault and watch the session recover, be
refused an action without its scope, and a screenshot of the overview that is not blank."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.api import order_body
from support.procs import wait_until
from support.stack import ROOT, UpProcess

from gateway.auth import mint_token

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")  # Debian's package
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SESSION = "FIX.4.4:ORDERGATE->TSE"
CARD = f'.session[data-session="{SESSION}"]'
ALL_SCOPES = "ops:read ops:halt sim:control"


def ordergate_token(*args: str) -> str:
    """A token from ``ordergate token`` itself (the contract: it mints the console's scopes)."""
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "token", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    proc = UpProcess(tmp_path_factory.mktemp("console-up"), "--api-port", "0").start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def logged_in(browser: Any, stack: UpProcess, token: str) -> Any:
    """A fresh browser context logged in through the login form; confirmations accepted."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda d: d.accept())
    page.goto(stack.value("CONSOLE_URL") + "/")
    assert page.url.endswith("/login")  # no session: the login form
    page.fill("textarea[name=token]", token)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(r"/$"))
    return page


def submit(page: Any, action: str, **fields: str) -> None:
    """Fill the form posting to ``action`` (selects and inputs by name) and press its button;
    the confirmation dialog is accepted by ``logged_in``'s handler."""
    form = page.locator(f"form[action='{action}']")
    for name, value in fields.items():
        control = form.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.locator("button").click()


def test_login_sets_an_httponly_strict_cookie_and_shows_the_session_logged_on(
    browser: Any, stack: UpProcess
) -> None:
    page = logged_in(browser, stack, ordergate_token("--scope", "ops:read", "--sub", "viewer"))
    card = page.locator(CARD)
    playwright_sync.expect(card.locator(".state")).to_have_text("logged_on")
    playwright_sync.expect(card).to_contain_text("fencing token")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "og_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "viewer" in page.locator("header .who").inner_text()
    page.context.close()


def test_order_submitted_through_the_api_is_found_with_its_trail(
    browser: Any, stack: UpProcess
) -> None:
    body = order_body(account="DEMO-BUY", client_order_id="console-1", venue="TSE")
    resp = httpx.post(
        stack.value("API_URL") + "/v1/orders",
        json=body,
        headers={"Authorization": f"Bearer {stack.value('TOKEN')}"},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    order_id = resp.json()["order_id"]
    wait_until(
        lambda: (
            httpx.get(
                f"{stack.value('API_URL')}/v1/orders/{order_id}",
                headers={"Authorization": f"Bearer {stack.value('TOKEN')}"},
            ).json()["status"]
            == "new"
        ),
        20,
        "the exchange to acknowledge the order",
    )
    page = logged_in(browser, stack, ordergate_token("--scope", "ops:read"))
    page.click("nav >> text=Orders")
    page.fill("input[name=account]", "DEMO-BUY")
    page.fill("input[name=client_order_id]", "console-1")
    page.click("form.search button")
    page.click(f"a[href='/orders/{order_id}']")
    page.wait_for_url(re.compile(f"/orders/{order_id}$"))
    steps = page.locator(".timeline .step .name").all_inner_texts()
    assert steps[:2] == ["received", "enqueued"] and "sent" in steps and "acknowledged" in steps
    gaps = page.locator(".timeline .step .gap").all_inner_texts()
    assert all(g.startswith("+") and g.endswith(" ms") for g in gaps[1:])  # latency per step
    assert page.locator("dl.order").inner_text().count("new") >= 1
    page.context.close()


def test_fault_injected_from_the_console_and_the_session_recovers(
    browser: Any, stack: UpProcess
) -> None:
    page = logged_in(browser, stack, ordergate_token("--scope", ALL_SCOPES, "--sub", "drill"))
    state = page.locator(f"{CARD} .state")
    playwright_sync.expect(state).to_have_text("logged_on")
    page.click("nav >> text=Simulators")
    assert page.locator("table.sessions tbody td").nth(6).inner_text() == "-"
    submit(page, "/simulators/faults", fault="refuse_logons", seconds="4")
    playwright_sync.expect(page.locator(".flash")).to_contain_text("refuse_logons")
    assert "refuse_logons_until=" in page.locator("table.sessions tbody td").nth(6).inner_text()
    submit(page, "/simulators/faults", fault="disconnect")
    playwright_sync.expect(page.locator(".flash")).to_contain_text("disconnected")
    page.click("nav >> text=Overview")
    # live over SSE, no reload: first the line is down, then logged on again
    playwright_sync.expect(state).not_to_have_text("logged_on", timeout=20_000)
    playwright_sync.expect(state).to_have_text("logged_on", timeout=60_000)
    page.click("nav >> text=Audit")
    audit = page.locator("table.audit").inner_text()
    assert "drill\tsimulator fault\tdone" in audit
    page.context.close()


def test_cancel_on_disconnect_set_from_the_console_cancels_a_resting_order(
    browser: Any, stack: UpProcess
) -> None:
    api, token = stack.value("API_URL"), stack.value("TOKEN")
    auth = {"Authorization": f"Bearer {token}"}
    page = logged_in(browser, stack, ordergate_token("--scope", ALL_SCOPES))
    page.click("nav >> text=Simulators")
    submit(page, "/simulators/cancel-on-disconnect", active="true")
    playwright_sync.expect(page.locator(".flash")).to_contain_text('"cancel_on_disconnect": true')
    cells = page.locator("table.sessions tbody tr td")
    assert cells.nth(5).inner_text() == "true"  # the simulator's state says so
    body = order_body(account="DEMO-BUY", client_order_id="cod-1", venue="TSE", price="2700")
    order_id = httpx.post(f"{api}/v1/orders", json=body, headers=auth).json()["order_id"]

    def status() -> str:
        return str(httpx.get(f"{api}/v1/orders/{order_id}", headers=auth).json()["status"])

    wait_until(lambda: status() == "new", 20, "the order to rest at the exchange")
    submit(page, "/simulators/faults", fault="disconnect")
    wait_until(lambda: status() == "canceled", 60, "the cancel-on-disconnect report")
    submit(page, "/simulators/cancel-on-disconnect", active="false")
    playwright_sync.expect(page.locator(".flash")).to_contain_text('"cancel_on_disconnect": false')
    page.context.close()


def test_action_without_its_scope_is_refused_and_audited(browser: Any, stack: UpProcess) -> None:
    page = logged_in(browser, stack, ordergate_token("--scope", "ops:read sim:control"))
    submit(page, "/halt")
    assert "needs the ops:halt scope" in page.locator(".error").inner_text()
    page.goto(stack.value("CONSOLE_URL") + "/")
    assert "No halts in force." in page.locator("#live").inner_text()
    # the same session's cookie without the form's CSRF field is refused too
    resp = page.context.request.post(
        stack.value("CONSOLE_URL") + "/halt", form={"scope": "all"}, max_redirects=0
    )
    assert resp.status == 403
    page.goto(stack.value("CONSOLE_URL") + "/audit")
    assert "refused: this needs the ops:halt scope" in page.locator("table.audit").inner_text()
    assert "refused: bad CSRF token" in page.locator("table.audit").inner_text()
    page.context.close()


def test_halt_and_resume_with_the_halt_scope(browser: Any, stack: UpProcess) -> None:
    page = logged_in(browser, stack, ordergate_token("--scope", "ops:read ops:halt"))
    submit(page, "/halt", scope="venue", target="JNX", reason="rehearsal")
    playwright_sync.expect(page.locator("table.halts")).to_contain_text("venue:JNX")
    submit(page, "/resume", scope="venue", target="JNX")
    playwright_sync.expect(page.locator("#live")).to_contain_text("No halts in force.")
    page.context.close()


def test_bearer_token_reaches_every_page_and_the_ops_scope_alone_does_not(
    stack: UpProcess,
) -> None:
    url = stack.value("CONSOLE_URL")
    for path in ("/", "/orders", "/simulators", "/audit"):
        ok = httpx.get(
            url + path, headers={"Authorization": f"Bearer {mint_token('s', [], ['ops:read'])}"}
        )
        assert ok.status_code == 200, path
        no = httpx.get(
            url + path, headers={"Authorization": f"Bearer {mint_token('s', [], ['ops'])}"}
        )
        assert no.status_code == 403, path


def test_the_api_keeps_its_ops_scope_and_the_console_scopes_give_nothing_there(
    stack: UpProcess,
) -> None:
    api = stack.value("API_URL")
    console_only = {"Authorization": f"Bearer {ordergate_token('--scope', ALL_SCOPES)}"}
    ops = {"Authorization": f"Bearer {ordergate_token('--scope', 'ops')}"}
    assert httpx.get(f"{api}/metrics", headers=console_only).status_code == 403
    assert httpx.get(f"{api}/metrics", headers=ops).status_code == 200
    halt = {"scope": "venue", "target": "JNX"}
    assert httpx.post(f"{api}/v1/admin/halt", json=halt, headers=console_only).status_code == 403
    assert httpx.post(f"{api}/v1/admin/halt", json=halt, headers=ops).status_code == 200
    # the API's halt is the console's too: both read the same halt hash
    page = httpx.get(
        stack.value("CONSOLE_URL") + "/",
        headers={"Authorization": f"Bearer {mint_token('s', [], ['ops:read'])}"},
    )
    assert "venue:JNX" in page.text
    assert httpx.post(f"{api}/v1/admin/resume", json=halt, headers=ops).status_code == 200


PIXELS_JS = """async (b64) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const c = document.createElement("canvas");
  c.width = img.width; c.height = img.height;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  let differ = 0;
  for (let i = 0; i < d.length; i += 4) {
    colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) differ++;
  }
  return {colours: colours.size, differ: differ / (d.length / 4)};
}"""


def test_overview_screenshot_is_not_blank_and_shows_the_session_card(
    browser: Any, stack: UpProcess, tmp_path: Path
) -> None:
    page = logged_in(browser, stack, ordergate_token("--scope", "ops:read"))
    card = page.locator(CARD)
    playwright_sync.expect(card).to_be_visible()
    box = card.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    shot = page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    blank = page.context.new_page()  # no console CSP there: decode the PNG on a canvas
    stats = blank.evaluate(PIXELS_JS, base64.b64encode(shot).decode())
    assert stats["colours"] > 20 and stats["differ"] > 0.05, stats
    page.context.close()

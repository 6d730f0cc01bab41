"""Logging in to the console over plain HTTP: the login form's double-submit nonce, a refused
token, the session cookie's flags, an expired token, and no token in a URL or the log."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from support.console import ConsoleProcess
from support.procs import RedisServer

from gateway.auth import mint_token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def console(redis_server: RedisServer) -> Iterator[ConsoleProcess]:
    proc = ConsoleProcess(redis_server.url, sessions=["TSE=FIX.4.4:ORDERGATE->TSE"]).start()
    try:
        yield proc
    finally:
        proc.stop()


def login_form(client: httpx.Client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    m = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert m
    return m.group(1)


def test_login_sets_the_token_cookie_httponly_strict_and_redirects_without_it(
    console: ConsoleProcess,
) -> None:
    token = mint_token("ops-1", [], ["ops:read"])
    with httpx.Client(base_url=console.url) as client:
        nonce = login_form(client)
        resp = client.post("/login", data={"nonce": nonce, "token": token})
        assert resp.status_code == 303 and resp.headers["location"] == "/"
        cookie = next(
            v for k, v in resp.headers.multi_items() if k == "set-cookie" and "og_console=" in v
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert client.get("/").status_code == 200  # the cookie is the session
    assert token not in console.log()


def test_login_without_the_form_nonce_cookie_is_refused(console: ConsoleProcess) -> None:
    token = mint_token("ops-1", [], ["ops:read"])
    with httpx.Client(base_url=console.url) as client:
        nonce = login_form(client)
        client.cookies.clear()  # a cross-site post carries no SameSite=Strict cookie
        resp = client.post("/login", data={"nonce": nonce, "token": token})
        assert resp.status_code == 403 and "og_console=" not in resp.headers.get("set-cookie", "")


def test_bad_token_is_refused_on_the_login_form(console: ConsoleProcess) -> None:
    with httpx.Client(base_url=console.url) as client:
        nonce = login_form(client)
        resp = client.post("/login", data={"nonce": nonce, "token": "not-a-jwt"})
        assert resp.status_code == 401 and "token refused" in resp.text


def test_expired_session_cookie_is_cleared_and_refused(console: ConsoleProcess) -> None:
    old = mint_token("ops-1", [], ["ops:read"], ttl_seconds=60, now=time.time() - 3600)
    resp = httpx.get(console.url + "/", cookies={"og_console": old})
    assert resp.status_code == 401 and "token expired" in resp.text
    assert (
        'og_console=""' in resp.headers["set-cookie"] or "Max-Age=0" in resp.headers["set-cookie"]
    )


def test_no_session_sends_a_browser_to_the_login_form(console: ConsoleProcess) -> None:
    resp = httpx.get(console.url + "/orders")
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    assert httpx.post(console.url + "/halt", data={"scope": "all"}).status_code == 401


def test_values_are_escaped_in_pages(console: ConsoleProcess) -> None:
    token = mint_token("<script>x</script>", [], ["ops:read"])
    resp = httpx.get(
        console.url + "/orders",
        params={"account": "<b>A</b>", "symbol": "<i>"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200
    assert "<script>x" not in resp.text and "&lt;script&gt;x" in resp.text
    assert "<b>A</b>" not in resp.text and "&lt;b&gt;A&lt;/b&gt;" in resp.text
    assert "script-src 'self'" in resp.headers["content-security-policy"]

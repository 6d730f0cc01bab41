"""HTML for every page, built as strings: every value goes through :func:`e` (escaping), forms
carry the CSRF field, scripts come only from ``/static`` (the CSP forbids inline script)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from gateway.model import Order, TrailStep

from .reads import SEARCH_WINDOW, Found, Rates
from .security import CSRF_FIELD
from .simctl import FAULT_PARAMS, FAULTS, PHASES

TOKYO = ZoneInfo("Asia/Tokyo")
NAV = (("/", "Overview"), ("/orders", "Orders"), ("/simulators", "Simulators"), ("/audit", "Audit"))


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, who: str | None, csrf: str | None, flash: str = "") -> str:
    nav = "".join(f'<a href="{href}">{e(name)}</a>' for href, name in NAV)
    user = ""
    if who:
        user = f'<span class="who">{e(who)}</span>'
        if csrf:
            user += f'<form method="post" action="/logout" class="inline">{csrf_field(csrf)}<button>Log out</button></form>'
    msg = f'<p class="flash" role="status">{e(flash)}</p>' if flash else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)} · ordergate console</title>"
        '<link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head><body>'
        f"<header><strong>ordergate</strong> console <nav>{nav}</nav>{user}</header>"
        f"<main><h1>{e(title)}</h1>{msg}{body}</main></body></html>"
    )


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{e(csrf)}">'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """``rows`` hold HTML already escaped by the caller."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def tokyo(at: datetime) -> str:
    return at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S JST")


# --- login --------------------------------------------------------------------------------


def login(nonce: str, error: str = "") -> str:
    err = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = (
        f"{err}<p>Paste a token (the same JWT as the API; in development "
        "<code>ordergate token --scope ops:read</code>, add <code>ops:halt</code> or "
        "<code>sim:control</code> for actions).</p>"
        '<form method="post" action="/login" autocomplete="off">'
        f'<input type="hidden" name="nonce" value="{e(nonce)}">'
        '<label>Token <textarea name="token" rows="4" cols="80" required></textarea></label>'
        "<button>Log in</button></form>"
    )
    return page("Log in", body, who=None, csrf=None)


def refused(message: str, who: str | None) -> str:
    return page(
        "Not allowed", f'<p class="error" role="alert">{e(message)}</p>', who=who, csrf=None
    )


# --- overview -----------------------------------------------------------------------------


def session_card(s: dict[str, Any]) -> str:
    state = s.get("state") or "unknown"
    counters = s.get("counters") or {}
    rows = [
        ("state", f'<span class="state state-{e(state)}">{e(state)}</span>'),
        ("leader", f"{e(s.get('leader') or '-')} ({e(s.get('role') or '-')})"),
        ("fencing token", e(s.get("fencing_token"))),
        ("next out / in seq", f"{e(s.get('next_out_seq'))} / {e(s.get('next_in_seq'))}"),
        (
            "in flight",
            f"{e(s.get('total_pending'))} sent, unacked · {e(s.get('total_lag'))} queued",
        ),
        ("last disconnect", e(counters.get("last_disconnect") or "-")),
        ("status at", e(s.get("status_updated_at") or "-")),
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<section class="card session" data-session="{e(s["session"])}">'
        f"<h3>{e(s['venue'])} · {e(s['session'])}</h3><dl>{dl}</dl></section>"
    )


def rate_chart(r: Rates) -> str:
    """A small inline SVG: submitted (bars) and rejected (red bars) per minute."""
    w, h, n = 300, 80, len(r.minutes)
    top = max([1, *r.submitted, *r.rejected])
    bw = w / max(n, 1)
    bars = []
    for i in range(n):
        for vals, cls, off in ((r.submitted, "sub", 0.1), (r.rejected, "rej", 0.55)):
            bh = vals[i] * (h - 12) / top
            bars.append(
                f'<rect class="{cls}" x="{i * bw + bw * off:.1f}" y="{h - bh:.1f}" '
                f'width="{bw * 0.35:.1f}" height="{bh:.1f}"><title>{vals[i]}</title></rect>'
            )
    last = f"{r.submitted[-1] if n else 0} submitted, {r.rejected[-1] if n else 0} rejected"
    capped = " (counts capped: lower bounds)" if r.capped else ""
    return (
        f'<figure class="chart"><svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="orders per minute">{"".join(bars)}</svg>'
        f"<figcaption>orders (grey) and rejects (red) per minute, last {n} min; "
        f"this minute: {e(last)}{e(capped)}</figcaption></figure>"
    )


def halts(h: dict[str, Any]) -> str:
    if not h:
        return '<p class="ok">No halts in force.</p>'
    rows = [
        (e(k), e(v.get("at")), e(v.get("by")), e(v.get("reason"))) for k, v in sorted(h.items())
    ]
    return table(["halt", "since", "by", "reason"], rows, "halts")


def halt_forms(csrf: str | None) -> str:
    if not csrf:
        return ""
    scope = (
        '<select name="scope"><option>all</option><option>venue</option>'
        "<option>account</option></select>"
    )
    return (
        f'<form method="post" action="/halt" data-confirm="Halt new orders in this scope?">'
        f"{csrf_field(csrf)}{scope}"
        '<input name="target" placeholder="venue or account"> '
        '<input name="reason" placeholder="reason"> '
        '<label><input type="checkbox" name="cancel_open" value="1"> cancel open orders</label> '
        '<button class="danger">Halt</button></form>'
        f'<form method="post" action="/resume" data-confirm="Lift this halt?">'
        f'{csrf_field(csrf)}{scope}<input name="target" placeholder="venue or account"> '
        "<button>Resume</button></form>"
    )


def overview_live(data: dict[str, Any]) -> str:
    """The part of the overview the SSE feed replaces every few seconds."""
    cards = "".join(session_card(s) for s in data["sessions"]) or (
        '<p class="error">No FIX session has state in Redis yet (or name them with --session).</p>'
    )
    phases = table(
        ["venue", "phase"],
        [(e(p["venue"]), f'<span class="phase">{e(p["phase"])}</span>') for p in data["phases"]],
    )
    return (
        f'<p class="clock">Tokyo {e(tokyo(data["at"]))} · open orders (all venues): '
        f"<strong>{e(data['open_orders'])}</strong></p>"
        f'<h2>Sessions</h2><div class="cards">{cards}</div>'
        f'<div class="cols"><div><h2>Flow</h2>{rate_chart(data["rates"])}</div>'
        f"<div><h2>Market phase</h2>{phases}</div>"
        f"<div><h2>Halts</h2>{halts(data['halts'])}</div></div>"
    )


def overview(data: dict[str, Any], who: str, csrf: str | None, flash: str) -> str:
    body = (
        f'<div id="live" data-sse="/overview/events">{overview_live(data)}</div>'
        f"<h2>Halt / resume</h2>{halt_forms(csrf)}"
    )
    return page("Overview", body, who=who, csrf=csrf, flash=flash)


# --- orders -------------------------------------------------------------------------------


def order_link(oid: str) -> str:
    return f'<a href="/orders/{e(oid)}">{e(oid)}</a>'


def orders(
    params: dict[str, str], found: Found | None, error: str, who: str, csrf: str | None
) -> str:
    def field(name: str, label: str, kind: str = "text") -> str:
        return (
            f'<label>{e(label)} <input type="{kind}" name="{name}" '
            f'value="{e(params.get(name, ""))}"></label> '
        )

    form = (
        '<form method="get" action="/orders" class="search">'
        + field("order_id", "order id")
        + field("account", "account")
        + field("client_order_id", "client order id")
        + field("symbol", "symbol")
        + field("status", "status")
        + field("since", "from (UTC)", "datetime-local")
        + field("until", "to (UTC)", "datetime-local")
        + "<button>Search</button></form>"
    )
    out = form
    if error:
        out += f'<p class="error" role="alert">{e(error)}</p>'
    if found is not None:
        rows = [
            (
                order_link(r.get("order_id", "")),
                e(r.get("account")),
                e(r.get("client_order_id")),
                e(r.get("symbol")),
                e(r.get("side")),
                e(r.get("quantity")),
                e(r.get("price") or "market"),
                e(r.get("venue")),
                e(r.get("status")),
                e(r.get("cum_qty")),
                e(r.get("created_at")),
            )
            for r in found.rows
        ]
        out += table(
            [
                "order id",
                "account",
                "client order id",
                "symbol",
                "side",
                "qty",
                "price",
                "venue",
                "status",
                "filled",
                "created",
            ],
            rows,
            "orders",
        )
        note = f"{len(found.rows)} shown; {found.scanned} order records read."
        if found.truncated:
            note += (
                f" Only the newest {SEARCH_WINDOW} orders of this range were searched: "
                "narrow the time range."
            )
        out += f'<p class="note">{e(note)}</p>'
    return page("Orders", out, who=who, csrf=csrf)


def _at(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def timeline(steps: list[TrailStep]) -> str:
    """The trail, oldest first, with the time since the previous step and since the first."""
    first = prev = None
    items = []
    for s in steps:
        at = _at(s.at)
        gap = total = ""
        if at is not None:
            if prev is not None:
                gap = f"+{(at - prev).total_seconds() * 1000:.1f} ms"
            if first is not None:
                total = f"{(at - first).total_seconds() * 1000:.1f} ms"
            first = first or at
            prev = at
        detail = json.dumps(s.detail, sort_keys=True) if s.detail else ""
        items.append(
            f'<li class="step"><span class="gap">{e(gap)}</span>'
            f'<span class="name">{e(s.step)}</span> '
            f'<span class="who">{e(s.component)} · {e(s.process)}</span> '
            f'<time>{e(s.at)}</time> <span class="total">{e(total)}</span>'
            f'<code class="detail">{e(detail)}</code></li>'
        )
    return f'<ol class="timeline">{"".join(items)}</ol>'


def order(o: Order, steps: list[TrailStep], who: str, csrf: str | None) -> str:
    j = o.to_json()  # the API's view of the order, status first; fills and trail below
    shown = {"status": j.pop("status"), **j}
    fields = [
        (k, v)
        for k, v in shown.items()
        if k not in ("order_id", "fills", "partition") and v is not None
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in fields)
    fills = (
        table(
            ["exec id", "quantity", "price", "at"],
            [(e(f.exec_id), e(f.quantity), e(f.price), e(f.at)) for f in o.fills],
            "fills",
        )
        if o.fills
        else "<p>No fills.</p>"
    )
    body = (
        f'<dl class="order">{dl}</dl><h2>Fills</h2>{fills}'
        f"<h2>Trail ({len(steps)} steps)</h2>{timeline(steps)}"
    )
    return page(f"Order {o.order_id}", body, who=who, csrf=csrf)


# --- simulators ---------------------------------------------------------------------------


def active_faults(faults: Any) -> str:
    """The session's lasting faults that are on (the control API lists each with its value)."""
    if not isinstance(faults, dict):
        return ""
    return ", ".join(f"{k}={v}" for k, v in faults.items() if v not in (0, False, None, "")) or "-"


def _sim_forms(i: int, csrf: str, sessions: list[str]) -> str:
    sess = (
        '<select name="session"><option value="">(only session)</option><option>*</option>'
        + "".join(f"<option>{e(s)}</option>" for s in sessions)
        + "</select>"
    )
    hidden = f'{csrf_field(csrf)}<input type="hidden" name="simulator" value="{i}">'
    phases = "".join(f"<option>{e(p)}</option>" for p in PHASES)
    faults = "".join(
        f'<option value="{e(f)}">{e(f)}{" (" + ", ".join(p) + ")" if p else ""}</option>'
        for f, p in FAULTS.items()
    )
    params = "".join(
        f'<input name="{p}" placeholder="{p}" inputmode="numeric" size="7"> ' for p in FAULT_PARAMS
    )
    return (
        f'<form method="post" action="/simulators/phase" data-confirm="Change the phase?">'
        f'{hidden}<select name="phase">{phases}</select> <button>Set phase</button></form>'
        f'<form method="post" action="/simulators/faults" data-confirm="Inject this fault?">'
        f'{hidden}<select name="fault">{faults}</select> {params}{sess} '
        '<button class="danger">Inject fault</button></form>'
        f'<form method="post" action="/simulators/kill-switch" data-confirm="Flip the kill switch?">'
        f'{hidden}{sess}<select name="active"><option value="true">on</option>'
        '<option value="false">off</option></select> <button class="danger">Kill switch</button></form>'
        f'<form method="post" action="/simulators/cancel-on-disconnect" '
        f'data-confirm="Change cancel-on-disconnect?">'
        f'{hidden}{sess}<select name="active"><option value="true">on</option>'
        '<option value="false">off</option></select> <button>Cancel on disconnect</button></form>'
    )


def simulator(
    i: int, url: str, state: Any, orders: Any, books: dict[str, Any], error: str, csrf: str | None
) -> str:
    head = f'<section class="card simulator" data-simulator="{i}"><h2>Simulator {i}: {e(url)}</h2>'
    if error:
        return head + f'<p class="error">{e(error)}</p></section>'
    sessions = state.get("sessions") or []
    srows = [
        (
            e(s.get("session")),
            f'<span class="state state-{e(s.get("status"))}">{e(s.get("status"))}</span>',
            e(s.get("next_inbound_seq")),
            e(s.get("next_outbound_seq")),
            e(json.dumps(s.get("kill_switch"))),
            e(json.dumps(s.get("cancel_on_disconnect"))),
            e(active_faults(s.get("faults"))),
            e(s.get("last_disconnect_reason") or "-"),
        )
        for s in sessions
    ]
    out = head + (
        f'<p>venue {e(state.get("venue"))} · phase <strong class="phase">{e(state.get("phase"))}</strong>'
        f"{' (pinned)' if state.get('phase_pinned') else ''} · clock {e(state.get('clock'))}</p>"
    )
    out += table(
        [
            "session",
            "status",
            "next in",
            "next out",
            "kill switch",
            "cancel on disconnect",
            "active faults",
            "last disconnect",
        ],
        srows,
        "sessions",
    )
    if csrf:
        out += "<h3>Control</h3>" + _sim_forms(i, csrf, [str(s.get("session")) for s in sessions])
    for sym, book in books.items():
        if not isinstance(book, dict):
            out += f'<h3>Book {e(sym)}</h3><p class="error">{e(book)}</p>'
            continue
        bids, asks = book.get("bids") or [], book.get("asks") or []
        depth = max(len(bids), len(asks))
        rows = []
        for k in range(min(depth, 10)):
            b = bids[k] if k < len(bids) else {}
            a = asks[k] if k < len(asks) else {}
            rows.append(
                (
                    e(b.get("quantity", "")),
                    e(b.get("price", "")),
                    e(a.get("price", "")),
                    e(a.get("quantity", "")),
                )
            )
        out += (
            f"<h3>Book {e(sym)} <small>last {e(book.get('last_price'))}, limits "
            f"{e(book.get('lower_limit'))}–{e(book.get('upper_limit'))}</small></h3>"
            + table(["bid qty", "bid", "ask", "ask qty"], rows, "book")
        )
    recent = (orders or {}).get("orders", [])[-20:][::-1]
    out += "<h3>Recent orders</h3>" + table(
        ["cl_ord_id", "session", "type", "status", "qty", "cum", "price", "first seen"],
        [
            (
                e(o.get("cl_ord_id")),
                e(o.get("session")),
                e(o.get("msg_type")),
                e(o.get("status")),
                e(o.get("order_qty")),
                e(o.get("cum_qty")),
                e(o.get("price")),
                e(o.get("first_seen")),
            )
            for o in recent
        ],
        "sim-orders",
    )
    return out + "</section>"


def simulators(sections: list[str], symbol: str, who: str, csrf: str | None, flash: str) -> str:
    form = (
        f'<form method="get" action="/simulators">Book of symbol <input name="symbol" value="{e(symbol)}">'
        "<button>Show</button></form>"
    )
    body = form + ("".join(sections) or "<p>No simulator configured (--simulator URL).</p>")
    return page("Simulators", body, who=who, csrf=csrf, flash=flash)


# --- audit --------------------------------------------------------------------------------


def audit(entries: list[dict[str, str]], who: str, csrf: str | None) -> str:
    rows = [
        (
            e(a.get("at")),
            e(a.get("who")),
            e(a.get("what")),
            e(a.get("outcome")),
            e(a.get("from")),
            f"<code>{e(a.get('detail'))}</code>",
        )
        for a in entries
    ]
    return page(
        "Audit",
        table(["when", "who", "what", "outcome", "from", "detail"], rows, "audit"),
        who=who,
        csrf=csrf,
    )


def flash_url(path: str, message: str) -> str:
    return f"{path}?{urlencode({'flash': message})}"

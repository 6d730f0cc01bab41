"""Market phases on the Tokyo clock: what each phase accepts and executes, the auctions at the
boundaries, expiry at the close, pinning, and the simulator clock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from support.exchange import at, engine, order, reports, trades

from simulators.exchange.model import ExecType, OrdRejReason, TimeInForce
from simulators.exchange.phases import Phase, SimClock, profile_for


@pytest.mark.parametrize(
    ("hhmm", "phase"),
    [
        ("07:59", Phase.CLOSED),
        ("08:00", Phase.PRE_OPEN),
        ("09:00", Phase.CONTINUOUS),
        ("11:29", Phase.CONTINUOUS),
        ("11:30", Phase.LUNCH),
        ("12:30", Phase.CONTINUOUS),
        ("15:25", Phase.CLOSING_AUCTION),
        ("15:30", Phase.CLOSED),
    ],
)
def test_tse_phase_follows_the_tokyo_clock(hhmm, phase):
    assert profile_for("TSE").schedule.phase_at(at(hhmm)) is phase


def test_the_tse_is_closed_on_a_saturday():
    assert profile_for("TSE").schedule.phase_at(at("10:00", day="2026-11-28")) is Phase.CLOSED


def test_the_pts_night_session_runs_past_midnight():
    schedule = profile_for("JNX").schedule
    assert schedule.phase_at(at("02:00", day="2026-12-01")) is Phase.CONTINUOUS
    assert schedule.phase_at(at("07:00", day="2026-12-01")) is Phase.CLOSED


def test_pre_open_accepts_crossing_orders_without_matching():
    e = engine(None, when="08:30")
    assert e.phase is Phase.PRE_OPEN
    e.new_order(order("buy", 100, "2851"))
    assert not trades(e.new_order(order("sell", 100, "2850")))


def test_opening_itayose_runs_when_the_clock_reaches_nine():
    e = engine(None, when="08:59")
    e.new_order(order("buy", 100, "2851"))
    e.new_order(order("sell", 100, "2850"))
    e.clock.set(at("09:00:01"))
    out = e.tick()
    assert e.phase is Phase.CONTINUOUS
    assert {f.last_px for f in trades(out)} == {D("2850")}  # balanced tie: nearest the base 2850


def test_morning_close_itayose_then_lunch_accepts_without_matching():
    e = engine(None, when="11:00")
    e.new_order(order("buy", 100, "2851", cl="c", tif=TimeInForce.AT_THE_CLOSE))
    e.new_order(order("sell", 100, "2851", cl="s"))
    e.clock.set(at("11:30"))
    assert len(trades(e.tick())) == 2
    assert e.phase is Phase.LUNCH
    e.new_order(order("buy", 100, "2855"))
    assert not trades(e.new_order(order("sell", 100, "2852")))


def test_afternoon_opens_with_an_itayose_at_twelve_thirty():
    e = engine(None, when="12:00")
    e.new_order(order("buy", 100, "2855"))
    e.new_order(order("sell", 100, "2852"))
    e.clock.set(at("12:30"))
    assert len(trades(e.tick())) == 2
    assert e.phase is Phase.CONTINUOUS


def test_closing_auction_period_accepts_orders_but_nothing_executes():
    e = engine(None, when="15:26")
    assert e.phase is Phase.CLOSING_AUCTION
    e.new_order(order("buy", 100, "2855"))
    assert not trades(e.new_order(order("sell", 100, "2852")))
    assert e.book_view("7203").bids[0].price == D("2855")


def test_closing_itayose_at_half_past_three_then_day_orders_expire():
    e = engine(None, when="15:26")
    e.new_order(order("buy", 200, "2855", cl="b"))
    e.new_order(order("sell", 100, "2852", cl="s"))
    e.new_order(order("sell", 100, "2900", cl="far"))
    e.clock.set(at("15:30"))
    out = e.tick()
    assert e.phase is Phase.CLOSED
    assert len(trades(out)) == 2
    expired = reports(out, ExecType.EXPIRED)
    assert sorted((r.cl_ord_id, r.cum_qty, r.leaves_qty) for r in expired) == [
        ("b", 100, 0),
        ("far", 0, 0),
    ]
    assert e.book_view("7203").bids == [] and e.book_view("7203").asks == []


def test_events_of_a_phase_change_come_before_the_command_that_noticed_it():
    e = engine(None, when="15:29")
    e.new_order(order("buy", 100, "2850", cl="day"))
    e.clock.set(at("15:31"))
    out = e.new_order(order("buy", 100, "2850", cl="late"))
    assert [(r.cl_ord_id, r.exec_type) for r in out] == [
        ("day", ExecType.EXPIRED),
        ("late", ExecType.REJECTED),
    ]
    assert out[1].ord_rej_reason is OrdRejReason.EXCHANGE_CLOSED


def test_a_clock_jump_over_a_whole_session_runs_every_boundary_in_order():
    e = engine(None, when="08:30")
    e.new_order(order("buy", 100, "2850", cl="b"))
    e.clock.set(at("16:00"))
    out = e.tick()
    assert [r.exec_type for r in reports(out)] == [ExecType.EXPIRED]
    assert e.phase is Phase.CLOSED


def test_pinning_a_phase_holds_it_against_the_clock():
    e = engine(None, when="08:30")
    e.pin_phase(Phase.CONTINUOUS)
    e.clock.set(at("16:00"))
    e.tick()
    assert e.phase is Phase.CONTINUOUS and e.pinned


def test_unpinning_returns_to_the_clocks_phase():
    e = engine(Phase.CONTINUOUS, when="16:00")
    e.new_order(order("buy", 100, "2850"))
    out = e.pin_phase(None)
    assert e.phase is Phase.CLOSED and not e.pinned
    assert [r.exec_type for r in out] == [ExecType.EXPIRED]


def test_a_new_trading_day_forgets_yesterdays_clordids():
    e = engine(None, when="15:00")
    e.new_order(order("buy", 100, "2850", cl="same"))
    e.clock.set(at("08:30", day="2026-12-01"))
    expired, ack = e.new_order(order("buy", 100, "2850", cl="same"))
    assert (expired.exec_type, ack.exec_type) == (ExecType.EXPIRED, ExecType.NEW)


def test_fixed_clock_spec_does_not_move():
    clock = SimClock.parse("2026-11-30T08:59:00")
    assert clock.now() == at("08:59") and clock.speed == 0


def test_compressed_clock_spec_runs_faster_than_real_time():
    ticks = iter([100.0, 101.0])
    clock = SimClock.parse("2026-11-30T08:59:00+09:00x60")
    clock._monotonic = lambda: next(ticks)  # a pure unit test of the arithmetic
    clock._origin = 100.0
    clock.now()  # 0 s elapsed
    assert clock.now() == at("09:00")  # 1 real second = 60 simulated seconds


def test_real_clock_spec_is_tokyo_now():
    clock = SimClock.parse("real")
    assert clock.now().utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("spec", ["tomorrow", "2026-13-01T00:00", "2026-11-30T09:00x-2"])
def test_bad_clock_spec_is_refused(spec):
    with pytest.raises(ValueError):
        SimClock.parse(spec)

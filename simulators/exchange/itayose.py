"""Itayose: the single-price call auction that opens and closes each TSE session.

Pure price determination, no orders: the engine passes the quantities per limit price and the
market-order quantities, and allocates the fills itself (market orders first, then price, then
time).

The price is chosen as follows. JPX, *Guide to TSE Trading Methodology*, Q12 ("How are opening
prices determined? Conditions for the Itayose method"), and JPX's learning page 売買のルール(応用編)
(https://www.jpx.co.jp/learning/basics/equities/04.html): at the price, (1) every market order is
executed, (2) every buy limit above and every sell limit below the price is executed, and (3) at
the price itself the whole quantity of one side is executed. Among the prices that satisfy these,
the one that executes the most volume is chosen; a price that executes more but breaks a condition
is not. No TSE (cash equities) text found so far says how to choose
between several prices that all satisfy (1)-(3); the tie-breaks here are JPX's published rules for its
*derivatives* market (JPX, *Trading Methods*, conditions 2-5,
https://www.jpx.co.jp/english/derivatives/rules/trading-methods/; the same text in Japanese on TOCOM's 板寄せの新ルール), applied to equities:

1. the most executed volume;
2. then the smallest surplus (|cumulative buy - cumulative sell|);
3. then, if the sell side is in surplus at every remaining price, the lowest; if the buy side is in
   surplus at every remaining price, the highest;
4. otherwise the price closest to the reference price (the last trade of the day, else the base
   price); at equal distance, the higher one.

Tested against published worked books and the three conditions in
``tests/unit/test_exchange_itayose_published.py`` (a hypothesis property: whenever some price meets
(1)-(3), the chosen one does). Unverified: a Q&A answer (OKWave q5760194) reports that since
arrowhead (2010-01-04) TSE takes, among prices that all meet (1)-(3), the one nearest the previous
trade, where rule 2 above may pick the other (see the README).

Candidate prices are the limit prices in the book plus the reference price when it lies between
the lowest and highest of them (any tick in that range is valid; between two order prices the
volume is flat, so the reference price is the only interior price the tie-break can prefer).
With market orders only, the reference price is the price.

Not modelled (a simulator simplification, documented in the README): special quotes (tokubetsu
kehai) and their renewal intervals. Where TSE would show a special quote because condition (1)
cannot be met, the simulator still trades the maximum volume.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class AuctionResult:
    price: Decimal
    volume: int
    buy_qty: int  # cumulative buy quantity executable at the price
    sell_qty: int  # cumulative sell quantity executable at the price


def determine_price(
    bids: Sequence[tuple[Decimal, int]],
    asks: Sequence[tuple[Decimal, int]],
    market_buy: int,
    market_sell: int,
    reference: Decimal | None,
) -> AuctionResult | None:
    """The itayose price and volume, or None when nothing can execute.

    ``bids``/``asks`` are ``(limit price, total quantity)`` in any order (a price may repeat).
    """
    limit_prices = sorted({p for p, _ in bids} | {p for p, _ in asks})
    candidates = list(limit_prices)
    if reference is not None and (not candidates or candidates[0] < reference < candidates[-1]):
        if reference not in candidates:
            candidates.insert(bisect_left(candidates, reference), reference)
    if not candidates:
        return None

    # cumulative buy at p: market buys + bids priced >= p; cumulative sell: market sells + asks <= p
    bid_at: dict[Decimal, int] = {}
    for p, q in bids:
        bid_at[p] = bid_at.get(p, 0) + q
    ask_at: dict[Decimal, int] = {}
    for p, q in asks:
        ask_at[p] = ask_at.get(p, 0) + q
    n = len(candidates)
    buy_cum = [0] * n
    running = market_buy
    for i in range(n - 1, -1, -1):
        running += bid_at.get(candidates[i], 0)
        buy_cum[i] = running
    sell_cum = [0] * n
    running = market_sell
    for i in range(n):
        running += ask_at.get(candidates[i], 0)
        sell_cum[i] = running

    volume = [min(b, s) for b, s in zip(buy_cum, sell_cum, strict=True)]
    if max(volume) <= 0:
        return None
    # conditions (1)-(3) come first: only when no price meets them (where TSE would show a
    # special quote) does the simulator fall back to every price
    meets = [
        i
        for i in range(n)
        if volume[i] > 0
        and _meets_conditions(
            volume[i],
            buy_cum[i] - bid_at.get(candidates[i], 0),
            sell_cum[i] - ask_at.get(candidates[i], 0),
            market_buy,
            market_sell,
        )
    ]
    pool = meets or list(range(n))
    best_volume = max(volume[i] for i in pool)
    tied = [i for i in pool if volume[i] == best_volume]
    if len(tied) > 1:
        least = min(abs(buy_cum[i] - sell_cum[i]) for i in tied)
        tied = [i for i in tied if abs(buy_cum[i] - sell_cum[i]) == least]
    if len(tied) > 1:
        if all(sell_cum[i] > buy_cum[i] for i in tied):
            tied = [tied[0]]  # sell surplus everywhere: the lowest price
        elif all(buy_cum[i] > sell_cum[i] for i in tied):
            tied = [tied[-1]]  # buy surplus everywhere: the highest price
        else:
            anchor = reference if reference is not None else candidates[tied[0]]
            tied = [min(tied, key=lambda i: (abs(candidates[i] - anchor), -candidates[i]))]
    i = tied[0]
    return AuctionResult(candidates[i], best_volume, buy_cum[i], sell_cum[i])


def _meets_conditions(
    volume: int, buy_above: int, sell_below: int, market_buy: int, market_sell: int
) -> bool:
    """JPX's conditions at one price executing ``volume``: (1) every market order, (2) every buy
    above and every sell below the price (``buy_above``/``sell_below`` include the market orders)
    execute. (3), one side at the price in full, holds by construction: ``volume`` is the smaller
    cumulative side."""
    return (
        market_buy <= volume
        and market_sell <= volume
        and buy_above <= volume
        and sell_below <= volume
    )

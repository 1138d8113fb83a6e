"""The event log: what the street office, the owners and the firms decided, one record per event.

Every event message is written here and nowhere else; both engines log the same records. The
`text` is what the app's events feed shows; the other fields make the log a table (`events`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

import pandas as pd

NO_FIRM = -1


@dataclass(frozen=True)
class Event:
    """One event: when, what kind, where, which firm, and the owners' support where they voted."""

    month: int
    kind: str
    area_id: str
    estates: str  # the estates concerned, ids joined with "+" (an area's id is its estates')
    firm_id: int  # the firm concerned (the winner of a tender), -1 for none
    support: float | None  # share of participating owners for it, where owners voted
    passed: bool | None  # the vote's (or decision's) outcome, where there was one
    text: str
    case_id: int = 0  # the street office's reform case it belongs to, 0 for none



EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Event))
_EVENT_ROW = attrgetter(*EVENT_COLUMNS)  # an event's values in field order (astuple without deep copies)


def events_frame(events: list[Event]) -> pd.DataFrame:
    """The `events` table of one run."""
    return pd.DataFrame([_EVENT_ROW(e) for e in events], columns=list(EVENT_COLUMNS))


# --- the messages ----------------------------------------------------------------------------

def retendered(month: int, area_id: str, firm: int, support: float) -> Event:
    """Owners replaced their firm (or found one) by tender and vote."""
    return Event(month, "retender", area_id, area_id, firm, support, True,
                 f"Owners of {area_id} replaced their firm by tender ({support:.0%} support); "
                 f"firm {firm} took over")


def merged(month: int, area_ids: list[str], firm: int, support: float, case_id: int = 0) -> Event:
    """Every member's owners voted for a merger."""
    return Event(month, "merge", "+".join(area_ids), "+".join(area_ids), firm, support, True,
                 f"Merger of {len(area_ids)} areas ({', '.join(area_ids)}) passed with at least "
                 f"{support:.0%} support in each", case_id)


def merge_failed(month: int, area_ids: list[str], support: float, attempts: int = 1, most: int = 1,
                 offered: str = "", case_id: int = 0) -> Event:
    """The owners of at least one member said no (support: the lowest member's); what happens next."""
    if attempts < most:
        then = f"it may be proposed again ({attempts} of {most} attempts)"
    elif offered:
        then = (f"after {attempts} failed votes it is not proposed again; its areas may merge in "
                "management only")
    else:
        then = f"after {attempts} failed votes it is not proposed again"
    return Event(month, "merge_failed", "+".join(area_ids), "+".join(area_ids), NO_FIRM, support, False,
                 f"Merger of {', '.join(area_ids)} failed its owners' vote; {then}", case_id)


def management_merged(month: int, area_ids: list[str], firm: int, support: float, case_id: int = 0) -> Event:
    """Neighbouring areas hired one firm together, each keeping its own area, fund and committee."""
    joined = "+".join(area_ids)
    return Event(month, "management_merge", joined, joined, firm, support, True,
                 f"{', '.join(area_ids)} now share firm {firm} and its site staff (management-only "
                 f"merger; each keeps its own area, fund and committee; at least {support:.0%} support)",
                 case_id)


def entrusted(month: int, area_id: str, firm: int, support: float) -> Event:
    """A small area's owners entrusted it to a strong firm nearby."""
    return Event(month, "entrust", area_id, area_id, firm, support, True,
                 f"{area_id} entrusted to firm {firm} ({support:.0%} support)")


def self_governed(month: int, area_id: str, firm: int, support: float) -> Event:
    """A small area's owners turned to specialised service plus self-governance."""
    return Event(month, "self_governance", area_id, area_id, firm, support, True,
                 f"{area_id} turned to specialised service plus self-governance ({support:.0%} support)")


def evaluated_out(month: int, area_id: str, loser: int, score: float, winner: int, support: float,
                  passed: bool) -> Event:
    """After the yearly evaluation rated a firm poorly, owners voted on replacing it in its worst area."""
    outcome = f"lost {area_id} to firm {winner}" if passed else f"kept {area_id}"
    return Event(month, "evaluation", area_id, area_id, winner, support, passed,
                 f"Yearly evaluation: firm {loser} scored {score:.2f}; owners voted ({support:.0%} support) "
                 f"and it {outcome}")


def block_joined(month: int, block: str) -> Event:
    """A block joined block integration."""
    return Event(month, "block_integration", "", "", NO_FIRM, None, None,
                 f"Block {block} joined block integration (supplementary services, reception point)")


def withdrew(month: int, area_id: str, firm: int, months: int) -> Event:
    """A firm in loss withdrew from a contract that kept losing it money."""
    return Event(month, "withdrawal", area_id, area_id, firm, None, None,
                 f"Firm {firm} withdrew from {area_id} (it lost money there for {months} months)")


def firm_left(month: int, firm: int, reason: str) -> Event:
    """A firm left the market."""
    return Event(month, "firm_exit", "", "", firm, None, None, f"Firm {firm} left the market ({reason})")


def fell_back(month: int, area_id: str) -> Event:
    """No firm could be found: the street office's fallback service (托底) took the area over."""
    return Event(month, "fallback", area_id, area_id, NO_FIRM, None, None,
                 f"No firm for {area_id}: the street office's fallback service took over")


def no_bid(month: int, area_id: str, why: str) -> Event:
    """A tender drew no bid, and why."""
    return Event(month, "no_bid", area_id, area_id, NO_FIRM, None, False,
                 f"Tender for {area_id} drew no bid: {why}")


def fee_capped(month: int, area_id: str, old: float, needed: float, cap: float) -> Event:
    """The fee that would cover the cost is above the guided cap: a vote on the cap at most, if a rise."""
    return Event(month, "fee_capped", area_id, area_id, NO_FIRM, None, False,
                 f"{area_id} would need {needed:.2f} yuan/m2 (now {old:.2f}) to cover its cost, above "
                 f"the guided cap of {cap:.2f}")


def fee_voted(month: int, area_id: str, old: float, new: float, support: float, passed: bool) -> Event:
    """Owners voted on a fee revision."""
    outcome = "passed" if passed else "failed"
    return Event(month, "fee_vote", area_id, area_id, NO_FIRM, support, passed,
                 f"Fee vote in {area_id}, {old:.2f} -> {new:.2f} yuan/m2, {outcome} ({support:.0%} support)")


def firm_entered(month: int, area_id: str, firm: int) -> Event:
    """A new local firm entered the market for a contract no firm in reach could take."""
    return Event(month, "firm_entry", area_id, area_id, firm, None, None,
                 f"New firm {firm} entered the market to serve {area_id}")


def case_stage(month: int, kind: str, area_ids: list[str], stage: str, text: str, *,
               support: float | None = None, passed: bool | None = None, firm: int = NO_FIRM,
               case_id: int = 0) -> Event:
    """A stage of a reform case: proposal, vote, fund merger, committee, hand-over."""
    joined = "+".join(area_ids)
    return Event(month, f"{kind}_{stage}", joined, joined, firm, support, passed, text, case_id)

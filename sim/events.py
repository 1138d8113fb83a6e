"""The event log: what the street office, the owners and the firms decided, one record per event.

Every event message is written here and nowhere else; both engines log the same records. The
`text` is what the app's events feed shows; the other fields make the log a table (`events`).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

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


    @property
    def reason(self) -> str:
        """Why a firm left (firm_exit events): the words in brackets of its message."""
        return self.text[self.text.rfind("(") + 1:-1] if self.kind == "firm_exit" else ""


EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Event))


def events_frame(events: list[Event]) -> pd.DataFrame:
    """The `events` table of one run."""
    return pd.DataFrame([astuple(e) for e in events], columns=list(EVENT_COLUMNS))


# --- the messages ----------------------------------------------------------------------------

def retendered(month: int, area_id: str, firm: int, support: float) -> Event:
    """Owners replaced their firm (or found one) by tender and vote."""
    return Event(month, "retender", area_id, area_id, firm, support, True,
                 f"Owners of {area_id} replaced their firm by tender ({support:.0%} support); "
                 f"firm {firm} took over")


def merged(month: int, area_ids: list[str], firm: int, support: float) -> Event:
    """Every member's owners voted for a merger."""
    return Event(month, "merge", "+".join(area_ids), "+".join(area_ids), firm, support, True,
                 f"Merger of {len(area_ids)} areas ({', '.join(area_ids)}) passed with at least "
                 f"{support:.0%} support in each")


def merge_failed(month: int, area_ids: list[str], support: float) -> Event:
    """The owners of at least one member said no (support: the lowest member's)."""
    return Event(month, "merge_failed", "+".join(area_ids), "+".join(area_ids), NO_FIRM, support, False,
                 f"Merger of {', '.join(area_ids)} failed its owners' vote")


def entrusted(month: int, area_id: str, firm: int, support: float) -> Event:
    """A small area's owners entrusted it to a strong firm nearby."""
    return Event(month, "entrust", area_id, area_id, firm, support, True,
                 f"{area_id} entrusted to firm {firm} ({support:.0%} support)")


def self_governed(month: int, area_id: str, firm: int, support: float) -> Event:
    """A small area's owners turned to specialised service plus self-governance."""
    return Event(month, "self_governance", area_id, area_id, firm, support, True,
                 f"{area_id} turned to specialised service plus self-governance ({support:.0%} support)")


def evaluated_out(month: int, area_id: str, loser: int, score: float, winner: int) -> Event:
    """The yearly evaluation took a contract from a poorly rated firm."""
    return Event(month, "evaluation", area_id, area_id, winner, None, None,
                 f"Yearly evaluation: firm {loser} scored {score:.2f} and lost {area_id} to firm {winner}")


def withdrew(month: int, area_id: str, firm: int, months: int) -> Event:
    """A firm in loss withdrew from a contract that kept losing it money."""
    return Event(month, "withdrawal", area_id, area_id, firm, None, None,
                 f"Firm {firm} withdrew from {area_id} (it lost money there for {months} months)")


def firm_left(month: int, firm: int, reason: str) -> Event:
    """A firm left the market."""
    return Event(month, "firm_exit", "", "", firm, None, None, f"Firm {firm} left the market ({reason})")

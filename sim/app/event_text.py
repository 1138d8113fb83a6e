"""The engines' event lines in the page's language, and the owners' votes with their turnout.

The engines write every event in English (sim/events.py: `Event.text`) with its kind and fields
(areas, firm, support, outcome). The Chinese page builds its line from the kind and the fields
here, reading the few numbers that only the text holds (a fee, a score, a number of months) out
of the English line; the engines' text is never changed. A kind this module does not know shows
as its panel kind and its areas, never as English.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from sim.events import NO_FIRM, Event

_NUMBER = r"(-?\d+(?:\.\d+)?)"


def _areas(event: Event) -> str:
    """The event's areas (estate names joined by "、")."""
    return "、".join(a for a in event.area_id.split("+") if a) or "—"


def _support(event: Event) -> str:
    return f"{event.support:.0%}" if event.support is not None else "—"


def _firm(firm: int) -> str:
    return f"{firm}号物业企业" if firm != NO_FIRM else "物业企业"


def _find(pattern: str, text: str, group: int = 1) -> str:
    found = re.search(pattern, text)
    return found.group(group) if found else "?"


_REASONS = {
    "no contract for a year": "一年没有合同",
    "losses it could not cover": "无法弥补的亏损",
    "no tender: the money cannot pay the least service": "未招标：资金付不起最低限度的服务",
    "no firm in reach can take it": "附近没有企业能接手",
    "fewer than two members' owners voted for it": "赞成的区域少于两个",
}
"""The reasons the engines give in an event's text, in Chinese."""


def _merge_failed(e: Event) -> str:
    text = e.text
    attempts = re.search(r"\((\d+) of (\d+) attempts\)", text)
    if attempts:
        then = f"可以再次提出（第{attempts.group(1)}次，共{attempts.group(2)}次）"
    else:
        then = f"{_find(r'after (\d+) failed votes', text)}次投票未通过后不再提出"
        if "management only" in text:
            then += "；这些区域可改为管理合并"
    return f"{_areas(e)}的合并未获业主投票通过；{then}"


def _proposal(e: Event) -> str:
    again = re.search(r"\(attempt (\d+) of (\d+)\)", e.text)
    tries = f"（第{again.group(1)}次，共{again.group(2)}次）" if again else ""
    if e.kind.startswith("management_merge"):
        return f"提出{_areas(e)}的管理合并（一家企业、共用现场人员、区域各自独立）{tries}；开始宣讲"
    return f"提出{_areas(e)}的合并{tries}；开始宣讲"


def _case_vote(e: Event) -> str:
    if e.kind.startswith("management_merge"):
        if e.passed:
            return f"{_areas(e)}的业主投票同意共用{_firm(e.firm_id)}（每个区域至少{_support(e)}支持）"
        why = _REASONS.get(e.text.rsplit(": ", 1)[-1], "")
        return f"{_areas(e)}的管理合并未能进行" + (f"：{why}" if why else "")
    if e.kind.startswith("merge"):
        return f"{_areas(e)}的业主投票赞成合并（每个区域至少{_support(e)}支持）"
    policy = {"entrust": "以强带弱", "self_governance": "物业专项服务+居民自治"}.get(
        e.kind.rsplit("_", 1)[0], "改革")
    outcome = "通过" if e.passed else "未通过"
    return f"{_areas(e)}的业主就{policy}（{_firm(e.firm_id)}）投票（{_support(e)}支持）：{outcome}"


def _handover(e: Event) -> str:
    what = "管理合并" if e.kind.startswith("management_merge") else "移交"
    if e.passed is False:
        return f"{_areas(e)}的{what}落空：{_firm(e.firm_id)}无法接手"
    return f"{_areas(e)}的{what}完成"


def _evaluation(e: Event) -> str:
    loser, score = _find(r"firm (\d+) scored", e.text), _find(rf"scored {_NUMBER}", e.text)
    outcome = f"失去了{_areas(e)}，由{_firm(e.firm_id)}接手" if e.passed else f"保留了{_areas(e)}"
    return f"年度考评：{loser}号物业企业得分{score}；业主投票（{_support(e)}支持），它{outcome}"


def _fee_vote(e: Event) -> str:
    old, new = _find(rf"{_NUMBER} -> ", e.text), _find(rf" -> {_NUMBER}", e.text)
    outcome = "通过" if e.passed else "未通过"
    return f"{_areas(e)}的物业费投票：{old} → {new} 元/平方米，{outcome}（{_support(e)}支持）"


def _fee_capped(e: Event) -> str:
    needed, old = _find(rf"need {_NUMBER}", e.text), _find(rf"now {_NUMBER}", e.text)
    cap = _find(rf"cap of {_NUMBER}", e.text)
    return f"{_areas(e)}需要{needed}元/平方米（现为{old}）才能覆盖成本，高于指导价上限{cap}"


ZH_LINES = {
    "retender": lambda e: (f"{_areas(e)}的业主通过招标和投票更换了物业企业（{_support(e)}支持），"
                           f"{_firm(e.firm_id)}接手"),
    "merge": lambda e: (f"{len(e.area_id.split('+'))}个区域（{_areas(e)}）合并通过，"
                        f"每个区域至少{_support(e)}支持"),
    "merge_failed": _merge_failed,
    "management_merge": lambda e: (f"{_areas(e)}现由{_firm(e.firm_id)}及其现场人员共同服务（管理合并；"
                                   f"各自保留区域、维修资金和业委会；至少{_support(e)}支持）"),
    "entrust": lambda e: f"{_areas(e)}委托给{_firm(e.firm_id)}（{_support(e)}支持）",
    "self_governance": lambda e: f"{_areas(e)}转为物业专项服务+居民自治（{_support(e)}支持）",
    "evaluation": _evaluation,
    "block_integration": lambda e: (f"{_find(r'^Block (.*) joined', e.text)}加入街区一体化"
                                    "（补充服务、联合接待点）"),
    "withdrawal": lambda e: (f"{_firm(e.firm_id)}退出{_areas(e)}（在那里连续亏损"
                             f"{_find(r'for (\d+) months', e.text)}个月）"),
    "firm_exit": lambda e: (f"{_firm(e.firm_id)}退出市场"
                            f"（{_REASONS.get(_find(r'market \((.*)\)$', e.text), '')}）"),
    "fallback": lambda e: f"{_areas(e)}找不到物业企业：街道托底服务接管",
    "no_bid": lambda e: (f"{_areas(e)}的招标无人投标："
                         f"{_REASONS.get(e.text.split(' drew no bid: ', 1)[-1], '')}"),
    "fee_capped": _fee_capped,
    "fee_vote": _fee_vote,
    "firm_entry": lambda e: f"新的{_firm(e.firm_id)}进入市场，服务{_areas(e)}",
}
"""The Chinese line of each kind of event (sim/events.py)."""

_STAGES = {"proposal": _proposal, "vote": _case_vote, "handover": _handover,
           "fund": lambda e: f"{_areas(e)}的维修资金并入一个账户"}
"""The Chinese line of each stage of a reform case (events.case_stage: kind "<policy>_<stage>")."""


@lru_cache(maxsize=50_000)
def event_line(event: Event, lang: str = "en") -> str:
    """One event as the page shows it: the engine's English text, or the Chinese built from its fields."""
    if lang != "zh":
        return event.text
    line = ZH_LINES.get(event.kind)
    if line is None:
        line = _STAGES.get(event.kind.rsplit("_", 1)[-1])
    if line is None:
        from sim.app.i18n import tr
        from sim.app.monitors import event_kind

        return f"{tr(event_kind(event.text), 'zh')}：{_areas(event)}"
    return line(event)


# --- owners' votes ------------------------------------------------------------------------------
class Vote(NamedTuple):
    """One owners' vote in an area, as the street office held it (sim.street_office.hold_vote)."""

    before: int  # events logged before it (a merger's votes come just before its event)
    area: str
    passed: bool
    share: float  # share of participating owners who said yes
    turnout: float  # share of the area's owners who took part
    area_turnout: float  # share of the area's floor area that took part
    yes_area: float  # share of the participating floor area that said yes


def replayed_vote(before: int, area_id: str, passed: bool, share: float, floor_m2: np.ndarray,
                  draws: np.ndarray, participation: float, support: float) -> Vote:
    """The vote's turnout from its draws (the same rule as the engines' owners_vote)."""
    takes_part = draws[:, 0] < participation
    votes_yes = takes_part & (draws[:, 1] < support)
    total = float(floor_m2.sum())
    part_area = float(floor_m2[takes_part].sum())
    return Vote(before, area_id, bool(passed), float(share),
                float(takes_part.mean()) if len(takes_part) else 0.0,
                part_area / total if total > 0 else 0.0,
                float(floor_m2[votes_yes].sum()) / part_area if part_area > 0 else 0.0)


def _rule(share: float) -> str:
    """A rule's share as people say it: 2/3, 1/2, 3/4, or a percentage."""
    fraction = Fraction(share).limit_denominator(10)
    if abs(float(fraction) - share) < 1e-9 and fraction.denominator > 1:
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{share:.0%}"


def vote_line(vote: Vote, p, lang: str = "en") -> str:
    """One area's vote: turnout, support and which rule (Civil Code Art. 278) decided it.

    "OY-002: turnout 52% < 2/3 of owners: no vote"; "OY-003: turnout 80%, 87% for: yes".
    """
    zh = lang == "zh"
    turnout = f"投票率{vote.turnout:.0%}" if zh else f"turnout {vote.turnout:.0%}"
    if vote.turnout < p.quorum_owner_share:
        why = (f"{turnout} < 业主的{_rule(p.quorum_owner_share)}：表决无效" if zh
               else f"{turnout} < {_rule(p.quorum_owner_share)} of owners: no vote")
    elif vote.area_turnout < p.quorum_area_share:
        why = (f"{turnout}，但参与的建筑面积{vote.area_turnout:.0%} < {_rule(p.quorum_area_share)}：表决无效"
               if zh else f"{turnout}, but {vote.area_turnout:.0%} of the floor area < "
               f"{_rule(p.quorum_area_share)}: no vote")
    elif vote.passed:
        why = f"{turnout}，{vote.share:.0%}赞成：通过" if zh else f"{turnout}, {vote.share:.0%} for: yes"
    elif vote.share <= p.approval_owner_share:
        why = (f"{turnout}，{vote.share:.0%}赞成 ≤ 参与业主的{_rule(p.approval_owner_share)}：否决" if zh
               else f"{turnout}, {vote.share:.0%} for ≤ {_rule(p.approval_owner_share)} of those voting: "
               "said no")
    else:
        why = (f"{turnout}，{vote.share:.0%}赞成，但赞成面积{vote.yes_area:.0%} ≤ "
               f"{_rule(p.approval_area_share)}：否决" if zh
               else f"{turnout}, {vote.share:.0%} for, but {vote.yes_area:.0%} of the voting floor area "
               f"≤ {_rule(p.approval_area_share)}: said no")
    return f"{vote.area}: {why}"

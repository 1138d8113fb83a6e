"""Chinese labels for the app (English is the source text; `tr` looks a label up)."""

from __future__ import annotations

import re
from typing import Any

LANGUAGES = {"English": "en", "中文": "zh"}

ZH: dict[str, str] = {
    # page and panels
    "Governing small estates: the Ouyang Road reforms": "小小区治理：欧阳路街道的改革",
    "Controls": "控制", "Hide controls": "隐藏控制", "Lesson": "课堂环节",
    "District": "街区", "Your own district": "你自己的街区", "About this model": "关于模型",
    "Policies": "政策", "Votes, fees and volunteers": "投票、物业费与志愿者",
    "Compare with (side by side)": "并排对比", "Random seed (replicate)": "随机种子（重复）",
    "Engine": "引擎", "Speed (months per second)": "速度（每秒月数）",
    "Changes not applied — press Reset": "更改尚未生效——请按“重置”",
    "What happened": "发生了什么", "Per year": "每年汇总", "Show": "显示",
    "Export": "导出", "Time series (CSV)": "时间序列（CSV）", "Events (CSV)": "事件（CSV）",
    "Map (PNG)": "地图（PNG）", "Charts (PNG)": "图表（PNG）",
    "Inspect an estate": "查看一个小区", "Language": "语言",
    "Nothing has happened yet. Press Step or ▶.": "还没有发生任何事。请按“单步”或 ▶。",
    "Stopped at the horizon": "已到模拟终点", "Start": "开始",
    # policies
    "N-in-1 merger": "N合一", "Strong leads weak": "以强带弱", "Management-only merger": "管理合并",
    "Specialised service + self-governance": "物业专项管理+居民自治",
    "Block integration": "街区一体化",
    # presets
    "Status quo": "现状", "Integrated vs status quo": "综合治理 对比 现状",
    "Group A: N-in-1 merger": "A组：N合一", "Group B: strong leads weak": "B组：以强带弱",
    "Group C: self-governance": "C组：居民自治", "Group D: block integration": "D组：街区一体化",
    "Harder votes": "更难的投票", "Fund dispute": "维修资金之争", "Tired volunteers": "疲惫的志愿者",
    # measures and tiles
    "service quality": "服务质量", "satisfaction": "满意度", "fee collection": "物业费收缴",
    "management mode": "管理模式",
    "Service quality": "服务质量", "Fee collection": "物业费收缴率", "Satisfaction": "居民满意度",
    "Quality, estates < 100 households": "服务质量：不足100户的小区",
    "Management areas": "物业管理区域", "Firms in the market": "在市场中的物业企业",
    "Residents' committee workload (per 1000 households)": "居委会工作量（每千户）",
    "Volunteers (share of households)": "志愿者（户占比）",
    "Maintenance fund (yuan/m²)": "维修资金（元/平方米）",
    "Mergers passed": "通过的合并", "Merger votes failed": "未通过的合并投票",
    # estate card
    "households": "户", "housing type": "房屋类型", "firm": "物业企业", "mode": "管理模式",
    "fund per m²": "每平方米维修资金", "owners' committee": "业主委员会", "none": "无",
    "yes": "有", "no": "无", "management area": "物业管理区域",
    # the map's key and title
    "colour": "颜色", "(0 = worst, 1 = best)": "（0 = 最差，1 = 最好）",
    "estate of {} households": "{}户的小区", "edge colour: its firm": "边框颜色：其物业企业",
    "thin grey edge: no firm": "细灰边框：无物业企业", "firm's office (number)": "物业企业办公点（编号）",
    "spokes: merged area": "辐条：合并后的管理区域", "entrusted to a strong firm": "委托给优质物业企业",
    "in this month's events": "本月事件涉及", "street block": "街区",
    "{} management areas ({} merged), {} firms": "{}个物业管理区域（{}个合并），{}家物业企业",
    "full service by a firm": "物业企业全面服务",
    "specialised service + self-governance": "专项服务+居民自治",
    "owners manage it themselves": "业主自行管理", "nobody manages it": "无人管理",
    # the charts
    "Fee collection rate": "物业费收缴率", "Residents' satisfaction": "居民满意度",
    "Volunteers\n(share of households)": "志愿者\n（户占比）",
    "Firms' margin\n(firms in the market)": "物业企业利润率\n（在市场中的企业）",
    "Residents' committee workload\n(cases per 1000 households)": "居委会工作量\n（每千户案件）",
    "Reform cases open\n(street office)": "进行中的改革事项\n（街道办）",
    "Firms entered\n(since month 1)": "新进入的物业企业\n（自第1个月起）",
    "Areas on the fallback\nservice (托底)": "托底服务的\n管理区域",
    "Reception point\n(cases handled a month)": "联合接待点\n（每月处理事项）",
    "fallback service (托底)": "街道托底服务",
    "Reform cases open": "进行中的改革事项", "Firms entered": "新进入的物业企业",
    "Areas on the fallback service": "托底服务的管理区域",
    "year": "年",
    # toolbar, tabs, notes
    "Reset": "重置", "Step": "单步", "Months a second": "每秒月数", "Link to this setup": "本设置的链接",
    "These settings apply to both runs of the comparison.": "这些设置同时作用于对比中的两次运行。",
    "management areas": "个物业管理区域",
    # runs, districts, engines (plain names)
    "status quo": "现状", "integrated": "综合治理", "strong leads weak": "以强带弱",
    "self-governance": "居民自治", "nothing (one run)": "不对比（只运行一次）",
    "ouyang_road": "欧阳路街道", "generated, 40 estates": "生成的街区（40个小区）",
    "generated, 200 estates": "生成的街区（200个小区）", "uploaded CSV": "上传的CSV街区",
    "vector": "快速引擎（数组）", "mesa": "Mesa引擎（每户一个主体，较慢）",
    # the hover card
    "estate": "小区", "estates": "个小区", "yuan": "元",
    # the charts
    "Firms' margin (firms in the market)": "物业企业利润率（在市场中的企业）",
    "Residents' committee workload (cases per 1000 households)": "居委会工作量（每千户案件）",
    "Reform cases open (street office)": "进行中的改革事项（街道办）",
    "Firms entered (since month 1)": "新进入的物业企业（自第1个月起）",
    "Areas on the fallback service (托底)": "托底服务的管理区域",
    "Reception point (cases handled a month)": "联合接待点（每月处理事项）",
    "run": "运行", "value": "数值", "measure": "指标",
    # what an export says about its setup
    "management merger": "管理合并",
    "own settings": "自定设置", "Runs": "运行", "vs": "对比", "Changed": "改动", "on": "开", "off": "关",
    # sliders: labels and help
    "Largest estate that may merge (households)": "可参与合并的最大小区（户）",
    "Estates above this size are not proposed for a merger.": "超过此规模的小区不会被提议合并。",
    "Most estates in one merger": "一次合并的最多小区数",
    "How many neighbouring estates one management area may join.": "一个管理区域最多可合并的相邻小区数。",
    "Farthest apart (m)": "最远相距（米）",
    "Estates further apart than this are not merged.": "相距超过此距离的小区不会合并。",
    "Largest estate entrusted (households)": "可委托的最大小区（户）",
    "Estates above this size are not entrusted to a strong firm.": "超过此规模的小区不会委托给优质物业企业。",
    "Lead firm's reach (m)": "牵头企业的服务半径（米）",
    "A strong firm takes on estates within this distance of its office.":
        "优质企业接管其办公点此距离内的小区。",
    "Organising: monthly chance to join": "组织动员：每月加入的概率",
    "Chance a month that a household joins the volunteers when self-governance organises its estate.":
        "居民自治组织动员时，每户每月加入志愿者的概率。",
    "Subsidy (yuan/household/month)": "补贴（元/户/月）",
    "What the street office pays a block's firm for each household.": "街道办为街区物业企业按户支付的补贴。",
    "Reception point: staff-hours a month": "联合接待点：每月人工时",
    "Staff time of a block's joint reception point.": "街区联合接待点的工作人员时间。",
    "Evaluation score a firm must reach": "物业企业须达到的考评分",
    "A firm scoring below this in the yearly evaluation loses its block.":
        "年度考评低于此分的企业失去其街区。",
    "Rollout starts in year": "推行开始的年份", "The year the first blocks join.": "第一批街区加入的年份。",
    "Blocks joining a year (0: all at once)": "每年加入的街区数（0：一次全部）",
    "How fast the rollout reaches every block.": "推行覆盖所有街区的速度。",
    "Votes: owners' support for a merger": "投票：业主对合并的支持",
    "Base chance that an owner who votes says yes to a merger (briefings and dissatisfaction add to it). "
    "Applies to both runs.": "参与投票的业主赞成合并的基础概率（宣讲和不满会提高它）。同时作用于两次运行。",
    "Votes: share of floor area that must approve": "投票：须赞成的建筑面积占比",
    "A merger passes only with this share of the floor area for it (and a turnout of 2/3 of the owners). "
    "Applies to both runs.":
        "只有赞成的建筑面积达到此比例（且三分之二业主参与表决）合并才通过。同时作用于两次运行。",
    "Votes: strength of the fund dispute": "投票：维修资金之争的强度",
    "How much owners of estates with more maintenance fund than their neighbours vote against pooling it. "
    "Applies to both runs.": "维修资金多于邻近小区的业主反对资金合并的程度。同时作用于两次运行。",
    "Volunteer fatigue (monthly chance to stop)": "志愿者疲劳（每月退出的概率）",
    "Chance a month that a volunteer stops. Applies to both runs.":
        "志愿者每月退出的概率。同时作用于两次运行。",
    "Fee, after-sale public housing (yuan/m²/month)": "物业费：售后公房（元/平方米/月）",
    "The fee standard of the old public estates. Applies to both runs.":
        "老公房小区的物业费标准。同时作用于两次运行。",
    "Fee, commodity housing (yuan/m²/month)": "物业费：商品房（元/平方米/月）",
    "The fee standard of commodity estates. Applies to both runs.":
        "商品房小区的物业费标准。同时作用于两次运行。",
    # the events panel: kinds of event
    "merger passed": "合并通过", "vote failed": "投票未通过", "reform step": "改革步骤", "entrusted": "委托",
    "evaluation": "年度考评", "tender": "招标", "fee vote": "物业费投票", "fallback": "托底",
    "firm entered": "企业进入", "block integration": "街区一体化", "firm left": "企业退出", "other": "其他",
    "Year {}": "第{}年", "… and {} earlier events": "……以及更早的{}条事件",
    "Notable": "值得注意", "{} of this kind": "{}条",
    # several seeds
    "Several seeds": "多个随机种子", "Run {} seeds": "运行{}个随机种子",
    "{} of {} seeds done": "已完成{}/{}个随机种子",
    "The same setup with this seed and the next {}: each run's value in year {} (median "
    "[lowest, highest]).": "同一设置，用本随机种子及其后{}个：每次运行在第{}年的数值（中位数[最低, 最高]）。",
    "difference": "差值", "first ahead": "前者更高的种子数",
    # your own district, about
    "Drop a district CSV file here": "把街区CSV文件拖到这里",
    "Download the Ouyang Road district (CSV)": "下载欧阳路街区（CSV）",
    "Running on {}: {} estates, {} households.": "正在运行 {}：{}个小区，{}户。",
    "Hide docs/ODD.md": "隐藏 docs/ODD.md", "Settings": "设置",
    "Show the full model description (docs/ODD.md)": "显示完整的模型描述（docs/ODD.md）",
}
"""English label -> Chinese label (terms from the article where it has them)."""


EN: dict[str, str] = {
    "ouyang_road": "Ouyang Road (Shanghai)",
    "vector": "fast (arrays)",
    "mesa": "Mesa (one agent per household, slower)",
}
"""Codes that the page shows by a plain English name (districts, engines)."""


def tr(text: str, lang: str) -> str:
    """The label in the page's language (English when no translation is known; codes by their plain name)."""
    return ZH.get(text, text) if lang == "zh" else EN.get(text, text)


# --- errors: an uploaded district or a setup the app refuses (sim/districts.py, sim/app/model.py) ---
def _did_you_mean(match) -> str:
    return f"；是否指{match['m']}？" if match["m"] else ""


_ROW = r"row (?P<row>\d+): "
ERRORS_ZH: tuple[tuple[str, Any], ...] = (
    (r"not a text file in UTF-8 or GBK/GB18030: save it as 'CSV UTF-8' \(in Excel: Save As, CSV UTF-8\)",
     "不是UTF-8或GBK/GB18030编码的文本文件：请另存为“CSV UTF-8”（Excel中：另存为，CSV UTF-8）"),
    (_ROW + r"(?P<text>.+) is a percentage; write the number without % \(e\.g\. (?P<eg>.*)\)",
     "第{row}行：{text}是百分数；请写不带%的数（如{eg}）"),
    (_ROW + r"(?P<text>.+) is not a number; write it without separators \((?P<eg>.*)\)",
     "第{row}行：{text}不是数；请去掉分隔符（{eg}）"),
    (_ROW + r"(?P<text>.+) is not a number; use a dot for decimals \((?P<eg>.*)\)",
     "第{row}行：{text}不是数；小数请用点号（{eg}）"),
    (_ROW + r"(?P<text>.+) is not a number", "第{row}行：{text}不是数"),
    (_ROW + r"(?P<text>.+) is too large \(not a finite number\)", "第{row}行：{text}太大（不是有限数）"),
    (r"is larger than (?P<mb>\d+) MB; a district has at most (?P<n>[\d,]+) estates \(rows\)",
     "文件大于{mb} MB；一个街区最多有{n}个小区（行）"),
    (r"cannot read the file \((?P<why>.*)\)", "无法读取文件（{why}）"),
    (r"cannot read it \((?P<why>.*)\)", "无法读取文件（{why}）"),
    (r"file not found", "找不到文件"),
    (r"is a folder, not a file", "是文件夹，不是文件"),
    (r"not a CSV file \(it holds NUL bytes\): save it as 'CSV UTF-8'",
     "不是CSV文件（含有NUL字节）：请另存为“CSV UTF-8”"),
    (_ROW + r"(?P<n>\d+) values but (?P<cols>\d+) columns in the header"
     r"(?P<quoted> \(a number with a thousands separator must be quoted: \"14,000\"\))?",
     lambda m: f"第{m['row']}行：有{m['n']}个值，但表头只有{m['cols']}列"
     + ("（带千位分隔符的数须加引号：\"14,000\"）" if m["quoted"] else "")),
    (r"more than (?P<n>[\d,]+) estates \(rows\); split the district", "超过{n}个小区（行）；请拆分街区"),
    (r"not a readable CSV file \((?P<why>.*)\)", "无法读取的CSV文件（{why}）"),
    (r"not a district CSV: the file has no header row", "不是街区CSV：文件没有表头行"),
    (r"column given more than once", "该列出现了不止一次"),
    (r"required columns? (?:is|are) missing(?: \(did you mean: (?P<m>.*)\?\))?",
     lambda m: "缺少必需的列" + (f"（是否指：{m['m']}？）" if m["m"] else "")),
    (r"unknown column(?:; did you mean (?P<m>.*)\?)? \(model columns: (?P<cols>.*)\)",
     lambda m: f"未知的列{_did_you_mean(m)}（模型的列：{m['cols']}）"),
    (r"the file has no estates", "文件中没有小区"),
    (_ROW + r"unknown housing type (?P<t>'.*?')(?:; did you mean (?P<m>.*)\?)? \(known: (?P<known>.*), "
     r"or their Chinese names\)",
     lambda m: f"第{m['row']}行：未知的房屋类型{m['t']}{_did_you_mean(m)}"
               f"（已知：{m['known']}，或其中文名称）"),
    (r"unknown housing type (?P<t>.+) \(known: (?P<known>.*)\)", "未知的房屋类型{t}（已知：{known}）"),
    (_ROW + r"empty value", "第{row}行：值为空"),
    (_ROW + r"values must be finite numbers", "第{row}行：值须为有限数"),
    (_ROW + r"(?P<v>.+) must be in range \(above (?P<low>\S+), at most (?P<high>\S+)\)",
     "第{row}行：{v}超出范围（须大于{low}，至多{high}）"),
    (_ROW + r"(?P<v>.+) must be in range \(at least (?P<low>\S+), at most (?P<high>\S+)\)",
     "第{row}行：{v}超出范围（须至少{low}，至多{high}）"),
    (_ROW + r"(?P<v>.+) must be a whole number", "第{row}行：{v}须为整数"),
    (_ROW + r"(?P<v>.+) has '\+' \(it joins the ids of merged estates into an area's id\); give it a "
     r"shorter or other name", "第{row}行：{v}含有“+”（它用来连接合并小区的编号）；请换一个名称"),
    (_ROW + r"(?P<v>.+) has more than (?P<n>\d+) characters; give it a shorter or other name",
     "第{row}行：{v}超过{n}个字符；请换一个更短的名称"),
    (r"duplicate estate_id (?P<id>.+)", "estate_id重复：{id}"),
    (r"(?P<n>[\d,]+) households is too many to watch live \(at most (?P<most>[\d,]+)\); use "
     r"`estate-sim run` instead", "{n}户太多，无法实时观看（最多{most}户）；请改用 `estate-sim run`"),
    (r"no CSV file uploaded yet", "尚未上传CSV文件"),
)
"""An error's English message (a regular expression of its wording) -> its Chinese, with the file's
own values (rows, cells, column names) kept as they are."""
_ERRORS_ZH = [(re.compile(pattern), template) for pattern, template in ERRORS_ZH]


def tr_error(message: str, lang: str) -> str:
    """An InputError's message in the page's language; one not in ERRORS_ZH says so in Chinese first."""
    if lang != "zh":
        return message
    for pattern, template in _ERRORS_ZH:
        found = pattern.fullmatch(message)
        if found:
            return template(found) if callable(template) else template.format(**found.groupdict())
    return f"文件有误：{message}"


def error_text(source: str, message: str, key: str | None, lang: str) -> str:
    """What the page says about a refused file or setting: its name, what is wrong, the column or key."""
    where = ("（列或键：{}）" if lang == "zh" else " (column or key: {})").format(key) if key else ""
    return f"{source}{'：' if lang == 'zh' else ': '}{tr_error(message, lang)}{where}"

"""Chinese labels for the app (English is the source text; `tr` looks a label up)."""

from __future__ import annotations

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
    "Stopped at the horizon": "已到模拟终点",
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
}
"""English label -> Chinese label (terms from the article where it has them)."""


def tr(text: str, lang: str) -> str:
    """The label in the page's language (English when no translation is known)."""
    return ZH.get(text, text) if lang == "zh" else text

"""The app's "About this model" panel, in the manner of a NetLogo Info tab."""

from sim.params import PARAMETER_INDEX

ABOUT = """
## WHAT IS IT?

A model of how **small residential estates** (小小区) in a dense Shanghai district are governed.
Small estates have few households, so a property firm cannot cover its costs from their fees:
service is poor, residents stop paying, the firm cuts service further, and some estates end up
managed by nobody — "blind spots" of community governance.

Ouyang Road subdistrict (Hongkou District) tried three remedies and a fourth on top
(China Construction News, 16 January 2023):

* **N-in-1 merger** (N合一): neighbouring small estates of the same housing type merge into one
  management area, with one maintenance fund, one owners' committee, one fee standard and one
  good firm. The subdistrict went from 106 estates to 89 areas.
* **Strong leads weak** (以强带弱): an isolated small estate is entrusted to the firm of a nearby
  estate that has a better service level and reputation.
* **Specialised service plus self-governance** (物业专项管理+居民自治): a firm provides one service
  (repairs) while volunteers, organised by the residents' Party branch, patrol and clean.
* **Block integration** (街区一体化): a subsidy pays the firms of a street block for extra security,
  cleaning and fire patrols; a joint reception point hears residents every morning; a yearly
  evaluation takes contracts from poorly rated firms. About 13 weak firms left the market.

The model lets you switch these policies on and off and watch what they do.

## HOW IT WORKS

Every household of the district is an agent (about 24,000 on Ouyang Road). Owners' committees,
property firms and the street office (with the residents' committee) are agents too. One step
is **one month**:

1. **Service.** Each firm spends the fees it collects on its estates. Quality follows the money it
   has over the money an estate needs: guards for every gate, a manager, cleaning and repairs per
   m². Merged estates share gates and a manager; a firm with many sites spreads its office costs.
   This is where scale pays.
2. **Events.** Thefts and incidents are rarer where security is good and commoner in open estates
   with no guard; buildings wear out and the maintenance fund pays for repairs while it can.
3. **Satisfaction** moves slowly towards what residents see: quality, safety, buildings, and
   being heard — each household by its own case: a dissatisfied household brings a case, a desk
   (the reception point, its owners' committee, the residents' committee) hears it if it has
   staff-hours left, and the case is resolved or not; a household that brought no case is not
   moved by a desk existing.
4. **Fees.** Each household pays or not. Satisfied households pay more; habits persist; half the
   households pay more when their neighbours do (conditional cooperators); a third are free riders.
5. **Firm accounts.** Fees minus costs go to the firm's reserves. A loss-making firm cuts effort.
   A firm whose reserves stay negative, or that has no contract for a year, leaves the market.
6. **Committees** form where there are enough volunteers and lapse without them; after months of
   low satisfaction a committee calls a re-tender. Volunteers give hours (8 a month each); asked
   for more than they can give, they tire and stop sooner.
7. **The market.** A tender is held only where the money can pay the least service; otherwise
   the owners may vote a higher fee (after-sale public housing: at most the government-guided
   cap), and where no firm will bid the street office's **fallback service** (托底) takes over.
   New firms enter where there is money to earn; contracts come up for renewal.
8. **Reforms are cases** the street office works through month by month, as many as its staff-hours
   allow ({reform_staff_hours_per_month} hours a month: briefings and votes take the most).
   A merger takes three months of briefings, then the owners' vote, two months to pool the
   maintenance funds, a month to reorganise the owners' committee; an entrustment or a switch
   to self-governance needs a vote and a hand-over. A case goes ahead only if the owners of
   **every** estate involved vote for it, by the Civil Code's rules: two thirds must take part,
   and more than half of the participating owners and floor area must approve. A merger that
   would pool a rich maintenance fund with a poor one loses support (the fund dispute). A failed
   vote is tried again {vote_retry_months} months later. So reforms spread over years.
9. **Block integration** rolls out block by block (from a start year, a number of blocks a
   year); its reception point is staffed every morning (109 staff-hours a month, half of them the
   residents' committee's) and hears the block's cases first, 2.5 staff-hours a case; from the
   second year firms are rated, and a poorly rated firm may lose a contract if its owners vote
   for that.

The full description, with every equation and the source of every parameter, is the ODD
document **docs/ODD.md** in the project's repository.

## HOW TO USE IT

* The **Lesson** buttons above the map set up each part of the lesson in one click (Status quo,
  Integrated vs status quo, Groups A–D, Harder votes, Fund dispute, Tired volunteers) and start
  it afresh. The page opens on the status quo.
* **☰ Controls** opens the detailed controls: district, policies and their settings, votes,
  fees, volunteers, seed and engine. They take effect when you press **Reset**; until then a
  yellow note says *Changes not applied — press Reset*.
* **Step** runs one month; **▶** plays month after month and **❚❚** pauses; play stops by itself
  at the end of the scenario (year 20). *Speed* sets the months per second.
* **Compare with** (or a Group button) runs a second copy of the same district and seed under
  another policy set, side by side, so any difference is the policy's doing; each number tile
  then shows both runs and the difference.
* The **map** shows each estate as a circle at its place in the district; the key on its right
  names every mark. The circle's area is its number of households; colour it by *service
  quality*, *satisfaction*, *fee collection* or *management mode* with the buttons above it.
  Grey spokes join estates merged into one area. The circle's edge colour is the firm that
  manages it; numbered squares are the firms' offices; a black diamond marks an estate entrusted
  to a strong firm; a thin grey edge means no firm; in *management mode* dark grey estates are
  on the street office's fallback service; a black ring marks the estates named in this month's
  events. **Hover over an estate** to see its households, housing type, firm, mode,
  maintenance fund, owners' committee and satisfaction.
* The **tiles** give the worksheet's measures now; the **charts** show the district's measures
  month by month; the **events** say in plain words what happened, with a line per year, filters
  by kind, and each estate's vote on a merger.
* **Export**: the time series and the events as CSV, the map and the charts as PNG.
* **Your own district** (its own tab): drop a CSV file with one row per estate (columns
  `estate_id, households, floor_area_m2, housing_type, x_m, y_m`, optionally `block, gates,
  fee_yuan_per_m2, fund_yuan, condition`); it becomes the district at once, as *uploaded CSV*.

## THINGS TO NOTICE

* In the **status quo**, where do quality and satisfaction stay low? Look at the size of those
  estates and at their edges: who manages them?
* When does the first **merger** complete, and how many **reform cases** are open at a time
  (the chart)? Do the merged estates' colours change at once, or slowly?
* Which estates are on the street office's **fallback service** (托底), and why will no firm bid
  for them? What happens to them under the integrated policy?
* Watch the **firms** chart and the events list. Which firms leave the market, and when? Is a
  firm leaving good or bad news for the residents of its estates?
* Some mergers are **voted down**. Which ones? Compare the estates' maintenance funds and
  satisfaction before the vote.
* The **residents' committee workload** (its staff-hours, in cases) changes under block
  integration: its own desk hears fewer cases, but its staff sit at the reception point every
  morning. Does the committee travel light (轻装上阵), as the article says?

## THINGS TO TRY

* Compare **status quo** with **integrated**, side by side, over ten years. Which outcome improves
  most? Which hardly moves?
* Switch on one policy at a time (the Group buttons). Which does most for the smallest estates?
  Which for fee collection?
* Make merger votes harder: raise *approval share of floor area* (the Civil Code asks for more
  than half) or the *fund dispute* strength. How many mergers still pass?
* Raise **volunteer fatigue** with only self-governance on. How long do the volunteers last?
* Lower the **reception point's staff-hours**, or roll block integration out a few blocks a year:
  how many cases go unheard, and what happens to the committee's workload and to satisfaction?
* Lower the **fee** of after-sale public housing. Can a firm still cover its costs? When does the
  low fee → poor service → low payment spiral start?
* Run the same settings with another **seed**. What changes, and what stays the same? Which
  conclusions would you trust?

## EXTENDING THE MODEL

A new policy is a class in the `sim/policies/` package, registered for the street office; a new parameter is a
row in `sim/params.py`. `estate-sim run scenarios/integrated.yaml` runs the same model without
the app; `estate-sim sweep` runs many seeds and settings.

## CREDITS AND REFERENCES

Facts: "欧阳路街道破解小小区治理难题" (China Construction News, 2023-01-16). Behavioural rules:
Fischbacher, Gächter and Fehr (2001) on conditional cooperation; Fehr and Gächter (2000) on
enforcement; owners' votes: Civil Code of the PRC, Art. 278. Built with Mesa (Kazil et al. 2020)
and Solara. See docs/ODD.md for the model description and all sources.
"""
for _name in ("reform_staff_hours_per_month", "vote_retry_months"):  # quoted from the parameter table
    ABOUT = ABOUT.replace(f"{{{_name}}}", str(PARAMETER_INDEX[_name].default))

ABOUT_ZH = """
## 这是什么？

一个关于上海中心城区**小小区**治理的模型。小小区户数少，物业企业靠物业费难以维持：服务变差，
居民不再缴费，企业进一步削减服务，有的小区最终无人管理，成为社区治理的"盲区"。

虹口区欧阳路街道尝试了三种办法，并在此基础上加了第四种（《中国建设报》2023年1月16日）：

* **N合一**：相邻、同类型的小小区合并为一个物业管理区域，统一维修资金、业主委员会、收费标准和物业企业。
* **以强带弱**：孤立的小小区委托给附近服务水平和口碑更好的物业企业。
* **物业专项管理+居民自治**：物业企业只提供专项服务（维修），志愿者在居民区党支部组织下巡逻、保洁。
* **街区一体化**：补贴街区内的物业企业提供安保、保洁和消防巡查；联合接待点每天听取居民意见；
  年度考评淘汰评分低的企业。约13家弱小物业企业退出了市场。

在模型中，这些改革都是街道办逐月推进的"事项"：合并要先宣传三个月，再由业主投票，随后合并维修资金、
重组业主委员会，因此改革会延续数年。收费不足以支撑最低服务、又无企业投标的小区，由街道托底服务。

## 如何使用

* 左侧**课堂环节**按钮一键设置课堂的每个环节（现状、综合治理对比现状、A–D组、更难的投票、
  维修资金之争、疲惫的志愿者）。
* 也可以自己调整控制项，然后按 **Reset（重置）** 生效；控制项与正在运行的模型不同时，会显示
  "更改尚未生效——请按'重置'"。
* **Step** 前进一个月；**▶** 连续运行，**❚❚** 暂停；到第20年自动停止。
* **地图**：每个圆圈是一个小区，面积表示户数，颜色表示所选指标；边框颜色是管理它的物业企业；
  带编号的方块是企业办公点；灰色辐条连接合并后同一管理区域的小区；黑色菱形表示"以强带弱"委托；
  黑色圆环表示本月事件涉及的小区。把鼠标移到小区上可以查看详情。
* **数字卡片**对应学习单上的各项指标；并排对比时显示两者之差。**事件**面板按年汇总，可按类型筛选，
  合并投票会显示每个小区的赞成比例以及是谁投了反对票。
* **导出**：时间序列和事件（CSV），地图和图表（PNG）。

完整的模型说明（ODD）见项目仓库中的 **docs/ODD.md**。
"""
"""The About panel in Chinese (a shorter version of ABOUT)."""

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
* The **map** shows each estate as a circle at its place in the district; the key under it
  names every mark. The circle's area is its number of households; colour it by *service
  quality*, *satisfaction*, *fee collection* or *management mode* with the buttons above it.
  Grey spokes join estates merged into one area. The circle's edge colour is the firm that
  manages it; numbered squares are the firms' offices; a black diamond marks an estate entrusted
  to a strong firm; a thin grey edge means no firm; in *management mode* dark grey estates are
  on the street office's fallback service; a black ring marks the estates named in this month's
  events. **Hover over an estate** to see its households, housing type, firm, mode,
  maintenance fund, owners' committee and satisfaction.
* The **tiles** give the worksheet's measures now; the **charts** show the district's measures
  month by month; the **events** say in plain words what happened, with a line per year, the
  notable ones (mergers, failed votes, firms leaving), filters by kind, and each estate's vote on a
  merger: its turnout, its support and the rule that decided it.
* **Export**: the time series and the events as CSV, the map and the charts as PNG.
* **Run 10 seeds** runs the same setup with this seed and the next nine for ten years, in the
  background, and shows each run's median and range in year 10 (and, side by side, the difference
  seed by seed): which differences hold whatever the seed?
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

一个关于上海中心城区**小小区**如何治理的模型。小小区户数少，物业企业靠它们的物业费无法维持成本：
服务变差，居民不再缴费，企业进一步削减服务，有的小区最终无人管理，成为社区治理的"盲区"。

虹口区欧阳路街道尝试了三种办法，并在此基础上加了第四种（《中国建设报》2023年1月16日）：

* **N合一**：相邻、同一房屋类型的小小区合并为一个物业管理区域，统一维修资金、业主委员会、
  收费标准，并选聘一家好的物业企业。街道由106个小区变为89个管理区域。
* **以强带弱**：孤立的小小区委托给附近服务水平和口碑更好的小区的物业企业。
* **物业专项管理+居民自治**：物业企业只提供一项专项服务（维修），志愿者在居民区党支部的组织下
  巡逻、保洁。
* **街区一体化**：补贴街区内的物业企业，增加安保、保洁和消防巡查；联合接待点每天上午听取居民
  意见；年度考评把合同从评分低的企业手中收回。约13家弱小物业企业退出了市场。

在模型中你可以开启或关闭这些政策，观察它们的效果。

## 它如何运作

街区的每一户都是一个主体（欧阳路约24,000户）。业主委员会、物业企业和街道办（连同居委会）
也是主体。每一步是**一个月**：

1. **服务。** 每家物业企业把收到的物业费用于所管的小区。服务质量取决于它拥有的钱与小区所需的钱
   之比：每个出入口的保安、一名经理、按平方米计的保洁和维修。合并后的小区共用出入口和经理；
   管理多个项目的企业分摊办公成本。规模的好处正在于此。
2. **事件。** 安保好的地方盗窃和事故较少，没有保安的开放式小区较多；楼房会老化，维修资金在
   够用时支付维修。
3. **满意度**缓慢地向居民所见靠拢：质量、安全、楼房状况，以及诉求是否被听到——每户按自己的
   诉求计：不满意的住户提出诉求，受理点（联合接待点、业主委员会、居委会）若还有人工时就会受理，
   诉求得到解决或没有解决；没有提出诉求的住户不会因为有受理点而改变满意度。
4. **物业费。** 每户缴或不缴。满意的住户缴得更多；习惯会延续；一半住户在邻居缴费时也更愿意缴
   （有条件的合作者）；三分之一是搭便车者。
5. **企业账目。** 物业费减去成本计入企业储备金。亏损的企业会减少投入。储备金持续为负、
   或一年没有合同的企业退出市场。
6. **业主委员会**在志愿者足够时成立，没有志愿者时停摆；满意度连续几个月偏低后，业主委员会
   会发起重新招标。志愿者提供时间（每人每月8小时）；要求超过他们能给的，他们会更快疲惫并退出。
7. **市场。** 只有在钱能支付最低限度服务的地方才会招标；否则业主可以投票提高物业费（售后公房：
   最高到政府指导价上限），没有企业投标的地方由街道的**托底服务**接管。哪里有钱可赚，
   新企业就会进入；合同到期会续签或重新招标。
8. **改革是"事项"**，街道办按月逐一推进，数量受其人工时限制（每月{reform_staff_hours_per_month}小时：
   宣讲和投票最费时）。一次合并先宣讲三个月，然后业主投票，用两个月合并维修资金，
   再用一个月重组业主委员会；委托或转为自治需要一次投票和一次移交。只有**每个**相关小区的业主
   按《民法典》的规则投票赞成，事项才能推进：三分之二的业主参与表决，且参与表决的业主人数和
   建筑面积都须过半数同意。把一笔多的维修资金和一笔少的合并会失去支持（维修资金之争）。
   投票未通过的，{vote_retry_months}个月后再试。所以改革会延续数年。
9. **街区一体化**逐个街区推行（从起始年份开始，每年若干个街区）；联合接待点每天上午有人值守
   （每月109人工时，一半来自居委会），优先受理本街区的诉求，每件2.5人工时；从第二年起对企业考评，
   评分低的企业如其业主投票同意，可能失去合同。

完整的模型说明，连同每个方程和每个参数的来源，见项目仓库中的 ODD 文档 **docs/ODD.md**。

## 如何使用

* 地图上方的**课堂环节**按钮一键设置课堂的每个环节（现状、综合治理对比现状、A–D组、
  更难的投票、维修资金之争、疲惫的志愿者），并重新开始。页面打开时是现状。
* **☰ 控制**打开详细控制项：街区、政策及其设置、投票、物业费、志愿者、随机种子和引擎。
  按**重置**后生效；在此之前会显示黄色提示"更改尚未生效——请按'重置'"。
* **单步**前进一个月；**▶** 一个月接一个月地运行，**❚❚** 暂停；到情景结束（第20年）自动停止。
  *每秒月数*设置运行速度。
* **并排对比**（或某个分组按钮）在同一街区、同一随机种子下，用另一套政策再运行一份，
  并排显示，因此任何差别都来自政策；这时每张数字卡片同时显示两次运行和它们的差。
* **地图**把每个小区画成它所在位置上的一个圆；地图下方的图例说明每种标记。圆的面积表示户数；
  用地图上方的按钮按*服务质量*、*满意度*、*物业费收缴*或*管理模式*着色。灰色辐条连接合并为
  同一管理区域的小区。圆的边框颜色表示管理它的物业企业；带编号的方块是企业办公点；黑色菱形
  表示委托给优质企业的小区；细灰边框表示没有物业企业；在*管理模式*下深灰色的小区由街道托底服务；
  黑色圆环表示本月事件涉及的小区。**把鼠标移到小区上**可以查看它的户数、房屋类型、物业企业、
  管理模式、维修资金、业主委员会和满意度。
* **数字卡片**给出学习单上各项指标的当前值；**图表**逐月显示街区的各项指标；**事件**用平实的
  语言说明发生了什么：每年一行汇总、值得注意的事件（合并、投票未通过、企业退出）、按类型筛选，
  以及每次合并投票中每个小区的投票率、赞成比例和结果。
* **导出**：时间序列和事件导出为 CSV，地图和图表导出为 PNG。
* **运行10个随机种子**：在后台用本随机种子及其后九个，把同一设置各运行十年，显示每次运行在第10年的
  中位数和范围（并排对比时还有逐个种子的差值）：哪些差别不论随机种子如何都成立？
* **你自己的街区**（单独的标签页）：拖入一个每个小区一行的 CSV 文件（列见该页的说明）；
  它立即成为当前街区，名为*上传的CSV街区*。

## 值得注意的现象

* 在**现状**下，哪里的服务质量和满意度一直偏低？看看这些小区的规模和边框：谁在管理它们？
* 第一次**合并**何时完成？同时有多少**改革事项**在进行（见图表）？合并后小区的颜色是马上变，
  还是慢慢变？
* 哪些小区由街道**托底服务**，为什么没有企业愿意投标？在综合治理政策下它们会怎样？
* 观察**物业企业**图表和事件列表。哪些企业退出了市场，何时退出？企业退出对它所管小区的居民是
  好消息还是坏消息？
* 有些合并被**投票否决**。是哪些？比较这些小区在投票前的维修资金和满意度。
* 在街区一体化下，**居委会工作量**（它的人工时，以诉求件数计）会变化：它自己的受理点受理的
  诉求变少了，但它的人员每天上午要在联合接待点值守。居委会真的"轻装上阵"了吗，如文章所说？

## 可以尝试的事

* 把**现状**和**综合治理**并排对比十年。哪项结果改善最多？哪项几乎不动？
* 每次只开启一项政策（分组按钮）。哪项对最小的小区帮助最大？哪项对物业费收缴帮助最大？
* 让合并投票更难：提高*须赞成的建筑面积占比*（《民法典》要求过半数）或*维修资金之争的强度*。
  还有多少合并能通过？
* 只开启居民自治，提高**志愿者疲劳**。志愿者能坚持多久？
* 减少**联合接待点的人工时**，或每年只在少数几个街区推行街区一体化：有多少诉求没有被受理，
  居委会的工作量和满意度会怎样？
* 降低售后公房的**物业费**。企业还能维持成本吗？"低收费 → 差服务 → 低缴费"的恶性循环何时开始？
* 用另一个**随机种子**运行同样的设置。什么变了，什么没变？你会相信哪些结论？

## 扩展模型

新的政策是 `sim/policies/` 包中的一个类，注册给街道办使用；新的参数是 `sim/params.py` 中的一行。
`estate-sim run scenarios/integrated.yaml` 不用本应用运行同一个模型；`estate-sim sweep`
运行多个随机种子和设置。

## 致谢与参考文献

事实："欧阳路街道破解小小区治理难题"（《中国建设报》，2023-01-16）。行为规则：
Fischbacher、Gächter 和 Fehr（2001）关于有条件合作；Fehr 和 Gächter（2000）关于惩罚与执行；
业主投票：《中华人民共和国民法典》第278条。使用 Mesa（Kazil 等，2020）和 Solara 构建。
模型说明和全部来源见 docs/ODD.md。
"""
"""The About panel in Chinese: the same sections and content as ABOUT."""
for _name in ("reform_staff_hours_per_month", "vote_retry_months"):
    ABOUT_ZH = ABOUT_ZH.replace(f"{{{_name}}}", str(PARAMETER_INDEX[_name].default))

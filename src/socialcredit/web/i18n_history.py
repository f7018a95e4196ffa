"""The words of the score history page and the public look-up's details and pages (key: (Chinese, English));
merged into ``i18n.MESSAGES`` (issue 18: score history, public look-up)."""

from __future__ import annotations

__all__ = ["HISTORY_PAIRS"]

HISTORY_PAIRS: dict[str, tuple[str, str]] = {
    "nav_history": ("信用变化", "History"),
    "history_title": ("分数与等级的变化", "Your score and tier over time"),
    "history_lead": (
        "每次评分的分数、等级和排名，最新的在前；每一次都写明与上一次相比有何变化：哪些规则的分数变了、变了多少，进入或离开了哪些名单。",
        "Your score, tier and rank at every scoring run, newest first, each with what changed since the run "
        "before: the rules whose points moved and by how much, and the lists you entered or left.",
    ),
    "history_policy": ("{name}", "{name}"),
    "history_none": ("您还没有被评分。", "You have not been scored yet."),
    "history_live_heading": ("当前（实时）", "Now (live)"),
    "history_live": (
        "自 {date} 的评分以来，您的记录有变化，已即时重新计算（数据截至变更序号 {watermark}）。",
        "Your file changed since the run of {date} and was rescored at once (as of change number {watermark}).",
    ),
    "history_live_not_kept": (
        "实时变化不单独保存：这里显示的是当前结果；下一次评分会把它记入历史。",
        "Live changes are not kept one by one: this is where you stand now, and the next run enters it in the history.",
    ),
    "history_run": ("{date} 的评分", "Run of {date}"),
    "history_run_meta": ("第 {run} 次评分 · 政策版本 {version}", "run {run} · policy version {version}"),
    "history_score": ("分数", "Score"),
    "history_not_in_force": (
        "{standing}：决定和名单都不以这次评分为准；这里的变化是与它之前的评分相比。",
        "{standing}: no decision or list stands on this run; its change is from the run before it.",
    ),
    "history_tier": ("等级", "Tier"),
    "history_rank": ("排名", "Rank"),
    "history_first": ("这是您的第一次评分。", "This is your first scoring run."),
    "history_score_change": ("与上次相比 {d} 分", "{d} points since the run before"),
    "history_no_change": ("与上次相比没有变化。", "Nothing changed since the run before."),
    "history_tier_change": ("等级由 {before} 变为 {after}", "Tier {before} became {after}"),
    "history_rules_caption": ("分数有变化的规则", "Rules whose points changed"),
    "history_rule": ("规则", "Rule"),
    "history_before": ("上次", "Before"),
    "history_after": ("本次", "Now"),
    "history_difference": ("变化", "Change"),
    "history_entered": ("列入：{lists}", "Entered: {lists}"),
    "history_left": ("移出：{lists}", "Left: {lists}"),
    "history_lists": ("名单：{lists}", "Lists: {lists}"),
    "history_in_notice": (
        "已通知、尚在宽限期内（未列入）：{lists}",
        "Notice given, in the grace period (not listed): {lists}",
    ),
    "history_chart_title": ("{policy}：历次评分", "{policy}: score at each run"),
    "history_chart_desc": ("折线图：横轴为评分日期，纵轴为分数。", "Line chart: the run's date across, the score up."),
    # the public look-up: the details of a listing and the pages of results
    "public_col_authority": ("认定机关", "Authority"),
    "public_col_case_number": ("案号/文号", "Case number"),
    "public_col_amount": ("金额（元）", "Amount (yuan)"),
    "public_col_decided_on": ("日期", "Date"),
    "public_col_under_dispute": ("异议", "Dispute"),
    "public_under_dispute": ("异议处理中", "under dispute"),
    "public_total": ("共 {total} 条，第 {page}/{pages} 页", "{total} in all, page {page} of {pages}"),
    "public_prev": ("上一页", "Previous page"),
    "public_next": ("下一页", "Next page"),
    "public_pages": ("结果分页", "Pages of results"),
    # a page that is no whole number, refused by the page before the registry is asked (its other refusals are the
    # registry's, in the page's language: public_lists)
    "public_err_page": ("页码应为 1 至 {most} 的整数，收到的是 {sent}", "page must be from 1 to {most}, not {sent}"),
}

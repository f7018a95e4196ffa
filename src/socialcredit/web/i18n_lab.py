"""The words of the policy lab's dashboard panels (key: (Chinese, English)); merged into ``i18n.MESSAGES``
(issue 19: impact, disparity audit, drift)."""

from __future__ import annotations

__all__ = ["LAB_PAIRS"]

LAB_PAIRS: dict[str, tuple[str, str]] = {
    "lab_disparity": ("群体差异审计", "Disparity audit"),
    "lab_disparity_help": (
        "第 {run} 次评分：{n} 个群体的比率超出总体比率的 0.8–1.25 倍（其中 {warnings} 个的 95% 置信区间整体在外）。"
        "下表为最极端者；完整列表见 policy lint --db。",
        "Run {run}: {n} groups have a rate outside 0.8–1.25 times everyone's ({warnings} with the whole 95% "
        "interval outside). The most extreme are below; `policy lint --db` lists every one.",
    ),
    # what a blacklist's rate counts (registry/reporting/lab_panels.py applied_audit), under the panel's help
    "lab_disparity_counts": (
        "{list}：与按区、职业和年龄段的统计一样计数——计入 {counted} 人，其中暂不适用（名单仍生效，决定不再适用）"
        "{held} 人；未计入：告知期内 {notice} 人，评分后已结束 {ended} 人。各项服务的拒绝率按评分时的名单计算。",
        "{list}: counted as the figures by district, profession and age band count it — {counted} persons, of which "
        "{held} held (listed in effect, decisions no longer apply it); left out: {notice} in the notice period, "
        "{ended} ended since the run. The refusal rates per service count the lists as the run found them.",
    ),
    "lab_flagged_groups": ("比率最极端的群体", "The groups furthest from everyone's rate"),
    "lab_group": ("群体", "Group"),
    "lab_metric": ("指标", "Measure"),
    "lab_rate": ("群体 / 总体", "Group / everyone"),
    "lab_ratio": ("比率（95% 区间）", "Ratio (95% interval)"),
    "lab_level": ("级别", "Level"),
    "lab_rules": ("差异最大的规则（平均分差）", "Rules that differ most (mean points)"),
    "lab_level_warning": ("警告", "warning"),
    "lab_level_note": ("提示", "note"),
    "lab_dim_district": ("区", "District"),
    "lab_dim_sex": ("性别", "Sex"),
    "lab_dim_age_band": ("年龄段", "Age band"),
    "lab_dim_profession": ("职业", "Profession"),
    "lab_drift": ("分布漂移", "Drift"),
    "lab_drift_none": ("尚无同一政策的两次评分可比较。", "No policy has two runs to compare yet."),
    "lab_drift_line": (
        "{policy}：第 {a} 次到第 {b} 次评分，分数的群体稳定性指数（PSI）为 {psi}。",
        "{policy}: from run {a} to run {b}, the population stability index (PSI) of scores is {psi}.",
    ),
    "lab_drift_alert": (
        "警报：“{what}”的 PSI 为 {psi}，超过 0.25。",
        "Alert: the PSI of “{what}” is {psi}, above 0.25.",
    ),
    "lab_drift_quiet": ("没有超过 0.25 的 PSI。", "No PSI above 0.25."),
    "lab_drift_scale": (
        "两次评分的分数在同一标尺 {lo}–{hi} 上分为 {bins} 组比较（两个政策版本的分数范围）。",
        "Both runs' scores are compared in {bins} bins over one scale, {lo}–{hi} (both policy versions' range).",
    ),
    "lab_drift_added": (
        "仅在第 {run} 次评分中的规则（新增，不计漂移）：{rules}",
        "Rules only in run {run} (added; no drift): {rules}",
    ),
    "lab_drift_removed": (
        "仅在第 {run} 次评分中的规则（已删除，不计漂移）：{rules}",
        "Rules only in run {run} (removed; no drift): {rules}",
    ),
    "lab_drift_score": ("分数分布", "the score distribution"),
    "lab_measure_list": ("列入{name}", "on the {name}"),
    "lab_measure_refused": ("被拒绝：{name}", "refused: {name}"),
    "lab_measure_tier": ("等级 {name}", "grade {name}"),
    "lab_sex_M": ("男", "men"),
    "lab_sex_F": ("女", "women"),
}

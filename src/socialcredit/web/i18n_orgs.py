"""Issue 20, organisations (web/org_pages.py): the words of an organisation's file and its look-up."""

from __future__ import annotations

__all__ = ["ORG_PAIRS"]

ORG_PAIRS: dict[str, tuple[str, str]] = {
    "org_search_title": ("企业信用查询", "Organisations"),
    "org_search_label": ("统一社会信用代码或企业名称", "Unified social credit code or name"),
    "org_search_help": (
        "输入18位统一社会信用代码，或企业名称的一部分（2至64个字符）。每次查询均记入审计日志。",
        "Enter the 18-character unified social credit code, or a part of the name (2 to 64 characters). Every "
        "search is audited.",
    ),
    "org_search_help_resident": (
        "仅显示您目前担任法定代表人的企业。",
        "Only the organisations you are currently the legal representative of are shown.",
    ),
    "org_found": ("“{q}”的查询结果：第{page}页", "Results for “{q}”: page {page}"),
    "org_none": ("没有找到企业。", "No organisation found."),
    "org_next_page": ("下一页", "Next page"),
    # a refused search, in the page's language (the registry says it in English, for the API and the CLI)
    "org_err_page": ("页码应为 1 至 {most} 的整数，收到的是 {sent}", "page must be from 1 to {most}, not {sent}"),
    "org_err_query": (
        "请输入统一社会信用代码或企业名称的一部分（2 至 {most} 个字符）",
        "q must be a unified social credit code or a part of a name (2 to {most} characters)",
    ),
    "org_err_code": (
        "这不是有效的统一社会信用代码：{value}",
        "That is not a valid unified social credit code: {value}",
    ),
    "org_err_code_length": (
        "这不是有效的统一社会信用代码：{value} 不是 18 位",
        "That is not a valid unified social credit code: {value} does not have 18 characters",
    ),
    "org_err_code_format": (
        "这不是有效的统一社会信用代码：{value} 含有代码中不会出现的字符（只有 0–9 和除 I、O、S、V、Z 以外的大写字母）",
        "That is not a valid unified social credit code: {value} has a character no code has (only 0-9 and A-Z "
        "without I, O, S, V, Z)",
    ),
    "org_err_code_checksum": (
        "这不是有效的统一社会信用代码：{value} 的校验码（最后一位）不对，可能有一位输错了",
        "That is not a valid unified social credit code: the check character (the last) of {value} does not match; "
        "a character may be mistyped",
    ),
    "org_code": ("统一社会信用代码", "Unified social credit code"),
    "org_name": ("企业名称", "Name"),
    "org_district": ("所在区", "District"),
    "org_file_title": ("企业信用档案", "Organisation's credit file"),
    "org_print": ("可打印的报告", "Printable report"),
    "org_scores": ("评分与名单", "Scores and lists"),
    "org_policy": ("政策", "Policy"),
    "org_score": ("分数", "Score"),
    "org_tier": ("等级", "Grade"),
    "org_lists": ("名单", "Lists"),
    "org_not_listed": ("未列入名单", "on no list"),
    "org_listings": ("列入名单记录", "Listings"),
    "org_list": ("名单", "List"),
    "org_cause": ("原因", "Cause"),
    "org_noticed": ("告知日期", "Notice"),
    "org_effective": ("生效日期", "In effect from"),
    "org_status": ("状态", "Status"),
    "org_records": ("信用记录", "Records"),
    "org_date": ("日期", "Date"),
    "org_source": ("来源", "Source"),
    "org_record": ("记录编号", "Record"),
    "org_type": ("类型", "Type"),
    "org_disputes": ("异议", "Disputes"),
    "org_repairs": ("信用修复申请", "Credit repair applications"),
    "org_number": ("编号", "Number"),
    "org_opened": ("提出日期", "Opened"),
    "org_applied": ("申请日期", "Applied"),
    "org_acting_for": ("代表企业办理人", "Acting for the organisation"),
    "org_persons": ("关联人员", "Related persons"),
    "org_person_name": ("姓名", "Name"),
    "org_person_id": ("身份证号", "Identity number"),
    "org_role": ("职务", "Role"),
    "org_since": ("起", "From"),
    "org_until": ("止", "Until"),
    "org_current": ("现任", "current"),
    "org_masked": (
        "姓名与身份证号已作遮蔽处理：仅运营方可见全文。",
        "Names and identity numbers are shown masked: only an operator sees them in full.",
    ),
    "org_lookups": ("本档案的查询记录", "Look-ups of this file"),
    "org_by_representative": ("法定代表人", "the legal representative"),
    "org_by_operator": ("运营方", "an operator"),
    "org_act_for": (
        "作为法定代表人，您可以代表企业办理：对企业的记录提出异议（见各记录旁的“提出异议”），对失信记录申请信用修复（见各记录旁的"
        "“申请信用修复”），在异议页面补充材料、上传证据或撤回企业的异议（点击异议编号）。",
        "As its legal representative you act for the organisation: dispute a record (the “Dispute this” link by the "
        "record), apply for the repair of a negative record (the “Apply for repair” link by the record), and add "
        "information, attach evidence or withdraw its disputes on their pages (the dispute's number).",
    ),
    "org_dispute_acting": (
        "您作为{name}（统一社会信用代码 {org}）的法定代表人，代表企业对其记录提出异议。异议记录您的身份证号。",
        "You dispute a record of {name} (USCC {org}) as its legal representative; the dispute keeps your identity "
        "number.",
    ),
    "org_back_to_file": ("返回企业档案", "Back to the organisation's file"),
    "org_disputes_of": ("企业的异议", "The organisation's disputes"),
    "org_disputes_none": ("企业还没有异议。", "No record of the organisation has been disputed."),
    "org_repairs_of": ("企业的信用修复申请", "The organisation's repair applications"),
    "org_apply_repair": ("申请信用修复", "Apply for repair"),
    "org_repair_acting": (
        "您作为{name}（统一社会信用代码 {org}）的法定代表人，代表企业申请信用修复。申请记录您的身份证号。",
        "You apply for the repair of a record of {name} (USCC {org}) as its legal representative; the application "
        "keeps your identity number.",
    ),
    "org_nothing": ("无。", "Nothing recorded."),
    "memoranda_title": ("联合惩戒备忘录", "Joint-punishment memoranda"),
    "memorandum_measure": ("措施", "Measure"),
    "memorandum_agency": ("实施单位", "Agency"),
    "memorandum_service": ("限制的服务", "Service refused"),
    "memorandum_list": ("名单", "List"),
    "memorandum_issued": ("{date}发布，文号{number}", "issued {date}, {number}"),
}

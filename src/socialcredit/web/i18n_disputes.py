"""The words of a dispute's own page, the furnisher's page, the operator's review, the new-link form and the outbox
(key: (Chinese, English)); merged into ``i18n.MESSAGES``."""

from __future__ import annotations

__all__ = ["DISPUTE_PAIRS"]

DISPUTE_PAIRS: dict[str, tuple[str, str]] = {
    "role_furnisher": ("数据来源机构", "furnisher"),
    "forbidden_furnisher": (
        "此页面只供数据来源机构答复对其记录的异议。",
        "This page is for furnishers answering disputes of their records.",
    ),
    "dispute_status_retracted": ("本人已撤回", "withdrawn by you"),
    "dispute_open_page": ("查看详情、上传证据或撤回", "Details, evidence files, withdrawal"),
    "dispute_back": ("返回我的异议", "Back to my disputes"),
    "dispute_back_org": ("返回单位档案", "Back to the organisation's file"),
    "dispute_acting_for_org": (
        "您作为单位（统一社会信用代码 {org}）的现任法定代表人办理此异议；您的每一步操作都以您的身份记录在案。",
        "You act on this dispute as the current legal representative of organisation {org}; each step you take is "
        "recorded under your identity.",
    ),
    "dispute_filed_here": (
        "异议 {id} 已受理。您可以在下面上传证据文件。",
        "Dispute {id} was received. You may attach evidence files below.",
    ),
    "evidence_files": ("证据文件", "Evidence files"),
    "evidence_none": ("没有证据文件。", "No evidence file."),
    "evidence_file_line": ("{name}（{size}，{date}上传）", "{name} ({size}, added {date})"),
    "evidence_add": ("上传证据文件", "Attach an evidence file"),
    "evidence_add_label": ("文件（PDF、PNG 或 JPEG，不超过 1 MiB）", "File (PDF, PNG or JPEG, at most 1 MiB)"),
    "evidence_add_help": (
        "每项异议最多 {n} 个文件。文件加密保存，只有您、被异议记录的来源机构和登记机构工作人员可以查看。",
        "At most {n} files a dispute. Files are kept encrypted; only you, the source of the record and the registry's "
        "staff can read them.",
    ),
    "evidence_send": ("上传", "Attach"),
    "evidence_added": ("文件已上传。", "The file was attached."),
    "evidence_missing": ("请选择一个文件。", "Choose a file."),
    "evidence_too_large": (
        "证据文件不得超过 1 MiB（1,048,576 字节）；此文件为 {size} 字节。",
        "An evidence file is at most 1 MiB (1,048,576 bytes); this one is {size} bytes.",
    ),
    "evidence_bad_type": (
        "证据文件须为 PDF、PNG 或 JPEG 文件；此文件都不是。",
        "Evidence must be a PDF, PNG or JPEG file; this file is none of them.",
    ),
    "dispute_withdraw": ("撤回异议", "Withdraw the dispute"),
    "dispute_withdraw_help": (
        "撤回后，该记录保持不变并重新计入；如记录仍有错误，可以再次提出异议。",
        "The record then stays as it is and counts again; you may dispute it again if it is still wrong.",
    ),
    "dispute_withdraw_label": ("撤回原因（可选）", "Why (optional)"),
    "dispute_withdrawn_done": ("异议已撤回。", "The dispute was withdrawn."),
    "review_heading": ("人工复核", "Human review"),
    "review_escalated": ("{date}转交人工复核：{reason}", "Sent to a human review on {date}: {reason}"),
    "review_pending": ("复核结论尚未作出。", "The reviewer has not decided yet."),
    "review_decision_upheld": ("维持记录", "upheld: the record stands"),
    "review_decision_corrected": ("记录已更正", "record corrected"),
    "review_decision_withdrawn": ("记录已撤回", "record withdrawn"),
    "review_decided": ("{date}复核结论：{decision}", "Decided on {date}: {decision}"),
    "review_reasons": ("理由：", "Reasons:"),
    "review_escalate": ("转交人工复核", "Escalate to a human review"),
    "review_escalate_label": ("转交原因", "Why it needs a review"),
    "review_decide": ("作出复核结论", "Record the review's decision"),
    "review_decision_label": ("结论", "Decision"),
    "review_reasons_label": ("书面理由", "Written reasons"),
    "review_send": ("保存", "Save"),
    "review_saved": ("已保存。", "Saved."),
    "ops_dispute_open": ("查看", "Open"),
    "dispute_subject": ("居民", "Resident"),
    "dispute_answer_note": ("答复说明：", "The answer:"),
    # the furnisher's page
    "furnisher_title": ("对本机构记录的异议", "Disputes of our records"),
    "furnisher_lead": (
        "居民对 {source} 报送记录提出的异议。请在答复期限前核实并答复：逾期未答复的，记录将被撤回。",
        "Residents' disputes of the records {source} sent. Check each and answer by its deadline: a dispute not "
        "answered in time is resolved for the resident and the record is withdrawn.",
    ),
    "furnisher_none": ("没有待答复的异议。", "No dispute waits for an answer."),
    "furnisher_answer": ("答复", "Answer"),
    "furnisher_outcome_label": ("答复结果", "Outcome"),
    "furnisher_outcome_verified": ("核实无误，记录保留", "verified: the record stands"),
    "furnisher_outcome_corrected": ("已报送更正后的记录", "corrected: a corrected version was sent"),
    "furnisher_outcome_withdrawn": ("撤回该记录", "withdrawn: the record is withdrawn"),
    "furnisher_note_label": ("说明（居民可见）", "Note (the resident reads it)"),
    "furnisher_send": ("提交答复", "Send the answer"),
    "furnisher_answered": ("异议 {id} 已答复。", "Dispute {id} was answered."),
    "furnisher_under_review": ("已转交人工复核，由复核人员作出结论。", "Under human review: the reviewer decides it."),
    "furnisher_no_source": (
        "此密钥没有对应的数据来源。",
        "This key names no source.",
    ),
    # the operator's view of a resident's file speaks of the resident (``Page.voice = "third"``)
    "percentile_text.third": (
        "{p}%（分数不高于该居民的人所占比例）",
        "{p}% (the share scoring at or below the resident)",
    ),
    "on_lists.third": ("该居民在以下名单上：", "The resident is on these lists:"),
    "no_reasons.third": (
        "没有影响该居民评分的记录：分数为初始分。",
        "No record changes the resident's score: it is the starting score.",
    ),
    "no_inquiries.third": ("还没有人查询过该居民的信用。", "Nobody has asked about the resident yet."),
    "dispute_status_retracted.third": ("居民已撤回", "withdrawn by the resident"),
    # and of an organisation's file, of the organisation (``Page.voice = "third_org"``)
    "percentile_text.third_org": (
        "{p}%（分数不高于该单位的单位所占比例）",
        "{p}% (the share of organisations scoring at or below the organisation)",
    ),
    "on_lists.third_org": ("该单位在以下名单上：", "The organisation is on these lists:"),
    "no_reasons.third_org": (
        "没有影响该单位评分的记录：分数为初始分。",
        "No record changes the organisation's score: it is the starting score.",
    ),
    "no_inquiries.third_org": ("还没有人查询过该单位的信用。", "Nobody has asked about the organisation yet."),
    "dispute_status_retracted.third_org": ("单位已撤回", "withdrawn by the organisation"),
    # a new sign-in link
    "newlink_title": ("获取新的登录链接", "Get a new sign-in link"),
    "newlink_lead": (
        "输入您的身份证号码，我们会把新的一次性登录链接（一小时内有效）发送到您登记的联系方式。",
        "Enter your identity number: a new one-time sign-in link (valid for an hour) goes to the contact you have "
        "on file.",
    ),
    "newlink_label": ("身份证号码", "Identity number"),
    "newlink_send": ("发送新链接", "Send me a new link"),
    "newlink_sent": (
        "如果该号码已登记且有联系方式，新的登录链接已经发出。请查看您的消息；链接一小时内有效，只能使用一次。",
        "If this number is registered with a contact, a new sign-in link was sent to it. Check your messages; the "
        "link works once, within an hour.",
    ),
    # why a number is none, by IdentifierError's reason (the registry's English reason was shown on the page)
    "newlink_bad_number": ("这不是有效的身份证号码：{value}", "That is not a valid identity number: {value}"),
    "newlink_bad_number_empty": (
        "请输入您的 18 位居民身份号码。",
        "Enter your resident identity number (18 characters).",
    ),
    "newlink_bad_number_length": (
        "这不是有效的身份证号码：{value} 不是 18 位",
        "That is not a valid identity number: {value} does not have 18 characters",
    ),
    "newlink_bad_number_format": (
        "这不是有效的身份证号码：{value} 应为 17 位数字加最后一位数字或 X",
        "That is not a valid identity number: {value} should be 17 digits and a last digit or X",
    ),
    "newlink_bad_number_checksum": (
        "这不是有效的身份证号码：{value} 的校验码（最后一位）不对，可能有一位输错了",
        "That is not a valid identity number: the check character (the last) of {value} does not match; a "
        "character may be mistyped",
    ),
    "newlink_bad_number_birth_date": (
        "这不是有效的身份证号码：{value} 的出生日期（第 7 至 14 位）不是有效日期",
        "That is not a valid identity number: the birth date of {value} (characters 7 to 14) is not a date",
    ),
    # the registry's words: a code that does not exist, or one retired before the birth year, with its years
    "newlink_bad_number_region": ("这不是有效的身份证号码：{why}", "That is not a valid identity number: {why}"),
    "newlink_ask": ("没有登录链接，或链接已失效？获取新的链接", "No link, or it no longer works? Get a new one"),
    # the demonstration's outbox
    "outbox_title": ("消息发件箱（演示）", "Outbox of messages (demonstration)"),
    "outbox_lead": (
        "演示环境不发送真实消息：发给居民的消息显示在这里。正式部署时配置 SMTP，消息将通过电子邮件发送，本页不存在。",
        "The demonstration sends no real messages: what is sent to residents is shown here. A deployment configures "
        "SMTP, messages go by e-mail, and this page does not exist.",
    ),
    "outbox_none": ("还没有消息。", "No message yet."),
    "outbox_channel": ("渠道", "Channel"),
    "outbox_recipient": ("收件人", "Recipient"),
    "outbox_attempts": ("发送次数", "Attempts"),
    "outbox_created": ("时间", "Created"),
    "outbox_status_queued": ("待发送", "queued"),
    "outbox_status_sent": ("已发送", "sent"),
    "outbox_status_failed": ("发送失败", "failed"),
    "outbox_status_no_address": ("无联系方式", "no address"),
    "outbox_channel_outbox": ("发件箱", "outbox"),
    "outbox_channel_email": ("电子邮件", "e-mail"),
    # a resident's dispute step refused (disputes_page.dispute_refusal, by the registry's code)
    "dispute_err_already_disputed": (
        "记录 {record} 已有进行中的异议（异议 {id}）；请在该异议中补充信息。",
        "Record {record} is already disputed (dispute {id}); add information to that dispute instead.",
    ),
    "dispute_err_under_review": (
        "记录 {record} 正在人工复核中，由复核人员决定；复核有结论后可再次提出异议。",
        "Record {record} is under a human review; the reviewer decides it, and you may dispute it again once the "
        "review is decided.",
    ),
    "dispute_err_before_filing": (
        "异议 {id} 提出的日期晚于登记机构今天的日期：此步骤不能早于提出异议之日。",
        "Dispute {id} was filed after the registry's date today: a step cannot be dated before the dispute was filed.",
    ),
    "dispute_err_record_withdrawn": (
        "记录 {record} 已撤回，不再计入。",
        "Record {record} is withdrawn already; it does not count.",
    ),
    "dispute_err_unknown_record": ("档案中没有记录 {record}。", "The file holds no record {record}."),
    "dispute_err_no_record": ("请选择要提出异议的记录。", "Choose the record to dispute."),
    "dispute_err_missing_reason": ("请写明理由。", "Write the reason, in a few words."),
    "dispute_err_missing_text": ("请填写补充信息。", "Write the information to add."),
    "dispute_err_too_long": ("{field}不得超过4000个字符。", "The {field} may have at most 4000 characters."),
    "dispute_err_control_character": (
        "{field}中有控制字符；请只写普通文字。",
        "The {field} has a control character; write plain text.",
    ),
    "link_err_already_disputed": (
        "您对该关联的异议正在处理中；请等待答复。",
        "Your dispute of this link is open already; wait for its answer.",
    ),
    "answer_err_bad_outcome": ("请选择答复结果。", "Choose the outcome."),
    "answer_err_missing_note": ("请写明答复说明。", "Write a note with the answer."),
    "answer_err_dispute_closed": ("异议 {id} 已结束（{status}）。", "Dispute {id} is closed already ({status})."),
    "answer_err_dispute_escalated": (
        "异议 {id} 已转交人工复核，由复核人员决定。",
        "Dispute {id} is under a human review; the reviewer decides it.",
    ),
    "answer_err_dispute_forwarded": (
        "异议 {id} 已转交记录所在的地区，由该地区的来源答复。",
        "Dispute {id} was forwarded to the region that recorded the record; its source answers it there.",
    ),
    "answer_err_deadline_passed": (
        "异议 {id} 的答复期限 {date} 已过：已按有利于居民的方式处理，该记录不再计入"
        "（如记录准确，请以 certified=true 重新报送）。",
        "The answer to dispute {id} was due by {date}: it was resolved for the resident and the record no longer "
        "counts (send it again with certified=true if it is accurate).",
    ),
    "answer_err_before_filing": (
        "异议 {id} 提出的日期晚于登记机构今天的日期：此步骤不能早于提出异议之日。",
        "Dispute {id} was filed after the registry's date today: a step cannot be dated before the dispute was filed.",
    ),
    "answer_err_no_correction": (
        "自提出异议以来未收到记录 {record} 的更正版本：请先报送更正（correction=true），再答复“已更正”。",
        "No corrected version of record {record} was received since the dispute was filed: send it (correction=true) "
        "first, then answer “corrected”.",
    ),
    "dispute_field_note": ("答复说明", "note"),
    "review_err_bad_decision": ("请选择复核结论。", "Choose the decision."),
    "review_err_missing_reason": ("请写明转交复核的理由。", "Write the reason for the review."),
    "review_err_missing_reasons": ("请写明复核结论的理由。", "Write the reasons for the decision."),
    "review_err_dispute_closed": (
        "异议 {id} 已结束（{status}）：不能再转交复核或作出复核结论。",
        "Dispute {id} is closed ({status}): it cannot be escalated or decided any more.",
    ),
    "review_err_dispute_forwarded": (
        "异议 {id} 已转交记录所在的地区，须在该地区转交复核。",
        "Dispute {id} was forwarded to the region that recorded the record; escalate it there.",
    ),
    "review_err_already_escalated": ("异议 {id} 已转交人工复核。", "Dispute {id} was escalated already."),
    "review_err_before_filing": (
        "异议 {id} 提出的日期晚于登记机构今天的日期：此步骤不能早于提出异议之日。",
        "Dispute {id} was filed after the registry's date today: a step cannot be dated before the dispute was filed.",
    ),
    "review_err_before_escalation": (
        "异议 {id} 转交复核的日期晚于登记机构今天的日期：复核结论不能早于转交之日。",
        "Dispute {id} was escalated after the registry's date today: the decision cannot be dated before that.",
    ),
    "review_err_disputed_again": (
        "记录 {record} 另有进行中的异议（异议 {other}）：请转交该异议复核。",
        "Record {record} is disputed again in another open dispute (dispute {other}): escalate that one instead.",
    ),
    "review_err_not_escalated": (
        "异议 {id} 未转交人工复核；请先转交。",
        "Dispute {id} was not escalated to a review; escalate it first.",
    ),
    "review_err_review_decided": ("异议 {id} 的复核已有结论。", "The review of dispute {id} was decided already."),
    "review_err_no_correction": (
        "来源尚未报送记录 {record} 的更正版本，不能作出“已更正”的结论。",
        "The source has sent no corrected version of record {record}: the review cannot decide “corrected”.",
    ),
    "dispute_field_reasons": ("理由", "reasons"),
    "dispute_field_reason": ("理由", "reason"),
    "dispute_field_evidence": ("证据", "evidence"),
    "dispute_field_text": ("补充信息", "information"),
    "dispute_err_dispute_closed": (
        "异议 {id} 已结束（{status}）：只能对进行中的异议办理此步骤；如记录仍有误，请重新提出异议。",
        "Dispute {id} is closed ({status}): only an open dispute takes this step; if the record is still wrong, file "
        "a new dispute.",
    ),
    "dispute_err_deadline_passed": (
        "异议 {id} 已过答复期限 {date}，正按有利于您的方式处理。",
        "Dispute {id} passed its deadline {date}; it is being resolved for you.",
    ),
    "dispute_err_dispute_forwarded": (
        "异议 {id} 已转交记录所在的地区处理，须在该地区办理。",
        "Dispute {id} was forwarded to the region that recorded the record; take this step there.",
    ),
}

"""The words (Chinese, English) for what the store holds as codes: a record's, a listing's, a dispute's and a
repair application's status, a person's role in an organisation, and the purpose of an inquiry or of an operator's
view of a file, a person's profession.

Defined once, here, for every face: the organisation's printable file (registry/reporting/org_file.py), the reason
of a listing through an organisation (registry/due_process/relations.py), the site's pages (web/i18n.py, which
names them ``status_*``, ``listing_status_*``, ``dispute_status_*``, ``repair_status_*``, ``outcome_*`` and
``role_*``, ``profession_*``), the resident's printable file and the command line's ``decide`` and ``show``.
"""

from __future__ import annotations

__all__ = ["PROFESSION_WORDS", "PURPOSE_WORDS", "RECORD_STATUSES", "ROLE_WORDS", "STATUS_WORDS"]

# A person's profession as the subjects file gives it (the site's ``profession_*``, `show --lang zh`)
PROFESSION_WORDS: dict[str, tuple[str, str]] = {
    "medical": ("医疗", "medical"),
    "education": ("教育", "education"),
    "accounting": ("会计", "accounting"),
    "journalism": ("新闻", "journalism"),
    "civil_service": ("公务员", "civil service"),
    "manufacturing": ("制造业", "manufacturing"),
    "construction": ("建筑业", "construction"),
    "retail": ("零售业", "retail"),
    "hospitality": ("住宿餐饮", "hospitality"),
    "transport": ("交通运输", "transport"),
    "information_technology": ("信息技术", "information technology"),
    "finance": ("金融业", "finance"),
    "agriculture": ("农业", "agriculture"),
    "self_employed": ("个体经营", "self-employed"),
    "student": ("学生", "student"),
    "retired": ("退休", "retired"),
    "unemployed": ("待业", "unemployed"),
    "other": ("其他", "other"),
}

# A record's status in a subject's file (registry/reporting/report.py decides which)
RECORD_STATUSES = ("counting", "listing", "not counting", "disputed", "expired", "repaired", "withdrawn", "superseded")

STATUS_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "record_status": {
        "counting": ("计分中", "counting"),
        "listing": ("列入名单", "puts you on a list"),
        "not counting": ("不计分", "not counting"),
        "disputed": ("异议中", "disputed"),
        "expired": ("已失效", "expired"),
        "repaired": ("已修复", "repaired"),
        "withdrawn": ("已撤回", "withdrawn"),
        "superseded": ("已更正", "corrected"),
    },
    "listing_status": {
        "pending": ("宽限期内", "in grace period"),
        "effective": ("已生效", "in effect"),
        "resolved": ("生效前已消除", "resolved before effect"),
        "delisted": ("已移出", "delisted"),
        "publication_ended": ("公示期满", "publication ended"),
        "repaired": ("已修复", "repaired"),
        "overridden": ("已人工撤销", "overridden"),
    },
    "dispute_status": {
        "open": ("处理中", "open"),
        "verified": ("已核实（记录保留）", "verified (the record stands)"),
        "corrected": ("已更正", "corrected"),
        "withdrawn": ("记录已撤回", "record withdrawn"),
        "lapsed": ("逾期未答复（记录撤回）", "not answered in time (record withdrawn)"),
        # a reader's own dispute reads "withdrawn by you" on the site (web/i18n_disputes.py)
        "retracted": ("已撤回异议", "dispute withdrawn"),
    },
    # a dispute of the link of another region's identity (registry/due_process/links.py)
    "link_dispute_status": {
        "open": ("处理中", "open"),
        "upheld": ("已核实（关联保留）", "upheld (the link stands)"),
        "unlinked": ("关联已撤销", "link reversed"),
        "lapsed": ("逾期未答复（关联撤销）", "not answered in time (link reversed)"),
    },
    "repair_status": {
        "pending": ("待决定", "pending"),
        "approved": ("已批准", "approved"),
        "refused": ("未批准", "refused"),
    },
    # a decision's (an inquiry's) outcome: the resident's list of who asked, an override's notice, `decide`
    "outcome": {
        "granted": ("准予", "granted"),
        "refused": ("拒绝", "refused"),
        "viewed": ("已查看", "viewed"),
        # an override of a listing: the subject taken off the list for its cause, or that removal reversed
        "removed": ("移出名单", "removed"),
        "restored": ("恢复列入", "restored"),
    },
}

# A person's role in an organisation (the roles of policy/model.py's ROLES)
ROLE_WORDS: dict[str, tuple[str, str]] = {
    "legal_representative": ("法定代表人", "legal representative"),
    "director": ("董事", "director"),
    "supervisor": ("监事", "supervisor"),
    "senior_manager": ("高级管理人员", "senior manager"),
    "shareholder": ("股东", "shareholder"),
}

# The purpose of an inquiry (as relying parties send it), and of an operator's view of a file, which a resident's
# list of who asked shows beside the inquiries (registry/decisions/inquiries.py, ``who_asked``; the purposes are
# those the operators' page and the API's file and history record): the site's pages (``purpose_*``) and the
# printable file say them so
_OPERATOR_DECISION = ("通过接口查看服务决定及改变办法", "a decision with what would change it, over the API")
PURPOSE_WORDS: dict[str, tuple[str, str]] = {
    "loan": ("贷款审批", "a loan"),
    "ticket": ("购票", "buying a ticket"),
    "ticket purchase": ("购票", "ticket purchase"),  # the examples' purpose (README, `decide`, the demo)
    "matchmaking": ("婚恋服务", "matchmaking"),
    "lease": ("租房", "a lease"),
    "rental": ("租赁", "a rental"),
    "employment": ("招聘", "employment"),
    "operator look-up": ("在运营后台查阅档案", "the file on the operators' pages"),
    "organisation's file": ("查阅企业档案", "the organisation's file"),  # registry/reporting/org_file.py
    "operator report": ("通过接口查阅档案", "the file over the API"),
    "operator decision": _OPERATOR_DECISION,
    # asked by the person themself (GET /v1/subjects/{id}/services/{service}); an operator's, until 2026-12-05,
    # was recorded as "operator asks about their file"
    "resident asks about their file": ("本人查看服务决定", "your own look-up of a decision"),
    "operator asks about their file": _OPERATOR_DECISION,
    "operator history": ("通过接口查阅评分历史", "the score history over the API"),
    "operator freeze status": ("通过接口查阅冻结状态", "the freeze status over the API"),
    "operator look-up: dispute": ("在运营后台查阅异议", "a dispute on the operators' pages"),
    "operator look-up: repair": ("在运营后台查阅信用修复申请", "a repair application on the operators' pages"),
    "operator dispute": ("通过接口查阅异议", "a dispute over the API"),
    # an evidence file of a dispute, downloaded (until 2026-12-06 shown nowhere)
    "operator look-up: dispute evidence": (
        "在运营后台下载异议证据文件",
        "an evidence file of a dispute on the operators' pages",
    ),
    "operator dispute evidence": ("通过接口下载异议证据文件", "an evidence file of a dispute over the API"),
    # one downloaded before its purpose was logged (registry/decisions/inquiries.py UNSAID_PURPOSES)
    "dispute evidence": ("下载异议证据文件", "an evidence file of a dispute"),
    "operator repair": ("通过接口查阅信用修复申请", "a repair application over the API"),
    "resident file export": ("导出档案", "an export of the file"),
    # the command line's reads (``show``, ``repair eligibility``, ``freeze status``; ``file export`` is the above)
    "subject report": ("在命令行查阅档案", "the file at the command line"),
    "repair eligibility": ("在命令行查看记录能否信用修复", "whether a record may be repaired, at the command line"),
    "freeze status": ("在命令行查阅冻结状态", "the freeze status at the command line"),
    "consents": ("在命令行查阅数据使用同意记录", "your consents at the command line"),
    "notifications": ("在命令行查阅给您的通知", "what you were told, at the command line"),
}

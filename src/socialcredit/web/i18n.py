"""Every text of the pages in Simplified Chinese (the default) and English.

Texts from the registry (reasons, advice, dimension and record-type names) come in the page's language from the
policy and the catalog; this catalogue holds the pages' own words. ``{name}`` placeholders are filled by
:func:`translate`. tests/test_web_units.py checks that both languages have every key and that every key a template
or page uses exists.
"""

from __future__ import annotations

from typing import Any

from socialcredit.registry.words import PROFESSION_WORDS, PURPOSE_WORDS, ROLE_WORDS, STATUS_WORDS
from socialcredit.web.i18n_disputes import DISPUTE_PAIRS
from socialcredit.web.i18n_history import HISTORY_PAIRS
from socialcredit.web.i18n_lab import LAB_PAIRS
from socialcredit.web.i18n_orgs import ORG_PAIRS
from socialcredit.web.i18n_policies import POLICY_PAIRS

__all__ = ["LANGS", "MESSAGES", "translate"]

LANGS = ("zh", "en")

# key: (Chinese, English)
_PAIRS: dict[str, tuple[str, str]] = {
    # the frame of every page
    "site_name": ("社会信用服务平台", "Social credit registry"),
    "skip_to_content": ("跳到正文", "Skip to content"),
    "language": ("语言", "Language"),
    "nav_label": ("主导航", "Main navigation"),
    "footer": (
        "每条规则均已公开；每次查询均记入审计日志。",
        "Every rule is published; every look-up is written to the audit log.",
    ),
    "back_home": ("返回首页", "Back to the start page"),
    "role_resident": ("居民", "resident"),
    "role_operator": ("运营人员", "operator"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "save": ("保存", "Save"),
    "show": ("显示", "Show"),
    "search": ("查询", "Search"),
    "as_table": ("以表格显示", "Show as a table"),
    # navigation
    "nav_overview": ("我的信用", "My credit"),
    "nav_records": ("信用记录", "Records"),
    "nav_inquiries": ("查询记录", "Who asked"),
    "nav_disputes": ("异议申请", "Disputes"),
    "nav_consents": ("数据授权", "Consents"),
    "nav_download": ("下载我的档案", "Download my file"),
    "nav_dashboard": ("全市概况", "City overview"),
    "nav_subjects": ("查找主体", "Find a subject"),
    "nav_cases": ("异议与修复", "Disputes and repairs"),
    "nav_policies": ("评分政策", "Policies"),
    "nav_public": ("公示名单查询", "Public lists"),
    # signing in
    "signin_key_label": ("API 密钥", "API key"),
    "signin_key_help": (
        "以 sc_ 开头的居民或运营人员密钥。密钥只用于本次登录，不会保存在浏览器中。",
        "A resident or operator key starting with sc_. It is used to sign in only and is not kept by the browser.",
    ),
    "signin_link_hint": (
        "也可以使用运营人员发给您的一次性登录链接。",
        "You can also use a one-time sign-in link from the registry's operators.",
    ),
    "signin_public_hint": (
        "无需登录：查询公示的信用名单",
        "No sign-in needed: search the published lists",
    ),
    "signin_link_title": ("一次性登录链接", "One-time sign-in link"),
    "signin_link_explain": (
        "此链接只能使用一次。点击下面的按钮登录。",
        "This link works once. Press the button below to sign in.",
    ),
    "signin_link_continue": ("继续登录", "Continue and sign in"),
    "signin_with_key_instead": ("改用密钥登录", "Sign in with a key instead"),
    "auth_key_missing": ("请输入密钥。", "Enter a key."),
    "auth_key_malformed": (
        "密钥格式不正确：应为 sc_ 加 12 位十六进制数字加密文。",
        "That is not a key: a key is sc_, 12 hex digits, then its secret.",
    ),
    "auth_key_unknown": ("密钥无效。", "That key is not known."),
    "auth_key_revoked": ("此密钥已被吊销。", "That key was revoked."),
    "auth_role_has_no_pages": (
        "此类密钥没有网页，只能调用 HTTP 接口。网页面向居民、运营人员和数据来源机构。",
        "This kind of key has no pages; it calls the HTTP API. The pages are for residents, operators and furnishers.",
    ),
    "auth_link_malformed": (
        "登录链接不完整，请复制完整链接。",
        "This sign-in link is incomplete; copy the whole link.",
    ),
    "auth_link_unknown": ("登录链接无效。", "This sign-in link is not known."),
    "auth_link_used": (
        "此登录链接已使用过，请申请新的链接。",
        "This sign-in link was used already; ask for a new one.",
    ),
    "auth_link_expired": ("此登录链接已过期，请申请新的链接。", "This sign-in link has expired; ask for a new one."),
    "auth_session_missing": ("请先登录。", "Please sign in."),
    "auth_session_unknown": ("会话无效，请重新登录。", "The session is not known; sign in again."),
    "auth_session_ended": ("您已退出，请重新登录。", "You signed out; sign in again."),
    "auth_session_expired": ("会话已过期，请重新登录。", "The session expired; sign in again."),
    # errors
    "error_forbidden_title": ("无权访问", "Not allowed"),
    "error_not_found_title": ("未找到", "Not found"),
    # what a page did not find, in its language (the registry says it in English, for the API and the CLI)
    "notfound_listing": ("您的档案中没有名单条目 {listing}", "no listing {listing} in your file"),
    "notfound_record": ("您的档案中没有记录 {record}", "no record {record} in your file"),
    "notfound_org_record": (
        "企业 {org} 的档案中没有记录 {record}",
        "no record {record} in the file of organisation {org}",
    ),
    "notfound_not_negative": (
        "记录 {record} 不是有失信等级的不良记录",
        "record {record} is not a negative record with a severity class",
    ),
    "notfound_repair": ("没有信用修复申请 {repair}", "no repair application {repair}"),
    "notfound_dispute": ("没有异议 {dispute}", "no dispute {dispute}"),
    "notfound_subject": ("没有登记的主体 {subject}", "no registered subject {subject}"),
    "notfound_org": ("没有登记的企业 {org}", "no registered organisation {org}"),
    "notfound_link": (
        "您的档案中没有与其他地区身份 {identity} 的关联",
        "no link to identity {identity} of another region in your file",
    ),
    "notfound_policy": ("没有已发布的政策 {policy}", "no published policy {policy}"),
    "error_signin_title": ("无法登录", "Cannot sign in"),
    "error_bad_request_title": ("请求有误", "Something is wrong with the request"),
    "error_too_many_title": ("请求过于频繁", "Too many requests"),
    "error_too_large_title": ("提交的内容过大", "What was sent is too large"),
    "error_no_page": ("此地址没有页面：{path}", "There is no page at this address: {path}"),
    "error_form_only": (
        "此地址只接收页面上提交的表单；请返回上一页重新提交。",
        "This address takes a form sent from a page only; go back to the page and send it again.",
    ),
    "error_method_not_allowed": (
        "此地址不接受 {method} 请求，只接受：{allowed}。",
        "This address does not take {method}; it takes {allowed}.",
    ),
    "body_too_large": (
        "提交的内容过大：一次提交的表单不得超过 {mib} MiB（{limit} 字节），未予接收。",
        "What was sent is too large: a form is at most {mib} MiB ({limit} bytes), so it was not taken.",
    ),
    "body_too_large_files": (  # a form that takes files (evidence)
        "提交的内容过大：一次提交（表单连同文件）不得超过 {mib} MiB（{limit} 字节），未予接收；"
        "证据文件不得超过 1 MiB。",
        "What was sent is too large: a form with its files is at most {mib} MiB ({limit} bytes), so it was not "
        "taken; an evidence file is at most 1 MiB.",
    ),
    # the limits (docs/api.md, "Limits on requests"): each names itself and the wait
    "period_minute": ("分钟", "minute"),
    "period_seconds": (" {n} 秒", "{n} seconds"),
    "throttle_signin": (
        "登录失败次数过多：同一地址每{period}最多 {count} 次登录失败；请在 {seconds} 秒后再试。",
        "Too many failed sign-ins: at most {count} failed sign-ins per {period} from one address; "
        "retry after {seconds} s.",
    ),
    "sessions_full": (
        "打开的会话已达上限：本登记系统同时最多保留 {count} 个网页会话（SOCIALCREDIT_MAX_SESSIONS）；"
        "请在 {seconds} 秒后再登录。",
        "Too many sessions: this registry keeps at most {count} web sessions open at once "
        "(SOCIALCREDIT_MAX_SESSIONS); sign in again after {seconds} s.",
    ),
    "throttle_key_failures": (
        "此密钥的登录失败次数过多：每{period}最多 {count} 次；请在 {seconds} 秒后再试。",
        "Too many failed sign-ins with this key: at most {count} per {period}; retry after {seconds} s.",
    ),
    "throttle_public": (
        "访问过于频繁：同一地址未登录时每{period}最多 {count} 次请求；请在 {seconds} 秒后再试。",
        "Too many requests: at most {count} requests per {period} from one address without signing in; "
        "retry after {seconds} s.",
    ),
    "forbidden_resident": ("此页面只供居民本人查看。", "This page is for residents, about themselves."),
    "forbidden_operator": (
        "此页面只供运营人员使用；居民只能查看自己的档案。",
        "This page is for operators; a resident sees only their own file.",
    ),
    "form_field_repeated": (
        "表单中的字段“{field}”出现了不止一次，无法确定以哪个值为准；每个字段只能提交一次：请返回，重新打开表单后再提交。",
        "The form names the field '{field}' more than once, so which value was meant is not known; a form sends each "
        "field once: go back, open the form again and send it.",
    ),
    "form_not_multipart": (
        "此表单须附带文件提交（multipart/form-data），收到的内容不含文件。请返回页面，选择文件后再提交。",
        "This form must carry its file (sent as multipart/form-data); what was sent carries none. Go back to the page, "
        "choose the file and send it again.",
    ),
    "csrf_failed": (
        "表单已过期或来自其他网站，请返回重试。",
        "The form has expired or came from another site; go back and try again.",
    ),
    # a subject's file
    "identity_number": ("身份证号/统一社会信用代码", "Identity number / credit code"),
    "district": ("区", "District"),
    "profession": ("职业", "Profession"),
    "birth_date": ("出生日期", "Date of birth"),
    "overview_lead": (
        "以下是各评分政策对您的评分、影响评分的主要原因以及如何改变它们。",
        "Your score under each policy, the main reasons behind it, and what would change them.",
    ),
    "as_of": ("截至 {date}", "as of {date}"),
    "score": ("分数", "Score"),
    "tier": ("等级", "Tier"),
    "rank": ("排名", "Rank"),
    "percentile": ("百分位", "Percentile"),
    "percentile_text": ("{p}%（分数不高于您的人所占比例）", "{p}% (the share scoring at or below you)"),
    "on_lists": ("您在以下名单上：", "You are on these lists:"),
    "on_lists_noticed": ("告知：以下名单认定尚在宽限期内", "Notice: these listings are in their grace period"),
    "on_list_from": (
        "{list}：{date} 起生效，除非在此之前原因消除。",
        "{list}: from {date}, unless the cause goes away.",
    ),
    "download_lead": ("您的完整档案：", "Your whole file:"),
    "download_json": ("下载（JSON）", "download (JSON)"),
    "download_html": ("可打印的网页", "a page to print"),
    "dimensions": ("各维度得分", "Points by dimension"),
    "dimension": ("维度", "Dimension"),
    "points": ("分值", "Points"),
    "points_value": ("{points} 分", "{points} points"),
    "range": ("范围", "Range"),
    "chart_dimensions_title": ("{policy}：各维度得分", "{policy}: points by dimension"),
    "chart_dimensions_desc": (
        "每个维度一条横条：向左为扣分，向右为加分；浅色底为该维度可取的范围。",
        "One bar per dimension: left of zero are points lost, right are points gained; the pale band is the range "
        "the dimension may take.",
    ),
    "reasons": ("主要原因", "Main reasons"),
    "what_changes_it": ("如何改变：", "What would change it:"),
    "advice_col": ("如何改变", "What would change it"),
    "keeps_counting": ("保持良好记录即可继续加分。", "Keeping this up keeps these points."),
    "no_reasons": ("没有影响评分的记录：分数为初始分。", "No record changes your score: it is the starting score."),
    "services": ("服务", "Services"),
    "granted": ("可以办理", "granted"),
    "refused": ("不予办理", "refused"),
    "no_scores": ("尚无评分。", "No score yet."),
    "records_lead": (
        "各数据来源报送的每一条记录：对分数的影响、当前状态和来源。",
        "Every record the sources sent about you: its effect on your score, its status and its source.",
    ),
    "records_caption": ("共 {n} 条记录", "{n} records"),
    "date": ("日期", "Date"),
    "record": ("记录", "Record"),
    "source": ("来源", "Source"),
    "details": ("内容", "Details"),
    "status": ("状态", "Status"),
    "contribution": ("影响", "Effect"),
    "no_records": ("没有记录。", "No records."),
    "inquiries_lead": (
        "每一次有机构查询您的信用，都会记录在这里：谁、为了什么服务、什么目的、结果如何。",
        "Every time someone asked about you: who, for which service, for what purpose, and the outcome.",
    ),
    "inquiries_caption": ("共 {n} 次查询", "{n} inquiries"),
    "inquiries_pages": ("查询记录分页", "Pages of inquiries"),
    "inquiries_err_page": ("页码应为 1 至 {most} 的整数，收到的是 {sent}", "page must be from 1 to {most}, not {sent}"),
    "asked_at": ("时间", "When"),
    "requester": ("查询方", "Who asked"),
    "service": ("服务", "Service"),
    "purpose": ("目的", "Purpose"),
    "outcome": ("结果", "Outcome"),
    "decided_under": ("依据政策 {policy} {version}", "under policy {policy} {version}"),
    # an operator's override of the decision (the last one: a reversal shows the outcome it stands at now, and the
    # one it changed, an earlier review's); an override to the outcome it had already (older stores) changed nothing
    "outcome_reviewed": (
        "运营人员复核后改为此结果（原为{before}）：{why}",
        "changed on review by an operator (it was {before}): {why}",
    ),
    "outcome_reviewed_again": (
        "运营人员复核后改为此结果（原为此前复核后的{before}）：{why}",
        "changed on review by an operator (it was {before} after an earlier review): {why}",
    ),
    "outcome_reviewed_kept": (
        "运营人员复核，结果未变（原已为{before}）：{why}",
        "reviewed by an operator, the outcome kept (it was {before} already): {why}",
    ),
    "no_inquiries": ("还没有人查询过您的信用。", "Nobody has asked about you yet."),
    # consents
    "consents_lead": (
        "部分数据类别只有在您同意后才计入评分（在政策规定的强制纳入日期之前）。更改在下一次评分时生效。",
        "Some data categories count only with your consent (until the date a policy makes enrollment mandatory). "
        "A change takes effect at the next score run.",
    ),
    "consent_now": ("当前选择：", "Your choice now:"),
    "consent_never": ("尚未选择", "not chosen yet"),
    "consent_in": ("已同意", "opted in"),
    "consent_out": ("已拒绝", "opted out"),
    "consent_policy": (
        "“{policy}”只有在您同意后才计入此类数据；自 {date} 起强制纳入。",
        "“{policy}” counts these data only with your consent; enrollment is mandatory from {date}.",
    ),
    # from the policy's mandatory date on (registry/due_process/enrollment.py ``mandatory_since``): as scoring counts
    "consent_mandatory_since": (
        "“{policy}”自 {date} 起强制纳入：无论您是否同意，此类数据均计入评分。",
        "“{policy}” has counted these data for everyone since {date} (mandatory enrollment), whatever you choose.",
    ),
    "consent_no_policy": (
        "目前没有政策需要您对此类数据的同意。",
        "No policy asks for your consent to these data at present.",
    ),
    "consent_choose": ("您是否同意使用“{category}”？", "May “{category}” be used?"),
    "consent_opt_in": ("同意", "Yes, opt in"),
    "consent_opt_out": ("不同意", "No, opt out"),
    "consent_history": ("历史记录", "History"),
    "consent_saved": ("已保存您对“{category}”的选择。", "Your choice for “{category}” is saved."),
    "consent_choice_missing": ("请选择同意或不同意。", "Choose to opt in or to opt out."),
    "consent_category_unknown": (
        "没有数据类别 {category}；可选择的类别：{known}。",
        "There is no data category {category}; the categories are: {known}.",
    ),
    # operators
    "dashboard_title": ("全市信用概况", "The city at a glance"),
    "dashboard_lead": (
        "{policy}（{version}），第 {run} 次评分，截至 {date}，共 {n} 名居民。",
        "{policy} ({version}), run {run} as of {date}: {n} residents.",
    ),
    "no_runs": ("还没有评分。", "No score run yet."),
    "no_run_in_force": (
        "政策 {policy} 没有生效的评分：它的评分都是假设评分或重算，决定、名单和列入都不以其为准。"
        "请按登记处今天或更早的日期评分。",
        "No run in force for policy {policy}: its runs are what-ifs or reruns, which no decision, list or listing "
        "stands on. Score it as of the registry's today or before.",
    ),
    "policy": ("政策", "Policy"),
    "histogram": ("分数分布", "Score distribution"),
    "histogram_caption": ("每个柱子代表 {width} 分的区间。", "Each bar is a band of {width} points."),
    "chart_histogram_title": ("{policy}：居民分数分布", "{policy}: residents' scores"),
    "chart_histogram_desc": (
        "{n} 名居民的分数直方图，区间宽 {width} 分。",
        "Histogram of {n} residents' scores in bands of {width} points.",
    ),
    "tiers": ("各等级人数", "Residents by tier"),
    "tier_from": ("最低分", "From"),
    "share": ("占比", "Share"),
    "residents": ("居民", "Residents"),
    "chart_tiers_title": ("各等级人数", "Residents by tier"),
    "chart_tiers_desc": (
        "从最高等级到最低等级，每个等级的居民人数。",
        "How many residents each tier holds, best first.",
    ),
    "districts": ("各区比较", "The 16 districts compared"),
    "districts_help": (
        "按居民住址所在区统计（不按身份证号的地区码：老地区码可能已撤销或变更）。",
        "By the district of each resident's address (not the region code in their identity number, which may be an "
        "older, since-renamed code).",
    ),
    "outside_districts": ("无北京市辖区住址", "No district of Beijing on file"),
    "districts_black_caption": ("每万人中失信名单人数", "On the blacklist, per 10 000 residents"),
    "chart_districts_title": ("各区平均分", "Mean score by district"),
    "chart_districts_desc": (
        "横条从 {low} 分开始，以便看出差别。",
        "Bars start at {low} points so the differences show.",
    ),
    "chart_districts_black_title": ("各区每万人中失信名单人数", "Blacklisted residents per 10 000, by district"),
    "chart_districts_black_desc": ("每个区一条横条。", "One bar per district."),
    "census_2020": ("2020 年人口普查", "Census 2020"),
    "mean_score": ("平均分", "Mean score"),
    "per_10k": ("每万人失信", "Blacklisted per 10 000"),
    "list_blacklist": ("失信名单", "Blacklist"),
    "list_redlist": ("守信红名单", "Redlist"),
    "list": ("名单", "List"),
    "professions": ("各职业比较", "Professions compared"),
    "chart_professions_title": ("各职业平均分", "Mean score by profession"),
    "mean_score_caption": ("平均分（横条不从零开始）", "Mean score (bars do not start at zero)"),
    "age_bands": ("各年龄段比较", "Age bands compared"),
    "age": ("年龄", "Age"),
    "chart_ages_title": ("各年龄段平均分", "Mean score by age band"),
    "lists_across_runs": ("历次评分的名单人数", "List sizes across runs"),
    "lists_across_runs_help": (
        "每次评分时各名单上的主体数：现行评分的失信名单按决定现在的算法，只计已生效的认定（须经告知宽限期才生效，"
        "见下表），告知期内的另列于评分记录；其他评分（较早的、假设性的）计当日符合条件的人数。",
        "Subjects on each list in each run: the run in force counts a blacklist as decisions count it now, only "
        "listings in effect (a blacklisting takes effect only after its notice and grace period; see the table "
        "below), with those in their notice period shown apart in the score runs; any other run (earlier, what-if) "
        "counts who met the criteria on its date.",
    ),
    # of those counted in effect, the ones decisions no longer apply (`list blacklist` marks them held)
    "held_n": (
        "（其中 {n} 人暂不适用：其依据的记录已变更或有异议，下次评分时结束）",
        "({n} not applied now: the record behind it changed or is disputed; the next run closes it)",
    ),
    # the same, where a figure has no room for the why: a bar of a chart, a cell of the figures by district, profession
    # and age band; a count of residents, said so (beside a rate per 10 000 "10000.0 (of which 1 …)" read as 1 of it)
    "held_short": ("（其中 {n} 人暂不适用）", "({n} residents not applied now)"),
    "in_notice_n": ("（另有 {n} 人在告知期内）", "({n} more in notice)"),
    "met_criteria": ("（符合条件人数）", "(met the criteria)"),
    "chart_lists_title": ("历次评分的失信名单与红名单人数", "Blacklist and redlist size in each run"),
    "chart_lists_desc": ("每次评分、每个名单一条横条，从早到晚。", "One bar per run and list, oldest first."),
    "runs": ("评分记录", "Score runs"),
    "run": ("评分", "Run"),
    "as_of_col": ("截至", "As of"),
    "mode": ("方式", "Mode"),
    "engine": ("引擎", "Engine"),
    "subjects": ("主体数", "Subjects"),
    "finished": ("完成时间", "Finished"),
    "search_label": ("身份证号、统一社会信用代码或姓名", "Identity number, credit code or name"),
    "search_help": (
        "号码至少输入 6 位（按开头匹配）；姓名按包含匹配。每次查询都记入审计日志。",
        "A number needs at least 6 characters (matched from the start); a name matches anywhere. Every search is "
        "written to the audit log.",
    ),
    "search_found": ("“{q}”：找到 {n} 个主体", "“{q}”: {n} subjects found"),
    "search_none": ("没有找到。", "Nothing found."),
    "search_audited": ("此次查询已记入审计日志。", "This search is in the audit log."),
    "name": ("名称", "Name"),
    "kind": ("类型", "Kind"),
    "kind_person": ("个人", "person"),
    "kind_org": ("机构", "organisation"),
    "lookup_audited": (
        "此次查看已记入审计日志；居民本人可以在其“查询记录”中看到。",
        "This look-up is in the audit log; the resident sees it in their list of who looked.",
    ),
    "policies_caption": ("已发布的评分政策", "Published policies"),
    "version": ("版本", "Version"),
    "published": ("发布时间", "Published"),
    "policy_scale": (
        "初始分 {base}，分数范围 {min}–{max}。",
        "Everyone starts at {base}; scores run from {min} to {max}.",
    ),
    "dimension_range": ("上下限 {min} … {max}", "capped at {min} … {max}"),
    "rule": ("规则", "Rule"),
    "in_plain_words": ("规则说明", "In plain words"),
    "criterion": ("标准", "Criterion"),
    "condition": ("条件", "Condition"),
    "reason": ("原因", "Reason"),
    "granted_if": ("准予条件", "Granted if"),
    # disputes and notices
    "disputes_lead": (
        "认为某条记录有误，可以提出异议。来源机构须在期限内核实并答复；答复前，按政策规定该记录可能暂停计分。",
        "If a record is wrong, dispute it. The source must check it and answer by the deadline; until then the "
        "policy may hold the record from your score.",
    ),
    "disputes_mine": ("我的异议", "My disputes"),
    "disputes_none": ("您还没有提出异议。", "You have not disputed any record."),
    "dispute_title": ("异议 {id}", "Dispute {id}"),
    "dispute_opened": ("提出日期", "Opened"),
    "dispute_deadline": ("答复期限", "Answer due by"),
    "dispute_answered": ("答复日期", "Answered"),
    "dispute_reason": ("理由：", "Reason:"),
    "dispute_evidence": ("证据：", "Evidence:"),
    "dispute_add": ("补充材料", "Add information"),
    "dispute_add_label": ("补充说明", "What you want to add"),
    "dispute_add_send": ("提交补充材料", "Send"),
    "dispute_file": ("提出新的异议", "Dispute a record"),
    "dispute_which_record": ("哪一条记录？", "Which record?"),
    "dispute_reason_label": ("为什么有误？", "What is wrong with it?"),
    "dispute_reason_help": (
        "请具体说明，例如：“此罚款已于 3 月 5 日缴清。”",
        "Be specific, for example: “This fine was paid on 5 March.”",
    ),
    "dispute_evidence_label": ("证据（可选）", "Evidence (optional)"),
    "dispute_send": ("提交异议", "File the dispute"),
    "dispute_no_records": ("没有可以提出异议的记录。", "There is no record you could dispute."),
    "dispute_filed": ("异议 {id} 已提交。", "Dispute {id} is filed."),
    # the links to other regions' identities, shown on the records page, and their disputes
    "links_title": ("与您关联的其他地区身份", "Identities in other regions linked to you"),
    "links_lead": (
        "以下记录来自其他地区，是通过将该地区的身份与您关联而计入的。如果关联有误，您可以提出异议。",
        "These records came from another region through a link of an identity there to you. If the link is wrong, "
        "you can contest it.",
    ),
    "link_region": ("地区", "Region"),
    "link_number": ("该地区的身份证号", "Number there"),
    "link_how": ("关联方式", "How it was linked"),
    "link_probability": ("匹配概率", "Match probability"),
    "link_when": ("关联时间", "Linked on"),
    "link_agreed": ("一致的信息", "What agreed"),
    "link_records": ("由此计入的记录", "Records it brought"),
    "link_contest": ("对该关联提出异议", "Contest this link"),
    "link_reason_label": ("为什么这不是您本人？", "Why is this not you?"),
    "link_send": ("提交异议", "Send the dispute"),
    "link_contested": (
        "您对该关联的异议 {id} 正在处理中，工作人员须于 {deadline} 前答复。",
        "Your dispute {id} of this link is open; an operator must answer by {deadline}.",
    ),
    "link_filed": ("对关联的异议 {id} 已提交。", "Dispute {id} of the link is filed."),
    "link_disputes_title": ("对关联的异议", "Disputes of links"),
    **{f"link_dispute_status_{k}": v for k, v in STATUS_WORDS["link_dispute_status"].items()},
    "dispute_added": ("已为异议 {id} 补充材料。", "Your information was added to dispute {id}."),
    "dispute_this": ("提出异议", "Dispute this"),
    "notices": ("通知", "Notices"),
    "notices_none": ("没有通知。", "No notices."),
    "listing_pending": (
        "告知：根据政策 {policy}，您将于 {date} 被列入{list}（告知日期 {noticed}），除非在此之前原因消除。",
        "Notice: under policy {policy} you will be put on the {list} on {date} (noticed on {noticed}) unless the "
        "cause goes away before then.",
    ),
    "listing_pending_act": ("如记录有误，请提出异议。", "If a record is wrong, dispute it."),
    # an operator's override of a listing on the subject's page (POST /ops/listings/{id}/override)
    "override_col": ("人工复核", "Review"),
    "override_justification": (
        "理由（将告知本人，至少 20 字）",
        "Justification (shown to the resident, 20 characters or more)",
    ),
    "override_remove": ("移出名单", "Take off the list"),
    "override_restore": ("撤销移出，恢复列入", "Reverse the removal: put back"),
    "override_err_outcome": ("复核结果应为移出名单或恢复列入。", "The outcome must be removed or restored."),
    # a listing open in the register that decisions no longer apply (registry/reporting/listing_details.py held_now)
    "listing_held": (
        "自 {since} 的评分以来原因已不成立，决定不再适用；下次评分时结束",
        "not applied by decisions since the score of {since}: its cause no longer holds; the next run closes it",
    ),
    "cases_lead": (
        "等待来源答复的异议（按期限排序），以及处于告知宽限期、尚未生效的名单认定。",
        "Disputes waiting for their source's answer (soonest deadline first), and listings still in their notice "
        "and grace period.",
    ),
    "cases_disputes": ("处理中的异议（{n}）", "Open disputes ({n})"),
    "cases_link_disputes": ("对身份关联的异议（{n}）", "Contested identity links ({n})"),
    "cases_link_disputes_help": (
        "居民认为与其他地区身份的关联有误。请在期限前答复：socialcredit region answer-link 编号 --uphold 或 --unlink"
        "，并说明理由；逾期未答复的，关联将被撤销。",
        "Residents say a link to another region's identity is wrong. Answer by the deadline: socialcredit region "
        "answer-link ID --uphold or --unlink, with a reason; one not answered in time reverses the link.",
    ),
    "cases_pending": ("宽限期内的名单认定（{n}）", "Listings in their grace period ({n})"),
    "cases_none": ("没有。", "Nothing."),
    "cases_alerts": ("跨地区预警（{n}）", "Alerts from other regions ({n})"),
    "cases_alerts_help": (
        "在其他地区被列入失信名单的人员在本地区出现（新记录、决定请求或身份关联）。"
        "以 socialcredit region alerts 确认。",
        "Someone blacklisted in another region appeared here (a new record, a decision asked, a linked identity). "
        "Acknowledge with socialcredit region alerts.",
    ),
    "alert_raised": ("时间", "Raised"),
    "alert_trigger": ("触发", "Trigger"),
    "alert_origin": ("来源地区", "Region"),
    "alert_evidence": ("证据", "Evidence"),
    "alert_link": ("身份关联", "identity linked"),
    "alert_decision": ("决定请求", "decision asked"),
    "alert_import": ("导入记录", "record imported"),
    "cases_review": ("待审核的身份关联（{n}）", "Identity links to review ({n})"),
    "cases_review_help": (
        "介于阈值之间的关联不会自动应用；以 socialcredit region accept 或 reject 决定，每一步都记入审计日志。",
        "Links in the grey zone are never applied on their own; decide with socialcredit region accept or reject "
        "(each step is audited).",
    ),
    "review_as_known": ("对方地区登记的身份", "As the other region knows them"),
    "review_candidate": ("本地区候选人", "Proposed subject here"),
    "review_probability": ("匹配概率", "Match probability"),
    "review_evidence": ("比较依据", "Compared on"),
    "cases_repairs": ("待决定的信用修复申请（{n}）", "Repair applications to decide ({n})"),
    "repair_applied_on": ("申请日期", "Applied on"),
    "repair_eligible_from": ("最早可修复日期", "Eligible from"),
    "repair_severity": ("严重程度", "Severity"),
    "repair_statement": ("申请说明", "Statement"),
    "repair_decided_on": ("决定日期", "Decided on"),
    "repair_decision": ("决定理由", "Reason for the decision"),
    "repairs_mine": ("我的信用修复申请", "My repair applications"),
    "severity_minor": ("轻微", "minor"),
    "severity_general": ("一般", "general"),
    "severity_serious": ("严重", "serious"),
    "subject_listings": ("名单认定与告知", "Listings and notices"),
    "cases_first": ("只显示最紧迫的 {shown} 条。", "Only the {shown} most urgent are shown."),
    "listings_now": ("当前名单认定", "Listings now"),
    "listings_now_help": (
        "评分发现的原因先进入告知宽限期（待生效），期满后才生效并公示；原因消除、修复或公示期满即结束。",
        "A cause a run finds is first noticed (pending, in its grace period); it takes effect and is published only "
        "after that, and ends when the cause goes, on repair, or when its publication period is over.",
    ),
    "listing_effective_on": ("生效日期", "Takes effect"),
    "listing_noticed_on": ("告知日期", "Noticed on"),
    # the public look-up
    "public_title": ("信用名单公示查询", "Published credit lists"),
    "public_lead": (
        "任何人都可以查询已公示的名单。只显示已过告知期和宽限期、且决定仍然适用的条目；信用修复或到期后即不再显示，"
        "决定不再适用期间（例如记录异议处理中）也不显示。",
        "Anyone may search the published lists. Only entries past their notice and grace period that decisions apply "
        "are shown; an entry disappears the day it is repaired or expires, and while decisions do not apply it (its "
        "record under dispute, say).",
    ),
    "public_search_label": ("姓名、身份证号或统一社会信用代码", "Name, identity number or organisation code"),
    "public_search_help": (
        "输入完整号码或姓名。公示的身份证号中间几位以星号隐去。",
        "Enter a whole number or a name. Identity numbers are shown with their middle digits masked.",
    ),
    "public_which_list": ("名单", "Which list"),
    "public_all": ("全部公示名单", "Every published list"),
    "public_col_name": ("名称", "Name"),
    "public_col_id_number": ("证件号码", "Identity number / code"),
    "public_col_list": ("名单", "List"),
    "public_col_cause": ("列入原因", "Grounds"),
    "public_col_since": ("公示日期", "Published since"),
    "public_found": ("“{q}”：{n} 条公示记录", "“{q}”: {n} published entries"),
    "public_none": ("没有公示的记录。", "No published entry."),
    "throttle_lookup": (
        "查询过于频繁：同一地址每{period}最多查询 {count} 次；请在 {seconds} 秒后再试。",
        "Too many searches: at most {count} searches per {period} from one address; retry after {seconds} s.",
    ),
    "public_rules": (
        "名单依据公开的评分政策产生；当事人可以提出异议和申请信用修复。",
        "The lists follow the published policies; anyone listed may dispute an entry and apply for credit repair.",
    ),
}
# the resident's security freeze and fraud alert (web/freeze_page.py)
_PAIRS |= {
    "nav_freeze": ("冻结与警示", "Freeze"),
    "freeze_lead": (
        "冻结后，贷款、租房和免押金服务的查询方会得到“已冻结”的答复，立即生效；您可以为某一机构或某段时间临时解冻。"
        "欺诈警示会要求每个查询方先核实您的身份。",
        "While your file is frozen, lenders, landlords and deposit-free services are told “frozen”, from this moment; "
        "you can lift it for one of them or for a period. A fraud alert asks everyone who asks to verify your "
        "identity first.",
    ),
    "freeze_heading": ("安全冻结", "Security freeze"),
    "freeze_on": ("您的档案自 {date} 起已冻结。", "Your file is frozen since {date}."),
    "freeze_off": ("您的档案未冻结。", "Your file is not frozen."),
    "freeze_place": ("立即冻结", "Freeze my file now"),
    "freeze_lift_all": ("永久解冻", "Lift the freeze"),
    "freeze_lift_party": ("为此机构解冻", "Lift for this party"),
    "freeze_lift_period": ("在此日期前对所有机构解冻", "Lift for everyone until this day"),
    "freeze_party_label": ("机构", "Party"),
    "freeze_until_label": ("截止日期（含）", "Until (inclusive)"),
    "freeze_party_until_help": (
        "不填日期则一直有效，直到您永久解冻。",
        "Leave the date empty to keep it until you lift the freeze.",
    ),
    "freeze_lifts": ("临时解冻", "Temporary lifts"),
    "freeze_lift_for": ("为 {party} 解冻，{start} 至 {end}", "Lifted for {party} from {start} to {end}"),
    "freeze_lift_everyone": ("对所有机构解冻，{start} 至 {end}", "Lifted for everyone from {start} to {end}"),
    "freeze_until_lifted": ("您永久解冻为止", "until you lift the freeze"),
    "freeze_no_parties": (
        "暂无冻结会拒绝其服务的登记机构。",
        "No party whose services a freeze refuses is registered yet.",
    ),
    "freeze_party_help": (
        "只列出冻结会拒绝其服务（贷款、租房、免押金服务）的机构：铁路、航空等服务不受冻结影响，无需解冻。",
        "Only the parties whose services a freeze refuses (loans, leases, deposit-free services) are listed: a "
        "freeze never refuses rail, flights or the other services, so there is nothing to lift for them.",
    ),
    "alert_heading": ("欺诈警示", "Fraud alert"),
    "alert_on": (
        "欺诈警示有效至 {date}：查询方须先核实您的身份。",
        "A fraud alert is in force until {date}: whoever asks must verify your identity first.",
    ),
    "alert_off": ("没有欺诈警示。", "There is no fraud alert."),
    "alert_place": ("设置欺诈警示（一年）", "Place a fraud alert (one year)"),
    "alert_report_label": ("报案回执编号（可选，填写后有效期七年）", "Police report reference (optional: seven years)"),
    "alert_remove": ("撤销欺诈警示", "Remove the fraud alert"),
    "freeze_history": ("冻结与警示记录", "Freeze and alert history"),
    "freeze_event_freeze_placed": ("冻结档案", "file frozen"),
    "freeze_event_freeze_lifted": ("永久解冻", "freeze lifted"),
    "freeze_event_freeze_lifted_for_party": ("为 {party} 临时解冻", "lifted for {party}"),
    "freeze_event_freeze_lifted_for_period": ("对所有机构临时解冻", "lifted for everyone for a period"),
    "freeze_event_fraud_alert_placed": ("设置欺诈警示", "fraud alert placed"),
    "freeze_event_fraud_alert_removed": ("撤销欺诈警示", "fraud alert removed"),
    # who made a change in a resident's history (their freeze, their consents): they, or anyone else for them
    "by_you": ("本人", "you"),
    "by_registry": ("登记机构", "the registry"),
    "freeze_done": ("已保存，立即生效。", "Saved; it applies at once."),
    "freeze_err_already_frozen": ("档案已处于冻结状态。", "Your file is frozen already."),
    "freeze_err_not_frozen": ("档案未冻结。", "Your file is not frozen."),
    "freeze_err_no_alert": ("没有欺诈警示。", "There is no fraud alert."),
    "freeze_err_until": ("截止日期须为今天或以后。", "The last day must be today or later."),
    "freeze_err_until_missing": ("请填写截止日期。", "Give the last day."),
    "freeze_err_not_a_date": ("截止日期“{value}”不是有效日期：{why}", "The last day '{value}' is not a date: {why}"),
    "date_why_form": ("请按年-月-日填写，如 2026-12-31。", "write it year-month-day, as 2026-12-31."),
    "date_why_year": ("没有0年。", "there is no year 0."),
    "date_why_month": ("一年只有12个月。", "a year has 12 months."),
    "date_why_days": ("{year}年{month}月只有{days}天。", "{month} {year} has {days} days."),
    "freeze_err_party": ("请选择机构。", "Choose a party."),
    "freeze_err_not_freezable": (
        "冻结不会拒绝该机构查询的服务（如铁路、航空），无需为其解冻。",
        "A freeze never refuses the services this party asks for (such as rail or flights): there is nothing to lift "
        "for it.",
    ),
    "freeze_err_action": (
        "“{sent}”不是本页提供的操作（{offered}）。",
        "'{sent}' is not one of this page's actions ({offered}).",
    ),
    "freeze_err_report": ("报案回执编号为1至100个字符。", "A police report reference has 1 to 100 characters."),
    "freeze_err_report_control": (
        "报案回执编号中有控制字符；请只写一行普通文字。",
        "A police report reference has a control character; write one line of plain text.",
    ),
    # --- issue 18, listings' details and credit repair (web/repair_pages.py; r18-repair) ---------------------
    "listing_title": ("名单认定详情", "Listing"),
    "negative_record_title": ("负面记录", "Negative record"),
    "listing_facts": ("事实与日期", "Facts and dates"),
    "listing_recorded_by": ("记录机构", "Recorded by"),
    "listing_contact": ("联系方式", "Contact"),
    "listing_reference": ("案号或编号", "Case or reference number"),
    "listing_amount": ("金额", "Amount"),
    "listing_no_amount": ("无金额", "no amount"),
    "listing_repair_from": ("最早可申请修复日期", "Repair may be asked from"),
    "listing_ends_on": ("自动移出日期", "Ends by itself on"),
    "record_ends_on": ("停止计入日期", "Stops counting on"),
    "listing_no_end": ("无期限", "no end date"),
    "listing_closed_on": ("结束日期", "Ended on"),
    "listing_steps": ("您可以怎么做", "What you can do"),
    "listing_see": ("详情与处理办法", "Details and what to do"),
    "notice_dispute": ("对记录提出异议", "Dispute the record"),
    "step_link_dispute": ("提出异议", "Dispute it"),
    "step_link_repair": ("申请信用修复", "Credit repair"),
    "record_listing_link": ("查看该记录导致的名单认定", "See the listing this record caused"),
    "record_negative_line": ("负面记录，停止计入：{date}。", "Negative record; stops counting on {date}."),
    "record_details_link": ("详情与处理办法", "Details and what to do"),
    "back_overview": ("返回概览", "Back to the overview"),
    "back_records": ("返回记录", "Back to the records"),
    "cases_past_due": (
        "另有 {n} 项认定的生效日期已过，将在下次每日作业（socialcredit due run）时生效，不再计为宽限期内。",
        "{n} more listings have passed their effective date: the next daily job (socialcredit due run) puts them "
        "in effect; they are not counted as in grace.",
    ),
    "repair_title": ("信用修复", "Credit repair"),
    "repair_lead": (
        "义务履行且最短公示期届满后，可申请信用修复。登记机构须在申请后 {days} 日内答复并说明理由。",
        "Once the obligation is fulfilled and the shortest publication period has passed, you may apply for credit "
        "repair. The registry answers, with its reasons, within {days} days of your application.",
    ),
    "repair_applied": ("已收到您的信用修复申请 {id}。", "Your credit repair application {id} was received."),
    "repair_eligibility": ("申请条件", "Eligibility"),
    "repair_check_period": (
        "最短公示期 {days} 日（自 {start} 起），{date} 起可申请：",
        "Shortest publication period of {days} days (from {start}); you may apply from {date}:",
    ),
    "repair_check_fulfilled": (
        "来源已报告义务于 {date} 履行：",
        "The source reported the obligation fulfilled on {date}:",
    ),
    "repair_check_not_fulfilled": (
        "{source}尚未报告义务已履行（请先履行，再请来源报告）：",
        "The {source} have not reported the obligation fulfilled (fulfil it, then ask them to report it):",
    ),
    "repair_check_open": ("已有进行中的申请 {id}。", "Application {id} is already open."),
    "repair_check_yes": ("满足", "met"),
    "repair_check_no": ("不满足", "not met"),
    "repair_eligible_now": ("您现在可以申请信用修复。", "You may apply for credit repair now."),
    "repair_not_eligible": ("目前还不能申请。", "You cannot apply yet."),
    "repair_application": ("信用修复申请 {id}", "Repair application {id}"),
    "repair_answer_due": ("答复期限", "Answer due by"),
    "repair_deadline_note": (
        "登记机构须在 {date} 前答复并说明理由；逾期未答复的，每日作业将其标记为逾期。",
        "The registry must answer, with its reasons, by {date}; one not answered by then is flagged overdue by the "
        "daily job.",
    ),
    "repair_overdue_note": (
        "未在 {date} 前答复：已标记为逾期，运营人员须优先答复。",
        "Not answered by {date}: flagged overdue; the operators must answer it first.",
    ),
    "repair_commitment": ("信用承诺：", "Commitment (信用承诺):"),
    "repair_evidence": ("证明材料：", "Evidence:"),
    "repair_reason": ("理由：", "Reasons:"),
    "repair_apply": ("申请信用修复", "Apply for credit repair"),
    "repair_statement_label": ("申请说明（已履行的义务、时间）", "Your statement (what you fulfilled, and when)"),
    "repair_commitment_label": (
        "信用承诺（用您自己的话写明今后将如何守信）",
        "Your written commitment (信用承诺), in your own words",
    ),
    "repair_commitment_help": (
        "承诺将记入申请并向运营人员展示；违反承诺的，可能不再获准修复。",
        "The commitment is kept with the application and shown to the operator; breaking it may bar a later repair.",
    ),
    "repair_evidence_label": (
        "证明材料（可选：收据编号、付款凭证等）",
        "Evidence (optional: receipt numbers, payment references)",
    ),
    "repair_promise_label": (
        "本人承诺以上内容真实，并将履行信用承诺。",
        "I confirm that the above is true and I will keep my commitment.",
    ),
    "repair_send": ("提交申请", "Send the application"),
    "repair_back": ("返回详情", "Back to the details"),
    "repair_err_promise": ("请勾选确认信用承诺。", "Tick the box to confirm your commitment."),
    "repair_err_commitment": ("请写明您的信用承诺。", "Write your commitment."),
    "repair_err_statement": ("请填写申请说明。", "Write your statement."),
    "repair_err_too_early": ("最短公示期尚未届满，还不能申请。", "The shortest publication period has not passed yet."),
    "repair_err_not_fulfilled": ("来源尚未报告义务已履行。", "The source has not reported the obligation fulfilled."),
    "repair_err_already_applied": ("该记录已有进行中的申请。", "This record already has an open application."),
    "repair_err_withdrawn": ("该记录已撤回，不再计入。", "This record is withdrawn; it no longer counts."),
    "repair_err_nothing": ("该记录不是可修复的失信记录。", "This record is not a breach that can be repaired."),
    "repair_err_too_long": ("内容不得超过4000个字符。", "A text may have at most 4000 characters."),
    "repair_err_control": ("内容中有控制字符；请只写普通文字。", "A text has a control character; write plain text."),
    "repair_err_outcome": ("请选择批准或不予批准。", "Choose grant or refuse."),
    "repair_err_reason": ("请写明理由。", "Write the reasons."),
    "repair_err_already_decided": (
        "该申请已经作出决定，不能再次决定。",
        "This application was decided already; it cannot be decided again.",
    ),
    "repair_err_before_application": (
        "该申请提出的日期晚于登记机构今天的日期：决定不能早于申请之日。",
        "This application was made after the registry's date today: it cannot be decided before it was made.",
    ),
    "repair_err_review_before_application": (
        "该申请提出的日期晚于登记机构今天的日期：不能在申请之日前开始审核。",
        "This application was made after the registry's date today: it cannot be taken under review before it was "
        "made.",
    ),
    "repair_err_review_forwarded": (
        "该申请已转交记录所在地区，由该地区审核并依其规则决定；决定将随该地区的下一批数据送达。",
        "This application was forwarded to the region that recorded the record: it is reviewed and decided there, "
        "under its rules, and the decision arrives in that region's next bundle.",
    ),
    "repair_err_forwarded": (
        "该申请已转交记录所在地区，由该地区依其规则决定；决定将随该地区的下一批数据送达。",
        "This application was forwarded to the region that recorded the record: it is decided there, under its "
        "rules, and the decision arrives in that region's next bundle.",
    ),
    "repair_stage_submitted": ("已提交", "submitted"),
    "repair_stage_under_review": ("审核中", "under review"),
    "repair_stage_granted": ("已批准", "granted"),
    "repair_stage_refused": ("未批准", "refused"),
    "repair_line": ("申请 {id}（{applied}）：{stage}。", "Application {id} ({applied}): {stage}."),
    "repair_overdue": ("逾期", "overdue"),
    "repair_open_case": ("申请 {id}", "application {id}"),
    "repair_no_commitment": ("（未填写）", "(none given)"),
    "repair_review_since": ("审核开始", "Under review since"),
    "repair_fulfilled_on": ("履行报告", "Fulfilment reported"),
    "repair_not_reported": ("未报告", "not reported"),
    "repair_decide": ("作出决定", "Decide"),
    "repair_take_review": ("开始审核（告知申请人）", "Take it under review (the resident is told)"),
    "repair_outcome": ("决定", "Decision"),
    "repair_grant": ("批准修复（名单立即结束）", "Grant (its listings end at once)"),
    "repair_refuse": ("不予批准", "Refuse"),
    "repair_reason_label": (
        "理由（告知申请人，并记入审计日志）",
        "Reasons (shown to the resident, kept in the audit log)",
    ),
    "repair_reason_help": ("写明依据的事实和规则。", "Name the facts and the rules the decision rests on."),
    "repair_decide_send": ("记录决定", "Record the decision"),
    "repair_decided_done": ("决定已记录并告知申请人。", "The decision is recorded and the resident told."),
    "repair_review_done": ("已开始审核，并已告知申请人。", "Under review; the resident was told."),
    "repair_overdue_ops": ("答复期限 {date} 已过：请优先答复。", "The answer was due by {date}: answer it first."),
    "repair_forwarded_ops": (
        "该记录由其他地区记录，申请已转交该地区按其规则决定。",
        "Another region recorded the record: the application was forwarded there and is decided under its rules.",
    ),
    "ops_repair_application": ("申请", "The application"),
    "ops_repairs_title": ("信用修复申请", "Credit repair applications"),
    "ops_repairs_lead": (
        "待答复的申请按答复期限排序；逾期的已标记。批准后，该记录导致的名单立即结束，记录不再计入。",
        "Applications waiting for an answer, the soonest deadline first; overdue ones are marked. Granting ends the "
        "record's listings at once and the record no longer counts.",
    ),
    "ops_repairs_open": ("待答复（{n}）", "Waiting for an answer ({n})"),
    "ops_repairs_decided": ("已决定（{n}）", "Decided ({n})"),
    "ops_repairs_link": ("全部信用修复申请", "All credit repair applications"),
    "ops_repairs_back": ("返回信用修复申请", "Back to the applications"),
}
# issue 18, phones and raw identifiers (web/codes.py): codes a page shows said in words
_PAIRS.update(
    {
        "value_yes": ("是", "yes"),
        "value_no": ("否", "no"),
        "mode_full": ("全量计算", "full"),
        "mode_incremental": ("增量计算", "incremental"),
        "mode_rerun": ("重新计算", "rerun"),
        # a run's standing (registry/scoring/runs.py: run_standing), decided when it is made
        "standing_in_force": ("生效", "in force"),
        "standing_ordinary": ("已被取代", "superseded"),
        "standing_what_if": ("假设评分（日期在当日之后）", "what-if (dated ahead)"),
        "standing_rerun": ("重算", "rerun"),
        "standing_past_dated": ("追溯日期（早于已有评分）", "past-dated (before a run already made)"),
        "standing_behind": ("落后（读取的变更少于已有评分）", "behind (fewer changes than a run already made)"),
        "standing": ("效力", "Standing"),
        "engine_duckdb": ("内置数据库", "built-in database"),
        "engine_spark": ("集群（Spark）", "cluster (Spark)"),
        "record_number": ("记录编号", "Record number"),
        "contribution_none": ("不影响分数", "no effect on the score"),
        "policy_changes_first": ("变更", "What changed"),
    }
)
# The statuses and roles the store holds, in the registry's words (registry/words.py): one definition for the pages
# and the organisation's printable file; a page may say one differently to its reader (web/i18n_disputes.py).
_PAIRS.update({f"status_{k.replace(' ', '_')}": v for k, v in STATUS_WORDS["record_status"].items()})
_PAIRS.update({f"purpose_{k}": v for k, v in PURPOSE_WORDS.items()})  # an operator's view's too
for _kind in ("listing_status", "dispute_status", "repair_status", "outcome"):
    _PAIRS.update({f"{_kind}_{k}": v for k, v in STATUS_WORDS[_kind].items()})
_PAIRS.update({f"role_{k}": v for k, v in ROLE_WORDS.items()})
for _key, (_zh, _en) in PROFESSION_WORDS.items():
    _PAIRS[f"profession_{_key}"] = (_zh, _en)
_PAIRS.update(POLICY_PAIRS)
_PAIRS.update(DISPUTE_PAIRS)  # issue 18, disputes: evidence, withdrawal, furnisher page, review, new link, outbox
_PAIRS.update(HISTORY_PAIRS)  # issue 18: score history and the public look-up (web/i18n_history.py)
_PAIRS.update(LAB_PAIRS)  # issue 19, the policy lab: disparity audit and drift panels (web/i18n_lab.py)
_PAIRS.update(ORG_PAIRS)  # issue 20, organisations: their file and the memoranda (web/i18n_orgs.py)

# English texts whose noun follows a count: (the placeholder, the words with it, the words when it is one). Chinese
# nouns have no plural ("1 records", "1 residents" were shown).
_ENGLISH_ONE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "points_value": (("points", "{points} points", "{points} point"),),
    "records_caption": (("n", "{n} records", "{n} record"),),
    "inquiries_caption": (("n", "{n} inquiries", "{n} inquiry"),),
    "dashboard_lead": (("n", "{n} residents", "{n} resident"),),
    "held_short": (("n", "{n} residents", "{n} resident"),),
    "histogram_caption": (("width", "{width} points", "{width} point"),),
    "chart_histogram_desc": (("n", "{n} residents'", "{n} resident's"), ("width", "{width} points", "{width} point")),
    "chart_districts_desc": (("low", "{low} points", "{low} point"),),
    "search_found": (("n", "{n} subjects found", "{n} subject found"),),
    "public_found": (("n", "{n} published entries", "{n} published entry"),),
    "history_score_change": (("d", "{d} points", "{d} point"),),
    "lab_disparity_help": (("n", "{n} groups have", "{n} group has"),),
    "lab_drift_scale": (("bins", "{bins} bins", "{bins} bin"),),
    "cases_past_due": (
        ("n", "listings have passed their", "listing has passed its"),
        ("n", "puts them", "puts it"),
        ("n", "they are not", "it is not"),
    ),
    "period_seconds": (("n", "{n} seconds", "{n} second"),),
    "throttle_signin": (("count", "{count} failed sign-ins", "{count} failed sign-in"),),
    "throttle_public": (("count", "{count} requests", "{count} request"),),
    "throttle_lookup": (("count", "{count} searches", "{count} search"),),
}


def _is_one(value: Any) -> bool:
    """A count or a number of points that reads as one: 1, "+1", "−1", 1.0."""
    try:
        return abs(float(str(value).replace("−", "-").replace(",", ""))) == 1
    except ValueError:
        return False


MESSAGES: dict[str, dict[str, str]] = {
    "zh": {k: zh for k, (zh, _) in _PAIRS.items()},
    "en": {k: en for k, (_, en) in _PAIRS.items()},
}


def translate(lang: str, key: str, default: str | None = None, **values: Any) -> str:
    """The text of ``key`` in ``lang`` with ``{placeholders}`` filled; ``default`` (or the key) if unknown."""
    text = MESSAGES.get(lang, MESSAGES["zh"]).get(key)
    if text is None:
        return default if default is not None else key
    if lang == "en":
        for name, many, one in _ENGLISH_ONE.get(key, ()):
            if _is_one(values.get(name)):
                text = text.replace(many, one)
    return text.format(**values) if values else text

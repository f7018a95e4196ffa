"""The public policy pages: every published version in plain words, its history and what changed, no sign-in."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from page_text import raw_identifiers, visible_text
from socialcredit.catalog import labels as labels_module
from socialcredit.catalog import load_catalog
from socialcredit.catalog.labels import load_labels
from socialcredit.policy import LoadedPolicy, builtin_policy, expr, parse_policy
from socialcredit.policy.words import condition_words, subject_condition_words
from socialcredit.registry.reporting import policy_text as policy_text_module
from socialcredit.registry.reporting.policy_text import _Words, policy_changes, policy_text
from socialcredit.registry.scoring.policies import publish_policy
from web_helpers import browser, shots, sign_in, site

__all__ = ["browser", "shots", "site"]  # the module-scoped fixtures

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _changed_beijing() -> LoadedPolicy:
    """Beijing 2026.3: late taxes cost 20 points, not 10; blood donation no longer counts; 30 days of grace."""
    text = builtin_policy("beijing").text.replace('version: "2026.2"', 'version: "2026.3"', 1)
    late = "    points: -10\n    decay: {half_life_days: 365}\n    expires_after_days: 1825\n    cap: 60"
    assert late in text
    text = text.replace(late, late.replace("-10", "-20"), 1)
    start = text.index("  - id: civic.blood_donation")
    text = text[:start] + text[text.index("\n\n", start) + 1 :]
    assert "grace_days: 60" in text
    return parse_policy(text.replace("grace_days: 60", "grace_days: 30", 1), "beijing-2026.3.yaml")


CHANGES = {
    "en": [
        "Changed in financial: taxes paid late — Points: −10 points for each tax payment record, counted in "
        "financial → −20 points for each tax payment record, counted in financial.",
        "Changed in blacklist: How a listing takes effect — Grace period: 60 days; the listing takes effect after "
        "it unless the cause is resolved or disputed first → 30 days; the listing takes effect after it unless the "
        "cause is resolved or disputed first.",
        "Removed from civic: blood donation.",
    ],
    "zh": [
        "修改（经济信用）：逾期纳税——分值：每条纳税记录减10分，计入经济信用 → 每条纳税记录减20分，计入经济信用。",
        "修改（失信名单）：名单认定如何生效——宽限期：60天；宽限期满后名单认定生效，在此之前消除原因或提出异议的除外"
        " → 30天；宽限期满后名单认定生效，在此之前消除原因或提出异议的除外。",
        "删除（社会公益）：无偿献血。",
    ],
}


# -- the words, without a server ------------------------------------------------------------------------------


def test_every_field_and_value_of_the_catalog_has_plain_words_in_both_languages() -> None:
    catalog, labels = load_catalog(), load_labels()
    missing = []
    for rt in catalog.record_types.values():
        for name, spec in rt.fields.items():
            missing += [name for lang in ("zh", "en") if name not in labels.fields or not labels.field(name, lang)]
            for value in spec.allowed or []:
                missing += [
                    value for lang in ("zh", "en") if value not in labels.values or not labels.value(value, lang)
                ]
    missing += [p for p in catalog.professions if p not in labels.values]
    assert missing == []


def test_the_examples_in_the_docstrings_hold() -> None:
    for module in (policy_text_module, labels_module):
        result = doctest.testmod(module)
        assert result.attempted >= 1 and result.failed == 0, module.__name__


def test_the_raw_identifier_check_finds_what_the_issue_found() -> None:
    found = raw_identifiers("tier poor 信用较差 status == 'paid' high_speed_rail days_late=None tax.late", lang="zh")
    # snake_case and dotted codes first, then None and ==, then the codes and field names written as words
    codes = ["high_speed_rail", "days_late", "tax.late", "None", "=="]
    assert found == [*codes, "poor", "status", "paid", "high_speed_rail", "days_late", "late"]
    found = raw_identifiers(
        "方式 full / 引擎 duckdb （courts） (financial) amount: 5411.07; status: on_time", lang="zh"
    )
    assert found == ["on_time", "full", "duckdb", "courts", "financial", "amount", "status", "on_time"]
    assert raw_identifiers("未履行生效判决 -100 分 COURT_UNFULFILLED", lang="zh") == ["COURT_UNFULFILLED"]
    assert raw_identifiers("the status is paid; grade B or better", lang="en") == []
    assert raw_identifiers("状态为已缴纳；信用等级B及以上", lang="zh") == []


@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_shipped_policy_reads_without_a_raw_identifier(policy_id: str, lang: str) -> None:
    text = policy_text(builtin_policy(policy_id), lang)
    words = [text.name, text.description]
    for s in text.sections:
        words += [s.title, s.lead]
        for item in s.items:
            words.append(item.title)
            words += [w for pair in item.lines for w in pair]
    assert raw_identifiers(" ".join(words), lang=lang) == []
    assert len([i for s in text.sections for i in s.items]) >= 20


def test_the_words_of_rules_lists_and_services() -> None:
    zh = {i.key: dict(i.lines) for s in policy_text(builtin_policy("beijing"), "zh").sections for i in s.items}
    assert zh["rule:tax.late"] == {
        "依据的记录": "纳税记录（状态为逾期）",
        "分值": "每条纳税记录减10分，计入经济信用",
        "计入期限": "分值每年减半；记录满5年后不再计入",
        "上限": "本条最多计60分",
        "失信程度": "轻微失信：名单认定满90天自动结束；可随时申请信用修复",
        "如何改善": "按期申报纳税；逾期记录每年减半，五年后失效。",
    }
    assert (
        zh["list:redlist.exemplary"]["列入条件"] == "信用等级为AAA且（从未有负面记录或距上次负面记录的天数不低于1095）"
    )
    assert zh["service:bank_loan"]["准予条件"] == "不在失信名单上且信用等级B及以上"
    en = {i.key: dict(i.lines) for s in policy_text(builtin_policy("beijing"), "en").sections for i in s.items}
    assert en["list:blacklist.major_tax_evasion"]["Put on the list when"] == (
        "holding a tax payment record where the status is evaded and the amount (yuan) is at least 100,000, dated "
        "within the last 3 years"
    )
    assert en["rule:sector.drunk_driving"]["Applies to"] == "only people working in medical or education"
    assert en["listspec:blacklist"]["Grace period"].startswith("60 days;")


def test_what_changed_between_two_versions_in_both_languages() -> None:
    old, new = builtin_policy("beijing"), _changed_beijing()
    for lang in ("en", "zh"):
        assert [c.line(lang) for c in policy_changes(old, new, lang)] == CHANGES[lang]
    assert policy_changes(old, old, "en") == []
    back = [c.line("en") for c in policy_changes(new, old, "en")]
    assert "Added to civic: blood donation." in back and len(back) == 3


def test_a_service_made_freezable_or_no_longer_freezable_is_a_change_in_both_languages() -> None:
    """Whether a freeze refuses a service (docs/freeze.md) was in no words of the policy: a version that made
    bank_loan not freezable showed "Nothing changed from the previous version"."""
    old = builtin_policy("beijing")
    text = old.text.replace('version: "2026.2"', 'version: "2026.9"')
    at = text.index("  - id: bank_loan")
    new = parse_policy(text[:at] + text[at:].replace("    freezable: true\n", "", 1), "beijing.yaml")
    frozen_en = "While your file is frozen: refused to every relying party you have not lifted the freeze for"
    frozen_zh = "信用档案冻结期间：您未对其解除冻结的查询方一律不予办理"
    assert [c.line("en") for c in policy_changes(old, new, "en")] == [
        f"Changed in Services: bank loan — {frozen_en} → —."
    ]
    assert [c.line("zh") for c in policy_changes(old, new, "zh")] == [f"修改（服务）：银行贷款——{frozen_zh} → —。"]
    assert [c.line("en") for c in policy_changes(new, old, "en")] == [
        "Changed in Services: bank loan — While your file is frozen: — → refused to every relying party you have not "
        "lifted the freeze for."
    ]


def test_who_is_scored_and_the_notice_before_mandatory_enrollment_are_said_and_their_changes_shown() -> None:
    """`kind` and `consent.notice_days` were in no words: notice_days is "published with the policy so subjects know
    how much notice they get" (docs/policy-language.md), and a version that scored organisations too, or gave no
    notice, showed no change."""
    old = builtin_policy("sesame")
    version = next(line for line in old.text.splitlines() if line.startswith("version:"))
    new = parse_policy(
        old.text.replace(version, 'version: "2099.1"')
        .replace("kind: person", "kind: all", 1)
        .replace("notice_days: 60", "notice_days: 0", 1),
        "sesame.yaml",
    )

    def said(loaded: LoadedPolicy, lang: str) -> tuple[str, str]:
        sections = {sec.key: sec.lead for sec in policy_text(loaded, lang).sections}
        return sections["score"], sections["rights"]

    score_en, rights_en = said(old, "en")
    assert score_en.startswith("This policy scores people only. Everyone starts at 550 points;")
    assert rights_en.endswith(
        "Commercial platform data count only with your consent until 2027-07-01, when enrollment becomes mandatory "
        "(you are told 60 days before)."
    )
    score_zh, rights_zh = said(old, "zh")
    assert score_zh.startswith("本政策只评个人，不评单位。每个人的初始分为550分；")
    assert rights_zh.endswith("商业数据仅在您同意后计入，2027-07-01起强制纳入（提前60天告知）。")
    assert said(new, "en")[0].startswith("Everyone starts at 550 points;")
    assert said(new, "en")[1].endswith("when enrollment becomes mandatory (without notice beforehand).")
    assert said(new, "zh")[1].endswith("2027-07-01起强制纳入（不另行提前告知）。")
    for lang, sections in (("en", ["The score and the grades", "Your rights"]), ("zh", ["分数与信用等级", "您的权利"])):
        assert [c.section for c in policy_changes(old, new, lang)] == sections


_FIELDS = [
    (name, spec) for rt in load_catalog().record_types.values() for name, spec in rt.fields.items() if spec.allowed
]


@st.composite
def _conditions(draw: st.DrawFn, depth: int = 0) -> str:
    """A condition on a record: a field compared with its allowed values, combined with and / or / not."""
    if depth < 2 and draw(st.booleans()):
        op = draw(st.sampled_from(["and", "or"]))
        return f"({draw(_conditions(depth + 1))}) {op} ({draw(_conditions(depth + 1))})"
    name, spec = draw(st.sampled_from(_FIELDS))
    values = draw(st.lists(st.sampled_from(spec.allowed or []), min_size=1, max_size=3, unique=True))
    form = draw(st.sampled_from(["==", "!=", "in", "not in", "not"]))
    if form in ("==", "!="):
        return f"{name} {form} '{values[0]}'"
    if form == "not":
        return f"not {name} == '{values[0]}'"
    return f"{name} {form} [" + ", ".join(f"'{v}'" for v in values) + "]"


@settings(max_examples=150, deadline=None)
@given(_conditions(), st.sampled_from(["zh", "en"]))
def test_any_condition_on_a_record_reads_without_a_raw_identifier(condition: str, lang: str) -> None:
    words = _Words(builtin_policy("beijing").policy, load_labels(), lang, record=True).words(expr.parse(condition))
    assert words and "—" not in words
    assert raw_identifiers(words, lang=lang) == [], (condition, words)


@st.composite
def _subject_conditions(draw: st.DrawFn, depth: int = 0) -> str:
    """A condition on a scored subject (a list criterion or a service) of either shipped policy's facts."""
    if depth < 2 and draw(st.booleans()):
        op = draw(st.sampled_from(["and", "or"]))
        return f"({draw(_subject_conditions(depth + 1))}) {op} (not {draw(_subject_conditions(depth + 1))})"
    number = draw(st.integers(0, 100_000))
    return draw(
        st.sampled_from(
            [
                f"score {draw(st.sampled_from(['>=', '<', '>', '<=', '==', '!=']))} {number}",
                f"tier {draw(st.sampled_from(['>=', '<', '==', '!=']))} '{draw(st.sampled_from(['AAA', 'B', 'D']))}'",
                "blacklist",
                "not redlist",
                "last_negative_days is null",
                f"last_negative_days >= {number}",
                f"age < {number % 120}",
                f"financial + legal > {number}",
                "profession in ['medical', 'self_employed']",
                "kind == 'org'",
            ]
        )
    )


@settings(max_examples=150, deadline=None)
@given(_subject_conditions(), st.sampled_from(["zh", "en"]))
def test_any_condition_on_a_subject_reads_without_a_raw_identifier(condition: str, lang: str) -> None:
    words = _Words(builtin_policy("beijing").policy, load_labels(), lang, record=False).words(expr.parse(condition))
    assert words and "—" not in words
    assert raw_identifiers(words, lang=lang) == [], (condition, words)


# -- the pages, over HTTP on loopback -------------------------------------------------------------------------


def _get(site: dict[str, Any], path: str, lang: str) -> httpx.Response:
    with httpx.Client(base_url=site["base"]) as anonymous:  # no session cookie: nobody signed in
        return anonymous.get(path, params={"lang": lang})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_policy_pages_open_without_signing_in_and_show_no_raw_identifier(site: dict[str, Any], lang: str) -> None:
    index = _get(site, "/policies", lang)
    assert index.status_code == 200
    assert 'href="/policies/beijing"' in index.text and 'href="/policies/sesame"' in index.text
    for path in ("/policies", "/policies/beijing", "/policies/sesame", "/policies/beijing/2026.2"):
        r = _get(site, path, lang)
        assert r.status_code == 200, path
        assert raw_identifiers(visible_text(r.text), lang=lang) == [], path
    page = _get(site, "/policies/beijing", lang).text
    assert 'id="rule-tax-late"' in page and 'id="service-bank-loan"' in page and 'id="list-blacklist"' in page
    heading = "逾期纳税" if lang == "zh" else "taxes paid late"
    assert f'<article class="card rule" id="rule-tax-late">\n    <h3>{heading}</h3>' in page


def test_every_page_links_the_rules_in_its_footer(site: dict[str, Any]) -> None:
    for path in ("/signin", "/lists", "/policies", "/policies/sesame"):
        r = _get(site, path, "en")
        assert '<a href="/policies" data-testid="footer-policies">Read every rule</a>' in r.text, path


def test_every_reason_refusal_listing_and_notice_of_a_resident_links_to_its_rule(site: dict[str, Any]) -> None:
    with httpx.Client(base_url=site["base"]) as client:
        sign_in(client, site["keys"]["resident"])  # a blacklisted resident: refused, listed, noticed
        overview = client.get("/me", params={"lang": "en"}).text
    links = re.findall(r'<a (?:class="rule-link" )?href="(/policies/[^"#]+)#([^"]+)">([^<]+)</a>', overview)
    kinds = {anchor.split("-")[0] for _, anchor, _ in links}
    assert kinds == {"rule", "list", "service"}, links
    refused = re.findall(r'<li class="refused"><a href="(/policies/beijing/2026\.2#service-[a-z-]+)">', overview)
    assert len(refused) >= 2  # the blacklist refuses rail and flight tickets
    assert (
        '<a href="/policies/beijing/2026.2" data-testid="rules-beijing">Every rule of the Beijing social credit '
        in (overview)
    )
    notices = overview[overview.index('id="h-notices"') :].split("</section>")[0]
    assert notices.count(">Read the rule</a>") == notices.count("<li>") >= 1
    pages: dict[str, str] = {}
    for path, anchor, _ in links:
        if path not in pages:
            pages[path] = _get(site, path, "en").text
        assert f'id="{anchor}"' in pages[path], (path, anchor)


def test_an_unknown_policy_or_version_is_not_found(site: dict[str, Any]) -> None:
    for path in ("/policies/nowhere", "/policies/beijing/1999.9", "/policies/" + "x" * 300):
        r = _get(site, path, "en")
        assert r.status_code == 404, path
        assert "Traceback" not in r.text


def test_a_new_version_shows_its_history_and_what_changed(site: dict[str, Any]) -> None:
    with site["service"].writer() as store:
        assert publish_policy(store, _changed_beijing(), actor="cli")
    for lang in ("en", "zh"):
        current = visible_text(_get(site, "/policies/beijing", lang).text)
        new = visible_text(_get(site, "/policies/beijing/2026.3", lang).text)
        assert current == new
        text = current
        for line in CHANGES[lang]:
            assert line in text
        assert raw_identifiers(text, lang=lang) == []
        old = visible_text(_get(site, "/policies/beijing/2026.2", lang).text)
        assert ("This is the first version." if lang == "en" else "这是第一个版本。") in old
        assert (
            "This is an earlier version; the current version is 2026.3." if lang == "en" else "现行版本为 2026.3"
        ) in old
    page = _get(site, "/policies/beijing", "en").text
    history = visible_text(page[page.index('<h2 id="h-history">') :].split("</section>")[0])
    today = re.search(r"published (\d{4}-\d\d-\d\d)", history)
    assert today
    date = today.group(1)
    assert history == (
        f"Version history 2026.3 (this page) · published {date} by the registry's operators (command line) "
        f"2026.2 · published {date} by the registry's operators (command line)"
    )
    assert 'href="/policies/beijing/2026.2"' in _get(site, "/policies/beijing", "en").text


def test_a_version_published_over_the_api_names_the_party_never_its_key(site: dict[str, Any]) -> None:
    text = builtin_policy("sesame").text.replace('version: "2026.1"', 'version: "2026.7"', 1)
    with httpx.Client(base_url=site["base"]) as client:
        r = client.post(
            "/v1/policies",
            content=text.encode(),
            headers={"Authorization": f"Bearer {site['keys']['operator']}", "Content-Type": "application/yaml"},
        )
    assert r.status_code == 201, r.text
    page = _get(site, "/policies/sesame", "zh").text
    history = visible_text(page[page.index('<h2 id="h-history">') :].split("</section>")[0])
    assert history.startswith("版本历史 2026.7 （本页） · ") and "由registry operations发布" in history, history
    assert site["key_ids"]["operator"] not in page
    assert "与上一版本相比没有变化。" in visible_text(page)


# -- in the browser ---------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_on_a_phone_nothing_on_the_policy_page_is_wider_than_the_screen(
    site: dict[str, Any], browser: Any, shots: Any, lang: str
) -> None:
    context = browser.new_context(viewport=PHONE, base_url=site["base"])
    page = context.new_page()
    for path in ("/policies", "/policies/beijing", "/policies/sesame"):
        page.goto(f"{path}?lang={lang}")
        assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
        width = page.evaluate("document.documentElement.scrollWidth")
        wider = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.offsetParent !== null)
                .map(e => e.tagName + ' ' + (e.id || e.className) + ': ' + e.textContent.slice(0, 40))"""
        )
        assert width <= PHONE["width"], (path, width)
        assert wider == [], (path, wider)
    page.goto(f"/policies/beijing?lang={lang}#rule-tax-late")
    assert page.locator("#rule-tax-late h3").is_visible()
    page.goto(f"/policies/beijing?lang={lang}")
    # the phone and desktop screenshots scripts/screenshots.py keeps (in Chinese, the site's default language)
    page.screenshot(path=str(shots / ("policy-phone.png" if lang == "zh" else f"policy-{lang}-phone.png")))
    context.close()
    context = browser.new_context(viewport=DESKTOP, base_url=site["base"])
    page = context.new_page()
    page.goto(f"/policies/beijing?lang={lang}")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.screenshot(path=str(shots / ("policy-desktop.png" if lang == "zh" else f"policy-{lang}-desktop.png")))
    context.close()


@pytest.mark.parametrize(
    ("condition", "en", "zh"),
    [
        ("last_negative_days is null", "there has never been a negative record", "从未有负面记录"),
        # it read "the days since the last negative record is given" (已填写距上次负面记录的天数)
        ("last_negative_days is not null", "there has been a negative record", "有过负面记录"),
        # it read "age is not given" (未填写年龄): an organisation has no age, nothing was left out
        ("age is null", "the age is unknown (an organisation has none)", "年龄未知（单位没有年龄）"),
        ("age is not null", "the age is known", "年龄已知"),
        ("profession is null", "the profession is not given", "未填写职业"),
    ],
)
def test_a_fact_known_or_unknown_reads_as_what_it_means(condition: str, en: str, zh: str) -> None:
    text = builtin_policy("beijing").text.replace('grant_if: "redlist"', f'grant_if: "{condition}"', 1)
    assert condition in text
    loaded = parse_policy(text, "beijing.yaml")
    service = next(s.id for s in loaded.policy.services if s.grant_if == condition)
    assert condition_words(loaded, f"service:{service}", "en") == en
    assert condition_words(loaded, f"service:{service}", "zh") == zh


@pytest.mark.parametrize(
    ("condition", "en", "zh"),
    [
        # it read "the score minus age minus 10", which is a different rule (score - age - 10)
        ("score - (age - 10) > 5", "the score minus (age minus 10) is more than 5", "信用分减（年龄减10）高于5"),
        ("(score + age) * 2 > 1", "(the score plus age) times 2 is more than 1", "（信用分加年龄）乘以2高于1"),
        ("-(score - age) > 100", "minus (the score minus age) is more than 100", "负（信用分减年龄）高于100"),
        (
            "score / (age / 2) > 1",
            "the score divided by (age divided by 2) is more than 1",
            "信用分除以（年龄除以2）高于1",
        ),
        ("score - age - 10 > 5", "the score minus age minus 10 is more than 5", "信用分减年龄减10高于5"),
        ("score + age * 2 > 1", "the score plus age times 2 is more than 1", "信用分加年龄乘以2高于1"),
    ],
)
def test_a_calculation_in_words_keeps_its_grouping(condition: str, en: str, zh: str) -> None:
    text = builtin_policy("beijing").text.replace('grant_if: "redlist"', f'grant_if: "{condition}"', 1)
    loaded = parse_policy(text, "beijing.yaml")
    service = next(s.id for s in loaded.policy.services if s.grant_if == condition)
    assert condition_words(loaded, f"service:{service}", "en") == en
    assert condition_words(loaded, f"service:{service}", "zh") == zh


_SUM_BACK = {
    "en": [
        *[("the score", "score"), (" plus ", " + "), (" minus ", " - "), ("minus ", "- "), (" times ", " * ")],
        *[(" divided by ", " / "), (" is more than ", " > ")],
    ],
    "zh": [
        *[("信用分", "score"), ("年龄", "age"), ("加", " + "), ("减", " - "), ("负", " - "), ("乘以", " * ")],
        *[("除以", " / "), ("（", "("), ("）", ")"), ("高于", " > ")],
    ],
}
_SUMS = st.recursive(
    st.sampled_from(["score", "age", "2", "10"]),
    lambda inner: st.one_of(
        st.builds(lambda a: f"(-{a})", inner),
        st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from("+-*/"), inner),
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(sum_=_SUMS, lang=st.sampled_from(["en", "zh"]))
def test_a_calculation_said_in_words_reads_back_as_the_same_calculation(sum_: str, lang: str) -> None:
    """Said with only the brackets its words need, any sum parses back from its words (the operators' words put back
    as operators) to the same tree: the words never describe a different rule."""
    node = expr.parse(f"{sum_} > 0")
    said = subject_condition_words(builtin_policy("beijing"), node, lang)
    for word, symbol in _SUM_BACK[lang]:
        said = said.replace(word, symbol)
    assert expr.parse(said) == node, said


def test_the_published_page_says_how_points_become_the_score_and_its_example_is_what_a_run_counts(
    site: dict[str, Any], tmp_path: Any
) -> None:
    """A visitor checking a score by hand read "its weight halves every year" and counted a late tax payment of 182
    days at −10, where the run counts −7.08 (the weight halves day by day), and was not told how the score is rounded.
    The page says both, with an example; a run counts the example as the page says."""
    from scoring_helpers import days_before, open_registry, person, tax

    with httpx.Client(base_url=site["base"], timeout=30) as client:
        for lang, said in (
            (
                "en",
                "A weight that halves does so day by day: a record counts its points × 2^(−days since its date ÷ the "
                "days it takes to halve), a year being 365 days (10 points that halve every year count 7.08 after 182 "
                "days). Each dimension's points are added up within its limits; the score is the base and the "
                "dimensions, to the nearest whole point, a half upward (98.5 → 99, −2.5 → −2).",
            ),
            (
                "zh",
                "分值减半按天连续计算：一条记录计其分值 × 2^(−记录日期至今的天数 ÷ 减半所需天数)，"
                "一年按365天计（每年减半的10分，182天后计7.08分）。"
                "各维度的分数相加后不超出其上下限；分数为初始分加各维度分数，取最接近的整数，恰为半分时向上取"
                "（98.5 → 99，−2.5 → −2）。",
            ),
        ):
            page = client.get("/policies/beijing", params={"lang": lang})
            assert page.status_code == 200 and said in visible_text(page.text), lang
    registry = open_registry(tmp_path)
    who = person(1)
    registry.register({who: "other"})
    registry.send("tax_bureau", [tax("T1", who, days_before(182), status="late", days_late=30)])
    run = registry.score(builtin_policy("beijing"))
    assert registry.points(run.run_id, who, "tax.late") == -7.077785  # −10 × 2^(−182/365), as the pages show it: −7.08
    assert registry.results(run.run_id)[who]["score"] == 993  # 1000 − 7.077785 to the nearest point


def _beijing_changed(*changes: tuple[str, str]) -> LoadedPolicy:
    text = builtin_policy("beijing").text
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse_policy(text, "beijing.yaml")


def _score_lead(loaded: LoadedPolicy, lang: str) -> str:
    from socialcredit.policy.words import policy_text as words

    return next(s.lead for s in words(loaded, lang).sections if s.key == "score")


def test_the_page_says_how_a_half_point_and_a_total_below_zero_are_rounded_as_a_run_rounds_them(
    tmp_path: Any,
) -> None:
    """The page said "rounded half up" (四舍五入), which many read −3.5 → −4; a run takes FLOOR(total + 0.5): a half
    goes upward below zero too. Scored from 0 with −3.5 for a late tax and +2.5 for a paid one: −3.5 → −3, 2.5 → 3."""
    from scoring_helpers import days_before, open_registry, person, tax

    loaded = _beijing_changed(
        ("scale: {base: 1000, min: 0, max: 1300}", "scale: {base: 0, min: -1300, max: 1300}"),
        ("{id: D, min: 0,", "{id: D, min: -1300,"),
        ("    points: 2\n    per: year\n", "    points: 2.5\n    per: year\n"),
        ("    points: -10\n    decay: {half_life_days: 365}\n", "    points: -3.5\n"),
    )
    assert _score_lead(loaded, "en").endswith(
        "Each dimension's points are added up within its limits; the score is the base and the dimensions, to the "
        "nearest whole point, a half upward (98.5 → 99, −2.5 → −2). The grades:"
    )
    assert _score_lead(loaded, "zh").endswith(
        "各维度的分数相加后不超出其上下限；分数为初始分加各维度分数，取最接近的整数，恰为半分时向上取"
        "（98.5 → 99，−2.5 → −2）。信用等级如下："
    )
    registry = open_registry(tmp_path)
    late, paid = person(1), person(2)
    registry.register({late: "other", paid: "other"})
    registry.send(
        "tax_bureau",
        [tax("T1", late, days_before(10), status="late", days_late=30), tax("T2", paid, days_before(10))],
    )
    run = registry.score(loaded)
    assert (registry.points(run.run_id, late, "tax.late"), registry.points(run.run_id, paid, "tax.paid")) == (-3.5, 2.5)
    scores = registry.results(run.run_id)
    assert (scores[late]["score"], scores[paid]["score"]) == (-3, 3)


def test_the_page_says_a_rule_counted_per_month_halves_from_the_month_s_latest_record_as_a_run_counts_it(
    tmp_path: Any,
) -> None:
    """A rule counted once a month whose weight halves counts each month from its latest record (compiler/plan.py):
    the page said how a weight halves, not from which record. Two late taxes of one month, 20 and 10 days old, count
    −10 × 2^(−10/365) once."""
    from scoring_helpers import days_before, open_registry, person, tax

    loaded = _beijing_changed(
        (
            "    points: -10\n    decay: {half_life_days: 365}\n",
            "    points: -10\n    per: month\n    decay: {half_life_days: 365}\n",
        ),
    )
    said = {
        "en": "A rule counted for each month (quarter, year) with a record counts each such period once, its weight "
        "halving from the period's latest record. ",
        "zh": "按月（季度、年份）计分的规则每个期间只计一次，其分值自该期间最近一条记录的日期起减半。",
    }
    for lang, words in said.items():
        assert words in _score_lead(loaded, lang)
        assert words not in _score_lead(builtin_policy("beijing"), lang)  # no rule of the shipped one is both
    registry = open_registry(tmp_path)
    who = person(1)
    registry.register({who: "other"})
    late = [tax(f"T{n}", who, days_before(days), status="late", days_late=30) for n, days in ((1, 20), (2, 10))]
    registry.send("tax_bureau", late)
    run = registry.score(loaded)
    assert registry.points(run.run_id, who, "tax.late") == -9.811888  # −10 × 2^(−10/365), to the millionth
    assert registry.results(run.run_id)[who]["score"] == 990  # 1000 − 9.811888 to the nearest point


def test_a_version_published_with_full_width_digits_in_its_list_conditions_reads_as_published() -> None:
    """A version a store holds from before condition digits were held to 0-9 (a record condition
    ``amount >= １00000``, a floor ``score < ６００``) is read back as published (``parse_policy(published=True)``);
    its words and its lint read each criterion as loaded. Until 2026-12-06 both parsed the conditions again outside
    that mode: every face that words the policy (its page, `policy explain`) failed with the parse error."""
    from socialcredit.policy.lint import lint_policy
    from socialcredit.policy.load import __file__ as load_file

    shipped = (Path(load_file).parent.parent / "policies" / "beijing.yaml").read_text(encoding="utf-8")
    old = shipped.replace("amount >= 100000", "amount >= １00000")
    old = old.replace('when: "score < 600"', 'when: "score < ６００"')
    assert "１00000" in old and "６００" in old
    before, now = parse_policy(shipped), parse_policy(old, published=True)
    for lang in ("en", "zh"):
        assert policy_text(now, lang) == policy_text(before, lang)
    assert "where the status is evaded and the amount (yuan) is at least 100,000, dated" in repr(policy_text(now, "en"))
    assert lint_policy(now) == lint_policy(before)

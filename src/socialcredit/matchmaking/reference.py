"""Reference data of the matchmaking service: districts and their distances, education levels, job statuses,
income bands, interests, and every label in Chinese (the default) and English.

District codes and names come from the registry's census table (``socialcredit/data/beijing-districts-2020.csv``);
the coordinates below are the approximate seats of each district government (WGS 84, to 0.01°, about 1 km), which
is as precise as a "how far apart do we live" part needs to be.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from socialcredit.errors import MatchmakingError
from socialcredit.example import districts as census_districts

__all__ = [
    "DISTRICTS",
    "EDUCATION",
    "INCOME_BANDS",
    "INTERESTS",
    "JOB_STATUSES",
    "SEXES",
    "SHOWN",
    "District",
    "Label",
    "Tiers",
    "credit_tiers",
    "district_index",
    "district_km",
    "label",
    "parse_age",
    "parse_district",
    "parse_education",
    "parse_income",
    "parse_interests",
    "parse_job",
    "shown",
]

SHOWN = 80  # an error echoes at most this many characters of what was typed


def shown(value: str) -> str:
    """A typed value as an error message quotes it: in quotes, escaped (a control or bidi character shows as its
    code), cut at :data:`SHOWN` characters with an ellipsis (a 10,000-character district is not echoed whole)."""
    return repr(value if len(value) <= SHOWN else value[: SHOWN - 1] + "…")


@dataclass(frozen=True)
class Label:
    id: str
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class District:
    code: str
    zh: str
    en: str
    lat: float
    lon: float

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


# Seat of each district government (latitude, longitude).
_SEATS = {
    "110101": (39.93, 116.42),  # Dongcheng, Qianliang Hutong
    "110102": (39.91, 116.37),  # Xicheng, Erlong Road
    "110105": (39.92, 116.44),  # Chaoyang, Ritan
    "110106": (39.86, 116.29),  # Fengtai, Fengtai town
    "110107": (39.91, 116.22),  # Shijingshan, Shijingshan Road
    "110108": (39.96, 116.30),  # Haidian, Changchunqiao Road
    "110109": (39.94, 116.10),  # Mentougou, Xinqiao Street
    "110111": (39.74, 116.14),  # Fangshan, Liangxiang
    "110112": (39.91, 116.66),  # Tongzhou
    "110113": (40.13, 116.65),  # Shunyi
    "110114": (40.22, 116.23),  # Changping
    "110115": (39.73, 116.34),  # Daxing, Huangcun
    "110116": (40.32, 116.63),  # Huairou
    "110117": (40.14, 117.11),  # Pinggu
    "110118": (40.38, 116.84),  # Miyun
    "110119": (40.46, 115.98),  # Yanqing
}


def _districts() -> tuple[District, ...]:
    rows = census_districts()
    codes = [r["code"] for r in rows]
    if sorted(codes) != sorted(_SEATS):
        raise MatchmakingError("the district seats do not cover exactly the 16 districts of the census table")
    return tuple(District(r["code"], r["name_zh"], r["name_en"], *_SEATS[r["code"]]) for r in rows)


DISTRICTS: tuple[District, ...] = _districts()
_BY_NAME = {key: i for i, d in enumerate(DISTRICTS) for key in (d.code, d.zh, d.zh.removesuffix("区"), d.en.lower())}


def district_index(code: str) -> int:
    return _BY_NAME[code]


# An age as typed: ASCII digits only (``int`` also read ``3_0``, full-width ``３０`` and spaces around), leading zeros
# allowed, at most so many characters (``int`` converted thousands of digits before the range was checked)
MAX_AGE_CHARS = 32
_AGE = re.compile(r"[0-9]+")


def parse_age(value: str, field: str) -> int:
    """An age of the form's ``field`` (age_min, age_max) from its text; refused, naming the field, in both
    languages, if it is not ASCII digits or is longer than ``MAX_AGE_CHARS``."""
    if len(value) > MAX_AGE_CHARS:
        raise MatchmakingError(
            f"{field}: an age is at most {MAX_AGE_CHARS} digits, not {len(value)} characters",
            field=field,
            zh=f"{field}：年龄至多 {MAX_AGE_CHARS} 位数字，而不是 {len(value)} 个字符",
        )
    if not _AGE.fullmatch(value):
        raise MatchmakingError(f"{field}: the ages must be whole numbers", field=field, zh=f"{field}：年龄须为整数")
    return int(value)


def parse_district(value: str) -> str:
    """A district's code from its code, Chinese name (with or without 区) or English name."""
    v = value.strip()
    i = _BY_NAME.get(v, _BY_NAME.get(v.lower()))
    if i is None:
        raise MatchmakingError(
            f"unknown district {shown(value)}; use one of Beijing's 16 districts by code, Chinese or English name "
            f"(e.g. 110108, 海淀区, Haidian)",
            zh=f"未知的区 {shown(value)}：请用北京 16 个区之一的代码、中文或英文名称（例如 110108、海淀区、Haidian）",
        )
    return DISTRICTS[i].code


def _haversine_km(a: District, b: District) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@cache
def _km_matrix() -> tuple[tuple[float, ...], ...]:
    # rounded to 0.1 km: the figure shown to clients is the figure that is scored
    return tuple(tuple(round(_haversine_km(a, b), 1) for b in DISTRICTS) for a in DISTRICTS)


def district_km(a: str, b: str) -> float:
    """Distance in km between the seats of two districts (by code), rounded to 0.1 km."""
    return _km_matrix()[district_index(a)][district_index(b)]


SEXES = (Label("F", "女", "woman"), Label("M", "男", "man"))

# Ordered: a level's position (1-based) is its rank; preferences compare ranks.
EDUCATION = (
    Label("junior_high", "初中及以下", "junior high or less"),
    Label("high_school", "高中/中专", "high school"),
    Label("associate", "大专", "associate degree"),
    Label("bachelor", "本科", "bachelor's degree"),
    Label("master", "硕士", "master's degree"),
    Label("doctorate", "博士", "doctorate"),
)

JOB_STATUSES = (
    Label("employed", "在职", "employed"),
    Label("self_employed", "自主经营", "self-employed"),
    Label("student", "在读", "student"),
    Label("retired", "退休", "retired"),
    Label("unemployed", "待业", "not working"),
)

INCOME_BANDS = (  # monthly, yuan
    Label("under_5k", "5千以下", "under ¥5k"),
    Label("5k_10k", "5千-1万", "¥5k-10k"),
    Label("10k_20k", "1万-2万", "¥10k-20k"),
    Label("20k_50k", "2万-5万", "¥20k-50k"),
    Label("over_50k", "5万以上", "over ¥50k"),
)

INTERESTS = (
    Label("reading", "阅读", "reading"),
    Label("travel", "旅行", "travel"),
    Label("music", "音乐", "music"),
    Label("cooking", "烹饪", "cooking"),
    Label("food", "美食", "food"),
    Label("films", "电影", "films"),
    Label("hiking", "徒步", "hiking"),
    Label("running", "跑步", "running"),
    Label("fitness", "健身", "fitness"),
    Label("swimming", "游泳", "swimming"),
    Label("badminton", "羽毛球", "badminton"),
    Label("photography", "摄影", "photography"),
    Label("painting", "绘画", "painting"),
    Label("calligraphy", "书法", "calligraphy"),
    Label("tea", "茶艺", "tea"),
    Label("pets", "宠物", "pets"),
    Label("gaming", "游戏", "gaming"),
    Label("board_games", "桌游", "board games"),
    Label("singing", "唱歌", "singing"),
    Label("dance", "舞蹈", "dance"),
    Label("opera", "京剧", "Peking opera"),
    Label("technology", "科技", "technology"),
    Label("investing", "理财", "investing"),
    Label("volunteering", "志愿服务", "volunteering"),
)

_UI = {
    "app_title": ("百合婚恋 · 信用徽章", "Baihe matchmaking · credit badge"),
    "register": ("注册会员", "Register a client"),
    "open_client": ("查看会员", "Open a client"),
    "client": ("会员", "Client"),
    "name": ("姓名", "Name"),
    "subject_id": ("身份证号", "Identity number"),
    "sex": ("性别", "Sex"),
    "age": ("年龄", "Age"),
    "district": ("所在区", "District"),
    "education": ("学历", "Education"),
    "job": ("工作状态", "Job status"),
    "income": ("月收入", "Monthly income"),
    "interests": ("兴趣", "Interests"),
    "preferences": ("择偶条件", "Partner preferences"),
    "seeks": ("寻找", "Looking for"),
    "age_range": ("年龄范围", "Age range"),
    "districts": ("所在区（不选为不限）", "Districts (none = any)"),
    "min_education": ("最低学历", "Minimum education"),
    "min_income": ("最低月收入", "Minimum monthly income"),
    "min_tier": ("最低信用等级", "Minimum credit tier"),
    "any": ("不限", "any"),
    "save": ("保存", "Save"),
    "consent": ("信用等级授权", "Sharing your credit tier"),
    "consent_yes": ("已授权：百合可向信用服务查询您的信用徽章", "Shared: Baihe may ask the registry for your badge"),
    "consent_no": ("未授权：匹配时不使用任何信用信息", "Not shared: matching uses no credit signal at all"),
    "give_consent": ("授权分享信用等级", "Share my credit tier"),
    "withdraw_consent": ("撤回授权", "Withdraw consent"),
    "history": ("授权记录", "Consent history"),
    "matches": ("推荐对象", "Matches"),
    "why": ("匹配理由", "Why this match"),
    "part": ("项目", "Part"),
    "weight": ("权重", "Weight"),
    "value": ("得分", "Value"),
    "contribution": ("贡献", "Contribution"),
    "total": ("匹配度", "Compatibility"),
    "badge": ("信用徽章", "Credit badge"),
    "no_matches": ("暂无符合双方条件的对象。", "Nobody meets both sides' preferences yet."),
    "candidates": ("共{n}位符合双方条件", "{n} meet both sides' preferences"),
    "candidates_one": ("共{n}位符合双方条件", "{n} meets both sides' preferences"),  # n = 1
    "granted": ("已授权", "shared"),
    "withdrawn": ("已撤回", "withdrawn"),
    "back": ("返回", "Back"),
    "not_found": ("未找到", "Not found"),
    "error": ("输入有误", "Invalid input"),
    "failed": ("无法完成", "Could not be done"),
    "reason": ("说明", "Reason"),
    "age_min": ("最小年龄", "Youngest age"),
    "age_max": ("最大年龄", "Oldest age"),
    "formula": ("匹配度计算方法", "How compatibility is computed"),
}


def label(key: str, lang: str) -> str:
    zh, en = _UI[key]
    return en if lang == "en" else zh


# What each table is called in Chinese, for its refusals.
_WHAT_ZH = {"education": "学历", "job status": "职业状况", "income band": "收入档次", "interest": "兴趣"}


def _parse(table: tuple[Label, ...], value: str, what: str, what_zh: str | None = None) -> int:
    """The 1-based rank of ``value`` (an id, or a Chinese or English label) in ``table``."""
    v = value.strip()
    for i, item in enumerate(table, start=1):
        if v in (item.id, item.zh) or v.lower() == item.en.lower():
            return i
    ids = ", ".join(x.id for x in table)
    said = what_zh or _WHAT_ZH.get(what, what)
    raise MatchmakingError(
        f"unknown {what} {shown(value)}; one of: {ids}", zh=f"未知的{said} {shown(value)}：可选 {ids}"
    )


def parse_education(value: str) -> int:
    return _parse(EDUCATION, value, "education")


def parse_job(value: str) -> int:
    return _parse(JOB_STATUSES, value, "job status")


def parse_income(value: str) -> int:
    return _parse(INCOME_BANDS, value, "income band")


def parse_interests(values: list[str]) -> list[str]:
    """Interest ids from ids or labels, without duplicates, in the reference order."""
    ranks = {_parse(INTERESTS, v, "interest") for v in values if v.strip()}
    return [INTERESTS[r - 1].id for r in sorted(ranks)]


@dataclass(frozen=True)
class Tiers:
    """The credit tiers of the policy that decides the badge, worst first (rank 1 is the worst)."""

    policy_id: str
    labels: tuple[Label, ...]

    def rank(self, tier: str | None) -> int:
        """1 for the worst tier up to len(labels) for the best; 0 for none or a tier this policy does not have."""
        for i, item in enumerate(self.labels, start=1):
            if item.id == tier:
                return i
        return 0

    def parse(self, value: str) -> str:
        what, what_zh = f"credit tier of policy {self.policy_id}", f"政策 {self.policy_id} 的信用等级"
        return self.labels[_parse(self.labels, value, what, what_zh) - 1].id


@cache
def credit_tiers(policy_id: str | None = None) -> Tiers:
    """The tiers of a shipped policy (published, public text); by default of the policy the site relies on (POLICY:
    Baihe joined the credit service Sesame), whose runs decide its badges."""
    from socialcredit.matchmaking.settings import POLICY
    from socialcredit.policy import builtin_policy

    policy_id = policy_id or POLICY
    policy = builtin_policy(policy_id).policy
    by_id = {t.id: t for t in policy.tiers}
    labels = []
    for tid in reversed(policy.tier_ids()):
        name = by_id[tid].name
        labels.append(Label(tid, name.zh if name else tid, name.en if name else tid))
    return Tiers(policy_id, tuple(labels))

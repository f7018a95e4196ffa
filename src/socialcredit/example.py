"""A small example Beijing, built deterministically from a seed: a few hundred residents, some organisations,
records from every source (some of them with mistakes, to show rejects), some people on the blacklist.

It is written as ordinary source files (CSV and NDJSON) and goes through the same ingest as real data.
The population generator of benchmarks/ and `socialcredit generate` will supersede it for realistic scale.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialcredit.data import districts  # re-exported: the generator and the matchmaking site import it here
from socialcredit.identifiers import make_ric, make_uscc, ric_check_char

__all__ = ["AS_OF", "ExampleFiles", "districts", "write_example"]

AS_OF = dt.date(2026, 11, 1)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌宇浩然子轩欣怡梓涵雨萱俊杰"
# Birthplace codes of migrants (provincial capitals' urban districts), which keep their own region code.
_MIGRANT_CODES = ["130102", "370102", "410105", "210102", "140105", "340102", "420102", "510104", "230102"]
_PROFESSIONS = [
    ("medical", 4),
    ("education", 5),
    ("accounting", 3),
    ("journalism", 1),
    ("civil_service", 4),
    ("manufacturing", 8),
    ("construction", 6),
    ("retail", 8),
    ("hospitality", 5),
    ("transport", 5),
    ("information_technology", 8),
    ("finance", 4),
    ("self_employed", 6),
    ("student", 6),
    ("retired", 14),
    ("unemployed", 3),
    ("other", 4),
]


@dataclass(frozen=True)
class ExampleFiles:
    folder: Path
    subjects: Path
    sources: dict[str, Path]
    consents: list[tuple[str, str, bool]]


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def write_example(folder: Path | str, *, residents: int = 300, seed: int = 7) -> ExampleFiles:
    """Write the example population and its records into ``folder``."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dist = districts()
    weights = [int(d["population_2020"]) for d in dist]
    people: list[dict[str, Any]] = []
    used: set[str] = set()
    for _ in range(residents):
        d = rng.choices(dist, weights)[0]
        birth = _date_between(rng, dt.date(1945, 1, 1), dt.date(2006, 12, 31))
        code = rng.choice(_MIGRANT_CODES) if rng.random() < 0.33 else d["code"]
        if code == "110118" and birth.year < 2015:
            code = "110228"  # Miyun was a county until 2015: older numbers keep the county code
        while True:
            rid = make_ric(code, birth, rng.randrange(1000))
            if rid not in used:
                used.add(rid)
                break
        age = (AS_OF - birth).days // 365
        prof = "retired" if age >= 62 else rng.choices([p for p, _ in _PROFESSIONS], [w for _, w in _PROFESSIONS])[0]
        if prof == "retired" and age < 50:
            prof = "other"
        people.append({"subject_id": rid, "name": _name(rng), "district": d["name_zh"], "profession": prof})
    orgs = []
    for i in range(12):
        body = (
            "91" + rng.choice(dist)["code"] + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
        )
        orgs.append(
            {
                "subject_id": make_uscc(body),
                "name": f"北京示例{'科技商贸建筑餐饮物流医药'[i % 6 * 2 : i % 6 * 2 + 2]}有限公司{i + 1}",
                "district": rng.choice(dist)["name_zh"],
                "profession": None,
            }
        )
    subjects = folder / "subjects.csv"
    with subjects.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ["subject_id", "name", "district", "profession"])
        w.writeheader()
        w.writerows(people + orgs)
        # Two mistakes a real register sends: a mistyped check character and an impossible birth date.
        bad = people[0]["subject_id"]
        w.writerow(
            {
                "subject_id": bad[:-1] + ("0" if bad[-1] != "0" else "1"),
                "name": "错误示例",
                "district": "",
                "profession": "other",
            }
        )
        impossible = "11010519900231123"
        w.writerow(
            {
                "subject_id": impossible + ric_check_char(impossible),
                "name": "错误示例二",
                "district": "",
                "profession": "other",
            }
        )

    rows: dict[str, list[dict[str, Any]]] = {
        s: []
        for s in (
            "tax_bureau",
            "traffic_police",
            "courts",
            "banks",
            "universities",
            "licensing_boards",
            "utilities",
            "employers",
            "civil_affairs",
            "blood_centre",
            "commercial_platforms",
        )
    }
    counter = 0

    def add(source: str, subject: str, record_type: str, when: dt.date, **fields: Any) -> None:
        nonlocal counter
        counter += 1
        rows[source].append(
            {
                "record_id": f"{source[:3].upper()}-{counter:06d}",
                "subject_id": subject,
                "record_type": record_type,
                "event_date": when.isoformat(),
                **fields,
            }
        )

    start = AS_OF - dt.timedelta(days=3 * 365)
    consents: list[tuple[str, str, bool]] = []
    for i, p in enumerate(people):
        sid = p["subject_id"]
        # Behaviour profile: most people are ordinary, a few are careless, and about 2% are defaulters.
        profile = rng.choices(["model", "ordinary", "careless", "defaulter"], [15, 68, 15, 2])[0]
        if i in (1, 2, 3):
            profile = "defaulter"  # guarantee a few for the walkthrough
        working = p["profession"] not in ("student", "retired", "unemployed")
        for year in (2024, 2025, 2026):
            if working:
                status = "paid" if profile in ("model", "ordinary") or rng.random() < 0.6 else "late"
                add(
                    "tax_bureau",
                    sid,
                    "tax_payment",
                    dt.date(year, 5, rng.randint(1, 28)),
                    amount=rng.randint(800, 40000),
                    status=status,
                    days_late=rng.randint(5, 90) if status == "late" else None,
                )
        for _ in range(rng.choice((0, 0, 1, 2)) + (2 if profile == "careless" else 0)):
            offence = rng.choices(["parking", "speeding", "red_light", "drunk_driving"], [50, 30, 15, 2])[0]
            add(
                "traffic_police",
                sid,
                "traffic_ticket",
                _date_between(rng, start, AS_OF),
                offence=offence,
                fine=rng.choice((100, 200, 500, 2000)),
                status="paid" if rng.random() < 0.85 else "unpaid",
            )
        if rng.random() < 0.5:
            for m in range(rng.randint(3, 12)):
                when = AS_OF - dt.timedelta(days=30 * m + 3)
                status = "on_time" if profile != "careless" or rng.random() < 0.7 else "late"
                add(
                    "banks",
                    sid,
                    "loan_repayment",
                    when,
                    amount=rng.randint(1000, 9000),
                    status=status,
                    days_late=rng.randint(3, 60) if status == "late" else None,
                )
        if profile == "defaulter":
            add(
                "courts",
                sid,
                "court_judgment",
                _date_between(rng, start, AS_OF - dt.timedelta(days=60)),
                case_type="civil",
                amount=rng.randint(20000, 500000),
                status="unfulfilled",
                defaulter="true",
            )
            add(
                "banks",
                sid,
                "loan_repayment",
                _date_between(rng, start, AS_OF),
                amount=rng.randint(10000, 90000),
                status="default",
                days_late=180,
            )
        elif rng.random() < 0.03:
            add(
                "courts",
                sid,
                "court_judgment",
                _date_between(rng, start, AS_OF),
                case_type="civil",
                amount=rng.randint(5000, 50000),
                status="fulfilled",
                defaulter="false",
            )
        for m in range(0, 12, 3):
            status = rng.choices(["on_time", "late", "unpaid"], [90, 7, 3] if profile != "careless" else [60, 25, 15])[
                0
            ]
            add(
                "utilities",
                sid,
                "utility_payment",
                AS_OF - dt.timedelta(days=30 * m + 10),
                utility=rng.choice(("electricity", "water", "gas", "heating")),
                amount=rng.randint(50, 900),
                status=status,
            )
        if working:
            add(
                "employers",
                sid,
                "employment",
                AS_OF - dt.timedelta(days=rng.randint(20, 300)),
                employer=rng.choice(orgs)["name"],
                status="active",
                monthly_income=rng.choice((4500, 7000, 12000, 25000)),
            )
        if rng.random() < 0.4:
            forged = rng.random() < 0.03
            add(
                "universities",
                sid,
                "degree_verification",
                _date_between(rng, start, AS_OF),
                degree=rng.choice(("bachelor", "master", "associate")),
                result="forged" if forged else "verified",
            )
        if p["profession"] in ("medical", "education", "accounting", "journalism") and rng.random() < 0.5:
            finding = rng.choices(["commendation", "warning", "misconduct", "serious_misconduct"], [50, 30, 15, 5])[0]
            add(
                "licensing_boards",
                sid,
                "professional_conduct",
                _date_between(rng, start, AS_OF),
                profession=p["profession"],
                finding=finding,
            )
        if profile == "model" or rng.random() < 0.15:
            for m in range(rng.randint(2, 10)):
                add(
                    "civil_affairs", sid, "volunteering", AS_OF - dt.timedelta(days=30 * m + 5), hours=rng.randint(2, 8)
                )
            if rng.random() < 0.5:
                add(
                    "blood_centre",
                    sid,
                    "blood_donation",
                    _date_between(rng, start, AS_OF),
                    millilitres=rng.choice((200, 300, 400)),
                )
        if rng.random() < 0.6:
            for m in range(rng.randint(2, 8)):
                add(
                    "commercial_platforms",
                    sid,
                    "platform_repayment",
                    AS_OF - dt.timedelta(days=30 * m + 7),
                    amount=rng.randint(100, 3000),
                    status="on_time" if profile != "careless" else rng.choice(("on_time", "late")),
                )
            for m in range(rng.randint(1, 6)):
                add(
                    "commercial_platforms",
                    sid,
                    "purchase",
                    AS_OF - dt.timedelta(days=30 * m + 12),
                    amount=rng.randint(20, 3000),
                    kind=rng.choice(("groceries", "household", "travel", "electronics")),
                    paid_on_delivery="true",
                )
            for fact in rng.sample(
                ["phone_verified", "address_stable", "education_verified", "car_owner"], rng.randint(1, 3)
            ):
                add("commercial_platforms", sid, "identity_fact", _date_between(rng, start, AS_OF), fact=fact)
            add(
                "commercial_platforms",
                sid,
                "connection_summary",
                AS_OF - dt.timedelta(days=40),
                verified_contacts=rng.randint(0, 120),
            )
            if rng.random() < 0.45:
                consents.append((sid, "commercial", True))
    for o in orgs:
        assert o["subject_id"] is not None
        for year in (2024, 2025, 2026):
            add(
                "tax_bureau",
                o["subject_id"],
                "tax_payment",
                dt.date(year, 4, 15),
                amount=rng.randint(50000, 900000),
                status="paid" if rng.random() < 0.85 else "late",
            )
    evader = str(orgs[0]["subject_id"])
    add("tax_bureau", evader, "tax_payment", AS_OF - dt.timedelta(days=200), amount=350000, status="evaded")

    # Mistakes furnishers make, so the walkthrough shows rejects: each row is refused with its reason.
    some = people[5]["subject_id"]
    add("tax_bureau", some, "tax_payment", AS_OF, amount="lots", status="paid")
    add("tax_bureau", some, "tax_payment", AS_OF, amount=100, status="payed")
    add("tax_bureau", "110105199001011234", "tax_payment", AS_OF, amount=100, status="paid")
    add("tax_bureau", some, "tax_payment", dt.date(2031, 1, 1), amount=100, status="paid")

    files: dict[str, Path] = {}
    for source, items in rows.items():
        if not items:
            continue
        if source == "commercial_platforms":
            path = folder / f"{source}.ndjson"
            with path.open("w", encoding="utf-8") as fh:
                for item in items:
                    fh.write(json.dumps({k: v for k, v in item.items() if v is not None}, ensure_ascii=False) + "\n")
        else:
            path = folder / f"{source}.csv"
            cols = list(dict.fromkeys(k for item in items for k in item))
            with path.open("w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, cols)
                w.writeheader()
                w.writerows(items)
        files[source] = path
    return ExampleFiles(folder=folder, subjects=subjects, sources=files, consents=consents)

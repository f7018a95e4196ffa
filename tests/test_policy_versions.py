"""The policy lifecycle: which published version of a policy is in force, and how a run names it.

"Every rule is published and versioned": an operator who publishes `beijing` 2026.3 expects `score --policy
beijing` to score with it. The version in force is the newest published one, by version order (2026.10 after
2026.9), whatever the order of publication; a shipped policy's own version is published on first use and takes
its place among the others; ``id@version`` scores under that version.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring_helpers import AS_OF, Registry, open_registry, person
from socialcredit.errors import NotFoundError, PolicyError
from socialcredit.policy import LoadedPolicy, builtin_policy, parse_policy
from socialcredit.registry.scoring.policies import (
    get_policy,
    newest_version,
    parse_sent,
    publish_policy,
    resolve_policy,
    version_key,
)
from socialcredit.registry.scoring.runs import score

SHIPPED = builtin_policy("beijing")


def beijing(version: str, floor: int = 650) -> LoadedPolicy:
    """Beijing under another version, its blacklist's score floor moved (the shipped text says 600)."""
    text = SHIPPED.text.replace(f'version: "{SHIPPED.policy.version}"', f'version: "{version}"', 1)
    text = text.replace('when: "score < 600"', f'when: "score < {floor}"', 1)
    assert text != SHIPPED.text
    return parse_policy(text, f"beijing-{version}.yaml")


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    registry = open_registry(tmp_path)
    registry.register({person(1): None, person(3): None})
    return registry


def test_an_operator_s_version_that_reads_as_the_shipped_one_stays_in_force(reg: Registry) -> None:
    # 2026.02, published before versions that read alike were refused, made every `score --policy beijing` fail:
    # the shipped 2026.2 was published on the way and refused as reading like it
    theirs = beijing("2026.02")
    reg.store.execute(
        "INSERT INTO policies VALUES (?, ?, ?, ?, now())", ["beijing", "2026.02", theirs.sha256, theirs.text]
    )
    assert resolve_policy(reg.store, "beijing").sha256 == theirs.sha256
    assert resolve_policy(reg.store, "beijing@2026.02").sha256 == theirs.sha256
    with pytest.raises(NotFoundError, match=r"version '2026.7' \(published: 2026.02\)"):
        resolve_policy(reg.store, "beijing@2026.7")  # and another version named publishes nothing on the way
    assert reg.store.one("SELECT count(*) FROM policies WHERE policy_id = 'beijing'") == 1


def test_a_published_newer_version_of_a_shipped_policy_is_the_one_scored(reg: Registry) -> None:
    # resolve_policy preferred the shipped text: after publishing 2026.3, `score --policy beijing` still ran 2026.2.
    assert SHIPPED.policy.version == "2026.2"
    newer = beijing("2026.3")
    assert publish_policy(reg.store, newer)
    used = resolve_policy(reg.store, "beijing")
    assert (used.policy.version, used.sha256) == ("2026.3", newer.sha256)
    run = score(reg.store, used, AS_OF)
    assert (run.policy_id, run.policy_version) == ("beijing", "2026.3")
    # the shipped version was published beside it, and stays below it
    assert newest_version(reg.store, "beijing") == "2026.3"
    assert get_policy(reg.store, "beijing", "2026.2").sha256 == SHIPPED.sha256


def test_without_a_newer_version_the_shipped_one_is_published_and_used(reg: Registry) -> None:
    used = resolve_policy(reg.store, "beijing")
    assert used is SHIPPED
    assert newest_version(reg.store, "beijing") == "2026.2"


def test_the_newest_is_by_version_order_not_by_date_of_publication(reg: Registry) -> None:
    # get_policy took the version published last: publishing 2026.9 after 2026.10 (or the shipped 2026.2 on first
    # use after an operator's 2026.3) put the older version in force.
    publish_policy(reg.store, beijing("2026.10"))
    publish_policy(reg.store, beijing("2026.9", floor=640))
    assert get_policy(reg.store, "beijing").policy.version == "2026.10"
    assert resolve_policy(reg.store, "beijing").policy.version == "2026.10"


def test_version_order() -> None:
    versions = ["2026.10", "2026.9", "2026.1-b", "2026.1", "10", "9", "v2", "v10", "２０２６.３"]
    assert sorted(versions, key=version_key) == [
        "9",
        "10",
        "2026.1",
        "2026.1-b",
        "２０２６.３",
        "2026.9",
        "2026.10",
        "v2",
        "v10",
    ]


def test_a_version_named_explicitly_is_the_one_scored(reg: Registry) -> None:
    publish_policy(reg.store, beijing("2026.3"))
    used = resolve_policy(reg.store, "beijing@2026.2")  # the shipped version, published on first use
    assert used.sha256 == SHIPPED.sha256
    assert score(reg.store, used, AS_OF).policy_version == "2026.2"
    with pytest.raises(NotFoundError) as missing:
        resolve_policy(reg.store, "beijing@2026.9")
    assert str(missing.value) == "no published policy 'beijing' version '2026.9' (published: 2026.2, 2026.3)"


def test_an_operators_own_text_under_the_shipped_version_is_used_not_refused(reg: Registry) -> None:
    # Publishing the shipped text on first use was refused (the same version with other content) and every
    # `score --policy beijing` failed; the operator's text, published first, is the version in force.
    own = beijing("2026.2")
    publish_policy(reg.store, own)
    used = resolve_policy(reg.store, "beijing")
    assert used.sha256 == own.sha256
    assert score(reg.store, used, AS_OF).policy_version == "2026.2"


def test_the_same_version_with_other_text_is_refused_naming_both_hashes(reg: Registry) -> None:
    first, second = beijing("2026.3"), beijing("2026.3", floor=640)
    publish_policy(reg.store, first)
    with pytest.raises(PolicyError) as refused:
        publish_policy(reg.store, second)
    assert str(refused.value) == (
        f"beijing-2026.3.yaml: policy beijing version 2026.3 was already published with different content (sha256 "
        f"{first.sha256[:12]}; this text's is {second.sha256[:12]}); give the changed policy a new version"
    )
    assert not publish_policy(reg.store, first)  # the same text again: nothing new


@pytest.mark.parametrize("version", ["2026.03", "٢٠٢٦.٣"])  # Arabic-Indic digits
def test_a_version_that_reads_as_a_published_one_is_refused(reg: Registry, version: str) -> None:
    # Both were published beside 2026.3, and which was in force came down to the date of publication (full-width
    # digits, '２０２６.３', are refused since by the version's own check, test_policy_validation).
    publish_policy(reg.store, beijing("2026.3"))
    with pytest.raises(PolicyError) as refused:
        publish_policy(reg.store, beijing(version, floor=640))
    assert str(refused.value) == (
        f"beijing-{version}.yaml: policy beijing version {version} reads as the published version 2026.3 (versions "
        "compare part by part, numbers as numbers); give it a version of its own"
    )


def test_the_console_script_says_which_version_is_in_force(reg: Registry, tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    cli = shutil.which("socialcredit", path=str(Path(sys.executable).parent))
    assert cli is not None
    reg.store.close()
    db = tmp_path / "registry.duckdb"

    def sc(*args: str | Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
        return subprocess.run(
            [cli, *map(str, args), "--db", str(db)],
            capture_output=True,
            text=True,
            env=env | {"COLUMNS": "200"},
            timeout=120,
            check=False,
        )

    for version in ("2026.10", "2026.9"):
        (tmp_path / f"{version}.yaml").write_text(beijing(version).text, encoding="utf-8")
    first = sc("policy", "publish", tmp_path / "2026.10.yaml", "--without-impact")
    assert first.returncode == 0 and "stays in force" not in first.stdout, first.stderr
    older = sc("policy", "publish", tmp_path / "2026.9.yaml", "--without-impact")
    assert older.returncode == 0, older.stderr
    assert older.stdout.splitlines()[-1] == (
        "beijing 2026.10 stays in force: it is newer than 2026.9 (versions compare part by part, numbers as "
        "numbers); score under this one with --policy beijing@2026.9."
    )
    run = sc("score", "--policy", "beijing", "--as-of", "2026-01-01")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Run 1: beijing 2026.10 as of 2026-01-01")
    run = sc("score", "--policy", "beijing@2026.9", "--as-of", "2026-01-01")
    assert run.stdout.startswith("Run 2: beijing 2026.9 as of 2026-01-01"), run.stderr
    # policy explain reads the version in force too (it explained the shipped 2026.2), or the one named
    assert sc("policy", "explain", "beijing").stdout.splitlines()[0] == "Beijing social credit score — 2026.10"
    assert sc("policy", "explain", "beijing@2026.9").stdout.splitlines()[0] == "Beijing social credit score — 2026.9"
    # a store another process writes to is said so, not explained as the shipped text (2026.2)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        held = sc("policy", "explain", "beijing")
        assert held.returncode == 2 and held.stdout == "" and "Traceback" not in held.stderr
        assert "is in use by another process" in held.stderr
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    unknown = sc("score", "--policy", "beijing@2026.11", "--as-of", "2026-01-01")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.strip().splitlines()[-1] == (
        "error: no published policy 'beijing' version '2026.11' (published: 2026.2, 2026.9, 2026.10)"
    )


def test_a_version_published_before_the_calculation_bound_still_loads(reg: Registry) -> None:
    # A version a store took before calculations were bounded (days_late * 100000 overflows only for a record of
    # 92 billion days late) is read back as it was accepted: its runs, pages and scoring state keep working, where
    # get_policy refused it and everything that reads the version failed. Publishing it anew is refused.
    text = beijing("2026.3").text.replace(
        'when: "score < 650"', 'when: "score < 650 or last_negative_days * 100000000000 > 0"', 1
    )
    with pytest.raises(PolicyError, match="this calculation of whole numbers can reach"):
        parse_policy(text, "old.yaml")
    old = parse_policy(text, "old.yaml", published=True)
    reg.store.execute("INSERT INTO policies VALUES ('beijing', '2026.3', ?, ?, now())", [old.sha256, text])
    loaded = resolve_policy(reg.store, "beijing")
    assert (loaded.policy.version, loaded.sha256) == ("2026.3", old.sha256)
    assert score(reg.store, loaded, AS_OF).policy_version == "2026.3"
    # sent again (POST /v1/policies, a Spark run's manifest): the same again, not refused (it answered 422)
    assert parse_sent(reg.store, text, "request body").sha256 == old.sha256
    with pytest.raises(PolicyError, match="this calculation of whole numbers can reach"):
        parse_sent(reg.store, text.replace("2026.3", "2026.4", 1), "request body")


def test_a_new_version_may_not_make_consent_data_count_with_less_notice_than_it_publishes(tmp_path: Path) -> None:
    """sesame 2026.1 counts commercial data for everyone from 2027-07-01 with 60 days' notice. A version 2026.2 that
    moved the date to two days from today, or dropped the consent block, was published and put in force: a run of
    that date counted every resident's commercial data, and the daily job told no one beforehand."""
    import os
    import subprocess

    from cli_helpers import CLI
    from socialcredit.store import open_store

    shipped = builtin_policy("sesame").text.replace('version: "2026.1"', 'version: "2026.2"', 1)
    files = {
        "sooner": shipped.replace("mandatory_from: 2027-07-01", "mandatory_from: 2026-12-08"),
        "dropped": shipped.replace(
            "consent:\n  categories: [commercial]\n  mandatory_from: 2027-07-01\n  notice_days: 60\n", ""
        ),
        "noticed": shipped.replace("mandatory_from: 2027-07-01", "mandatory_from: 2027-02-04"),
    }
    assert len({*files.values(), shipped}) == 4
    db = tmp_path / "registry.duckdb"
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"COLUMNS": "200", "SOCIALCREDIT_TODAY": "2026-12-06"}

    def publish(name: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(files[name], encoding="utf-8")
        command = [CLI, "policy", "publish", str(path), "--without-impact", "--db", str(db)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)

    open_store(db, create=True, key="").close()  # as `init` makes it (this test is about `policy publish`)
    assert db.exists()
    sooner = publish("sooner")
    assert sooner.returncode == 2, sooner.stdout
    assert sooner.stderr.splitlines()[-1] == (
        f"error: {tmp_path / 'sooner.yaml'}:30:3: consent: commercial data would count for everyone from 2026-12-08, "
        "without consent and sooner than under version 2026.1 in force (from 2027-07-01), with less than the 60 days' "
        "notice the policy publishes (consent.notice_days): keep commercial in consent.categories and give "
        "consent.mandatory_from a date on or after 2027-02-04"
    )
    dropped = publish("dropped")
    assert dropped.returncode == 2, dropped.stdout
    assert "commercial data would count for everyone at once" in dropped.stderr
    assert "less than the 60 days' notice version 2026.1 publishes" in dropped.stderr  # not the default 30 days
    noticed = publish("noticed")  # today + 60 days: the notice the policy publishes can be given
    assert noticed.returncode == 0, noticed.stderr
    assert (
        noticed.stdout == "Published sesame 2026.2 (sha256 " + parse_policy(files["noticed"], "x").sha256[:12] + ").\n"
    )


SESAME_CONSENT = "consent:\n  categories: [commercial]\n  mandatory_from: 2027-07-01\n  notice_days: 60\n"


def sesame(version: str, consent: str = SESAME_CONSENT) -> LoadedPolicy:
    """The shipped sesame under another version, its consent block (2026.1's: commercial data for everyone from
    2027-07-01, 60 days' notice) replaced by ``consent``."""
    text = builtin_policy("sesame").text
    assert SESAME_CONSENT in text
    text = text.replace('version: "2026.1"', f'version: "{version}"', 1).replace(SESAME_CONSENT, consent, 1)
    return parse_policy(text, f"sesame-{version}.yaml")


def consent(mandatory_from: str | None, notice_days: int, categories: str = "[commercial]") -> str:
    day = f"  mandatory_from: {mandatory_from}\n" if mandatory_from else ""
    return f"consent:\n  categories: {categories}\n{day}  notice_days: {notice_days}\n"


def test_a_version_that_shortens_the_notice_gives_the_notice_of_the_version_in_force(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice was read from the new version alone: `notice_days: 0` with mandatory_from today was published and
    put in force, and so was 2026.3 (notice_days 1, tomorrow) after 2026.2 (60 days)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-12-06")
    with pytest.raises(PolicyError) as refused:
        publish_policy(reg.store, sesame("2026.2", consent("2026-12-06", 0)))
    assert str(refused.value) == (
        "sesame-2026.2.yaml:30:3: consent: commercial data would count for everyone from 2026-12-06, without consent "
        "and sooner than under version 2026.1 in force (from 2027-07-01), with less than the 60 days' notice version "
        "2026.1 publishes (consent.notice_days): keep commercial in consent.categories and give "
        "consent.mandatory_from a date on or after 2027-02-04"
    )
    assert publish_policy(reg.store, sesame("2026.2", consent("2027-02-04", 60)))
    with pytest.raises(PolicyError, match=r"the 60 days' notice version 2026\.2 publishes"):
        publish_policy(reg.store, sesame("2026.3", consent("2026-12-07", 1)))
    assert newest_version(reg.store, "sesame") == "2026.2"
    assert publish_policy(reg.store, sesame("2026.3", consent("2027-02-04", 1)))  # the date stays: it may say less


def test_a_category_counted_for_everyone_already_may_be_kept_or_dropped(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On 2027-08-01, sesame 2026.1 counting commercial data for everyone since 2027-07-01, a version without the
    consent block was refused with advice to move the date to 2027-09-30: a date passed could never be dropped,
    nor moved (both past)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2027-08-01")
    assert publish_policy(reg.store, sesame("2027.1", consent("2027-06-01", 60)))
    assert publish_policy(reg.store, sesame("2027.2", ""))
    assert newest_version(reg.store, "sesame") == "2027.2"


def test_a_category_taken_out_of_consent_is_located_at_the_categories(reg: Registry) -> None:
    """The refusal pointed at mandatory_from (line 30) when the date had not moved and a category left
    consent.categories (line 29)."""
    with pytest.raises(PolicyError) as refused:
        publish_policy(reg.store, sesame("2026.2", consent("2027-07-01", 60, categories="[]")))
    assert refused.value.positions == [(29, 3)]
    assert str(refused.value).startswith(
        "sesame-2026.2.yaml:29:3: consent: commercial data would count for everyone at once, without consent"
    )

"""`ingest --lang zh`: the console's report of a batch, its row errors, the reject file's reasons and a file's
refusal in Chinese (in English without it)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from cli_helpers import CLI
from socialcredit.identifiers import make_ric
from socialcredit.store import open_store

TODAY = dt.date(2026, 6, 30)
PERSON = make_ric("110105", dt.date(1980, 3, 4), 15)
WRONG = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")  # its check character is another


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "city.duckdb"
    with open_store(path, create=True, key=""):
        pass
    return path


def _ingest(db: Path, file: Path, *args: str, source: str = "civil_affairs") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env |= {"SOCIALCREDIT_TODAY": TODAY.isoformat(), "COLUMNS": "300"}
    return subprocess.run(
        [CLI, "ingest", str(file), "--source", source, "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_ingest_reports_its_rows_and_writes_its_rejects_in_the_language_asked(db: Path, tmp_path: Path) -> None:
    """A subjects file with a valid row, an identity number of a wrong check character and a row without a name:
    under ``--lang zh`` the report, each row's reason (an identifier's, and the table's) and the reject file's reasons
    are in Chinese, the exit 1 line too (until 2026-12-06 `ingest` took no ``--lang``); in English without it."""
    said = {}
    for lang in ("en", "zh"):
        file = tmp_path / f"subjects-{lang}.csv"
        file.write_text(f"subject_id,name\n{PERSON},张三\n{WRONG},李四\n{PERSON},\n")
        done = _ingest(db, file, "--lang", lang)
        with open(tmp_path / f"subjects-{lang}.rejects.csv", encoding="utf-8", newline="") as fh:
            rejects = [row[:3] for row in csv.reader(fh)]
        said[lang] = (done.returncode, done.stdout.splitlines(), done.stderr.strip().splitlines()[-1], rejects)
    wrong_en = f"resident identity number '{WRONG}' has check character '{WRONG[-1]}'; expected '{PERSON[-1]}'"
    wrong_zh = f"居民身份证号码 '{WRONG}' 的校验码为 '{WRONG[-1]}'；应为 '{PERSON[-1]}'"
    en, zh = tmp_path / "subjects-en.csv", tmp_path / "subjects-zh.csv"
    assert said["en"][0] == said["zh"][0] == 1
    assert said["en"][1:] == (
        [
            f"{en}: 3 rows: 1 accepted, 0 unchanged, 2 rejected (batch 1)",
            f"  {en}: row 2: subject_id: {wrong_en}",
            f"  {en}: row 3: name: is required",
            f"Rejected rows written to {tmp_path / 'subjects-en.rejects.csv'}",
        ],
        f"error: {en}: 2 of 3 rows rejected",
        [["row", "field", "error"], ["2", "subject_id", wrong_en], ["3", "name", "is required"]],
    )
    assert said["zh"][1:] == (
        [
            f"{zh}：3 行：0 行已接受，1 行未变，2 行被拒绝（批次 2）",
            f"  {zh}：第 2 行：subject_id：{wrong_zh}",
            f"  {zh}：第 3 行：name：为必填项",
            f"被拒绝的行已写入 {tmp_path / 'subjects-zh.rejects.csv'}",
        ],
        f"错误：{zh}：3 行中有 2 行被拒绝",
        [["row", "field", "error"], ["2", "subject_id", wrong_zh], ["3", "name", "为必填项"]],
    )


def test_ingest_refuses_a_file_in_the_language_asked(db: Path, tmp_path: Path) -> None:
    """An NDJSON line that is not JSON refuses the file (exit 2) in the language asked."""
    file = tmp_path / "subjects.ndjson"
    file.write_bytes(f'{{"subject_id": "{PERSON}", "name": "张三"}}\n{{"name":\n'.encode())
    lines = {lang: _ingest(db, file, "--lang", lang) for lang in ("en", "zh")}
    assert {lang: (d.returncode, d.stderr.strip().splitlines()[-1]) for lang, d in lines.items()} == {
        "en": (2, f"error: {file}: line 2 is not one JSON value: Expecting value at character 10"),
        "zh": (2, f"错误：{file}：第 2 行不是一个 JSON 值：Expecting value（第 10 个字符处）"),
    }


FILE_REFUSALS = [
    (
        "records.csv",
        "courts",
        f"record_id,subject_id\nA-1,{PERSON}\n".encode(),
        "the file has no column 'record_type', 'event_date'; a record needs record_id, subject_id, record_type, "
        "event_date",
        "文件没有 'record_type'、'event_date' 列；记录须有 record_id、subject_id、record_type、event_date 列",
    ),
    (
        "semicolons.csv",
        "courts",
        f"record_id;subject_id\nA-1;{PERSON}\n".encode(),
        "a CSV batch separates its columns with commas; its header has none, but semicolons",
        "CSV 批次以逗号分隔各列；其表头没有逗号，而有分号",
    ),
    (
        "tabs.csv",
        "courts",
        f"record_id\tsubject_id\nA-1\t{PERSON}\n".encode(),
        "a CSV batch separates its columns with commas; its header has none, but tabs",
        "CSV 批次以逗号分隔各列；其表头没有逗号，而有制表符",
    ),
    (
        "subjects.csv",
        "civil_affairs",
        f"subject_id\n{PERSON}\n".encode(),
        "a subjects file needs the columns subject_id and name (and may have district, profession); a records file "
        "needs record_type",
        "主体文件须有 subject_id 和 name 列（可有 district、profession 列）；记录文件须有 record_type 列",
    ),
    (
        "twice.csv",
        "civil_affairs",
        f"subject_id,name,Name \n{PERSON},张三,张三\n".encode(),
        "column 3 is named 'Name ' and column 2 'name': names that differ only in case or surrounding spaces are one "
        "column; send each column once",
        "第 3 列名为 'Name '，第 2 列名为 'name'：仅大小写或前后空格不同的名称是同一列；每列请只发送一次",
    ),
    (
        "reserved.csv",
        "courts",
        f"record_id,_row\nA-1,{PERSON}\n".encode(),
        "column 2 is named '_row', a name ingest keeps for its own columns (_row, _none, _lacks, file_row_number); no "
        "record has such a field: leave the column out",
        "第 2 列名为 '_row'，这是导入程序保留给自身各列的名称（_row、_none、_lacks、file_row_number）；"
        "没有记录有此字段：请去掉该列",
    ),
    (
        "gzipped.csv",
        "courts",
        b"\x1f\x8b\x08\x00,record_id\n",
        r"column 1 is named '\x1f\ufffd\x08\x00': a column's name is 1 to 64 printable characters",
        r"第 1 列名为 '\x1f\ufffd\x08\x00'：列名须为 1 至 64 个可打印字符",
    ),
    (
        "records.tsv",
        "courts",
        b"record_id\n",
        "unsupported file type '.tsv'; use .csv, .ndjson (or .jsonl) or .parquet",
        "不支持的文件类型 '.tsv'；请使用 .csv、.ndjson（或 .jsonl）或 .parquet",
    ),
    (
        "utf16.csv",
        "courts",
        "record_id,subject_id\n".encode("utf-16"),
        "the file is UTF-16 text (it starts with UTF-16's byte order mark); a batch is UTF-8 text: save the file as "
        "UTF-8 (in Excel: CSV UTF-8) and ingest it again",
        "该文件是 UTF-16 文本（以 UTF-16 的字节顺序标记开头）；一批记录须为 UTF-8 文本："
        "请将文件另存为 UTF-8（在 Excel 中：CSV UTF-8）后重新导入",
    ),
    (
        "broken.parquet",
        "courts",
        b"PAR1" + b"\0" * 12 + b"PAR1",
        "not a readable parquet file: Invalid Input Error: Footer length error in file 'broken.parquet'",
        "不是可读的 parquet 文件：Invalid Input Error: Footer length error in file 'broken.parquet'",
    ),
]


@pytest.mark.parametrize(("name", "source", "content", "en", "zh"), FILE_REFUSALS, ids=[c[0] for c in FILE_REFUSALS])
def test_a_file_refused_as_a_whole_is_told_why_in_the_language_asked(
    db: Path, tmp_path: Path, name: str, source: str, content: bytes, en: str, zh: str
) -> None:
    """A file lacking a column a record (or a subject) needs, separated by semicolons or tabs, of a column named
    twice, after ingest's own or not as text, of a type ingest does not read, in UTF-16, or a Parquet file its reader
    cannot read: refused as a whole (exit 2, nothing stored), under ``--lang zh`` in Chinese. Until 2026-12-07 each
    was said in English whatever the language asked."""
    file = tmp_path / name
    file.write_bytes(content)
    said = {}
    for lang in ("en", "zh"):
        done = _ingest(db, file, "--lang", lang, source=source)
        said[lang] = (done.returncode, done.stdout, done.stderr.strip().splitlines()[-1])
    shown = str(file)
    broken = en.replace("'broken.parquet'", f"'{shown}'"), zh.replace("'broken.parquet'", f"'{shown}'")
    assert said == {
        "en": (2, "", f"error: {shown}: {broken[0]}"),
        "zh": (2, "", f"错误：{shown}：{broken[1]}"),
    }
    with open_store(db, key="") as store:
        assert store.one("SELECT count(*) FROM batches") == 0

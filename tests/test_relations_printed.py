"""Scratch relations printed once: constant SQL and compiled trees are bound and printed once, then renamed for each
caller, and two callers never read each other's relations (registry/relations.py)."""

from __future__ import annotations

from pathlib import Path

import sqlglot

from socialcredit.registry import relations
from socialcredit.registry.relations import OwnedRelations
from socialcredit.store import open_store

NAMES = frozenset({"sc_a", "sc_b"})


def test_two_callers_of_the_same_printed_sql_each_read_their_own_relations(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb", create=True, key="") as store:
        with OwnedRelations(store, NAMES) as one, OwnedRelations(store, NAMES) as two:
            for rel, n in ((one, 3), (two, 5)):
                rel.create("sc_a", "SELECT range AS x FROM range($n)", {"n": n})
                rel.create("sc_b", "SELECT count(*) AS c, sum(x) AS s FROM sc_a")
            assert one.rows("SELECT c, s FROM sc_b") == [{"c": 3, "s": 3}]
            assert two.rows("SELECT c, s FROM sc_b") == [{"c": 5, "s": 10}]
            # a tree built once per key: the second caller's build is never called, and still reads its own sc_a
            built = []

            def tree() -> sqlglot.exp.Expr:
                built.append(1)
                return sqlglot.parse_one("SELECT max(x) AS m FROM sc_a", read="duckdb")

            for rel, top in ((one, 2), (two, 4)):
                rel.create_once("sc_b", ("test", "max"), tree)
                assert rel.rows("SELECT m FROM sc_b") == [{"m": top}]
            assert built == [1]
            names = {one.name("sc_a"), one.name("sc_b"), two.name("sc_a"), two.name("sc_b")}
            assert len(names) == 4
        # both dropped their relations on exit
        left = store.one(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name IN (SELECT unnest(?))", [list(names)]
        )
        assert left == 0


def test_printed_text_is_renamed_not_reprinted(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb", create=True, key="") as store:
        with OwnedRelations(store, NAMES) as rel:
            text = rel.printed(("test", "text"), lambda: sqlglot.parse_one("SELECT * FROM sc_a JOIN sc_b USING (x)"))
        assert rel.name("sc_a") in text and rel.name("sc_b") in text
        assert relations._TEMPLATE not in text
        with OwnedRelations(store, NAMES) as other:
            again = other.printed(("test", "text"), lambda: sqlglot.parse_one("SELECT 1"))  # cached: not rebuilt
        assert again == text.replace(rel.prefix, other.prefix)

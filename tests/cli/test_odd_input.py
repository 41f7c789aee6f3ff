"""Odd input at the edges: dates that only look like dates, file names that lie, files too big to keep."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, days_ago, write_matrix

from signoff.services.matrix import import_matrix


def one_line(result: Any, code: int, text: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    assert text in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("date", ["2026-W01-1", "20261231", "2026-1-01", "２０２６-01-01", "2026-01-01T00"])
def test_dates_are_exactly_yyyy_mm_dd_on_the_command_line(
    db_path: Path, run_cli: Callable[..., Any], date: str
) -> None:
    result = run_cli("item", "add", "OF-09", "--kind", "ofsted-recommendation", "--title", "T", "--due", date,
                     db=db_path, actor=SECRETARY)  # fmt: skip
    one_line(result, 2, "YYYY-MM-DD")


@pytest.mark.parametrize("date", ["2026-W01-1", "20261231"])
def test_dates_are_exactly_yyyy_mm_dd_in_a_matrix(db_path: Path, tmp_path: Path, date: str) -> None:
    from signoff.errors import BadInput

    path = write_matrix(tmp_path / "m.csv", [("OF-09", "ofsted-recommendation", "T", "", "k", "d", date)])
    with pytest.raises(BadInput, match="YYYY-MM-DD"):
        import_matrix(db_path, SECRETARY, path)


def register_with_row(db_path: Path, tmp_path: Path) -> None:
    due = days_ago(-30).isoformat()
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", [("OF-01", "ofsted-recommendation", "T", "",
                  "audit", "audit", due)]))  # fmt: skip


@pytest.mark.parametrize(("char", "code"), [("\u202e", "U+202E"), ("\x1b", "U+001B"), ("\u200b", "U+200B")])
def test_evidence_file_names_with_control_or_bidi_characters_are_refused(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any], char: str, code: str
) -> None:
    register_with_row(db_path, tmp_path)
    sneaky = tmp_path / f"minutes{char}fdp.exe"
    sneaky.write_bytes(b"MZ")
    result = run_cli("evidence", "add", "OF-01", "audit", "--file", str(sneaky), "--dated", days_ago(1).isoformat(),
                     db=db_path, actor=SECRETARY)  # fmt: skip
    one_line(result, 2, code)
    assert char not in result.err
    assert not (tmp_path / "register.db.evidence").exists() or not any((tmp_path / "register.db.evidence").rglob("*"))


def test_evidence_files_over_the_registers_limit_are_refused(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    db = tmp_path / "small.db"
    assert run_cli("init", "--secretary", SECRETARY, "--max-evidence-mib", "1", db=db).code == 0
    register_with_row(db, tmp_path)
    big = tmp_path / "video.mp4"
    big.write_bytes(b"\0" * (3 << 19))  # 1.5 MiB
    args = ("evidence", "add", "OF-01", "audit", "--file", str(big), "--dated", days_ago(1).isoformat())
    one_line(run_cli(*args, db=db, actor=SECRETARY), 2, "over this register's limit of 1 MiB")
    assert not any((tmp_path / "small.db.evidence").rglob("*"))
    big.write_bytes(b"\0" * (1 << 19))  # half a MiB is fine
    assert run_cli(*args, db=db, actor=SECRETARY).code == 0


def test_default_limit_is_512_mib(db_path: Path) -> None:
    from signoff.services.evidence import max_evidence_bytes
    from signoff.store.uow import UnitOfWork

    with UnitOfWork(db_path) as uow:
        assert max_evidence_bytes(uow) == 512 << 20

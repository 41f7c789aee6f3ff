"""Bad input: random arguments, dates, refs, Unicode, long text and random CSV files never crash the CLI.

The CLI runs in-process (click's CliRunner) with SIGNOFF_DEBUG=1, so an unexpected exception is
raised into the test instead of being turned into "unexpected ..." — a crash cannot hide. Every
exit code must be a documented one, and a command that fails must leave the register unchanged
(a refusal adds only its own audit record).
"""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reliability_support import DOCUMENTED_EXIT_CODES, assert_nothing_written, make_register, run_signoff, table_counts

from signoff.cli.app import cli
from signoff.domain import names
from signoff.errors import BadInput

pytestmark = pytest.mark.reliability

FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

TODAY = dt.date.today()
REFS = ["IT-0", "IT-1", "IT-2"]
USERS = ["sec", "sec-0", "chair-0", "mem-0"]

nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", " ", "\n", "\t x", "x\x00y", "\x1b[31mred", "a\u202eb", "\x85", "  padded  ", "ü👩‍👧"]),
    st.integers(min_value=9_990, max_value=20_000).map(lambda n: "x" * n),
)
dates = st.one_of(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)).map(dt.date.isoformat),
    st.sampled_from(["2013-02-30", "13-06-01", "2013/06/01", "", "yesterday", "2013-6-1", " 2013-06-01", "9999-12-31"]),
    st.just(TODAY.isoformat()),
    nasty_text,
)
refs = st.one_of(
    st.sampled_from([*REFS, "NOPE-1"]), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,45}", fullmatch=True), nasty_text
)
actors = st.one_of(st.sampled_from(USERS), st.sampled_from(USERS), nasty_text)
keys = st.one_of(st.sampled_from(["k1", "k2", "nokey"]), nasty_text)


@st.composite
def command(draw: st.DrawFn) -> list[str]:
    ref = draw(refs)
    which = draw(st.integers(min_value=0, max_value=13))
    if which == 0:
        args = ["item", "add", ref, "--kind", draw(st.sampled_from(["ofsted-recommendation", "x"])), "--title"]
        args += [draw(nasty_text), "--due", draw(dates)]
    elif which == 1:
        args = ["user", "add", draw(nasty_text), "--role", draw(st.sampled_from(["member", "auditor", "boss"]))]
    elif which == 2:
        args = ["evidence", "add", ref, draw(keys), "--dated", draw(dates), "--note", draw(nasty_text)]
    elif which == 3:
        args = ["evidence", "add", ref, draw(keys), "--dated", draw(dates), "--measure", draw(nasty_text)]
        args += ["--value", draw(st.sampled_from(["1", "nan", "inf", "-0", "1e999", "x"]))]
        args += ["--threshold", "639", "--direction", draw(st.sampled_from(["at-most", "sideways"]))]
    elif which == 4:
        args = ["submit", ref]
    elif which == 5:
        args = [draw(st.sampled_from(["challenge", "reopen"])), ref, "--reason", draw(nasty_text)]
    elif which == 6:
        args = ["resubmit", ref, "--response", draw(nasty_text)]
    elif which == 7:
        args = ["approve", ref, "--meeting", draw(dates), "--override-reason", draw(nasty_text)]
    elif which == 8:
        args = ["fire", ref, draw(st.one_of(st.sampled_from(["submit", "approve", "explode"]), nasty_text))]
    elif which == 9:
        args = [draw(st.sampled_from(["item", "matrix"])), "show", ref, *draw(st.sampled_from([[], ["--json"]]))]
    elif which == 10:
        args = ["audit", "export", "--since", draw(dates), "--item", ref]
    elif which == 11:
        args = ["item", "list", "--state", draw(nasty_text), "--page", draw(st.sampled_from(["1", "0", "-3", "x"]))]
    elif which == 12:
        args = ["audit", "verify", "--anchor", draw(nasty_text)]
    else:
        args = draw(st.lists(nasty_text, max_size=6))
    return args


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    make_register(db, workers=1, refs=REFS)
    return db


def invoke(db: Path, args: list[str], actor: str | None) -> tuple[int, str]:
    base = ["--db", str(db)] + (["--as", actor] if actor is not None else [])
    result = CliRunner().invoke(cli, base + args, catch_exceptions=False, env={"SIGNOFF_DEBUG": "1"})
    return result.exit_code, result.output


def assert_clean(db: Path, before: dict[str, int], code: int, output: str) -> None:
    assert code in DOCUMENTED_EXIT_CODES, (code, output)
    assert "Traceback" not in output
    if code != 0:
        # A failed command wrote nothing, except (at most) the audit record of the refused attempt.
        assert_nothing_written(db, before)


@pytest.mark.slow
@FUZZ
@given(args=command(), actor=actors)
def test_fuzzed_commands_never_crash_and_fail_cleanly(register: Path, args: list[str], actor: str) -> None:
    before = table_counts(register)
    code, output = invoke(register, args, actor)
    event(f"exit {code}")
    assert_clean(register, before, code, output)


csv_cells = st.one_of(
    st.sampled_from(["IT-0", "NEW-1", "ofsted-recommendation", "improvement-notice", "k1", "2013-06-01", ""]),
    nasty_text,
    dates,
)
HEADER = "item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by"


@st.composite
def csv_file(draw: st.DrawFn) -> bytes:
    form = draw(st.integers(min_value=0, max_value=5))
    if form == 0:
        return draw(st.binary(max_size=400))
    if form >= 4:  # well-formed rows with hostile text where text belongs: often imports
        n = draw(st.integers(min_value=1, max_value=4))
        lines = [HEADER]
        for i in range(n):
            ref = draw(st.sampled_from(["IT-0", f"NEW-{draw(st.integers(0, 10**6))}-{i}"]))
            printable = st.characters(exclude_categories=("Cc", "Cs"))
            title, desc = (draw(st.text(printable, max_size=30)).strip() or "t" for _ in range(2))
            due = draw(st.sampled_from(["", TODAY.isoformat(), TODAY.isoformat(), "2013-02-30"]))
            key = draw(st.sampled_from([f"key-{i}", f"key-{i}", "k1", "bad key"]))
            row = [ref, "ofsted-recommendation", title, due, key, desc, TODAY.isoformat()]
            lines.append(",".join('"' + c.replace('"', '""') + '"' for c in row))
        return ("\n".join(lines) + "\n").encode("utf-8", errors="replace")
    header = HEADER if form != 3 else ",".join(draw(st.lists(st.sampled_from([*HEADER.split(","), "x"]), max_size=8)))
    rows = draw(st.lists(st.lists(csv_cells, min_size=0, max_size=9), max_size=8))
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(row)
    text = header + "\n" + buf.getvalue()
    prefix = draw(st.sampled_from(["", "\ufeff"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    return (prefix + text).encode(encoding, errors="replace")


@pytest.mark.slow
@FUZZ
@given(data=csv_file(), suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_fuzzed_matrix_files_import_whole_or_not_at_all(register: Path, data: bytes, suffix: str) -> None:
    path = register.with_name("fuzzed" + suffix)
    path.write_bytes(data)
    before = table_counts(register)
    code, output = invoke(register, ["matrix", "import", str(path)], "sec")
    event(f"exit {code}")
    assert_clean(register, before, code, output)


def test_valid_but_large_matrix_import_is_whole(register: Path) -> None:
    """The happy path of the same import still works after all that fuzzing."""
    path = register.with_name("good.csv")
    path.write_text(HEADER + "\n" + f"GOOD-1,ofsted-recommendation,Good item,,k1,Evidence,{TODAY.isoformat()}\n")
    before = table_counts(register)
    code, output = invoke(register, ["matrix", "import", str(path)], "sec")
    assert code == 0, output
    assert table_counts(register)["items"] == before["items"] + 1


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["item", "add", "OF 01", "--kind", "ofsted-recommendation", "--title", "t"], 2, "item ref"),
        (["item", "add", "OF-01\n", "--kind", "ofsted-recommendation", "--title", "t"], 2, "whitespace"),
        (["user", "add", "bob\x1b[31m", "--role", "member"], 2, "control or invisible"),
        (["user", "add", " bob", "--role", "member"], 2, "whitespace"),
        (["approve", "IT-0", "--meeting", "2013-02-30"], 2, "YYYY-MM-DD"),
        (["challenge", "IT-0", "--reason", "x" * 20_000], 2, "characters long"),
        (["item", "show", "NOPE-9"], 4, "unknown item"),
        (["no-such-command"], 2, "No such command"),
    ],
)
def test_bad_input_through_a_real_process(tmp_path: Path, args: list[str], code: int, words: str) -> None:
    db = tmp_path / "r.db"
    make_register(db, workers=1)
    before = table_counts(db)
    r = run_signoff(db, *args, actor="sec")
    assert r.code == code, (r.code, r.err)
    assert words in r.err and "Traceback" not in r.err
    assert_nothing_written(db, before)


# --- the rules for refs and user names ---------------------------------------------------------


@given(st.text(max_size=60))
@settings(max_examples=500, deadline=None)
def test_ref_rule(text: str) -> None:
    import unicodedata

    text = unicodedata.normalize("NFC", text)  # e.g. the Kelvin sign U+212A is the letter K
    allowed = (
        1 <= len(text) <= 40
        and text[0] in string.ascii_letters + string.digits
        and all(ch in string.ascii_letters + string.digits + "._/-" for ch in text)
    )
    try:
        assert names.check_ref(text) == text
        assert allowed, text
    except BadInput as err:
        assert not allowed, text
        assert "item ref" in str(err)


@given(st.text(max_size=80))
@settings(max_examples=500, deadline=None)
def test_user_name_rule(text: str) -> None:
    import unicodedata

    text = unicodedata.normalize("NFC", text)  # names are kept in NFC; the rule applies to that form
    allowed = (
        1 <= len(text) <= 64
        and text == text.strip()
        and not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in text)
    )
    try:
        assert names.check_user_name(text) == text
        assert allowed, repr(text)
    except BadInput as err:
        assert not allowed, repr(text)
        assert "user name" in str(err)


@pytest.mark.parametrize(
    "bad",
    ["", " sec", "sec ", "sec\n", "se\x00c", "se\x7fc", "se\x85c", "se\u200bc", "se\u202ec", "se\u2028c", "x" * 65],
)
def test_user_names_rejected(bad: str) -> None:
    with pytest.raises(BadInput):
        names.check_user_name(bad)


@pytest.mark.parametrize("good", ["sec", "sarah.okoro", "Zoë O'Brien-Smith", "DCI Morgan (Police)", "王小明", "x" * 64])
def test_user_names_accepted(good: str) -> None:
    assert names.check_user_name(good) == good


@pytest.mark.parametrize("bad", ["", "OF-01\n", " OF-01", "OF-01 ", "-OF", "OF 01", "OF-Ü", "x" * 41, "OF\t01"])
def test_refs_rejected(bad: str) -> None:
    with pytest.raises(BadInput):
        names.check_ref(bad)


def test_control_characters_rejected_in_free_text() -> None:
    for bad in ("x\x00y", "x\x1b[2J", "x\x85y", "x\x9by", "x\u202ey"):
        with pytest.raises(BadInput):
            names.check_text(bad, "title")
    assert names.check_text("  two\nlines\tand ü  ", "title") == "two\nlines\tand ü"

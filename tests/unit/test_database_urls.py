"""Database URLs: what may be shown of them, and which are refused before anything connects."""

from __future__ import annotations

import pytest

from signoff.errors import BadInput
from signoff.store import location


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://signoff@db/board", "postgresql+psycopg://signoff@db/board"),
        ("postgresql://signoff:pa55word@db:5432/board", "postgresql+psycopg://signoff:***@db:5432/board"),
        ("postgresql://signoff:p%40ss%3Aw0rd@db/board", "postgresql+psycopg://signoff:***@db/board"),
        (
            "postgresql://signoff@db/board?password=pa55word&sslmode=require",
            "postgresql+psycopg://signoff@db/board?password=***&sslmode=require",
        ),
        (
            "postgresql://db/board?sslpassword=k3y&passfile=/home/me/.pgpass&sslkey=/etc/key.pem",
            "postgresql+psycopg://db/board?sslpassword=***&passfile=***&sslkey=/etc/key.pem",
        ),
        ("postgresql://db/board?PASS%77ORD=pa55word", "postgresql+psycopg://db/board?PASS%77ORD=***"),
        ("postgresql://[::1]:5432,db2:5433/board", "postgresql+psycopg://[::1]:5432,db2:5433/board"),
        ("postgresql://:pa55word@db/board", "postgresql+psycopg://:***@db/board"),
        (
            "postgresql://signoff@db/board?options=-csearch_path%3Dsignoff",
            "postgresql+psycopg://signoff@db/board?options=-csearch_path%3Dsignoff",
        ),
    ],
)
def test_a_url_is_shown_without_its_secrets(url: str, shown: str) -> None:
    t = location.target(url)
    assert str(t) == shown == location.redact_url(t.url)
    assert repr(t) == f"Target({shown})"
    for secret in ("pa55word", "p@ss", "p%40ss", "k3y", ".pgpass"):
        assert secret not in str(t) and secret not in repr(t)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://signoff:TOP@SECRET@db/board",  # an unencoded '@' in the password
        "postgresql://signoff:pa/ss@db/board",  # an unencoded '/'
        "postgresql://signoff:12?34@db/board",  # an unencoded '?'
        "postgresql://signoff:ab#cd@db/board",  # an unencoded '#'
        "postgresql://signoff:ab%zzcd@db/board",  # a broken percent escape
        "postgresql://signoff:secret@db:54x2/board",  # not a port: a driver would quote it
    ],
)
def test_a_url_that_cannot_be_read_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(BadInput) as err:
        location.target(url)
    message = str(err.value)
    assert "PGPASSWORD" in message and "%40" in message
    for part in ("TOP", "SECRET", "pa/ss", "12?34", "ab#cd", "abzz", "secret", "db/board"):
        assert part not in message


def test_driver_text_is_scrubbed_of_every_secret_seen() -> None:
    location.target("postgresql://signoff:Wh0le%40Secret@db/board?sslpassword=an0ther")
    text = 'FATAL: password "Wh0le@Secret" or "Wh0le%40Secret" or an0ther rejected'
    scrubbed = location.scrub(text)
    assert "Wh0le" not in scrubbed and "an0ther" not in scrubbed and "FATAL" in scrubbed

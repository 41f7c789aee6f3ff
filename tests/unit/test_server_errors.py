"""What a database server's refusals read as: one sentence naming what happened and what to do."""

from __future__ import annotations

import pytest

from signoff.errors import SignoffError
from signoff.store.location import translate

URL = "postgresql+psycopg://board@db.example/register"


@pytest.mark.parametrize(
    "message",
    [
        "connection failed: FATAL:  sorry, too many clients already",
        "connection failed: FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute",
    ],
)
def test_a_server_out_of_connections_says_so_rather_than_unreachable(message: str) -> None:
    err = translate(Exception(message), URL)
    assert isinstance(err, SignoffError)
    assert "has no free connections" in str(err)
    assert "cannot reach" not in str(err)


def test_a_server_that_is_down_is_still_unreachable() -> None:
    err = translate(Exception("connection failed: Connection refused"), URL)
    assert "cannot reach the database server" in str(err)

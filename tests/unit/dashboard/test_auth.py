"""Users files: argon2 hashes only, bad lines named, no dashboard without users."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import Type, extract_parameters

from asyncz_like.dashboard import create_dashboard
from asyncz_like.dashboard.auth import Users, user_line
from tests.helpers import manual_scheduler
from tests.unit.dashboard.helpers import PASSWORD, users


def test_a_line_holds_a_hash_not_the_password() -> None:
    line = user_line("ann", "viewer", PASSWORD)
    name, role, hashed = line.split(":", 2)
    assert (name, role) == ("ann", "viewer") and hashed.startswith("$argon2id$")
    assert PASSWORD not in line
    found = Users([line]).verify("ann", PASSWORD)
    assert found is not None and found.role == "viewer"


def test_real_hashes_use_argon2id_with_its_recommended_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # the module's own hasher, not the tests' cheap one
    hashed = user_line("ann", "operator", PASSWORD).split(":", 2)[2]
    parameters = extract_parameters(hashed)
    assert parameters.type is Type.ID and parameters.memory_cost >= 19 * 1024


def test_verify_refuses_a_wrong_password_or_name() -> None:
    assert users().verify("olga", "wrong password") is None
    assert users().verify("nobody", PASSWORD) is None
    olga = users().verify("olga", PASSWORD)
    assert olga is not None and olga.may("operator") and olga.may("viewer")
    vera = users().get("vera")
    assert vera is not None and vera.may("viewer") and not vera.may("operator")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("a:b", "viewer", PASSWORD), "name"),
        (("", "viewer", PASSWORD), "name"),
        (("ann", "admin", PASSWORD), "role"),
        (("ann", "viewer", "short"), "password"),
    ],
)
def test_bad_input_names_the_argument(args: tuple[str, str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        user_line(*args)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "refuses to start without credentials"),
        (["# only a comment", ""], "refuses to start without credentials"),
        (["ann:viewer:plaintext"], "line 1: the password must be an argon2 hash"),
        (["# users", "ann:viewer"], "line 2: expected name:role:hash"),
        (["ann:root:$argon2id$x"], "line 1: role must be one of viewer, operator"),
    ],
)
def test_bad_users_are_refused_with_the_line(lines: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Users(lines)


def test_a_name_twice_is_refused() -> None:
    line = user_line("ann", "viewer", PASSWORD)
    with pytest.raises(ValueError, match="line 2: user 'ann' appears twice"):
        Users([line, line])


def test_users_file(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# dashboard users\n" + user_line("ann", "operator", PASSWORD) + "\n")
    assert Users.coerce(str(path)).verify("ann", PASSWORD) is not None
    with pytest.raises(FileNotFoundError):
        Users.coerce(tmp_path / "missing")


def test_the_dashboard_refuses_to_start_without_credentials() -> None:
    scheduler = manual_scheduler()
    with pytest.raises(ValueError, match="users is required"):
        create_dashboard(scheduler)
    with pytest.raises(ValueError, match="without credentials"):
        create_dashboard(scheduler, [])
    with pytest.raises(TypeError, match="users must be"):
        create_dashboard(scheduler, {"ann": "secret"})
    with pytest.raises(ValueError, match="secret_key must be at least 32"):
        create_dashboard(scheduler, users(), secret_key="short")
    with pytest.raises(TypeError, match="scheduler must be a scheduler"):
        create_dashboard(object(), users())  # type: ignore[arg-type]

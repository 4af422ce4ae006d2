"""The demo sign-ins that `make run` prints are the ones the README promises, and each works."""

import re
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import check_password_hash

from shared.demo import DEMO_PASSWORD
from shared.extensions import db
from shared.models import User

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_sign_ins() -> set[str]:
    """The addresses in the README's table of demo sign-ins."""
    text = README.read_text()
    table = text[text.index("prints these demo sign-ins") :]
    table = table[: table.index("\n\n", table.index("| --- "))]
    return set(re.findall(r"^\| [^|]+ \| `([^`]+)` \|", table, re.M))


def test_the_printed_demo_sign_ins_are_the_readmes_and_each_one_works(app):
    output = app.test_cli_runner().invoke(args=["demo-data"]).output
    printed = set(re.findall(r"^\s+.*?(\S+@example\.com)", output, re.M))

    assert printed == readme_sign_ins()
    for email in printed:
        person = db.session.scalars(select(User).where(User.email == email)).one()
        assert check_password_hash(person.password_hash, DEMO_PASSWORD), email

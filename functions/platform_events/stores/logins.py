"""The deployment's role statements (``logins.py``): does a login exist, is it a member of its
group role, create or update it with its SCRAM verifier, grant the group role. Identifiers and
the verifier are composed with ``psycopg.sql`` (DDL takes no parameters)."""

from __future__ import annotations

from psycopg import sql as psql

from platform_events.db import Conn
from platform_events.queries import sql


def role_exists(conn: Conn, name: str) -> bool:
    """Whether a role called ``name`` exists (a login or not)."""
    return conn.execute(sql("logins_role_exists"), {"name": name}).fetchone() is not None


def set_password(conn: Conn, user: str, verifier: str, *, create: bool) -> None:
    """Create the login ``user`` (or, ``create`` false, update it) with this SCRAM verifier."""
    statement = "logins_create_password" if create else "logins_alter_password"
    conn.execute(
        psql.SQL(sql(statement)).format(user=psql.Identifier(user), verifier=psql.Literal(verifier))
    )


def is_member(conn: Conn, member: str, role: str) -> bool:
    """Whether ``member`` is granted ``role`` already."""
    row = conn.execute(sql("logins_is_member"), {"member": member, "role": role}).fetchone()
    return row is not None


def grant(conn: Conn, role: str, user: str) -> None:
    """``GRANT role TO user`` (psycopg's InsufficientPrivilege when this role may not)."""
    conn.execute(
        psql.SQL(sql("logins_grant")).format(role=psql.Identifier(role), user=psql.Identifier(user))
    )

"""Create or update the login users of migrations/0006's group roles (run by the migration build).

LOGIN_ROLES is "APP=platform_events_app,PIPELINE=...": each user's name and password come from its
DATABASE_URL in URL_<USER>; the statements run as the owner (URL_OWNER). The password is sent as a
SCRAM-SHA-256 verifier computed here, so no clear password reaches the server or its logs.
"""

import os
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

with psycopg.connect(os.environ["URL_OWNER"], autocommit=True) as conn:
    for pair in filter(None, os.environ["LOGIN_ROLES"].split(",")):
        user_key, group = pair.split("=", 1)
        url = urlsplit(os.environ["URL_" + user_key])
        user, password = unquote(url.username or ""), unquote(url.password or "")
        verifier = conn.pgconn.encrypt_password(
            password.encode(), user.encode(), b"scram-sha-256"
        ).decode()
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        done = "updated" if exists else "created"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(verifier)
            )
        )
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(user)))
        print(f"login role {user}: {done}, member of {group}")

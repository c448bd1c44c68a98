-- Statements of the deployment's role step (platform_events.logins). Identifiers and the SCRAM
-- verifier are composed with psycopg.sql ({user}, {role}, {verifier}): DDL takes no parameters.

-- name: logins_role_exists
SELECT rolcanlogin AS can_login FROM pg_roles WHERE rolname = %(name)s;

-- name: logins_is_member
SELECT 1 AS member
  FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.roleid
  JOIN pg_roles u ON u.oid = m.member
 WHERE r.rolname = %(role)s AND u.rolname = %(member)s;

-- name: logins_create_password
CREATE ROLE {user} LOGIN PASSWORD {verifier};

-- name: logins_alter_password
ALTER ROLE {user} LOGIN PASSWORD {verifier};

-- name: logins_grant
GRANT {role} TO {user};

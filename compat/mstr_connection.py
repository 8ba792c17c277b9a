"""mstrio-py (pinned in requirements.txt) against vestibule's MicroStrategy auth and session API.

Usage: mstr_connection.py BASE_URL USERNAME PASSWORD [SHORT_TIMEOUT_BASE_URL]

BASE_URL is e.g. http://127.0.0.1:PORT/MicroStrategyLibrary. The optional second server must run
with a short server session timeout (a few seconds): it is used to see an expired session answer
ERR009. Exits non-zero with a message on the first failed check.
"""

import sys
import time

import requests

from mstrio.api import authentication
from mstrio.connection import Connection
from mstrio.helpers import IServerError


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def wait_until_swept(library_url):
    """Polls the server's live-session gauge until its sweep has removed every session: a session
    is swept only once it has expired, and asking the session itself would extend it."""
    metrics = library_url.rsplit("/MicroStrategyLibrary", 1)[0] + "/metrics"
    deadline = time.monotonic() + 20
    while True:
        lines = requests.get(metrics, timeout=10).text.splitlines()
        live = [float(l.split()[1]) for l in lines if l.startswith("vestibule_sessions_live ")]
        if len(live) != 1:
            raise SystemExit(f"FAILED: no single vestibule_sessions_live sample in {metrics}")
        if live[0] == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit("FAILED: the short-timeout session was not swept within 20 s")
        time.sleep(0.1)


def main():
    base_url, username, password = sys.argv[1:4]
    short_url = sys.argv[4] if len(sys.argv) > 4 else None

    # Standard login: POST /api/auth/login (form), GET /api/sessions, GET /api/status.
    conn = Connection(base_url, username, password, login_mode=1)
    check(conn.token, "Connection(...) got an auth token")
    check(isinstance(conn.timeout, int) and conn.timeout > 0, f"session timeout is an int ({conn.timeout})")
    check(conn.iserver_version >= "11.5.0600", f"iServerVersion high enough ({conn.iserver_version})")

    # User info: GET /api/sessions/userInfo.
    check(len(conn.user_id) == 32, f"user_id ({conn.user_id})")
    check(conn.user_full_name == "Administrator", f"user_full_name ({conn.user_full_name})")
    check(conn.user_initials == "A", f"user_initials ({conn.user_initials})")
    check(conn.status(), "status() sees an active session")

    # Renew: PUT /api/sessions. The token stays the same, so it was a renewal, not a new login.
    token = conn.token
    conn.renew()
    check(conn.token == token, "renew() kept the session (PUT /api/sessions answered 2xx)")

    # Privileges: GET /api/sessions/privileges.
    privileges = authentication.user_privileges(conn).json()
    check(len(privileges["privileges"]) > 0, "user_privileges() lists privileges")

    # Identity token and a delegated connection from it (loginMode "-1").
    identity = conn.get_identity_token()
    check(len(identity) >= 22, "get_identity_token() returned a token")
    delegated = Connection(base_url, identity_token=identity)
    check(delegated.token and delegated.token != conn.token, "delegated connection has its own token")
    check(delegated.user_id == conn.user_id, "delegated connection is the same user")
    check(delegated.validate_identity_token(), "validate_identity_token() accepts the token")
    delegated.close()
    check(not delegated.status(), "closed delegated connection is no longer active")

    # API token: POST /api/auth/apiTokens, then loginMode 4096.
    api_token = conn.get_api_token()
    by_api = Connection(base_url, api_token=api_token)
    check(by_api.user_id == conn.user_id, "api_token connection is the same user")
    by_api.close()

    conn.close()
    check(conn.token is None, "close() logged out")

    # Wrong password raises.
    try:
        Connection(base_url, username, password + "-wrong", login_mode=1)
    except IServerError as e:
        check("ERR003" in str(e), f"wrong password raised IServerError with ERR003 ({e})")
    else:
        raise SystemExit("FAILED: a wrong password did not raise")

    if short_url:
        # Expiry: the server's timeout passes while the client believes the session is alive
        # (as when the server's timeout is shorter than the client expects), so mstrio sends the
        # request and the server answers ERR009.
        short = Connection(short_url, username, password, login_mode=1)
        server_timeout = short.timeout
        short.timeout = 600
        started = time.monotonic()
        wait_until_swept(short_url)
        check(time.monotonic() - started >= server_timeout - 0.5, "the session lived its timeout")
        try:
            short.get_identity_token()
        except IServerError as e:
            check("ERR009" in str(e) and e.http_code == 401, f"expired session answered 401 ERR009 ({e})")
        else:
            raise SystemExit("FAILED: an expired session was still accepted")
        check(not short.status(), "status() sees the expired session as inactive")
        # close() tolerates ERR009 on an expired session.
        short.close()
        check(short.token is None, "close() of an expired session succeeded")

    print("mstr_connection: all checks passed")


if __name__ == "__main__":
    main()

"""mstrio-py (pinned in requirements.txt) logs in with a personal API token (loginMode 4096), such
as the one vestibule's signed-in page makes after a single sign-on (tests/it/sso_browser.rs).

Usage: mstr_api_token.py BASE_URL API_TOKEN USERNAME FULL_NAME

BASE_URL is e.g. http://127.0.0.1:PORT/MicroStrategyLibrary. Checks that the connection is the
token's user (its user name and full name, from GET /api/sessions/userInfo), then closes it.
Exits non-zero with a message on the first failed check.
"""

import sys

from mstrio.connection import Connection


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    base_url, api_token, username, full_name = sys.argv[1:5]

    conn = Connection(base_url, api_token=api_token)
    check(conn.login_mode == 4096, f"Connection(base_url, api_token=...) uses loginMode 4096 ({conn.login_mode})")
    check(conn.token, "the API token login got an auth token")
    check(conn.user_full_name == full_name, f"user_full_name ({conn.user_full_name!r})")
    check(len(conn.user_id or "") == 32, f"user_id ({conn.user_id})")

    info = conn.get(endpoint="/api/sessions/userInfo")
    check(info.status_code == 200, f"GET /api/sessions/userInfo through the connection ({info.status_code})")
    info = info.json()
    check(info.get("username") == username, f"userInfo username ({info.get('username')!r})")
    check(info.get("fullName") == full_name, f"userInfo fullName ({info.get('fullName')!r})")
    check(info.get("id") == conn.user_id, "userInfo id is the connection's user_id")
    print(f"mstrio user: {info.get('username')} / {info.get('fullName')}")

    conn.close()
    check(conn.token is None, "close() logged out")
    print("mstr_api_token: all checks passed")


if __name__ == "__main__":
    main()

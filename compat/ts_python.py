"""Drives vestibule's ThoughtSpot dialect with the official Python libraries, as pinned in
requirements.txt: thoughtspot-rest-api-v1 (TSRestApiV1) and thoughtspot-rest-api (TSRestApiV2).

Usage: ts_python.py BASE_URL USERNAME PASSWORD SECRET_KEY
Exits non-zero (with a traceback) on the first thing that does not work as the libraries expect.
"""
import sys
import traceback
import uuid

import requests
import thoughtspot_rest_api
import thoughtspot_rest_api_v1
from thoughtspot_rest_api import TSRestApiV2
from thoughtspot_rest_api_v1 import TSRestApiV1

base, user, password, secret = sys.argv[1:5]


def step(name):
    print(f"ok: {name}", flush=True)


def check(condition, detail=None):
    """Exits non-zero when `condition` is false: an explicit check, not an `assert`, so that
    PYTHONOPTIMIZE cannot remove it."""
    if not condition:
        print(f"check failed: {detail!r}" if detail is not None else "check failed", file=sys.stderr, flush=True)
        traceback.print_stack(file=sys.stderr)
        sys.exit(1)


def expect_http_error(status, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except requests.HTTPError as e:
        check(e.response.status_code == status, (e.response.status_code, e.response.text))
        check(e.response.headers["Content-Type"].startswith("application/json"), e.response.headers)
        return e.response
    check(False, f"{fn.__name__} should have failed with {status}")


print("libraries:", thoughtspot_rest_api_v1.__version__, thoughtspot_rest_api.__version__)

# --- v1: login, session info, orgs, logout -------------------------------------------------------
v1 = TSRestApiV1(base)
v1.session_login(user, password)
info = v1.session_info()
check(info["userName"] == user, info)
uuid.UUID(info["userGUID"])
mix = info["configInfo"]["mixpanelConfig"]
check({"devSdkKey", "prodSdkKey", "production"} <= set(mix), info)
check("selfClusterId" in info["configInfo"] and "releaseVersion" in info)
orgs = v1.session_orgs_get()
check(orgs["orgs"][0]["orgId"] == 0 and orgs["currentOrgId"] == 0, orgs)
v1.session_orgs_put(0)
v1.session_orgs_users(info["userGUID"])
step("v1 login, session/info, orgs")
v1.session_logout()
expect_http_error(401, v1.session_info)
step("v1 logout ends the session")

bad = TSRestApiV1(base)
r = expect_http_error(401, bad.session_login, user, password + "-wrong")
check(r.json()["code"] == 10003, r.text)
step("v1 wrong password is 401 with the v1 error body")

# --- v1 trusted authentication: token, then token login in a "browser" -----------------------------
backend = TSRestApiV1(base)
jit_user = "ts-compat-" + uuid.uuid4().hex[:8]
token = backend.session_auth_token(
    secret_key=secret, username=jit_user, access_level="FULL", org_id=0,
    groups=["compat-sales"], auto_create_user=True,
)
check(token and "\n" not in token, token)
step("v1 session/auth/token (autocreate, groups)")

browser = TSRestApiV1(base)
# requests follows the 302 to redirect_url with the new cookies; isactive answers 2xx to them.
resp = browser.session_login_token_post(jit_user, token, base + "/callosum/v1/session/isactive")
check(resp.history and resp.history[0].status_code == 302, resp.history)
check(browser.session_info()["userName"] == jit_user)
step("v1 session/login/token: 302 to redirect_url, then a session")
# v1 tokens are not single-use: the same token logs in again.
again = TSRestApiV1(base)
again.session_login_token_post(jit_user, token, base + "/callosum/v1/session/isactive")
check(again.session_info()["userName"] == jit_user)
browser.session_logout()
expect_http_error(401, browser.session_info)
step("v1 token reused; logout after token login")

object_id = str(uuid.uuid4())
rbv = backend.session_auth_token(
    secret_key=secret, username=jit_user, access_level="REPORT_BOOK_VIEW", object_guid=object_id,
)
viewer = TSRestApiV1(base)
viewer.session_login_token_post(jit_user, rbv, base + "/callosum/v1/session/isactive")
check(viewer.session_info()["restrictedObjectId"] == object_id)
expect_http_error(403, viewer.session_orgs_get)
step("v1 REPORT_BOOK_VIEW token: a session limited to one object")

expect_http_error(401, TSRestApiV1(base).session_auth_token, secret_key=secret + "x", username=user)
step("v1 wrong secret key is 401")

# --- v2: session login, user, token, logout -------------------------------------------------------
v2 = TSRestApiV2(base)
v2.auth_session_login(user, password, org_identifier=0)
me = v2.auth_session_user()
check(me["name"] == user and me["visibility"] == "SHARABLE", me)
session_token = v2.auth_session_token()
check(session_token["token"] and session_token["valid_for_username"] == user, session_token)
v2.auth_session_logout()
expect_http_error(401, v2.auth_session_user)
step("v2 session login, user, token, logout")
r = expect_http_error(401, TSRestApiV2(base).auth_session_login, user, password + "-wrong")
check(r.json()["error"]["message"]["code"] == 10097, r.text)
step("v2 wrong password is 401 with the v2 error body")

# --- v2 tokens: full, validate, object, custom, bearer use, bearer login, revoke ------------------
full = TSRestApiV2(base).auth_token_full(user, password=password, validity_time_in_sec=600, org_id=0)
check(full["scope"]["access_type"] == "FULL" and full["valid_for_username"] == user, full)
check(full["expiration_time_in_millis"] - full["creation_time_in_millis"] == 600_000, full)
api = TSRestApiV2(base)
api.bearer_token = full["token"]
api.auth_token_validate(full["token"])
obj = api.auth_token_object(user, object_id=object_id, secret_key=secret)
check(obj["scope"]["access_type"] == "REPORT_BOOK_VIEW" and obj["scope"]["metadata_id"] == object_id, obj)
custom = api.auth_token_custom(jit_user, secret_key=secret, auto_create=True,
                               display_name="Compat User", email="compat@example.com")
check(custom["user"]["name"] == jit_user and custom["org"]["id"] == 0, custom)
check(api.auth_session_user()["name"] == user)
step("v2 token/full (password), validate, token/object and token/custom (secret key), bearer use")

# The same bearer works on v1, and logs in through v1 token login.
v1_bearer = TSRestApiV1(base)
v1_bearer.bearer_token = full["token"]
check(v1_bearer.session_info()["userName"] == user)
v1_login = TSRestApiV1(base)
v1_login.session_login_token_post(user, full["token"], base + "/callosum/v1/session/isactive")
check(v1_login.session_info()["userName"] == user)
step("v2 token as a v1 bearer and for v1 token login")

cookie_client = TSRestApiV2(base)
cookie_client.auth_session_login(bearer_token=full["token"])
check(cookie_client.requests_session.cookies.get("JSESSIONID"))
step("v2 session/login with a bearer makes a cookie session")

api.auth_token_revoke()
expect_http_error(401, api.auth_session_user)
expect_http_error(401, v1_bearer.session_info)
step("v2 token/revoke with an empty body revokes the bearer; refused on v1 and v2 after")

# ABAC: the client's `additional_request_parameters` carry the rules; persisted on the user with
# REPLACE, and read back on the user's details with the custom token as the bearer.
rules = {
    "persist_option": "REPLACE",
    "filter_rules": [{"column_name": "Region", "operator": "IN", "values": ["West", 7]}],
    "parameter_values": [{"name": "Secured", "values": ["s3cr3t"]}],
}
abac = TSRestApiV2(base).auth_token_custom(jit_user, secret_key=secret, additional_request_parameters=rules)
abac_api = TSRestApiV2(base)
abac_api.bearer_token = abac["token"]
held = abac_api.auth_session_user()["access_control_properties"]
check(held == {"0": {"ALL": {"filter_rules": rules["filter_rules"],
                             "parameter_values": rules["parameter_values"]}}}, held)
r = expect_http_error(400, TSRestApiV2(base).auth_token_custom, jit_user, secret_key=secret,
                      additional_request_parameters={"filter_rules": "Region"})
check("filter_rules" in r.text, r.text)
step("v2 token/custom with rules (REPLACE), read back on the user; a rule of the wrong type is 400")

secret_full = TSRestApiV2(base).auth_token_full(jit_user, secret_key=secret)
check(secret_full["valid_for_username"] == jit_user)
step("v2 token/full with the secret key")
print("all ThoughtSpot Python checks passed")

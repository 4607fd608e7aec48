#!/usr/bin/env bash
# Installs real VS Code (code-server) into .cache/e2e (ignored by git), plus the Debian packages it and the
# browser need (chromium, ripgrep, libkrb5-dev) when run as root; playwright-core is a devDependency. Idempotent: a second run only checks and takes seconds.
# Recipe and reasons: ../shared/DESIGN.md "Real VS Code here".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${CEL_E2E_CACHE:-$ROOT/.cache/e2e}"
CS_VERSION=4.99.4
STAMP="$CACHE/.provisioned-$CS_VERSION"

missing_apt=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing_apt+=(chromium)
command -v rg >/dev/null 2>&1 || missing_apt+=(ripgrep)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/gssapi/gssapi.h ] || missing_apt+=(libkrb5-dev)
if [ ${#missing_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "provision: apt-get install ${missing_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing_apt[@]}" >/dev/null
  else
    echo "provision: missing Debian packages; run as root: apt-get install -y ${missing_apt[*]}" >&2
    exit 1
  fi
fi

if [ -f "$STAMP" ] && [ -f "$CACHE/node_modules/code-server/out/node/entry.js" ]; then
  echo "provision: code-server $CS_VERSION ready in $CACHE"
  exit 0
fi

echo "provision: installing code-server $CS_VERSION into $CACHE (about 2 minutes)"
mkdir -p "$CACHE"
cd "$CACHE"
[ -f package.json ] || echo '{ "name": "cel-e2e-cache", "private": true }' > package.json
export npm_config_unsafe_perm=true npm_config_yes=true npm_config_audit=false npm_config_fund=false
npm install --no-save --ignore-scripts "code-server@$CS_VERSION" >/dev/null

VS="$CACHE/node_modules/code-server/lib/vscode"
(cd "$VS" && npm install --omit=dev --ignore-scripts >/dev/null)
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$VS/node_modules/@vscode/ripgrep/bin/rg"
# Native modules; parallel node-gyp builds race, hence --foreground-scripts. Not ripgrep (its postinstall downloads).
(cd "$VS" && for m in @vscode/spdlog node-pty kerberos @parcel/watcher native-watchdog @vscode/sqlite3 @vscode/deviceid; do
  if [ -d "node_modules/$m" ]; then
    npm rebuild --foreground-scripts "$m" >"$CACHE/rebuild.log" 2>&1 || { echo "provision: building $m failed, see $CACHE/rebuild.log" >&2; exit 1; }
  fi
done)
[ -e "$VS/node_modules.asar" ] || ln -s node_modules "$VS/node_modules.asar"
(cd "$VS/extensions" && npm install --omit=dev >/dev/null)
(cd "$CACHE" && npm rebuild argon2 >"$CACHE/rebuild.log" 2>&1) || { echo "provision: building argon2 failed, see $CACHE/rebuild.log" >&2; exit 1; }
touch "$STAMP"
echo "provision: done"

#!/usr/bin/env bash
# Installs everything Chasm needs on this machine, idempotently: Debian packages (when root;
# gcc and libc6-dev build the static in-sandbox agent from its C source, libseccomp2 compiles
# the sandboxes' seccomp filter),
# uv, the locked Python environment in .venv, and the web dashboard (npm, when web/ changed).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(bubblewrap libseccomp2 slirp4netns passt chromium git gcc libc6-dev)
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
# Bytecode compiled now: a machine may run with PYTHONDONTWRITEBYTECODE=1, and every CLI call
# would then compile what it imports again (about half a second).
uv sync --frozen --quiet --compile-bytecode
# uv compiles the installed packages only; Chasm's own sources (an editable install) too.
.venv/bin/python -m compileall -q -j 0 src/chasm >/dev/null

# The web dashboard (web/ -> src/chasm/webui/dist): built with npm when its sources, its lock or the
# server's OpenAPI changed since the last build (a hash of them kept in the build folder), so a run
# with nothing changed is quick. Without Node.js the server still runs, and its / page says how to build the dashboard.
build_dashboard() {
  [ -f web/package.json ] || return 0
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: nodejs npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: the web dashboard is not built (install Node.js 20.19 or later, then rerun)" >&2
    return 0
  fi
  local dist=src/chasm/webui/dist stamp hash lock_hash
  stamp="$dist/.sources-hash"
  # The server's API is part of the sources: its OpenAPI types are generated into the build, and a
  # changed endpoint must rebuild (and re-check) the front-end. Dumping it imports the whole server
  # (seconds): its hash is kept with a hash of what it is made from (the Python sources, the lock),
  # and dumped again only when those changed.
  local api api_sums inputs api_stamp="$dist/.api-sums"
  inputs=$( { { git ls-files -co --exclude-standard src/chasm 2>/dev/null || find src/chasm -type f; } \
      | LC_ALL=C sort | xargs -r sha256sum 2>/dev/null; cat uv.lock; } | sha256sum | cut -d' ' -f1) || inputs=none
  if [ -f "$api_stamp" ] && [ "$(head -n1 "$api_stamp")" = "$inputs" ]; then
    api_sums=$(tail -n +2 "$api_stamp")
  else
    api=$(mktemp -d)
    .venv/bin/python -m chasm.webui.schema "$api" >/dev/null
    api_sums=$(cd "$api" && sha256sum ./*)
    rm -rf "$api"
  fi
  hash=$( { (cd web && find . -path ./node_modules -prune -o -path ./src/lib/api/generated -prune \
      -o -type f -print | LC_ALL=C sort | xargs sha256sum); echo "$api_sums"; } \
      | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f "$dist/index.html" ]; then
    printf '%s\n%s\n' "$inputs" "$api_sums" > "$api_stamp"
    return 0
  fi
  lock_hash=$(sha256sum web/package-lock.json | cut -d' ' -f1)
  if [ ! -f web/node_modules/.lock-hash ] || [ "$(cat web/node_modules/.lock-hash)" != "$lock_hash" ]; then
    echo "Installing the dashboard's npm packages (npm ci)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > web/node_modules/.lock-hash
  fi
  echo "Building the web dashboard"
  (cd web && CHASM_PYTHON="$PWD/../.venv/bin/python" npm run --silent build -- --logLevel warn)
  echo "$hash" > "$stamp"
  printf '%s\n%s\n' "$inputs" "$api_sums" > "$api_stamp"
}
build_dashboard

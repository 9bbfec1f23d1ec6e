#!/usr/bin/env bash
# Installs everything Chasm needs on this machine, idempotently: Debian packages (when root;
# gcc and libc6-dev build the static in-sandbox agent from its C source, libseccomp2 compiles
# the sandboxes' seccomp filter),
# uv, and the locked Python environment in .venv.
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

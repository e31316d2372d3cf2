#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the newest whose engines.node is 20) from npm into a cache
# folder outside the repository, for the end-to-end test. Idempotent: does nothing when it is already there.
# Needs (Debian): build-essential python3 libkrb5-dev libsecret-1-dev ripgrep (see .ci/run).
# Prints the code-server binary's path as its last line.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${RAFTLAB_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raftlab-e2e}"
APP="$CACHE/code-server-4.100.3"
BIN="$APP/node_modules/.bin/code-server"
RG_PKG_VERSION=1.15.11  # @vscode/ripgrep pinned by code-server 4.100.3
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

if [ -x "$BIN" ] && [ -f "$APP/.complete" ] && cmp -s "$HERE/code-server/package.json" "$APP/package.json"; then
  echo "$BIN"
  exit 0
fi
command -v rg >/dev/null || { echo "setup.sh: ripgrep (rg) is missing: apt-get install ripgrep" >&2; exit 1; }

rm -rf "$APP"
mkdir -p "$APP" "$CACHE/tmp"
cp "$HERE/code-server/package.json" "$APP/package.json"
# @vscode/ripgrep's postinstall downloads rg from GitHub unless $TMPDIR/vscode-ripgrep-cache-<ver>/<asset>
# exists; seed that cache with Debian's rg (the same ripgrep 13).
export TMPDIR="$CACHE/tmp"
RGC="$TMPDIR/vscode-ripgrep-cache-$RG_PKG_VERSION"
mkdir -p "$RGC"
D="$(mktemp -d)"; cp "$(command -v rg)" "$D/rg"; tar czf "$RGC/$RG_ASSET" -C "$D" rg; rm -rf "$D"

cd "$APP"
start=$SECONDS
# unsafe_perm: code-server's postinstall refuses root without it; yes: node-pty's postinstall runs npx.
if ! npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund --foreground-scripts > install.log 2>&1; then
  tail -40 install.log >&2
  exit 1
fi
test -x node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg
printf "bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n" > config.yaml
"$BIN" --config "$APP/config.yaml" --version >&2
touch .complete
echo "setup.sh: code-server installed in $((SECONDS - start)) s" >&2
echo "$BIN"

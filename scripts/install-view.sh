#!/usr/bin/env bash
# Idempotent install of the optional viewer behind `disac view` (README "Viewer"):
#   rerun-sdk (requirements-view.txt) into .venv, with pip's cache in .cache/pip;
#   Debian's chromium (for `disac view --screenshot` and test/view), via apt-get when missing and run as root.
# Already installed: returns in well under a second and changes nothing.
# Usage: scripts/install-view.sh [--no-chromium]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQS="$ROOT/requirements-view.txt"
STAMP="$VENV/.install-view"

say() { printf '\033[1m[install-view]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[install-view] error:\033[0m %s\n' "$*" >&2; exit 1; }

[[ -x "$VENV/bin/python" ]] || die "no $VENV: run scripts/bootstrap.sh (or make setup) first"

digest="$(sha256sum "$REQS" | cut -c1-16)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$digest" ]] && \
   "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("rerun") is None)' 2>/dev/null; then
  : # rerun-sdk present and requirements-view.txt unchanged
else
  say "installing $(grep -m1 '^rerun-sdk' "$REQS") into $VENV (first time: a ~170 MB download, about a minute)"
  mkdir -p "$ROOT/.cache"
  log="$ROOT/.cache/pip-install-view.log"
  PIP_CACHE_DIR="$ROOT/.cache/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$VENV/bin/python" -m pip install --quiet -r "$REQS" > "$log" 2>&1 \
    || { tail -30 "$log" >&2; die "pip install -r $REQS failed (log: $log)"; }
  echo "$digest" > "$STAMP"
  say "rerun-sdk installed"
fi

[[ "${1:-}" == "--no-chromium" ]] && exit 0
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium with apt-get (for --screenshot and the browser test; about 100 MB)"
    export DEBIAN_FRONTEND=noninteractive
    # Not fatal: without chromium only --screenshot and the browser test (which then skips, saying why) need it.
    if { apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
         || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; }; }; then
      say "chromium installed: $(chromium --version 2>/dev/null || echo '?')"
    else
      say "warning: apt-get install chromium failed: --screenshot and test/view's browser test need it"
    fi
  else
    say "chromium not found (needed only for --screenshot and test/view): sudo apt-get install chromium"
  fi
fi

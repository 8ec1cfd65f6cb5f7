# Shared helpers for the project's shell scripts. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BUN_VERSION="1.3.14"
DENO_VERSION="2.9.6"
export PATH="$TOOLS/node_modules/.bin:$PATH"

log() { printf '\033[1;34m[shardy]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[shardy] error:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq >&2; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

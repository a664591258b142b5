# Sourced by the .ci/install-*.sh scripts: apt_install <name> <package>... installs Debian packages
# as root (directly, or through passwordless sudo), or exits 1 saying what to install by hand.
# <name> prefixes every message.

apt_install() {
  local name="$1"
  shift
  local sudo_cmd
  if [ "$(id -u)" -eq 0 ]; then
    sudo_cmd=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo -n)
  else
    echo "$name: this is not root (and there is no sudo): install the package(s) $* by hand" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: no apt-get here; install $* with this system's package manager" >&2
    exit 1
  fi
  "${sudo_cmd[@]}" apt-get update -o Acquire::Retries=3
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# as_root <command>...: the same privilege rule for a follow-up command.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

#!/usr/bin/env bash
# Installs the edgewire agent as a systemd service on a Raspberry Pi (Raspberry Pi OS bookworm).
# Idempotent: run it again after an update or to change the token; it says what it did and what it kept.
#
#   sudo infra/edge/install.sh --hub-url wss://hub.example.com --device-id pi-kitchen --token-file token.txt
#
# Run it from a checkout where `pnpm install` and the build ran (see apps/edge-agent/README.md).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: install.sh [options]

Installs the edgewire agent: the "edgewire" system user (in the gpio and dialout groups), /etc/edgewire
with agent.yaml and agent.env (the token, mode 0600), /var/lib/edgewire, the systemd unit, then enables
and (re)starts it. Existing config is kept; the token is replaced only when a new one is given.

Options:
  --hub-url URL        hub base URL written into a new agent.yaml (e.g. wss://hub.example.com)
  --device-id ID       device id written into a new agent.yaml (default: this host's name)
  --token-file FILE    file holding the device token (or set EDGEWIRE_TOKEN); "-" reads stdin
  --app-dir DIR        the built checkout to run (default: the checkout holding this script)
  --root DIR           install into DIR instead of / (images, tests); no daemon-reload or start
  --no-start           enable the unit but do not start it
  -h, --help           this text
USAGE
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app_dir=$(cd "$script_dir/../.." && pwd)
root=""
hub_url=""
device_id=""
token_file=""
start=1

while [ $# -gt 0 ]; do
  case "$1" in
    --hub-url) hub_url=${2:?--hub-url needs a URL}; shift 2 ;;
    --device-id) device_id=${2:?--device-id needs an id}; shift 2 ;;
    --token-file) token_file=${2:?--token-file needs a file}; shift 2 ;;
    --app-dir) app_dir=$(cd "${2:?--app-dir needs a directory}" && pwd); shift 2 ;;
    --root) root=$(cd "${2:?--root needs a directory}" && pwd); shift 2 ;;
    --no-start) start=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

did() { printf '  %-9s %s\n' "$1" "$2"; }
fail() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (sudo): it creates a user and installs a systemd unit"

user=edgewire
etc_dir="$root/etc/edgewire"
state_dir="$root/var/lib/edgewire"
unit_src="$app_dir/infra/systemd/edgewire-agent.service"
unit_dst="$root/etc/systemd/system/edgewire-agent.service"
bin_link="$root/usr/local/bin/edgewire-agent"
agent_bin="$app_dir/apps/edge-agent/bin/edgewire-agent.js"

[ -f "$unit_src" ] || fail "no unit at $unit_src; is --app-dir a checkout of edgewire?"
[ -f "$agent_bin" ] || fail "no agent at $agent_bin"
[ -d "$app_dir/apps/edge-agent/node_modules" ] ||
  fail "dependencies missing in $app_dir: run 'npx pnpm install --frozen-lockfile' there first (see apps/edge-agent/README.md)"
if [ -z "$root" ]; then
  command -v node >/dev/null || fail "node is not installed (Node 20 or newer)"
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 20 ] || fail "node $(node --version) is too old: the agent needs Node 20 or newer"
fi

# useradd/usermod/groupadd with --prefix edit $root/etc/{passwd,group} without a chroot.
prefix_args=()
[ -n "$root" ] && prefix_args=(--prefix "$root")
passwd_file="$root/etc/passwd"
group_file="$root/etc/group"
has_user() { grep -q "^$1:" "$passwd_file"; }
has_group() { grep -q "^$1:" "$group_file"; }
in_group() { grep -q "^$1:[^:]*:[^:]*:\(.*,\)\?$2\(,.*\)\?$" "$group_file"; }
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$passwd_file"; }
gid_of() { awk -F: -v g="$1" '$1 == g { print $3 }' "$group_file"; }

echo "edgewire agent install${root:+ into $root} (app: $app_dir)"

if has_user "$user"; then
  did kept "user $user"
else
  useradd "${prefix_args[@]}" --system --user-group --home-dir /var/lib/edgewire --no-create-home \
    --shell /usr/sbin/nologin --comment "edgewire agent" "$user"
  did created "user $user"
fi
for group in gpio dialout; do
  if ! has_group "$group"; then
    # Raspberry Pi OS has both; elsewhere gpio may be missing, and the agent then needs no GPIO access.
    groupadd "${prefix_args[@]}" --system "$group"
    did created "group $group"
  fi
  if in_group "$group" "$user"; then
    did kept "$user in group $group"
  else
    usermod "${prefix_args[@]}" -a -G "$group" "$user"
    did added "$user to group $group"
  fi
done
uid=$(uid_of "$user")
gid=$(gid_of "$user")

# install_file MODE OWNER:GROUP SOURCE DEST: copies when different, always fixes owner and mode.
install_file() {
  local mode=$1 owner=$2 src=$3 dst=$4
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
    did kept "$dst"
  else
    local verb=installed
    [ -f "$dst" ] && verb=updated
    install -D -m "$mode" "$src" "$dst"
    did "$verb" "$dst"
  fi
  chown "$owner" "$dst"
  chmod "$mode" "$dst"
}

ensure_dir() {
  local mode=$1 owner=$2 dir=$3
  if [ -d "$dir" ]; then did kept "$dir"; else mkdir -p "$dir"; did created "$dir"; fi
  chown "$owner" "$dir"
  chmod "$mode" "$dir"
}

ensure_dir 0750 "0:$gid" "$etc_dir"
ensure_dir 0750 "$uid:$gid" "$state_dir"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# The config: readable by the agent, writable only by root. Never overwritten once it exists.
config="$etc_dir/agent.yaml"
if [ -f "$config" ]; then
  did kept "$config"
else
  [ -n "$hub_url" ] || fail "no $config yet: give --hub-url (and --device-id) to create it"
  device_id=${device_id:-$(hostname -s)}
  cat >"$tmp" <<YAML
# edgewire agent config; check it with: edgewire-agent check --config $config
# The token is NOT here: it lives in /etc/edgewire/agent.env (EDGEWIRE_TOKEN=..., mode 0600).
deviceId: $device_id
hub:
  url: $hub_url
buffer:
  path: /var/lib/edgewire/buffer.db
  maxBytes: 64MB
sensors:
  - type: system
    intervalSec: 30
YAML
  install_file 0640 "0:$gid" "$tmp" "$config"
fi

# The token: only root (and systemd, reading EnvironmentFile as root) can read it.
env_file="$etc_dir/agent.env"
token=""
if [ -n "$token_file" ]; then
  if [ "$token_file" = - ]; then token=$(cat); else token=$(cat "$token_file"); fi
elif [ -n "${EDGEWIRE_TOKEN:-}" ]; then
  token=$EDGEWIRE_TOKEN
fi
token=$(printf '%s' "$token" | tr -d '[:space:]')
if [ -n "$token" ]; then
  (umask 077 && printf 'EDGEWIRE_TOKEN=%s\n' "$token" >"$tmp")
  install_file 0600 0:0 "$tmp" "$env_file"
elif [ -f "$env_file" ]; then
  chown 0:0 "$env_file"
  chmod 0600 "$env_file"
  did kept "$env_file"
else
  fail "no token: give --token-file FILE (from 'node apps/hub/bin/edgewire-hub.js device add <id>') or set EDGEWIRE_TOKEN"
fi

if [ "$(readlink "$bin_link" 2>/dev/null)" = "$agent_bin" ]; then
  did kept "$bin_link -> $agent_bin"
else
  mkdir -p "$(dirname "$bin_link")"
  ln -sfn "$agent_bin" "$bin_link"
  did linked "$bin_link -> $agent_bin"
fi
chmod 0755 "$agent_bin"

install_file 0644 0:0 "$unit_src" "$unit_dst"

if [ -n "$root" ]; then
  systemctl --root="$root" enable edgewire-agent.service >/dev/null 2>&1
  did enabled "edgewire-agent.service (in $root; not started)"
  exit 0
fi

systemctl daemon-reload
systemctl enable edgewire-agent.service >/dev/null 2>&1
did enabled edgewire-agent.service
if [ "$start" = 1 ]; then
  if systemctl is-active --quiet edgewire-agent.service; then
    systemctl restart edgewire-agent.service
    did restarted edgewire-agent.service
  else
    systemctl start edgewire-agent.service
    did started edgewire-agent.service
  fi
  echo "logs: journalctl -u edgewire-agent -f"
fi

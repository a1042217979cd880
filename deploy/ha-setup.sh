#!/bin/sh
# Writes the secrets of compose.ha.yaml and makes the accounts directory.
# Run it once, as root, on the machine that runs compose. It never
# overwrites a secret that exists (delete one to make it anew, then
# restart everything that reads it).
#
#   secrets/block_secret            ADVICECHAT_BLOCK_SECRET_FILE of both instances
#   secrets/redis_password          Redis and the Sentinels
#   secrets/redis_url               ADVICECHAT_REDIS_URL_FILE (contains the password)
#   secrets/grafana_admin_password  Grafana's "admin" user
#
# The directory is 0700 (root only on the host); the files are 0444,
# because compose bind-mounts them with the host's permissions and the
# containers run as other users (advicechat 65532, redis 999, grafana 472).
set -eu
cd "$(dirname "$0")"

master=${REDIS_MASTER_NAME:-advicechat}
umask 022
mkdir -p secrets
chmod 0700 secrets

new() { # name, value
	if [ -s "secrets/$1" ]; then
		echo "kept    secrets/$1"
	else
		printf '%s\n' "$2" >"secrets/$1"
		echo "written secrets/$1"
	fi
	chmod 0444 "secrets/$1"
}
rand() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

new block_secret "$(rand)"
new redis_password "$(rand)"
new redis_url "redis-sentinel://:$(cat secrets/redis_password)@sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/$master/0"
new grafana_admin_password "$(rand | cut -c1-24)"

# The accounts file is written by `advisor add` inside the container, as
# uid 65532, with mode 0600: the directory must be that user's.
mkdir -p accounts
chown 65532:65532 accounts
chmod 0700 accounts
echo "accounts directory: $(pwd)/accounts (owner 65532)"

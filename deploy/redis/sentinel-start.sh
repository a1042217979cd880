#!/bin/sh
# Starts one Sentinel of compose.ha.yaml. Sentinel rewrites its own
# configuration as it learns (who is primary, the other Sentinels, the
# replicas), so it lives in the container's volume and is written only
# once; a Sentinel started with a fresh volume asks the others which node
# is primary now before it picks the first one.
#
# Environment: SENTINEL_NAME (this Sentinel's host name), REDIS_SENTINELS,
# REDIS_FIRST_PRIMARY (default redis-a), REDIS_MASTER_NAME (default
# advicechat), REDIS_PASSWORD_FILE, SENTINEL_QUORUM (2),
# SENTINEL_DOWN_AFTER_MS (5000), SENTINEL_FAILOVER_TIMEOUT_MS (60000),
# REDIS_BIND (0.0.0.0), REDIS_DIR (/data).
set -eu

me=${SENTINEL_NAME:?set SENTINEL_NAME}
sentinels=${REDIS_SENTINELS:-sentinel-1 sentinel-2 sentinel-3}
master=${REDIS_MASTER_NAME:-advicechat}
primary=${REDIS_FIRST_PRIMARY:-redis-a}
port=${REDIS_PORT:-6379}
sport=${REDIS_SENTINEL_PORT:-26379}
dir=${REDIS_DIR:-/data}
conf=$dir/sentinel.conf

if [ ! -s "$conf" ]; then
	for s in $sentinels; do
		[ "$s" = "$me" ] && continue
		a=$(redis-cli -h "$s" -p "$sport" --raw sentinel get-master-addr-by-name "$master" 2>/dev/null | head -n 1) || continue
		if [ -n "$a" ]; then
			primary=$a
			break
		fi
	done
	echo "sentinel-start ($me): new configuration, primary $primary" >&2
	umask 077
	cat >"$conf" <<CONF
port $sport
bind ${REDIS_BIND:-0.0.0.0}
protected-mode no
dir $dir
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $me
sentinel monitor $master $primary $port ${SENTINEL_QUORUM:-2}
sentinel auth-pass $master $(cat "${REDIS_PASSWORD_FILE:-/run/secrets/redis_password}")
sentinel down-after-milliseconds $master ${SENTINEL_DOWN_AFTER_MS:-5000}
sentinel failover-timeout $master ${SENTINEL_FAILOVER_TIMEOUT_MS:-60000}
sentinel parallel-syncs $master 1
CONF
fi
exec redis-server "$conf" --sentinel

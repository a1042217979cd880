#!/bin/sh
# Starts one Redis node of compose.ha.yaml as primary or replica, asking the
# Sentinels which node is the primary now.
#
# Redis runs without persistence, so a node that restarts comes back EMPTY.
# If that node was the primary and came back as primary before the
# Sentinels noticed it was gone, its replica would copy the empty data set
# and every conversation would be lost. So a node that the Sentinels still
# name as primary, while the other node holds data, waits until they have
# promoted the other node, then follows it as a replica.
#
# Environment: REDIS_NODE (this node's host name, e.g. redis-a), REDIS_PEER
# (the other node), REDIS_FIRST_PRIMARY (which node is primary on the very
# first start, when no Sentinel answers; default redis-a), REDIS_SENTINELS
# (host names, port 26379), REDIS_MASTER_NAME (default advicechat),
# REDIS_PASSWORD_FILE (default /run/secrets/redis_password), REDIS_PORT
# (default 6379), REDIS_BIND (default 0.0.0.0), REDIS_DIR (default /data).
set -eu

me=${REDIS_NODE:?set REDIS_NODE}
peer=${REDIS_PEER:?set REDIS_PEER}
first=${REDIS_FIRST_PRIMARY:-redis-a}
master=${REDIS_MASTER_NAME:-advicechat}
sentinels=${REDIS_SENTINELS:-sentinel-1 sentinel-2 sentinel-3}
port=${REDIS_PORT:-6379}
sport=${REDIS_SENTINEL_PORT:-26379}
bind=${REDIS_BIND:-0.0.0.0}
REDISCLI_AUTH=$(cat "${REDIS_PASSWORD_FILE:-/run/secrets/redis_password}")
export REDISCLI_AUTH

log() { echo "redis-start ($me): $*" >&2; }

# The primary's host as the first Sentinel that answers names it.
current_primary() {
	for s in $sentinels; do
		a=$(REDISCLI_AUTH= redis-cli -h "$s" -p "$sport" --raw sentinel get-master-addr-by-name "$master" 2>/dev/null | head -n 1) || continue
		if [ -n "$a" ]; then
			echo "$a"
			return 0
		fi
	done
	return 1
}

is_me() {
	[ "$1" = "$me" ] && return 0
	for ip in $(hostname -i 2>/dev/null); do
		[ "$1" = "$ip" ] && return 0
	done
	return 1
}

peer_keys() {
	redis-cli -h "$peer" -p "$port" --raw dbsize 2>/dev/null || echo 0
}

role=""
tries=0
while [ -z "$role" ]; do
	if p=$(current_primary); then
		if ! is_me "$p"; then
			role="replica"
			primary=$p
		elif [ "$(peer_keys)" -gt 0 ] 2>/dev/null; then
			# We were the primary and restarted empty; the peer has the data.
			log "Sentinels still name this node primary, but it restarted empty and $peer holds data: waiting for the failover to $peer"
			sleep 2
		else
			role="primary"
		fi
	else
		tries=$((tries + 1))
		if [ "$tries" -ge 5 ]; then
			# No Sentinel answers: the first start of the whole set.
			log "no Sentinel answers: first start, $first is primary"
			if [ "$me" = "$first" ]; then
				role="primary"
			else
				role="replica"
				primary=$first
			fi
		else
			sleep 1
		fi
	fi
done

set -- redis-server \
	--bind "$bind" --port "$port" \
	--save "" --appendonly no \
	--repl-diskless-sync yes --repl-diskless-load on-empty-db \
	--requirepass "$REDISCLI_AUTH" --masterauth "$REDISCLI_AUTH" \
	--replica-announce-ip "$me" \
	--dir "${REDIS_DIR:-/data}"
if [ "$role" = "replica" ]; then
	log "starting as replica of $primary"
	set -- "$@" --replicaof "$primary" "$port"
else
	log "starting as primary"
fi
exec "$@"

# The mirror of one volume, as the t6-mirror suites watch it: MVOL is
# that volume (POOL/VOL, default p/v).

mjq() { # JQ: a jq filter over the mirror's status
	ipstor mirror status "${MVOL:-p/v}" --json | jq -r ".mirrors[0] | $1"
}

# Wait (bounded, not timed) until every leg is in sync and no resync runs.
mirror_wait() {
	for _ in $(seq 1500); do
		[ "$(mjq '(.state == "in-sync") and (.resync.active | not)')" = true ] && return 0
		sleep 0.2
	done
	ipstor mirror status "${MVOL:-p/v}" >&2
	return 1
}

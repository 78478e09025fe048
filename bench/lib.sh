# bench/lib.sh - shared set-up of the benchmark scripts (sourced): a temp
# folder $dir with a manifest folder $dir/m, a free $port, and an EXIT trap
# that stops $daemon (SIGTERM), kills $reader, unmounts $dir/mnt and removes
# $dir.  The caller sets $build first.
dir=$(mktemp -d)
daemon=""
reader=""
cleanup() {
	[ -n "$reader" ] && kill "$reader" 2>/dev/null || true
	if [ -n "$daemon" ]; then
		kill -TERM "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	fusermount3 -uz "$dir/mnt" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/m"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# start_b [RESTART_JSON] INTERVAL_MS [STUB ARGS...]: a manifest for one stub
# runtime "b" (on $port, health checked every INTERVAL_MS), then launch_b.
R="$dir/mnt/runtimes/b"
wait_ready() { for _ in $(seq 2000); do [ "$(cat "$R/state" 2>/dev/null)" = ready ] && return 0; sleep 0.005; done; return 1; }
start_b() {
	local restart=$1 interval=$2 a args="" rj=""
	shift 2
	[ -n "$restart" ] && rj="\"restart\":$restart,"
	for a in --port "$port" "$@"; do args="$args${args:+,}\"$a\""; done
	cat >"$dir/m/b.json" <<JSON
{"id":"b","adapter":"process","auto_start":true,$rj
 "process":{"command":"$build/stub-llama","args":[$args],
  "health":{"url":"http://127.0.0.1:$port/health","interval_ms":$interval}}}
JSON
	launch_b
}

# launch_b: the daemon on $dir/m (which holds runtime b's manifest), as
# $daemon; returns once b is ready.
launch_b() {
	chmod 644 "$dir/m"/*.json
	"$build/arw-supervisor" -f --mount "$dir/mnt" --manifests "$dir/m" --state "$dir/state" 2>"$dir/log" &
	daemon=$!
	wait_ready || { echo "bench: runtime b never got ready; the daemon's log:" >&2; tail -n 20 "$dir/log" >&2; return 1; }
}

# build_stamp: bench/stamp.c into $dir/stamp, static where libc allows
build_stamp() {
	cc -O2 -static -o "$dir/stamp" "$(dirname "${BASH_SOURCE[0]}")/stamp.c" 2>/dev/null ||
		cc -O2 -o "$dir/stamp" "$(dirname "${BASH_SOURCE[0]}")/stamp.c"
}

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

#!/bin/bash
# The cost of reading each kind of file of the tree, next to a floor and
# two references measured in the same run, as ratios (absolute times vary a
# lot between machines; the FUSE round trip alone does):
#   - hello_ll: libfuse's minimal low-level filesystem, built from
#     /usr/share/doc/libfuse3-dev/examples/hello_ll.c (the floor of a FUSE read);
#   - a file on tmpfs (/dev/shm) and /proc/self/stat (no FUSE at all).
# Each row: open+read+close in a loop for SECONDS with 1, then 2 threads
# (bench/readbench.c).  Prints a Markdown table.
#   bench/reads.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
secs=${1:-2}
build=$(cd "${2:-$(dirname "$0")/../build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
hello_pid=""
cleanup_hello() {
	[ -n "$hello_pid" ] && kill "$hello_pid" 2>/dev/null
	fusermount3 -uz "$dir/hello" 2>/dev/null || true
	cleanup
}
trap cleanup_hello EXIT

cc -O2 -o "$dir/readbench" "$here/readbench.c" -lpthread
src=/usr/share/doc/libfuse3-dev/examples/hello_ll.c
[ -f "$src" ] || { echo "reads.sh: $src is missing (apt-get install libfuse3-dev)" >&2; exit 1; }
# shellcheck disable=SC2046
cc -O2 -o "$dir/hello_ll" "$src" $(pkg-config --cflags --libs fuse3)
mkdir -p "$dir/hello"
"$dir/hello_ll" -f "$dir/hello" 2>"$dir/hello.log" &
hello_pid=$!

start_b "" 5000 --load-ms 0
for _ in $(seq 2000); do [ -e "$dir/hello/hello" ] && break; sleep 0.005; done
head -c 5 /dev/urandom | od -An -tx1 >/dev/shm/arw-bench-$$
trap 'rm -f /dev/shm/arw-bench-$$; cleanup_hello' EXIT

files=("$dir/hello/hello" /dev/shm/arw-bench-$$ /proc/self/stat
	"$R/state" "$R/pid" "$R/status" "$R/budget" "$R/health.json" "$R/logs" "$R/ctl" "$R/manifest.json"
	"$dir/mnt/node" "$dir/mnt/README" "$dir/mnt/runtime_matrix.json" "$dir/mnt/metrics.prom"
	"$dir/mnt/accelerators.json")
"$dir/readbench" 1 2 "${files[@]}" >/dev/null   # warm-up (the first row ran slow without)
"$dir/readbench" "$secs" 1 "${files[@]}" >"$dir/r1"
"$dir/readbench" "$secs" 2 "${files[@]}" >"$dir/r2"

echo "## open+read+close, $(nproc) cores, $(uname -r), ${secs} s per row"
echo
echo "| file | bytes | 1 thread: µs/op | ops/s | x hello_ll | 2 threads: ops/s | x hello_ll |"
echo "|---|---|---|---|---|---|---|"
awk -v dir="$dir" -v shm="/dev/shm/arw-bench-$$" '
	FNR == NR { ops2[$1] = $2; next }
	{
		if (!base1) { base1 = $3; base2 = ops2[$1] }
		name = $1
		sub(dir "/mnt/runtimes/b/", "runtimes/<id>/", name)
		sub(dir "/mnt/", "", name)
		sub(dir "/hello/hello", "hello_ll: hello", name)
		sub(shm, "tmpfs file", name)
		printf "| %s | %d | %.1f | %.0f | %.2f | %.0f | %.2f |\n", name, $4, $3, $2, $3 / base1, ops2[$1], base2 / ops2[$1]
	}' "$dir/r2" "$dir/r1"
echo
echo "(x hello_ll: time per operation relative to hello_ll's in the same run; below 1 is faster)"

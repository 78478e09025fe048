#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer targets into build-fuzz/ and run each
# for a bounded time on a scratch copy of its seed corpus.
#
#   tests/fuzz/run.sh                     60 s per target
#   FUZZ_SECONDS=600 tests/fuzz/run.sh    10 min per target
#   FUZZ_TARGETS=fuzz_ctl tests/fuzz/run.sh   only some targets
#
# Prints one line per target; exits non-zero when a target crashed (or broke
# an invariant, leaked, timed out, ran out of memory).  Reproducers land in
# build-fuzz/crashes/, full logs in build-fuzz/logs/; replay one with
#   build-fuzz/fuzz_manifest build-fuzz/crashes/fuzz_manifest-crash-...
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TARGETS=${FUZZ_TARGETS:-fuzz_manifest fuzz_ctl}
CC=${FUZZ_CC:-clang}
out=build-fuzz

case $FUZZ_SECONDS in
'' | *[!0-9]* | 0) echo "run.sh: FUZZ_SECONDS must be a positive integer" >&2; exit 2 ;;
esac
command -v "$CC" >/dev/null || { echo "run.sh: $CC not found" >&2; exit 2; }
rt=$("$CC" -print-file-name=libclang_rt.fuzzer-x86_64.a)
if [[ $rt != /* || ! -e $rt ]]; then
	echo "run.sh: libFuzzer runtime missing (apt-get install -y libclang-rt-14-dev)" >&2
	exit 2
fi
pkg-config --exists libcjson || { echo "run.sh: libcjson not found by pkg-config" >&2; exit 2; }

CFLAGS=(-std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-Wall -Wextra -Icore -Isupervisor -Ifs)
read -r -a cjson_cflags <<<"$(pkg-config --cflags libcjson)"
read -r -a cjson_libs <<<"$(pkg-config --libs libcjson)"
SRC=(core/manifest.c core/spec.c core/jsonpos.c core/jsontext.c core/utf8.c core/ctl.c)

mkdir -p "$out/crashes" "$out/logs"
for t in $FUZZ_TARGETS; do
	"$CC" "${CFLAGS[@]}" "${cjson_cflags[@]}" -o "$out/$t" "tests/fuzz/$t.c" \
		"${SRC[@]}" "${cjson_libs[@]}" -lpthread
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/arw-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in $FUZZ_TARGETS; do
	name=${t#fuzz_}
	corpus=$tmp/$name
	log=$out/logs/$t.log
	mkdir -p "$corpus"
	if [[ -d tests/fuzz/corpus/$name ]]; then
		cp -R "tests/fuzz/corpus/$name/." "$corpus/"
	fi
	opts=(-max_total_time="$FUZZ_SECONDS" -timeout=30 -print_final_stats=1
	      -artifact_prefix="$out/crashes/$t-")
	[[ -f tests/fuzz/$name.dict ]] && opts+=(-dict="tests/fuzz/$name.dict")

	rc=0
	"$out/$t" "${opts[@]}" "$corpus" >"$log" 2>&1 || rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	if ((rc == 0)); then
		printf '%-14s OK     %ss runs=%s cov=%s ft=%s corpus=%s log=%s\n' \
			"$t" "$FUZZ_SECONDS" "${runs:-?}" "${cov:-?}" "${ft:-?}" \
			"${corp:-?}" "$log"
	else
		failed=1
		why=$(grep -m1 -E '^(SUMMARY: |==[0-9]+== ?ERROR: )' "$log" || true)
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		printf '%-14s FAILED rc=%s runs=%s %s artifact=%s log=%s\n' \
			"$t" "$rc" "${runs:-?}" "${why:-(see log)}" "${art:-none}" "$log"
	fi
done
exit "$failed"

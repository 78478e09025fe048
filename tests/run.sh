#!/bin/bash
# Run the test suites and print one closing line "total: N passed, N failed".
#   tests/run.sh unit|integration|all BUILD_DIR
# Unit tests count their checks; each integration script counts as one test
# per case it reports ("ok - ..." / "not ok - ..." lines).
set -u
what=${1:-all}
build=${2:-build}
cd "$(dirname "$0")/.."
export ARW_BUILD="$PWD/$build"
passed=0
failed=0
failures=()

run_unit() {
	local t out p f
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
		local rc=$?
		printf '%s\n' "$out" | tail -n 20
		p=$(printf '%s\n' "$out" | sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -n1)
		f=$(printf '%s\n' "$out" | sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -n1)
		if [ -z "$p" ]; then
			# crashed before its summary
			failed=$((failed + 1))
			failures+=("$(basename "$t") (no summary, exit $rc)")
			continue
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			failed=$((failed + 1))
			failures+=("$(basename "$t") (exit $rc)")
		fi
		[ "$f" -gt 0 ] && failures+=("$(basename "$t") ($f failed)")
	done
}

run_integration() {
	local t log ok nok rc list=("$@")
	[ ${#list[@]} -gt 0 ] || list=(tests/integration/test_*.sh)
	for t in "${list[@]}"; do
		[ -f "$t" ] || continue
		log=$(mktemp)
		echo "== $t"
		timeout "${ARW_TEST_TIMEOUT:-300}" bash "$t" >"$log" 2>&1
		rc=$?
		ok=$(grep -c '^ok - ' "$log")
		nok=$(grep -c '^not ok - ' "$log")
		grep -E '^(ok|not ok) - ' "$log"
		if [ "$rc" -ne 0 ] || [ "$nok" -gt 0 ]; then
			echo "-- $t failed (exit $rc); its output:"
			tail -n 60 "$log"
			[ "$nok" -eq 0 ] && nok=1
			failures+=("$t")
		fi
		passed=$((passed + ok))
		failed=$((failed + nok))
		rm -f "$log"
	done
}

case "$what" in
unit) run_unit ;;
integration) run_integration ;;
stress) ARW_TEST_TIMEOUT=1800 run_integration tests/integration/test_kill9.sh ;;
all) run_unit; run_integration ;;
*) echo "usage: $0 unit|integration|all|stress [BUILD_DIR]" >&2; exit 2 ;;
esac

for f in "${failures[@]+"${failures[@]}"}"; do
	echo "FAILED: $f"
done
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

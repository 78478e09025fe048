#!/bin/bash
# The layers, checked on the sources.  core/ holds the types, the pure
# logic and the shared registries, and includes only core/; fs/ (the FUSE
# side) reads published views and hands commands to the queue, so it
# includes only fs/ and core/; supervisor/ (the loop, the runtimes, the
# process mechanisms) may include all.  The process mechanisms include none
# of the loop's headers either; the life-cycle table is pure; and no header
# includes itself through others (no cycle).
. "$(dirname "$0")/lib.sh"

cd "$REPO" || exit 1
LOOP_HEADERS='sup\.h|rt\.h|loop\.h'

# Each project include of a file in $1.. that is not found in the folders $ALLOWED.
outside() {
	local f h d found
	for f in "$@"; do
		for h in $(grep -oh '#include "[^"]*"' "$f" | sed 's/#include "//; s/"$//'); do
			found=""
			for d in $ALLOWED; do
				[ -f "$d/$h" ] && found=1
			done
			[ -n "$found" ] || printf '%s -> %s ' "$f" "$h"
		done
	done
}

ALLOWED="core"
check_eq "core/ includes only core/" "" "$(outside core/*.c core/*.h)"
ALLOWED="core fs"
check_eq "fs/ includes only fs/ and core/" "" "$(outside fs/*.c fs/*.h)"
check_eq "there is a core/ with the shared types in it" "core/fsm.h core/registry.h core/view.h" \
	"$(ls core/view.h core/registry.h core/fsm.h 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"

bad=""
for m in supervisor/cgroup supervisor/spawn supervisor/persist; do
	for f in "$m.c" "$m.h"; do
		[ -f "$f" ] && grep -qE "#include \"($LOOP_HEADERS)\"" "$f" && bad="$bad $f"
	done
done
check_eq "the process mechanisms include none of the loop's headers" "" "$bad"

# The life-cycle table is pure: its own header only, no clock, no fd.
bad=$(grep -E '#include "' core/fsm.c core/fsm.h | grep -v '"fsm\.h"' | tr '\n' ' ')
check_eq "fsm.c includes no header of the project but its own" "" "$bad"
bad=$(grep -nE '\b(mono_ms|now_ms|clock_gettime|time|open|read|write|close|kill|log_[a-z]+)\(' \
	core/fsm.c | tr '\n' ' ')
check_eq "fsm.c reads no clock and touches no fd or process" "" "$bad"

# header -> header include graph; a depth-first search for a cycle
cycle=$(python3 - core supervisor fs <<'PY'
import os, re, sys
inc = {}
for d in sys.argv[1:]:
    for f in os.listdir(d):
        if f.endswith(".h"):
            txt = open(os.path.join(d, f)).read()
            inc[f] = [h for h in re.findall(r'#include "([^"]+\.h)"', txt)]
state, path = {}, []
def dfs(h):
    state[h] = 1
    path.append(h)
    for n in inc.get(h, []):
        if n not in inc:
            continue
        if state.get(n) == 1:
            return path[path.index(n):] + [n]
        if not state.get(n):
            c = dfs(n)
            if c:
                return c
    path.pop()
    state[h] = 2
    return None
for h in sorted(inc):
    if not state.get(h):
        c = dfs(h)
        if c:
            print(" -> ".join(c))
            break
PY
)
check_eq "no header includes itself through others" "" "$cycle"

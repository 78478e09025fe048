#!/bin/bash
# The layers, checked on the sources: fs/ reads published views and hands
# commands to the queue, so it includes none of the loop's headers (sup.h,
# rt.h, loop.h); the shared core and the process mechanisms include none
# either; the life-cycle table is pure; and no header includes itself
# through others (no cycle).
. "$(dirname "$0")/lib.sh"

cd "$REPO" || exit 1
LOOP_HEADERS='sup\.h|rt\.h|loop\.h'
CORE="supervisor/view supervisor/registry supervisor/cmdq supervisor/events supervisor/log
	supervisor/logring supervisor/budget supervisor/manifest supervisor/jsontext
	supervisor/jsonpos supervisor/utf8 supervisor/procscan supervisor/cgroup supervisor/spawn
	supervisor/persist supervisor/fsm"

bad=$(grep -lE "#include \"($LOOP_HEADERS)\"" fs/*.c fs/*.h 2>/dev/null | tr '\n' ' ')
check_eq "fs/ includes none of the loop's headers" "" "$bad"

bad=""
for m in $CORE; do
	for f in "$m.c" "$m.h"; do
		[ -f "$f" ] && grep -qE "#include \"($LOOP_HEADERS)\"" "$f" && bad="$bad $f"
	done
done
check_eq "the core and the process mechanisms include none of the loop's headers" "" "$bad"

# The life-cycle table is pure: its own header only, no clock, no fd.
bad=$(grep -E '#include "' supervisor/fsm.c supervisor/fsm.h | grep -v '"fsm\.h"' | tr '\n' ' ')
check_eq "fsm.c includes no header of the project but its own" "" "$bad"
bad=$(grep -nE '\b(mono_ms|now_ms|clock_gettime|time|open|read|write|close|kill|log_[a-z]+)\(' \
	supervisor/fsm.c | tr '\n' ' ')
check_eq "fsm.c reads no clock and touches no fd or process" "" "$bad"

# header -> header include graph; a depth-first search for a cycle
cycle=$(python3 - supervisor fs <<'PY'
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

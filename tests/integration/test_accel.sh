#!/bin/bash
# accelerators.json: the real inventory of this machine (no GPU here) agrees
# with /proc/cpuinfo and nproc; a fake root folder (--accel-root) describes
# a machine with two NVIDIA GPUs and one AMD GPU; an NPU that appears under
# /dev is seen at once (inotify) and one that goes is gone; a change that
# /dev does not show is read on `reload`.  Every version matches
# docs/schemas/accelerators.schema.json, and metrics.prom counts them.
. "$(dirname "$0")/lib.sh"

PY=""
for p in /usr/bin/python3 python3; do
	"$p" -c 'import jsonschema' 2>/dev/null && { PY=$p; break; }
done
schema_ok() {   # FILE
	[ -n "$PY" ] || { echo "no python3-jsonschema"; return 1; }
	"$PY" "$(dirname "$0")/py/validate.py" "$REPO/docs/schemas/accelerators.schema.json" "$1"
}
acc() { rf "$MNT/accelerators.json"; }

# -- the real machine
mount_tree
acc >"$T/real.json"
check_eq "threads = nproc" "$(nproc --all)" "$(jq .cpu.threads "$T/real.json")"
check_eq "model = /proc/cpuinfo's model name" \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(jq -r .cpu.model "$T/real.json")"
for f in avx avx2 avx512f fma f16c; do
	if grep -qw "$f" /proc/cpuinfo; then want=yes; else want=no; fi
	check_eq "flag $f as in /proc/cpuinfo" "$want" \
		"$(jq -r --arg f "$f" 'if (.cpu.flags | index($f)) then "yes" else "no" end' "$T/real.json")"
done
check_eq "memory total as in /proc/meminfo" \
	"$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) * 1024 ))" "$(jq .memory.total_bytes "$T/real.json")"
check_eq "no GPU here: only the CPU is available" '["cpu"]' "$(jq -c .available "$T/real.json")"
check_match "it matches its schema" '^valid ' "$(schema_ok "$T/real.json")"
stop_daemon 30

# -- a fake machine
R=$T/fake
mkdir -p "$R/proc/driver/nvidia/gpus/0000:01:00.0" "$R/proc/driver/nvidia/gpus/0000:41:00.0" \
	"$R/dev/dri" "$R/sys/class/drm/card2/device/drm/renderD130" "$R/sys/class/accel/accel0/device" \
	"$R/sys/bus/pci/drivers/amdgpu" "$R/sys/bus/pci/drivers/intel_vpu"
cp /proc/cpuinfo "$R/proc/cpuinfo"
printf 'MemTotal:       1024 kB\nMemAvailable:    512 kB\n' >"$R/proc/meminfo"
printf 'Model: \t\t NVIDIA A100-SXM4-80GB\nIRQ:   34\n' >"$R/proc/driver/nvidia/gpus/0000:01:00.0/information"
printf 'Model: \t\t NVIDIA H100 PCIe\nIRQ:   35\n' >"$R/proc/driver/nvidia/gpus/0000:41:00.0/information"
: >"$R/dev/nvidia0"; : >"$R/dev/nvidia1"; : >"$R/dev/nvidiactl"
echo 0x1002 >"$R/sys/class/drm/card2/device/vendor"
echo 0x744c >"$R/sys/class/drm/card2/device/device"
echo 25753026560 >"$R/sys/class/drm/card2/device/mem_info_vram_total"
ln -s ../../../../bus/pci/drivers/amdgpu "$R/sys/class/drm/card2/device/driver"
ln -s ../../../../bus/pci/drivers/intel_vpu "$R/sys/class/accel/accel0/device/driver"

start_daemon --accel-root "$R" || { not_ok "supervisor mounts the tree (fake root)"; exit 1; }
acc >"$T/fake1.json"
check_eq "fake: two NVIDIA GPUs by bus order, one AMD" \
	'["NVIDIA A100-SXM4-80GB","/dev/nvidia0"] ["NVIDIA H100 PCIe","/dev/nvidia1"] ["AMD GPU 0x744c","/dev/dri/renderD130"]' \
	"$(jq -c '.gpus[] | [.name, .device]' "$T/fake1.json" | tr '\n' ' ' | sed 's/ $//')"
check_eq "fake: NVIDIA satisfies gpu_cuda and gpu_vulkan" '["gpu_cuda","gpu_vulkan"]' \
	"$(jq -c '.gpus[0].satisfies' "$T/fake1.json")"
check_eq "fake: AMD without /dev/kfd: Vulkan only, its driver and VRAM" '["gpu_vulkan"] "amdgpu" 25753026560' \
	"$(jq -c '.gpus[2].satisfies' "$T/fake1.json") $(jq -c '.gpus[2].driver' "$T/fake1.json") $(jq '.gpus[2].vram_bytes' "$T/fake1.json")"
check_eq "fake: no NPU yet" 0 "$(jq '.npus | length' "$T/fake1.json")"
check_match "fake: it matches its schema" '^valid ' "$(schema_ok "$T/fake1.json")"
check_eq "metrics: two CUDA GPUs, three Vulkan" "2 3" \
	"$(sed -n 's/^arw_accelerators{kind="gpu_cuda"} //p' "$MNT/metrics.prom") $(sed -n 's/^arw_accelerators{kind="gpu_vulkan"} //p' "$MNT/metrics.prom")"

# an NPU node appears: inotify on /dev, no reload
mkdir -p "$R/dev/accel"
: >"$R/dev/accel/accel0"
if wait_for "[ \"\$(rf '$MNT/accelerators.json' | jq '.npus | length')\" = 1 ]" 10; then
	ok "an NPU that appears under /dev is seen without a reload"
else
	not_ok "an NPU that appears under /dev is seen without a reload"
fi
check_eq "its driver, from sysfs" '"intel_vpu" ["npu"]' \
	"$(acc | jq -c '.npus[0].driver') $(acc | jq -c '.npus[0].satisfies')"
check_eq "npu is available now" true "$(acc | jq '.available | index("npu") != null')"
rm -f "$R/dev/nvidia1"
if wait_for "[ \"\$(rf '$MNT/accelerators.json' | jq '[.gpus[] | select(.device == \"/dev/nvidia1\")] | length')\" = 0 ]" 10; then
	ok "a device node that goes is gone from the inventory"
else
	not_ok "a device node that goes is gone from the inventory"
fi
# ROCm needs /dev/kfd; sysfs changes are not watched: reload reads them
: >"$R/dev/kfd"
wait_for "rf '$MNT/accelerators.json' | jq -e '.gpus[] | select(.vendor == \"amd\") | .satisfies | index(\"gpu_rocm\")' >/dev/null" 10
check_eq "AMD with /dev/kfd: gpu_rocm" true \
	"$(acc | jq '[.gpus[] | select(.vendor == "amd") | .satisfies | index("gpu_rocm") != null] | .[0]')"
echo 0x8086 >"$R/sys/class/drm/card2/device/vendor"
check_eq "a sysfs change alone is not seen" amd "$(acc | jq -r '.gpus[-1].vendor')"
check_eq "reload" ok "$(ctl_write "$MNT/ctl" reload)"
check_eq "reload reads it: the card is Intel now" intel "$(acc | jq -r '.gpus[-1].vendor')"
acc >"$T/fake2.json"
check_match "after the changes it still matches its schema" '^valid ' "$(schema_ok "$T/fake2.json")"
check "the log names the inventory" "grep -q 'accelerators (start-up, root $R)' '$DLOG'"

# the check can fail
jq '.gpus[0].satisfies = ["cuda"]' "$T/fake2.json" >"$T/broken.json"
check_match "an unknown accelerator value is refused by the schema" '^invalid ' "$(schema_ok "$T/broken.json")"
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"

/*
 * inventory.c - the node's accelerators (see accel.h), read from a root
 * folder: "/" or a fake tree (--accel-root, ARW_ACCEL_ROOT) that describes
 * another machine.  Read at start-up, again on `reload`, and whenever /dev
 * (or /dev/dri, /dev/accel) gains or loses an entry: inotify, never a
 * timer.  Loop thread.
 */
#include "inventory.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel.h"
#include "log.h"
#include "loop.h"
#include "registry.h"
#include "sup.h"

static struct inventory inv;
static char root[256] = "/";
static int ifd = -1;

/* root + rel, with one '/' between */
static void at(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/", rel);
}

/* The text of root/rel (at most 256 KiB), or NULL. */
static char *slurp(const char *rel)
{
	char path[PATH_MAX], *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	at(path, sizeof(path), rel);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	buf = malloc(262144 + 1);
	while (buf && len < 262144 && (n = read(fd, buf + len, 262144 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static bool exists(const char *rel)
{
	char path[PATH_MAX];

	at(path, sizeof(path), rel);
	return access(path, F_OK) == 0;
}

/* The names in root/rel that start with prefix and go on with a number,
 * sorted by that number; how many (at most max). */
static int numbered(const char *rel, const char *prefix, int *nums, int max)
{
	char path[PATH_MAX];
	struct dirent *e;
	size_t pl = strlen(prefix);
	int n = 0, i, j;
	DIR *d;

	at(path, sizeof(path), rel);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)) && n < max) {
		char *end;
		long v;

		if (strncmp(e->d_name, prefix, pl) != 0 || !e->d_name[pl])
			continue;
		v = strtol(e->d_name + pl, &end, 10);
		if (*end || v < 0 || v > 100000)
			continue;
		nums[n++] = (int)v;
	}
	closedir(d);
	for (i = 1; i < n; i++)   /* a few entries: insertion sort */
		for (j = i; j > 0 && nums[j - 1] > nums[j]; j--) {
			int t = nums[j];

			nums[j] = nums[j - 1];
			nums[j - 1] = t;
		}
	return n;
}

/* The driver's name of a sysfs device folder (its "driver" link). */
static void driver_of(const char *rel_dev, char *out, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX], *slash;
	ssize_t n;

	out[0] = '\0';
	at(path, sizeof(path), rel_dev);
	strncat(path, "/driver", sizeof(path) - strlen(path) - 1);
	if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
		return;
	link[n] = '\0';
	slash = strrchr(link, '/');
	snprintf(out, len, "%s", slash ? slash + 1 : link);
}

static struct accel_dev *new_dev(struct inventory *v)
{
	struct accel_dev *d;

	if (v->ndev >= ACCEL_MAX_DEVS)
		return NULL;
	d = &v->dev[v->ndev++];
	memset(d, 0, sizeof(*d));
	return d;
}

/* NVIDIA: the driver's /proc entries and the /dev/nvidiaN nodes. */
static int scan_nvidia(struct inventory *v)
{
	char rel[PATH_MAX], *gpus_dir = "proc/driver/nvidia/gpus", *text;
	struct dirent *e;
	char names[ACCEL_MAX_DEVS][128];
	int nodes[ACCEL_MAX_DEVS], nn, ni = 0, i, n;
	DIR *d;

	at(rel, sizeof(rel), gpus_dir);
	if ((d = opendir(rel))) {
		char bus[ACCEL_MAX_DEVS][64];
		int j;

		while ((e = readdir(d)) && ni < ACCEL_MAX_DEVS)
			if (e->d_name[0] != '.')
				snprintf(bus[ni++], sizeof(bus[0]), "%s", e->d_name);
		closedir(d);
		for (i = 1; i < ni; i++)   /* by bus id */
			for (j = i; j > 0 && strcmp(bus[j - 1], bus[j]) > 0; j--) {
				char t[64];

				memcpy(t, bus[j], sizeof(t));
				memcpy(bus[j], bus[j - 1], sizeof(t));
				memcpy(bus[j - 1], t, sizeof(t));
			}
		for (i = 0; i < ni; i++) {
			snprintf(rel, sizeof(rel), "%s/%s/information", gpus_dir, bus[i]);
			text = slurp(rel);
			accel_parse_nvidia_info(text ? text : "", names[i], sizeof(names[i]));
			free(text);
		}
	}
	nn = numbered("dev", "nvidia", nodes, ACCEL_MAX_DEVS);
	n = ni > nn ? ni : nn;
	for (i = 0; i < n; i++) {
		struct accel_dev *g = new_dev(v);

		if (!g)
			break;
		snprintf(g->vendor, sizeof(g->vendor), "nvidia");
		snprintf(g->name, sizeof(g->name), "%s", i < ni ? names[i] : "NVIDIA GPU");
		if (i < nn)
			snprintf(g->node, sizeof(g->node), "/dev/nvidia%d", nodes[i]);
		snprintf(g->driver, sizeof(g->driver), "nvidia");
		/* CUDA needs NVIDIA's driver: its /proc entries say it is loaded */
		g->satisfies = (ni ? 1u << ACCEL_GPU_CUDA : 0) | 1u << ACCEL_GPU_VULKAN;
	}
	return n;
}

/* The render node of a DRM card (card/device/drm/renderDN), "" if none. */
static void render_node(int card, char *out, size_t len)
{
	char rel[PATH_MAX];
	int nums[8];

	out[0] = '\0';
	snprintf(rel, sizeof(rel), "sys/class/drm/card%d/device/drm", card);
	if (numbered(rel, "renderD", nums, 8) > 0)
		snprintf(out, len, "/dev/dri/renderD%d", nums[0]);
}

/* AMD and Intel (and NVIDIA without its driver): the DRM cards in sysfs. */
static void scan_drm(struct inventory *v, bool nvidia_seen)
{
	int cards[ACCEL_MAX_DEVS], n = numbered("sys/class/drm", "card", cards, ACCEL_MAX_DEVS), i;

	for (i = 0; i < n; i++) {
		char rel[PATH_MAX], *vendor, *device, *vram;
		struct accel_dev *g;

		snprintf(rel, sizeof(rel), "sys/class/drm/card%d/device/vendor", cards[i]);
		if (!(vendor = slurp(rel)))
			continue;
		if (strncmp(vendor, "0x10de", 6) == 0 && nvidia_seen) {
			free(vendor);
			continue;
		}
		snprintf(rel, sizeof(rel), "sys/class/drm/card%d/device/device", cards[i]);
		device = slurp(rel);
		if (device)
			device[strcspn(device, "\n")] = '\0';
		if ((g = new_dev(v))) {
			bool amd = strncmp(vendor, "0x1002", 6) == 0, intel = strncmp(vendor, "0x8086", 6) == 0;
			bool nv = strncmp(vendor, "0x10de", 6) == 0;

			snprintf(g->vendor, sizeof(g->vendor), "%s",
				 amd ? "amd" : intel ? "intel" : nv ? "nvidia" : "other");
			snprintf(g->name, sizeof(g->name), "%s GPU %s",
				 amd ? "AMD" : intel ? "Intel" : nv ? "NVIDIA" : "Other", device ? device : "");
			render_node(cards[i], g->node, sizeof(g->node));
			snprintf(rel, sizeof(rel), "sys/class/drm/card%d/device", cards[i]);
			driver_of(rel, g->driver, sizeof(g->driver));
			snprintf(rel, sizeof(rel), "sys/class/drm/card%d/device/mem_info_vram_total", cards[i]);
			if ((vram = slurp(rel))) {
				g->vram_bytes = strtoull(vram, NULL, 10);
				free(vram);
			}
			g->satisfies = 1u << ACCEL_GPU_VULKAN;
			if (amd && exists("dev/kfd"))
				g->satisfies |= 1u << ACCEL_GPU_ROCM;
		}
		free(vendor);
		free(device);
	}
}

/* NPUs: the compute accelerator nodes /dev/accel/accelN. */
static void scan_npus(struct inventory *v)
{
	int nums[ACCEL_MAX_DEVS], n = numbered("dev/accel", "accel", nums, ACCEL_MAX_DEVS), i;

	for (i = 0; i < n; i++) {
		struct accel_dev *d = new_dev(v);
		char rel[PATH_MAX];

		if (!d)
			break;
		d->npu = true;
		snprintf(d->node, sizeof(d->node), "/dev/accel/accel%d", nums[i]);
		snprintf(rel, sizeof(rel), "sys/class/accel/accel%d/device", nums[i]);
		driver_of(rel, d->driver, sizeof(d->driver));
		snprintf(d->name, sizeof(d->name), "%s", d->driver[0] ? d->driver : "NPU");
		d->satisfies = 1u << ACCEL_NPU;
	}
}

static void scan(struct inventory *v)
{
	char *text;

	memset(v, 0, sizeof(*v));
	snprintf(v->root, sizeof(v->root), "%s", root);
	v->scanned_at = now_ms();
	if ((text = slurp("proc/cpuinfo"))) {
		accel_parse_cpuinfo(text, &v->cpu);
		free(text);
	}
	if ((text = slurp("proc/meminfo"))) {
		accel_parse_meminfo(text, &v->mem_total, &v->mem_available);
		free(text);
	}
	scan_drm(v, scan_nvidia(v) > 0);
	scan_npus(v);
}

/* Watch /dev and its device folders of these kinds (again after a scan:
 * dri/ or accel/ may have appeared). */
static void watch_dev(void)
{
	static const char *const dirs[] = { "dev", "dev/dri", "dev/accel" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; ifd >= 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		at(path, sizeof(path), dirs[i]);
		inotify_add_watch(ifd, path, IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);
	}
}

/* One line for the log: "cpu (2 threads), gpu_cuda x2, npu x1". */
static void describe(const struct inventory *v, char *out, size_t len)
{
	size_t k = (size_t)snprintf(out, len, "cpu (%d threads)", v->cpu.threads);
	int a;

	for (a = ACCEL_CPU + 1; a < ACCEL_COUNT && k < len; a++)
		if (accel_count(v, (enum accel)a))
			k += (size_t)snprintf(out + k, len - k, ", %s x%d", accel_name((enum accel)a),
					      accel_count(v, (enum accel)a));
}

void inv_rescan(const char *why)
{
	static char last[512];
	static int last_counts[ACCEL_COUNT];
	char now_desc[512];
	int counts[ACCEL_COUNT], a;
	struct snap *s;
	size_t len;
	char *txt;

	scan(&inv);
	watch_dev();
	describe(&inv, now_desc, sizeof(now_desc));
	if (strcmp(now_desc, last) != 0) {
		log_info("accelerators (%s, root %s): %s", why, root, now_desc);
		snprintf(last, sizeof(last), "%s", now_desc);
	}
	for (a = 0; a < ACCEL_COUNT; a++)
		counts[a] = accel_count(&inv, (enum accel)a);
	reg_accel_set(counts);
	/* placement depends on what is available, nothing else: the runtimes
	 * hear of a change only (most /dev events are other devices) */
	if (memcmp(counts, last_counts, sizeof(counts)) != 0) {
		memcpy(last_counts, counts, sizeof(counts));
		rt_on_accelerators();
	}
	if (!(txt = accel_json(&inv, &len)))
		return;
	s = snap_new(txt, len, now_ms());
	free(txt);
	if (s)
		reg_top_set(TOP_ACCEL, s);
}

static void on_dev(void *ctx, uint32_t events)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)ctx;
	(void)events;
	while (read(ifd, buf, sizeof(buf)) > 0)
		;
	inv_rescan("a device node came or went");
}

void inv_load(const char *dir)
{
	if (dir && *dir)
		snprintf(root, sizeof(root), "%s", dir);
	scan(&inv);
}

int inv_init(const char *dir)
{
	if (dir && *dir)
		snprintf(root, sizeof(root), "%s", dir);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0 && loop_watch(ifd, EPOLLIN, on_dev, NULL) < 0) {
		close(ifd);
		ifd = -1;
	}
	inv_rescan("start-up");
	return 0;
}

const struct inventory *inv_get(void)
{
	return &inv;
}

void inv_fini(void)
{
	if (ifd >= 0) {
		loop_unwatch(ifd);
		close(ifd);
		ifd = -1;
	}
}

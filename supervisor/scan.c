/*
 * scan.c - the watched manifest folder.  Loop thread only.
 *
 * inotify reports a finished write (IN_CLOSE_WRITE), a rename into the
 * folder (IN_MOVED_TO: an editor's atomic save is one change), a removal
 * (IN_DELETE, IN_MOVED_FROM), a new symlink (IN_CREATE).  Each changed file
 * is parsed whole; a file with any error changes nothing that runs, and
 * manifests/<file> says why.  A good file is diffed against its last good
 * version: new ids start (if auto_start), changed ids are updated
 * (restarted only when launch fields changed), vanished ids stop and go.
 *
 * Deployments lay manifests out as symlinks: a Kubernetes ConfigMap mount
 * has `x.json -> ..data/x.json` and `..data -> ..<timestamp>`, and an update
 * swaps `..data` by a rename.  So a change of `..data`, and any change in a
 * folder that holds the target of a symlinked manifest (watched too), makes
 * every file be read again; files whose bytes did not change are left alone.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "notify.h"
#include "sup.h"

static struct mfile *mfile_find(const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < sup.nmfiles; i++) {
		if (strcmp(sup.mfiles[i]->name, name) == 0) {
			if (idx)
				*idx = i;
			return sup.mfiles[i];
		}
	}
	return NULL;
}

static struct mfile *mfile_get(const char *name)
{
	struct mfile *m = mfile_find(name, NULL), **nm;

	if (m)
		return m;
	m = calloc(1, sizeof(*m));
	nm = realloc(sup.mfiles, (sup.nmfiles + 1) * sizeof(*nm));
	if (!m || !nm) {
		free(m);
		if (nm)
			sup.mfiles = nm;
		return NULL;
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	sup.mfiles = nm;
	sup.mfiles[sup.nmfiles++] = m;
	return m;
}

static void specs_free(struct rt_spec **specs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rt_spec_free(specs[i]);
	free(specs);
}

static void publish_file(const char *name, const char *text)
{
	uint32_t idx;
	struct snap *s, *old;

	/* same text: keep the snapshot, and with it the mtime */
	if (reg_mf_lookup(name, &idx) == 0 && (old = reg_mf_get(idx, NULL, 0))) {
		bool same = old->len == strlen(text) && memcmp(old->data, text, old->len) == 0;

		snap_unref(old);
		if (same)
			return;
	}
	s = snap_new(text, strlen(text), now_ms());
	if (!s)
		return;
	if (reg_mf_set(name, s, &idx)) {
		reg_dir_touch(TOP_MANIFESTS, now_ms());
		fs_inval_attr(TOP_MANIFESTS);
		notify_created(TOP_MANIFESTS, name, INO_MF_BASE + idx, false);
	} else {
		char rel[300];

		snprintf(rel, sizeof(rel), "manifests/%s", name);
		notify_changed(INO_MF_BASE + idx, rel);
	}
}

/* An id that another file already defines is an error in this one.  The
 * positions are copied first: manifest_add_error frees the specs. */
static void check_foreign_ids(const char *name, struct manifest_result *res)
{
	struct dup { char id[RT_ID_MAX + 1]; unsigned line, col; char other[256]; } *d;
	size_t i, nd = 0;

	if (!res->nspecs)
		return;
	d = calloc(res->nspecs, sizeof(*d));
	if (!d)
		return;
	for (i = 0; i < res->nspecs; i++) {
		struct runtime *rt = rt_find(res->specs[i]->id);

		if (!rt || rt->removing || strcmp(rt->source, name) == 0)
			continue;
		snprintf(d[nd].id, sizeof(d[nd].id), "%s", res->specs[i]->id);
		d[nd].line = res->specs[i]->id_line;
		d[nd].col = res->specs[i]->id_col;
		snprintf(d[nd].other, sizeof(d[nd].other), "%s", rt->source);
		nd++;
	}
	for (i = 0; i < nd; i++)
		manifest_add_error(res, name, d[i].line, d[i].col,
				   "duplicate id \"%s\" (already defined in %s)", d[i].id, d[i].other);
	free(d);
}

/* FNV-1a, to tell an unchanged file from a changed one on a rescan. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* A name that is a symlink to nothing (or a loop): an error, not a gone
 * file.  True when it said so. */
static bool dangling(const char *path, const char *name, int open_errno,
		     struct manifest_result *res, uint64_t *sig)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
		return false;
	n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	*sig = fnv(fnv(0xcbf29ce484222325ULL, target, strlen(target)), &open_errno, sizeof(open_errno));
	if (open_errno == ELOOP)
		manifest_add_error(res, name, 1, 1, "symlink loop (-> %s)", target);
	else
		manifest_add_error(res, name, 1, 1, "dangling symlink: its target %s does not exist", target);
	return true;
}

/* Why a manifest with this mode and owner must not run, or NULL. */
static const char *unsafe_owner(const struct stat *st, char *why, size_t len)
{
	if (st->st_mode & 022) {
		snprintf(why, len, "the file is %s-writable (mode %04o)",
			 (st->st_mode & 002) ? "world" : "group", (unsigned)(st->st_mode & 07777));
		return why;
	}
	if (st->st_uid != 0 && st->st_uid != sup.uid) {
		snprintf(why, len, "the file is owned by uid %u, not by root or the supervisor's user",
			 (unsigned)st->st_uid);
		return why;
	}
	return NULL;
}

/* Read an open regular file of st->st_size bytes into *buf (NUL-ended):
 * 0, or an error message for the file. */
static const char *read_all(int fd, const struct stat *st, char **buf, size_t *len)
{
	ssize_t n;

	*len = 0;
	*buf = malloc((size_t)st->st_size + 1);
	if (!*buf)
		return "out of memory";
	while (*len <= (size_t)st->st_size) {
		n = read(fd, *buf + *len, (size_t)st->st_size + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	if (*len > (size_t)st->st_size) {
		/* grew while we read: a writer is busy; its close brings us back */
		free(*buf);
		*buf = NULL;
		return "file changed while being read";
	}
	(*buf)[*len] = '\0';
	return NULL;
}

/* A manifest that must not run is refused, and says what it would run. */
static void reject_unsafe(const char *name, const char *perm, struct manifest_result *res)
{
	char cmd[512] = "";
	size_t i, k;

	if (!res->nspecs) {
		manifest_add_error(res, name, 1, 1, "rejected: %s", perm);
		return;
	}
	k = (size_t)snprintf(cmd, sizeof(cmd), "%s", res->specs[0]->command);
	for (i = 0; i < res->specs[0]->nargs && k < sizeof(cmd); i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, " %s", res->specs[0]->args[i]);
	manifest_add_error(res, name, 1, 1, "rejected: %s; it would run: %s (chmod go-w, chown root)",
			   perm, cmd);
}

/* Read and check one file: parse errors, permissions, cross-file ids.
 * *sig identifies what was read (bytes, mode, owner). */
static void load_file(const char *name, struct manifest_result *res, bool *gone, uint64_t *sig)
{
	char path[PATH_MAX], *buf = NULL, why[200];
	const char *perm, *err;
	struct stat st;
	size_t len = 0;
	int fd;

	*gone = false;
	*sig = 0;
	memset(res, 0, sizeof(*res));
	snprintf(path, sizeof(path), "%s/%s", sup.manifests, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		if ((e == ENOENT || e == ELOOP || e == ENOTDIR) && dangling(path, name, e, res, sig))
			return;
		if (e == ENOENT || e == ENOTDIR)
			*gone = true;
		else
			manifest_add_error(res, name, 1, 1, "cannot open: %s", strerror(e));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		manifest_add_error(res, name, 1, 1, "not a regular file");
		return;
	}
	if ((size_t)st.st_size > MANIFEST_MAX_BYTES) {
		close(fd);
		manifest_add_error(res, name, 1, 1, "file too large (%lld bytes, limit %d)",
				   (long long)st.st_size, MANIFEST_MAX_BYTES);
		return;
	}
	perm = unsafe_owner(&st, why, sizeof(why));
	err = read_all(fd, &st, &buf, &len);
	close(fd);
	if (err) {
		manifest_add_error(res, name, 1, 1, "%s", err);
		return;
	}
	*sig = fnv(fnv(fnv(0xcbf29ce484222325ULL, buf, len), &st.st_mode, sizeof(st.st_mode)),
		   &st.st_uid, sizeof(st.st_uid));
	manifest_parse(name, buf, len, &sup.defs, res);
	free(buf);
	if (perm)
		reject_unsafe(name, perm, res);
	else
		check_foreign_ids(name, res);   /* ids are unique across files: the first keeps it */
}

static void remove_file(const char *name)
{
	size_t idx, i;
	struct mfile *m = mfile_find(name, &idx);
	uint32_t ridx;
	cJSON *p;

	if (!m)
		return;
	for (i = 0; i < sup.nrts; i++) {
		struct runtime *rt = sup.rts[i];

		if (rt && !rt->removing && strcmp(rt->source, name) == 0)
			rt_remove(rt);
	}
	specs_free(m->specs, m->nspecs);
	free(m);
	memmove(&sup.mfiles[idx], &sup.mfiles[idx + 1], (sup.nmfiles - idx - 1) * sizeof(*sup.mfiles));
	sup.nmfiles--;
	if (reg_mf_remove(name, &ridx)) {
		reg_dir_touch(TOP_MANIFESTS, now_ms());
		fs_inval_attr(TOP_MANIFESTS);
		notify_removed(TOP_MANIFESTS, name, INO_MF_BASE + ridx, false);
	}
	log_info("manifest %s removed", name);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "file", name);
	events_emit("manifest.removed", p);
}

/* Read `name` again and apply it.  `rescan`: a file whose bytes are what
 * was read last time is left alone (no restart, no event). */
/* A rejected version: say why (file text, log, event), mark its runtimes;
 * the last good version stays in force. */
static void file_rejected(const char *name, struct mfile *m, const struct manifest_result *res,
			  FILE *f)
{
	cJSON *p = cJSON_CreateObject(), *errs;
	size_t i;

	for (i = 0; i < res->nerrors; i++) {
		fprintf(f, "error %s\n", res->errors[i]);
		log_warnx("manifest %s", res->errors[i]);
	}
	if (m->nspecs)
		fprintf(f, "previous version kept: %zu runtime%s still from the last good version\n",
			m->nspecs, m->nspecs == 1 ? "" : "s");
	cJSON_AddStringToObject(p, "file", name);
	errs = cJSON_AddArrayToObject(p, "errors");
	for (i = 0; i < res->nerrors; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(res->errors[i]));
	events_emit("manifest.rejected", p);
	for (i = 0; i < sup.nrts; i++) {
		struct runtime *rt = sup.rts[i];

		if (rt && !rt->removing && strcmp(rt->source, name) == 0)
			rt_set_rejected(rt, res->errors[0]);
	}
	m->ok = false;
}

/* A good version: remove the runtimes gone from it, update or create the
 * others, keep it as the last good version (takes over res->specs). */
static void file_loaded(const char *name, struct mfile *m, struct manifest_result *res, FILE *f,
			int64_t now)
{
	cJSON *p = cJSON_CreateObject(), *ids;
	size_t i, j;

	fprintf(f, "ok %s: %zu runtime%s", name, res->nspecs, res->nspecs == 1 ? "" : "s");
	for (i = 0; i < res->nspecs; i++)
		fprintf(f, "%s%s", i ? ", " : ": ", res->specs[i]->id);
	fprintf(f, "\n");
	cJSON_AddStringToObject(p, "file", name);
	ids = cJSON_AddArrayToObject(p, "ids");
	for (i = 0; i < res->nspecs; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateString(res->specs[i]->id));
	events_emit("manifest.loaded", p);

	/* gone from the file: stop and remove */
	for (i = 0; i < sup.nrts; i++) {
		struct runtime *rt = sup.rts[i];
		bool keep = false;

		if (!rt || rt->removing || strcmp(rt->source, name) != 0)
			continue;
		for (j = 0; j < res->nspecs; j++)
			if (strcmp(res->specs[j]->id, rt->spec->id) == 0)
				keep = true;
		if (!keep)
			rt_remove(rt);
	}
	/* new or changed */
	for (j = 0; j < res->nspecs; j++) {
		struct runtime *rt = rt_find(res->specs[j]->id);
		struct rt_spec *copy = rt_spec_dup(res->specs[j]);

		if (!copy)
			continue;
		if (rt && rt->removing) {
			/* an id that moves while its old process stops: wait */
			rt_spec_free(copy);
			fprintf(f, "note: %s is still stopping under its old manifest; "
				"it is loaded from here once it is gone\n", res->specs[j]->id);
			m->deferred = true;
			continue;
		}
		if (rt)
			rt_update_spec(rt, copy);
		else
			rt_create(copy, name, now);
	}
	specs_free(m->specs, m->nspecs);
	m->specs = res->specs;
	m->nspecs = res->nspecs;
	res->specs = NULL;
	res->nspecs = 0;
	m->ok = true;
	log_info("manifest %s loaded: %zu runtime%s", name, m->nspecs, m->nspecs == 1 ? "" : "s");
}

static void scan_file(const char *name, bool rescan)
{
	struct manifest_result res;
	struct mfile *m;
	bool gone;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	uint64_t sig;

	if (manifest_file_ignored(name))
		return;
	load_file(name, &res, &gone, &sig);
	if (gone) {
		remove_file(name);
		manifest_result_free(&res);
		return;
	}
	if (rescan && (m = mfile_find(name, NULL)) && !m->deferred && sig && m->sig == sig) {
		manifest_result_free(&res);
		return;
	}
	m = mfile_get(name);
	if (!m || !(f = open_memstream(&text, &tlen))) {
		manifest_result_free(&res);
		return;
	}
	m->deferred = false;
	m->sig = sig;
	if (res.nerrors)
		file_rejected(name, m, &res, f);
	else
		file_loaded(name, m, &res, f, now_ms());
	fclose(f);
	publish_file(name, text ? text : "");
	free(text);
	manifest_result_free(&res);
}

void scan_deferred(void)
{
	size_t i;

	sup.rescan_deferred = false;
	for (i = 0; i < sup.nmfiles; i++)
		if (sup.mfiles[i]->deferred)
			scan_file(sup.mfiles[i]->name, false);
}

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | \
		    IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static int folder_wd = -1;

/* Folders holding the targets of symlinked manifests, watched too. */
static struct { int wd; bool used; } *targets;
static size_t ntargets;

static void on_inotify(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
	if (!sup.shutting_down)
		scan_on_inotify();
}

int scan_init(void)
{
	sup.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (sup.inotify_fd < 0)
		return -errno;
	folder_wd = inotify_add_watch(sup.inotify_fd, sup.manifests, WATCH_MASK);
	if (folder_wd < 0)
		return -errno;
	return loop_watch(sup.inotify_fd, EPOLLIN, on_inotify, NULL);
}

/* The folder a symlink's target is (or would be) in: for a dangling link,
 * the folder its target names, so that the target appearing is seen. */
static bool target_dir(const char *link, char *out)
{
	char t[PATH_MAX], joined[PATH_MAX * 2], *slash;
	ssize_t n;

	if (realpath(link, out)) {
		slash = strrchr(out, '/');
		if (!slash || slash == out)
			return false;
		*slash = '\0';
		return true;
	}
	n = readlink(link, t, sizeof(t) - 1);
	if (n <= 0)
		return false;
	t[n] = '\0';
	if (t[0] == '/')
		snprintf(joined, sizeof(joined), "%s", t);
	else
		snprintf(joined, sizeof(joined), "%s/%s", sup.manifests, t);
	slash = strrchr(joined, '/');
	*slash = '\0';
	return realpath(joined, out) != NULL;
}

/* Watch the folder of every symlinked manifest's target; drop the watches
 * no symlink needs any more. */
static void watch_targets(char *const *names, size_t n)
{
	size_t i, k;

	if (sup.inotify_fd < 0)
		return;
	for (k = 0; k < ntargets; k++)
		targets[k].used = false;
	for (i = 0; i < n; i++) {
		char path[PATH_MAX], real[PATH_MAX];
		struct stat st;
		int wd;

		snprintf(path, sizeof(path), "%s/%s", sup.manifests, names[i]);
		if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode) || !target_dir(path, real))
			continue;
		if (strcmp(real, sup.manifests) == 0)
			continue;   /* watched already */
		wd = inotify_add_watch(sup.inotify_fd, real, WATCH_MASK);
		if (wd < 0)
			continue;
		for (k = 0; k < ntargets && targets[k].wd != wd; k++)
			;
		if (k == ntargets) {
			void *nt = realloc(targets, (ntargets + 1) * sizeof(*targets));

			if (!nt)
				continue;
			targets = nt;
			targets[k].wd = wd;
			ntargets++;
		}
		targets[k].used = true;
	}
	for (k = 0; k < ntargets;) {
		if (targets[k].used) {
			k++;
			continue;
		}
		inotify_rm_watch(sup.inotify_fd, targets[k].wd);
		targets[k] = targets[--ntargets];
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List the folder's manifest names, sorted (the first file keeps an id). */
static int list_names(char ***out, size_t *n)
{
	DIR *d = opendir(sup.manifests);
	struct dirent *de;
	char **names = NULL, **nn;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (manifest_file_ignored(de->d_name))
			continue;
		nn = realloc(names, (k + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[k] = strdup(de->d_name);
		if (names[k])
			k++;
	}
	closedir(d);
	if (k)
		qsort(names, k, sizeof(*names), cmp_names);
	*out = names;
	*n = k;
	return 0;
}

/* Read every file of the folder; `rescan`: leave unchanged ones alone. */
static void scan_folder(bool rescan)
{
	char **names;
	size_t n, i, j;

	if (list_names(&names, &n) < 0) {
		log_warn("cannot list %s", sup.manifests);
		return;
	}
	/* files that went away while we were not watching */
	for (i = 0; i < sup.nmfiles;) {
		bool found = false;

		for (j = 0; j < n; j++)
			if (strcmp(names[j], sup.mfiles[i]->name) == 0)
				found = true;
		if (!found)
			remove_file(sup.mfiles[i]->name);
		else
			i++;
	}
	watch_targets(names, n);
	for (i = 0; i < n; i++) {
		scan_file(names[i], rescan);
		free(names[i]);
	}
	free(names);
}

void scan_all(void)
{
	scan_folder(false);
}

static bool is_symlink(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", sup.manifests, name);
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

void scan_on_inotify(void)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	char *p;

	bool rescan = false;

	for (;;) {
		n = read(sup.inotify_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				log_warnx("manifest watch overflowed; rescanning %s", sup.manifests);
				rescan = true;
				continue;
			}
			if (e->mask & IN_IGNORED)
				continue;   /* a watch went (ours, or its folder did) */
			if (e->wd != folder_wd || (e->len && strcmp(e->name, "..data") == 0)) {
				/* a target's folder, or a ConfigMap's swap */
				rescan = true;
				continue;
			}
			if (!e->len || manifest_file_ignored(e->name))
				continue;
			/* A new empty file is being written: its close brings it.
			 * A new symlink is complete at once. */
			if ((e->mask & IN_CREATE) && !(e->mask & IN_ISDIR) && !is_symlink(e->name))
				continue;
			scan_file(e->name, false);
			if (is_symlink(e->name))
				rescan = true;   /* its target's folder needs a watch */
		}
	}
	if (rescan)
		scan_folder(true);
}

/* --check: the ids seen so far, and in which file. */
struct seen_id {
	char id[RT_ID_MAX + 1];
	char file[256];
};

/* A duplicate of an id another file defined is an error, as the daemon
 * would see it; then this file's ids are remembered. */
static void check_seen(const char *name, struct manifest_result *res, struct seen_id **seen,
		       size_t *nseen)
{
	size_t k, s;

	for (k = 0; k < res->nspecs && !res->nerrors; k++) {
		for (s = 0; s < *nseen; s++)
			if (strcmp((*seen)[s].id, res->specs[k]->id) == 0)
				break;
		if (s < *nseen) {
			manifest_add_error(res, name, res->specs[k]->id_line, res->specs[k]->id_col,
					   "duplicate id \"%s\" (already defined in %s)",
					   res->specs[k]->id, (*seen)[s].file);
			break;
		}
	}
	for (k = 0; k < res->nspecs; k++) {
		struct seen_id *ns = realloc(*seen, (*nseen + 1) * sizeof(**seen));

		if (!ns)
			break;
		*seen = ns;
		snprintf(ns[*nseen].id, sizeof(ns[*nseen].id), "%s", res->specs[k]->id);
		snprintf(ns[*nseen].file, sizeof(ns[*nseen].file), "%s", name);
		(*nseen)++;
	}
}

/* --check: the runtimes that would not run as declared on this node. */
static void check_placement(const char *name, const struct manifest_result *res)
{
	size_t k;

	for (k = 0; k < res->nspecs; k++) {
		const struct rt_spec *s = res->specs[k];
		enum placement pl = rt_placement(s);

		if (pl == PLACE_FALLBACK)
			printf("note %s: %s would run on its fallback (%s): no %s on this node\n", name, s->id,
			       accel_name(s->fb_accelerator), accel_label(s));
		else if (pl == PLACE_NONE)
			printf("note %s: %s would not start: no %s on this node, and no fallback that fits\n",
			       name, s->id, accel_label(s));
	}
}

int scan_check(void)
{
	char **names;
	size_t n, i, k, bad = 0, total = 0, nseen = 0;
	struct seen_id *seen = NULL;

	if (list_names(&names, &n) < 0) {
		fprintf(stderr, "arw-supervisor: cannot list %s: %s\n", sup.manifests, strerror(errno));
		return 2;
	}
	for (i = 0; i < n; i++) {
		struct manifest_result res;
		uint64_t sig;
		bool gone;

		load_file(names[i], &res, &gone, &sig);
		if (!gone) {
			check_seen(names[i], &res, &seen, &nseen);
			for (k = 0; k < res.nerrors; k++)
				printf("error %s\n", res.errors[k]);
			if (res.nerrors)
				bad++;
			else
				printf("ok %s: %zu runtime%s\n", names[i], res.nspecs, res.nspecs == 1 ? "" : "s");
			check_placement(names[i], &res);
			total += res.nspecs;
		}
		manifest_result_free(&res);
		free(names[i]);
	}
	free(names);
	free(seen);
	printf("%zu file%s, %zu runtime%s, %zu file%s with errors\n", n, n == 1 ? "" : "s",
	       total, total == 1 ? "" : "s", bad, bad == 1 ? "" : "s");
	return bad ? 2 : 0;
}

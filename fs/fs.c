/*
 * fs.c - the /arw tree on libfuse's low-level API.
 *
 * Worker threads (fuse_session_loop_mt) run these handlers.  Each open of a
 * generated file renders one snapshot into fi->fh (direct_io, so every read
 * comes here and an fd never sees text older than its open).  ctl writes
 * are parsed here and queued to the loop, which answers the request itself
 * when the command is done: a `wait=` write holds no thread.  `events`
 * reads are parked in events.c the same way.
 *
 * The only lock here is fs_open.mu, per open file, protecting its reply.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "events.h"
#include "mount.h"
#include "notify.h"
#include "version.h"
#include "log.h"
#include "cmdq.h"
#include "registry.h"
#include "render.h"

#define TIMEOUT 1.0
/* The size `events` reports: nothing to do with its content (a stream has
 * no size), but above 0, or the kernel would answer a splice or sendfile
 * with EOF itself without asking us (see fs_read). */
#define EVENTS_ST_SIZE 4096

enum of_kind { OF_DATA = 1, OF_CTL, OF_EVENTS, OF_DIR };

struct fs_open {
	enum of_kind kind;
	fuse_ino_t ino;
	uint32_t slot, gen;          /* runtime files */
	bool root;                   /* the root ctl */
	char *data;                  /* the snapshot served by read */
	size_t len;
	struct reg_dirent *ents;     /* OF_DIR */
	size_t nents;
	struct ev_reader *er;        /* OF_EVENTS */
	pthread_mutex_t mu;          /* protects reply, reply_len, reply_pos */
	char reply[1024];
	size_t reply_len, reply_pos;
	bool has_reply;
	struct fs_open *prev, *next; /* in opens, under opens_mu */
};

/* Every open file, so the ones whose release never came (the mount went
 * away first) are freed at shutdown.  opens_mu protects the list. */
/* Who the tree belongs to: written by fs_mount before any worker runs. */
static struct fs_config cfg;

static pthread_mutex_t opens_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fs_open *opens;

void fs_reply(fuse_req_t req, struct fs_open *of, int err, size_t size, const char *text)
{
	if (of)
		fs_open_set_reply(of, text);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

void fs_open_set_reply(struct fs_open *of, const char *text)
{
	pthread_mutex_lock(&of->mu);
	snprintf(of->reply, sizeof(of->reply), "%s", text);
	of->reply_len = strlen(of->reply);
	of->reply_pos = 0;
	of->has_reply = true;
	pthread_mutex_unlock(&of->mu);
}

/* ---- what an inode is ---- */

static bool top_exists(enum top t)
{
	return t == TOP_README || t == TOP_NODE || t == TOP_CTL || t == TOP_EVENTS ||
	       t == TOP_MATRIX || t == TOP_METRICS || t == TOP_ACCEL || t == TOP_MANIFESTS ||
	       t == TOP_RUNTIMES;
}

static bool is_dir_ino(fuse_ino_t ino)
{
	return ino == INO_ROOT || ino == TOP_MANIFESTS || ino == TOP_RUNTIMES ||
	       (INO_IS_RT(ino) && INO_RT_KIND(ino) == RF_DIR);
}

static int64_t start_ms;
/* ARW_TEST_HOLD_NOTIFIER=1 (tests only): never answer the notifier's
 * requests, so a test can kill the daemon while one is held. */
static bool hold_notifier;

static void set_time(struct timespec *ts, int64_t ms)
{
	if (ms <= 0)
		ms = start_ms;
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

/* metrics.prom, rendered from every published view as of now. */
static int metrics(char **data, size_t *len, int64_t *mtime, int64_t now)
{
	struct rt_view **vs;
	size_t n = 0, i;
	int counts[ACCEL_COUNT];

	if (reg_rt_views(&vs, &n) < 0)
		return -ENOMEM;
	reg_accel_get(counts);
	*data = render_metrics(vs, n, counts, start_ms, ARW_VERSION, now, len);
	for (i = 0; i < n; i++)
		rt_view_unref(vs[i]);
	free(vs);
	*mtime = now;
	return *data ? 0 : -ENOMEM;
}

/* A runtime file served as rendered when its view was published (and
 * health.json's uptime filled in); rendered here only when that failed. */
static bool served_as_published(const struct rt_view *v, enum rt_file f)
{
	return v->text[f] != NULL;
}

/* Render the content of a file inode.  Returns 0, or -ENOENT. */
static int content(fuse_ino_t ino, char **data, size_t *len, int64_t *mtime)
{
	struct snap *s;
	int64_t now = now_ms();

	*data = NULL;
	*len = 0;
	*mtime = 0;
	if (ino >= INO_MF_BASE) {
		s = reg_mf_get((uint32_t)(ino - INO_MF_BASE), NULL, 0);
		if (!s)
			return -ENOENT;
		goto from_snap;
	}
	if (INO_IS_RT(ino)) {
		enum rt_file f = INO_RT_KIND(ino);
		struct rt_view *v;

		if (f == RF_LOGS)
			return reg_rt_logs(INO_RT_SLOT(ino), data, len, mtime);
		if (f <= RF_DIR || f >= RF_COUNT)
			return -ENOENT;
		v = reg_rt_view(INO_RT_SLOT(ino), NULL, NULL);
		if (!v)
			return -ENOENT;
		if (served_as_published(v, f)) {
			*data = rt_view_text(v, f, now, len);
		} else {
			*data = render_rt_file(f, v, now, len);
		}
		*mtime = v->mtime[f];
		rt_view_unref(v);
		return *data ? 0 : -ENOMEM;
	}
	switch (ino) {
	case TOP_README:
		*data = render_readme(len);
		*mtime = start_ms;
		return *data ? 0 : -ENOMEM;
	case TOP_EVENTS:
		*data = strdup("");
		*mtime = now;
		return *data ? 0 : -ENOMEM;
	case TOP_METRICS:
		return metrics(data, len, mtime, now);
	case TOP_NODE:
	case TOP_CTL:
	case TOP_MATRIX:
	case TOP_ACCEL:
		s = reg_top_get((enum top)ino);
		if (!s)
			return -ENOENT;
		goto from_snap;
	default:
		return -ENOENT;
	}
from_snap:
	*data = malloc(s->len + 1);
	if (*data) {
		memcpy(*data, s->data, s->len);
		*len = s->len;
		*mtime = s->mtime_ms;
	}
	snap_unref(s);
	return *data ? 0 : -ENOMEM;
}

/* The size and mtime of a runtime file rendered when its view was
 * published, without a copy: 1; 0 when it is not such a file; -ENOENT. */
static int published_len(fuse_ino_t ino, size_t *len, int64_t *mtime)
{
	enum rt_file f = INO_RT_KIND(ino);
	struct rt_view *v;
	int r = 0;

	if (!INO_IS_RT(ino) || f <= RF_DIR || f >= RF_COUNT)
		return 0;
	v = reg_rt_view(INO_RT_SLOT(ino), NULL, NULL);
	if (!v)
		return -ENOENT;
	if (served_as_published(v, f)) {
		*len = rt_view_len(v, f, now_ms());
		*mtime = v->mtime[f];
		r = 1;
	}
	rt_view_unref(v);
	return r;
}

static bool is_ctl(fuse_ino_t ino)
{
	return ino == TOP_CTL || (INO_IS_RT(ino) && INO_RT_KIND(ino) == RF_CTL);
}

/* How long the kernel may keep the attributes (size, mtime) of an inode.
 * Folders, README and node: 1 s, and the loop drops a folder's whenever its
 * listing or mtime changes (fs_inval_attr).  Every other file: not at all,
 * so each stat (and each open's permission check) asks here and gets the
 * size of what a read returns now.  A cached copy would have to be dropped
 * by an invalidation before every ctl reply, and a rare answer computed
 * before a change was still seen to outlive it under load (the kernel
 * discarded it in theory, not in every run); a getattr costs about 25 us. */
static double attr_timeout(fuse_ino_t ino)
{
	return is_dir_ino(ino) || ino == TOP_README || ino == TOP_NODE ? TIMEOUT : 0;
}

/* The same for the attributes in a lookup answer: only for what never
 * changes.  An invalidation cannot reach a lookup under way for an inode the
 * kernel has evicted (it finds nothing to drop), and the lookup's answer,
 * computed before the change, would then stay cached for its timeout.  With
 * none, the next stat or permission check asks again, with a getattr. */
static double entry_attr_timeout(fuse_ino_t ino)
{
	return ino == INO_ROOT || ino == TOP_README || ino == TOP_NODE ? TIMEOUT : 0;
}

/* How long the kernel may trust a name -> inode answer.  A runtime's files
 * keep their names and inodes as long as the runtime exists: an hour (a
 * lookup is a request the notifier's truncates and every reader's path walk
 * would otherwise make again each second).  Once the runtime is gone, a
 * name cached under its folder leads to an inode that answers ENOENT, and
 * a new runtime in the same slot comes with a new generation, which makes
 * the kernel drop the old inode.  Everything else: 1 s. */
static double entry_timeout(fuse_ino_t ino)
{
	return INO_IS_RT(ino) && INO_RT_KIND(ino) != RF_DIR ? 3600.0 : TIMEOUT;
}

static int fill_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = cfg.uid;
	st->st_gid = cfg.gid;
	if (is_dir_ino(ino)) {
		int64_t m = start_ms;

		if (INO_IS_RT(ino)) {
			struct rt_view *v = reg_rt_view(INO_RT_SLOT(ino), NULL, NULL);

			if (!v)
				return -ENOENT;
			m = v->mtime[RF_DIR];
			rt_view_unref(v);
		} else if (ino != INO_ROOT) {
			m = reg_dir_mtime((enum top)ino);
		}
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		set_time(&st->st_mtim, m);
	} else {
		char *data;
		size_t len;
		int64_t m;
		int r;

		data = NULL;
		if (INO_IS_RT(ino) && INO_RT_KIND(ino) == RF_LOGS)
			r = reg_rt_logs_len(INO_RT_SLOT(ino), &len, &m);
		else if ((r = published_len(ino, &len, &m)) == 0)
			r = content(ino, &data, &len, &m);
		if (r < 0)
			return r;
		free(data);
		st->st_mode = S_IFREG | 0444;
		if (is_ctl(ino)) {
			st->st_mode = S_IFREG | (cfg.has_ctl_group ? 0664 : 0644);
			if (cfg.has_ctl_group)
				st->st_gid = cfg.ctl_gid;
		}
		st->st_nlink = 1;
		st->st_size = (off_t)len;
		if (ino == TOP_EVENTS)
			st->st_size = EVENTS_ST_SIZE;
		set_time(&st->st_mtim, m);
	}
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
	st->st_blksize = 4096;
	st->st_blocks = ino == TOP_EVENTS ? 0 : (st->st_size + 511) / 512;
	return 0;
}

/* Requests of the notifier thread, which operates through the mount only to
 * make the kernel emit inotify events: answered, nothing changes. */
static bool from_notifier(fuse_req_t req)
{
	return notify_is_caller(fuse_req_ctx(req)->pid);
}

/* ---- handlers ---- */

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* No page cache for generated files, no writeback. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino, uint32_t gen)
{
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	r = fill_attr(ino, &e.attr);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = ino;
	e.generation = gen;
	e.attr_timeout = entry_attr_timeout(ino);
	e.entry_timeout = entry_timeout(ino);
	fuse_reply_entry(req, &e);
}

/* The notifier looks up the entry it is about to create (that must miss,
 * or the kernel refuses with EEXIST) or to remove (that must hit, even when
 * it is already gone here).  Returns true when it answered. */
static bool notifier_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uint64_t i_parent, i_ino;
	char i_name[256];
	bool dir;
	enum notify_intent in = notify_current(&i_parent, i_name, sizeof(i_name), &i_ino, &dir);
	struct fuse_entry_param e;

	if (in == NI_NONE || i_parent != parent || strcmp(i_name, name) != 0)
		return false;
	if (in == NI_CREATE) {
		fuse_reply_err(req, ENOENT);
		return true;
	}
	memset(&e, 0, sizeof(e));
	if (fill_attr(i_ino, &e.attr) < 0) {
		/* already gone from the registry: a stand-in for the removal */
		e.attr.st_ino = i_ino;
		e.attr.st_mode = dir ? S_IFDIR | 0555 : S_IFREG | 0444;
		e.attr.st_nlink = dir ? 2 : 1;
		e.attr.st_uid = cfg.uid;
		e.attr.st_gid = cfg.gid;
	}
	e.ino = i_ino;
	fuse_reply_entry(req, &e);
	return true;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uint32_t slot, gen = 0, idx;
	int t;

	if (from_notifier(req) && notifier_lookup(req, parent, name))
		return;

	if (parent == INO_ROOT) {
		for (t = TOP_README; t < TOP_MAX; t++) {
			if (top_exists((enum top)t) && strcmp(top_name((enum top)t), name) == 0) {
				reply_entry(req, (fuse_ino_t)t, 0);
				return;
			}
		}
	} else if (parent == TOP_RUNTIMES) {
		if (reg_rt_lookup(name, &slot, &gen) == 0) {
			reply_entry(req, INO_RT(slot, RF_DIR), gen);
			return;
		}
	} else if (parent == TOP_MANIFESTS) {
		if (reg_mf_lookup(name, &idx) == 0) {
			reply_entry(req, INO_MF_BASE + idx, 0);
			return;
		}
	} else if (INO_IS_RT(parent) && INO_RT_KIND(parent) == RF_DIR) {
		struct rt_view *v = reg_rt_view(INO_RT_SLOT(parent), &gen, NULL);

		if (v) {
			rt_view_unref(v);
			for (t = RF_STATE; t < RF_COUNT; t++) {
				if (strcmp(rt_file_name((enum rt_file)t), name) == 0) {
					reply_entry(req, INO_RT(INO_RT_SLOT(parent), t), gen);
					return;
				}
			}
		}
	} else if (!is_dir_ino(parent)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_err(req, ENOENT);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int r;

	(void)fi;
	r = fill_attr(ino, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, attr_timeout(ino));
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct stat st;
	int r;

	(void)attr;
	(void)fi;
	/* Accepted, changing nothing: the notifier's truncate of a changed file
	 * (for IN_MODIFY), and a truncation of ctl (`>` opens it with O_TRUNC).
	 * The answer holds the true attributes, valid for no time at all: the
	 * kernel applies a SETATTR answer whenever its caller gets to it,
	 * without the check that discards other answers older than an
	 * invalidation, so a cached copy could be stale. */
	if (from_notifier(req) && !is_dir_ino(ino)) {
		while (hold_notifier)
			pause();   /* test hook: a worker holds the helper's request */
	} else if (!is_ctl(ino) || (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME |
						FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_ATIME |
						FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_CTIME))) {
		fuse_reply_err(req, EPERM);
		return;
	}
	r = fill_attr(ino, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, 0);
}

static struct fs_open *of_new(enum of_kind kind, fuse_ino_t ino)
{
	struct fs_open *of = calloc(1, sizeof(*of));

	if (!of)
		return NULL;
	of->kind = kind;
	of->ino = ino;
	pthread_mutex_init(&of->mu, NULL);
	pthread_mutex_lock(&opens_mu);
	of->next = opens;
	if (opens)
		opens->prev = of;
	opens = of;
	pthread_mutex_unlock(&opens_mu);
	return of;
}

static void of_free(struct fs_open *of)
{
	if (!of)
		return;
	pthread_mutex_lock(&opens_mu);
	if (of->prev)
		of->prev->next = of->next;
	else
		opens = of->next;
	if (of->next)
		of->next->prev = of->prev;
	pthread_mutex_unlock(&opens_mu);
	if (of->er)
		events_release(of->er);
	free(of->data);
	free(of->ents);
	pthread_mutex_destroy(&of->mu);
	free(of);
}

/* Answer an open.  When the reply does not get through (the opener was
 * interrupted: the kernel has forgotten the request), no release will ever
 * come for `of`: free it here.  `parallel` (ctl files): the kernel holds the
 * inode lock across a direct write, so a parked `wait=` write would block
 * every other writer of this ctl, uninterruptibly; with parallel direct
 * writes it takes the lock shared.  `events` is a stream (FOPEN_STREAM:
 * no file position, so a sendfile or splice always starts at 0, below its
 * placeholder size, and reaches fs_read to be refused).  libfuse 3.14 has
 * no fields for those flags; its fuse_reply_open sends just this
 * structure.  `extra` 0: what fi says, through libfuse. */
static void reply_open(fuse_req_t req, struct fuse_file_info *fi, struct fs_open *of, uint32_t extra)
{
	int r;

	if (extra) {
		struct fuse_open_out out;

		memset(&out, 0, sizeof(out));
		out.fh = fi->fh;
		out.open_flags = FOPEN_DIRECT_IO | extra;
		r = fuse_reply_buf(req, (const char *)&out, sizeof(out));
	} else {
		r = fuse_reply_open(req, fi);
	}
	if (r < 0)
		of_free(of);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_open *of;
	int r = 0;
	size_t i;

	if (!is_dir_ino(ino)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	of = of_new(OF_DIR, ino);
	if (!of) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (ino == INO_ROOT) {
		of->ents = calloc(TOP_MAX, sizeof(*of->ents));
		for (i = TOP_README; of->ents && i < TOP_MAX; i++) {
			if (!top_exists((enum top)i))
				continue;
			snprintf(of->ents[of->nents].name, sizeof(of->ents[0].name), "%s", top_name((enum top)i));
			of->ents[of->nents++].ino = i;
		}
		r = of->ents ? 0 : -ENOMEM;
	} else if (ino == TOP_RUNTIMES) {
		r = reg_list_runtimes(&of->ents, &of->nents);
	} else if (ino == TOP_MANIFESTS) {
		r = reg_list_manifests(&of->ents, &of->nents);
	} else {
		uint32_t slot = INO_RT_SLOT(ino);
		struct rt_view *v = reg_rt_view(slot, NULL, NULL);

		if (!v) {
			r = -ENOENT;
		} else {
			rt_view_unref(v);
			of->ents = calloc(RF_COUNT, sizeof(*of->ents));
			for (i = RF_STATE; of->ents && i < RF_COUNT; i++) {
				snprintf(of->ents[of->nents].name, sizeof(of->ents[0].name), "%s",
					 rt_file_name((enum rt_file)i));
				of->ents[of->nents++].ino = INO_RT(slot, i);
			}
			r = of->ents ? 0 : -ENOMEM;
		}
	}
	if (r < 0) {
		of_free(of);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)of;
	reply_open(req, fi, of, 0);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs_open *of = (struct fs_open *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	size_t used = 0, total = of->nents + 2;
	off_t i;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off; (size_t)i < total; i++) {
		struct stat st;
		const char *name;
		size_t need;

		memset(&st, 0, sizeof(st));
		if (i == 0) {
			name = ".";
			st.st_ino = ino;
			st.st_mode = S_IFDIR;
		} else if (i == 1) {
			name = "..";
			st.st_ino = ino == INO_ROOT ? INO_ROOT :
				    (INO_IS_RT(ino) ? TOP_RUNTIMES : INO_ROOT);
			st.st_mode = S_IFDIR;
		} else {
			name = of->ents[i - 2].name;
			st.st_ino = of->ents[i - 2].ino;
			st.st_mode = is_dir_ino(st.st_ino) ? S_IFDIR : S_IFREG;
		}
		need = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	of_free((struct fs_open *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_open *of;
	int64_t m;
	int r, acc = fi->flags & O_ACCMODE;

	if (is_dir_ino(ino)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (acc != O_RDONLY && !is_ctl(ino) && !from_notifier(req)) {
		/* root passes the kernel's mode check: refuse here too */
		fuse_reply_err(req, EACCES);
		return;
	}
	if (ino == TOP_EVENTS) {
		of = of_new(OF_EVENTS, ino);
		if (of)
			of->er = events_open();
		if (!of || !of->er) {
			of_free(of);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		fi->fh = (uint64_t)(uintptr_t)of;
		reply_open(req, fi, of, FOPEN_NONSEEKABLE | FOPEN_STREAM);
		return;
	}
	of = of_new(is_ctl(ino) ? OF_CTL : OF_DATA, ino);
	if (!of) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (INO_IS_RT(ino)) {
		struct rt_view *v = reg_rt_view(INO_RT_SLOT(ino), &of->gen, NULL);

		if (!v) {
			of_free(of);
			fuse_reply_err(req, ENOENT);
			return;
		}
		rt_view_unref(v);
		of->slot = INO_RT_SLOT(ino);
	}
	of->root = ino == TOP_CTL;
	r = content(ino, &of->data, &of->len, &m);
	if (r < 0) {
		of_free(of);
		fuse_reply_err(req, -r);
		return;
	}
	fi->direct_io = 1;
	fi->fh = (uint64_t)(uintptr_t)of;
	reply_open(req, fi, of, of->kind == OF_CTL ? FOPEN_PARALLEL_DIRECT_WRITES : 0);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_open *of = (struct fs_open *)(uintptr_t)fi->fh;

	(void)ino;
	if (fi->lock_owner == 0) {
		/* Through the page cache: splice, sendfile, copy_file_range or a
		 * page fault of a private mapping.  The kernel asks for whole
		 * pages up to the size the last getattr gave, which for a
		 * stream is a placeholder and for a snapshot may be another
		 * version's than this open's.  Refuse: the caller sees EINVAL
		 * (busybox, Python and coreutils then fall back to read(2),
		 * which carries a lock owner) instead of an empty or torn
		 * copy. */
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (of->kind == OF_EVENTS) {
		events_read(of->er, req, size, fi->flags & O_NONBLOCK);
		return;
	}
	if (of->kind == OF_CTL) {
		pthread_mutex_lock(&of->mu);
		if (of->has_reply) {
			/* the reply to this descriptor's own write, read once */
			size_t n = of->reply_len - of->reply_pos;
			char tmp[sizeof(of->reply)];

			if (n > size)
				n = size;
			memcpy(tmp, of->reply + of->reply_pos, n);
			of->reply_pos += n;
			pthread_mutex_unlock(&of->mu);
			fuse_reply_buf(req, tmp, n);
			return;
		}
		pthread_mutex_unlock(&of->mu);
	}
	if (off < 0 || (size_t)off >= of->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > of->len - (size_t)off)
		size = of->len - (size_t)off;
	/* Reply from a private copy: once the kernel has the bytes, the
	 * reader may close and `release` free of->data on another worker
	 * while fuse_reply_buf is still returning. */
	{
		char *copy = malloc(size);

		if (!copy) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		memcpy(copy, of->data + off, size);
		fuse_reply_buf(req, copy, size);
		free(copy);
	}
}

static void on_ctl_interrupt(fuse_req_t req, void *data)
{
	struct loop_cmd *c = calloc(1, sizeof(*c));

	(void)req;
	if (!c)
		return;
	c->kind = CMD_INTERRUPT;
	c->park_id = (uint64_t)(uintptr_t)data;
	if (loop_submit(c) < 0)
		free(c);   /* the loop has ended: nothing waits any more */
}

/* The command as written, on one line, printable, for ctl and logs. */
static void command_text(const char *buf, size_t size, char *out, size_t outlen)
{
	size_t i, k = 0;

	while (size && (buf[size - 1] == '\n' || buf[size - 1] == '\r'))
		size--;
	for (i = 0; i < size && k + 5 < outlen; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch >= 0x20 && ch < 0x7f) {
			out[k++] = (char)ch;
		} else {
			k += (size_t)snprintf(out + k, outlen - k, "\\x%02x", ch);
		}
	}
	if (i < size && k + 4 < outlen)
		k += (size_t)snprintf(out + k, outlen - k, "...");
	out[k] = '\0';
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	struct fs_open *of = (struct fs_open *)(uintptr_t)fi->fh;
	struct loop_cmd *c;

	(void)off;   /* writes ignore the offset: `>>` works too */
	if (from_notifier(req)) {
		fuse_reply_write(req, size);   /* only there for IN_MODIFY */
		return;
	}
	if (of->kind != OF_CTL) {
		fuse_reply_err(req, EACCES);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	c->kind = of->root ? CMD_CTL_ROOT : CMD_CTL_RT;
	c->slot = of->slot;
	c->gen = of->gen;
	c->req = req;
	c->size = size;
	c->of = of;
	command_text(buf, size, c->text, sizeof(c->text));
	c->parse_err = ctl_parse(buf, size, of->root, &c->ctl, c->errmsg, sizeof(c->errmsg));
	(void)ino;
	if (!c->parse_err && c->ctl.wait_s > 0) {   /* wait=0: no wait at all */
		c->park_id = loop_park_id();
		fuse_req_interrupt_func(req, on_ctl_interrupt, (void *)(uintptr_t)c->park_id);
	}
	if (loop_submit(c) < 0) {
		fs_reply(req, of, ESHUTDOWN, 0, "error: the supervisor is shutting down\n");
		free(c);
	}
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	of_free((struct fs_open *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct fs_open *of = (struct fs_open *)(uintptr_t)fi->fh;

	if (of && of->kind == OF_EVENTS) {
		events_poll(of->er, req, ph);
		return;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | (is_ctl(ino) ? POLLOUT | POLLWRNORM : 0));
}

static void fs_eperm_entry(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

/* The notifier "creates" an entry that already exists here, for IN_CREATE;
 * everyone else gets EPERM. */
static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	uint32_t slot, gen;

	(void)mode;
	if (!from_notifier(req) || parent != TOP_RUNTIMES) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (reg_rt_lookup(name, &slot, &gen) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	reply_entry(req, INO_RT(slot, RF_DIR), gen);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	uint32_t idx;

	(void)mode;
	(void)rdev;
	if (!from_notifier(req) || parent != TOP_MANIFESTS) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (reg_mf_lookup(name, &idx) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	reply_entry(req, INO_MF_BASE + idx, 0);
}

/* The notifier removes an entry that is already gone here, for IN_DELETE. */
static void fs_remove(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)name;
	if (from_notifier(req) && (parent == TOP_RUNTIMES || parent == TOP_MANIFESTS))
		fuse_reply_err(req, 0);
	else
		fuse_reply_err(req, EPERM);
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	(void)mode;
	(void)fi;
	fs_eperm_entry(req, parent, name);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	fs_eperm_entry(req, parent, name);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	(void)ino;
	fs_eperm_entry(req, parent, name);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)newparent;
	(void)newname;
	(void)flags;
	fs_eperm_entry(req, parent, name);
}

static const struct fuse_lowlevel_ops ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.release = fs_release,
	.poll = fs_poll,
	.mkdir = fs_mkdir,
	.mknod = fs_mknod,
	.create = fs_create,
	.unlink = fs_remove,
	.rmdir = fs_remove,
	.symlink = fs_symlink,
	.link = fs_link,
	.rename = fs_rename,
};

/* ---- the session: mount, workers, end ----
 * cur_se and the connection's device are set and cleared by the loop
 * thread (main before the loop starts); the workers get the session as
 * their argument. */

static struct fuse_session *cur_se;
static unsigned conn_maj, conn_min;
/* An O_PATH descriptor of our own mount's root, held from fs_start until
 * the connection is aborted: it keeps the superblock, and so the
 * connection number, ours.  Without it, a number read before a detach may
 * belong to someone else's new FUSE mount by the time we abort it.  An
 * O_PATH open and close send FUSE nothing, so a crash never waits on it. */
static int pin_fd = -1;
static char cur_mp[PATH_MAX];   /* where fs_mount mounted */
static int end_efd = -1;          /* readable once the workers are gone */
static pthread_t fs_thread;
static bool fs_running;

int fs_mount(const char *mountpoint, const struct fs_config *config)
{
	char opts[256];
	char *argv[] = { "arw-supervisor", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_session *se;
	struct mnt_entry e;

	if (!start_ms)
		start_ms = now_ms();
	cfg = *config;
	hold_notifier = getenv("ARW_TEST_HOLD_NOTIFIER") && strcmp(getenv("ARW_TEST_HOLD_NOTIFIER"), "1") == 0;
	snprintf(opts, sizeof(opts), "fsname=arw,subtype=arw,default_permissions%s",
		 cfg.allow_other ? ",allow_other" : "");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	fuse_opt_free_args(&args);
	if (!se)
		return -EIO;
	snprintf(cur_mp, sizeof(cur_mp), "%s", mountpoint);
	if (fuse_session_mount(se, mountpoint) != 0) {
		fuse_session_destroy(se);
		return -EIO;
	}
	/* Which connection is ours: fusectl's number, and how a lost mount
	 * is recognised in mountinfo. */
	if (mnt_top(mountpoint, &e) > 0) {
		conn_maj = e.maj;
		conn_min = e.min;
	}
	cur_se = se;
	return 0;
}

static void *fs_main(void *arg)
{
	struct fuse_session *se = arg;
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	uint64_t one = 1;

	fuse_loop_cfg_set_max_threads(lc, 16);
	fuse_loop_cfg_set_idle_threads(lc, 4);
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	if (write(end_efd, &one, sizeof(one)) < 0) {
		/* saturated: the loop is awake anyway */
	}
	return NULL;
}

int fs_start(void)
{
	int r;

	if (end_efd < 0 && (end_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	r = pthread_create(&fs_thread, NULL, fs_main, cur_se);
	if (r)
		return -r;
	fs_running = true;
	/* after the workers run: if the kernel asks us anything, it is answered */
	if (pin_fd < 0 && cur_mp[0])
		pin_fd = open(cur_mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pin_fd < 0)
		log_warn("%s: cannot hold the mount's root; its connection will not be aborted by number",
			 cur_mp);
	return 0;
}

static void unpin(void)
{
	if (pin_fd >= 0)
		close(pin_fd);
	pin_fd = -1;
}

int fs_end_fd(void)
{
	return end_efd;
}

bool fs_attached(const char *mountpoint)
{
	return cur_se && mnt_attached(mountpoint, conn_maj, conn_min);
}

int fs_abort(void)
{
	/* only while the pin proves the number is still ours */
	return cur_se && pin_fd >= 0 ? mnt_abort(conn_min) : 0;
}

void fs_inval_attr(uint64_t ino)
{
	int r;

	/* Attributes only (offset -1): no page is touched, so nothing in the
	 * kernel's path waits on the mount, and the loop can never hang here.
	 * Files' attributes are never cached and need nothing. */
	if (!cur_se || attr_timeout(ino) == 0)
		return;
	r = fuse_lowlevel_notify_inval_inode(cur_se, ino, -1, 0);
	if (r < 0 && r != -ENOENT && r != -EBADF && r != -ENOTCONN && r != -ENODEV && r != -ENOSYS)
		log_debug("invalidation of inode %llu failed: %s", (unsigned long long)ino, strerror(-r));
}

/* Wait (2 s at most) for the workers; free the session and every open
 * file once none can run.  False when they are still busy. */
static bool reap_workers(void)
{
	struct timespec ts;

	if (fs_running) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		if (pthread_timedjoin_np(fs_thread, NULL, &ts) != 0)
			return false;
		fs_running = false;
	}
	if (cur_se) {
		/* The connection is aborted (or gone with the mount): libfuse
		 * sees that on the device and only closes it, with no second
		 * unmount that would fail and complain. */
		fuse_session_unmount(cur_se);
		fuse_session_destroy(cur_se);
		cur_se = NULL;
	}
	while (opens)
		of_free(opens);
	return true;
}

void fs_reap(const char *mountpoint)
{
	uint64_t v;

	if (read(end_efd, &v, sizeof(v)) < 0) {
		/* nothing pending: fine */
	}
	if (!reap_workers())
		log_warnx("FUSE workers still busy after the session ended");
	unpin();
	mnt_clear_own(mountpoint, conn_maj, conn_min);
}

void fs_stop(const char *mountpoint)
{
	if (!cur_se)
		return;
	/* Detach the mount, then abort the connection: descriptors still open
	 * on the detached tree (a container's `cat events`) would otherwise
	 * keep it alive and the workers in read(). */
	fuse_session_exit(cur_se);
	if (fs_attached(mountpoint) && umount2(mountpoint, MNT_DETACH) < 0 && errno != EINVAL &&
	    errno != ENOENT)
		log_warn("umount %s", mountpoint);
	fs_abort();
	unpin();
	if (!reap_workers())
		log_warnx("FUSE workers still busy after unmount; leaving them to exit()");
}

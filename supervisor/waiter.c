/*
 * waiter.c - parked ctl writes (see waiter.h).  Loop thread only.
 */
#include "waiter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "sup.h"

bool waiter_park(struct waiter **list, const struct loop_cmd *c, enum ctl_verb verb)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return false;
	w->req = c->req;
	w->park_id = c->park_id;
	w->size = c->size;
	w->of = c->of;
	w->verb = verb;
	w->deadline = mono_ms() + (int64_t)c->ctl.wait_s * 1000;
	snprintf(w->text, sizeof(w->text), "%s", c->text);
	w->next = *list;
	*list = w;
	return true;
}

bool waiter_interrupt(struct waiter **list, uint64_t park_id)
{
	struct waiter **pw;

	for (pw = list; *pw; pw = &(*pw)->next) {
		struct waiter *w = *pw;

		if (w->park_id == park_id) {
			*pw = w->next;
			loop_reply(w->req, w->of, EINTR, 0, "error %s: interrupted", w->text);
			free(w);
			return true;
		}
	}
	return false;
}

void waiter_fail_all(struct waiter **list, int err, const char *why)
{
	struct waiter *w;

	while ((w = *list)) {
		*list = w->next;
		loop_reply(w->req, w->of, err, 0, "error %s: %s", w->text, why);
		free(w);
	}
}

void waiter_expire(struct waiter **list, int64_t mono)
{
	struct waiter **pw;

	for (pw = list; *pw;) {
		struct waiter *w = *pw;

		if (w->deadline && mono >= w->deadline) {
			*pw = w->next;
			loop_reply(w->req, w->of, ETIMEDOUT, 0, "error %s: timed out waiting", w->text);
			free(w);
		} else {
			pw = &w->next;
		}
	}
}

int64_t waiter_deadline(const struct waiter *w)
{
	int64_t d = 0;

	for (; w; w = w->next)
		if (w->deadline && (!d || w->deadline < d))
			d = w->deadline;
	return d;
}

/*
 * budget.c - restart budgets: the sliding window of counted restarts of one
 * runtime, and the backoff before an automatic restart.
 *
 * Pure: no fd, no clock, no allocation.  The caller passes `now` (ms since the
 * epoch), so unit tests drive it with an injected clock.  Each budget belongs
 * to one runtime and is touched by the loop thread only.
 *
 * Invariant: at[0..n) is sorted oldest first and n <= max_restarts.  A restart
 * at time `at` counts while at > now - window (it leaves the window when
 * at + window <= now).
 */
#include "budget.h"

#include <errno.h>
#include <string.h>

/* Persisted restarts may come from a clock slightly ahead of ours. */
#define BUDGET_FUTURE_SLACK_MS 60000

static int clamp_max(int max_restarts)
{
	if (max_restarts < 0)
		return 0;
	if (max_restarts > BUDGET_MAX_RESTARTS)
		return BUDGET_MAX_RESTARTS;
	return max_restarts;
}

static int64_t window_ms(const struct budget *b)
{
	return (int64_t)b->window_seconds * 1000;
}

/* Index of the oldest restart still in the window at `now` (n if none). */
static size_t first_counted(const struct budget *b, int64_t now)
{
	int64_t cutoff = now - window_ms(b);
	size_t i = 0;

	while (i < b->n && b->at[i] <= cutoff)
		i++;
	return i;
}

/* Forget the `k` oldest entries. */
static void drop_oldest(struct budget *b, size_t k)
{
	if (k == 0)
		return;
	if (k >= b->n) {
		b->n = 0;
		return;
	}
	memmove(b->at, b->at + k, (b->n - k) * sizeof b->at[0]);
	b->n -= k;
}

/* Insert keeping the order (after equal times); the caller ensures room. */
static void insert_sorted(struct budget *b, int64_t at)
{
	size_t i = b->n;

	while (i > 0 && b->at[i - 1] > at) {
		b->at[i] = b->at[i - 1];
		i--;
	}
	b->at[i] = at;
	b->n++;
}

void budget_init(struct budget *b, int max_restarts, int window_seconds)
{
	b->n = 0;
	b->max_restarts = clamp_max(max_restarts);
	b->window_seconds = window_seconds < 0 ? 0 : window_seconds;
}

void budget_configure(struct budget *b, int max_restarts, int window_seconds)
{
	b->max_restarts = clamp_max(max_restarts);
	b->window_seconds = window_seconds < 0 ? 0 : window_seconds;
	/* A smaller budget keeps the newest restarts: they leave the window last. */
	if (b->n > (size_t)b->max_restarts)
		drop_oldest(b, b->n - (size_t)b->max_restarts);
}

void budget_prune(struct budget *b, int64_t now)
{
	drop_oldest(b, first_counted(b, now));
}

int budget_used(const struct budget *b, int64_t now)
{
	return (int)(b->n - first_counted(b, now));
}

int budget_remaining(const struct budget *b, int64_t now)
{
	int left = b->max_restarts - budget_used(b, now);

	return left > 0 ? left : 0;
}

bool budget_exhausted(const struct budget *b, int64_t now)
{
	return budget_remaining(b, now) == 0;
}

int64_t budget_reset_at(const struct budget *b, int64_t now)
{
	size_t i = first_counted(b, now);

	if (i == b->n)
		return 0;
	return b->at[i] + window_ms(b);
}

int budget_take(struct budget *b, int64_t now)
{
	budget_prune(b, now);
	if (budget_exhausted(b, now))
		return -EAGAIN;
	/* n < max_restarts <= BUDGET_MAX_RESTARTS here, so there is room.  Sorted
	 * insertion keeps the invariant even if the wall clock stepped back. */
	insert_sorted(b, now);
	return 0;
}

void budget_reset(struct budget *b)
{
	b->n = 0;
}

void budget_record(struct budget *b, int64_t at, int64_t now)
{
	if (at <= now - window_ms(b) || at > now + BUDGET_FUTURE_SLACK_MS)
		return;
	budget_prune(b, now);
	if (b->max_restarts == 0)
		return;
	if (b->n >= (size_t)b->max_restarts) {
		/* Full: the oldest goes, unless the new one would be the oldest. */
		if (at < b->at[0])
			return;
		drop_oldest(b, b->n - (size_t)b->max_restarts + 1);
	}
	insert_sorted(b, at);
}

int64_t budget_backoff_ms(int64_t lived_ms, int quick_crashes)
{
	const int64_t base = 1000, cap = 30000;
	int shift;

	if (lived_ms >= 1000)
		return 0;
	shift = quick_crashes > 1 ? quick_crashes - 1 : 0;
	/* 1000 << 5 already exceeds the cap; never shift further. */
	if (shift >= 5)
		return cap;
	return base << shift < cap ? base << shift : cap;
}

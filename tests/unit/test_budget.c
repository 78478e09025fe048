/*
 * test_budget.c - unit tests of core/budget.c (pure: an injected clock,
 * no fd).  Times are ms since the epoch.
 */
#include "budget.h"
#include "test.h"

#include <errno.h>

#define T0 INT64_C(1795860000000)   /* 2026-11-28T10:00:00Z, any base works */
#define SEC INT64_C(1000)

/* struct budget holds 1000 times: keep it off the stack. */
static struct budget b;

static void test_init(void)
{
	budget_init(&b, 3, 600);
	CHECK_INT(b.max_restarts, 3);
	CHECK_INT(b.window_seconds, 600);
	CHECK_INT(b.n, 0);
	CHECK_INT(budget_used(&b, T0), 0);
	CHECK_INT(budget_remaining(&b, T0), 3);
	CHECK(!budget_exhausted(&b, T0));
	CHECK_INT(budget_reset_at(&b, T0), 0);

	budget_init(&b, -5, -1);
	CHECK_INT(b.max_restarts, 0);
	CHECK_INT(b.window_seconds, 0);
	budget_init(&b, BUDGET_MAX_RESTARTS + 1, 60);
	CHECK_INT(b.max_restarts, BUDGET_MAX_RESTARTS);
}

static void test_exhaust_at_max(void)
{
	budget_init(&b, 3, 600);
	CHECK_INT(budget_take(&b, T0), 0);
	CHECK_INT(budget_used(&b, T0), 1);
	CHECK_INT(budget_remaining(&b, T0), 2);
	CHECK_INT(budget_reset_at(&b, T0), T0 + 600 * SEC);
	CHECK(!budget_exhausted(&b, T0));

	CHECK_INT(budget_take(&b, T0 + 10 * SEC), 0);
	CHECK_INT(budget_remaining(&b, T0 + 10 * SEC), 1);
	CHECK(!budget_exhausted(&b, T0 + 10 * SEC));
	CHECK_INT(budget_take(&b, T0 + 20 * SEC), 0);
	CHECK_INT(budget_used(&b, T0 + 20 * SEC), 3);
	CHECK_INT(budget_remaining(&b, T0 + 20 * SEC), 0);
	CHECK(budget_exhausted(&b, T0 + 20 * SEC));
	/* reset_at stays the oldest counted restart + window. */
	CHECK_INT(budget_reset_at(&b, T0 + 20 * SEC), T0 + 600 * SEC);

	CHECK_INT(budget_take(&b, T0 + 30 * SEC), -EAGAIN);
	CHECK_INT(b.n, 3);
	CHECK_INT(budget_used(&b, T0 + 30 * SEC), 3);
}

static void test_window_slides(void)
{
	budget_init(&b, 3, 600);
	CHECK_INT(budget_take(&b, T0), 0);
	CHECK_INT(budget_take(&b, T0 + 10 * SEC), 0);
	CHECK_INT(budget_take(&b, T0 + 20 * SEC), 0);

	/* One ms before the first restart leaves: still counted. */
	CHECK_INT(budget_used(&b, T0 + 600 * SEC - 1), 3);
	CHECK(budget_exhausted(&b, T0 + 600 * SEC - 1));
	CHECK_INT(budget_take(&b, T0 + 600 * SEC - 1), -EAGAIN);

	/* At exactly at + window it has left. */
	CHECK_INT(budget_used(&b, T0 + 600 * SEC), 2);
	CHECK_INT(budget_remaining(&b, T0 + 600 * SEC), 1);
	CHECK(!budget_exhausted(&b, T0 + 600 * SEC));
	CHECK_INT(budget_reset_at(&b, T0 + 600 * SEC), T0 + 610 * SEC);
	/* The const queries do not prune. */
	CHECK_INT(b.n, 3);

	CHECK_INT(budget_take(&b, T0 + 600 * SEC), 0);
	CHECK_INT(b.n, 3);
	CHECK_INT(b.at[0], T0 + 10 * SEC);
	CHECK_INT(b.at[2], T0 + 600 * SEC);
	CHECK(budget_exhausted(&b, T0 + 600 * SEC));

	CHECK_INT(budget_used(&b, T0 + 615 * SEC), 2);
	CHECK_INT(budget_reset_at(&b, T0 + 615 * SEC), T0 + 620 * SEC);
	CHECK_INT(budget_used(&b, T0 + 1200 * SEC - 1), 1);
	CHECK_INT(budget_reset_at(&b, T0 + 1200 * SEC - 1), T0 + 1200 * SEC);
	CHECK_INT(budget_used(&b, T0 + 1200 * SEC), 0);
	CHECK_INT(budget_reset_at(&b, T0 + 1200 * SEC), 0);
	CHECK_INT(budget_remaining(&b, T0 + 1200 * SEC), 3);

	budget_prune(&b, T0 + 615 * SEC);
	CHECK_INT(b.n, 2);
	CHECK_INT(b.at[0], T0 + 20 * SEC);
	budget_prune(&b, T0 + 1200 * SEC);
	CHECK_INT(b.n, 0);
}

static void test_zero_max(void)
{
	budget_init(&b, 0, 600);
	CHECK_INT(budget_remaining(&b, T0), 0);
	CHECK(budget_exhausted(&b, T0));
	CHECK_INT(budget_reset_at(&b, T0), 0);
	CHECK_INT(budget_take(&b, T0), -EAGAIN);
	CHECK_INT(b.n, 0);
	budget_record(&b, T0 - SEC, T0);
	CHECK_INT(b.n, 0);
}

static void test_reset(void)
{
	budget_init(&b, 2, 60);
	CHECK_INT(budget_take(&b, T0), 0);
	CHECK_INT(budget_take(&b, T0 + 1), 0);
	CHECK(budget_exhausted(&b, T0 + 2));
	budget_reset(&b);
	CHECK_INT(b.n, 0);
	CHECK_INT(b.max_restarts, 2);
	CHECK_INT(b.window_seconds, 60);
	CHECK_INT(budget_used(&b, T0 + 2), 0);
	CHECK_INT(budget_reset_at(&b, T0 + 2), 0);
	CHECK(!budget_exhausted(&b, T0 + 2));
	CHECK_INT(budget_take(&b, T0 + 3), 0);
	CHECK_INT(budget_reset_at(&b, T0 + 3), T0 + 3 + 60 * SEC);
}

static void test_configure(void)
{
	budget_init(&b, 5, 600);
	for (int i = 0; i < 5; i++)
		CHECK_INT(budget_take(&b, T0 + i * SEC), 0);
	CHECK(budget_exhausted(&b, T0 + 5 * SEC));

	/* Shrink: the two newest stay. */
	budget_configure(&b, 2, 600);
	CHECK_INT(b.max_restarts, 2);
	CHECK_INT(b.n, 2);
	CHECK_INT(b.at[0], T0 + 3 * SEC);
	CHECK_INT(b.at[1], T0 + 4 * SEC);
	CHECK_INT(budget_used(&b, T0 + 5 * SEC), 2);
	CHECK(budget_exhausted(&b, T0 + 5 * SEC));
	CHECK_INT(budget_reset_at(&b, T0 + 5 * SEC), T0 + 603 * SEC);

	/* Grow: nothing lost, room again. */
	budget_configure(&b, 4, 600);
	CHECK_INT(b.n, 2);
	CHECK_INT(budget_remaining(&b, T0 + 5 * SEC), 2);

	/* A shorter window applies to what is kept. */
	budget_configure(&b, 4, 2);
	CHECK_INT(b.window_seconds, 2);
	CHECK_INT(budget_used(&b, T0 + 5 * SEC), 1);
	CHECK_INT(budget_reset_at(&b, T0 + 5 * SEC), T0 + 6 * SEC);
	CHECK_INT(budget_used(&b, T0 + 6 * SEC), 0);

	/* Shrink to zero forgets everything; clamp to the table size. */
	budget_configure(&b, 0, 600);
	CHECK_INT(b.n, 0);
	CHECK(budget_exhausted(&b, T0));
	budget_configure(&b, 100000, 600);
	CHECK_INT(b.max_restarts, BUDGET_MAX_RESTARTS);
	budget_configure(&b, -1, -1);
	CHECK_INT(b.max_restarts, 0);
	CHECK_INT(b.window_seconds, 0);
}

static void test_record(void)
{
	int64_t now = T0 + 1000 * SEC;

	budget_init(&b, 3, 600);
	/* Out of the window: at + window <= now. */
	budget_record(&b, now - 600 * SEC, now);
	CHECK_INT(b.n, 0);
	budget_record(&b, 0, now);
	CHECK_INT(b.n, 0);
	/* More than a minute in the future. */
	budget_record(&b, now + 60 * SEC + 1, now);
	CHECK_INT(b.n, 0);

	/* Accepted, and sorted whatever the order of arrival. */
	budget_record(&b, now - 100 * SEC, now);
	budget_record(&b, now - 600 * SEC + 1, now);
	budget_record(&b, now + 60 * SEC, now);
	CHECK_INT(b.n, 3);
	CHECK_INT(b.at[0], now - 600 * SEC + 1);
	CHECK_INT(b.at[1], now - 100 * SEC);
	CHECK_INT(b.at[2], now + 60 * SEC);
	CHECK_INT(budget_used(&b, now), 3);
	CHECK(budget_exhausted(&b, now));
	CHECK_INT(budget_reset_at(&b, now), now + 1);

	/* Full: a newer one pushes the oldest out, an older one is ignored. */
	budget_record(&b, now - 50 * SEC, now);
	CHECK_INT(b.n, 3);
	CHECK_INT(b.at[0], now - 100 * SEC);
	CHECK_INT(b.at[1], now - 50 * SEC);
	CHECK_INT(b.at[2], now + 60 * SEC);
	budget_record(&b, now - 200 * SEC, now);
	CHECK_INT(b.n, 3);
	CHECK_INT(b.at[0], now - 100 * SEC);

	/* Recording prunes what left the window first. */
	budget_record(&b, now + 500 * SEC, now + 560 * SEC);
	CHECK_INT(b.n, 2);
	CHECK_INT(b.at[0], now + 60 * SEC);
	CHECK_INT(b.at[1], now + 500 * SEC);
}

static void test_take_clock_back(void)
{
	/* The wall clock may step back: entries stay sorted. */
	budget_init(&b, 3, 600);
	CHECK_INT(budget_take(&b, T0 + 10 * SEC), 0);
	CHECK_INT(budget_take(&b, T0), 0);
	CHECK_INT(b.at[0], T0);
	CHECK_INT(b.at[1], T0 + 10 * SEC);
	CHECK_INT(budget_reset_at(&b, T0), T0 + 600 * SEC);
}

static void test_backoff(void)
{
	CHECK_INT(budget_backoff_ms(0, 1), 1000);
	CHECK_INT(budget_backoff_ms(999, 1), 1000);
	CHECK_INT(budget_backoff_ms(10, 2), 2000);
	CHECK_INT(budget_backoff_ms(10, 3), 4000);
	CHECK_INT(budget_backoff_ms(10, 4), 8000);
	CHECK_INT(budget_backoff_ms(10, 5), 16000);
	CHECK_INT(budget_backoff_ms(10, 6), 30000);
	CHECK_INT(budget_backoff_ms(10, 7), 30000);
	CHECK_INT(budget_backoff_ms(10, 40), 30000);
	CHECK_INT(budget_backoff_ms(10, 1000000), 30000);
	CHECK_INT(budget_backoff_ms(10, 0x7fffffff), 30000);
	/* Out-of-contract counts behave like the first quick crash. */
	CHECK_INT(budget_backoff_ms(10, 0), 1000);
	CHECK_INT(budget_backoff_ms(10, -3), 1000);
	/* Ran at least a second: restart at once. */
	CHECK_INT(budget_backoff_ms(1000, 1), 0);
	CHECK_INT(budget_backoff_ms(1000, 6), 0);
	CHECK_INT(budget_backoff_ms(3600 * 1000, 9), 0);
}

int main(void)
{
	test_init();
	test_exhaust_at_max();
	test_window_slides();
	test_zero_max();
	test_reset();
	test_configure();
	test_record();
	test_take_clock_back();
	test_backoff();
	return test_summary("budget");
}

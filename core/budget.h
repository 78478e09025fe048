/*
 * budget.h - restart budgets (pure: the caller passes `now`, in ms since the
 * epoch).  A budget allows max_restarts counted restarts within a sliding
 * window of window_seconds.  Loop thread only.
 */
#ifndef ARW_BUDGET_H
#define ARW_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUDGET_MAX_RESTARTS 1000

struct budget {
	int max_restarts;
	int window_seconds;
	size_t n;                          /* counted restarts still in the window */
	int64_t at[BUDGET_MAX_RESTARTS];   /* their times, oldest first */
};

void budget_init(struct budget *b, int max_restarts, int window_seconds);
/* Change limits, keeping the counted restarts that still fit. */
void budget_configure(struct budget *b, int max_restarts, int window_seconds);
/* Forget restarts that left the window. */
void budget_prune(struct budget *b, int64_t now);
int budget_used(const struct budget *b, int64_t now);
int budget_remaining(const struct budget *b, int64_t now);
bool budget_exhausted(const struct budget *b, int64_t now);
/* When the oldest counted restart leaves the window; 0 when none is counted. */
int64_t budget_reset_at(const struct budget *b, int64_t now);
/* Count one restart at `now`: 0, or -EAGAIN when the budget is exhausted. */
int budget_take(struct budget *b, int64_t now);
void budget_reset(struct budget *b);
/* Restore a counted restart (from the state file); ignores ones out of range. */
void budget_record(struct budget *b, int64_t at, int64_t now);

/* Backoff before an automatic restart of a runtime that lived `lived_ms`:
 * 0 when it ran at least 1 s, else 1 s doubling per quick crash in a row,
 * capped at 30 s.  `quick_crashes` counts the consecutive quick crashes
 * including this one (>= 1). */
int64_t budget_backoff_ms(int64_t lived_ms, int quick_crashes);

#endif

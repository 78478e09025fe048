/*
 * test_u64set.c - the set against a plain array: random adds and removals
 * of numbers from a small range (many repeats, many tombstones) and of
 * inode-like numbers, then clear.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "test.h"
#include "u64set.h"

#define RANGE 500

int main(void)
{
	struct u64set s = {0};
	bool in[RANGE + 1] = {0};
	int round, bad = 0, n = 0;
	uint64_t x;
	size_t count;

	srand(11);
	CHECK(!u64set_has(&s, 5));
	u64set_del(&s, 5);   /* on an empty set: nothing */
	for (round = 0; round < 50000; round++) {
		x = 1 + (uint64_t)(rand() % RANGE);
		if (rand() % 3) {
			if (u64set_add(&s, x) < 0)
				bad++;
			if (!in[x])
				n++;
			in[x] = true;
		} else {
			u64set_del(&s, x);
			if (in[x])
				n--;
			in[x] = false;
		}
		if (u64set_has(&s, x) != in[x] || s.n != (size_t)n)
			bad++;
	}
	for (x = 1, count = 0; x <= RANGE; x++)
		if (u64set_has(&s, x) != in[x])
			bad++;
		else
			count++;
	CHECK_INT(bad, 0);
	CHECK_INT(count, RANGE);
	CHECK(s.used * 2 <= s.cap);   /* removed slots do not fill it up */
	/* numbers that differ only in their high bits, as inodes do */
	for (x = 1; x <= 1000; x++)
		u64set_add(&s, (x + 1) << 8 | 3);
	for (x = 1, bad = 0; x <= 1000; x++)
		if (!u64set_has(&s, (x + 1) << 8 | 3) || u64set_has(&s, (x + 1) << 8 | 4))
			bad++;
	CHECK_INT(bad, 0);
	u64set_clear(&s);
	CHECK_INT(s.n, 0);
	CHECK(!u64set_has(&s, (5 + 1) << 8 | 3));
	u64set_free(&s);
	return test_summary("u64set");
}

/*
 * fuzz_manifest.c - libFuzzer target for manifest_parse() and the rt_spec
 * helpers (render, reparse, compare, copy, free).
 *
 * Invariants (a broken one traps):
 *  - 0 means no errors; anything else is -EINVAL with no specs and at least
 *    one error (-ENOMEM cannot happen: ASan aborts instead of returning NULL);
 *  - every error is "fuzz.json:..." on one line;
 *  - every spec renders with rt_spec_to_json() to text that parses back to
 *    exactly one spec with the same id and the same launch fields;
 *  - rt_spec_dup() copies a spec without changing its launch fields.
 */
#include "manifest.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			__builtin_trap();                                    \
	} while (0)

static const struct manifest_defaults defs = { 3, 600, 5000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_errors(const struct manifest_result *res)
{
	static const char prefix[] = "fuzz.json:";

	for (size_t i = 0; i < res->nerrors; i++) {
		const char *e = res->errors[i];

		CHECK(e != NULL);
		CHECK(strncmp(e, prefix, sizeof(prefix) - 1) == 0);
		CHECK(strchr(e, '\n') == NULL);
	}
}

static void check_spec(const struct rt_spec *s)
{
	struct manifest_result again;
	struct rt_spec *copy;
	char *json;
	int r;

	CHECK(s != NULL);
	CHECK(rt_id_valid(s->id));

	json = rt_spec_to_json(s);
	CHECK(json != NULL);
	r = manifest_parse("fuzz.json", json, strlen(json), &defs, &again);
	CHECK(r == 0);
	CHECK(again.nerrors == 0);
	CHECK(again.nspecs == 1);
	CHECK(strcmp(again.specs[0]->id, s->id) == 0);
	CHECK(!rt_spec_launch_differs(s, again.specs[0]));
	manifest_result_free(&again);
	free(json);

	copy = rt_spec_dup(s);
	CHECK(copy != NULL);
	CHECK(strcmp(copy->id, s->id) == 0);
	CHECK(!rt_spec_launch_differs(s, copy));
	rt_spec_free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest_result res;
	int r;

	r = manifest_parse("fuzz.json", (const char *)data, size, &defs, &res);
	if (r == 0) {
		CHECK(res.nerrors == 0);
	} else {
		CHECK(r == -EINVAL);
		CHECK(res.nspecs == 0);
		CHECK(res.specs == NULL);
		CHECK(res.nerrors > 0);
	}
	check_errors(&res);
	for (size_t i = 0; i < res.nspecs; i++)
		check_spec(res.specs[i]);
	manifest_result_free(&res);
	return 0;
}

/*
 * manifest.h - parsed runtime manifests (pure: no fd, no clock, no FUSE).
 *
 * manifest_parse() turns the text of one manifest file into runtime specs, or
 * into a list of "file:line:col: message" errors.  A file with any error yields
 * no specs at all: the caller keeps what was running.  Safe from any thread.
 */
#ifndef ARW_MANIFEST_H
#define ARW_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"

#define MANIFEST_MAX_BYTES (1024 * 1024)

struct manifest_result {
	struct rt_spec **specs;  /* nspecs entries; empty when nerrors > 0 */
	size_t nspecs;
	char **errors;           /* "file:line:col: message", no trailing newline */
	size_t nerrors;
};

/* Parse `len` bytes of `text` (need not be NUL-terminated).  `file` is the name
 * used in error messages (the base name of the manifest).  Returns 0 when the
 * file is good, -EINVAL when out->errors holds at least one error, -ENOMEM. */
int manifest_parse(const char *file, const char *text, size_t len,
		   const struct manifest_defaults *defs, struct manifest_result *out);
void manifest_result_free(struct manifest_result *res);

/* Add an error to a result (used by the folder scanner for cross-file checks:
 * duplicate ids, permissions, size).  Drops the specs, as any error does. */
int manifest_add_error(struct manifest_result *res, const char *file,
		       unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

bool manifest_file_ignored(const char *name);  /* dotfiles, *~, *.swp, *.tmp, .#*, not *.json */

#endif

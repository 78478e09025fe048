/*
 * utf8.h - UTF-8 checks.  Pure; any thread.
 *
 * Manifests must be UTF-8 (their strings end up in JSON files of the tree),
 * and nothing the tree serves as JSON may carry bytes that are not: text
 * from outside (a runtime's output in a probe result, say) is cleaned.
 */
#ifndef ARW_UTF8_H
#define ARW_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s[0..len) (1..4), or 0 when the
 * bytes there are not one (a stray continuation byte, an overlong form, a
 * surrogate, past U+10FFFF, cut short). */
size_t utf8_seq(const unsigned char *s, size_t len);
/* Offset of the first byte that does not start a valid sequence, from
 * `from`; `len` when the rest is valid. */
size_t utf8_bad(const char *s, size_t len, size_t from);
/* A copy of s[0..len) with every invalid byte replaced by U+FFFD, NUL-
 * terminated (its length in *outlen); NULL when out of memory.  Frees
 * nothing: valid input comes back as an equal copy. */
char *utf8_clean(const char *s, size_t len, size_t *outlen);

#endif

/*
 * jsontext.h - JSON documents as the files show them.  Pure; any thread.
 */
#ifndef ARW_JSONTEXT_H
#define ARW_JSONTEXT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Pretty-print `root` with a trailing newline, as a file's content; bytes
 * that are not UTF-8 become U+FFFD, so the text is always valid JSON.
 * Returns a malloc'd string (its length in *len if len is not NULL), or
 * NULL when out of memory.  Does not take `root`. */
char *json_text(const cJSON *root, size_t *len);

#endif

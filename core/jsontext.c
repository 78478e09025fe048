/*
 * jsontext.c - see jsontext.h.
 */
#include "jsontext.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

char *json_text(const cJSON *root, size_t *len)
{
	char *txt = cJSON_Print(root), *out;
	size_t n;

	if (!txt)
		return NULL;
	/* cJSON copies bytes >= 0x80 as they are: text that is not UTF-8
	 * (a runtime's output in a probe result) would make invalid JSON */
	out = utf8_clean(txt, strlen(txt), &n);
	free(txt);
	if (!out)
		return NULL;
	txt = realloc(out, n + 2);
	if (!txt) {
		free(out);
		return NULL;
	}
	txt[n] = '\n';
	txt[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return txt;
}

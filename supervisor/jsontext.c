/*
 * jsontext.c - see jsontext.h.
 */
#include "jsontext.h"

#include <stdlib.h>
#include <string.h>

char *json_text(const cJSON *root, size_t *len)
{
	char *txt = cJSON_Print(root), *out;
	size_t n;

	if (!txt)
		return NULL;
	n = strlen(txt);
	out = realloc(txt, n + 2);
	if (!out) {
		free(txt);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return out;
}

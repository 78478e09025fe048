/*
 * utf8.c - see utf8.h.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;   /* a continuation byte, 0xc0/0xc1, or 0xf5.. */
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;   /* overlong, out of range, or a surrogate */
	return n;
}

size_t utf8_bad(const char *s, size_t len, size_t from)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = from, n;

	while (i < len) {
		if (u[i] < 0x80) {   /* ASCII, most of every text: no call */
			i++;
			continue;
		}
		n = utf8_seq(u + i, len - i);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

char *utf8_clean(const char *s, size_t len, size_t *outlen)
{
	size_t i = 0, k = 0, bad = utf8_bad(s, len, 0), n;
	char *out;

	if (bad == len) {
		out = malloc(len + 1);
		if (out) {
			memcpy(out, s, len);
			out[len] = '\0';
			if (outlen)
				*outlen = len;
		}
		return out;
	}
	out = malloc(len * 3 + 1);   /* at worst every byte becomes U+FFFD */
	if (!out)
		return NULL;
	while (i < len) {
		n = utf8_seq((const unsigned char *)s + i, len - i);
		if (n) {
			memcpy(out + k, s + i, n);
			k += n;
			i += n;
		} else {
			memcpy(out + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
		}
	}
	out[k] = '\0';
	if (outlen)
		*outlen = k;
	return out;
}

/*
 * test_utf8.c - UTF-8 checks: what is a valid sequence, where the first bad
 * byte is, and cleaning into U+FFFD.
 */
#include "utf8.h"
#include "jsontext.h"
#include "test.h"

#include <stdlib.h>

static size_t seq(const char *s)
{
	return utf8_seq((const unsigned char *)s, strlen(s));
}

static void test_seq(void)
{
	CHECK_INT(seq("a"), 1);
	CHECK_INT(seq("\xc3\xa9"), 2);               /* é */
	CHECK_INT(seq("\xe2\x9c\x93"), 3);           /* ✓ */
	CHECK_INT(seq("\xf0\x9f\xa6\x99"), 4);       /* 🦙 */
	CHECK_INT(seq("\x80"), 0);                   /* a continuation byte alone */
	CHECK_INT(seq("\xc0\xaf"), 0);               /* overlong '/' */
	CHECK_INT(seq("\xe0\x80\xaf"), 0);           /* overlong, 3 bytes */
	CHECK_INT(seq("\xed\xa0\x80"), 0);           /* a UTF-16 surrogate */
	CHECK_INT(seq("\xf4\x90\x80\x80"), 0);       /* past U+10FFFF */
	CHECK_INT(seq("\xf5\x80\x80\x80"), 0);
	CHECK_INT(seq("\xe2\x9c"), 0);               /* cut short */
	CHECK_INT(seq("\xc3\x41"), 0);               /* not followed by a continuation */
}

static void test_bad(void)
{
	const char *s = "ok \xc3\xa9 \xff x \x80";

	CHECK_INT(utf8_bad(s, strlen(s), 0), 6);
	CHECK_INT(utf8_bad(s, strlen(s), 7), 10);
	CHECK_INT(utf8_bad(s, strlen(s), 11), strlen(s));
	CHECK_INT(utf8_bad("", 0, 0), 0);
}

static void test_clean(void)
{
	size_t n;
	char *c = utf8_clean("a\xff" "b\xc3\xa9", 5, &n);

	CHECK_STR(c, "a\xef\xbf\xbd" "b\xc3\xa9");
	CHECK_INT(n, 7);
	free(c);
	c = utf8_clean("plain", 5, &n);
	CHECK_STR(c, "plain");
	CHECK_INT(n, 5);
	free(c);
}

/* json_text never serves bytes that are not UTF-8 */
static void test_json_text(void)
{
	cJSON *o = cJSON_CreateObject();
	char *t;

	cJSON_AddStringToObject(o, "probe", "HTTP 500: \xff\xfe body");
	t = json_text(o, NULL);
	CHECK(t != NULL);
	CHECK_INT(utf8_bad(t, strlen(t), 0), strlen(t));
	CHECK(strstr(t, "HTTP 500: \xef\xbf\xbd\xef\xbf\xbd body") != NULL);
	free(t);
	cJSON_Delete(o);
}

int main(void)
{
	test_seq();
	test_bad();
	test_clean();
	test_json_text();
	return test_summary("utf8");
}

/*
 * check.h - the unit test harness: TEST functions, CHECK assertions, a main that runs them.
 *
 * A test file defines `static void test_x(void)` functions with CHECK/CHECK_STR inside and lists
 * them in `TESTS(test_x, test_y)` at the end. Each TEST prints "PASS name" or "FAIL name" on
 * stdout; tests/run.sh adds those lines up into the closing "N passed, N failed" line.
 * A table-driven test reports every failing row, not just the first.
 */
#ifndef MAILSIFT_CHECK_H
#define MAILSIFT_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;        /* failed CHECKs in the current test */

#define CHECK(cond, ...)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			check_failures++;                                             \
			printf("  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                          \
			printf("\n");                                                 \
		}                                                                     \
	} while (0)

#define CHECK_STR(got, want, ctx)                                                     \
	do {                                                                          \
		const char *check_g_ = (got), *check_w_ = (want);                     \
		if ((check_g_ == NULL) != (check_w_ == NULL) ||                       \
		    (check_g_ && strcmp(check_g_, check_w_) != 0)) {                  \
			check_failures++;                                             \
			printf("  %s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__,   \
			       __LINE__, (ctx), check_g_ ? check_g_ : "(null)",       \
			       check_w_ ? check_w_ : "(null)");                       \
		}                                                                     \
	} while (0)

#define CHECK_INT(got, want, ctx)                                                     \
	do {                                                                          \
		long long check_g_ = (long long)(got), check_w_ = (long long)(want);  \
		if (check_g_ != check_w_) {                                           \
			check_failures++;                                             \
			printf("  %s:%d: %s: got %lld, want %lld\n", __FILE__,        \
			       __LINE__, (ctx), check_g_, check_w_);                  \
		}                                                                     \
	} while (0)

struct check_case {
	const char *name;
	void (*fn)(void);
};

#define TESTS(...)                                                                     \
	static void (*const check_fns_[])(void) = {__VA_ARGS__};                       \
	static const char check_names_[] = #__VA_ARGS__;                               \
	int main(void)                                                                 \
	{                                                                              \
		int failed = 0;                                                        \
		const char *p = check_names_;                                          \
		for (size_t i = 0; i < sizeof check_fns_ / sizeof check_fns_[0]; i++) { \
			char name[128];                                                \
			size_t n = 0;                                                  \
			while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t')     \
				p++;                                                   \
			while (*p && *p != ',' && n + 1 < sizeof name)                 \
				name[n++] = *p++;                                      \
			while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\n'))   \
				n--;                                                   \
			name[n] = '\0';                                                \
			check_failures = 0;                                            \
			check_fns_[i]();                                               \
			printf("%s %s\n", check_failures ? "FAIL" : "PASS", name);     \
			fflush(stdout);                                                \
			failed += check_failures != 0;                                 \
		}                                                                      \
		return failed ? 1 : 0;                                                 \
	}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * testlib.h - the few assertions the C test suites share.
 *
 * Each test is a function returning bool; RUN() prints "ok NAME" or
 * "not ok NAME" (tests/run.sh counts those lines). ASSERT_* evaluate each
 * argument once, say what was expected and what came, and return false from
 * the test on failure.
 */
#ifndef MTS_TESTLIB_H
#define MTS_TESTLIB_H

#include <stdbool.h>
#include <stdio.h>

static int tl_passed, tl_failed;

#define ASSERT_TRUE(cond, what) do {						\
	if (!(cond)) {								\
		fprintf(stderr, "  %s:%d: %s: expected true\n", __FILE__, __LINE__, what); \
		return false;							\
	}									\
} while (0)

#define ASSERT_EQ(got, want, what) do {						\
	long long g_ = (long long)(got), w_ = (long long)(want);		\
	if (g_ != w_) {								\
		fprintf(stderr, "  %s:%d: %s: got %lld, want %lld\n",		\
			__FILE__, __LINE__, what, g_, w_);			\
		return false;							\
	}									\
} while (0)

#define ASSERT_STREQ(got, want, what) do {					\
	const char *g_ = (got), *w_ = (want);					\
	if (!g_ || strcmp(g_, w_)) {						\
		fprintf(stderr, "  %s:%d: %s: got \"%s\", want \"%s\"\n",	\
			__FILE__, __LINE__, what, g_ ? g_ : "(null)", w_);	\
		return false;							\
	}									\
} while (0)

#define RUN(fn) do {								\
	if (fn()) {								\
		tl_passed++;							\
		printf("ok %s\n", #fn);						\
	} else {								\
		tl_failed++;							\
		printf("not ok %s\n", #fn);					\
	}									\
	fflush(stdout);								\
} while (0)

#define TL_EXIT() (tl_failed ? 1 : 0)

#endif

/*
 * fdlimit - the open files limit: raise the soft limit to the hard one, say what it is.
 */
#ifndef MAILSIFT_COMMON_FDLIMIT_H
#define MAILSIFT_COMMON_FDLIMIT_H

/* fd_limit_raise - raise RLIMIT_NOFILE's soft limit to its hard limit; the soft limit it
 * ends at, or -1 when there is none (unlimited, or unknown) */
long fd_limit_raise(void);

#endif

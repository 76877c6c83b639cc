/*
 * tmpdir.h - the private temp directory of a unit test program: made under $TMPDIR (else /tmp)
 * when a test first needs it, removed with the files in it at exit.
 *
 * One directory a test program, named in `tmpdir`: tmpdir_make makes it on the first call and
 * later calls find it made, so a test may call it before every file it writes, and a test's own
 * files and a daemon.h server's config and log would share it. The exit hook removes plain files
 * (and FIFOs), not subdirectories: the tests make none. A test that crashes runs no exit hooks
 * and leaves the directory behind; its name, PREFIX.XXXXXX, says which test it was.
 */
#ifndef MAILSIFT_TMPDIR_H
#define MAILSIFT_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[512];          /* the directory; "" until tmpdir_make made it */

/* tmpdir_remove - the exit hook: the directory's files, then the directory */
static void tmpdir_remove(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[1024];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

/* tmpdir_make - make the directory PREFIX.XXXXXX (PREFIX: the test's name, e.g. "test_csv")
 * under $TMPDIR, else /tmp, and have it removed at exit; 0 at once when it exists already.
 * 0, or -1 with errno set by mkdtemp */
static int tmpdir_make(const char *prefix)
{
	const char *t = getenv("TMPDIR");

	if (tmpdir[0] != '\0')
		return 0;
	snprintf(tmpdir, sizeof tmpdir, "%s/%s.XXXXXX", t && *t ? t : "/tmp", prefix);
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';     /* still no directory: nothing to remove, a later call tries again */
		return -1;
	}
	atexit(tmpdir_remove);
	return 0;
}

#endif

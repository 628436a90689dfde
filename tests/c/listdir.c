/* listdir: list a directory through one of libc's directory interfaces, so
 * the tests can check the merged view of a redirected directory through
 * every entry point (tests/redirect-view.bats).
 *
 *   listdir MODE DIR
 *
 * MODE:
 *   readdir     opendir + readdir
 *   readdir64   opendir + readdir64
 *   readdir_r   opendir + readdir_r
 *   fdopendir   open(O_DIRECTORY) + fdopendir + readdir
 *   scandir     scandir (alphasort)
 *   scandir64   scandir64 (alphasort64)
 *   twice       opendir, read to the end, rewinddir, read again: both passes
 *               must give the same names (printed once)
 *   seek        opendir; telldir before each readdir; then seekdir back to
 *               every recorded position, last first, and readdir must give
 *               the entry first read there; prints the names once
 *
 * Prints "NAME TYPE" per entry ("." and ".." left out), TYPE one of dir,
 * reg, lnk, unknown, other, sorted by name (C locale), then "count N".
 * On a failure prints "error WHAT: ERRNO-TEXT" and exits 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ENTRIES 4096

struct entry {
	char name[256];
	unsigned char type;
};

static struct entry found[MAX_ENTRIES];
static int nfound;

static void die(const char *what)
{
	printf("error %s: %s\n", what, strerror(errno));
	exit(1);
}

static void add(const char *name, unsigned char type)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return;
	if (nfound == MAX_ENTRIES) {
		printf("error too many entries\n");
		exit(1);
	}
	snprintf(found[nfound].name, sizeof found[nfound].name, "%s", name);
	found[nfound++].type = type;
}

static const char *type_name(unsigned char t)
{
	switch (t) {
	case DT_DIR: return "dir";
	case DT_REG: return "reg";
	case DT_LNK: return "lnk";
	case DT_UNKNOWN: return "unknown";
	}
	return "other";
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void print(void)
{
	qsort(found, (size_t)nfound, sizeof *found, by_name);
	for (int i = 0; i < nfound; i++) {
		if (i && strcmp(found[i].name, found[i - 1].name) == 0) {
			printf("error %s listed twice\n", found[i].name);
			exit(1);
		}
		printf("%s %s\n", found[i].name, type_name(found[i].type));
	}
	printf("count %d\n", nfound);
}

/* Read DIR to its end with readdir; errno must stay 0 at the end. */
static void read_all(DIR *d)
{
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)))
		add(e->d_name, e->d_type);
	if (errno)
		die("readdir");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: listdir MODE DIR\n");
		return 2;
	}
	const char *mode = argv[1], *dir = argv[2];
	DIR *d;
	if (strcmp(mode, "readdir") == 0) {
		if (!(d = opendir(dir)))
			die("opendir");
		read_all(d);
		closedir(d);
	} else if (strcmp(mode, "readdir64") == 0) {
		struct dirent64 *e;
		if (!(d = opendir(dir)))
			die("opendir");
		errno = 0;
		while ((e = readdir64(d)))
			add(e->d_name, e->d_type);
		if (errno)
			die("readdir64");
		closedir(d);
	} else if (strcmp(mode, "readdir_r") == 0) {
		struct dirent buf, *e;
		int rc;
		if (!(d = opendir(dir)))
			die("opendir");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		while ((rc = readdir_r(d, &buf, &e)) == 0 && e)
			add(e->d_name, e->d_type);
#pragma GCC diagnostic pop
		if (rc) {
			errno = rc;
			die("readdir_r");
		}
		closedir(d);
	} else if (strcmp(mode, "fdopendir") == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die("open");
		if (!(d = fdopendir(fd)))
			die("fdopendir");
		if (dirfd(d) != fd) {
			printf("error dirfd gives %d, not %d\n", dirfd(d), fd);
			return 1;
		}
		read_all(d);
		closedir(d);
	} else if (strcmp(mode, "scandir") == 0) {
		struct dirent **list;
		int n = scandir(dir, &list, NULL, alphasort);
		if (n < 0)
			die("scandir");
		for (int i = 0; i < n; i++) {
			add(list[i]->d_name, list[i]->d_type);
			if (i && strcmp(list[i - 1]->d_name, list[i]->d_name) > 0) {
				printf("error scandir did not sort\n");
				return 1;
			}
			free(list[i]);
		}
		free(list);
	} else if (strcmp(mode, "scandir64") == 0) {
		struct dirent64 **list;
		int n = scandir64(dir, &list, NULL, alphasort64);
		if (n < 0)
			die("scandir64");
		for (int i = 0; i < n; i++) {
			add(list[i]->d_name, list[i]->d_type);
			free(list[i]);
		}
		free(list);
	} else if (strcmp(mode, "twice") == 0) {
		if (!(d = opendir(dir)))
			die("opendir");
		read_all(d);
		int first = nfound;
		static struct entry saved[MAX_ENTRIES];
		memcpy(saved, found, sizeof *found * (size_t)first);
		nfound = 0;
		rewinddir(d);
		read_all(d);
		closedir(d);
		qsort(saved, (size_t)first, sizeof *saved, by_name);
		qsort(found, (size_t)nfound, sizeof *found, by_name);
		if (first != nfound) {
			printf("error first pass %d entries, after rewinddir %d\n", first, nfound);
			return 1;
		}
		for (int i = 0; i < nfound; i++)
			if (strcmp(saved[i].name, found[i].name) || saved[i].type != found[i].type) {
				printf("error after rewinddir %s, first pass %s\n", found[i].name, saved[i].name);
				return 1;
			}
	} else if (strcmp(mode, "seek") == 0) {
		static long pos[MAX_ENTRIES];
		static char name[MAX_ENTRIES][256];
		int n = 0;
		struct dirent *e;
		if (!(d = opendir(dir)))
			die("opendir");
		for (;;) {
			long p = telldir(d);
			errno = 0;
			if (!(e = readdir(d)))
				break;
			if (n == MAX_ENTRIES)
				break;
			pos[n] = p;
			snprintf(name[n], sizeof name[n], "%s", e->d_name);
			add(e->d_name, e->d_type);
			n++;
		}
		if (errno)
			die("readdir");
		for (int i = n - 1; i >= 0; i--) {
			seekdir(d, pos[i]);
			errno = 0;
			if (!(e = readdir(d))) {
				printf("error readdir after seekdir to entry %d (%s) gave nothing\n", i, name[i]);
				return 1;
			}
			if (strcmp(e->d_name, name[i])) {
				printf("error seekdir to entry %d: read %s, want %s\n", i, e->d_name, name[i]);
				return 1;
			}
		}
		closedir(d);
	} else {
		fprintf(stderr, "listdir: unknown mode %s\n", mode);
		return 2;
	}
	print();
	return 0;
}

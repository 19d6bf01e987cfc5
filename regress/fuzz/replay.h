/*
 * Replay fuzz inputs through a target in a cmocka test: the test
 * includes the target's source, so that the inputs take the very path
 * `make fuzz` takes, here under the normal and the SANITIZE=1 builds.
 *
 * One test replays the whole seed corpus of the target; each file
 * regress/fuzz/found/NAME-* (an input that once crashed the target) is a
 * test of its own, named after the file.  Tests run from the top of the
 * tree.
 */

#ifndef REGRESS_FUZZ_REPLAY_H
#define REGRESS_FUZZ_REPLAY_H

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_CORPUS	"regress/fuzz/corpus"
#define REPLAY_FOUND	"regress/fuzz/found"
/* Findings per target: far more than a target should ever have. */
#define REPLAY_FOUND_MAX	256
/* Paths: the directory, a file name, and a separator. */
#define REPLAY_PATH_MAX	512
/* An input that ran into a loop once must fail, not hang: SIGALRM ends
 * the test after this long, far more than any input needs. */
#define REPLAY_SECONDS	20

/* Read one file and run it through the target. */
static void
replay_file(const char *path)
{
	struct stat	 st;
	uint8_t		*buf;
	FILE		*f;

	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f),
	    (size_t)st.st_size);
	fclose(f);
	alarm(REPLAY_SECONDS);
	LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
	alarm(0);
	free(buf);
}

static int
replay_is_input(const struct dirent *d, const char *prefix)
{
	return d->d_name[0] != '.' &&
	    strncmp(d->d_name, prefix, strlen(prefix)) == 0;
}

/* The sorted names in dir that start with prefix; *n of them. */
static char **
replay_list(const char *dir, const char *prefix, size_t *n)
{
	struct dirent	**ents;
	char		**names;
	int		  i, k;

	*n = 0;
	if ((k = scandir(dir, &ents, NULL, alphasort)) == -1)
		return NULL;
	names = calloc((size_t)k + 1, sizeof(*names));
	assert_non_null(names);
	for (i = 0; i < k; i++) {
		if (replay_is_input(ents[i], prefix)) {
			names[*n] = strdup(ents[i]->d_name);
			assert_non_null(names[*n]);
			(*n)++;
		}
		free(ents[i]);
	}
	free(ents);
	return names;
}

static void
replay_free(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* cmocka test: every seed of the target (the state is its name). */
static void
replay_corpus(void **state)
{
	char	  dir[REPLAY_PATH_MAX], path[REPLAY_PATH_MAX];
	char	**names;
	size_t	  n, i;

	snprintf(dir, sizeof(dir), "%s/%s", REPLAY_CORPUS,
	    (const char *)*state);
	names = replay_list(dir, "", &n);
	if (n == 0)
		fail_msg("%s: no seeds (run the tests from the top of the "
		    "tree)", dir);
	for (i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path))
			fail_msg("%s/%s: path too long", dir, names[i]);
		replay_file(path);
	}
	replay_free(names, n);
}

/* cmocka test: one finding (the state is its path). */
static void
replay_found(void **state)
{
	replay_file(*state);
}

/*
 * Run the corpus test and one test per finding of the target `name`:
 * what main() returns.
 */
static int
replay_run(const char *name)
{
	struct CMUnitTest	 tests[REPLAY_FOUND_MAX + 1];
	char			 group[64], prefix[64];
	char			 paths[REPLAY_FOUND_MAX][REPLAY_PATH_MAX];
	char			**names;
	size_t			 n, i;
	int			 rv;

	snprintf(prefix, sizeof(prefix), "%s-", name);
	names = replay_list(REPLAY_FOUND, prefix, &n);
	if (n > REPLAY_FOUND_MAX) {
		fprintf(stderr, "%s: more than %d findings for %s\n",
		    REPLAY_FOUND, REPLAY_FOUND_MAX, name);
		replay_free(names, n);
		return 1;
	}
	memset(tests, 0, sizeof(tests));
	tests[0].name = "corpus";
	tests[0].test_func = replay_corpus;
	tests[0].initial_state = (void *)(uintptr_t)name;
	for (i = 0; i < n; i++) {
		if (snprintf(paths[i], sizeof(paths[i]), "%s/%s",
		    REPLAY_FOUND, names[i]) >= (int)sizeof(paths[i])) {
			fprintf(stderr, "%s: path too long\n", names[i]);
			replay_free(names, n);
			return 1;
		}
		tests[i + 1].name = names[i];
		tests[i + 1].test_func = replay_found;
		tests[i + 1].initial_state = paths[i];
	}
	snprintf(group, sizeof(group), "fuzz-%s replay", name);
	rv = _cmocka_run_group_tests(group, tests, n + 1, NULL, NULL);
	replay_free(names, n);
	return rv;
}

#endif /* REGRESS_FUZZ_REPLAY_H */

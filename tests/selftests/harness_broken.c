// SPDX-License-Identifier: GPL-2.0
/*
 * harness_broken - a test that is broken on purpose.
 *
 * It exists to prove that the VM harness (tests/vm/) turns red: a check
 * that cannot see a failing or hanging test cannot be trusted to see a
 * broken module either.
 *
 *   harness_broken fail     TAP plan of 1, "not ok 1", exit status 1
 *   harness_broken hang     TAP plan of 1, then sleeps forever
 *   harness_broken todo     "ok 1", then "not ok 2 ... # TODO", exit status 0
 *   harness_broken exit127  "ok 1", then exit status 127 (what a shell
 *                           returns for a command it cannot find)
 *   harness_broken pass     "ok 1", exit status 0: the one healthy mode,
 *                           for variants whose breakage is in how they are
 *                           built (tests/vm/selftest-harness.sh links one
 *                           dynamically)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const modes[] = { "fail", "hang", "todo", "exit127", "pass" };

int main(int argc, char **argv)
{
	const char *m = argc == 2 ? argv[1] : "";
	unsigned int i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(m, modes[i]))
			break;
	if (i == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "usage: %s fail|hang|todo|exit127|pass\n", argv[0]);
		return 2;
	}

	printf("TAP version 13\n1..%d\n", strcmp(m, "todo") ? 1 : 2);
	fflush(stdout);

	if (!strcmp(m, "fail")) {
		printf("not ok 1 deliberate failure\n");
		fflush(stdout);
		return 1;
	}
	if (!strcmp(m, "hang")) {
		for (;;)
			pause();
	}

	printf("ok 1 nothing wrong here\n");
	if (!strcmp(m, "todo"))
		printf("not ok 2 deliberate failure # TODO not done yet\n");
	fflush(stdout);
	return strcmp(m, "exit127") ? 0 : 127;
}

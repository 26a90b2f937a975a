// SPDX-License-Identifier: GPL-2.0
/*
 * harness_broken - a test that is broken on purpose.
 *
 * It exists to prove that the VM harness (tests/vm/) turns red: a check
 * that cannot see a failing or hanging test cannot be trusted to see a
 * broken module either.
 *
 *   harness_broken fail   TAP plan of 1, "not ok 1", exit status 1
 *   harness_broken hang   TAP plan of 1, then sleeps forever
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "fail") && strcmp(argv[1], "hang"))) {
		fprintf(stderr, "usage: %s fail|hang\n", argv[0]);
		return 2;
	}

	printf("TAP version 13\n1..1\n");
	fflush(stdout);

	if (!strcmp(argv[1], "fail")) {
		printf("not ok 1 deliberate failure\n");
		fflush(stdout);
		return 1;
	}

	for (;;)
		pause();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_bench - cost of creating and deleting the maximum number of
 * memslots, run beside stock KVM on the same VM so the ratio means
 * something.  KVM keeps memslots in trees plus an SRCU-swapped pair of
 * sets, so each update is O(log n) plus a grace period; a module that
 * copies the whole slot array per update shows up here as quadratic.
 *
 * Creates N one-page slots (default 32764, KVM's x86 maximum) at
 * distinct GPAs, all backed by the same host page, then deletes them.
 * Prints one machine-readable line per phase:
 *
 *   bench memslot_create_<N> <seconds>
 *   bench memslot_delete_<N> <seconds>
 *
 * Usage: memslot_bench [N]    (device from $KVMMU_DEV)
 * Exit status 0 only if every ioctl succeeded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmmu_util.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long nr = KVM612_USER_MEM_SLOTS, i;
	double t0, t_create, t_delete;
	int devfd, vmfd, r;
	char *end;
	void *page;
	uint64_t hva;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [nr_slots]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		nr = strtoul(argv[1], &end, 0);
		if (*end || !nr || nr > 0x10000) {
			fprintf(stderr, "bad slot count %s\n", argv[1]);
			return 2;
		}
	}

	devfd = kvmmu_open_dev();
	if (devfd < 0) {
		fprintf(stderr, "open %s: %s\n", kvmmu_dev_path(),
			strerror(-devfd));
		return 1;
	}
	vmfd = kvmmu_create_vm(devfd, 0);
	page = kvmmu_alloc(KVMMU_PAGE_SIZE);
	if (vmfd < 0 || !page) {
		fprintf(stderr, "KVM_CREATE_VM or mmap failed\n");
		return 1;
	}
	hva = (uint64_t)(unsigned long)page;
	printf("# device %s, %lu slots, KVM_CAP_NR_MEMSLOTS %d\n",
	       kvmmu_dev_path(), nr,
	       kvmmu_check_extension(vmfd, KVM_CAP_NR_MEMSLOTS));

	t0 = now();
	for (i = 0; i < nr; i++) {
		r = kvmmu_set_region(vmfd, i, 0, i * KVMMU_PAGE_SIZE,
				     KVMMU_PAGE_SIZE, hva);
		if (r) {
			fprintf(stderr, "create slot %lu: %s\n", i,
				strerror(-r));
			return 1;
		}
	}
	t_create = now() - t0;
	printf("bench memslot_create_%lu %.6f\n", nr, t_create);
	fflush(stdout);

	t0 = now();
	for (i = 0; i < nr; i++) {
		r = kvmmu_delete_region(vmfd, i);
		if (r) {
			fprintf(stderr, "delete slot %lu: %s\n", i,
				strerror(-r));
			return 1;
		}
	}
	t_delete = now() - t0;
	printf("bench memslot_delete_%lu %.6f\n", nr, t_delete);

	close(vmfd);
	close(devfd);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * gpa-pagemap - where does a guest physical address live?
 *
 *   gpa-pagemap <pid> <vmfd> <gpa> [<pages>]
 *
 * For the VM that process <pid> created as fd <vmfd> on kvmmu, prints for
 * each 4K page from <gpa> (default 1 page) the whole chain
 *
 *   GPA -> memslot -> HVA -> host PFN (from the NPT) -> NPT leaf level
 *
 * read from the VM's debugfs files (memslots, pagemap), and beside it the
 * host's own view of that HVA from /proc/<pid>/pagemap, so that the two can
 * be compared: "=" when the NPT maps the page the host has at the HVA, "!"
 * when both have a page and they differ (a stale mapping would show so),
 * "." when one side has none (the guest has not touched it, or the host
 * swapped or dropped it; the NPT then maps nothing either).
 *
 * Output, one line per page (hex with 0x, '-' for none):
 *
 *   gpa slot hva npt_pfn level flags host_pfn cmp
 *
 * flags: w writable, a accessed, d dirty (the leaf's bits), l the slot logs
 * dirty pages, L the page is in the dirty log; '-' for each clear one.
 * Needs root (debugfs, and host PFNs in /proc/<pid>/pagemap).
 * Exit status: 0, 1 on usage or I/O errors, 2 if a '!' was printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../pagemap.h"

#define PAGE		4096ULL
#define DEBUGFS		"/sys/kernel/debug/kvmmu"
#define MAX_SLOTS	4096

struct slot {
	unsigned int as, id;
	uint64_t gpa, gpa_end, hva;	/* gpa_end inclusive */
};

static int read_slots(int pid, int vmfd, struct slot *s, int max)
{
	char path[256], line[512];
	struct slot x;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%d-%d/memslots", pid, vmfd);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "gpa-pagemap: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t hva_end, npages;
		unsigned int flags;

		if (sscanf(line, "%u %u %" SCNx64 "-%" SCNx64 " %" SCNx64
			   "-%" SCNx64 " %x %" SCNu64, &x.as, &x.id, &x.gpa,
			   &x.gpa_end, &x.hva, &hva_end, &flags, &npages) != 8)
			continue;	/* the header */
		if (x.as == 0 && n < max)
			s[n++] = x;
	}
	fclose(f);
	return n;
}

static int read_u64(int fd, uint64_t index, uint64_t *v)
{
	return pread(fd, v, sizeof(*v), index * sizeof(*v)) == sizeof(*v) ?
	       0 : -1;
}

static const char *const level_name[] = { "4K", "2M", "1G", "?" };

int main(int argc, char **argv)
{
	static struct slot slots[MAX_SLOTS];
	int pid, vmfd, nslots, pm, host, i, status = 0;
	uint64_t gpa, pages = 1, p;
	char path[256];

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: gpa-pagemap <pid> <vmfd> <gpa> [<pages>]\n");
		return 1;
	}
	pid = atoi(argv[1]);
	vmfd = atoi(argv[2]);
	gpa = strtoull(argv[3], NULL, 0) & ~(PAGE - 1);
	if (argc == 5)
		pages = strtoull(argv[4], NULL, 0);

	nslots = read_slots(pid, vmfd, slots, MAX_SLOTS);
	if (nslots < 0)
		return 1;
	snprintf(path, sizeof(path), DEBUGFS "/%d-%d/pagemap", pid, vmfd);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		fprintf(stderr, "gpa-pagemap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	host = open(path, O_RDONLY | O_CLOEXEC);
	if (host < 0) {
		fprintf(stderr, "gpa-pagemap: %s: %s\n", path, strerror(errno));
		return 1;
	}

	printf("%-18s %-5s %-18s %-12s %-5s %-5s %-12s %s\n", "gpa", "slot",
	       "hva", "npt_pfn", "level", "flags", "host_pfn", "cmp");
	for (p = 0; p < pages; p++, gpa += PAGE) {
		uint64_t e, h = 0, hva = 0, hpfn = 0, npfn;
		const struct slot *s = NULL;
		char slotstr[16] = "-", hvastr[24] = "-", npt[24] = "-";
		char hoststr[24] = "-", flags[6];
		char cmp = '.';

		for (i = 0; i < nslots; i++)
			if (gpa >= slots[i].gpa && gpa <= slots[i].gpa_end)
				s = &slots[i];
		if (read_u64(pm, gpa / PAGE, &e)) {
			fprintf(stderr, "gpa-pagemap: GPA 0x%" PRIx64
				" beyond the guest MAXPHYADDR\n", gpa);
			return 1;
		}
		if (s) {
			hva = s->hva + (gpa - s->gpa);
			snprintf(slotstr, sizeof(slotstr), "%u", s->id);
			snprintf(hvastr, sizeof(hvastr), "0x%016" PRIx64, hva);
			if (read_u64(host, hva / PAGE, &h) == 0 &&
			    (h & (1ULL << 63)))
				hpfn = h & ((1ULL << 55) - 1);
			if (hpfn)
				snprintf(hoststr, sizeof(hoststr),
					 "0x%" PRIx64, hpfn);
		}
		npfn = e & KVMMU_PM_PFN_MASK;
		if (e & KVMMU_PM_PRESENT)
			snprintf(npt, sizeof(npt), "0x%" PRIx64, npfn);
		snprintf(flags, sizeof(flags), "%c%c%c%c%c",
			 e & KVMMU_PM_WRITABLE ? 'w' : '-',
			 e & KVMMU_PM_ACCESSED ? 'a' : '-',
			 e & KVMMU_PM_DIRTY ? 'd' : '-',
			 e & KVMMU_PM_LOGGING ? 'l' : '-',
			 e & KVMMU_PM_LOGGED ? 'L' : '-');
		if ((e & KVMMU_PM_PRESENT) && hpfn) {
			cmp = npfn == hpfn ? '=' : '!';
			if (cmp == '!')
				status = 2;
		}
		printf("0x%016" PRIx64 " %-5s %-18s %-12s %-5s %-5s %-12s %c\n",
		       gpa, slotstr, hvastr, npt,
		       e & KVMMU_PM_PRESENT ?
		       level_name[(e & KVMMU_PM_LEVEL_MASK) >>
				  KVMMU_PM_LEVEL_SHIFT] : "-",
		       flags, hoststr, cmp);
	}
	close(pm);
	close(host);
	return status;
}

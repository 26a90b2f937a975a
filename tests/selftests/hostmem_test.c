// SPDX-License-Identifier: GPL-2.0
/*
 * hostmem_test - guest memory that is not plain anonymous RAM, and what a
 * guest's use of memory tells the host (issue 15, section 6).
 *
 * The same binary runs against stock kvm_amd (KVMMU_STOCK=1), the control
 * that proves each expectation is KVM's, and against kvmmu. The guest is
 * lib/guest32.h: flat 32-bit, driven one memory operation at a time.
 *
 * A precondition that is missing skips a test, unless the environment
 * says it must be there (the VM harness does): KVMMU_REQUIRE_IVSHMEM=1,
 * KVMMU_REQUIRE_PAGE_IDLE=1. Then it fails.
 *
 *   pfnmap_bar_memslot
 *	(Skips without a QEMU ivshmem-plain device, PCI 1af4:1110, which
 *	the VM harness always adds, or when its BAR cannot be mmapped.)
 *	BAR 2 of the device (RAM in QEMU) is mmapped through sysfs
 *	resource2, a VM_IO | VM_PFNMAP mapping that GUP refuses, and
 *	registered as a memslot. The guest writes a dword there and reads
 *	one the VMM wrote. Asserts: the guest reads the VMM's value, and
 *	the guest's write is seen through a second, independent mmap of
 *	the BAR. A read-only mmap of the BAR at another GPA: the guest
 *	reads the VMM's value there, and its write exits KVM_EXIT_MMIO with
 *	that GPA, length and data (KVM's KVM_PFN_ERR_RO_FAULT). Why: KVM
 *	maps such HVAs (hva_to_pfn_remapped()); the module used to fail
 *	KVM_RUN with EFAULT, so device memory could not back a guest.
 *
 *   zapped_accessed_reaches_page
 *	(Skips without /sys/kernel/mm/page_idle/bitmap, i.e. without
 *	CONFIG_IDLE_PAGE_TRACKING: the debug kernel has it, Debian's do
 *	not; or when /proc/self/pagemap hides PFNs.) A one-page slot whose
 *	page the guest has read is marked idle (which clears the young bit
 *	of the host PTE and, through the mmu notifier, the accessed bit of
 *	the SPTE) and read back idle. The guest reads it again, then the
 *	slot is deleted, without the VMM touching the page. Asserts: the
 *	page is no longer idle. Why: the guest's access is recorded only in
 *	the SPTE's accessed bit; KVM hands it to the page when the SPTE is
 *	zapped (kvm_set_pfn_accessed() in handle_changed_spte()), or
 *	reclaim takes a page the guest is using for an idle one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "kvmmu_util.h"
#include "guest32.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"
#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define BAR_LEN		0x10000UL	/* mapped of BAR 2 (1 MiB in QEMU) */
#define BAR_GPA		0x100000UL	/* read-write mapping */
#define BAR_RO_OFF	0x8000UL	/* read-only mapping: this offset */
#define BAR_RO_GPA	0x200000UL
#define BAR_SLOT	1
#define BAR_RO_SLOT	2

#define PAGE_IDLE	"/sys/kernel/mm/page_idle/bitmap"
#define IDLE_GPA	0x100000UL
#define IDLE_SLOT	1

#define VMM_VAL		0x600df00du
#define GUEST_VAL	0xc0ffee11u
#define RUN_TIMEOUT	20

/* A sysfs number such as "0x1af4", or -1. */
static long read_hex(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] ? strtol(buf, NULL, 0) : -1;
}

/* The sysfs directory of the first ivshmem-plain device, or false. */
static bool find_ivshmem(char *dir, size_t len)
{
	struct dirent *d;
	bool found = false;
	DIR *pci;

	pci = opendir(PCI_DEVICES);
	if (!pci)
		return false;
	while (!found && (d = readdir(pci))) {
		char path[512];
		long vendor, device;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/vendor",
			 d->d_name);
		vendor = read_hex(path);
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/device",
			 d->d_name);
		device = read_hex(path);
		if (vendor == IVSHMEM_VENDOR && device == IVSHMEM_DEVICE) {
			snprintf(dir, len, PCI_DEVICES "/%s", d->d_name);
			found = true;
		}
	}
	closedir(pci);
	return found;
}

/* mmap @len bytes of BAR 2 from @off: the mapping or MAP_FAILED. */
static void *map_bar(const char *dir, int prot, size_t len, off_t off)
{
	char path[600];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/resource2", dir);
	fd = open(path, (prot & PROT_WRITE) ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return MAP_FAILED;
	p = mmap(NULL, len, prot, MAP_SHARED, fd, off);
	close(fd);
	return p;
}

/* Whether the environment variable @name is "1". */
static bool required(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "1");
}

static volatile uint32_t *u32_at(void *base, size_t off)
{
	return (volatile uint32_t *)((char *)base + off);
}

TEST(pfnmap_bar_memslot)
{
	void *bar, *bar2, *ro;
	struct g32_vcpu v;
	struct g32_vm vm;
	char dir[512];
	char path[600];
	int r;

	if (!find_ivshmem(dir, sizeof(dir)))
		ASSERT_FALSE(required("KVMMU_REQUIRE_IVSHMEM"))
			TH_LOG("no ivshmem-plain device, and the harness adds one");
	if (!find_ivshmem(dir, sizeof(dir)))
		SKIP(return, "no ivshmem-plain device (PCI %04x:%04x)",
		     IVSHMEM_VENDOR, IVSHMEM_DEVICE);
	/* Memory decoding on; SeaBIOS assigned the BAR. */
	snprintf(path, sizeof(path), "%s/enable", dir);
	r = kvmmu_write_file(path, "1");
	ASSERT_EQ(0, r) TH_LOG("%s: %s", path, strerror(-r));

	bar = map_bar(dir, PROT_READ | PROT_WRITE, BAR_LEN, 0);
	if (bar == MAP_FAILED && required("KVMMU_REQUIRE_IVSHMEM"))
		ASSERT_NE(MAP_FAILED, bar) TH_LOG("mmap of %s/resource2: %s",
						  dir, strerror(errno));
	if (bar == MAP_FAILED)
		SKIP(return, "mmap of %s/resource2: %s", dir, strerror(errno));
	bar2 = map_bar(dir, PROT_READ, BAR_LEN, 0);
	ASSERT_NE(MAP_FAILED, bar2) TH_LOG("second mmap: %s", strerror(errno));
	ro = map_bar(dir, PROT_READ, BAR_LEN - BAR_RO_OFF, BAR_RO_OFF);
	ASSERT_NE(MAP_FAILED, ro) TH_LOG("read-only mmap: %s", strerror(errno));

	*u32_at(bar, 0) = 0;
	*u32_at(bar, 4) = VMM_VAL;
	*u32_at(bar, BAR_RO_OFF) = VMM_VAL + 1;
	*u32_at(bar, BAR_RO_OFF + 8) = 0;

	ASSERT_EQ(0, g32_vm_create(&vm));
	ASSERT_EQ(0, g32_vcpu_create(&vm, &v, 0));
	r = kvmmu_set_region(vm.vmfd, BAR_SLOT, 0, BAR_GPA, BAR_LEN,
			     (uintptr_t)bar);
	ASSERT_EQ(0, r) TH_LOG("memslot on the BAR: %s", strerror(-r));
	r = kvmmu_set_region(vm.vmfd, BAR_RO_SLOT, 0, BAR_RO_GPA,
			     BAR_LEN - BAR_RO_OFF, (uintptr_t)ro);
	ASSERT_EQ(0, r) TH_LOG("memslot on the read-only BAR: %s",
			       strerror(-r));
	g32_alarm(RUN_TIMEOUT);

	g32_step = "guest write to the BAR";
	r = g32_do(&v, G32_W32, BAR_GPA, GUEST_VAL, 0);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", g32_exit_str(&v));
	g32_step = "guest read of the BAR";
	r = g32_do(&v, G32_R32, BAR_GPA + 4, 0, 0);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", g32_exit_str(&v));
	EXPECT_EQ(VMM_VAL, g32_ecx(&v));
	EXPECT_EQ(GUEST_VAL, *u32_at(bar2, 0));
	EXPECT_EQ(GUEST_VAL, *u32_at(bar, 0));

	g32_step = "guest read of the read-only BAR";
	r = g32_do(&v, G32_R32, BAR_RO_GPA, 0, 0);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", g32_exit_str(&v));
	EXPECT_EQ(VMM_VAL + 1, g32_ecx(&v));

	g32_step = "guest write to the read-only BAR";
	r = g32_do(&v, G32_W32, BAR_RO_GPA + 8, GUEST_VAL, 0);
	ASSERT_EQ(G32_MMIO, r) TH_LOG("%s", g32_exit_str(&v));
	EXPECT_EQ(BAR_RO_GPA + 8, v.run->mmio.phys_addr);
	EXPECT_EQ(1, v.run->mmio.is_write);
	EXPECT_EQ(4, v.run->mmio.len);
	EXPECT_EQ(GUEST_VAL, *(uint32_t *)v.run->mmio.data);
	r = g32_run(&v);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", g32_exit_str(&v));
	/* MMIO went to the VMM, not to the device. */
	EXPECT_EQ(0, *u32_at(bar, BAR_RO_OFF + 8));
	alarm(0);

	g32_vcpu_destroy(&v);
	g32_vm_destroy(&vm);
	munmap(ro, BAR_LEN - BAR_RO_OFF);
	munmap(bar2, BAR_LEN);
	munmap(bar, BAR_LEN);
}

/* The page_idle bit of @pfn: 1 idle, 0 not, -errno. */
static int idle_get(uint64_t pfn)
{
	uint64_t word;
	int fd, n;

	fd = open(PAGE_IDLE, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, &word, sizeof(word), pfn / 64 * 8);
	close(fd);
	if (n != sizeof(word))
		return n < 0 ? -errno : -EIO;
	return (word >> (pfn % 64)) & 1;
}

static int idle_set(uint64_t pfn)
{
	uint64_t word = 1ULL << (pfn % 64);
	int fd, n;

	fd = open(PAGE_IDLE, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = pwrite(fd, &word, sizeof(word), pfn / 64 * 8);
	close(fd);
	return n == sizeof(word) ? 0 : n < 0 ? -errno : -EIO;
}

TEST(zapped_accessed_reaches_page)
{
	struct g32_vcpu v;
	struct g32_vm vm;
	uint64_t pfn;
	int r, idle, tries;
	void *page;

	if (access(PAGE_IDLE, R_OK | W_OK))
		ASSERT_FALSE(required("KVMMU_REQUIRE_PAGE_IDLE"))
			TH_LOG("%s: %s, but the kernel has IDLE_PAGE_TRACKING",
			       PAGE_IDLE, strerror(errno));
	if (access(PAGE_IDLE, R_OK | W_OK))
		SKIP(return, "%s: %s (no CONFIG_IDLE_PAGE_TRACKING)",
		     PAGE_IDLE, strerror(errno));
	page = g32_map_anon(G32_PAGE);
	ASSERT_NE(NULL, page);
	memset(page, 0x11, G32_PAGE);
	pfn = g32_pagemap_pfn(page);
	if (!pfn)
		SKIP(return, "/proc/self/pagemap hides PFNs");

	ASSERT_EQ(0, g32_vm_create(&vm));
	ASSERT_EQ(0, g32_vcpu_create(&vm, &v, 0));
	r = kvmmu_set_region(vm.vmfd, IDLE_SLOT, 0, IDLE_GPA, G32_PAGE,
			     (uintptr_t)page);
	ASSERT_EQ(0, r) TH_LOG("%s", strerror(-r));
	g32_alarm(RUN_TIMEOUT);
	g32_step = "first guest read";
	r = g32_do(&v, G32_R32, IDLE_GPA, 0, 0);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", g32_exit_str(&v));
	ASSERT_EQ(0x11111111u, g32_ecx(&v));

	/*
	 * Only a page on an LRU list can be marked idle; a new page may
	 * still wait in a per-CPU batch, which drop_caches drains.
	 */
	for (tries = 0; tries < 10; tries++) {
		ASSERT_EQ(0, idle_set(pfn));
		idle = idle_get(pfn);
		ASSERT_LE(0, idle) TH_LOG("%s: %s", PAGE_IDLE,
					  strerror(-idle));
		if (idle)
			break;
		kvmmu_write_file("/proc/sys/vm/drop_caches", "1");
		usleep(100000);
	}
	ASSERT_EQ(1, idle) TH_LOG("the page never read back idle");
	/* The guest page is still the one we asked about. */
	ASSERT_EQ(pfn, g32_pagemap_pfn(page));

	g32_step = "second guest read";
	r = g32_do(&v, G32_R32, IDLE_GPA, 0, 0);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", g32_exit_str(&v));
	ASSERT_EQ(0x11111111u, g32_ecx(&v));
	alarm(0);

	r = kvmmu_delete_region(vm.vmfd, IDLE_SLOT);
	ASSERT_EQ(0, r) TH_LOG("%s", strerror(-r));
	idle = idle_get(pfn);
	EXPECT_EQ(0, idle) TH_LOG("the guest's read after the page was marked idle was lost with its SPTE");

	g32_vcpu_destroy(&v);
	g32_vm_destroy(&vm);
	munmap(page, G32_PAGE);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * failnth_test - every allocation an operation makes, failed in turn.
 *
 * The kernel's fail-nth (/proc/thread-self/fail-nth, CONFIG_FAULT_INJECTION)
 * makes the N-th fault-injection point this thread passes fail: with
 * failslab and fail_page_alloc set to consider every allocation (sleeping
 * ones, highmem ones, order 0), that is the N-th slab or page allocation.
 * Each operation below (an ioctl, a guest run that faults pages in, an
 * madvise that reaches the mmu notifier, ...) is repeated with N = 1, 2,
 * ... on a fresh VM in a fresh process until runs pass no injection point
 * any more; so every allocation the operation reaches fails once, in kvmmu
 * and in the core kernel code it calls.
 *
 * After each injected failure the operation must have failed with a clean
 * errno (ENOMEM; EFAULT for a guest run whose GUP failed, as in KVM) or
 * succeeded (a fault that is simply retried), and the VM must work: what
 * the operation did not do is not half done (a failed memslot change left
 * the old slot, a failed GET_DIRTY_LOG lost no page), and doing it again
 * without injection works. Leaks show in the harness' kmemleak scan, any
 * WARN, KASAN or lockdep report in its console check.
 *
 * Sites: fail_dump() prints the stack of each failure (verbose=2); the
 * test reads it from /dev/kmsg and names the site by the innermost kvmmu
 * frame on it, function+offset (one call site), or core:<function> when
 * no kvmmu frame is there. Allocations made with __GFP_NOWARN print
 * nothing and count as "(silent)": mostly the allocators' own first tries
 * (a high-order slab page, the xarray's GFP_NOWAIT node), whose failure
 * they absorb. The sites seen are printed at the end; the functions kvmmu
 * must fail in are listed in want_sites[] and checked. The "Call Trace:"
 * lines of these dumps are expected: the test brackets them with markers
 * that tests/vm/verdict.sh understands.
 *
 * Needs the debug kernel (failslab, fail_page_alloc, debugfs); skips
 * elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest32.h"
#include "kvmmu_util.h"

#define PG		4096UL
#define DATA_GPA	0x100000UL
#define DATA_PAGES	64
#define MAX_NTH		400
#define FI		"/sys/kernel/debug/"

/* ---- fail-nth and the sites it hit ---- */

#define MAX_SITES	128

/*
 * The harness runs each test in a child process: the tally lives in
 * shared memory so that the last test sees every scenario's sites.
 */
struct tally {
	char sites[MAX_SITES][72];
	int hits[MAX_SITES];
	int nsites;
	long injections;
	/* the last run_once() child's report */
	int r, site;
	bool hit;
};

static struct tally *tally;
static int kmsg = -1;

static void __attribute__((constructor)) tally_init(void)
{
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED)
		abort();
}

static void kmsg_mark(const char *what)
{
	char line[96];

	snprintf(line, sizeof(line), "kvmmu-harness: expected-traces %s\n",
		 what);
	kvmmu_write_file("/dev/kmsg", line);
}

/*
 * Set up failslab and fail_page_alloc for fail-nth: every allocation is
 * an injection point, a failure prints its stack. 0 or -errno.
 */
static int inject_setup(void)
{
	static const char *const cfg[][2] = {
		{ FI "failslab/ignore-gfp-wait", "N" },
		{ FI "failslab/verbose", "2" },
		{ FI "fail_page_alloc/ignore-gfp-wait", "N" },
		{ FI "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ FI "fail_page_alloc/min-order", "0" },
		{ FI "fail_page_alloc/verbose", "2" },
	};
	unsigned int i;
	int r;

	if (access("/proc/thread-self/fail-nth", W_OK) ||
	    access(FI "failslab", F_OK) || access(FI "fail_page_alloc", F_OK))
		return -ENOENT;
	for (i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		r = kvmmu_write_file(cfg[i][0], cfg[i][1]);
		if (r)
			return r;
	}
	if (kmsg < 0) {
		kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (kmsg < 0)
			return -errno;
	}
	lseek(kmsg, 0, SEEK_END);
	return 0;
}

/* Allocator internals: not a site, look further out. */
static bool allocator_frame(const char *fn)
{
	static const char *const pfx[] = {
		"dump_stack", "should_fail", "fail_dump", "should_failslab",
		"__should_failslab", "kmem_cache_alloc", "__kmem_cache_alloc",
		"__kmalloc", "kmalloc", "kmemdup", "kstrdup", "kvmalloc",
		"__kvmalloc", "kvzalloc", "kzalloc", "slab_", "___slab",
		"__slab", "new_slab", "allocate_slab", "alloc_slab",
		"__alloc_pages", "alloc_pages", "__folio_alloc", "folio_alloc",
		"get_page_from_freelist", "prepare_alloc_pages",
		"__get_free_pages", "get_zeroed_page", "alloc_page",
		"should_fail_alloc_page", "__alloc_frozen", "alloc_frozen",
		"vma_alloc_folio", "__vmalloc", "vmalloc", "__get_vm_area",
		"alloc_vmap_area", "xas_", "xa_", "kasan", "__kasan",
		"memcg_", "obj_cgroup", "__memcg", "alloc_slab_obj_exts",
		"kmalloc_trace", "__kmalloc_cache", "pcpu_", "__pcpu",
		"__get_user_pages", "get_user_pages", "__gup", "gup_",
		"internal_get_user_pages", "handle_mm_fault", "__handle_mm_fault",
		"handle_pte_fault", "do_anonymous_page", "do_pte_missing",
		"alloc_anon_folio", "do_fault", "do_read_fault",
		"do_shared_fault", "do_cow_fault", "__do_fault", "wp_page_copy",
		"do_wp_page", "shmem_", "filemap_", "__filemap", "radix_tree",
		"idr_", "ida_", "__pte_alloc", "pte_alloc", "__pmd_alloc",
		"__pud_alloc", "faultin_page", "mas_", "mtree_", "vm_area_",
		"anon_vma", "__anon_vma", "__split_vma", "split_vma",
		"vma_", "__vma", "lru_", "folio_", "__folio",
	};
	unsigned int i;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (!strncmp(fn, pfx[i], strlen(pfx[i])))
			return true;
	return false;
}

static int site_add(const char *name)
{
	int i;

	for (i = 0; i < tally->nsites; i++) {
		if (!strcmp(tally->sites[i], name)) {
			tally->hits[i]++;
			return i;
		}
	}
	if (tally->nsites >= MAX_SITES)
		return -1;
	snprintf(tally->sites[tally->nsites], sizeof(tally->sites[0]), "%s",
		 name);
	tally->hits[tally->nsites] = 1;
	return tally->nsites++;
}

/*
 * Read the failure's stack from /dev/kmsg and record its site: the first
 * frame in our module, else the first core frame past the allocator.
 */
static int site_collect(void)
{
	char rec[1024], mod[64], core[72] = "", name[64], *msg, *p;
	bool in_dump = false, found = false;
	ssize_t n;
	int tries;

	snprintf(mod, sizeof(mod), "[%s]", kvmmu_module_name());
	for (tries = 0; tries < 1000; ) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue;
			/* The dump may still be on its way: a little more. */
			if (!in_dump && tries++ < 3) {
				usleep(1000);
				continue;
			}
			break;
		}
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		if (strstr(msg, "FAULT_INJECTION: forcing a failure")) {
			in_dump = true;
			continue;
		}
		if (!in_dump || found)
			continue;
		/* " func+0x12/0x34 [mod]"; skip "? " unreliable frames. */
		p = msg + strspn(msg, " ");
		if (!strncmp(p, "? ", 2) || !strchr(p, '+') || strchr(p, ':'))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "+"), p);
		if (strstr(p, mod)) {
			/* func+0xoff: the call site itself. */
			snprintf(name, sizeof(name), "%.*s",
				 (int)strcspn(p, "/ "), p);
			found = true;
		} else if (!core[0] && !allocator_frame(name) &&
			   !strstr(p, "[")) {
			snprintf(core, sizeof(core), "core:%s", name);
		}
	}
	if (found)
		return site_add(name);
	return site_add(in_dump ? (core[0] ? core : "core:?") : "(silent)");
}

/* Make the @nth injection point from now on fail. */
static void fail_nth_arm(int fd, int nth)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", nth);

	pwrite(fd, buf, len, 0);
}

/* Disarm; whether the failure was injected. */
static bool fail_nth_disarm(int fd)
{
	char buf[16] = "";
	bool injected;

	pread(fd, buf, sizeof(buf) - 1, 0);
	injected = atoi(buf) == 0;
	pwrite(fd, "0", 1, 0);
	return injected;
}

/* ---- the operations ---- */

struct ctx {
	struct g32_vm vm;
	struct g32_vcpu v;
	uint8_t *buf;
	bool have_vm, have_vcpu;
	int extra_fd;
};

static int data_slot(struct ctx *c, uint32_t flags)
{
	return kvmmu_set_region(c->vm.vmfd, 1, flags, DATA_GPA,
				DATA_PAGES * PG, (uint64_t)(uintptr_t)c->buf);
}

/* The guest's sum of the dwords at offset 0 of the data pages. */
static int guest_sum(struct ctx *c, uint32_t *sum)
{
	int r = g32_do(&c->v, G32_SUM, DATA_GPA, 0, DATA_PAGES);

	*sum = g32_esi(&c->v);
	return r;
}

static uint32_t host_sum(struct ctx *c)
{
	uint32_t s = 0;
	int i;

	for (i = 0; i < DATA_PAGES; i++)
		s += *(uint32_t *)(c->buf + i * PG);
	return s;
}

/* Setup shared by most operations: VM, vCPU, data slot, all mapped. */
static int setup_vm(struct ctx *c, bool vcpu, bool slot, bool faulted)
{
	uint32_t sum;
	int r, i;

	c->extra_fd = -1;
	c->buf = g32_map_anon(DATA_PAGES * PG);
	if (!c->buf)
		return -ENOMEM;
	for (i = 0; i < DATA_PAGES; i++)
		*(uint32_t *)(c->buf + i * PG) = 0x1000 + i;
	r = g32_vm_create(&c->vm);
	if (r)
		return r;
	c->have_vm = true;
	if (!vcpu)
		return 0;
	r = g32_vcpu_create(&c->vm, &c->v, 0);
	if (r)
		return r;
	c->have_vcpu = true;
	/* Run once: the code page and the guest's own tables fault in. */
	r = g32_do(&c->v, G32_NOP, 0, 0, 0);
	if (r != G32_DONE)
		return r < 0 ? r : -EIO;
	if (!slot)
		return 0;
	r = data_slot(c, 0);
	if (r || !faulted)
		return r;
	r = guest_sum(c, &sum);
	if (r != G32_DONE)
		return r < 0 ? r : -EIO;
	return sum == host_sum(c) ? 0 : -EIO;
}

static void teardown(struct ctx *c)
{
	if (c->extra_fd >= 0)
		close(c->extra_fd);
	if (c->have_vcpu)
		g32_vcpu_destroy(&c->v);
	if (c->have_vm)
		g32_vm_destroy(&c->vm);
	if (c->buf)
		munmap(c->buf, DATA_PAGES * PG);
	memset(c, 0, sizeof(*c));
}

/* Whether @r is a clean failure of an allocation: 0 or -ENOMEM. */
static bool clean(int r)
{
	return r == 0 || r == -ENOMEM;
}

/*
 * One scenario: @setup (no injection), @op (injected), @check (no
 * injection: 0 if the VM is as it must be after @op returned @r).
 */
struct scenario {
	const char *name;
	int (*setup)(struct ctx *c);
	int (*op)(struct ctx *c);
	int (*check)(struct ctx *c, int r);
	bool none_ok;	/* may allocate nothing at all */
	/* kvmmu functions whose allocations it must fail */
	const char *want[6];
};

/* -- KVM_CREATE_VM -- */
static int create_vm_setup(struct ctx *c)
{
	c->extra_fd = -1;
	c->vm.devfd = kvmmu_open_dev();
	return c->vm.devfd < 0 ? c->vm.devfd : 0;
}

static int create_vm_op(struct ctx *c)
{
	int r = kvmmu_create_vm(c->vm.devfd, 0);

	if (r >= 0)
		c->extra_fd = r;
	return r < 0 ? r : 0;
}

static int create_vm_check(struct ctx *c, int r)
{
	int vmfd = c->extra_fd;

	if (!clean(r))
		return 1;
	if (vmfd < 0)	/* failed: a new one must work */
		vmfd = c->extra_fd = kvmmu_create_vm(c->vm.devfd, 0);
	if (vmfd < 0)
		return 2;
	r = kvmmu_ioctl(vmfd, KVM_CREATE_VCPU, 0);
	if (r < 0)
		return 3;
	close(r);
	return 0;
}

static void create_vm_teardown(struct ctx *c)
{
	if (c->vm.devfd > 0)
		close(c->vm.devfd);
	c->vm.devfd = 0;
}

/* -- KVM_CREATE_VCPU (and the run page, the registers) -- */
static int vcpu_setup(struct ctx *c)
{
	return setup_vm(c, false, false, false);
}

static int vcpu_op(struct ctx *c)
{
	int r = g32_vcpu_create(&c->vm, &c->v, 0);

	c->have_vcpu = !r;
	return r;
}

static int vcpu_check(struct ctx *c, int r)
{
	if (!clean(r))
		return 1;
	if (!c->have_vcpu) {
		/* vCPU 0 may exist without an fd: KVM keeps it too. */
		if (g32_vcpu_create(&c->vm, &c->v, 1))
			return 2;
		c->have_vcpu = true;
	}
	return g32_do(&c->v, G32_NOP, 0, 0, 0) == G32_DONE ? 0 : 3;
}

/* -- a memslot created -- */
static int slot_setup(struct ctx *c)
{
	return setup_vm(c, true, false, false);
}

static int slot_op(struct ctx *c)
{
	return data_slot(c, 0);
}

static int slot_check(struct ctx *c, int r)
{
	uint32_t sum;

	if (!clean(r))
		return 1;
	if (r) {
		/* Not created: MMIO there, then it can be. */
		if (g32_do(&c->v, G32_R32, DATA_GPA, 0, 0) != G32_MMIO)
			return 2;
		g32_run(&c->v);
		if (data_slot(c, 0))
			return 3;
	}
	if (guest_sum(c, &sum) != G32_DONE || sum != host_sum(c))
		return 4;
	return 0;
}

/*
 * -- the guest writes pages never mapped, nor touched by the host: GUP
 * allocates them; table pages --
 */
#define FRESH_GPA	0x400000UL

static uint8_t *fresh;

static int fault_setup(struct ctx *c)
{
	int r = setup_vm(c, true, true, false);

	if (r)
		return r;
	fresh = g32_map_anon(DATA_PAGES * PG);
	if (!fresh)
		return -ENOMEM;
	return kvmmu_set_region(c->vm.vmfd, 2, 0, FRESH_GPA, DATA_PAGES * PG,
				(uint64_t)(uintptr_t)fresh);
}

static int fault_op(struct ctx *c)
{
	return g32_do(&c->v, G32_FILL, FRESH_GPA, 0x5a000000, DATA_PAGES);
}

static int fault_check(struct ctx *c, int r)
{
	int i, bad = 0;

	/* GUP out of memory is EFAULT, as in KVM; the rest ENOMEM. */
	if (r != G32_DONE && r != -ENOMEM && r != -EFAULT)
		bad = 1;
	else if (r != G32_DONE && fault_op(c) != G32_DONE)
		bad = 2;
	for (i = 0; !bad && i < DATA_PAGES; i++)
		if (*(uint32_t *)(fresh + i * PG) != 0x5a000000u + i)
			bad = 3;
	if (!bad && (g32_do(&c->v, G32_SUM, FRESH_GPA, 0, DATA_PAGES) !=
		     G32_DONE || g32_esi(&c->v) != 64 * 0x5a000000u + 2016))
		bad = 4;
	munmap(fresh, DATA_PAGES * PG);
	return bad;
}

/* -- dirty logging turned on (bitmap, new slot) -- */
static int log_on_setup(struct ctx *c)
{
	return setup_vm(c, true, true, true);
}

static int log_on_op(struct ctx *c)
{
	return data_slot(c, KVM_MEM_LOG_DIRTY_PAGES);
}

static int get_log(struct ctx *c, uint64_t *bm)
{
	struct kvm_dirty_log log = { .slot = 1, .dirty_bitmap = bm };

	return kvmmu_ioctl(c->vm.vmfd, KVM_GET_DIRTY_LOG,
			   (unsigned long)&log);
}

static int log_on_check(struct ctx *c, int r)
{
	uint64_t bm = 0;

	if (!clean(r))
		return 1;
	if (r) {
		if (get_log(c, &bm) != -ENOENT)
			return 2;
		if (data_slot(c, KVM_MEM_LOG_DIRTY_PAGES))
			return 3;
	}
	if (g32_do(&c->v, G32_W32, DATA_GPA + 5 * PG, 0x77, 0) != G32_DONE)
		return 4;
	if (get_log(c, &bm) || bm != 1ULL << 5)
		return 5;
	return 0;
}

/* -- KVM_GET_DIRTY_LOG: no written page may be lost -- */

/* Written by setup: no page fault of ours inside the operation. */
static uint64_t op_bm;

static int get_log_setup(struct ctx *c)
{
	int r = setup_vm(c, true, true, true);

	if (!r)
		r = data_slot(c, KVM_MEM_LOG_DIRTY_PAGES);
	if (!r && g32_do(&c->v, G32_W32, DATA_GPA + 9 * PG, 0x99, 0) != G32_DONE)
		r = -EIO;
	op_bm = 0;
	return r;
}

static int get_log_op(struct ctx *c)
{
	return get_log(c, &op_bm);
}

static int get_log_check(struct ctx *c, int r)
{
	uint64_t bm = 0;

	if (!clean(r))
		return 1;
	if (!r)
		return op_bm == 1ULL << 9 ? 0 : 2;
	/* Failed before taking the log: the page is still in it. */
	if (get_log(c, &bm) || bm != 1ULL << 9)
		return 3;
	return 0;
}

/* -- KVM_CLEAR_DIRTY_LOG with manual protection -- */
static int clear_setup(struct ctx *c)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
	};
	int r = setup_vm(c, true, false, false);

	if (!r)
		r = kvmmu_ioctl(c->vm.vmfd, KVM_ENABLE_CAP,
				(unsigned long)&cap);
	if (!r)
		r = data_slot(c, KVM_MEM_LOG_DIRTY_PAGES);
	if (!r && g32_do(&c->v, G32_W32, DATA_GPA + 3 * PG, 0x33, 0) != G32_DONE)
		r = -EIO;
	return r;
}

static int clear_log(struct ctx *c)
{
	uint64_t bm = ~0ULL;
	struct kvm_clear_dirty_log log = {
		.slot = 1, .first_page = 0, .num_pages = DATA_PAGES,
		.dirty_bitmap = &bm,
	};

	return kvmmu_ioctl(c->vm.vmfd, KVM_CLEAR_DIRTY_LOG,
			   (unsigned long)&log);
}

static int clear_op(struct ctx *c)
{
	return clear_log(c);
}

static int clear_check(struct ctx *c, int r)
{
	uint64_t bm = 0;

	if (!clean(r))
		return 1;
	if (get_log(c, &bm) || bm != (r ? 1ULL << 3 : 0))
		return 2;
	/* Cleared (now or again): the next write is logged. */
	if (clear_log(c) ||
	    g32_do(&c->v, G32_W32, DATA_GPA + 3 * PG, 0x34, 0) != G32_DONE ||
	    get_log(c, &bm) || bm != 1ULL << 3)
		return 3;
	return 0;
}

/* -- a memslot deleted (the INVALID copy) -- */
static int delete_setup(struct ctx *c)
{
	return setup_vm(c, true, true, true);
}

static int delete_op(struct ctx *c)
{
	return kvmmu_delete_region(c->vm.vmfd, 1);
}

static int delete_check(struct ctx *c, int r)
{
	uint32_t sum;

	if (!clean(r))
		return 1;
	if (r) {
		/* Still there, whole. */
		if (guest_sum(c, &sum) != G32_DONE || sum != host_sum(c))
			return 2;
		if (kvmmu_delete_region(c->vm.vmfd, 1))
			return 3;
	}
	if (g32_do(&c->v, G32_R32, DATA_GPA, 0, 0) != G32_MMIO)
		return 4;
	g32_run(&c->v);
	return 0;
}

/* -- a memslot moved -- */
static int move_op(struct ctx *c)
{
	return kvmmu_set_region(c->vm.vmfd, 1, 0, DATA_GPA + 0x1000000,
				DATA_PAGES * PG, (uint64_t)(uintptr_t)c->buf);
}

static int move_check(struct ctx *c, int r)
{
	uint64_t at = DATA_GPA, gone = DATA_GPA + 0x1000000;

	if (!clean(r))
		return 1;
	if (r && move_op(c))
		return 2;
	at = gone;
	gone = DATA_GPA;
	if (g32_do(&c->v, G32_R32, at + 7 * PG, 0, 0) != G32_DONE ||
	    g32_ecx(&c->v) != 0x1007)
		return 3;
	if (g32_do(&c->v, G32_R32, gone, 0, 0) != G32_MMIO)
		return 4;
	g32_run(&c->v);
	return 0;
}

/* -- KVM_GET_STATS_FD on the VM -- */
static int stats_op(struct ctx *c)
{
	int r = kvmmu_ioctl(c->vm.vmfd, KVM_GET_STATS_FD, 0);

	if (r >= 0)
		c->extra_fd = r;
	return r < 0 ? r : 0;
}

static int stats_check(struct ctx *c, int r)
{
	struct kvm_stats_header h;

	if (!clean(r))
		return 1;
	if (r)
		c->extra_fd = kvmmu_ioctl(c->vm.vmfd, KVM_GET_STATS_FD, 0);
	if (c->extra_fd < 0)
		return 2;
	return pread(c->extra_fd, &h, sizeof(h), 0) == sizeof(h) ? 0 : 3;
}

/* -- the host unmaps slot memory: the mmu notifier, the zap -- */
static int notifier_op(struct ctx *c)
{
	/* DONTNEED: the pages go, the HVA stays; the guest reads zeros. */
	return madvise(c->buf + 8 * PG, 8 * PG, MADV_DONTNEED) ? -errno : 0;
}

static int notifier_check(struct ctx *c, int r)
{
	int i;

	if (!clean(r))
		return 1;
	if (r && notifier_op(c))
		return 2;
	for (i = 0; i < DATA_PAGES; i++) {
		uint32_t want = i >= 8 && i < 16 ? 0 : 0x1000 + i;

		if (g32_do(&c->v, G32_R32, DATA_GPA + i * PG, 0, 0) !=
		    G32_DONE || g32_ecx(&c->v) != want)
			return 3;
	}
	return 0;
}

/* -- debugfs: the mappings dump of the VM, read whole -- */
static char dump_buf[4096];

static int dump_setup(struct ctx *c)
{
	memset(dump_buf, 0, sizeof(dump_buf));
	return setup_vm(c, true, true, true);
}

static int dump_op(struct ctx *c)
{
	char path[256];
	int fd, r = 0;
	ssize_t n;

	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, getpid(), c->vm.vmfd);
	strcat(path, "/mappings");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, dump_buf, sizeof(dump_buf))) > 0)
		;
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

static int dump_check(struct ctx *c, int r)
{
	static struct g32_leaf leaves[256];

	if (!clean(r))
		return 1;
	return g32_read_mappings(getpid(), c->vm.vmfd, leaves, 256) >=
	       DATA_PAGES ? 0 : 2;
}

/* -- KVM_GET_SUPPORTED_CPUID on /dev/kvmmu -- */
static int cpuid(struct ctx *c)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[64];
	} cpuid = { .h.nent = 64 };

	return kvmmu_ioctl(c->vm.devfd, KVM_GET_SUPPORTED_CPUID,
			   (unsigned long)&cpuid);
}

static int cpuid_check(struct ctx *c, int r)
{
	if (!clean(r))
		return 1;
	return cpuid(c) ? 2 : 0;
}

/* -- the VM goes: vCPU and VM fds closed -- */
static int close_op(struct ctx *c)
{
	g32_vcpu_destroy(&c->v);
	g32_vm_destroy(&c->vm);
	c->have_vcpu = c->have_vm = false;
	return 0;
}

static int close_check(struct ctx *c, int r)
{
	(void)c;
	return r;
}

static const struct scenario scenarios[] = {
	{ "create_vm", create_vm_setup, create_vm_op, create_vm_check, false,
	  { "dev_ioctl", "kvmmu_mmu_vm_init", "kvmmu_mmu_notifier_register",
	    "kvmmu_debugfs_vm_create", "kvmmu_mmu_debugfs_init" } },
	{ "create_vcpu", vcpu_setup, vcpu_op, vcpu_check, false,
	  { "kvmmu_create_vcpu", "kvmmu_mmu_vcpu_init", "svm_vcpu_create" } },
	{ "memslot_create", slot_setup, slot_op, slot_check, false,
	  { "kvmmu_set_memory_region" } },
	{ "guest_faults", fault_setup, fault_op, fault_check, false,
	  { "kvmmu_mmu_topup", "kvmmu_mmu_page_fault|fault_faultin|faultin_pfn" } },
	{ "dirty_log_on", log_on_setup, log_on_op, log_on_check, false,
	  { "kvmmu_set_memory_region" } },
	{ "get_dirty_log", get_log_setup, get_log_op, get_log_check, false,
	  { "kvmmu_get_dirty_log" } },
	{ "clear_dirty_log", clear_setup, clear_op, clear_check, false,
	  { "kvmmu_clear_dirty_log" } },
	{ "memslot_delete", delete_setup, delete_op, delete_check, false,
	  { "kvmmu_set_memory_region" } },
	{ "memslot_move", delete_setup, move_op, move_check, false,
	  { "kvmmu_set_memory_region" } },
	{ "stats_fd", delete_setup, stats_op, stats_check, false,
	  { "stats_fd" } },
	{ "mmu_notifier", delete_setup, notifier_op, notifier_check, true, { NULL } },
	{ "debugfs_mappings", dump_setup, dump_op, dump_check, false,
	  { "mappings_show" } },
	{ "vm_close", delete_setup, close_op, close_check, true, { NULL } },
	{ "supported_cpuid", vcpu_setup, cpuid, cpuid_check, false,
	  { "kvmmu_get_supported_cpuid" } },
};

FIXTURE(fi) {
	int unused;
};

FIXTURE_SETUP(fi)
{
	int r;

	if (kvmmu_is_stock())
		SKIP(return, "kvmmu's own sites");
	kvmmu_mount_debugfs();
	r = inject_setup();
	if (r)
		SKIP(return, "no fail-nth/failslab/fail_page_alloc: %s",
		     strerror(-r));
}

FIXTURE_TEARDOWN(fi)
{
}

/*
 * One run of @s with the @nth injection point failing, in a child process
 * of its own: each run starts from a fresh mm (per-mm allocations, such
 * as the mmu notifier's, happen in every run) and a crash of the child is
 * a failure of the run, not of the test. Return the check's verdict (0
 * good); *@r, *@hit and *@site tell what the operation saw.
 */
static int run_once(const struct scenario *s, int nth, int *r, bool *hit,
		    const char **site)
{
	struct ctx c = { .extra_fd = -1 };
	int status, nth_fd, bad;
	pid_t pid;

	tally->r = 0;
	tally->hit = false;
	tally->site = -1;
	pid = fork();
	if (pid < 0)
		return 200;
	if (pid == 0) {
		nth_fd = open("/proc/thread-self/fail-nth",
			      O_RDWR | O_CLOEXEC);
		if (nth_fd < 0 || s->setup(&c))
			_exit(100);
		lseek(kmsg, 0, SEEK_END);
		fail_nth_arm(nth_fd, nth);
		tally->r = s->op(&c);
		tally->hit = fail_nth_disarm(nth_fd);
		if (tally->hit)
			tally->site = site_collect();
		bad = s->check(&c, tally->r);
		if (s == &scenarios[0])
			create_vm_teardown(&c);
		teardown(&c);
		_exit(bad);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 201;
	*r = tally->r;
	*hit = tally->hit;
	*site = tally->site >= 0 ? tally->sites[tally->site] : "-";
	if (WIFSIGNALED(status))
		return 300 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Whether site @i of the tally is a call site in function @fn. */
/*
 * Whether site @i is in function @fn, or in one of "a|b|...": a static
 * helper is a site of its own where the compiler keeps it out of line
 * and of its caller where it inlines it (GUP's allocations in the fault
 * path: faultin_pfn() inside fault_faultin(), which both MMUs' faults
 * call, all inside kvmmu_mmu_page_fault() before the shadow MMU).
 */
static bool site_in(int i, const char *fn)
{
	const char *bar;
	size_t len;

	for (;;) {
		bar = strchr(fn, '|');
		len = bar ? (size_t)(bar - fn) : strlen(fn);
		if (!strncmp(tally->sites[i], fn, len) &&
		    tally->sites[i][len] == '+')
			return true;
		if (!bar)
			return false;
		fn = bar + 1;
	}
}

/*
 * Run scenario @s with N = 1, 2, ... until three runs in a row pass no
 * injection point. The points a run passes vary a little from run to run
 * (the allocators' own absorbed tries come and go), so a site may slip
 * between two N: the whole walk is repeated, up to four times, until every
 * function in @s->want has failed.
 */
static void run_scenario(struct __test_metadata *_metadata,
			 const struct scenario *s)
{
	int nth, pass, i, w, r = 0, bad = 0, failed = 0, injected = 0;
	bool hit = false, hit_site[MAX_SITES] = { false }, missing = true;
	const char *site = "-";
	int misses;

	g32_alarm(900);
	kmsg_mark("begin");
	for (pass = 0; pass < 4 && missing && !bad; pass++) {
		misses = 0;
		for (nth = 1; nth <= MAX_NTH && misses < 3; nth++) {
			bad = run_once(s, nth, &r, &hit, &site);
			if (hit) {
				injected++;
				tally->injections++;
				failed += r != 0;
				misses = 0;
				if (tally->site >= 0)
					hit_site[tally->site] = true;
				TH_LOG("%s #%d: %s -> %d", s->name, nth, site,
				       r);
			} else {
				misses++;
			}
			EXPECT_EQ(0, bad)
				TH_LOG("%s: failure #%d (%s): op returned %d (%s), check %d",
				       s->name, nth, hit ? "injected" : "none",
				       r, r < 0 ? strerror(-r) : "-", bad);
			if (bad)
				break;
		}
		EXPECT_GT(MAX_NTH, nth)
			TH_LOG("%s: still injecting after %d", s->name,
			       MAX_NTH);
		missing = false;
		for (w = 0; w < 6 && s->want[w]; w++) {
			bool seen = false;

			for (i = 0; i < tally->nsites; i++)
				seen |= hit_site[i] && site_in(i, s->want[w]);
			missing |= !seen;
		}
	}
	kmsg_mark("end");
	for (w = 0; w < 6 && s->want[w]; w++) {
		bool seen = false;

		for (i = 0; i < tally->nsites; i++)
			seen |= hit_site[i] && site_in(i, s->want[w]);
		EXPECT_TRUE(seen) TH_LOG("%s: no failure in %s after %d walks",
					 s->name, s->want[w], pass);
	}
	if (!s->none_ok)
		EXPECT_LT(0, injected)
			TH_LOG("%s: no allocation reached", s->name);
	TH_LOG("%s: %d allocations failed in turn (%d walks), %d made the operation fail",
	       s->name, injected, pass, failed);
}

#define SCENARIO(i, id)						\
	TEST_F_TIMEOUT(fi, id, 900)				\
	{							\
		run_scenario(_metadata, &scenarios[i]);		\
	}

SCENARIO(0, create_vm)
SCENARIO(1, create_vcpu)
SCENARIO(2, memslot_create)
SCENARIO(3, guest_faults)
SCENARIO(4, dirty_log_on)
SCENARIO(5, get_dirty_log)
SCENARIO(6, clear_dirty_log)
SCENARIO(7, memslot_delete)
SCENARIO(8, memslot_move)
SCENARIO(9, stats_fd)
SCENARIO(10, mmu_notifier)
SCENARIO(11, debugfs_mappings)
SCENARIO(12, vm_close)
SCENARIO(13, supported_cpuid)

/*
 * Last: all the scenarios together reached every allocating function of
 * kvmmu. The harness runs the tests in order, in one process.
 */
/*
 * Last: the sites all the scenarios failed at (the harness runs the tests
 * in order, the tally is shared). The per-CPU part of init_srcu_struct()
 * has no injection point (its kzalloc has: dev_ioctl+, a tail call); the
 * LA57 root and the module init's per-CPU pages are not reachable from a
 * VMM. A run fails kvmmu at 26 to 30 distinct call sites
 * (function+offset); fewer than 22 means allocations went out of the
 * scenarios' reach.
 */
TEST_F(fi, sites)
{
	int j, ours = 0;

	TH_LOG("%ld injected failures at %d sites:", tally->injections,
	       tally->nsites);
	for (j = 0; j < tally->nsites; j++) {
		TH_LOG("  %-40s %d", tally->sites[j], tally->hits[j]);
		ours += strncmp(tally->sites[j], "core:", 5) &&
			strstr(tally->sites[j], "+0x");
	}
	TH_LOG("%d call sites in kvmmu", ours);
	EXPECT_LE(22, ours);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for the TDP MMU (mmu.c, notifier.c), built into
 * kvmmu_test.ko on kernels with KUnit.
 *
 * The sources are compiled into this module (the #includes below) so the
 * static pieces can be driven directly: there is no guest and no GUP here.
 * Mappings are installed through mmu_map(), the locked half of the fault
 * path, with made-up host frame numbers beyond RAM (no memmap: a zap
 * leaves their pages alone), except where a real page is the point. The
 * suites check what a guest, the host and dirty logging would rely on:
 *
 *  - the SPTE format (NPT leaf and table entries);
 *  - the leaf level: host level, memslot alignment and bounds, dirty log;
 *  - range walks of the leaves (what a reverse map would do), and the
 *    write protection of one dirty-bitmap word;
 *  - installs: tables linked, spurious faults, write upgrades, a table in
 *    the way of a huge leaf, a huge leaf in the way of a small one;
 *  - zaps of GFN ranges (leaves, whole tables, memslot delete and dirty
 *    logging), each followed by a TLB flush;
 *  - the invalidation sequence: faults that raced with an invalidation
 *    (in progress or finished) install nothing;
 *  - aging through the notifier callbacks, and release.
 *
 * memslot.c comes from memslot_test.c, in the same module. The TLB flush
 * lives in main.c, outside the module: the double below counts calls.
 */

#include <kunit/test.h>
#include <linux/sizes.h>

/*
 * mmu.c and notifier.c call tracepoints: define them here too (trace.c,
 * after every other include of trace.h), as system kvmmu_test so that
 * they do not clash with kvmmu.ko's in tracefs.
 */
#define KVMMU_TRACE_KUNIT
#include "../../mmu.c"
#include "../../tdp.c"
#include "../../tdp_iter.c"
#include "../../notifier.c"
#include "../../trace.c"

static atomic_t test_flushes = ATOMIC_INIT(0);
static atomic_t test_flushes_unlocked = ATOMIC_INIT(0);

/*
 * Test double for vm.c's flush: count, so tests can assert a flush, and
 * count apart the flushes made without mmu->lock (KVM's rule is to flush
 * before releasing it; lockdep is on in the KUnit kernel).
 */
void kvmmu_flush_remote_tlbs(struct kvmmu_vm *vm)
{
	atomic_inc(&test_flushes);
	if (vm->mmu && !lockdep_is_held(&vm->mmu->lock))
		atomic_inc(&test_flushes_unlocked);
}

/* Test double for vm.c's request (shadow_mmu.c's root load asks one). */
void kvmmu_make_request(struct kvmmu_vcpu *vcpu, int req)
{
	set_bit(req, &vcpu->requests);
}

/* Test double for vm.c's check (the root load takes KVMMU_REQ_MMU_SYNC). */
bool kvmmu_check_request(struct kvmmu_vcpu *vcpu, int req)
{
	return test_and_clear_bit(req, &vcpu->requests);
}

#define MT_HVA		0x7f0000000000UL	/* 1G aligned */
#define MT_GFN		0x40000ULL		/* GPA 1G */
#define MT_PAGES	0x40000ULL		/* 1G of slot */
#define MT_PFN		0x100000ULL		/* made-up host frames, 4G */

struct mmu_fixture {
	struct kvmmu_vm *vm;
	struct kvmmu_mmu *mmu;
	struct kvmmu_vcpu *vcpu;
};

static int mmu_test_init(struct kunit *test)
{
	struct mmu_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	f->vm = kzalloc(sizeof(*f->vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f->vm);
	if (kvmmu_memslots_init(f->vm)) {
		kfree(f->vm);
		KUNIT_FAIL(test, "kvmmu_memslots_init failed");
		return -ENOMEM;
	}
	/* Never dereferenced: only compared with current->mm (NULL here). */
	f->vm->mm = kunit_kzalloc(test, sizeof(*f->vm->mm), GFP_KERNEL);
	f->mmu = mmu_create(f->vm, 48, PG_LEVEL_1G);
	KUNIT_ASSERT_NOT_NULL(test, f->mmu);
	f->vm->mmu = f->mmu;

	f->vcpu = kunit_kzalloc(test, sizeof(*f->vcpu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f->vcpu);
	f->vcpu->vm = f->vm;
	KUNIT_ASSERT_EQ(test, kvmmu_mmu_vcpu_init(f->vcpu), 0);
	test->priv = f;
	return 0;
}

static void mmu_test_exit(struct kunit *test)
{
	struct mmu_fixture *f = test->priv;

	if (!f)
		return;
	kvmmu_mmu_vcpu_destroy(f->vcpu);
	kvmmu_mmu_vm_destroy(f->vm);
	kvmmu_memslots_destroy(f->vm);
	kfree(f->vm);
}

static struct mmu_fixture *fixture(struct kunit *test)
{
	return test->priv;
}

/* A slot of the fixture's VM: @pages pages at @gfn backed from @hva. */
static int add_slot(struct kvmmu_vm *vm, u32 id, u32 flags, gfn_t gfn,
		    u64 pages, unsigned long hva)
{
	struct kvm_userspace_memory_region2 mem = {
		.slot = id,
		.flags = flags,
		.guest_phys_addr = gfn << PAGE_SHIFT,
		.memory_size = pages << PAGE_SHIFT,
		.userspace_addr = hva,
	};

	return kvmmu_set_memory_region(vm, &mem, false);
}

/* Find the leaf mapping @gfn: its SPTE pointer and level, or NULL. */
static u64 *find_leaf(struct kvmmu_mmu *mmu, gfn_t gfn, int *levelp)
{
	u64 *table = mmu->root;
	int level;

	for (level = KVMMU_ROOT_LEVEL; level >= PG_LEVEL_4K; level--) {
		u64 *sptep = &table[kvmmu_spte_index(gfn, level)];

		if (!kvmmu_spte_present(*sptep))
			return NULL;
		if (kvmmu_spte_is_leaf(*sptep, level)) {
			*levelp = level;
			return sptep;
		}
		table = kvmmu_spte_table(*sptep);
	}
	return NULL;
}

/*
 * Drive the fault path's locked half: map @gfn to @pfn at @level (or
 * lower), with the invalidation sequence @seq. Returns what mmu_map()
 * returns; *@installed tells whether it installed.
 */
static int map_seq(struct kunit *test, gfn_t gfn, u64 pfn, int level,
		   bool writable, bool write, unsigned long seq,
		   bool *installed)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_page_fault m = {
		.gfn = gfn,
		.pfn = pfn,
		.hva = MT_HVA + ((gfn - MT_GFN) << PAGE_SHIFT),
		.seq = seq,
		.level = level,
		.writable = writable,
		.write = write,
	};

	KUNIT_ASSERT_EQ(test, kvmmu_mmu_topup(f->vcpu), 0);
	return mmu_map(f->mmu, f->vcpu->mmu, &m, installed);
}

static bool map(struct kunit *test, gfn_t gfn, u64 pfn, int level,
		bool writable, bool write)
{
	bool installed;

	KUNIT_EXPECT_EQ(test, map_seq(test, gfn, pfn, level, writable, write,
				      fixture(test)->mmu->invalidate_seq,
				      &installed), 0);
	return installed;
}

static s64 stat(atomic64_t *counter)
{
	return atomic64_read(counter);
}

/* The flush and yield counts before an operation that may yield. */
struct flush_mark {
	int flushes;
	s64 yields;
};

static struct flush_mark mark_flushes(struct kvmmu_mmu *mmu)
{
	return (struct flush_mark){ atomic_read(&test_flushes),
				    stat(&mmu->stats.yields) };
}

/*
 * @n flushes since @m, plus at most one per yield: a long walk yields when
 * a reschedule is due (often, on the debug kernel) and flushes what it
 * changed before it drops the lock, so the count is not exact there.
 */
static void expect_flushes(struct kunit *test, struct kvmmu_mmu *mmu,
			   struct flush_mark m, int n)
{
	int got = atomic_read(&test_flushes) - m.flushes;

	KUNIT_EXPECT_GE(test, got, n);
	KUNIT_EXPECT_LE(test, got, n + stat(&mmu->stats.yields) - m.yields);
}

static int count_pages(struct list_head *list)
{
	struct page *page;
	int n = 0;

	list_for_each_entry(page, list, lru)
		n++;
	return n;
}

/* ---- SPTE format ---- */

static void mmu_spte_format(struct kunit *test)
{
	const struct kvmmu_spte_format *npt = &kvmmu_npt_format;
	const unsigned int RO = KVMMU_ACC_ALL & ~KVMMU_ACC_WRITE;
	u64 pfn = 0xfffffffffeULL;	/* bits up to 51 of the address */
	u64 spte;
	u64 *table = (u64 *)get_zeroed_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, table);

	spte = kvmmu_make_leaf_spte(npt, pfn, PG_LEVEL_4K, KVMMU_ACC_ALL, true);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(spte), pfn);
	KUNIT_EXPECT_TRUE(test, kvmmu_spte_present(spte));
	KUNIT_EXPECT_EQ(test, spte & ~KVMMU_SPTE_PFN_MASK,
			KVMMU_SPTE_PRESENT | KVMMU_SPTE_WRITABLE |
			KVMMU_SPTE_USER | KVMMU_SPTE_ACCESSED |
			KVMMU_SPTE_DIRTY | KVMMU_SPTE_HOST_WRITABLE);
	KUNIT_EXPECT_TRUE(test, kvmmu_spte_is_leaf(spte, PG_LEVEL_4K));

	/* Read-only, and a write fault on it does not make it dirty. */
	spte = kvmmu_make_leaf_spte(npt, 0x1234, PG_LEVEL_4K, RO, true);
	KUNIT_EXPECT_EQ(test, spte, 0x1234000ULL | KVMMU_SPTE_PRESENT |
			KVMMU_SPTE_USER | KVMMU_SPTE_ACCESSED);
	KUNIT_EXPECT_EQ(test, spte & BIT_ULL(63), 0);	/* executable */

	spte = kvmmu_make_leaf_spte(npt, 0x200, PG_LEVEL_2M, KVMMU_ACC_ALL,
				    false);
	KUNIT_EXPECT_EQ(test, spte & KVMMU_SPTE_HUGE, KVMMU_SPTE_HUGE);
	KUNIT_EXPECT_EQ(test, spte & KVMMU_SPTE_DIRTY, 0);
	KUNIT_EXPECT_TRUE(test, kvmmu_spte_is_leaf(spte, PG_LEVEL_2M));
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(spte), 0x200);
	spte = kvmmu_make_leaf_spte(npt, 0x40000, PG_LEVEL_1G, KVMMU_ACC_ALL,
				    false);
	KUNIT_EXPECT_TRUE(test, kvmmu_spte_is_leaf(spte, PG_LEVEL_1G));
	KUNIT_EXPECT_EQ(test, spte & GENMASK_ULL(29, 12), 0);

	/* No ACC_EXEC: NX. No ACC_USER: U all the same, which NPT needs. */
	spte = kvmmu_make_leaf_spte(npt, 0x1234, PG_LEVEL_4K, KVMMU_ACC_WRITE,
				    false);
	KUNIT_EXPECT_EQ(test, spte, 0x1234000ULL | KVMMU_SPTE_PRESENT |
			KVMMU_SPTE_USER | KVMMU_SPTE_ACCESSED |
			KVMMU_SPTE_WRITABLE | KVMMU_SPTE_HOST_WRITABLE |
			KVMMU_SPTE_NX);

	spte = kvmmu_make_table_spte(npt, table);
	KUNIT_EXPECT_EQ(test, spte & ~KVMMU_SPTE_PFN_MASK,
			KVMMU_SPTE_PRESENT | KVMMU_SPTE_WRITABLE |
			KVMMU_SPTE_USER);
	KUNIT_EXPECT_FALSE(test, kvmmu_spte_is_leaf(spte, PG_LEVEL_2M));
	KUNIT_EXPECT_PTR_EQ(test, kvmmu_spte_table(spte), table);

	/* Index of GPA 0x0000_8040_2010_3000 at each level. */
	KUNIT_EXPECT_EQ(test, kvmmu_spte_index(0x804020103ULL, 1), 0x103);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_index(0x804020103ULL, 2), 0x100);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_index(0x804020103ULL, 3), 0x100);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_index(0x804020103ULL, 4), 0x100);
	free_page((unsigned long)table);
}

/* ---- level selection ---- */

struct level_case {
	const char *name;
	gfn_t base_gfn;
	u64 npages;
	unsigned long hva;
	u32 flags;
	gfn_t gfn;
	int host_level;
	int max_level;
	int expect;
};

#define L4K	PG_LEVEL_4K
#define L2M	PG_LEVEL_2M
#define L1G	PG_LEVEL_1G
#define H2M	SZ_2M
#define H1G	SZ_1G
#define DL	KVM_MEM_LOG_DIRTY_PAGES

static const struct level_case level_cases[] = {
	{ "host 4K", 0x200, 0x400, H1G, 0, 0x201, L4K, L1G, L4K },
	{ "host 2M aligned", 0x200, 0x400, H1G, 0, 0x201, L2M, L1G, L2M },
	{ "host 2M, hva off by 4K", 0x200, 0x400, H1G + 4096, 0, 0x201, L2M, L1G, L4K },
	{ "host 2M, gpa and hva off by 4K", 0x201, 0x600, H1G + 4096, 0, 0x400, L2M, L1G, L2M },
	{ "2M range starts before the slot", 0x201, 0x600, H1G + 4096, 0, 0x202, L2M, L1G, L4K },
	{ "2M range ends after the slot", 0x200, 0x3ff, H1G, 0, 0x400, L2M, L1G, L4K },
	{ "last whole 2M of the slot", 0x200, 0x400, H1G, 0, 0x5ff, L2M, L1G, L2M },
	{ "dirty logging", 0x200, 0x400, H1G, DL, 0x201, L2M, L1G, L4K },
	{ "host 1G, slot 1G", 0x40000, 0x40000, H1G, 0, 0x40123, L1G, L1G, L1G },
	{ "host 1G, no 1G pages", 0x40000, 0x40000, H1G, 0, 0x40123, L1G, L2M, L2M },
	{ "host 1G, slot 2M-aligned only", 0x40000, 0x40000, H1G + H2M, 0, 0x40123, L1G, L1G, L2M },
	{ "host 1G, slot too small", 0x40000, 0x3fe00, H1G, 0, 0x40123, L1G, L1G, L2M },
	{ "host 1G, dirty logging", 0x40000, 0x40000, H1G, DL, 0x40123, L1G, L1G, L4K },
};

static void level_case_desc(const struct level_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(level, level_cases, level_case_desc);

static void mmu_fault_level(struct kunit *test)
{
	const struct level_case *c = test->param_value;
	struct kvmmu_memory_slot slot = {
		.base_gfn = c->base_gfn,
		.npages = c->npages,
		.userspace_addr = c->hva,
		.flags = c->flags,
	};

	KUNIT_EXPECT_EQ(test, fault_level(&slot, c->gfn, c->host_level,
					  c->max_level), c->expect);
}

/* ---- range walks ---- */

struct walk_log {
	int n;
	int level[8];
	gfn_t gfn[8];
};

static bool log_leaf(u64 *sptep, int level, gfn_t gfn, void *data)
{
	struct walk_log *w = data;

	if (w->n < ARRAY_SIZE(w->gfn)) {
		w->level[w->n] = level;
		w->gfn[w->n] = gfn;
	}
	w->n++;
	return level == L2M;
}

static struct walk_log walk(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			    gfn_t end, bool *ret)
{
	struct walk_log w = {};

	read_lock(&mmu->lock);
	*ret = kvmmu_mmu_walk_leaves(mmu, as_id, start, end, log_leaf, &w);
	read_unlock(&mmu->lock);
	return w;
}

/*
 * kvmmu_mmu_walk_leaves() visits exactly the leaves that meet the range,
 * in GFN order, a huge one once with its first GFN; an empty range, the
 * other address space and GFNs past the NPT visit nothing.
 */
static void mmu_walk_leaves(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	const gfn_t g = MT_GFN;	/* 1G aligned */
	struct walk_log w;
	bool r;

	KUNIT_ASSERT_TRUE(test, map(test, g + 0x1ff, MT_PFN, L4K, true, true));
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x200, MT_PFN + 0x200, L2M, true,
				    true));
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x400, MT_PFN + 0x400, L4K, true,
				    true));
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x40000, MT_PFN + 0x40000, L1G,
				    true, true));

	w = walk(mmu, 0, g + 0x1ff, g + 0x401, &r);
	KUNIT_EXPECT_TRUE(test, r);
	KUNIT_ASSERT_EQ(test, w.n, 3);
	KUNIT_EXPECT_EQ(test, w.level[0], L4K);
	KUNIT_EXPECT_EQ(test, w.gfn[0], g + 0x1ff);
	KUNIT_EXPECT_EQ(test, w.level[1], L2M);
	KUNIT_EXPECT_EQ(test, w.gfn[1], g + 0x200);
	KUNIT_EXPECT_EQ(test, w.level[2], L4K);
	KUNIT_EXPECT_EQ(test, w.gfn[2], g + 0x400);

	/* Inside a huge leaf: the leaf, with its own first GFN. */
	w = walk(mmu, 0, g + 0x300, g + 0x301, &r);
	KUNIT_ASSERT_EQ(test, w.n, 1);
	KUNIT_EXPECT_EQ(test, w.gfn[0], g + 0x200);
	w = walk(mmu, 0, g + 0x40005, g + 0x40006, &r);
	KUNIT_EXPECT_FALSE(test, r);
	KUNIT_ASSERT_EQ(test, w.n, 1);
	KUNIT_EXPECT_EQ(test, w.level[0], L1G);
	KUNIT_EXPECT_EQ(test, w.gfn[0], g + 0x40000);

	/* Next to leaves, empty, reversed, elsewhere: nothing. */
	w = walk(mmu, 0, g, g + 0x1ff, &r);
	KUNIT_EXPECT_EQ(test, w.n, 0);
	KUNIT_EXPECT_FALSE(test, r);
	w = walk(mmu, 0, g + 0x401, g + 0x401, &r);
	KUNIT_EXPECT_EQ(test, w.n, 0);
	w = walk(mmu, 0, g + 0x402, g + 0x400, &r);
	KUNIT_EXPECT_EQ(test, w.n, 0);
	w = walk(mmu, 1, 0, mmu->max_gfn, &r);
	KUNIT_EXPECT_EQ(test, w.n, 0);
	w = walk(mmu, 0, mmu->max_gfn - 1, mmu->max_gfn + 0x1000, &r);
	KUNIT_EXPECT_EQ(test, w.n, 0);

	/* Everything: four leaves. */
	w = walk(mmu, 0, 0, ~0ULL, &r);
	KUNIT_EXPECT_EQ(test, w.n, 4);
}

/*
 * kvmmu_tdp_write_protect_mask(): of one dirty-bitmap word, exactly the leaves that
 * map a page whose bit is set lose write access; a huge leaf goes whole.
 */
static void mmu_write_protect_mask(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	const gfn_t g = MT_GFN;
	u64 *sptep;
	int i, level;

	for (i = 0; i < 64; i++)
		KUNIT_ASSERT_TRUE(test, map(test, g + 0x1c0 + i,
					    MT_PFN + 0x1c0 + i, L4K, true,
					    true));
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x200, MT_PFN + 0x200, L2M, true,
				    true));
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x400, MT_PFN + 0x400, L4K, true,
				    true));

	write_lock(&mmu->lock);
	kvmmu_tdp_write_protect_mask(mmu, 0, g + 0x1c0, BIT(0) | BIT(5) | BIT(63));
	/* Bit 3 of the word at +0x240 lies in the 2M leaf. */
	kvmmu_tdp_write_protect_mask(mmu, 0, g + 0x240, BIT(3));
	/* The leaf at +0x400 is bit 0; bits 1 and 5 map nothing. */
	kvmmu_tdp_write_protect_mask(mmu, 0, g + 0x400, BIT(1) | BIT(5));
	kvmmu_mmu_flush_locked(mmu);
	write_unlock(&mmu->lock);

	for (i = 0; i < 64; i++) {
		bool wp = i == 0 || i == 5 || i == 63;

		sptep = find_leaf(mmu, g + 0x1c0 + i, &level);
		KUNIT_ASSERT_NOT_NULL(test, sptep);
		KUNIT_EXPECT_EQ_MSG(test, !(*sptep & KVMMU_SPTE_WRITABLE), wp,
				    "gfn +0x%x", 0x1c0 + i);
	}
	sptep = find_leaf(mmu, g + 0x3ff, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L2M);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);
	sptep = find_leaf(mmu, g + 0x400, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);
}

/* ---- installs ---- */

static void mmu_map_4k(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	gfn_t gfn = MT_GFN + 0x1234;
	u64 *sptep, spte;
	int level;

	KUNIT_EXPECT_TRUE(test, map(test, gfn, MT_PFN + 7, L4K, true, false));
	sptep = find_leaf(mmu, gfn, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	spte = *sptep;
	KUNIT_EXPECT_EQ(test, level, L4K);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(spte), MT_PFN + 7);
	KUNIT_EXPECT_TRUE(test, spte & KVMMU_SPTE_WRITABLE);
	KUNIT_EXPECT_TRUE(test, spte & KVMMU_SPTE_ACCESSED);
	KUNIT_EXPECT_FALSE(test, spte & KVMMU_SPTE_DIRTY);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 1);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 4);
	/* Nothing else is mapped. */
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, gfn + 1, &level));
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, gfn - 1, &level));

	/* Another vCPU's fault on the same page: nothing to do. */
	KUNIT_EXPECT_FALSE(test, map(test, gfn, MT_PFN + 7, L4K, true, true));
	KUNIT_EXPECT_EQ(test, *sptep, spte);

	/* A neighbour shares the tables. */
	KUNIT_EXPECT_TRUE(test, map(test, gfn + 1, MT_PFN + 8, L4K, true, true));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 4);
	sptep = find_leaf(mmu, gfn + 1, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_DIRTY);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 2);
}

static void mmu_map_write_upgrade(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	int flushes = atomic_read(&test_flushes);
	gfn_t gfn = MT_GFN + 3;
	u64 *sptep;
	int level;

	/* The host gave a read-only page (e.g. the zero page). */
	KUNIT_EXPECT_TRUE(test, map(test, gfn, MT_PFN, L4K, false, false));
	sptep = find_leaf(mmu, gfn, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);
	/* A read again is spurious, a write is not. */
	KUNIT_EXPECT_FALSE(test, map(test, gfn, MT_PFN, L4K, false, false));
	KUNIT_EXPECT_TRUE(test, map(test, gfn, MT_PFN, L4K, true, true));
	KUNIT_EXPECT_PTR_EQ(test, find_leaf(mmu, gfn, &level), sptep);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_DIRTY);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 1);
	/* Same frame, more rights: no flush needed. */
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes);

	/* A different frame (a COW break the notifier missed?): flush. */
	KUNIT_EXPECT_TRUE(test, map(test, gfn, MT_PFN + 1, L4K, true, true));
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(*sptep), MT_PFN + 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes + 1);
}

static void mmu_map_huge(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	u64 *sptep;
	int level;

	/* 2M: the leaf maps the aligned frame; any GFN inside finds it. */
	KUNIT_EXPECT_TRUE(test, map(test, MT_GFN + 0x205, MT_PFN + 0x205, L2M,
				    true, false));
	sptep = find_leaf(mmu, MT_GFN + 0x3ff, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L2M);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_HUGE);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(*sptep), MT_PFN + 0x200);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[1]), 1);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 3);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN + 0x1ff, &level));
	/* A 4K fault inside, same frames: spurious. */
	KUNIT_EXPECT_FALSE(test, map(test, MT_GFN + 0x210, MT_PFN + 0x210, L4K,
				     true, false));

	/* 1G at GFN 2^19 (GPA 2G). */
	KUNIT_EXPECT_TRUE(test, map(test, MT_GFN * 2 + 77, MT_PFN * 4 + 77, L1G,
				    true, true));
	sptep = find_leaf(mmu, MT_GFN * 3 - 1, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L1G);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(*sptep), MT_PFN * 4);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[2]), 1);
}

static void mmu_map_table_in_the_way(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	u64 *sptep;
	int level;

	/* A 4K leaf first: its table sits where a 2M leaf would go. */
	KUNIT_EXPECT_TRUE(test, map(test, MT_GFN + 0x400, MT_PFN, L4K, true, false));
	KUNIT_EXPECT_TRUE(test, map(test, MT_GFN + 0x401, MT_PFN + 1, L2M, true,
				    false));
	sptep = find_leaf(mmu, MT_GFN + 0x401, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L4K);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(*sptep), MT_PFN + 1);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[1]), 0);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 2);
	/* Same for 1G over 2M tables. */
	KUNIT_EXPECT_TRUE(test, map(test, MT_GFN + 0x800, MT_PFN + 0x800, L1G,
				    true, false));
	sptep = find_leaf(mmu, MT_GFN + 0x800, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L2M);
	KUNIT_EXPECT_EQ(test, kvmmu_spte_pfn(*sptep), MT_PFN + 0x800);
}

static void mmu_map_huge_in_the_way(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	int flushes = atomic_read(&test_flushes);
	u64 *sptep;
	int level;

	/* A read-only 2M leaf, then a write that may only map 4K. */
	KUNIT_EXPECT_TRUE(test, map(test, MT_GFN + 0x600, MT_PFN, L2M, false,
				    false));
	KUNIT_EXPECT_TRUE(test, map(test, MT_GFN + 0x605, MT_PFN + 5, L4K, true,
				    true));
	sptep = find_leaf(mmu, MT_GFN + 0x605, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L4K);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);
	/* The rest of the 2M is unmapped and will fault at 4K. */
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN + 0x600, &level));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[1]), 0);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes + 1);
}

/* The fault path's exits before GUP: MMIO, read-only, beyond MAXPHYADDR. */
static void mmu_fault_emulate(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	u64 gpa = MT_GFN << PAGE_SHIFT;

	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, MT_GFN, 16, MT_HVA), 0);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 1, KVM_MEM_READONLY, MT_GFN + 16,
				       16, MT_HVA + 0x10000), 0);
	/* No slot. */
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_page_fault(f->vcpu, gpa - 4096, 0),
			KVMMU_PF_EMULATE);
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_page_fault(f->vcpu, gpa + 32 * 4096,
						   KVMMU_PFERR_WRITE),
			KVMMU_PF_EMULATE);
	/* Write to a read-only slot. */
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_page_fault(f->vcpu, gpa + 16 * 4096,
						   KVMMU_PFERR_WRITE |
						   KVMMU_PFERR_PRESENT),
			KVMMU_PF_EMULATE);
	/* Beyond the 48 bits the NPT covers. */
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_page_fault(f->vcpu, BIT_ULL(48), 0),
			KVMMU_PF_EMULATE);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.emulate), 4);
	/* A slot, but not our mm (a kthread): GUP is not attempted. */
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_page_fault(f->vcpu, gpa, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_page_fault(f->vcpu, gpa + 16 * 4096, 0),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.faults), 6);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 0);
}

/* ---- zaps ---- */

static void mmu_zap_range(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	int flushes = atomic_read(&test_flushes);
	struct flush_mark m;
	LIST_HEAD(freed);
	gfn_t g = MT_GFN;
	bool flush;
	int level;
	int i;

	/* 4K leaves in the first two level-1 tables, a 2M leaf after. */
	for (i = 0; i < 4; i++) {
		KUNIT_ASSERT_TRUE(test, map(test, g + i, MT_PFN + i, L4K, true, false));
		KUNIT_ASSERT_TRUE(test, map(test, g + 0x200 + i, MT_PFN + 0x200 + i,
					    L4K, true, false));
	}
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x400, MT_PFN + 0x400, L2M, true,
				    false));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 5);

	/* Zap GFNs g+1, g+2: the neighbours stay. */
	write_lock(&mmu->lock);
	flush = kvmmu_zap_gfn_range(mmu, 0, g + 1, g + 3, &freed);
	KUNIT_EXPECT_TRUE(test, flush);
	KUNIT_EXPECT_TRUE(test, list_empty(&freed));
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, g, &level));
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, g + 1, &level));
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, g + 2, &level));
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, g + 3, &level));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 6);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes + 1);

	/* Nothing mapped there any more: no flush asked. */
	write_lock(&mmu->lock);
	flush = kvmmu_zap_gfn_range(mmu, 0, g + 1, g + 3, &freed);
	flush |= kvmmu_zap_gfn_range(mmu, 1, 0, mmu->max_gfn, &freed);
	flush |= kvmmu_zap_gfn_range(mmu, 0, mmu->max_gfn, ~0ULL, &freed);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	KUNIT_EXPECT_FALSE(test, flush);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes + 1);

	/*
	 * Zap g+0x1ff .. g+0x401: the second level-1 table is inside and
	 * goes whole; the 2M leaf is partly inside and goes whole too.
	 */
	write_lock(&mmu->lock);
	flush = kvmmu_zap_gfn_range(mmu, 0, g + 0x1ff, g + 0x401, &freed);
	KUNIT_EXPECT_TRUE(test, flush);
	KUNIT_EXPECT_EQ(test, count_pages(&freed), 1);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 4);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, g + 0x200, &level));
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, g + 0x5ff, &level));
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, g + 3, &level));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 2);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[1]), 0);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	KUNIT_EXPECT_TRUE(test, list_empty(&freed));
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes + 2);

	/* Everything: only the root is left. */
	m = mark_flushes(mmu);
	kvmmu_mmu_zap_all(fixture(test)->vm);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 1);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 0);
	expect_flushes(test, mmu, m, 1);
	for (i = 0; i < KVMMU_SPTE_PER_TABLE; i++)
		KUNIT_EXPECT_EQ(test, mmu->root[i], 0);
	/* A 2M leaf can now replace the freed tables. */
	KUNIT_EXPECT_TRUE(test, map(test, g, MT_PFN, L2M, true, false));
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, g + 0x1ff, &level));
	KUNIT_EXPECT_EQ(test, level, L2M);
}

static void mmu_zap_memslot(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	u64 *sptep;
	struct flush_mark m;
	int level;

	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, MT_GFN, 0x400, MT_HVA), 0);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 1, 0, MT_GFN + 0x400, 0x200,
				       MT_HVA + 0x400000), 0);
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN, MT_PFN, L2M, true, false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x3ff, MT_PFN + 0x3ff, L4K,
				    true, false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x400, MT_PFN + 0x400, L4K,
				    true, false));

	/*
	 * Dirty logging on: slot 0's leaves stay but lose write access (the
	 * 2M one whole), slot 1's keeps it; one flush.
	 */
	m = mark_flushes(mmu);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, KVM_MEM_LOG_DIRTY_PAGES, MT_GFN,
				       0x400, MT_HVA), 0);
	expect_flushes(test, mmu, m, 1);
	sptep = find_leaf(mmu, MT_GFN, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L2M);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);
	sptep = find_leaf(mmu, MT_GFN + 0x3ff, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);
	sptep = find_leaf(mmu, MT_GFN + 0x400, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);

	/* A write fault splits the read-only 2M leaf: a writable 4K one. */
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 1, MT_PFN + 1, L4K, true,
				    true));
	sptep = find_leaf(mmu, MT_GFN + 1, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L4K);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN, &level));

	/* A flags change that is not dirty logging zaps nothing. */
	m = mark_flushes(mmu);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, KVM_MEM_LOG_DIRTY_PAGES, MT_GFN,
				       0x400, MT_HVA), 0);
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, MT_GFN + 1, &level));
	expect_flushes(test, mmu, m, 0);

	/* Move slot 1: its leaf goes. Delete slot 0: its leaf goes. */
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 1, 0, MT_GFN * 4, 0x200,
				       MT_HVA + 0x400000), 0);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN + 0x400, &level));
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, MT_GFN + 1, &level));
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, 0, 0, 0), 0);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN + 1, &level));
	expect_flushes(test, mmu, m, 2);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 0);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[1]), 0);
}

/*
 * Re-arming a dirty log: the bits taken (harvest) or cleared (manual) are
 * exactly the pages write-protected again, runs of bits included; pages
 * outside the mask keep write access.
 */
static void mmu_reprotect_dirty(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	struct kvmmu_memory_slot *slot;
	unsigned long mask, buf[2];
	u64 *sptep;
	int level, i;

	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, KVM_MEM_LOG_DIRTY_PAGES, MT_GFN,
				       128, MT_HVA), 0);
	/* Looked up under slots_lock as the ioctls do; nothing else runs. */
	mutex_lock(&f->vm->slots_lock);
	slot = kvmmu_id_to_memslot(kvmmu_memslots(f->vm, 0), 0);
	mutex_unlock(&f->vm->slots_lock);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_ASSERT_NOT_NULL(test, slot->dirty_bitmap);
	for (i = 0; i < 128; i++)
		KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + i, MT_PFN + i, L4K,
					    true, true));
	mask = BIT(0) | BIT(1) | BIT(2) | BIT(5) | BIT(63);
	slot->dirty_bitmap[0] = mask;
	slot->dirty_bitmap[1] = BIT(0) | BIT(62);

	/* Harvest word 0: it is returned and emptied, its pages protected. */
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_reprotect_dirty(f->vm, slot, 0, 1, buf,
							true), 5);
	KUNIT_EXPECT_EQ(test, buf[0], mask);
	KUNIT_EXPECT_EQ(test, slot->dirty_bitmap[0], 0);
	for (i = 0; i < 128; i++) {
		bool wp = i < 64 && (mask & BIT(i));

		sptep = find_leaf(mmu, MT_GFN + i, &level);
		KUNIT_ASSERT_NOT_NULL(test, sptep);
		KUNIT_EXPECT_EQ_MSG(test, !(*sptep & KVMMU_SPTE_WRITABLE), wp,
				    "gfn +%d", i);
	}

	/* Clear in word 1 only what is asked and set: page 64 + 0. */
	buf[0] = BIT(0) | BIT(1);
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_reprotect_dirty(f->vm, slot, 1, 1, buf,
							false), 1);
	KUNIT_EXPECT_EQ(test, slot->dirty_bitmap[1], BIT(62));
	sptep = find_leaf(mmu, MT_GFN + 64, &level);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);
	sptep = find_leaf(mmu, MT_GFN + 65, &level);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);
	sptep = find_leaf(mmu, MT_GFN + 126, &level);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);
}

/*
 * kvmmu_tdp_fast_page_fault(): a write to a leaf dirty logging made read-only gets
 * its write access back in place and is logged; a leaf the host never
 * made writable, a missing leaf and a huge leaf of a logged slot are left
 * to the slow path.
 */
static void mmu_fast_page_fault(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	int flushes = atomic_read(&test_flushes);
	struct kvmmu_mmu *mmu = f->mmu;
	const gfn_t huge = MT_GFN + 512, other = MT_GFN + 2048;
	struct kvmmu_memory_slot *slot, *slot2;
	unsigned long buf[1];
	u64 *sptep, spte;
	int level;

	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, KVM_MEM_LOG_DIRTY_PAGES, MT_GFN,
				       1024, MT_HVA), 0);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 1, 0, other, 512,
				       MT_HVA + (2048UL << PAGE_SHIFT)), 0);
	mutex_lock(&f->vm->slots_lock);
	slot = kvmmu_id_to_memslot(kvmmu_memslots(f->vm, 0), 0);
	slot2 = kvmmu_id_to_memslot(kvmmu_memslots(f->vm, 0), 1);
	mutex_unlock(&f->vm->slots_lock);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_ASSERT_NOT_NULL(test, slot2);

	/* Page 0 written, then harvested: read-only, host-writable. */
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN, MT_PFN, L4K, true, true));
	slot->dirty_bitmap[0] = BIT(0);
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_reprotect_dirty(f->vm, slot, 0, 1, buf,
							true), 1);
	sptep = find_leaf(mmu, MT_GFN, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	spte = *sptep;
	KUNIT_ASSERT_FALSE(test, spte & KVMMU_SPTE_WRITABLE);
	flushes = atomic_read(&test_flushes);

	KUNIT_EXPECT_TRUE(test, kvmmu_tdp_fast_page_fault(mmu, slot, MT_GFN));
	KUNIT_EXPECT_EQ(test, *sptep, spte | KVMMU_SPTE_WRITABLE |
				      KVMMU_SPTE_DIRTY);
	KUNIT_EXPECT_EQ(test, slot->dirty_bitmap[0], BIT(0));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.fast), 1);
	/* More rights, same frame: no flush. */
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes);
	/* Another vCPU's write meanwhile: nothing more to do. */
	KUNIT_EXPECT_TRUE(test, kvmmu_tdp_fast_page_fault(mmu, slot, MT_GFN));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.fast), 1);

	/* Read-only from the host (zero page, COW): GUP must decide. */
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 1, MT_PFN + 1, L4K, false,
				    false));
	KUNIT_EXPECT_FALSE(test, kvmmu_tdp_fast_page_fault(mmu, slot, MT_GFN + 1));
	sptep = find_leaf(mmu, MT_GFN + 1, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);
	KUNIT_EXPECT_FALSE(test, slot->dirty_bitmap[0] & BIT(1));
	/* Nothing mapped. */
	KUNIT_EXPECT_FALSE(test, kvmmu_tdp_fast_page_fault(mmu, slot, MT_GFN + 2));

	/* A huge leaf in a logged slot must be split by the slow path. */
	KUNIT_ASSERT_TRUE(test, map(test, huge, MT_PFN + 512, L2M, true, true));
	slot->dirty_bitmap[8] = BIT(3);
	kvmmu_mmu_reprotect_dirty(f->vm, slot, 8, 1, buf, true);
	KUNIT_EXPECT_FALSE(test, kvmmu_tdp_fast_page_fault(mmu, slot, huge + 3));
	sptep = find_leaf(mmu, huge + 3, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_EQ(test, level, L2M);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);

	/* One left read-only after logging stopped: made writable whole. */
	KUNIT_ASSERT_TRUE(test, map(test, other, MT_PFN + 2048, L2M, true,
				    true));
	sptep = find_leaf(mmu, other + 7, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	clear_bit(KVMMU_SPTE_WRITABLE_BIT, (unsigned long *)sptep);
	KUNIT_EXPECT_TRUE(test, kvmmu_tdp_fast_page_fault(mmu, slot2, other + 7));
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_WRITABLE);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.fast), 2);
}

/* ---- invalidations ---- */

static void mmu_invalidate_retry(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	unsigned long hva = MT_HVA + 0x5000, seq;
	gfn_t gfn = MT_GFN + 5;
	bool installed;
	int level;

	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, MT_GFN, MT_PAGES, MT_HVA), 0);
	KUNIT_ASSERT_TRUE(test, map(test, gfn, MT_PFN + 5, L4K, true, false));

	/* A fault reads the sequence, then the host starts invalidating. */
	seq = mmu->invalidate_seq;
	atomic_set(&test_flushes, 0);
	invalidate_begin(mmu, hva, hva + PAGE_SIZE, false);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), 1);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, gfn, &level));
	KUNIT_EXPECT_EQ(test, mmu->invalidate_in_progress, 1);

	/* The fault got the old page: it must not install it. */
	KUNIT_EXPECT_EQ(test, map_seq(test, gfn, MT_PFN + 5, L4K, true, false,
				      seq, &installed), 0);
	KUNIT_EXPECT_FALSE(test, installed);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, gfn, &level));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.retries), 1);
	/* Outside the range, faults go on. */
	KUNIT_EXPECT_EQ(test, map_seq(test, gfn + 1, MT_PFN + 6, L4K, true,
				      false, seq, &installed), 0);
	KUNIT_EXPECT_TRUE(test, installed);
	/* But not a 2M leaf that would cover the range. */
	KUNIT_EXPECT_EQ(test, map_seq(test, MT_GFN + 0x1ff, MT_PFN, L2M, true,
				      false, seq, &installed), 0);
	KUNIT_EXPECT_FALSE(test, installed);

	/* The invalidation ends: the sequence moved, old reads retry. */
	invalidate_finish(mmu);
	KUNIT_EXPECT_EQ(test, mmu->invalidate_in_progress, 0);
	KUNIT_EXPECT_EQ(test, mmu->invalidate_seq, seq + 1);
	KUNIT_EXPECT_EQ(test, map_seq(test, gfn, MT_PFN + 5, L4K, true, false,
				      seq, &installed), 0);
	KUNIT_EXPECT_FALSE(test, installed);
	KUNIT_EXPECT_EQ(test, map_seq(test, gfn + 2, MT_PFN + 7, L4K, true,
				      false, seq, &installed), 0);
	KUNIT_EXPECT_FALSE(test, installed);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.retries), 4);
	/* A fault that read the new sequence installs. */
	KUNIT_EXPECT_EQ(test, map_seq(test, gfn, MT_PFN + 9, L4K, true, false,
				      seq + 1, &installed), 0);
	KUNIT_EXPECT_TRUE(test, installed);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.invalidations), 1);
}

static void mmu_invalidate_nested(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	unsigned long seq = mmu->invalidate_seq;
	bool installed;

	/* No slot yet: nothing to zap, but the range still counts. */
	invalidate_begin(mmu, MT_HVA + 0x10000, MT_HVA + 0x11000, false);
	invalidate_begin(mmu, MT_HVA + 0x2000, MT_HVA + 0x3000, false);
	KUNIT_EXPECT_EQ(test, mmu->invalidate_in_progress, 2);
	KUNIT_EXPECT_EQ(test, mmu->invalidate_start, MT_HVA + 0x2000);
	KUNIT_EXPECT_EQ(test, mmu->invalidate_end, MT_HVA + 0x11000);

	/* A slot created meanwhile over those HVAs: its faults wait. */
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, MT_GFN, 0x100, MT_HVA), 0);
	seq = mmu->invalidate_seq;
	KUNIT_EXPECT_EQ(test, map_seq(test, MT_GFN + 2, MT_PFN, L4K, true, false,
				      seq, &installed), 0);
	KUNIT_EXPECT_FALSE(test, installed);
	/* Between the two ranges: the union covers it, a false positive. */
	KUNIT_EXPECT_EQ(test, map_seq(test, MT_GFN + 8, MT_PFN, L4K, true, false,
				      seq, &installed), 0);
	KUNIT_EXPECT_FALSE(test, installed);
	KUNIT_EXPECT_EQ(test, map_seq(test, MT_GFN + 0x11, MT_PFN, L4K, true,
				      false, seq, &installed), 0);
	KUNIT_EXPECT_TRUE(test, installed);

	invalidate_finish(mmu);
	KUNIT_EXPECT_EQ(test, mmu->invalidate_in_progress, 1);
	seq = mmu->invalidate_seq;
	KUNIT_EXPECT_EQ(test, map_seq(test, MT_GFN + 8, MT_PFN, L4K, true, false,
				      seq, &installed), 0);
	KUNIT_EXPECT_FALSE(test, installed);
	invalidate_finish(mmu);
	KUNIT_EXPECT_EQ(test, mmu->invalidate_in_progress, 0);
	KUNIT_EXPECT_EQ(test, map_seq(test, MT_GFN + 8, MT_PFN, L4K, true, false,
				      seq + 1, &installed), 0);
	KUNIT_EXPECT_TRUE(test, installed);
}

static void mmu_invalidate_zaps_slots(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	gfn_t gs, ge;
	int level;

	/* Two slots share HVAs (an alias); a third does not. */
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, MT_GFN, 0x400, MT_HVA), 0);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 1, 0, MT_GFN * 2, 0x400,
				       MT_HVA + 0x100000), 0);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 2, 0, MT_GFN * 3, 0x400,
				       MT_HVA + 0x1000000), 0);
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x100, MT_PFN, L4K, true, false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN * 2, MT_PFN, L4K, true, false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN * 3, MT_PFN, L4K, true, false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x101, MT_PFN, L4K, true, false));

	/* HVA MT_HVA + 1M (+ a partial page) is GFN 0x100 of slot 0 and 0 of 1. */
	invalidate_begin(mmu, MT_HVA + 0x100000, MT_HVA + 0x100800, false);
	invalidate_finish(mmu);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN + 0x100, &level));
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN * 2, &level));
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, MT_GFN * 3, &level));
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, MT_GFN + 0x101, &level));

	/* The HVA -> GFN clipping itself. */
	mutex_lock(&f->vm->slots_lock);
	slot_hva_to_gfns(kvmmu_id_to_memslot(kvmmu_memslots(f->vm, 0), 0),
			 MT_HVA - 0x5000, MT_HVA + 0x1001, &gs, &ge);
	KUNIT_EXPECT_EQ(test, gs, MT_GFN);
	KUNIT_EXPECT_EQ(test, ge, MT_GFN + 2);
	slot_hva_to_gfns(kvmmu_id_to_memslot(kvmmu_memslots(f->vm, 0), 0),
			 MT_HVA + 0x3ff000, ~0UL, &gs, &ge);
	KUNIT_EXPECT_EQ(test, gs, MT_GFN + 0x3ff);
	KUNIT_EXPECT_EQ(test, ge, MT_GFN + 0x400);
	mutex_unlock(&f->vm->slots_lock);
}

/* ---- aging and release ---- */

static void mmu_age(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	struct mmu_notifier *mn = &mmu->mn;
	unsigned long hva2m = MT_HVA + 0x200000;
	int flushes;
	u64 *sptep;
	int level;

	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, MT_GFN, 0x400, MT_HVA), 0);
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 1, MT_PFN, L4K, true, false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x200, MT_PFN + 0x200, L2M,
				    true, false));

	/* Unmapped HVAs are never young. */
	KUNIT_EXPECT_EQ(test, mn_test_young(mn, NULL, MT_HVA), 0);
	KUNIT_EXPECT_EQ(test, mn_test_young(mn, NULL, MT_HVA - 4096), 0);
	/* A fresh leaf is young; testing does not clear it. */
	KUNIT_EXPECT_EQ(test, mn_test_young(mn, NULL, MT_HVA + 0x1fff), 1);
	KUNIT_EXPECT_EQ(test, mn_test_young(mn, NULL, MT_HVA + 0x1000), 1);
	KUNIT_EXPECT_EQ(test, mn_clear_young(mn, NULL, MT_HVA, MT_HVA + 0x2000), 1);
	sptep = find_leaf(mmu, MT_GFN + 1, &level);
	KUNIT_ASSERT_NOT_NULL(test, sptep);
	KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_ACCESSED);
	KUNIT_EXPECT_TRUE(test, *sptep & KVMMU_SPTE_PRESENT);
	KUNIT_EXPECT_EQ(test, mn_test_young(mn, NULL, MT_HVA + 0x1000), 0);
	KUNIT_EXPECT_EQ(test, mn_clear_young(mn, NULL, MT_HVA, MT_HVA + 0x2000), 0);

	/* The CPU sets A again on access. */
	set_bit(KVMMU_SPTE_ACCESSED_BIT, (unsigned long *)sptep);
	KUNIT_EXPECT_EQ(test, mn_test_young(mn, NULL, MT_HVA + 0x1000), 1);

	/* The 2M leaf answers for any of its pages; a flush when young. */
	flushes = atomic_read(&test_flushes);
	KUNIT_EXPECT_EQ(test, mn_clear_flush_young(mn, NULL, hva2m + 0x10000,
						   hva2m + 0x11000), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes + 1);
	KUNIT_EXPECT_EQ(test, mn_clear_flush_young(mn, NULL, hva2m,
						   hva2m + 0x200000), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes), flushes + 1);
	KUNIT_EXPECT_NOT_NULL(test, find_leaf(mmu, MT_GFN + 0x200, &level));
}

static void mmu_release(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	int level;

	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN, MT_PFN, L4K, true, false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN * 2, MT_PFN, L1G, true, false));
	mn_release(&mmu->mn, NULL);
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN, &level));
	KUNIT_EXPECT_NULL(test, find_leaf(mmu, MT_GFN * 2, &level));
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 1);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.zapped), 2);
}

/*
 * The iterator itself: pre-order and GFN order, min_level, and a restart
 * after a yield that resumes at the entry it was at, skipping nothing.
 */
static void mmu_iter_order(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	const gfn_t g = MT_GFN;
	struct kvmmu_iter iter;
	gfn_t seen[8];
	int n = 0, tables = 0, yielded = 0;

	KUNIT_ASSERT_TRUE(test, map(test, g + 5, MT_PFN, L4K, true, true));
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x200, MT_PFN + 0x200, L2M, true,
				    true));
	KUNIT_ASSERT_TRUE(test, map(test, g + 0x401, MT_PFN + 1, L4K, true,
				    true));

	read_lock(&mmu->lock);
	/* From inside the 2M leaf: it comes first, with its own GFN. */
	for_each_npt_leaf(iter, mmu, g + 0x300, g + 0x1000) {
		KUNIT_ASSERT_LT(test, n, 8);
		seen[n++] = iter.gfn;
		/* Yield once, at the 4K leaf: it is visited again. */
		if (iter.gfn == g + 0x401 && !yielded++)
			kvmmu_iter_yielded(&iter);
	}
	KUNIT_EXPECT_EQ(test, n, 3);
	KUNIT_EXPECT_EQ(test, seen[0], g + 0x200);
	KUNIT_EXPECT_EQ(test, seen[1], g + 0x401);
	KUNIT_EXPECT_EQ(test, seen[2], g + 0x401);

	/* An empty range inside the 2M leaf visits nothing, not the leaf. */
	n = 0;
	for_each_npt_spte(iter, mmu, PG_LEVEL_4K, g + 0x300, g + 0x300)
		n++;
	KUNIT_EXPECT_EQ(test, n, 0);

	/* Tables before what they hold; nothing below @min_level. */
	n = 0;
	for_each_npt_spte(iter, mmu, PG_LEVEL_2M, g, g + 0x600) {
		KUNIT_EXPECT_GE(test, iter.level, PG_LEVEL_2M);
		if (!kvmmu_spte_present(iter.old_spte))
			continue;
		if (!kvmmu_spte_is_leaf(iter.old_spte, iter.level))
			tables++;
		else
			KUNIT_EXPECT_EQ(test, iter.gfn, g + 0x200);
		n++;
	}
	read_unlock(&mmu->lock);
	/* Level 4 and 3 entries, the 4K tables at g and g + 0x400, the leaf. */
	KUNIT_EXPECT_EQ(test, tables, 4);
	KUNIT_EXPECT_EQ(test, n, 5);
}

/* ---- flush before unlock, the debug ledger, yields ---- */

/*
 * Every zap path flushes before it releases mmu->lock (KVM's rule): an
 * invalidation, a memslot move and delete, dirty logging on and a
 * re-arm, a huge leaf replaced by a fault, zap_all and release. Before
 * 2026-12-04 each of them flushed after the unlock and this case failed
 * on test_flushes_unlocked (and, on the debug kernel, on the ledger).
 */
static void mmu_flush_before_unlock(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	int unlocked = atomic_read(&test_flushes_unlocked);
	int fired = atomic_read(&kvmmu_ledger_fired);
	int flushes = atomic_read(&test_flushes);
	struct kvmmu_memory_slot *slot;
	unsigned long word = ~0UL;

	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, MT_GFN, 0x400, MT_HVA), 0);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 1, 0, MT_GFN * 2, 0x200,
				       MT_HVA + 0x400000), 0);
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN, MT_PFN, L4K, true, true));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x200, MT_PFN, L2M, false,
				    false));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN * 2, MT_PFN, L4K, true, true));

	/* A notifier invalidation of slot 0's first page. */
	invalidate_begin(mmu, MT_HVA, MT_HVA + PAGE_SIZE, false);
	invalidate_finish(mmu);
	/* A write fault splits the read-only 2M leaf (read lock, frozen). */
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x201, MT_PFN + 1, L4K, true,
				    true));
	/* Dirty logging on slot 0 (write protection), then a re-arm. */
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, KVM_MEM_LOG_DIRTY_PAGES, MT_GFN,
				       0x400, MT_HVA), 0);
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x201, MT_PFN + 1, L4K, true,
				    true));
	mutex_lock(&f->vm->slots_lock);
	slot = kvmmu_id_to_memslot(kvmmu_memslots(f->vm, 0), 0);
	set_bit(0x201, slot->dirty_bitmap);
	KUNIT_EXPECT_EQ(test, kvmmu_mmu_reprotect_dirty(f->vm, slot, 8, 1, &word,
							false), 1);
	mutex_unlock(&f->vm->slots_lock);
	/* Move slot 1, delete slot 0, zap all, release. */
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 1, 0, MT_GFN * 4, 0x200,
				       MT_HVA + 0x400000), 0);
	KUNIT_ASSERT_EQ(test, add_slot(f->vm, 0, 0, 0, 0, 0), 0);
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN * 4, MT_PFN, L4K, true, true));
	kvmmu_mmu_zap_all(f->vm);
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN * 4, MT_PFN, L4K, true, true));
	mn_release(&mmu->mn, NULL);

	KUNIT_EXPECT_GE(test, atomic_read(&test_flushes), flushes + 7);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes_unlocked), unlocked);
	KUNIT_EXPECT_EQ(test, atomic_read(&kvmmu_ledger_fired), fired);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 0);
}

/*
 * The ledger sees the old order: SPTEs zapped or write-protected under
 * mmu->lock, the lock released, the flush after. It stays quiet for the
 * right order. Only the debug kernel (lockdep) keeps the ledger.
 */
static void mmu_ledger_catches_late_flush(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	int fired = atomic_read(&kvmmu_ledger_fired);
	LIST_HEAD(freed);
	bool flush;

	if (!KVMMU_DEBUG)
		kunit_skip(test, "the ledger is kept with CONFIG_PROVE_LOCKING");
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN, MT_PFN, L4K, true, true));
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 1, MT_PFN, L4K, true, true));
	WRITE_ONCE(kvmmu_ledger_quiet, true);

	/* Old order, zap: unlock, then flush. */
	write_lock(&mmu->lock);
	flush = kvmmu_zap_gfn_range(mmu, 0, MT_GFN, MT_GFN + 1, &freed);
	kvmmu_mmu_write_unlock(mmu);
	kvmmu_flush_remote_tlbs(mmu->vm);
	KUNIT_EXPECT_TRUE(test, flush);
	KUNIT_EXPECT_EQ(test, atomic_read(&kvmmu_ledger_fired), fired + 1);

	/* Old order, write protection for dirty logging. */
	write_lock(&mmu->lock);
	KUNIT_EXPECT_TRUE(test, kvmmu_mmu_walk_leaves(mmu, 0, MT_GFN + 1,
						      MT_GFN + 2, wrprot_spte,
						      NULL));
	kvmmu_mmu_write_unlock(mmu);
	KUNIT_EXPECT_EQ(test, atomic_read(&kvmmu_ledger_fired), fired + 2);

	/* The right order: nothing fires. */
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN, MT_PFN, L4K, true, true));
	write_lock(&mmu->lock);
	flush = kvmmu_zap_gfn_range(mmu, 0, MT_GFN, MT_GFN + 2, &freed);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	KUNIT_EXPECT_EQ(test, atomic_read(&kvmmu_ledger_fired), fired + 2);

	/* A zap that found nothing needs no flush. */
	write_lock(&mmu->lock);
	flush = kvmmu_zap_gfn_range(mmu, 0, MT_GFN, MT_GFN + 2, &freed);
	kvmmu_mmu_write_unlock(mmu);
	KUNIT_EXPECT_FALSE(test, flush);
	KUNIT_EXPECT_EQ(test, atomic_read(&kvmmu_ledger_fired), fired + 2);
	WRITE_ONCE(kvmmu_ledger_quiet, false);
}

/* Map @n 2M ranges of 4K leaves (the first 8 of each) from @gfn on. */
static void map_spread(struct kunit *test, gfn_t gfn, int n)
{
	int i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < 8; j++)
			KUNIT_ASSERT_TRUE(test, map(test, gfn + i * 0x200 + j,
						    MT_PFN + j, L4K, true,
						    true));
}

/*
 * A walk over a big populated range releases mmu->lock when a reschedule
 * is due (tdp_mmu_iter_cond_resched()), flushes before it does, and still
 * finishes the whole range: zap_all, and dirty logging's write
 * protection of a slot.
 */
static void mmu_long_walks_yield(struct kunit *test)
{
	struct mmu_fixture *f = fixture(test);
	struct kvmmu_mmu *mmu = f->mmu;
	int unlocked = atomic_read(&test_flushes_unlocked);
	s64 yields = stat(&mmu->stats.yields);
	LIST_HEAD(freed);
	u64 *sptep;
	int level, i;
	bool flush;

	map_spread(test, MT_GFN, 16);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 16 * 8);
	set_tsk_need_resched(current);
	kvmmu_mmu_zap_all(f->vm);
	KUNIT_EXPECT_GT(test, stat(&mmu->stats.yields), yields);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.leaves[0]), 0);
	KUNIT_EXPECT_EQ(test, stat(&mmu->stats.tables), 1);

	/* Dirty logging's write protection of a populated slot. */
	map_spread(test, MT_GFN, 16);
	yields = stat(&mmu->stats.yields);
	write_lock(&mmu->lock);
	set_tsk_need_resched(current);
	flush = kvmmu_tdp_write_protect_range(mmu, 0, MT_GFN, MT_GFN + 0x2000, &freed);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	KUNIT_EXPECT_GT(test, stat(&mmu->stats.yields), yields);
	for (i = 0; i < 16; i++) {
		sptep = find_leaf(mmu, MT_GFN + i * 0x200 + 7, &level);
		KUNIT_ASSERT_NOT_NULL(test, sptep);
		KUNIT_EXPECT_FALSE(test, *sptep & KVMMU_SPTE_WRITABLE);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&test_flushes_unlocked), unlocked);
}

/* ---- debugfs dump ---- */

static void mmu_dump_batches(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	struct kvmmu_dump_batch *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	gfn_t last = 0;
	int i, total = 0, rounds = 0;
	bool done;

	KUNIT_ASSERT_NOT_NULL(test, b);
	/* 70 leaves: 69 4K ones in three tables, one 2M leaf between. */
	for (i = 0; i < 23; i++) {
		KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + i * 7, MT_PFN + i, L4K,
					    true, false));
		KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x400 + i, MT_PFN + i,
					    L4K, true, false));
		KUNIT_ASSERT_TRUE(test, map(test, MT_GFN * 5 + i, MT_PFN + i, L4K,
					    true, false));
	}
	KUNIT_ASSERT_TRUE(test, map(test, MT_GFN + 0x200, MT_PFN, L2M, true, false));

	do {
		b->n = 0;
		read_lock(&mmu->lock);
		done = kvmmu_tdp_dump_collect(mmu, b);
		read_unlock(&mmu->lock);
		for (i = 0; i < b->n; i++) {
			KUNIT_EXPECT_GT(test, b->leaf[i].gfn + 1, last);
			last = b->leaf[i].gfn + 1;
			KUNIT_EXPECT_EQ(test, b->leaf[i].level,
					b->leaf[i].gfn == MT_GFN + 0x200 ? L2M : L4K);
		}
		total += b->n;
		KUNIT_ASSERT_LT(test, ++rounds, 10);
	} while (!done);
	KUNIT_EXPECT_EQ(test, total, 70);
	KUNIT_EXPECT_EQ(test, rounds, 3);
}

/*
 * A leaf that goes hands its accessed and dirty bits to the page, as KVM's
 * handle_changed_spte() does, on each path that removes a leaf: a zap of
 * single leaves, a zap that detaches a whole table, and a fault that
 * replaces a huge leaf under the read lock.
 */
static void mmu_zap_hands_ad_to_page(struct kunit *test)
{
	struct kvmmu_mmu *mmu = fixture(test)->mmu;
	struct page *p[3], *huge, *other;
	gfn_t g = MT_GFN;
	LIST_HEAD(freed);
	int i, round, level;
	bool flush;
	u64 *sptep;

	/* The made-up frames of the other cases must stay untouched. */
	KUNIT_ASSERT_FALSE(test, pfn_valid(MT_PFN));
	for (i = 0; i < 3; i++) {
		p[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p[i]);
	}
	huge = alloc_pages(GFP_KERNEL | __GFP_COMP, PMD_SHIFT - PAGE_SHIFT);
	other = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, huge);
	KUNIT_ASSERT_NOT_NULL(test, other);

	/* Round 0 zaps 3 leaves of a table; round 1 the whole table. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 3; i++) {
			folio_clear_referenced(page_folio(p[i]));
			ClearPageDirty(p[i]);
		}
		/* Read (accessed), written (dirty), aged (accessed cleared). */
		KUNIT_ASSERT_TRUE(test, map(test, g, page_to_pfn(p[0]), L4K,
					    false, false));
		KUNIT_ASSERT_TRUE(test, map(test, g + 1, page_to_pfn(p[1]), L4K,
					    true, true));
		KUNIT_ASSERT_TRUE(test, map(test, g + 2, page_to_pfn(p[2]), L4K,
					    true, false));
		sptep = find_leaf(mmu, g + 2, &level);
		KUNIT_ASSERT_NOT_NULL(test, sptep);
		clear_bit(KVMMU_SPTE_ACCESSED_BIT, (unsigned long *)sptep);

		write_lock(&mmu->lock);
		flush = kvmmu_zap_gfn_range(mmu, 0, g, round ? g + 512 : g + 3,
					    &freed);
		KUNIT_EXPECT_EQ(test, count_pages(&freed), round);
		kvmmu_mmu_zap_unlock(mmu, flush, &freed);

		KUNIT_EXPECT_TRUE(test, folio_test_referenced(page_folio(p[0])));
		KUNIT_EXPECT_FALSE(test, PageDirty(p[0]));
		KUNIT_EXPECT_TRUE(test, folio_test_referenced(page_folio(p[1])));
		KUNIT_EXPECT_TRUE(test, PageDirty(p[1]));
		KUNIT_EXPECT_FALSE(test, folio_test_referenced(page_folio(p[2])));
		KUNIT_EXPECT_FALSE(test, PageDirty(p[2]));
	}

	/* A 2M leaf replaced by a table when a 4K fault maps another frame. */
	folio_clear_referenced(page_folio(huge));
	KUNIT_ASSERT_TRUE(test, map(test, g, page_to_pfn(huge), L2M, true,
				    false));
	KUNIT_ASSERT_TRUE(test, map(test, g + 5, page_to_pfn(other), L4K, true,
				    false));
	KUNIT_EXPECT_TRUE(test, folio_test_referenced(page_folio(huge)));
	KUNIT_EXPECT_FALSE(test, PageDirty(huge));
	kvmmu_mmu_zap_all(fixture(test)->vm);

	for (i = 0; i < 3; i++) {
		ClearPageDirty(p[i]);
		__free_page(p[i]);
	}
	ClearPageDirty(other);
	__free_page(other);
	__free_pages(huge, PMD_SHIFT - PAGE_SHIFT);
}

static struct kunit_case mmu_test_cases[] = {
	KUNIT_CASE(mmu_spte_format),
	KUNIT_CASE_PARAM(mmu_fault_level, level_gen_params),
	KUNIT_CASE(mmu_walk_leaves),
	KUNIT_CASE(mmu_iter_order),
	KUNIT_CASE(mmu_write_protect_mask),
	KUNIT_CASE(mmu_map_4k),
	KUNIT_CASE(mmu_map_write_upgrade),
	KUNIT_CASE(mmu_map_huge),
	KUNIT_CASE(mmu_map_table_in_the_way),
	KUNIT_CASE(mmu_map_huge_in_the_way),
	KUNIT_CASE(mmu_fault_emulate),
	KUNIT_CASE(mmu_zap_range),
	KUNIT_CASE(mmu_zap_memslot),
	KUNIT_CASE(mmu_reprotect_dirty),
	KUNIT_CASE(mmu_fast_page_fault),
	KUNIT_CASE(mmu_invalidate_retry),
	KUNIT_CASE(mmu_invalidate_nested),
	KUNIT_CASE(mmu_invalidate_zaps_slots),
	KUNIT_CASE(mmu_age),
	KUNIT_CASE(mmu_release),
	KUNIT_CASE(mmu_dump_batches),
	KUNIT_CASE(mmu_flush_before_unlock),
	KUNIT_CASE(mmu_ledger_catches_late_flush),
	KUNIT_CASE(mmu_long_walks_yield),
	KUNIT_CASE(mmu_zap_hands_ad_to_page),
	{}
};

static struct kunit_suite mmu_test_suite = {
	.name = "kvmmu_mmu",
	.init = mmu_test_init,
	.exit = mmu_test_exit,
	.test_cases = mmu_test_cases,
};

kunit_test_suite(mmu_test_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for the shadow MMU's groundwork: the reverse map (rmap.c)
 * and shadow pages (shadow.c), built into kvmmu_test.ko.
 *
 * Both sources are compiled into this module (the #includes below), so
 * the tests can look inside a head's descriptors. No guest and no real
 * page tables: the "SPTEs" are words of an array (rmap) or of the spt
 * pages themselves (parent pointers). What is checked:
 *
 *  - a head empty, with one SPTE and with many, across the 14-entry
 *    descriptor size both ways, its count and the tails kept full;
 *  - removal from the middle, of an absent SPTE, and during a walk;
 *  - adds that find the descriptor cache empty;
 *  - a memslot's arrays per level for unaligned slots, and GFN lookups;
 *  - roles, the hash, parent pointers, and the two-step delete.
 *
 * Adds and shadow-page operations run under a spinning lock held for
 * write, as they will under the MMU lock: on the debug kernel an
 * allocation that may sleep there would be reported.
 */

#include <kunit/test.h>
#include <linux/io.h>
#include <linux/sizes.h>

#include "../../rmap.c"
#include "../../shadow.c"
#include "../../shadow_mmu.c"

#define RT_SPTES	64

struct rmap_fixture {
	u64 *sptes;
	struct kvmmu_memory_cache mc;
	rwlock_t lock;
};

static int rmap_test_init(struct kunit *test)
{
	struct rmap_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	f->sptes = kunit_kcalloc(test, RT_SPTES, sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f->sptes);
	kvmmu_rmap_cache_init(&f->mc);
	rwlock_init(&f->lock);
	test->priv = f;
	return 0;
}

static void rmap_test_exit(struct kunit *test)
{
	struct rmap_fixture *f = test->priv;

	if (f)
		kvmmu_memory_cache_free(&f->mc);
}

/* Add sptes[0 .. n - 1] under the lock; each add must return its index. */
static void add_n(struct kunit *test, struct kvmmu_rmap_head *head, int n)
{
	struct rmap_fixture *f = test->priv;
	int i, r;

	KUNIT_ASSERT_EQ(test, kvmmu_memory_cache_topup(&f->mc, n / 14 + 1), 0);
	for (i = 0; i < n; i++) {
		write_lock(&f->lock);
		r = kvmmu_rmap_add(&f->mc, head, &f->sptes[i]);
		write_unlock(&f->lock);
		KUNIT_ASSERT_EQ(test, r, i);
	}
}

/*
 * Walk @head: each SPTE must be one of sptes[], seen once. Returns the
 * set seen as a bitmap of indexes.
 */
static u64 walk_set(struct kunit *test, struct kvmmu_rmap_head *head)
{
	struct rmap_fixture *f = test->priv;
	struct kvmmu_rmap_iter iter;
	u64 *sptep, seen = 0;
	long idx;

	kvmmu_for_each_rmap_spte(head, iter, sptep) {
		idx = sptep - f->sptes;
		KUNIT_ASSERT_TRUE(test, idx >= 0 && idx < RT_SPTES);
		KUNIT_EXPECT_FALSE_MSG(test, seen & BIT_ULL(idx),
				       "sptes[%ld] seen twice", idx);
		seen |= BIT_ULL(idx);
	}
	return seen;
}

/*
 * The chain's invariants: every descriptor but the first is full, each
 * tail_count is what follows, and no descriptor is empty. Returns how
 * many descriptors there are (0 for an empty or single head).
 */
static int check_chain(struct kunit *test, struct kvmmu_rmap_head *head)
{
	struct kvmmu_rmap_desc *desc;
	unsigned int total = kvmmu_rmap_count(head);
	int n = 0;

	if (!(head->val & KVMMU_RMAP_MANY))
		return 0;
	for (desc = rmap_desc(head->val); desc; desc = desc->more, n++) {
		KUNIT_EXPECT_GT(test, desc->count, 0U);
		if (n)
			KUNIT_EXPECT_EQ(test, desc->count,
					(u32)KVMMU_RMAP_DESC_SPTES);
		KUNIT_EXPECT_EQ(test, desc->count + desc->tail_count, total);
		total -= desc->count;
	}
	KUNIT_EXPECT_EQ(test, total, 0U);
	return n;
}

static void remove_one(struct kunit *test, struct kvmmu_rmap_head *head,
		       int i)
{
	struct rmap_fixture *f = test->priv;

	write_lock(&f->lock);
	kvmmu_rmap_remove(head, &f->sptes[i]);
	write_unlock(&f->lock);
}

static void rmap_empty_and_single(struct kunit *test)
{
	struct rmap_fixture *f = test->priv;
	struct kvmmu_rmap_head head = {};
	struct kvmmu_rmap_iter iter;

	KUNIT_EXPECT_TRUE(test, kvmmu_rmap_empty(&head));
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), 0U);
	KUNIT_EXPECT_NULL(test, kvmmu_rmap_first(&head, &iter));
	KUNIT_EXPECT_NULL(test, kvmmu_rmap_next(&iter));

	/* One SPTE is the head itself: no descriptor is taken. */
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_add(&f->mc, &head, &f->sptes[5]), 0);
	KUNIT_EXPECT_EQ(test, head.val, (unsigned long)&f->sptes[5]);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), 1U);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head), BIT_ULL(5));
	KUNIT_EXPECT_PTR_EQ(test, kvmmu_rmap_first(&head, &iter), &f->sptes[5]);
	KUNIT_EXPECT_NULL(test, kvmmu_rmap_next(&iter));

	remove_one(test, &head, 5);
	KUNIT_EXPECT_TRUE(test, kvmmu_rmap_empty(&head));
	KUNIT_EXPECT_EQ(test, f->mc.nobjs, 0);
}

/* Sizes around the descriptor size (14): 1, 2, 13-16, 27-29, 42, 43, 64. */
static const int rmap_sizes[] = { 1, 2, 13, 14, 15, 16, 27, 28, 29, 42, 43,
				  RT_SPTES };

static void size_desc(const int *n, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%d SPTEs", *n);
}

KUNIT_ARRAY_PARAM(rmap_size, rmap_sizes, size_desc);

static u64 first_n(int n)
{
	return n == 64 ? ~0ULL : BIT_ULL(n) - 1;
}

/* Descriptors a head of @n SPTEs uses. */
static int descs_for(int n)
{
	return n < 2 ? 0 : DIV_ROUND_UP(n, KVMMU_RMAP_DESC_SPTES);
}

static void rmap_many(struct kunit *test)
{
	struct kvmmu_rmap_head head = {};
	int n = *(const int *)test->param_value;
	int i, descs;

	add_n(test, &head, n);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), (unsigned int)n);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head), first_n(n));
	KUNIT_EXPECT_EQ(test, check_chain(test, &head), descs_for(n));

	/* Down one at a time from the oldest: descriptors go as they empty. */
	for (i = 0; i < n; i++) {
		remove_one(test, &head, i);
		KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head),
				(unsigned int)(n - i - 1));
		KUNIT_EXPECT_EQ(test, walk_set(test, &head),
				first_n(n) & ~first_n(i + 1));
		descs = check_chain(test, &head);
		/* Once a chain, always a chain until empty (as KVM). */
		if (n - i - 1 >= 2)
			KUNIT_EXPECT_EQ(test, descs, descs_for(n - i - 1));
	}
	KUNIT_EXPECT_TRUE(test, kvmmu_rmap_empty(&head));
}

/* Up across 14, down across it, up again: a descriptor each way. */
static void rmap_desc_boundary(struct kunit *test)
{
	struct rmap_fixture *f = test->priv;
	struct kvmmu_rmap_head head = {};
	struct kvmmu_rmap_desc *old;
	int taken;

	add_n(test, &head, 14);
	KUNIT_EXPECT_EQ(test, check_chain(test, &head), 1);
	old = rmap_desc(head.val);

	taken = f->mc.nobjs;
	KUNIT_ASSERT_EQ(test, kvmmu_rmap_add(&f->mc, &head, &f->sptes[14]), 14);
	KUNIT_EXPECT_EQ(test, f->mc.nobjs, taken - 1);
	KUNIT_EXPECT_EQ(test, check_chain(test, &head), 2);
	KUNIT_EXPECT_PTR_EQ(test, rmap_desc(head.val)->more, old);

	/* Removing one of the full tail's: the head's only entry fills it. */
	remove_one(test, &head, 3);
	KUNIT_EXPECT_EQ(test, check_chain(test, &head), 1);
	KUNIT_EXPECT_PTR_EQ(test, rmap_desc(head.val), old);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head),
			(BIT_ULL(15) - 1) & ~BIT_ULL(3));

	KUNIT_ASSERT_EQ(test, kvmmu_rmap_add(&f->mc, &head, &f->sptes[3]), 14);
	KUNIT_EXPECT_EQ(test, check_chain(test, &head), 2);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head), BIT_ULL(15) - 1);
	kvmmu_rmap_clear(&head);
	KUNIT_EXPECT_TRUE(test, kvmmu_rmap_empty(&head));
}

static void rmap_remove_middle(struct kunit *test)
{
	struct kvmmu_rmap_head head = {};
	const int n = 30;
	u64 want = first_n(n);

	add_n(test, &head, n);
	/* 7 is in the oldest (tail) descriptor, 20 in the middle one. */
	remove_one(test, &head, 7);
	want &= ~BIT_ULL(7);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head), want);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), (unsigned int)n - 1);
	KUNIT_EXPECT_EQ(test, check_chain(test, &head), 3);

	remove_one(test, &head, 20);
	want &= ~BIT_ULL(20);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head), want);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), (unsigned int)n - 2);
	/* 28 left: the head descriptor emptied and went. */
	KUNIT_EXPECT_EQ(test, check_chain(test, &head), 2);
	kvmmu_rmap_clear(&head);
}

/* An absent SPTE: try_remove says so and the head does not change. */
static void rmap_remove_absent(struct kunit *test)
{
	struct rmap_fixture *f = test->priv;
	struct kvmmu_rmap_head head = {};
	unsigned long val;

	KUNIT_EXPECT_FALSE(test, kvmmu_rmap_try_remove(&head, &f->sptes[0]));
	KUNIT_EXPECT_TRUE(test, kvmmu_rmap_empty(&head));

	add_n(test, &head, 1);
	KUNIT_EXPECT_FALSE(test, kvmmu_rmap_try_remove(&head, &f->sptes[1]));
	KUNIT_EXPECT_EQ(test, head.val, (unsigned long)&f->sptes[0]);

	kvmmu_rmap_clear(&head);
	add_n(test, &head, 20);
	val = head.val;
	KUNIT_EXPECT_FALSE(test, kvmmu_rmap_try_remove(&head, &f->sptes[40]));
	KUNIT_EXPECT_EQ(test, head.val, val);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), 20U);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head), first_n(20));
	KUNIT_EXPECT_TRUE(test, kvmmu_rmap_try_remove(&head, &f->sptes[19]));
	KUNIT_EXPECT_FALSE(test, kvmmu_rmap_try_remove(&head, &f->sptes[19]));
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), 19U);
	kvmmu_rmap_clear(&head);
}

/*
 * A walk that removes some or all of the SPTEs it is given: each SPTE is
 * visited exactly once and the survivors are the ones it kept.
 */
static void rmap_walk_remove(struct kunit *test)
{
	struct rmap_fixture *f = test->priv;
	int n = *(const int *)test->param_value;
	struct kvmmu_rmap_head head = {};
	struct kvmmu_rmap_iter iter;
	u64 *sptep, seen, kept;
	unsigned int nkept;
	int pass, visits;
	long idx;

	/* Pass 0 removes odd indexes, pass 1 multiples of 3, pass 2 all. */
	for (pass = 0; pass < 3; pass++) {
		add_n(test, &head, n);
		seen = 0;
		kept = 0;
		visits = 0;
		write_lock(&f->lock);
		for (sptep = kvmmu_rmap_first(&head, &iter); sptep;
		     sptep = kvmmu_rmap_next(&iter)) {
			idx = sptep - f->sptes;
			visits++;
			if (idx < 0 || idx >= n || (seen & BIT_ULL(idx)))
				break;
			seen |= BIT_ULL(idx);
			if ((pass == 0 && (idx & 1)) ||
			    (pass == 1 && idx % 3 == 0) || pass == 2)
				kvmmu_rmap_remove(&head, sptep);
			else
				kept |= BIT_ULL(idx);
		}
		write_unlock(&f->lock);
		KUNIT_EXPECT_EQ_MSG(test, visits, n, "pass %d", pass);
		KUNIT_EXPECT_EQ_MSG(test, seen, first_n(n), "pass %d", pass);
		KUNIT_EXPECT_EQ(test, walk_set(test, &head), kept);
		nkept = hweight64(kept);
		KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), nkept);
		check_chain(test, &head);
		kvmmu_rmap_clear(&head);
	}
}

/* Adds that need a descriptor fail cleanly on an empty cache. */
static void rmap_cache_exhausted(struct kunit *test)
{
	struct rmap_fixture *f = test->priv;
	struct kvmmu_rmap_head head = {};
	unsigned long val;
	int i;

	KUNIT_ASSERT_EQ(test, f->mc.nobjs, 0);
	write_lock(&f->lock);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_add(&f->mc, &head, &f->sptes[0]), 0);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_add(&f->mc, &head, &f->sptes[1]),
			-ENOMEM);
	write_unlock(&f->lock);
	KUNIT_EXPECT_EQ(test, head.val, (unsigned long)&f->sptes[0]);

	/* One descriptor: the chain grows to 14 and the 15th fails. */
	KUNIT_ASSERT_EQ(test, kvmmu_memory_cache_topup(&f->mc, 1), 0);
	KUNIT_EXPECT_EQ(test, f->mc.nobjs, KVMMU_MEMORY_CACHE_CAPACITY);
	while (f->mc.nobjs > 1)
		kfree(kvmmu_memory_cache_alloc(&f->mc));
	write_lock(&f->lock);
	for (i = 1; i < 14; i++)
		KUNIT_EXPECT_EQ(test,
				kvmmu_rmap_add(&f->mc, &head, &f->sptes[i]), i);
	val = head.val;
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_add(&f->mc, &head, &f->sptes[14]),
			-ENOMEM);
	write_unlock(&f->lock);
	KUNIT_EXPECT_EQ(test, head.val, val);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), 14U);
	KUNIT_EXPECT_EQ(test, walk_set(test, &head), first_n(14));
	KUNIT_EXPECT_NULL(test, kvmmu_memory_cache_alloc(&f->mc));

	/* Topped up again, the same add goes through. */
	KUNIT_EXPECT_EQ(test, kvmmu_memory_cache_topup(&f->mc,
						       KVMMU_MEMORY_CACHE_CAPACITY + 1),
			-EINVAL);
	KUNIT_ASSERT_EQ(test, kvmmu_memory_cache_topup(&f->mc, 1), 0);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_add(&f->mc, &head, &f->sptes[14]), 14);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&head), 15U);
	kvmmu_rmap_clear(&head);
}

struct slot_case {
	const char *name;
	gfn_t base;
	unsigned long npages;
	unsigned long entries[KVMMU_RMAP_LEVELS];
};

#define G2M	512UL
#define G1G	(512UL * 512)

static const struct slot_case slot_cases[] = {
	{ "one page", 0x1234, 1, { 1, 1, 1 } },
	{ "2M aligned", G2M * 4, G2M * 2, { G2M * 2, 2, 1 } },
	/* Two pages straddling a 2M boundary: two partial 2M pages. */
	{ "straddles 2M", G2M - 1, 2, { 2, 2, 1 } },
	/* Last 4K of a 1G page to the first 4K of the one after next. */
	{ "straddles 1G twice", G1G - 1, G1G + 2,
	  { G1G + 2, (2 * G1G) / G2M - (G1G - 1) / G2M + 1, 3 } },
	/* Starts mid 2M, ends mid 2M: 0x201-0x5ff -> 2M pages 1 and 2. */
	{ "partial both ends", G2M + 1, 2 * G2M - 2, { 2 * G2M - 2, 2, 1 } },
	/* The largest slot KVM allows, far from alignment. */
	{ "2^31 - 1 pages", 0x10000001, KVMMU_MEM_MAX_NR_PAGES,
	  { KVMMU_MEM_MAX_NR_PAGES,
	    (0x10000001 + KVMMU_MEM_MAX_NR_PAGES - 1) / G2M - 0x10000001 / G2M + 1,
	    (0x10000001 + KVMMU_MEM_MAX_NR_PAGES - 1) / G1G - 0x10000001 / G1G + 1 } },
};

static void slot_case_desc(const struct slot_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(slot, slot_cases, slot_case_desc);

static void rmap_slot_arrays(struct kunit *test)
{
	const struct slot_case *c = test->param_value;
	struct kvmmu_slot_rmap r;
	gfn_t last = c->base + c->npages - 1;
	int level;

	for (level = PG_LEVEL_4K; level <= KVMMU_RMAP_LEVELS; level++)
		KUNIT_EXPECT_EQ_MSG(test, kvmmu_rmap_slot_entries(c->base,
								  c->npages,
								  level),
				    c->entries[level - 1], "level %d", level);
	/* Arrays of a few GiB are not for a test VM: sizes only. */
	if (c->npages > G1G * 4)
		return;

	KUNIT_ASSERT_EQ(test, kvmmu_slot_rmap_alloc(&r, c->base, c->npages), 0);
	for (level = PG_LEVEL_4K; level <= KVMMU_RMAP_LEVELS; level++) {
		struct kvmmu_rmap_head *heads = r.heads[level - 1];
		unsigned long n = c->entries[level - 1];

		/* First and last GFN: the first and last head of the array. */
		KUNIT_EXPECT_PTR_EQ(test, kvmmu_gfn_to_rmap(&r, c->base, level),
				    &heads[0]);
		KUNIT_EXPECT_PTR_EQ(test, kvmmu_gfn_to_rmap(&r, last, level),
				    &heads[n - 1]);
		/* Outside the slot: nothing. */
		KUNIT_EXPECT_NULL(test, kvmmu_gfn_to_rmap(&r, c->base - 1,
							  level));
		KUNIT_EXPECT_NULL(test, kvmmu_gfn_to_rmap(&r, last + 1, level));
		/* The whole array is there (KASAN checks the access). */
		KUNIT_EXPECT_EQ(test, READ_ONCE(heads[n - 1].val), 0UL);
	}
	/* Two GFNs of one 2M page share its 2M head, not their 4K ones. */
	if (c->npages >= 2 && (c->base & (G2M - 1)) != G2M - 1) {
		KUNIT_EXPECT_PTR_EQ(test, kvmmu_gfn_to_rmap(&r, c->base, 2),
				    kvmmu_gfn_to_rmap(&r, c->base + 1, 2));
		KUNIT_EXPECT_PTR_NE(test, kvmmu_gfn_to_rmap(&r, c->base, 1),
				    kvmmu_gfn_to_rmap(&r, c->base + 1, 1));
	}
	KUNIT_EXPECT_NULL(test, kvmmu_gfn_to_rmap(&r, c->base, 0));
	KUNIT_EXPECT_NULL(test, kvmmu_gfn_to_rmap(&r, c->base, 4));
	kvmmu_slot_rmap_free(&r);
	KUNIT_EXPECT_NULL(test, r.heads[0]);
	kvmmu_slot_rmap_free(&r);
}

static void rmap_slot_bad(struct kunit *test)
{
	struct kvmmu_slot_rmap r;

	KUNIT_EXPECT_EQ(test, kvmmu_slot_rmap_alloc(&r, 0x1000, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvmmu_slot_rmap_alloc(&r, U64_MAX - 1, 3),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, r.heads[0]);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_slot_entries(U64_MAX, 1, 1), 1UL);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_slot_entries(U64_MAX, 2, 1), 0UL);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_slot_entries(0, 1, 0), 0UL);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_slot_entries(0, 1, 4), 0UL);
}

static struct kunit_case rmap_test_cases[] = {
	KUNIT_CASE(rmap_empty_and_single),
	KUNIT_CASE_PARAM(rmap_many, rmap_size_gen_params),
	KUNIT_CASE(rmap_desc_boundary),
	KUNIT_CASE(rmap_remove_middle),
	KUNIT_CASE(rmap_remove_absent),
	KUNIT_CASE_PARAM(rmap_walk_remove, rmap_size_gen_params),
	KUNIT_CASE(rmap_cache_exhausted),
	KUNIT_CASE_PARAM(rmap_slot_arrays, slot_gen_params),
	KUNIT_CASE(rmap_slot_bad),
	{}
};

static struct kunit_suite rmap_test_suite = {
	.name = "kvmmu_rmap",
	.init = rmap_test_init,
	.exit = rmap_test_exit,
	.test_cases = rmap_test_cases,
};

/* ---- shadow pages ---- */

struct shadow_fixture {
	struct kvmmu_shadow s;
	struct kvmmu_shadow_caches c;
	rwlock_t lock;
};

static int shadow_test_init(struct kunit *test)
{
	struct shadow_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	rwlock_init(&f->lock);
	kvmmu_shadow_caches_init(&f->c);
	KUNIT_ASSERT_EQ(test, kvmmu_shadow_init(&f->s, &f->lock), 0);
	test->priv = f;
	return 0;
}

static void shadow_test_exit(struct kunit *test)
{
	struct shadow_fixture *f = test->priv;

	if (!f)
		return;
	kvmmu_shadow_destroy(&f->s);
	kvmmu_shadow_caches_free(&f->c);
}

/* Find or create (gfn, role) under the lock, topping up before it. */
static struct kvmmu_mmu_page *get_sp(struct kunit *test, gfn_t gfn,
				     union kvmmu_page_role role, bool *created)
{
	struct shadow_fixture *f = test->priv;
	struct kvmmu_mmu_page *sp;

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_caches_topup(&f->c), 0);
	write_lock(&f->lock);
	sp = kvmmu_shadow_find(&f->s, gfn, role);
	*created = !sp;
	if (!sp)
		sp = kvmmu_shadow_alloc(&f->s, &f->c, gfn, role);
	write_unlock(&f->lock);
	KUNIT_ASSERT_NOT_NULL(test, sp);
	return sp;
}

static struct kvmmu_mmu_page *find_sp(struct kunit *test, gfn_t gfn,
				      union kvmmu_page_role role)
{
	struct shadow_fixture *f = test->priv;
	struct kvmmu_mmu_page *sp;

	write_lock(&f->lock);
	sp = kvmmu_shadow_find(&f->s, gfn, role);
	write_unlock(&f->lock);
	return sp;
}

/* A 64-bit guest's 4K-level role, the base of the variations below. */
static union kvmmu_page_role base_role(void)
{
	union kvmmu_page_role role = { .word = 0 };

	role.level = PG_LEVEL_4K;
	role.access = 7;
	role.efer_nx = 1;
	role.cr0_wp = 1;
	return role;
}

/* @base with one field changed by one bit. */
static union kvmmu_page_role role_variant(int i)
{
	union kvmmu_page_role role = base_role();

	switch (i) {
	case 0:
		/* 1 -> 3, one bit: 1 -> 2 would flip two. */
		role.level = PG_LEVEL_1G;
		break;
	case 1:
		role.has_4_byte_gpte = 1;
		break;
	case 2:
		role.quadrant = 1;
		break;
	case 3:
		role.direct = 1;
		break;
	case 4:
		role.access = 6;
		break;
	case 5:
		role.invalid = 1;
		break;
	case 6:
		role.efer_nx = 0;
		break;
	case 7:
		role.cr0_wp = 0;
		break;
	case 8:
		role.smep_andnot_wp = 1;
		break;
	case 9:
		role.smap_andnot_wp = 1;
		break;
	case 10:
		role.pae_root = 1;
		break;
	}
	return role;
}

#define ROLE_VARIANTS	11

static void shadow_roles(struct kunit *test)
{
	struct kvmmu_mmu_page *base, *sp[ROLE_VARIANTS];
	union kvmmu_page_role role;
	const gfn_t gfn = 0x1234;
	bool created;
	int i, j;

	KUNIT_EXPECT_EQ(test, sizeof(union kvmmu_page_role), sizeof(u32));
	role = base_role();
	KUNIT_EXPECT_EQ(test, (u32)role.level, 1U);

	/* Each field is its own bits: one bit apart, one word apart. */
	for (i = 0; i < ROLE_VARIANTS; i++) {
		u32 diff = role_variant(i).word ^ base_role().word;

		KUNIT_EXPECT_EQ_MSG(test, hweight32(diff), 1U, "variant %d", i);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_NE(test, role_variant(i).word,
					role_variant(j).word);
	}

	base = get_sp(test, gfn, base_role(), &created);
	KUNIT_EXPECT_TRUE(test, created);
	for (i = 0; i < ROLE_VARIANTS; i++) {
		sp[i] = get_sp(test, gfn, role_variant(i), &created);
		KUNIT_EXPECT_TRUE_MSG(test, created, "variant %d", i);
		KUNIT_EXPECT_PTR_NE(test, sp[i], base);
	}
	/* Each is found again by its own role only. */
	KUNIT_EXPECT_PTR_EQ(test, find_sp(test, gfn, base_role()), base);
	for (i = 0; i < ROLE_VARIANTS; i++) {
		KUNIT_EXPECT_PTR_EQ(test, find_sp(test, gfn, role_variant(i)),
				    sp[i]);
		KUNIT_EXPECT_EQ(test, sp[i]->role.word, role_variant(i).word);
		KUNIT_EXPECT_EQ(test, sp[i]->gfn, gfn);
	}
	KUNIT_EXPECT_EQ(test, ((struct shadow_fixture *)test->priv)->s.nr_pages,
			(unsigned long)ROLE_VARIANTS + 1);
}

/*
 * Each role field, set to its largest value alone: its bits in @word. The fields
 * must not share a bit, or two roles differing in one field could compare
 * equal; what they cover is bits 0-16, the rest is padding kept zero.
 */
static void shadow_role_fields(struct kunit *test)
{
	union kvmmu_page_role r[11];
	u32 all = 0;
	int i;

	memset(r, 0, sizeof(r));
	r[0].level = 15;
	r[1].has_4_byte_gpte = 1;
	r[2].quadrant = 3;
	r[3].direct = 1;
	r[4].access = 7;
	r[5].invalid = 1;
	r[6].efer_nx = 1;
	r[7].cr0_wp = 1;
	r[8].smep_andnot_wp = 1;
	r[9].smap_andnot_wp = 1;
	r[10].pae_root = 1;
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		KUNIT_EXPECT_NE_MSG(test, r[i].word, 0U, "field %d", i);
		KUNIT_EXPECT_EQ_MSG(test, r[i].word & all, 0U, "field %d", i);
		all |= r[i].word;
	}
	/*
	 * The hash is keyed by gfn alone (hash_64(gfn)): the roles of a gfn
	 * share a bucket and the whole word tells them apart (shadow_roles).
	 */
	KUNIT_EXPECT_EQ(test, all, (u32)GENMASK(16, 0));
}

static void shadow_hash(struct kunit *test)
{
	struct shadow_fixture *f = test->priv;
	union kvmmu_page_role role = base_role();
	struct kvmmu_mmu_page *sp[100], *found;
	bool created;
	int i;

	KUNIT_EXPECT_NULL(test, find_sp(test, 0, role));
	/*
	 * Spread and clustered GFNs: 100 pages over 4096 buckets, more than
	 * one per bucket for some (hash_64 of small neighbours).
	 */
	for (i = 0; i < ARRAY_SIZE(sp); i++) {
		gfn_t gfn = i < 50 ? i : (gfn_t)i << 30;

		sp[i] = get_sp(test, gfn, role, &created);
		KUNIT_EXPECT_TRUE(test, created);
		KUNIT_EXPECT_EQ(test, sp[i]->gfn, gfn);
		/* A fresh page: no SPTEs, parents, root users, unsync. */
		KUNIT_EXPECT_NULL(test, memchr_inv(sp[i]->spt, 0, PAGE_SIZE));
		KUNIT_EXPECT_TRUE(test, kvmmu_rmap_empty(&sp[i]->parent_ptes));
		KUNIT_EXPECT_EQ(test, sp[i]->root_count, 0);
		KUNIT_EXPECT_FALSE(test, sp[i]->unsync);
		KUNIT_EXPECT_EQ(test, sp[i]->unsync_children, 0U);
	}
	for (i = 0; i < ARRAY_SIZE(sp); i++) {
		gfn_t gfn = i < 50 ? i : (gfn_t)i << 30;

		found = get_sp(test, gfn, role, &created);
		KUNIT_EXPECT_FALSE(test, created);
		KUNIT_EXPECT_PTR_EQ(test, found, sp[i]);
		/* Each spt leads back to its page. */
		KUNIT_EXPECT_PTR_EQ(test, kvmmu_sptep_to_sp(&sp[i]->spt[511]),
				    sp[i]);
	}
	/* Misses: a GFN next to the stored ones, a role next to theirs. */
	KUNIT_EXPECT_NULL(test, find_sp(test, 50, role));
	KUNIT_EXPECT_NULL(test, find_sp(test, (50ULL << 30) + 1, role));
	KUNIT_EXPECT_NULL(test, find_sp(test, 7, role_variant(3)));
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, (unsigned long)ARRAY_SIZE(sp));
}

/* An upper page's SPTE i links @child in: set it and record it. */
static void link_sp(struct kunit *test, struct kvmmu_mmu_page *parent, int i,
		    struct kvmmu_mmu_page *child)
{
	struct shadow_fixture *f = test->priv;
	int r;

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_caches_topup(&f->c), 0);
	write_lock(&f->lock);
	parent->spt[i] = virt_to_phys(child->spt) | 7;
	r = kvmmu_shadow_add_parent(&f->c, child, &parent->spt[i]);
	write_unlock(&f->lock);
	KUNIT_ASSERT_EQ(test, r, 0);
}

static void shadow_parents(struct kunit *test)
{
	struct shadow_fixture *f = test->priv;
	union kvmmu_page_role up = base_role();
	struct kvmmu_mmu_page *p, *q, *child;
	struct kvmmu_rmap_iter iter;
	int n = 0, from_p = 0;
	bool created;
	u64 *sptep;

	up.level = PG_LEVEL_2M;
	p = get_sp(test, 0x100, up, &created);
	q = get_sp(test, 0x200, up, &created);
	child = get_sp(test, 0x300, base_role(), &created);

	/* One guest table reached from three upper SPTEs (a DAG). */
	link_sp(test, p, 3, child);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&child->parent_ptes), 1U);
	link_sp(test, p, 7, child);
	link_sp(test, q, 0, child);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&child->parent_ptes), 3U);
	kvmmu_for_each_rmap_spte(&child->parent_ptes, iter, sptep) {
		struct kvmmu_mmu_page *owner = kvmmu_sptep_to_sp(sptep);

		KUNIT_EXPECT_TRUE(test, owner == p || owner == q);
		KUNIT_EXPECT_EQ(test, *sptep & PAGE_MASK,
				(u64)virt_to_phys(child->spt));
		from_p += owner == p;
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 3);
	KUNIT_EXPECT_EQ(test, from_p, 2);

	write_lock(&f->lock);
	kvmmu_shadow_remove_parent(child, &p->spt[7]);
	write_unlock(&f->lock);
	p->spt[7] = 0;
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&child->parent_ptes), 2U);
	KUNIT_EXPECT_FALSE(test, kvmmu_rmap_try_remove(&child->parent_ptes,
						       &p->spt[7]));
	/* The pages themselves are freed by destroy (in exit). */
}

static void shadow_delete(struct kunit *test)
{
	struct shadow_fixture *f = test->priv;
	union kvmmu_page_role up = base_role();
	struct kvmmu_mmu_page *p, *q, *child, *sp;
	LIST_HEAD(zapped);
	bool created;
	int i;

	up.level = PG_LEVEL_2M;
	p = get_sp(test, 0x100, up, &created);
	q = get_sp(test, 0x200, up, &created);
	child = get_sp(test, 0x300, base_role(), &created);
	link_sp(test, p, 1, child);
	link_sp(test, p, 2, child);
	link_sp(test, q, 511, child);
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, 3UL);

	write_lock(&f->lock);
	KUNIT_EXPECT_TRUE(test, kvmmu_shadow_prepare_delete(&f->s, child,
							    &zapped));
	write_unlock(&f->lock);
	/* Parents' SPTEs cleared and forgotten, the page out of the hash. */
	KUNIT_EXPECT_EQ(test, p->spt[1], 0ULL);
	KUNIT_EXPECT_EQ(test, p->spt[2], 0ULL);
	KUNIT_EXPECT_EQ(test, q->spt[511], 0ULL);
	KUNIT_EXPECT_TRUE(test, kvmmu_rmap_empty(&child->parent_ptes));
	KUNIT_EXPECT_NULL(test, find_sp(test, 0x300, base_role()));
	KUNIT_EXPECT_TRUE(test, child->role.invalid);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&zapped,
						   struct kvmmu_mmu_page, link),
			    child);
	/* Still counted until the commit (after the caller's flush). */
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, 3UL);
	write_lock(&f->lock);
	kvmmu_shadow_commit_delete(&f->s, &zapped);
	write_unlock(&f->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&zapped));
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, 2UL);

	/* A root in use: unlinked now, freed when its last user lets go. */
	KUNIT_EXPECT_PTR_EQ(test, find_sp(test, 0x100, up), p);
	p->root_count = 2;
	write_lock(&f->lock);
	KUNIT_EXPECT_FALSE(test, kvmmu_shadow_prepare_delete(&f->s, p,
							     &zapped));
	write_unlock(&f->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&zapped));
	KUNIT_EXPECT_TRUE(test, p->role.invalid);
	KUNIT_EXPECT_NULL(test, find_sp(test, 0x100, up));
	/* A new page for the same gfn and role can be made meanwhile. */
	sp = get_sp(test, 0x100, up, &created);
	KUNIT_EXPECT_TRUE(test, created);
	KUNIT_EXPECT_PTR_NE(test, sp, p);

	write_lock(&f->lock);
	kvmmu_shadow_put_root(&f->s, p, &zapped);
	KUNIT_EXPECT_TRUE(test, list_empty(&zapped));
	kvmmu_shadow_put_root(&f->s, p, &zapped);
	KUNIT_EXPECT_FALSE(test, list_empty(&zapped));
	kvmmu_shadow_commit_delete(&f->s, &zapped);
	write_unlock(&f->lock);
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, 2UL);

	/* A root that was not zapped stays when its count drops to 0. */
	sp->root_count = 1;
	write_lock(&f->lock);
	kvmmu_shadow_put_root(&f->s, sp, &zapped);
	write_unlock(&f->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&zapped));
	KUNIT_EXPECT_PTR_EQ(test, find_sp(test, 0x100, up), sp);

	/* Every page of the list goes at once. */
	for (i = 0; i < 3; i++) {
		sp = get_sp(test, 0x1000 + i, base_role(), &created);
		write_lock(&f->lock);
		KUNIT_EXPECT_TRUE(test, kvmmu_shadow_prepare_delete(&f->s, sp,
								    &zapped));
		write_unlock(&f->lock);
	}
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, 5UL);
	write_lock(&f->lock);
	kvmmu_shadow_commit_delete(&f->s, &zapped);
	write_unlock(&f->lock);
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, 2UL);
}

/*
 * Unsync bookkeeping: a leaf page joins the VM's list once, leaves it in
 * sync again, and a zap takes it off the list (no dangling entry).
 */
static void shadow_unsync_list(struct kunit *test)
{
	struct shadow_fixture *f = test->priv;
	struct kvmmu_mmu_page *a, *b;
	LIST_HEAD(zapped);
	bool created;

	a = get_sp(test, 0x200, base_role(), &created);
	b = get_sp(test, 0x201, base_role(), &created);
	write_lock(&f->lock);
	kvmmu_shadow_mark_unsync(&f->s, a);
	kvmmu_shadow_mark_unsync(&f->s, a);
	kvmmu_shadow_mark_unsync(&f->s, b);
	write_unlock(&f->lock);
	KUNIT_EXPECT_TRUE(test, a->unsync);
	KUNIT_EXPECT_EQ(test, f->s.nr_unsync, 2UL);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&f->s.unsync_pages), 2UL);

	write_lock(&f->lock);
	kvmmu_shadow_clear_unsync(&f->s, a);
	kvmmu_shadow_clear_unsync(&f->s, a);
	write_unlock(&f->lock);
	KUNIT_EXPECT_FALSE(test, a->unsync);
	KUNIT_EXPECT_EQ(test, f->s.nr_unsync, 1UL);

	write_lock(&f->lock);
	KUNIT_EXPECT_TRUE(test, kvmmu_shadow_prepare_delete(&f->s, b, &zapped));
	KUNIT_EXPECT_FALSE(test, b->unsync);
	KUNIT_EXPECT_TRUE(test, list_empty(&f->s.unsync_pages));
	kvmmu_shadow_commit_delete(&f->s, &zapped);
	write_unlock(&f->lock);
	KUNIT_EXPECT_EQ(test, f->s.nr_unsync, 0UL);
}

/*
 * unsync_child_bitmap (KVM's mark_unsync()): an unsync leaf page sets its
 * parent SPTEs' bits and, the first time a page has one, its own
 * parents', up to the root; a second unsync page below the same PD adds
 * a bit there only; a new link to an upper page that leads to unsync
 * pages marks the new parent SPTE.
 */
static void shadow_unsync_bitmap(struct kunit *test)
{
	struct shadow_fixture *f = test->priv;
	union kvmmu_page_role r = base_role();
	struct kvmmu_mmu_page *l4, *l3, *l2, *l2b, *pt, *pt2;
	bool created;

	r.level = 4;
	l4 = get_sp(test, 0x400, r, &created);
	r.level = 3;
	l3 = get_sp(test, 0x401, r, &created);
	r.level = 2;
	l2 = get_sp(test, 0x402, r, &created);
	l2b = get_sp(test, 0x403, r, &created);
	pt = get_sp(test, 0x404, base_role(), &created);
	pt2 = get_sp(test, 0x405, base_role(), &created);
	link_sp(test, l4, 1, l3);
	link_sp(test, l3, 2, l2);
	link_sp(test, l2, 3, pt);
	link_sp(test, l2, 4, pt2);

	write_lock(&f->lock);
	kvmmu_shadow_mark_unsync(&f->s, pt);
	write_unlock(&f->lock);
	KUNIT_EXPECT_TRUE(test, test_bit(3, l2->unsync_child_bitmap));
	KUNIT_EXPECT_TRUE(test, test_bit(2, l3->unsync_child_bitmap));
	KUNIT_EXPECT_TRUE(test, test_bit(1, l4->unsync_child_bitmap));
	KUNIT_EXPECT_EQ(test, l2->unsync_children, 1U);
	KUNIT_EXPECT_EQ(test, l3->unsync_children, 1U);
	KUNIT_EXPECT_EQ(test, l4->unsync_children, 1U);

	write_lock(&f->lock);
	kvmmu_shadow_mark_unsync(&f->s, pt2);
	write_unlock(&f->lock);
	KUNIT_EXPECT_TRUE(test, test_bit(4, l2->unsync_child_bitmap));
	KUNIT_EXPECT_EQ(test, l2->unsync_children, 2U);
	KUNIT_EXPECT_EQ(test, l3->unsync_children, 1U);
	KUNIT_EXPECT_EQ(test, l4->unsync_children, 1U);

	/* l2 linked again, under l3 entry 5: that SPTE leads there too. */
	link_sp(test, l3, 5, l2);
	write_lock(&f->lock);
	kvmmu_shadow_mark_unsync_spte(&l3->spt[5]);
	kvmmu_shadow_mark_unsync_spte(&l3->spt[5]);
	write_unlock(&f->lock);
	KUNIT_EXPECT_TRUE(test, test_bit(5, l3->unsync_child_bitmap));
	KUNIT_EXPECT_EQ(test, l3->unsync_children, 2U);
	KUNIT_EXPECT_EQ(test, l4->unsync_children, 1U);
	/* Nothing for l2b, which leads nowhere unsync. */
	KUNIT_EXPECT_EQ(test, l2b->unsync_children, 0U);
	/* The pages themselves are freed by destroy (in exit). */
}

/* Without cache objects nothing is created and nothing is taken. */
static void shadow_cache_exhausted(struct kunit *test)
{
	struct shadow_fixture *f = test->priv;
	struct kvmmu_mmu_page *sp;

	write_lock(&f->lock);
	sp = kvmmu_shadow_alloc(&f->s, &f->c, 1, base_role());
	write_unlock(&f->lock);
	KUNIT_EXPECT_NULL(test, sp);

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_caches_topup(&f->c), 0);
	kvmmu_memory_cache_free(&f->c.spt);
	write_lock(&f->lock);
	sp = kvmmu_shadow_alloc(&f->s, &f->c, 1, base_role());
	write_unlock(&f->lock);
	KUNIT_EXPECT_NULL(test, sp);
	KUNIT_EXPECT_EQ(test, f->c.header.nobjs, KVMMU_MEMORY_CACHE_CAPACITY);
	KUNIT_EXPECT_EQ(test, f->s.nr_pages, 0UL);
	KUNIT_EXPECT_NULL(test, find_sp(test, 1, base_role()));
}

static struct kunit_case shadow_test_cases[] = {
	KUNIT_CASE(shadow_roles),
	KUNIT_CASE(shadow_role_fields),
	KUNIT_CASE(shadow_hash),
	KUNIT_CASE(shadow_parents),
	KUNIT_CASE(shadow_delete),
	KUNIT_CASE(shadow_unsync_list),
	KUNIT_CASE(shadow_unsync_bitmap),
	KUNIT_CASE(shadow_cache_exhausted),
	{}
};

static struct kunit_suite shadow_test_suite = {
	.name = "kvmmu_shadow",
	.init = shadow_test_init,
	.exit = shadow_test_exit,
	.test_cases = shadow_test_cases,
};

/* ---- shadow_mmu.c: the gfn rmap, protection, zaps, the dump ---- */

/*
 * A VM's shadow MMU without vCPUs: struct kvmmu_mmu set up by
 * kvmmu_shadow_mmu_init(), one vCPU's caches, and a VM of memslots only
 * (memslot.c, from memslot_test.c) whose slots carry the reverse map:
 * SMMU_SLOT0 pages from gfn 0, SMMU_SLOT1 pages from SMMU_BASE1. Leaves
 * are written by hand (no guest walk, no GUP): present, writable, a
 * made-up frame, A and D clear so that zapping one touches no struct
 * page. What needs a vCPU and guest memory (sh_get_sp()'s flush, the
 * descent of kvmmu_shadow_map(), roots from CR3) is left to shadow_test.
 */
struct smmu_fixture {
	struct kvmmu_vm vm;
	struct kvmmu_mmu mmu;
	struct kvmmu_mmu_vcpu c;
	int srcu_idx;
};

#define SMMU_SLOT0	0x4000ULL
#define SMMU_BASE1	0x10000ULL
#define SMMU_SLOT1	0x200ULL
#define SMMU_HVA	0x7f0000000000UL

#define SMMU_LEAF(pfn)	(KVMMU_SPTE_PRESENT | KVMMU_SPTE_WRITABLE | \
			 ((u64)(pfn) << PAGE_SHIFT))

/* As a fault or a zap: SRCU for the slots, then the MMU lock. */
static void smmu_lock(struct smmu_fixture *f)
	__acquires(&f->vm.srcu) __acquires(&f->mmu.lock)
{
	f->srcu_idx = srcu_read_lock(&f->vm.srcu);
	write_lock(&f->mmu.lock);
}

/* No vCPU to flush: square the zap ledger of the debug kernel instead. */
static void smmu_unlock(struct smmu_fixture *f)
	__releases(&f->mmu.lock) __releases(&f->vm.srcu)
{
	kvmmu_ledger_flushed();
	write_unlock(&f->mmu.lock);
	srcu_read_unlock(&f->vm.srcu, f->srcu_idx);
}

/* KVM_SET_USER_MEMORY_REGION2 on the fixture's VM (slot @id, as 0). */
static int smmu_set_slot(struct smmu_fixture *f, u32 id, gfn_t base,
			 u64 npages, unsigned long hva)
{
	struct kvm_userspace_memory_region2 mem = {
		.slot = id,
		.guest_phys_addr = base << PAGE_SHIFT,
		.memory_size = npages << PAGE_SHIFT,
		.userspace_addr = hva,
	};

	return kvmmu_set_memory_region(&f->vm, &mem, false);
}

static int smmu_test_init(struct kunit *test)
{
	struct smmu_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	rwlock_init(&f->mmu.lock);
	KUNIT_ASSERT_EQ(test, kvmmu_memslots_init(&f->vm), 0);
	f->vm.mmu = &f->mmu;
	f->mmu.vm = &f->vm;
	kvmmu_shadow_vcpu_init(&f->c);
	test->priv = f;
	KUNIT_ASSERT_EQ(test, kvmmu_shadow_mmu_init(&f->mmu), 0);
	KUNIT_ASSERT_EQ(test, smmu_set_slot(f, 0, 0, SMMU_SLOT0, SMMU_HVA), 0);
	KUNIT_ASSERT_EQ(test, smmu_set_slot(f, 1, SMMU_BASE1, SMMU_SLOT1,
					    SMMU_HVA + SZ_1G), 0);
	return 0;
}

static void smmu_test_exit(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *sp;

	if (!f)
		return;
	smmu_lock(f);
	/* Roots the cases took are dropped, so that destroy frees them. */
	list_for_each_entry(sp, &f->mmu.sp.active_pages, link)
		sp->root_count = 0;
	kvmmu_shadow_zap_all(&f->mmu, false);
	kvmmu_shadow_commit_delete(&f->mmu.sp, &f->mmu.sp_zapped);
	smmu_unlock(f);
	kvmmu_shadow_mmu_destroy(&f->mmu);
	kvmmu_shadow_vcpu_destroy(NULL, &f->c);
	/* Frees the slots' arrays: all heads must be empty (debug WARN). */
	kvmmu_memslots_destroy(&f->vm);
}

/* A new page (gfn, role); an indirect level-1 one gets its gfns array. */
static struct kvmmu_mmu_page *smmu_page(struct kunit *test, gfn_t gfn,
					union kvmmu_page_role role)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *sp, *old;

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
	smmu_lock(f);
	old = kvmmu_shadow_find(&f->mmu.sp, gfn, role);
	sp = old ? NULL : kvmmu_shadow_alloc(&f->mmu.sp, &f->c.sc, gfn, role);
	if (sp && !role.direct && role.level == PG_LEVEL_4K)
		sp->gfns = kvmmu_memory_cache_alloc(&f->c.gfns_cache);
	smmu_unlock(f);
	KUNIT_EXPECT_NULL(test, old);
	KUNIT_ASSERT_NOT_NULL(test, sp);
	return sp;
}

static struct kvmmu_mmu_page *smmu_find(struct smmu_fixture *f, gfn_t gfn,
					union kvmmu_page_role role)
{
	struct kvmmu_mmu_page *sp;

	smmu_lock(f);
	sp = kvmmu_shadow_find(&f->mmu.sp, gfn, role);
	smmu_unlock(f);
	return sp;
}

/* Leaf @idx of @sp maps @gfn: set it and add it to the gfn rmap. */
static void smmu_leaf(struct kunit *test, struct kvmmu_mmu_page *sp,
		      unsigned int idx, gfn_t gfn)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_memory_slot *slot;
	gfn_t leaf_gfn;
	int r = -ENOENT;

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
	smmu_lock(f);
	if (!sp->role.direct)
		sp->gfns[idx] = gfn;
	leaf_gfn = sh_leaf_gfn(sp, idx);
	/* The fault knows its slot. */
	slot = sh_gfn_slot(&f->mmu, gfn);
	if (slot)
		r = sh_rmap_add(&f->c, slot, gfn, &sp->spt[idx]);
	if (r >= 0)
		sp->spt[idx] = SMMU_LEAF(0x100000 + gfn);
	smmu_unlock(f);
	KUNIT_ASSERT_GE(test, r, 0);
	KUNIT_EXPECT_EQ(test, leaf_gfn, gfn);
}

/* How many leaves the rmap of @gfn's slot holds for it (0: no slot). */
static unsigned int smmu_rmap_count(struct kunit *test, gfn_t gfn)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_rmap_head *head;
	unsigned int n;

	smmu_lock(f);
	head = sh_gfn_head(&f->mmu, gfn);
	n = head ? kvmmu_rmap_count(head) : 0;
	smmu_unlock(f);
	return n;
}

/* The slot of address space 0 holding @gfn; the case stops without one. */
static struct kvmmu_memory_slot *smmu_slot(struct kunit *test, gfn_t gfn)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_memory_slot *slot;

	mutex_lock(&f->vm.slots_lock);
	slot = kvmmu_gfn_to_memslot(kvmmu_memslots(&f->vm, 0), gfn);
	mutex_unlock(&f->vm.slots_lock);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	return slot;
}

static union kvmmu_page_role smmu_role(int level, bool direct)
{
	union kvmmu_page_role role = base_role();

	role.level = level;
	role.direct = direct;
	return role;
}

/*
 * Leaves go into their slot's own head (gfn - base_gfn), in either slot,
 * and out of it, removed by gfn; a zapped leaf leaves the rmap.
 */
static void smmu_gfn_rmap(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_memory_slot *s0, *s1;
	struct kvmmu_mmu_page *pt, *dp;
	bool zapped[2];

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	dp = smmu_page(test, 0x200, smmu_role(PG_LEVEL_4K, true));
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x205), 0U);

	/* gfn 0x205 from three SPTEs of two pages; 0x206 from one. */
	smmu_leaf(test, dp, 5, 0x205);
	smmu_leaf(test, pt, 7, 0x205);
	smmu_leaf(test, pt, 9, 0x205);
	smmu_leaf(test, dp, 6, 0x206);
	/* Both ends of the second slot. */
	smmu_leaf(test, pt, 100, SMMU_BASE1);
	smmu_leaf(test, pt, 101, SMMU_BASE1 + SMMU_SLOT1 - 1);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x205), 3U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x206), 1U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x207), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, SMMU_BASE1), 1U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, SMMU_BASE1 + SMMU_SLOT1 - 1),
			1U);

	/* The heads are the slots' array entries, at gfn - base_gfn. */
	s0 = smmu_slot(test, 0x205);
	s1 = smmu_slot(test, SMMU_BASE1);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&s0->rmap.heads[0][0x205]), 3U);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&s1->rmap.heads[0][0]), 1U);
	KUNIT_EXPECT_EQ(test,
			kvmmu_rmap_count(&s1->rmap.heads[0][SMMU_SLOT1 - 1]),
			1U);

	smmu_lock(f);
	sh_rmap_remove(&f->mmu, 0x205, &pt->spt[7]);
	pt->spt[7] = 0;
	smmu_unlock(f);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x205), 2U);
	smmu_lock(f);
	sh_rmap_remove(&f->mmu, 0x205, &dp->spt[5]);
	sh_rmap_remove(&f->mmu, 0x205, &pt->spt[9]);
	sh_rmap_remove(&f->mmu, SMMU_BASE1, &pt->spt[100]);
	dp->spt[5] = 0;
	pt->spt[9] = 0;
	pt->spt[100] = 0;
	smmu_unlock(f);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x205), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x206), 1U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, SMMU_BASE1), 0U);

	/* Zapping a leaf takes it out of the rmap too; a second is a no-op. */
	smmu_lock(f);
	zapped[0] = sh_zap_spte(&f->mmu, dp, 6);
	zapped[1] = sh_zap_spte(&f->mmu, dp, 6);
	smmu_unlock(f);
	KUNIT_EXPECT_TRUE(test, zapped[0]);
	KUNIT_EXPECT_FALSE(test, zapped[1]);
	KUNIT_EXPECT_EQ(test, dp->spt[6], 0ULL);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x206), 0U);
}

/*
 * A slot deleted or moved with leaves in it: its zap finds them through
 * the INVALID copy (same arrays) and empties the heads before the arrays
 * are freed (kvmmu_slot_rmap_free() WARNs on the debug kernel if not);
 * the moved slot starts with empty arrays. Leaves of other slots stay.
 */
static void smmu_slot_delete_move(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *pt;

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	smmu_leaf(test, pt, 1, 0x300);
	smmu_leaf(test, pt, 2, SMMU_BASE1 + 5);
	smmu_leaf(test, pt, 3, SMMU_BASE1 + 6);

	/* Move slot 1 by 1G of GFNs: its leaves go, the new heads are empty. */
	KUNIT_ASSERT_EQ(test, smmu_set_slot(f, 1, SMMU_BASE1 + 0x40000,
					    SMMU_SLOT1, SMMU_HVA + SZ_1G), 0);
	KUNIT_EXPECT_EQ(test, pt->spt[2], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[3], 0ULL);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, SMMU_BASE1 + 0x40005), 0U);
	KUNIT_EXPECT_EQ(test, pt->spt[1], SMMU_LEAF(0x100300));
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x300), 1U);

	/* A leaf in the moved slot, then the slot deleted. */
	smmu_leaf(test, pt, 4, SMMU_BASE1 + 0x40007);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, SMMU_BASE1 + 0x40007), 1U);
	KUNIT_ASSERT_EQ(test, smmu_set_slot(f, 1, SMMU_BASE1 + 0x40000, 0,
					    SMMU_HVA + SZ_1G), 0);
	KUNIT_EXPECT_EQ(test, pt->spt[4], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[1], SMMU_LEAF(0x100300));
}

/*
 * A gfn shadowed by an indirect page is protected, by a direct one not;
 * write protection reaches every leaf of the gfn and only those; a zap of
 * the gfn takes its indirect pages, a range zap its leaves as well.
 */
static void smmu_protect_and_zap(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *pt, *dp, *table;
	bool b[8];

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	dp = smmu_page(test, 0x200, smmu_role(PG_LEVEL_4K, true));
	smmu_leaf(test, dp, 0x60, 0x260);
	smmu_leaf(test, pt, 1, 0x260);
	smmu_leaf(test, pt, 2, 0x261);

	smmu_lock(f);
	b[0] = kvmmu_shadow_gfn_protected(&f->mmu, 0x50);
	b[1] = kvmmu_shadow_gfn_protected(&f->mmu, 0x200);
	b[2] = kvmmu_shadow_gfn_protected(&f->mmu, 0x260);
	/* As when 0x260 becomes a guest table: its two leaves lose W. */
	b[3] = kvmmu_shadow_wrprot_gfn(&f->mmu, 0x260);
	b[4] = kvmmu_shadow_wrprot_gfn(&f->mmu, 0x260);
	b[5] = kvmmu_shadow_wrprot_gfn(&f->mmu, 0x262);
	smmu_unlock(f);
	KUNIT_EXPECT_TRUE(test, b[0]);
	KUNIT_EXPECT_FALSE(test, b[1]);
	KUNIT_EXPECT_FALSE(test, b[2]);
	KUNIT_EXPECT_TRUE(test, b[3]);
	KUNIT_EXPECT_FALSE(test, b[4]);
	KUNIT_EXPECT_FALSE(test, b[5]);
	KUNIT_EXPECT_EQ(test, dp->spt[0x60],
			SMMU_LEAF(0x100260) & ~KVMMU_SPTE_WRITABLE);
	KUNIT_EXPECT_EQ(test, pt->spt[1],
			SMMU_LEAF(0x100260) & ~KVMMU_SPTE_WRITABLE);
	KUNIT_EXPECT_EQ(test, pt->spt[2], SMMU_LEAF(0x100261));

	/* Zaps by gfn take guest tables' pages only, not direct ones. */
	table = smmu_page(test, 0x261, smmu_role(PG_LEVEL_2M, false));
	smmu_lock(f);
	b[0] = kvmmu_shadow_zap_gfn(&f->mmu, 0x200);
	b[1] = kvmmu_shadow_zap_gfn(&f->mmu, 0x261);
	b[2] = list_empty(&f->mmu.sp_zapped);
	smmu_unlock(f);
	KUNIT_EXPECT_FALSE(test, b[0]);
	KUNIT_EXPECT_TRUE(test, b[1]);
	KUNIT_EXPECT_FALSE(test, b[2]);
	KUNIT_EXPECT_TRUE(test, table->role.invalid);
	KUNIT_EXPECT_PTR_EQ(test, smmu_find(f, 0x200,
					    smmu_role(PG_LEVEL_4K, true)), dp);
	/* That zap is of the page shadowing 0x261; leaves mapping it stay. */
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x261), 1U);

	/* Range [0x260, 0x262): the leaves of both gfns, via the rmap. */
	smmu_lock(f);
	b[0] = kvmmu_shadow_zap_range(&f->mmu, 0x260, 0x262, false);
	kvmmu_shadow_commit_delete(&f->mmu.sp, &f->mmu.sp_zapped);
	smmu_unlock(f);
	KUNIT_EXPECT_TRUE(test, b[0]);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x260), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x261), 0U);
	KUNIT_EXPECT_EQ(test, dp->spt[0x60], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[1], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[2], 0ULL);
	/* The pages of other gfns stay, found by (gfn, role). */
	KUNIT_EXPECT_PTR_EQ(test, smmu_find(f, 0x50,
					    smmu_role(PG_LEVEL_4K, false)), pt);
	KUNIT_EXPECT_EQ(test, f->mmu.sp.nr_pages, 2UL);
}

/*
 * The notifier's zap (kvmmu_shadow_unmap_range(), KVM's
 * kvm_unmap_gfn_range()): the leaves of the range go, all of a head at
 * once (20 of one gfn: two descriptors freed), including a leaf of a
 * guest table's own gfn; the shadow pages of guest tables in the range
 * stay, linked and valid; a range is cut to its slot. A memslot zap of
 * the same range takes those pages as well.
 */
static void smmu_unmap_keeps_tables(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_memory_slot *s0, *s1;
	struct kvmmu_mmu_page *pt, *pd;
	bool b[3];
	int i;

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	pd = smmu_page(test, 0x51, smmu_role(PG_LEVEL_2M, false));
	smmu_leaf(test, pt, 1, 0x50);
	smmu_leaf(test, pt, 2, 0x51);
	smmu_leaf(test, pt, 3, 0x54);
	for (i = 10; i < 30; i++)
		smmu_leaf(test, pt, i, 0x53);
	smmu_leaf(test, pt, 40, SMMU_BASE1);
	smmu_leaf(test, pt, 41, SMMU_BASE1 + 1);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x53), 20U);

	s0 = smmu_slot(test, 0);
	s1 = smmu_slot(test, SMMU_BASE1);
	smmu_lock(f);
	b[0] = kvmmu_shadow_unmap_range(&f->mmu, s0, 0x50, 0x54, false);
	b[1] = kvmmu_shadow_unmap_range(&f->mmu, s1, SMMU_BASE1 - 8,
					SMMU_BASE1 + 1, false);
	b[2] = list_empty(&f->mmu.sp_zapped);
	smmu_unlock(f);
	KUNIT_EXPECT_TRUE(test, b[0]);
	KUNIT_EXPECT_TRUE(test, b[1]);
	KUNIT_EXPECT_TRUE(test, b[2]);
	KUNIT_EXPECT_EQ(test, pt->spt[1], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[2], 0ULL);
	for (i = 10; i < 30; i++)
		KUNIT_EXPECT_EQ(test, pt->spt[i], 0ULL);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x50), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x53), 0U);
	KUNIT_EXPECT_EQ(test, pt->spt[3], SMMU_LEAF(0x100054));
	KUNIT_EXPECT_EQ(test, pt->spt[40], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[41], SMMU_LEAF(0x100000 + SMMU_BASE1 + 1));
	/* The guest tables' pages stay, found by (gfn, role). */
	KUNIT_EXPECT_PTR_EQ(test, smmu_find(f, 0x50,
					    smmu_role(PG_LEVEL_4K, false)), pt);
	KUNIT_EXPECT_PTR_EQ(test, smmu_find(f, 0x51,
					    smmu_role(PG_LEVEL_2M, false)), pd);
	KUNIT_EXPECT_FALSE(test, pt->role.invalid);
	KUNIT_EXPECT_EQ(test, f->mmu.sp.nr_pages, 2UL);

	/* A memslot's zap (delete, move) takes them. */
	smmu_lock(f);
	b[0] = kvmmu_shadow_zap_range(&f->mmu, 0x50, 0x52, false);
	kvmmu_shadow_commit_delete(&f->mmu.sp, &f->mmu.sp_zapped);
	smmu_unlock(f);
	KUNIT_EXPECT_TRUE(test, b[0]);
	KUNIT_EXPECT_NULL(test, smmu_find(f, 0x50,
					  smmu_role(PG_LEVEL_4K, false)));
	KUNIT_EXPECT_NULL(test, smmu_find(f, 0x51,
					  smmu_role(PG_LEVEL_2M, false)));
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x54), 0U);
}

/*
 * A zap of a big range (12288 pages, a slot's worth) takes the leaves and
 * the guest tables' pages of its gfns only, through the slots' rmaps: the
 * pages of other gfns stay (zapping everything instead is what the old
 * gfn hash had to do above 4096 pages). Gaps between slots are skipped.
 */
static void smmu_zap_big_range(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *pt, *other;
	bool flush;

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	smmu_page(test, 0x2000, smmu_role(PG_LEVEL_2M, false));
	other = smmu_page(test, 0x60, smmu_role(PG_LEVEL_2M, false));
	smmu_leaf(test, pt, 1, 0x1000);
	smmu_leaf(test, pt, 2, SMMU_SLOT0 - 1);
	smmu_leaf(test, pt, 3, 0x0fff);
	smmu_leaf(test, pt, 4, SMMU_BASE1);

	smmu_lock(f);
	flush = kvmmu_shadow_zap_range(&f->mmu, 0x1000, SMMU_BASE1, false);
	kvmmu_shadow_commit_delete(&f->mmu.sp, &f->mmu.sp_zapped);
	smmu_unlock(f);
	KUNIT_EXPECT_TRUE(test, flush);
	/* 0x2000's page went (freed: not looked at), the others stay. */
	KUNIT_EXPECT_NULL(test, smmu_find(f, 0x2000,
					  smmu_role(PG_LEVEL_2M, false)));
	KUNIT_EXPECT_PTR_EQ(test, smmu_find(f, 0x60,
					    smmu_role(PG_LEVEL_2M, false)),
			    other);
	/* Before its SPTEs are read: a zap of everything freed it. */
	KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x50,
					    smmu_role(PG_LEVEL_4K, false)), pt);
	KUNIT_EXPECT_EQ(test, pt->spt[1], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[2], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[3], SMMU_LEAF(0x100fff));
	KUNIT_EXPECT_EQ(test, pt->spt[4], SMMU_LEAF(0x100000 + SMMU_BASE1));
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x0fff), 1U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, SMMU_BASE1), 1U);
}

/*
 * A zap that may yield, made to yield at once (need_resched set), drops
 * the lock only after flushing what it zapped and freeing the zapped
 * pages: the debug kernel's ledger, made quiet here, counts a release
 * with zaps unflushed. Both zaps that yield: by range and of everything.
 */
static void smmu_zap_yield_flushes(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *pt;
	int fired = atomic_read(&kvmmu_ledger_fired);
	s64 yields = atomic64_read(&f->mmu.stats.yields);

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	smmu_page(test, 0x51, smmu_role(PG_LEVEL_4K, false));
	smmu_leaf(test, pt, 1, 0x100);
	smmu_leaf(test, pt, 2, 0x101);
	smmu_leaf(test, pt, 3, 0x300);

	WRITE_ONCE(kvmmu_ledger_quiet, true);
	smmu_lock(f);
	set_tsk_need_resched(current);
	kvmmu_shadow_zap_range(&f->mmu, 0x100, 0x102, true);
	set_tsk_need_resched(current);
	kvmmu_shadow_zap_all(&f->mmu, true);
	/* What is left unflushed: smmu_unlock() squares it. */
	kvmmu_shadow_commit_delete(&f->mmu.sp, &f->mmu.sp_zapped);
	smmu_unlock(f);
	WRITE_ONCE(kvmmu_ledger_quiet, false);

	KUNIT_EXPECT_EQ(test, atomic_read(&kvmmu_ledger_fired), fired);
	KUNIT_EXPECT_GE(test, atomic64_read(&f->mmu.stats.yields), yields + 2);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x100), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x101), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x300), 0U);
	KUNIT_EXPECT_EQ(test, f->mmu.sp.nr_pages, 0UL);
}

/*
 * Aging through the slot's rmap (the notifier's clear_young, test_young
 * under tdp=0): Accessed is found in any leaf of a gfn of the range,
 * tested without change, cleared in every leaf that has it; gfns outside
 * the range are left alone.
 */
static void smmu_age_range(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_memory_slot *slot;
	struct kvmmu_mmu_page *pt, *dp;
	bool b[5];

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	dp = smmu_page(test, 0x200, smmu_role(PG_LEVEL_4K, true));
	smmu_leaf(test, dp, 5, 0x205);
	smmu_leaf(test, pt, 7, 0x205);
	smmu_leaf(test, pt, 8, 0x206);
	smmu_leaf(test, pt, 9, 0x300);
	/* The CPU walked two of them. */
	pt->spt[7] |= KVMMU_SPTE_ACCESSED;
	pt->spt[9] |= KVMMU_SPTE_ACCESSED;

	smmu_lock(f);
	slot = sh_gfn_slot(&f->mmu, 0x205);
	b[0] = kvmmu_shadow_age_range(&f->mmu, slot, 0x206, 0x300, true);
	b[1] = kvmmu_shadow_age_range(&f->mmu, slot, 0x200, 0x300, false);
	b[2] = kvmmu_shadow_age_range(&f->mmu, slot, 0x200, 0x300, false);
	b[3] = kvmmu_shadow_age_range(&f->mmu, slot, 0x200, 0x300, true);
	b[4] = kvmmu_shadow_age_range(&f->mmu, slot, 0x200, 0x300, true);
	smmu_unlock(f);
	KUNIT_EXPECT_FALSE(test, b[0]);
	KUNIT_EXPECT_TRUE(test, b[1]);
	KUNIT_EXPECT_TRUE(test, b[2]);
	KUNIT_EXPECT_TRUE(test, b[3]);
	KUNIT_EXPECT_FALSE(test, b[4]);
	KUNIT_EXPECT_EQ(test, pt->spt[7], SMMU_LEAF(0x100205));
	KUNIT_EXPECT_EQ(test, dp->spt[5], SMMU_LEAF(0x100205));
	/* 0x300 was outside [0x200, 0x300). */
	KUNIT_EXPECT_EQ(test, pt->spt[9],
			SMMU_LEAF(0x100300) | KVMMU_SPTE_ACCESSED);
}

/*
 * Every page of the dump, batch by batch: how many (at most @max stored
 * in @out). Each batch but the last must be full.
 */
static int smmu_dump_all(struct kunit *test, struct sh_dump *d,
			 struct sh_dump_page *out, int max)
{
	struct smmu_fixture *f = test->priv;
	int n = 0, batches = 0;
	unsigned int i;
	bool done;

	memset(d, 0, sizeof(*d));
	do {
		read_lock(&f->mmu.lock);
		done = sh_dump_collect(&f->mmu, d);
		read_unlock(&f->mmu.lock);
		KUNIT_EXPECT_LE(test, d->n, (unsigned int)SH_DUMP_BATCH);
		if (!done)
			KUNIT_EXPECT_EQ(test, d->n, (unsigned int)SH_DUMP_BATCH);
		for (i = 0; i < d->n; i++, n++)
			if (n < max)
				out[n] = d->page[i];
		batches++;
		KUNIT_ASSERT_LT(test, batches, 1000);
	} while (!done);
	return n;
}

/*
 * The debugfs dump (sh_dump_collect()): each page once across batches,
 * with its role, root count, parents and present SPTEs; a zapped root
 * still in use listed after the hash, invalid; nothing else once all is
 * zapped. The seq_file around it needs a file: shadow_test reads it.
 */
static void smmu_dump(struct kunit *test)
{
	const int nr = 3 * SH_DUMP_BATCH + 5;
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *root, *pt;
	struct sh_dump_page *p, *out;
	struct sh_dump *d;
	int i, n, r;
	u8 *seen;

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	out = kunit_kcalloc(test, nr, sizeof(*out), GFP_KERNEL);
	seen = kunit_kzalloc(test, nr, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_ASSERT_NOT_NULL(test, out);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	KUNIT_EXPECT_EQ(test, smmu_dump_all(test, d, out, nr), 0);

	root = smmu_page(test, 0x1000, smmu_role(4, false));
	root->root_count = 1;
	pt = smmu_page(test, 0x1001, smmu_role(PG_LEVEL_4K, false));
	/* Linked twice from the root, and two leaves. */
	KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
	smmu_lock(f);
	r = kvmmu_shadow_add_parent(&f->c.sc, pt, &root->spt[0]);
	if (!r)
		r = kvmmu_shadow_add_parent(&f->c.sc, pt, &root->spt[1]);
	if (!r) {
		root->spt[0] = kvmmu_make_table_spte(&kvmmu_shadow_format,
						     pt->spt);
		root->spt[1] = root->spt[0];
	}
	smmu_unlock(f);
	KUNIT_ASSERT_EQ(test, r, 0);
	smmu_leaf(test, pt, 3, 0x3000);
	smmu_leaf(test, pt, 4, 0x3001);
	/* More pages than three batches hold. */
	for (i = 2; i < nr; i++)
		smmu_page(test, 0x1000 + i, smmu_role(PG_LEVEL_2M, i & 1));

	n = smmu_dump_all(test, d, out, nr);
	KUNIT_ASSERT_EQ(test, n, nr);
	for (i = 0; i < n; i++) {
		p = &out[i];
		KUNIT_ASSERT_TRUE(test, p->gfn >= 0x1000 &&
				  p->gfn < 0x1000 + nr);
		KUNIT_EXPECT_EQ_MSG(test, seen[p->gfn - 0x1000], 0,
				    "gfn %#llx twice", p->gfn);
		seen[p->gfn - 0x1000] = 1;
		KUNIT_EXPECT_FALSE(test, p->unsync);
		if (p->gfn == 0x1000) {
			KUNIT_EXPECT_EQ(test, p->role.word,
					smmu_role(4, false).word);
			KUNIT_EXPECT_EQ(test, p->root_count, 1);
			KUNIT_EXPECT_EQ(test, p->parents, 0U);
			KUNIT_EXPECT_EQ(test, p->sptes, 2U);
		} else if (p->gfn == 0x1001) {
			KUNIT_EXPECT_EQ(test, p->role.word,
					smmu_role(PG_LEVEL_4K, false).word);
			KUNIT_EXPECT_EQ(test, p->root_count, 0);
			KUNIT_EXPECT_EQ(test, p->parents, 2U);
			KUNIT_EXPECT_EQ(test, p->sptes, 2U);
		} else {
			KUNIT_EXPECT_EQ(test, p->role.word,
					smmu_role(PG_LEVEL_2M,
						  (p->gfn - 0x1000) & 1).word);
			KUNIT_EXPECT_EQ(test, p->parents, 0U);
			KUNIT_EXPECT_EQ(test, p->sptes, 0U);
		}
	}

	/* Zap all: the root in use stays, invalid and empty, listed last. */
	smmu_lock(f);
	kvmmu_shadow_zap_all(&f->mmu, false);
	kvmmu_shadow_commit_delete(&f->mmu.sp, &f->mmu.sp_zapped);
	smmu_unlock(f);
	n = smmu_dump_all(test, d, out, nr);
	KUNIT_ASSERT_EQ(test, n, 1);
	KUNIT_EXPECT_EQ(test, out[0].gfn, 0x1000ULL);
	KUNIT_EXPECT_TRUE(test, out[0].role.invalid);
	KUNIT_EXPECT_EQ(test, out[0].root_count, 1);
	KUNIT_EXPECT_EQ(test, out[0].sptes, 0U);
	KUNIT_EXPECT_EQ(test, out[0].parents, 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x3000), 0U);
}

/*
 * The shrinker's side: every shadow page of every VM is counted in one
 * atomic (its count takes no lock), and a scan passes over a VM whose
 * lock is held instead of waiting for it.
 */
static void smmu_reclaim_busy(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	long before = atomic_long_read(&kvmmu_shadow_total_pages);

	smmu_page(test, 0x900, base_role());
	KUNIT_EXPECT_EQ(test, atomic_long_read(&kvmmu_shadow_total_pages),
			before + 1);
	read_lock(&f->mmu.lock);
	KUNIT_EXPECT_EQ(test, kvmmu_shadow_reclaim(&f->mmu, 10), 0UL);
	read_unlock(&f->mmu.lock);
	KUNIT_EXPECT_EQ(test, kvmmu_shadow_nr_pages(&f->mmu), 1UL);
}

/*
 * One frame mapped from more than SH_RMAP_RECYCLE leaves (the zero page,
 * read through untouched memory everywhere): the fault that adds one more
 * zaps them all, the new one too (KVM's __rmap_add()), so no walk of the
 * head, nor the N^2 of zapping its SPTEs one by one, grows without bound.
 */
static void smmu_rmap_recycle(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_page_fault fault = {
		.gfn = 0x300,
		.pfn = page_to_pfn(ZERO_PAGE(0)),
	};
	s64 recycled = atomic64_read(&f->mmu.stats.rmap_recycled);
	struct kvmmu_mmu_page *pt[2];
	bool flush = false;
	unsigned int i;
	int r;

	pt[0] = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	pt[1] = smmu_page(test, 0x51, smmu_role(PG_LEVEL_4K, false));
	for (i = 0; i <= SH_RMAP_RECYCLE; i++)
		smmu_leaf(test, pt[i / 512], i % 512, 0x300);
	KUNIT_ASSERT_EQ(test, smmu_rmap_count(test, 0x300),
			SH_RMAP_RECYCLE + 1);

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
	smmu_lock(f);
	fault.slot = sh_gfn_slot(&f->mmu, fault.gfn);
	r = sh_set_leaf(&f->mmu, &f->c, pt[1], 511, KVMMU_ACC_ALL, true,
			&fault, &flush);
	smmu_unlock(f);
	KUNIT_EXPECT_EQ(test, r, KVMMU_MAP_DONE);
	KUNIT_EXPECT_TRUE(test, flush);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x300), 0U);
	KUNIT_EXPECT_EQ(test, pt[0]->spt[0], 0ULL);
	KUNIT_EXPECT_EQ(test, pt[1]->spt[511], 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->mmu.stats.rmap_recycled),
			recycled + 1);
}

/*
 * A page linked from SH_RMAP_RECYCLE parent SPTEs (a direct page under a
 * guest huge page that the guest maps at as many places) is not reused:
 * the next lookup zaps it and makes a new one (kvm_mmu_find_shadow_page()).
 */
static void smmu_parents_recycle(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	union kvmmu_page_role role = smmu_role(PG_LEVEL_4K, true);
	struct kvmmu_mmu_page *dp, *pd[2], *sp;
	unsigned int i;
	int r = 0;

	dp = smmu_page(test, 0x200, role);
	pd[0] = smmu_page(test, 0x60, smmu_role(PG_LEVEL_2M, false));
	pd[1] = smmu_page(test, 0x61, smmu_role(PG_LEVEL_2M, false));
	for (i = 0; i < SH_RMAP_RECYCLE && !r; i++) {
		KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
		smmu_lock(f);
		r = sh_link_child(&f->c, &pd[i / 512]->spt[i % 512], dp);
		smmu_unlock(f);
	}
	KUNIT_ASSERT_EQ(test, r, 0);
	KUNIT_ASSERT_EQ(test, kvmmu_rmap_count(&dp->parent_ptes),
			SH_RMAP_RECYCLE);

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
	smmu_lock(f);
	sp = sh_get_sp(&f->mmu, &f->c, 0x200, role);
	kvmmu_mmu_flush_locked(&f->mmu);
	smmu_unlock(f);
	KUNIT_ASSERT_NOT_NULL(test, sp);
	KUNIT_EXPECT_PTR_NE(test, sp, dp);
	KUNIT_EXPECT_TRUE(test, dp->role.invalid);
	KUNIT_EXPECT_EQ(test, pd[0]->spt[0], 0ULL);
	KUNIT_EXPECT_EQ(test, pd[1]->spt[SH_RMAP_RECYCLE - 513], 0ULL);
	KUNIT_EXPECT_PTR_EQ(test, smmu_find(f, 0x200, role), sp);
}

/*
 * A zap earlier in the same hold of the lock took the only writable leaf
 * of a frame, unflushed; the frame then becomes a guest table: its new
 * shadow page must not be filled from the guest's table until every vCPU
 * flushed, although write-protecting the frame finds nothing to take
 * (KVM commits its zaps at once). The debug kernel's ledger, made quiet,
 * counts a guest table read with zaps unflushed.
 */
static void smmu_flush_before_table_read(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	int fired = atomic_read(&kvmmu_ledger_fired);
	struct kvmmu_mmu_page *pt, *sp;
	bool protect, unflushed;

	pt = smmu_page(test, 0x50, smmu_role(PG_LEVEL_4K, false));
	smmu_leaf(test, pt, 1, 0x70);
	KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);

	WRITE_ONCE(kvmmu_ledger_quiet, true);
	smmu_lock(f);
	KUNIT_EXPECT_TRUE(test, sh_zap_spte(&f->mmu, pt, 1));
	protect = kvmmu_shadow_wrprot_gfn(&f->mmu, 0x70);
	sp = sh_get_sp(&f->mmu, &f->c, 0x70, smmu_role(PG_LEVEL_4K, false));
	unflushed = f->mmu.sh_unflushed;
	smmu_unlock(f);
	WRITE_ONCE(kvmmu_ledger_quiet, false);

	KUNIT_EXPECT_FALSE(test, protect);
	KUNIT_EXPECT_NOT_NULL(test, sp);
	KUNIT_EXPECT_FALSE(test, unflushed);
	KUNIT_EXPECT_EQ(test, atomic_read(&kvmmu_ledger_fired), fired);
}

/*
 * The debug check after MOV CR3 on a guest that points every entry of
 * each level at one table (512^3 paths to the last one): each upper page
 * is visited once, and an unsync page at the end of the paths is found.
 */
static void smmu_unsync_check_shared(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	struct kvmmu_mmu_page *sp[4];
	unsigned int i, marked = 0;
	bool found[2];
	unsigned long gen;
	int lvl, r = 0;

	for (lvl = 0; lvl < 4; lvl++)
		sp[lvl] = smmu_page(test, 0x80 + lvl,
				    smmu_role(PG_LEVEL_512G - lvl, false));
	for (lvl = 0; lvl < 3 && !r; lvl++) {
		for (i = 0; i < KVMMU_SPTE_PER_TABLE && !r; i++) {
			KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
			smmu_lock(f);
			r = sh_link_child(&f->c, &sp[lvl]->spt[i], sp[lvl + 1]);
			smmu_unlock(f);
		}
	}
	KUNIT_ASSERT_EQ(test, r, 0);

	smmu_lock(f);
	gen = ++f->mmu.sp.check_gen;
	found[0] = sh_reaches_unsync(sp[0], gen);
	for (lvl = 0; lvl < 4; lvl++)
		marked += sp[lvl]->check_gen == gen;
	/* Unsync by hand: only the flag is read (not on the unsync list). */
	sp[3]->unsync = true;
	gen = ++f->mmu.sp.check_gen;
	found[1] = sh_reaches_unsync(sp[0], gen);
	sp[3]->unsync = false;
	smmu_unlock(f);

	KUNIT_EXPECT_FALSE(test, found[0]);
	/* The three upper pages, once each; the leaf table is not marked. */
	KUNIT_EXPECT_EQ(test, marked, 3U);
	KUNIT_EXPECT_TRUE(test, found[1]);
}

/* ---- kvmmu_shadow_track_write(): an emulated store into a guest table ---- */

/* Link @child under SPTE @i of @parent, as a fault's descent does. */
static void smmu_link(struct kunit *test, struct kvmmu_mmu_page *parent,
		      unsigned int i, struct kvmmu_mmu_page *child)
{
	struct smmu_fixture *f = test->priv;
	int r;

	KUNIT_ASSERT_EQ(test, kvmmu_shadow_topup(&f->c), 0);
	smmu_lock(f);
	r = sh_link_child(&f->c, &parent->spt[i], child);
	smmu_unlock(f);
	KUNIT_ASSERT_EQ(test, r, 0);
}

/*
 * A guest table 0x51 shadowed as a page directory (level 2, children at
 * 3, 4 and 5) and as a page table (level 1, leaves at 3 and 4): an 8-byte
 * store into entry 4 zaps SPTE 4 of both and nothing else (KVM's
 * kvm_mmu_track_write(), get_written_sptes()); the unlinked child keeps
 * its page, in the hash, without parent; the zap is flushed before the
 * lock goes (sh_unflushed clear again). A 4-byte store (a PAE kernel's half of an entry) and a byte
 * at the start of an entry (clear_bit()'s ANDB) are one entry too.
 */
static void smmu_track_write_entry(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	union kvmmu_page_role l1 = smmu_role(PG_LEVEL_4K, false);
	union kvmmu_page_role l2 = smmu_role(PG_LEVEL_2M, false);
	struct kvmmu_mmu_page *pd, *pt, *child[3];
	u64 gpa = 0x51ULL << PAGE_SHIFT;
	int i;

	pd = smmu_page(test, 0x51, l2);
	pt = smmu_page(test, 0x51, l1);
	for (i = 0; i < 3; i++) {
		child[i] = smmu_page(test, 0x60 + i, l1);
		smmu_link(test, pd, 3 + i, child[i]);
		smmu_leaf(test, child[i], 7, 0x70 + i);
	}
	smmu_leaf(test, pt, 3, 0x80);
	smmu_leaf(test, pt, 4, 0x81);

	kvmmu_shadow_track_write(&f->vm, gpa + 4 * 8, 8);
	/* Flushed before the unlock (the debug ledger WARNs otherwise). */
	KUNIT_EXPECT_FALSE(test, f->mmu.sh_unflushed);
	/* Not zapped (freed: not to be looked at then). */
	KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x51, l2), pd);
	KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x51, l1), pt);
	KUNIT_EXPECT_EQ(test, pd->spt[4], 0ULL);
	KUNIT_EXPECT_NE(test, pd->spt[3], 0ULL);
	KUNIT_EXPECT_NE(test, pd->spt[5], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[4], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[3], SMMU_LEAF(0x100080));
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x81), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x80), 1U);
	KUNIT_EXPECT_FALSE(test, pd->role.invalid);
	KUNIT_EXPECT_FALSE(test, pt->role.invalid);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&child[1]->parent_ptes), 0U);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&child[0]->parent_ptes), 1U);
	KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&child[2]->parent_ptes), 1U);
	/* The child and its leaf stay, found again by the next fault. */
	KUNIT_EXPECT_PTR_EQ(test, smmu_find(f, 0x61, l1), child[1]);
	KUNIT_EXPECT_EQ(test, child[1]->spt[7], SMMU_LEAF(0x100071));
	KUNIT_EXPECT_EQ(test, pd->write_flooding_count, 1U);
	KUNIT_EXPECT_EQ(test, pt->write_flooding_count, 0U);

	kvmmu_shadow_track_write(&f->vm, gpa + 3 * 8 + 4, 4);
	KUNIT_EXPECT_EQ(test, pd->spt[3], 0ULL);
	KUNIT_EXPECT_EQ(test, pt->spt[3], 0ULL);
	KUNIT_EXPECT_NE(test, pd->spt[5], 0ULL);
	/* A third store would flood pd: a lookup (a fault's) resets it. */
	smmu_lock(f);
	KUNIT_EXPECT_PTR_EQ(test, sh_get_sp(&f->mmu, &f->c, 0x51, l2), pd);
	smmu_unlock(f);
	kvmmu_shadow_track_write(&f->vm, gpa + 5 * 8, 1);
	KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x51, l2), pd);
	KUNIT_EXPECT_EQ(test, pd->spt[5], 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->mmu.stats.flooded), 0LL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->mmu.stats.pte_write), 3LL);
}

/*
 * Stores not within one entry (across two, two bytes, a byte inside an
 * entry, a REP STOS chunk) zap the whole page (detect_write_misaligned()):
 * its children lose their parent, it leaves the hash.
 */
static void smmu_track_write_misaligned(struct kunit *test)
{
	static const struct {
		unsigned int offset, bytes;
	} w[] = {
		{ 4 * 8 + 4, 8 }, { 4 * 8, 2 }, { 4 * 8 + 1, 1 }, { 0, 4096 },
	};
	struct smmu_fixture *f = test->priv;
	union kvmmu_page_role l2 = smmu_role(PG_LEVEL_2M, false);
	struct kvmmu_mmu_page *pd, *child;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(w); i++) {
		pd = smmu_page(test, 0x51, l2);
		child = smmu_page(test, 0x60 + i, smmu_role(PG_LEVEL_4K, false));
		smmu_link(test, pd, 9, child);
		kvmmu_shadow_track_write(&f->vm, (0x51ULL << PAGE_SHIFT) +
					 w[i].offset, w[i].bytes);
		/* pd is freed: the flush is done. */
		KUNIT_EXPECT_NULL_MSG(test, smmu_find(f, 0x51, l2), "store %u",
				      i);
		KUNIT_EXPECT_EQ(test, kvmmu_rmap_count(&child->parent_ptes), 0U);
		KUNIT_EXPECT_EQ(test, atomic64_read(&f->mmu.stats.flooded),
				(s64)i + 1);
	}
}

/*
 * Three stores into an upper table with no fault through its page in
 * between zap the page at the third (detect_write_flooding()); a fault's
 * walk through the page (kvmmu_shadow_clear_flood(), KVM's
 * shadow_page_table_clear_flood()) starts the count again. Leaf tables
 * are not counted (they go unsync instead).
 */
static void smmu_track_write_flood(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	union kvmmu_page_role l2 = smmu_role(PG_LEVEL_2M, false);
	struct kvmmu_mmu_page *l4, *l3, *pd, *pt;
	struct kvmmu_vcpu *vcpu;
	u64 gpa = 0x51ULL << PAGE_SHIFT;
	int i;

	vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	vcpu->vm = &f->vm;
	vcpu->mmu = &f->c;
	/* A root path to pd: 0x52 (4) -> 0x53 (3) -> 0x51 (2), gva 2M * 9. */
	l4 = smmu_page(test, 0x52, smmu_role(4, false));
	l3 = smmu_page(test, 0x53, smmu_role(PG_LEVEL_1G, false));
	pd = smmu_page(test, 0x51, l2);
	pt = smmu_page(test, 0x51, smmu_role(PG_LEVEL_4K, false));
	smmu_link(test, l4, 0, l3);
	smmu_link(test, l3, 0, pd);

	for (i = 0; i < 2; i++)
		kvmmu_shadow_track_write(&f->vm, gpa + i * 8, 8);
	KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x51, l2), pd);
	KUNIT_EXPECT_EQ(test, pd->write_flooding_count, 2U);
	f->c.root = l4;
	smmu_lock(f);
	kvmmu_shadow_clear_flood(vcpu, 9ULL << 21);
	smmu_unlock(f);
	f->c.root = NULL;
	KUNIT_EXPECT_EQ(test, pd->write_flooding_count, 0U);
	for (i = 0; i < 2; i++)
		kvmmu_shadow_track_write(&f->vm, gpa + i * 8, 8);
	KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x51, l2), pd);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->mmu.stats.flooded), 0LL);
	/* The third in a row. */
	kvmmu_shadow_track_write(&f->vm, gpa + 16, 8);
	KUNIT_EXPECT_NULL(test, smmu_find(f, 0x51, l2));
	KUNIT_EXPECT_EQ(test, l3->spt[0], 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->mmu.stats.flooded), 1LL);
	KUNIT_EXPECT_FALSE(test, pt->role.invalid);
	KUNIT_EXPECT_EQ(test, pt->write_flooding_count, 0U);
}

/*
 * 32-bit guest paging (4-byte entries): a PD is four level-2 pages, one
 * per GB (quadrant), each 4M entry two 2M SPTEs; a PT is two level-1
 * pages, entries 0-511 and 512-1023 (get_written_sptes()). A store into
 * PD entry 300 zaps SPTEs 88 and 89 of quadrant 1 only; into PT entry
 * 600, SPTE 88 of the second half only.
 */
static void smmu_track_write_4byte(struct kunit *test)
{
	struct smmu_fixture *f = test->priv;
	union kvmmu_page_role r = smmu_role(PG_LEVEL_2M, false), r2[2];
	struct kvmmu_mmu_page *pd[2], *pt[2], *child;
	int q;

	r.has_4_byte_gpte = 1;
	for (q = 0; q < 2; q++) {
		r.quadrant = q;
		r2[q] = r;
		pd[q] = smmu_page(test, 0x51, r);
	}
	r.level = PG_LEVEL_4K;
	for (q = 0; q < 2; q++) {
		r.quadrant = q;
		pt[q] = smmu_page(test, 0x52, r);
		smmu_leaf(test, pt[q], 87, 0x80 + q);
		smmu_leaf(test, pt[q], 88, 0x82 + q);
	}
	/* Children at SPTEs 87 and 88 of both, and 89 of pd[1]. */
	for (q = 0; q < 5; q++) {
		child = smmu_page(test, 0x60 + q, r);
		smmu_link(test, pd[q < 2 ? 0 : 1], q < 2 ? 87 + q : 85 + q,
			  child);
	}

	kvmmu_shadow_track_write(&f->vm, (0x51ULL << PAGE_SHIFT) + 300 * 4, 4);
	for (q = 0; q < 2; q++)
		KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x51, r2[q]), pd[q]);
	KUNIT_EXPECT_EQ(test, pd[1]->spt[88], 0ULL);
	KUNIT_EXPECT_EQ(test, pd[1]->spt[89], 0ULL);
	KUNIT_EXPECT_NE(test, pd[1]->spt[87], 0ULL);
	KUNIT_EXPECT_NE(test, pd[0]->spt[88], 0ULL);
	KUNIT_EXPECT_NE(test, pd[0]->spt[87], 0ULL);

	kvmmu_shadow_track_write(&f->vm, (0x52ULL << PAGE_SHIFT) + 600 * 4, 4);
	for (q = 0; q < 2; q++) {
		r.quadrant = q;
		KUNIT_ASSERT_PTR_EQ(test, smmu_find(f, 0x52, r), pt[q]);
	}
	KUNIT_EXPECT_EQ(test, pt[1]->spt[88], 0ULL);
	KUNIT_EXPECT_EQ(test, pt[1]->spt[87], SMMU_LEAF(0x100081));
	KUNIT_EXPECT_EQ(test, pt[0]->spt[88], SMMU_LEAF(0x100082));
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x83), 0U);
	KUNIT_EXPECT_EQ(test, smmu_rmap_count(test, 0x82), 1U);
	/* A 4-byte store across a 4-byte entry is misaligned. */
	kvmmu_shadow_track_write(&f->vm, (0x52ULL << PAGE_SHIFT) + 2, 4);
	for (q = 0; q < 2; q++) {
		r.quadrant = q;
		KUNIT_EXPECT_NULL(test, smmu_find(f, 0x52, r));
	}
}

static struct kunit_case smmu_test_cases[] = {
	KUNIT_CASE(smmu_gfn_rmap),
	KUNIT_CASE(smmu_slot_delete_move),
	KUNIT_CASE(smmu_zap_big_range),
	KUNIT_CASE(smmu_zap_yield_flushes),
	KUNIT_CASE(smmu_age_range),
	KUNIT_CASE(smmu_protect_and_zap),
	KUNIT_CASE(smmu_unmap_keeps_tables),
	KUNIT_CASE(smmu_dump),
	KUNIT_CASE(smmu_reclaim_busy),
	KUNIT_CASE(smmu_rmap_recycle),
	KUNIT_CASE(smmu_parents_recycle),
	KUNIT_CASE(smmu_flush_before_table_read),
	KUNIT_CASE(smmu_unsync_check_shared),
	KUNIT_CASE(smmu_track_write_entry),
	KUNIT_CASE(smmu_track_write_misaligned),
	KUNIT_CASE(smmu_track_write_flood),
	KUNIT_CASE(smmu_track_write_4byte),
	{}
};

static struct kunit_suite smmu_test_suite = {
	.name = "kvmmu_shadow_mmu",
	.init = smmu_test_init,
	.exit = smmu_test_exit,
	.test_cases = smmu_test_cases,
};

kunit_test_suites(&rmap_test_suite, &shadow_test_suite, &smmu_test_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for memslot.c, built into kvmmu_test.ko on kernels with KUnit.
 *
 * memslot.c is compiled into this module (see the #include below), so its
 * static helpers and both slot sets can be inspected without exporting
 * anything from kvmmu.ko. The tests drive kvmmu_set_memory_region() with
 * regions a VMM could send and check what a fault or a notifier would find:
 *
 *  - the validation table: every rule, good and bad, and combined faults
 *    whose errno depends on KVM's order of checks;
 *  - GFN lookup at the edges of slots, in gaps, and over 32764 slots;
 *  - move, delete and flags changes, and the generation they bump;
 *  - HVA-range queries, including slots that share host memory;
 *  - the invariant that both sets of an address space hold the same slots.
 *
 * HVAs are user addresses that need not be mapped: memslots never touch
 * them. Build with KCFLAGS=-DKVMMU_TEST_BROKEN_WARN to add a case that
 * WARNs; the harness uses it to prove that it notices.
 */

#include <kunit/test.h>
#include <linux/sizes.h>

#include "../../memslot.c"

#define TEST_HVA	0x7f0000000000UL
#define TEST_GPA	0x100000ULL
#define TEST_PAGES	16ULL

static int memslot_test_init(struct kunit *test)
{
	struct kvmmu_vm *vm;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	if (kvmmu_memslots_init(vm)) {
		kfree(vm);
		KUNIT_FAIL(test, "kvmmu_memslots_init failed");
		return -ENOMEM;
	}
	test->priv = vm;
	return 0;
}

static void memslot_test_exit(struct kunit *test)
{
	struct kvmmu_vm *vm = test->priv;

	kvmmu_memslots_destroy(vm);
	kfree(vm);
}

static struct kvm_userspace_memory_region2
region(u32 slot, u32 flags, u64 gpa, u64 size, u64 hva)
{
	struct kvm_userspace_memory_region2 mem = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return mem;
}

static int set(struct kvmmu_vm *vm, u32 slot, u32 flags, u64 gpa, u64 size,
	       u64 hva)
{
	struct kvm_userspace_memory_region2 mem;

	mem = region(slot, flags, gpa, size, hva);
	return kvmmu_set_memory_region(vm, &mem, false);
}

static struct kvmmu_memory_slot *lookup(struct kvmmu_vm *vm, int as_id,
					gfn_t gfn)
{
	struct kvmmu_memory_slot *slot;

	mutex_lock(&vm->slots_lock);
	slot = kvmmu_gfn_to_memslot(kvmmu_memslots(vm, as_id), gfn);
	mutex_unlock(&vm->slots_lock);
	return slot;
}

static u64 generation(struct kvmmu_vm *vm, int as_id)
{
	u64 gen;

	mutex_lock(&vm->slots_lock);
	gen = kvmmu_memslots(vm, as_id)->generation;
	mutex_unlock(&vm->slots_lock);
	return gen;
}

struct validation_case {
	const char *name;
	struct kvm_userspace_memory_region2 mem;
	bool v1;
	int expect;
};

#define REGION(s, f, g, sz, h) {					\
	.slot = (s), .flags = (f), .guest_phys_addr = (g),		\
	.memory_size = (sz), .userspace_addr = (h),			\
}

/* Short names, for a table that reads one case per line. */
#define H	TEST_HVA
#define G	TEST_GPA
#define SZ	BASE_SIZE
#define RO	KVM_MEM_READONLY
#define DL	KVM_MEM_LOG_DIRTY_PAGES
#define GM	KVM_MEM_GUEST_MEMFD
#define NSLOTS	KVMMU_USER_MEM_SLOTS
#define MAXPG	KVMMU_MEM_MAX_NR_PAGES
#define SLOT(as, id)	((u32)(as) << 16 | (id))
#define PG		PAGE_SIZE
#define BASE_SIZE	(TEST_PAGES * PG)

/*
 * Every case runs on a VM that already has slot 0 of address space 0 at
 * [TEST_GPA, TEST_GPA + 16 pages) backed by TEST_HVA.
 */
static const struct validation_case validation_cases[] = {
	{ "create", REGION(1, 0, 0, PG, H), false, 0 },
	{ "create v1", REGION(1, 0, 0, PG, H), true, 0 },
	{ "create readonly", REGION(1, RO, 0, PG, H), false, 0 },
	{ "create dirty log", REGION(1, DL, 0, PG, H), false, 0 },
	{ "last user slot id", REGION(NSLOTS - 1, 0, 0, PG, H), false, 0 },
	{ "slot id 32764", REGION(NSLOTS, 0, 0, PG, H), false, -EINVAL },
	{ "slot id 0xffff", REGION(0xffff, 0, 0, PG, H), false, -EINVAL },
	{ "address space 1", REGION(SLOT(1, 0), 0, G, PG, H), false, 0 },
	{ "address space 2", REGION(SLOT(2, 1), 0, 0, PG, H), false, -EINVAL },
	{ "unknown flag", REGION(1, BIT(3), 0, PG, H), false, -EINVAL },
	{ "guest_memfd v2", REGION(1, GM, 0, PG, H), false, -EINVAL },
	{ "guest_memfd v1", REGION(1, GM, 0, PG, H), true, -EINVAL },
	{ "flag 31", REGION(1, BIT(31), 0, PG, H), false, -EINVAL },
	{ "size unaligned", REGION(1, 0, 0, PG + 1, H), false, -EINVAL },
	{ "gpa unaligned", REGION(1, 0, 0x800, PG, H), false, -EINVAL },
	{ "hva unaligned", REGION(1, 0, 0, PG, H + 8), false, -EINVAL },
	{ "hva kernel", REGION(1, 0, 0, PG, 0xffff888000000000ULL), false, -EINVAL },
	{ "hva range crosses user end", REGION(1, 0, 0, 2 * PG, BIT_ULL(56) - PG), false, -EINVAL },
	{ "hva zero", REGION(1, 0, 0, PG, 0), false, 0 },
	{ "gpa wraps", REGION(1, 0, -PG, 2 * PG, H), false, -EINVAL },
	{ "too many pages", REGION(1, 0, 0, (MAXPG + 1) * PG, H), false, -EINVAL },
	{ "delete missing", REGION(1, 0, 0, 0, 0), false, -EINVAL },
	{ "delete existing", REGION(0, 0, 0, 0, 0), false, 0 },
	{ "resend identical", REGION(0, 0, G, SZ, H), false, 0 },
	{ "change size", REGION(0, 0, G, SZ + PG, H), false, -EINVAL },
	{ "change hva", REGION(0, 0, G, SZ, H + PG), false, -EINVAL },
	{ "set readonly", REGION(0, RO, G, SZ, H), false, -EINVAL },
	{ "set dirty log", REGION(0, DL, G, SZ, H), false, 0 },
	{ "move", REGION(0, 0, 0, SZ, H), false, 0 },
	{ "move onto itself shifted", REGION(0, 0, G + PG, SZ, H), false, 0 },
	{ "overlap exact", REGION(1, 0, G, SZ, H), false, -EEXIST },
	{ "overlap first page", REGION(1, 0, G - PG, 2 * PG, H), false, -EEXIST },
	{ "overlap last page", REGION(1, 0, G + SZ - PG, 2 * PG, H), false, -EEXIST },
	{ "overlap inside", REGION(1, 0, G + PG, PG, H), false, -EEXIST },
	{ "overlap around", REGION(1, 0, 0, 2 * G, H), false, -EEXIST },
	{ "adjacent below", REGION(1, 0, G - PG, PG, H), false, 0 },
	{ "adjacent above", REGION(1, 0, G + SZ, PG, H), false, 0 },
	{ "same hva as slot 0", REGION(1, 0, 0, SZ, H), false, 0 },
	/* Combined faults: the first check in KVM's order decides. */
	{ "bad flag and overlap", REGION(1, BIT(5), G, PG, H), false, -EINVAL },
	{ "unaligned and overlap", REGION(1, 0, G + 8, PG, H), false, -EINVAL },
	{ "address space 2 and unaligned", REGION(SLOT(2, 0), 0, 8, PG, H), false, -EINVAL },
	{ "changed size and overlap", REGION(0, 0, 0, 2 * G, H), false, -EINVAL },
	{ "v1 guest_memfd and slot id", REGION(NSLOTS, GM, 0, PG, H), true, -EINVAL },
	{ "delete with bad flag", REGION(0, BIT(7), 0, 0, 0), false, -EINVAL },
	{ "delete with hva unaligned", REGION(0, 0, 0, 0, 8), false, -EINVAL },
};

static void validation_case_desc(const struct validation_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(validation, validation_cases, validation_case_desc);

static void memslot_validation(struct kunit *test)
{
	const struct validation_case *c = test->param_value;
	struct kvmmu_vm *vm = test->priv;
	u64 gen;

	KUNIT_ASSERT_EQ(test, set(vm, 0, 0, TEST_GPA, BASE_SIZE, TEST_HVA), 0);
	gen = generation(vm, (c->mem.slot >> 16) & 1);

	KUNIT_EXPECT_EQ(test, kvmmu_set_memory_region(vm, &c->mem, c->v1),
			c->expect);
	/* A refused request publishes nothing. */
	if (c->expect)
		KUNIT_EXPECT_EQ(test, generation(vm, (c->mem.slot >> 16) & 1), gen);
}

static void memslot_lookup_boundaries(struct kunit *test)
{
	struct kvmmu_vm *vm = test->priv;
	gfn_t base = TEST_GPA >> PAGE_SHIFT;
	struct kvmmu_memory_slot *slot;

	KUNIT_ASSERT_EQ(test, set(vm, 3, 0, TEST_GPA, BASE_SIZE, TEST_HVA), 0);
	/* A second slot after a one-page gap. */
	KUNIT_ASSERT_EQ(test, set(vm, 4, 0, TEST_GPA + BASE_SIZE + PG, PG,
				  TEST_HVA + BASE_SIZE), 0);

	KUNIT_EXPECT_NULL(test, lookup(vm, 0, 0));
	KUNIT_EXPECT_NULL(test, lookup(vm, 0, base - 1));
	slot = lookup(vm, 0, base);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->id, 3);
	KUNIT_EXPECT_EQ(test, kvmmu_memslot_gfn_to_hva(slot, base), TEST_HVA);
	slot = lookup(vm, 0, base + TEST_PAGES - 1);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->id, 3);
	KUNIT_EXPECT_EQ(test, kvmmu_memslot_gfn_to_hva(slot, base + TEST_PAGES - 1),
			TEST_HVA + BASE_SIZE - PG);
	/* The gap, then the second slot, then nothing. */
	KUNIT_EXPECT_NULL(test, lookup(vm, 0, base + TEST_PAGES));
	slot = lookup(vm, 0, base + TEST_PAGES + 1);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->id, 4);
	KUNIT_EXPECT_NULL(test, lookup(vm, 0, base + TEST_PAGES + 2));
	/* The other address space has its own, empty, sets. */
	KUNIT_EXPECT_NULL(test, lookup(vm, 1, base));
	KUNIT_EXPECT_NULL(test, lookup(vm, 0, ~0ULL));
}

/*
 * 32764 one-page slots with one-page gaps: every slot found, no gap. The
 * sets are filled directly (as publish() would, without its 98k SRCU grace
 * periods, which take minutes under TCG with KASAN); creating and deleting
 * 32764 slots through the ioctl is the kselftests' job.
 */
static void memslot_lookup_all_slots(struct kunit *test)
{
	struct kvmmu_vm *vm = test->priv;
	struct kvmmu_memslots *slots;
	struct kvmmu_memory_slot *slot;
	int i, found = 0, bad = 0;

	mutex_lock(&vm->slots_lock);
	for (i = 0; i < KVMMU_USER_MEM_SLOTS; i++) {
		slot = kzalloc(sizeof(*slot), GFP_KERNEL);
		if (!slot)
			break;
		slot->id = i;
		slot->base_gfn = (gfn_t)i * 2;
		slot->npages = 1;
		slot->userspace_addr = TEST_HVA;
		set_insert(&vm->__memslots[0][0], slot);
		set_insert(&vm->__memslots[0][1], slot);
	}
	slots = kvmmu_memslots(vm, 0);
	for (i = 0; i < KVMMU_USER_MEM_SLOTS; i++) {
		slot = kvmmu_gfn_to_memslot(slots, (gfn_t)i * 2);
		if (slot && slot->id == i)
			found++;
		if (kvmmu_gfn_to_memslot(slots, (gfn_t)i * 2 + 1))
			bad++;
	}
	slot = kvmmu_id_to_memslot(slots, KVMMU_USER_MEM_SLOTS - 1);
	mutex_unlock(&vm->slots_lock);

	KUNIT_EXPECT_EQ(test, found, KVMMU_USER_MEM_SLOTS);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->base_gfn, (KVMMU_USER_MEM_SLOTS - 1) * 2);
	/* One past the last id is refused, the ioctl way. */
	KUNIT_EXPECT_EQ(test, set(vm, KVMMU_USER_MEM_SLOTS, 0, 0, PG, TEST_HVA),
			-EINVAL);
	/* The slots are freed by memslot_test_exit(), through the id hash. */
}

/*
 * The first GFN past the host's MAXPHYADDR, from the CPU itself and not
 * from memslot.c: CPUID 0x80000008 EAX[7:0] (36 bits without the leaf),
 * as KVM's kvm_mmu_max_gfn() reads it, capped at the 48 bits of kvmmu's
 * 4-level NPT (kvmmu_mmu_phys_bits(), a documented difference from KVM).
 */
static u64 cpu_end_gfn(void)
{
	unsigned int bits = 36;

	if (cpuid_eax(0x80000000) >= 0x80000008)
		bits = cpuid_eax(0x80000008) & 0xff;
	return 1ULL << (min(bits, 48U) - PAGE_SHIFT);
}

/* Slots may reach the host's MAXPHYADDR and not one page further. */
static void memslot_max_gfn(struct kunit *test)
{
	struct kvmmu_vm *vm = test->priv;
	u64 end = cpu_end_gfn() << PAGE_SHIFT;

	KUNIT_EXPECT_EQ(test, set(vm, 3, 0, end - PG, 2 * PG, TEST_HVA),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, set(vm, 1, 0, end - PG, PG, TEST_HVA), 0);
	KUNIT_EXPECT_EQ(test, set(vm, 2, 0, end, PG, TEST_HVA), -EINVAL);
	/* Moving slot 1 past the limit fails and leaves it in place. */
	KUNIT_EXPECT_EQ(test, set(vm, 1, 0, end, PG, TEST_HVA), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, lookup(vm, 0, cpu_end_gfn() - 1));
	/* The overlap check comes first, as in KVM. */
	KUNIT_EXPECT_EQ(test, set(vm, 4, 0, end - PG, 2 * PG, TEST_HVA),
			-EEXIST);
	/* The largest slot KVM allows, where the host has room for it. */
	if (cpu_end_gfn() > MAXPG)
		KUNIT_EXPECT_EQ(test, set(vm, 5, 0, 0, MAXPG * PG, 0x1000), 0);
}

static void memslot_move_delete_generation(struct kunit *test)
{
	struct kvmmu_vm *vm = test->priv;
	gfn_t base = TEST_GPA >> PAGE_SHIFT, moved = base + 0x1000;
	struct kvmmu_memory_slot *slot;
	u64 gen = generation(vm, 0);

	KUNIT_ASSERT_EQ(test, set(vm, 7, 0, TEST_GPA, BASE_SIZE, TEST_HVA), 0);
	KUNIT_EXPECT_GT(test, generation(vm, 0), gen);
	KUNIT_EXPECT_EQ(test, generation(vm, 1), 0);
	KUNIT_EXPECT_EQ(test, vm->nr_memslot_pages, TEST_PAGES);

	/* Identical: nothing published. */
	gen = generation(vm, 0);
	KUNIT_EXPECT_EQ(test, set(vm, 7, 0, TEST_GPA, BASE_SIZE, TEST_HVA), 0);
	KUNIT_EXPECT_EQ(test, generation(vm, 0), gen);

	/* Flags only: same range, new flags, new slot object. */
	KUNIT_EXPECT_EQ(test, set(vm, 7, KVM_MEM_LOG_DIRTY_PAGES, TEST_GPA,
				  BASE_SIZE, TEST_HVA), 0);
	KUNIT_EXPECT_GT(test, generation(vm, 0), gen);
	slot = lookup(vm, 0, base);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->flags, (u32)KVM_MEM_LOG_DIRTY_PAGES);

	/* Move: the old GFNs are gone, the new ones reach the same HVAs. */
	gen = generation(vm, 0);
	KUNIT_EXPECT_EQ(test, set(vm, 7, KVM_MEM_LOG_DIRTY_PAGES,
				  moved << PAGE_SHIFT, BASE_SIZE, TEST_HVA), 0);
	/* Two publications: the INVALID copy, then the moved slot. */
	KUNIT_EXPECT_EQ(test, generation(vm, 0), gen + 2);
	KUNIT_EXPECT_NULL(test, lookup(vm, 0, base));
	slot = lookup(vm, 0, moved + 3);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->id, 7);
	KUNIT_EXPECT_EQ(test, slot->flags & KVMMU_MEMSLOT_INVALID, 0);
	KUNIT_EXPECT_EQ(test, kvmmu_memslot_gfn_to_hva(slot, moved + 3),
			TEST_HVA + 3 * PG);
	KUNIT_EXPECT_EQ(test, vm->nr_memslot_pages, TEST_PAGES);

	/* Delete. */
	gen = generation(vm, 0);
	KUNIT_EXPECT_EQ(test, set(vm, 7, 0, 0, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, generation(vm, 0), gen + 2);
	KUNIT_EXPECT_NULL(test, lookup(vm, 0, moved));
	KUNIT_EXPECT_EQ(test, vm->nr_memslot_pages, 0);
	KUNIT_EXPECT_EQ(test, set(vm, 7, 0, 0, 0, 0), -EINVAL);

	/* The id and the range are free again. */
	KUNIT_EXPECT_EQ(test, set(vm, 7, 0, TEST_GPA, PG, TEST_HVA + PG), 0);
}

static int count_hva(struct kvmmu_vm *vm, unsigned long start,
		     unsigned long last, u32 *ids)
{
	struct kvmmu_memslots *slots;
	struct kvmmu_memory_slot *slot;
	int n = 0;

	*ids = 0;
	mutex_lock(&vm->slots_lock);
	slots = kvmmu_memslots(vm, 0);
	for (slot = kvmmu_memslot_hva_first(slots, start, last); slot;
	     slot = kvmmu_memslot_hva_next(slots, slot, start, last)) {
		*ids |= BIT(slot->id);
		n++;
	}
	mutex_unlock(&vm->slots_lock);
	return n;
}

static void memslot_hva_range(struct kunit *test)
{
	struct kvmmu_vm *vm = test->priv;
	u32 ids;

	/* Slots 1 and 2 share TEST_HVA's first 16 pages; 3 is elsewhere. */
	KUNIT_ASSERT_EQ(test, set(vm, 1, 0, 0, BASE_SIZE, TEST_HVA), 0);
	KUNIT_ASSERT_EQ(test, set(vm, 2, 0, TEST_GPA, 4 * PG, TEST_HVA), 0);
	KUNIT_ASSERT_EQ(test, set(vm, 3, 0, 2 * TEST_GPA, PG,
				  TEST_HVA + 0x100000), 0);

	KUNIT_EXPECT_EQ(test, count_hva(vm, TEST_HVA, TEST_HVA, &ids), 2);
	KUNIT_EXPECT_EQ(test, ids, BIT(1) | BIT(2));
	KUNIT_EXPECT_EQ(test, count_hva(vm, TEST_HVA + 4 * PG,
					TEST_HVA + 4 * PG, &ids), 1);
	KUNIT_EXPECT_EQ(test, ids, BIT(1));
	/* Last byte of slot 2, then first byte past slot 1. */
	KUNIT_EXPECT_EQ(test, count_hva(vm, TEST_HVA + 4 * PG - 1,
					TEST_HVA + 4 * PG - 1, &ids), 2);
	KUNIT_EXPECT_EQ(test, count_hva(vm, TEST_HVA + BASE_SIZE,
					TEST_HVA + 0x100000 - 1, &ids), 0);
	KUNIT_EXPECT_EQ(test, count_hva(vm, 0, ULONG_MAX, &ids), 3);
	KUNIT_EXPECT_EQ(test, ids, BIT(1) | BIT(2) | BIT(3));

	/* After a delete the HVA tree no longer reports the slot. */
	KUNIT_ASSERT_EQ(test, set(vm, 2, 0, 0, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, count_hva(vm, TEST_HVA, TEST_HVA, &ids), 1);
	KUNIT_EXPECT_EQ(test, ids, BIT(1));
}

/* Collect a set's slots in GFN order into @out; return how many. */
static int set_slots(struct kvmmu_memslots *set,
		     struct kvmmu_memory_slot **out, int max)
{
	struct kvmmu_memory_slot *slot;
	int n = 0;

	for (slot = kvmmu_memslot_first(set); slot && n < max;
	     slot = kvmmu_memslot_next(set, slot))
		out[n++] = slot;
	return n;
}

static void memslot_sets_agree(struct kunit *test)
{
	struct kvmmu_memory_slot *a[8], *b[8];
	struct kvmmu_vm *vm = test->priv;
	int na, nb, i;

	KUNIT_ASSERT_EQ(test, set(vm, 0, 0, 0, PG, TEST_HVA), 0);
	KUNIT_ASSERT_EQ(test, set(vm, 1, 0, 4 * PG, PG, TEST_HVA), 0);
	KUNIT_ASSERT_EQ(test, set(vm, 2, 0, 8 * PG, PG, TEST_HVA), 0);
	KUNIT_ASSERT_EQ(test, set(vm, 1, 0, 16 * PG, PG, TEST_HVA), 0);
	KUNIT_ASSERT_EQ(test, set(vm, 0, 0, 0, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, set(vm, 2, KVM_MEM_LOG_DIRTY_PAGES, 8 * PG, PG,
				  TEST_HVA), 0);

	na = set_slots(&vm->__memslots[0][0], a, ARRAY_SIZE(a));
	nb = set_slots(&vm->__memslots[0][1], b, ARRAY_SIZE(b));
	KUNIT_ASSERT_EQ(test, na, 2);
	KUNIT_ASSERT_EQ(test, nb, 2);
	for (i = 0; i < na; i++)
		KUNIT_EXPECT_PTR_EQ(test, a[i], b[i]);
	KUNIT_EXPECT_EQ(test, a[0]->id, 2);
	KUNIT_EXPECT_EQ(test, a[1]->id, 1);
	KUNIT_EXPECT_EQ(test, a[1]->base_gfn, 16);
	/* Both sets find slots by id, and not the deleted one. */
	KUNIT_EXPECT_PTR_EQ(test, kvmmu_id_to_memslot(&vm->__memslots[0][0], 1),
			    kvmmu_id_to_memslot(&vm->__memslots[0][1], 1));
	KUNIT_EXPECT_NULL(test, kvmmu_id_to_memslot(&vm->__memslots[0][1], 0));
}

/*
 * Under the shadow MMU a slot of address space 0 gets its reverse map
 * before it is published: new arrays on a create and on a move (sized
 * for the new GFNs), the same arrays after a flags change. SMM's slots
 * and a TDP VM's have none. The frees are checked by kmemleak and, for
 * empty heads, by kvmmu_slot_rmap_free() on the debug kernel.
 */
static void memslot_shadow_rmap(struct kunit *test)
{
	const u64 size = TEST_PAGES * PAGE_SIZE, move = TEST_GPA + SZ_2M + SZ_4K;
	struct kvmmu_vm *vm = test->priv;
	struct kvmmu_memory_slot *s;
	struct kvmmu_rmap_head *h;
	struct kvmmu_mmu *mmu;
	int level;

	/* A shadow MMU without pages: a move's zap finds nothing. */
	mmu = kunit_kzalloc(test, sizeof(*mmu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mmu);
	mmu->vm = vm;
	rwlock_init(&mmu->lock);
	KUNIT_ASSERT_EQ(test, kvmmu_shadow_mmu_init(mmu), 0);
	vm->mmu = mmu;

	KUNIT_ASSERT_EQ(test, set(vm, 0, 0, TEST_GPA, size, TEST_HVA), 0);
	s = lookup(vm, 0, TEST_GPA >> PAGE_SHIFT);
	KUNIT_ASSERT_NOT_NULL(test, s);
	for (level = PG_LEVEL_4K; level <= KVMMU_RMAP_LEVELS; level++)
		KUNIT_EXPECT_NOT_NULL(test, s->rmap.heads[level - 1]);
	KUNIT_EXPECT_EQ(test, s->rmap.base_gfn, TEST_GPA >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, s->rmap.npages, TEST_PAGES);
	h = s->rmap.heads[0];

	/* A flags change keeps the arrays: SPTEs stay in them. */
	KUNIT_ASSERT_EQ(test, set(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, TEST_GPA,
				  size, TEST_HVA), 0);
	s = lookup(vm, 0, TEST_GPA >> PAGE_SHIFT);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_PTR_EQ(test, s->rmap.heads[0], h);

	/* A move: new arrays for the new GFNs, the old ones freed. */
	KUNIT_ASSERT_EQ(test, set(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, move, size,
				  TEST_HVA), 0);
	s = lookup(vm, 0, move >> PAGE_SHIFT);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_PTR_NE(test, s->rmap.heads[0], h);
	KUNIT_EXPECT_NOT_NULL(test, s->rmap.heads[0]);
	KUNIT_EXPECT_EQ(test, s->rmap.base_gfn, move >> PAGE_SHIFT);
	KUNIT_EXPECT_PTR_EQ(test, kvmmu_gfn_to_rmap(&s->rmap, move >> PAGE_SHIFT,
						    PG_LEVEL_4K),
			    &s->rmap.heads[0][0]);

	/* SMM's address space has no SPTEs, so no reverse map. */
	KUNIT_ASSERT_EQ(test, set(vm, (1 << 16) | 1, 0, TEST_GPA, size,
				  TEST_HVA), 0);
	s = lookup(vm, 1, TEST_GPA >> PAGE_SHIFT);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_NULL(test, s->rmap.heads[0]);

	/* Nor has a slot of a VM on the TDP MMU. */
	mmu->shadow = false;
	KUNIT_ASSERT_EQ(test, set(vm, 2, 0, 0, size, TEST_HVA), 0);
	s = lookup(vm, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_NULL(test, s->rmap.heads[0]);

	/* Deleted slots free theirs (kmemleak would tell). */
	mmu->shadow = true;
	KUNIT_EXPECT_EQ(test, set(vm, 0, 0, move, 0, TEST_HVA), 0);
	vm->mmu = NULL;
	kvmmu_shadow_mmu_destroy(mmu);
}

#ifdef KVMMU_TEST_BROKEN_WARN
/* Deliberately broken: the harness must turn red on this WARN. */
static void memslot_harness_broken_warn(struct kunit *test)
{
	WARN(1, "kvmmu_test: deliberate WARN for the harness self-test");
}
#endif

static struct kunit_case memslot_test_cases[] = {
	KUNIT_CASE_PARAM(memslot_validation, validation_gen_params),
	KUNIT_CASE(memslot_lookup_boundaries),
	KUNIT_CASE_SLOW(memslot_lookup_all_slots),
	KUNIT_CASE(memslot_max_gfn),
	KUNIT_CASE(memslot_move_delete_generation),
	KUNIT_CASE(memslot_hva_range),
	KUNIT_CASE(memslot_sets_agree),
	KUNIT_CASE(memslot_shadow_rmap),
#ifdef KVMMU_TEST_BROKEN_WARN
	KUNIT_CASE(memslot_harness_broken_warn),
#endif
	{}
};

static struct kunit_suite memslot_test_suite = {
	.name = "kvmmu_memslot",
	.init = memslot_test_init,
	.exit = memslot_test_exit,
	.test_cases = memslot_test_cases,
};

kunit_test_suite(memslot_test_suite);

MODULE_DESCRIPTION("KUnit tests for kvmmu's memslots");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * The reverse map of the shadow MMU: sets of SPTE pointers.
 *
 * What
 * ----
 * A reverse-map head (struct kvmmu_rmap_head) is one word naming every
 * SPTE that points at one thing: a guest frame (the GFN rmaps of a
 * memslot, one head per guest page per level) or a shadow page (its
 * parent_ptes, shadow.c). Its value is
 *
 *   0                   no SPTE;
 *   sptep               exactly one, bit 0 clear (SPTEs are 8-byte aligned);
 *   desc | 1            a chain of descriptors of up to 14 SPTE pointers.
 *
 * The chain is KVM's pte_list_desc: a new descriptor becomes the head of
 * the chain, and only the head may be partly filled, so a count is the
 * head's count plus its tail_count and a removal fills its hole with the
 * head's last entry. A descriptor is 128 bytes, two cache lines.
 *
 * Why
 * ---
 * The TDP MMU needs no reverse map: the NPT is indexed by GFN. A shadow
 * MMU maps a guest frame from as many shadow pages as guest page tables
 * map it, and must find them all to zap, write-protect or age that frame;
 * it must also find every upper SPTE that links a shadow page in, to
 * unlink it. Most frames have one mapping, which costs no memory beyond
 * the head.
 *
 * Memory
 * ------
 * Adds run under the MMU lock, a spinning lock: they never allocate. A
 * descriptor comes from a struct kvmmu_memory_cache that its owner (a
 * vCPU) tops up before taking the lock, as KVM's kvm_mmu_memory_cache;
 * an add that finds the cache empty fails with -ENOMEM and changes
 * nothing, where KVM warns and tries GFP_ATOMIC. Descriptors come from
 * kmalloc (KVM has a kmem_cache of its own: same size class, and no
 * module-init hook needed) and are freed with kfree as soon as they empty.
 *
 * A memslot's GFN rmaps are one array of heads per level (4K, 2M, 1G),
 * sized like KVM's gfn_to_index(): a 2M or 1G head for each huge page the
 * slot touches, partial ones at both ends included.
 *
 * Exclusion rules
 * ---------------
 * - A head and its descriptors belong to the MMU lock held for write:
 *   add, remove, count, clear and walks all run under it, as in KVM 6.12's
 *   shadow MMU. A walk may remove the SPTE it was just given; nothing else
 *   may change the head until the walk ends.
 * - A memory cache belongs to its owner's thread: topped up there without
 *   locks, emptied by adds under the MMU lock from the same thread.
 * - A slot's arrays are allocated before the slot is published and freed
 *   after it is unpublished and an SRCU grace period has passed, with
 *   every head empty (all of the slot's SPTEs zapped). In between, the
 *   array pointers never change; the heads follow the first rule.
 */

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "mmu.h"

#define KVMMU_RMAP_MANY		1UL
/* 14 pointers and 16 bytes of bookkeeping: 128 bytes (KVM's PTE_LIST_EXT). */
#define KVMMU_RMAP_DESC_SPTES	14

/*
 * @more: the next (older, full) descriptor of the chain.
 * @count: SPTEs in @sptes[0 .. count - 1]; never 0 in a chain.
 * @tail_count: SPTEs in all descriptors after this one.
 */
struct kvmmu_rmap_desc {
	struct kvmmu_rmap_desc *more;
	u32 count;
	u32 tail_count;
	u64 *sptes[KVMMU_RMAP_DESC_SPTES];
};

static_assert(sizeof(struct kvmmu_rmap_desc) == 128);

/**
 * kvmmu_memory_cache_topup - fill a cache to capacity, allowed to sleep.
 * @mc: the cache; @mc->obj_size says what it holds.
 * @min: objects the caller's next locked section may take.
 *
 * Return: 0 if @mc holds at least @min objects (even when filling it up
 * to KVMMU_MEMORY_CACHE_CAPACITY failed), -ENOMEM if it does not,
 * -EINVAL if @min exceeds the capacity.
 */
int kvmmu_memory_cache_topup(struct kvmmu_memory_cache *mc, int min)
{
	void *obj;

	might_sleep();
	if (min > KVMMU_MEMORY_CACHE_CAPACITY)
		return -EINVAL;
	if (mc->nobjs >= min)
		return 0;
	while (mc->nobjs < KVMMU_MEMORY_CACHE_CAPACITY) {
		if (mc->obj_size)
			obj = kzalloc(mc->obj_size, GFP_KERNEL_ACCOUNT);
		else
			obj = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!obj)
			return mc->nobjs >= min ? 0 : -ENOMEM;
		mc->objs[mc->nobjs++] = obj;
	}
	return 0;
}

/**
 * kvmmu_memory_cache_alloc - take a zeroed object; never allocates.
 * @mc: the cache, topped up by its owner beforehand.
 *
 * Return: the object, or NULL if @mc is empty.
 */
void *kvmmu_memory_cache_alloc(struct kvmmu_memory_cache *mc)
{
	if (!mc->nobjs)
		return NULL;
	return mc->objs[--mc->nobjs];
}

/**
 * kvmmu_memory_cache_free - free every object still in a cache.
 * @mc: the cache; left empty and usable.
 */
void kvmmu_memory_cache_free(struct kvmmu_memory_cache *mc)
{
	while (mc->nobjs) {
		void *obj = mc->objs[--mc->nobjs];

		if (mc->obj_size)
			kfree(obj);
		else
			free_page((unsigned long)obj);
	}
}

/**
 * kvmmu_rmap_cache_init - make @mc a cache of rmap descriptors, empty.
 * @mc: the cache.
 */
void kvmmu_rmap_cache_init(struct kvmmu_memory_cache *mc)
{
	mc->obj_size = sizeof(struct kvmmu_rmap_desc);
	mc->nobjs = 0;
}

static struct kvmmu_rmap_desc *rmap_desc(unsigned long val)
{
	return (struct kvmmu_rmap_desc *)(val & ~KVMMU_RMAP_MANY);
}

/**
 * kvmmu_rmap_add - add an SPTE pointer to a head.
 * @mc: where a descriptor comes from if one is needed.
 * @head: the head.
 * @sptep: the SPTE; not already in @head.
 *
 * Takes at most one descriptor from @mc. Call with the MMU lock held for
 * write.
 *
 * Return: the number of SPTEs @head held before (KVM's pte_list_add()),
 * -ENOMEM if a descriptor was needed and @mc was empty (@head unchanged),
 * -EINVAL for a NULL or misaligned @sptep.
 */
int kvmmu_rmap_add(struct kvmmu_memory_cache *mc,
		   struct kvmmu_rmap_head *head, u64 *sptep)
{
	struct kvmmu_rmap_desc *desc;
	unsigned int count;

	if (WARN_ON_ONCE(!sptep || !IS_ALIGNED((unsigned long)sptep, 8)))
		return -EINVAL;

	if (!head->val) {
		head->val = (unsigned long)sptep;
		return 0;
	}

	if (!(head->val & KVMMU_RMAP_MANY)) {
		desc = kvmmu_memory_cache_alloc(mc);
		if (!desc)
			return -ENOMEM;
		desc->more = NULL;
		desc->sptes[0] = (u64 *)head->val;
		desc->sptes[1] = sptep;
		desc->count = 2;
		desc->tail_count = 0;
		head->val = (unsigned long)desc | KVMMU_RMAP_MANY;
		return 1;
	}

	desc = rmap_desc(head->val);
	count = desc->count + desc->tail_count;
	if (desc->count == KVMMU_RMAP_DESC_SPTES) {
		/* Tails stay full: a new head descriptor. */
		struct kvmmu_rmap_desc *full = desc;

		desc = kvmmu_memory_cache_alloc(mc);
		if (!desc)
			return -ENOMEM;
		desc->more = full;
		desc->count = 0;
		desc->tail_count = count;
		head->val = (unsigned long)desc | KVMMU_RMAP_MANY;
	}
	desc->sptes[desc->count++] = sptep;
	return count;
}

/*
 * Take @desc->sptes[@i] out: the head descriptor's last entry moves into
 * the hole (tails stay full), and an emptied head descriptor is freed.
 */
static void rmap_desc_remove_entry(struct kvmmu_rmap_head *head,
				   struct kvmmu_rmap_desc *desc, int i)
{
	struct kvmmu_rmap_desc *first = rmap_desc(head->val);
	int last = first->count - 1;

	desc->sptes[i] = first->sptes[last];
	first->sptes[last] = NULL;
	first->count--;
	if (first->count)
		return;
	head->val = first->more ?
		    (unsigned long)first->more | KVMMU_RMAP_MANY : 0;
	kfree(first);
}

/**
 * kvmmu_rmap_try_remove - remove an SPTE pointer if @head has it.
 * @head: the head.
 * @sptep: the SPTE.
 *
 * Call with the MMU lock held for write.
 *
 * Return: whether @sptep was found (and removed).
 */
bool kvmmu_rmap_try_remove(struct kvmmu_rmap_head *head, u64 *sptep)
{
	struct kvmmu_rmap_desc *desc;
	int i;

	if (!head->val)
		return false;

	if (!(head->val & KVMMU_RMAP_MANY)) {
		if ((u64 *)head->val != sptep)
			return false;
		head->val = 0;
		return true;
	}

	/* A chain's head descriptor is never empty (see above). */
	if (WARN_ON_ONCE(!rmap_desc(head->val)->count))
		return false;
	for (desc = rmap_desc(head->val); desc; desc = desc->more) {
		for (i = 0; i < desc->count; i++) {
			if (desc->sptes[i] == sptep) {
				rmap_desc_remove_entry(head, desc, i);
				return true;
			}
		}
	}
	return false;
}

/**
 * kvmmu_rmap_remove - remove an SPTE pointer that @head must have.
 * @head: the head.
 * @sptep: the SPTE.
 *
 * An absent @sptep means the MMU lost track of a mapping: warn once and
 * leave @head as it is (KVM's pte_list_remove() marks the VM bugged).
 * Call with the MMU lock held for write.
 */
void kvmmu_rmap_remove(struct kvmmu_rmap_head *head, u64 *sptep)
{
	WARN_ON_ONCE(!kvmmu_rmap_try_remove(head, sptep));
}

/**
 * kvmmu_rmap_count - how many SPTE pointers a head holds, in O(1).
 * @head: the head.
 *
 * Return: the count.
 */
unsigned int kvmmu_rmap_count(const struct kvmmu_rmap_head *head)
{
	struct kvmmu_rmap_desc *desc;

	if (!head->val)
		return 0;
	if (!(head->val & KVMMU_RMAP_MANY))
		return 1;
	desc = rmap_desc(head->val);
	return desc->count + desc->tail_count;
}

/**
 * kvmmu_rmap_clear - empty a head, freeing its descriptors.
 * @head: the head.
 *
 * The SPTEs themselves are left alone: for teardown, when whatever they
 * point at goes too. Call with the MMU lock held for write, or when
 * nobody else can reach @head.
 */
void kvmmu_rmap_clear(struct kvmmu_rmap_head *head)
{
	struct kvmmu_rmap_desc *desc, *next;

	if (head->val & KVMMU_RMAP_MANY) {
		for (desc = rmap_desc(head->val); desc; desc = next) {
			next = desc->more;
			kfree(desc);
		}
	}
	head->val = 0;
}

/* Start on @desc at its last entry: see kvmmu_rmap_next(). */
static u64 *rmap_iter_enter(struct kvmmu_rmap_iter *iter,
			    struct kvmmu_rmap_desc *desc)
{
	iter->desc = desc;
	iter->next = desc->more;
	iter->pos = desc->count - 1;
	return desc->sptes[iter->pos];
}

/**
 * kvmmu_rmap_first - start a walk of a head.
 * @head: the head.
 * @iter: the walk's position, set here.
 *
 * Call with the MMU lock held for write, and keep it until the walk ends.
 *
 * Return: the first SPTE pointer, or NULL if @head is empty.
 */
u64 *kvmmu_rmap_first(const struct kvmmu_rmap_head *head,
		      struct kvmmu_rmap_iter *iter)
{
	iter->desc = NULL;
	iter->next = NULL;
	iter->pos = 0;
	if (!head->val)
		return NULL;
	if (!(head->val & KVMMU_RMAP_MANY))
		return (u64 *)head->val;
	return rmap_iter_enter(iter, rmap_desc(head->val));
}

/**
 * kvmmu_rmap_next - continue a walk.
 * @iter: the position from kvmmu_rmap_first() or an earlier call.
 *
 * The walk goes from the head descriptor to the tail, and from the last
 * entry of each descriptor to the first. Removing the SPTE last returned
 * moves the head descriptor's last entry into its slot: in that order the
 * moved entry was already returned, and every entry not yet returned
 * stays where it was, so the walk needs no restart (KVM's callers restart
 * from rmap_get_first()). A descriptor freed by that removal is never
 * touched again: its successor was read on entering it.
 *
 * Return: the next SPTE pointer, or NULL at the end.
 */
u64 *kvmmu_rmap_next(struct kvmmu_rmap_iter *iter)
{
	if (!iter->desc)
		return NULL;
	if (iter->pos > 0)
		return iter->desc->sptes[--iter->pos];
	if (!iter->next) {
		iter->desc = NULL;
		return NULL;
	}
	return rmap_iter_enter(iter, iter->next);
}

/* KVM's gfn_to_index(): @gfn's page of @level, counted from @base's. */
static unsigned long rmap_gfn_index(gfn_t gfn, gfn_t base, int level)
{
	return (gfn >> KVMMU_LEVEL_SHIFT(level)) -
	       (base >> KVMMU_LEVEL_SHIFT(level));
}

/**
 * kvmmu_rmap_slot_entries - heads a slot needs at one level.
 * @base_gfn: the slot's first GFN.
 * @npages: its size in 4K pages.
 * @level: PG_LEVEL_4K, PG_LEVEL_2M or PG_LEVEL_1G.
 *
 * One per page of @level that the slot touches: a slot that starts or
 * ends inside a huge page has a head for it (KVM's
 * __kvm_mmu_slot_lpages()).
 *
 * Return: the count, or 0 for an empty slot, one whose end overflows,
 * or a bad level.
 */
unsigned long kvmmu_rmap_slot_entries(gfn_t base_gfn, unsigned long npages,
				      int level)
{
	gfn_t last;

	if (!npages || level < PG_LEVEL_4K || level > KVMMU_RMAP_LEVELS ||
	    check_add_overflow(base_gfn, (gfn_t)npages - 1, &last))
		return 0;
	return rmap_gfn_index(last, base_gfn, level) + 1;
}

/*
 * kvcalloc() refuses (with a WARN) anything above INT_MAX bytes, a 4K
 * array for a slot of 1 TiB or more: such arrays come from vmalloc, as
 * all of KVM's do (__vcalloc()).
 */
static struct kvmmu_rmap_head *rmap_array_alloc(unsigned long n)
{
	size_t bytes;

	if (check_mul_overflow(n, sizeof(struct kvmmu_rmap_head), &bytes))
		return NULL;
	if (bytes <= INT_MAX)
		return kvcalloc(n, sizeof(struct kvmmu_rmap_head),
				GFP_KERNEL_ACCOUNT);
	return __vcalloc(n, sizeof(struct kvmmu_rmap_head), GFP_KERNEL_ACCOUNT);
}

/**
 * kvmmu_slot_rmap_alloc - allocate a memslot's reverse map, all empty.
 * @r: where the arrays go; overwritten.
 * @base_gfn: the slot's first GFN.
 * @npages: its size in 4K pages.
 *
 * Call before the slot is published, where sleeping is allowed.
 *
 * Return: 0, -EINVAL for an empty slot or one whose end overflows,
 * -ENOMEM (nothing left allocated).
 */
int kvmmu_slot_rmap_alloc(struct kvmmu_slot_rmap *r, gfn_t base_gfn,
			  unsigned long npages)
{
	int level;

	memset(r, 0, sizeof(*r));
	if (!kvmmu_rmap_slot_entries(base_gfn, npages, PG_LEVEL_4K))
		return -EINVAL;
	r->base_gfn = base_gfn;
	r->npages = npages;
	for (level = PG_LEVEL_4K; level <= KVMMU_RMAP_LEVELS; level++) {
		unsigned long n = kvmmu_rmap_slot_entries(base_gfn, npages,
							  level);

		r->heads[level - 1] = rmap_array_alloc(n);
		if (!r->heads[level - 1]) {
			kvmmu_slot_rmap_free(r);
			return -ENOMEM;
		}
	}
	return 0;
}

/**
 * kvmmu_slot_rmap_free - free a memslot's reverse map.
 * @r: the arrays; left empty, and a second free does nothing.
 *
 * Every head must be empty: the slot's SPTEs were zapped. Debug builds
 * check, and warn about the descriptors that would otherwise leak.
 */
void kvmmu_slot_rmap_free(struct kvmmu_slot_rmap *r)
{
	int i;

	for (i = 0; i < KVMMU_RMAP_LEVELS; i++) {
		unsigned long n = kvmmu_rmap_slot_entries(r->base_gfn,
							  r->npages, i + 1);

		if (KVMMU_DEBUG && r->heads[i])
			WARN_ON_ONCE(memchr_inv(r->heads[i], 0,
						n * sizeof(*r->heads[i])));
		kvfree(r->heads[i]);
		r->heads[i] = NULL;
	}
}

/**
 * kvmmu_gfn_to_rmap - the head of a GFN at a level (KVM's gfn_to_rmap()).
 * @r: the slot's reverse map.
 * @gfn: a GFN of the slot.
 * @level: PG_LEVEL_4K, PG_LEVEL_2M or PG_LEVEL_1G.
 *
 * Return: the head of the @level page holding @gfn, or NULL if @gfn is
 * outside the slot or @level is not one of the three.
 */
struct kvmmu_rmap_head *kvmmu_gfn_to_rmap(const struct kvmmu_slot_rmap *r,
					  gfn_t gfn, int level)
{
	if (level < PG_LEVEL_4K || level > KVMMU_RMAP_LEVELS ||
	    !r->heads[level - 1] || gfn < r->base_gfn ||
	    gfn - r->base_gfn >= r->npages)
		return NULL;
	return &r->heads[level - 1][rmap_gfn_index(gfn, r->base_gfn, level)];
}

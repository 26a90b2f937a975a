// SPDX-License-Identifier: GPL-2.0
/*
 * Memslots: the guest physical memory map, GPA -> HVA.
 *
 * What it is
 * ----------
 * A memslot says "guest frames [base_gfn, base_gfn + npages) live at host
 * virtual addresses [userspace_addr, userspace_addr + npages * 4K) of the
 * VMM". It is a one-level page table that the VMM writes with
 * KVM_SET_USER_MEMORY_REGION(2) and that the MMU reads on every fault. A GFN
 * without a slot is MMIO.
 *
 * History
 * -------
 * KVM started with an array of slots searched linearly, then a sorted array
 * copied on every update, and since 5.17 keeps two sets per address space
 * whose slot objects carry a pair of tree nodes, so an update is O(log n)
 * and readers never see a half-made set. kvmmu follows the last design; the
 * ABI (ids, limits, errnos and their order) is KVM 6.12's so that a VMM, and
 * KVM's own selftests, cannot tell the two apart.
 *
 * Design
 * ------
 * Each address space has two struct kvmmu_memslots, "active" (published in
 * vm->memslots[as], read under vm->srcu) and "inactive" (private to the
 * updater). Both hold the same slots between updates. An update that turns
 * slot @old into slot @new (either may be NULL) is:
 *
 *   1. replace @old by @new in the inactive set;
 *   2. publish it (generation++, pointer swap) and wait for SRCU readers,
 *      after which no reader can be looking at the former active set;
 *   3. replay the same replacement on the former active set, now inactive.
 *
 * Each set is indexed three ways: by GFN (rbtree, plus a last-used hint),
 * by HVA range (interval tree, for mmu notifiers) and by id (hash).
 *
 * A delete or a move first publishes an INVALID copy of the slot: faults that
 * find it treat the range as MMIO and build nothing, so once the MMU has
 * zapped the old slot's SPTEs no new ones can appear. Only then is the final
 * state published and the old slot freed. Slots are never changed in place.
 *
 * Under the shadow MMU (tdp=0) a slot of address space 0 carries the
 * reverse map of its frames (rmap.c), as KVM's kvm_alloc_memslot_metadata():
 * allocated before a create or a move publishes the slot; shared by the
 * INVALID copy, through which the zap finds the SPTEs it removes, and by
 * the slot a flags change publishes; freed with the old slot, after the
 * final publication's grace period, when every head is empty.
 *
 * Exclusion rules
 * ---------------
 * - vm->slots_lock (mutex) is held for the whole of an update, including the
 *   SRCU waits, and by anything that needs the inactive sets.
 * - Readers hold vm->srcu (or vm->slots_lock) and may keep slot pointers
 *   until they drop it. They may write a set's last_used hint, nothing else.
 * - A set is modified only while it is inactive and after the grace period
 *   that made it so; slots are freed only when in neither set.
 */

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/rcupdate.h>
#include <asm/processor.h>

#include "kvmmu.h"
#include "mmu.h"

enum kvmmu_mr_change {
	KVMMU_MR_CREATE,
	KVMMU_MR_DELETE,
	KVMMU_MR_MOVE,
	KVMMU_MR_FLAGS_ONLY,
};

#define slot_of(ptr, member, idx) \
	container_of(ptr, struct kvmmu_memory_slot, member[idx])

static struct kvmmu_memslots *active_set(struct kvmmu_vm *vm, int as_id)
{
	return rcu_dereference_protected(vm->memslots[as_id],
					 lockdep_is_held(&vm->slots_lock));
}

static struct kvmmu_memslots *inactive_set(struct kvmmu_vm *vm, int as_id)
{
	struct kvmmu_memslots *active = active_set(vm, as_id);

	if (active == &vm->__memslots[as_id][0])
		return &vm->__memslots[as_id][1];
	return &vm->__memslots[as_id][0];
}

/* kvmmu_gfn_to_memslot() past its last-used slot: the tree. */
struct kvmmu_memory_slot *__kvmmu_gfn_to_memslot(struct kvmmu_memslots *slots,
						 gfn_t gfn)
{
	int idx = slots->node_idx;
	struct kvmmu_memory_slot *slot;
	struct rb_node *node;

	node = slots->gfn_tree.rb_node;
	while (node) {
		slot = slot_of(node, gfn_node, idx);
		if (gfn < slot->base_gfn) {
			node = node->rb_left;
		} else if (gfn - slot->base_gfn >= slot->npages) {
			node = node->rb_right;
		} else {
			WRITE_ONCE(slots->last_used, slot);
			return slot;
		}
	}
	return NULL;
}

/**
 * kvmmu_id_to_memslot - find a slot by id.
 * @slots: a set from kvmmu_memslots().
 * @id: the slot id within the set's address space.
 *
 * Return: the slot, or NULL.
 */
struct kvmmu_memory_slot *kvmmu_id_to_memslot(struct kvmmu_memslots *slots,
					      int id)
{
	struct kvmmu_memory_slot *slot;
	int idx = slots->node_idx;

	hash_for_each_possible(slots->id_hash, slot, id_node[idx], id) {
		if (slot->id == id)
			return slot;
	}
	return NULL;
}

/**
 * kvmmu_memslot_first - the slot with the lowest GFN.
 * @slots: a set from kvmmu_memslots().
 *
 * Return: the slot, or NULL for an empty set.
 */
struct kvmmu_memory_slot *kvmmu_memslot_first(struct kvmmu_memslots *slots)
{
	struct rb_node *node = rb_first(&slots->gfn_tree);

	return node ? slot_of(node, gfn_node, slots->node_idx) : NULL;
}

/**
 * kvmmu_memslot_gfn_first - the first slot ending after a guest frame.
 * @slots: a set from kvmmu_memslots().
 * @start: the frame.
 *
 * Slots of a set never overlap, so ordered by base_gfn they are ordered
 * by end too: the slots meeting [@start, end) are this one and its
 * kvmmu_memslot_next() successors while their base_gfn is below end.
 * O(log n).
 *
 * Return: the slot, or NULL if every slot ends at or before @start.
 */
struct kvmmu_memory_slot *kvmmu_memslot_gfn_first(struct kvmmu_memslots *slots,
						  gfn_t start)
{
	struct kvmmu_memory_slot *slot, *first = NULL;
	struct rb_node *node = slots->gfn_tree.rb_node;
	int idx = slots->node_idx;

	while (node) {
		slot = slot_of(node, gfn_node, idx);
		if (slot->base_gfn + slot->npages > start) {
			first = slot;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return first;
}

/**
 * kvmmu_memslot_next - the slot following @slot in GFN order.
 * @slots: the set @slot was found in.
 * @slot: the current slot.
 *
 * Return: the next slot, or NULL after the last.
 */
struct kvmmu_memory_slot *kvmmu_memslot_next(struct kvmmu_memslots *slots,
					     struct kvmmu_memory_slot *slot)
{
	int idx = slots->node_idx;
	struct rb_node *node = rb_next(&slot->gfn_node[idx]);

	return node ? slot_of(node, gfn_node, idx) : NULL;
}

/**
 * kvmmu_memslot_hva_first - first slot whose HVA range meets [@start, @last].
 * @slots: a set from kvmmu_memslots().
 * @start: first HVA.
 * @last: last HVA, inclusive.
 *
 * Several slots may map the same HVAs; all of them are found.
 *
 * Return: a slot, or NULL when none intersects.
 */
struct kvmmu_memory_slot *
kvmmu_memslot_hva_first(struct kvmmu_memslots *slots,
			unsigned long start, unsigned long last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&slots->hva_tree, start, last);
	return node ? slot_of(node, hva_node, slots->node_idx) : NULL;
}

/**
 * kvmmu_memslot_hva_next - next slot meeting [@start, @last] after @slot.
 * @slots: the set @slot was found in.
 * @slot: the current slot, from kvmmu_memslot_hva_first() or this.
 * @start: first HVA, as given to kvmmu_memslot_hva_first().
 * @last: last HVA, inclusive.
 *
 * Return: a slot, or NULL when there is no further one.
 */
struct kvmmu_memory_slot *
kvmmu_memslot_hva_next(struct kvmmu_memslots *slots,
		       struct kvmmu_memory_slot *slot,
		       unsigned long start, unsigned long last)
{
	int idx = slots->node_idx;
	struct interval_tree_node *node;

	node = interval_tree_iter_next(&slot->hva_node[idx], start, last);
	return node ? slot_of(node, hva_node, idx) : NULL;
}

static void set_insert(struct kvmmu_memslots *set,
		       struct kvmmu_memory_slot *slot)
{
	struct rb_node **link = &set->gfn_tree.rb_node, *parent = NULL;
	int idx = set->node_idx;

	while (*link) {
		struct kvmmu_memory_slot *tmp = slot_of(*link, gfn_node, idx);

		parent = *link;
		if (slot->base_gfn < tmp->base_gfn)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&slot->gfn_node[idx], parent, link);
	rb_insert_color(&slot->gfn_node[idx], &set->gfn_tree);

	slot->hva_node[idx].start = slot->userspace_addr;
	slot->hva_node[idx].last = slot->userspace_addr +
				   (slot->npages << PAGE_SHIFT) - 1;
	interval_tree_insert(&slot->hva_node[idx], &set->hva_tree);

	hash_add(set->id_hash, &slot->id_node[idx], slot->id);
}

static void set_remove(struct kvmmu_memslots *set,
		       struct kvmmu_memory_slot *slot)
{
	int idx = set->node_idx;

	rb_erase(&slot->gfn_node[idx], &set->gfn_tree);
	interval_tree_remove(&slot->hva_node[idx], &set->hva_tree);
	hash_del(&slot->id_node[idx]);
	if (set->last_used == slot)
		WRITE_ONCE(set->last_used, NULL);
}

static void set_replace(struct kvmmu_memslots *set,
			struct kvmmu_memory_slot *old,
			struct kvmmu_memory_slot *new)
{
	if (old)
		set_remove(set, old);
	if (new)
		set_insert(set, new);
}

/*
 * Make @new visible in place of @old to every reader of @as_id, following the
 * three steps in the comment at the top. On return no reader holds @old.
 */
static void publish(struct kvmmu_vm *vm, int as_id,
		    struct kvmmu_memory_slot *old,
		    struct kvmmu_memory_slot *new)
{
	struct kvmmu_memslots *set = inactive_set(vm, as_id);

	set_replace(set, old, new);
	set->generation = ++vm->generation;
	rcu_assign_pointer(vm->memslots[as_id], set);
	synchronize_srcu_expedited(&vm->srcu);

	set_replace(inactive_set(vm, as_id), old, new);
}

/* Whether a slot other than @id intersects GFNs [@start, @end). */
static bool overlaps_other(struct kvmmu_memslots *set, int id,
			   gfn_t start, gfn_t end)
{
	struct kvmmu_memory_slot *slot;

	for (slot = kvmmu_memslot_gfn_first(set, start);
	     slot && slot->base_gfn < end;
	     slot = kvmmu_memslot_next(set, slot)) {
		if (slot->id != id)
			return true;
	}
	return false;
}

/*
 * Delete or move: hide the slot behind an INVALID copy, zap what the MMU
 * built from it, then publish the final state. @new is NULL for a delete.
 */
static void replace_via_invalid(struct kvmmu_vm *vm,
				struct kvmmu_memory_slot *old,
				struct kvmmu_memory_slot *invalid,
				struct kvmmu_memory_slot *new)
{
	*invalid = *old;
	invalid->flags |= KVMMU_MEMSLOT_INVALID;
	publish(vm, old->as_id, old, invalid);

	kvmmu_mmu_zap_memslot(vm, old);

	publish(vm, old->as_id, invalid, new);
}

/*
 * The highest GFN a slot may reach: the one guest physical limit that the
 * NPT covers and CPUID reports, kvmmu_mmu_phys_bits() (KVM's
 * kvm_mmu_max_gfn()).
 */
static gfn_t host_max_gfn(void)
{
	return (1ULL << (kvmmu_mmu_phys_bits() - PAGE_SHIFT)) - 1;
}

/*
 * Only the shadow MMU keeps reverse maps (KVM's kvm_memslots_have_rmaps()),
 * and only of the address space it maps: SMM's slots have no SPTEs.
 */
static bool slot_needs_rmap(struct kvmmu_vm *vm, int as_id)
{
	return vm->mmu && vm->mmu->shadow && as_id < KVMMU_NPT_ADDRESS_SPACES;
}

static int check_region(const struct kvm_userspace_memory_region2 *mem,
			bool v1)
{
	u32 valid_flags = KVMMU_MEM_USER_FLAGS;

	/* The order of the checks is KVM's, so combined faults match too. */
	if (v1 && (mem->flags & ~KVMMU_MEM_USER_FLAGS))
		return -EINVAL;
	if ((u16)mem->slot >= KVMMU_USER_MEM_SLOTS)
		return -EINVAL;
	/* No private memory: GUEST_MEMFD is never valid here. */
	if (mem->flags & ~valid_flags)
		return -EINVAL;
	if ((mem->memory_size & (PAGE_SIZE - 1)) ||
	    mem->memory_size != (unsigned long)mem->memory_size)
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    mem->userspace_addr != untagged_addr(mem->userspace_addr) ||
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;
	if ((mem->slot >> 16) >= KVMMU_ADDRESS_SPACE_NUM ||
	    (u16)mem->slot >= KVMMU_MEM_SLOTS_NUM)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if ((mem->memory_size >> PAGE_SHIFT) > KVMMU_MEM_MAX_NR_PAGES)
		return -EINVAL;
	return 0;
}

static int __set_memory_region(struct kvmmu_vm *vm,
			       const struct kvm_userspace_memory_region2 *mem)
{
	struct kvmmu_memory_slot *old, *new = NULL, *invalid = NULL;
	int as_id = mem->slot >> 16, id = (u16)mem->slot;
	unsigned long npages = mem->memory_size >> PAGE_SHIFT;
	gfn_t base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	struct kvmmu_memslots *set = active_set(vm, as_id);
	enum kvmmu_mr_change change;
	int r;

	old = kvmmu_id_to_memslot(set, id);

	if (!npages) {
		if (!old)
			return -EINVAL;
		change = KVMMU_MR_DELETE;
	} else if (!old) {
		if (vm->nr_memslot_pages + npages < vm->nr_memslot_pages)
			return -EINVAL;
		change = KVMMU_MR_CREATE;
	} else {
		/* Only the GPA (a move) or the flags may change. */
		if (mem->userspace_addr != old->userspace_addr ||
		    npages != old->npages ||
		    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			return -EINVAL;
		if (base_gfn != old->base_gfn)
			change = KVMMU_MR_MOVE;
		else if (mem->flags != old->flags)
			change = KVMMU_MR_FLAGS_ONLY;
		else
			return 0;
	}

	if ((change == KVMMU_MR_CREATE || change == KVMMU_MR_MOVE) &&
	    overlaps_other(set, id, base_gfn, base_gfn + npages))
		return -EEXIST;

	/* Allocate everything first: past the GFN check nothing can fail. */
	if (change != KVMMU_MR_DELETE) {
		new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
		if (!new)
			return -ENOMEM;
		new->as_id = as_id;
		new->id = id;
		new->base_gfn = base_gfn;
		new->npages = npages;
		new->userspace_addr = mem->userspace_addr;
		new->flags = mem->flags;
	}
	if (change == KVMMU_MR_DELETE || change == KVMMU_MR_MOVE) {
		invalid = kmalloc(sizeof(*invalid), GFP_KERNEL_ACCOUNT);
		if (!invalid) {
			kfree(new);
			return -ENOMEM;
		}
	}

	/* Dirty logging: the bitmap follows the slot, or starts empty. */
	if (new && (new->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		if (old && old->dirty_bitmap) {
			new->dirty_bitmap = old->dirty_bitmap;
		} else {
			new->dirty_bitmap =
				kvzalloc(kvmmu_dirty_bitmap_bytes(npages),
					 GFP_KERNEL_ACCOUNT);
			if (!new->dirty_bitmap) {
				kfree(invalid);
				kfree(new);
				return -ENOMEM;
			}
			/* Every page counts as written until cleared. */
			if (vm->manual_dirty_log_protect &
			    KVM_DIRTY_LOG_INITIALLY_SET)
				bitmap_set(new->dirty_bitmap, 0, npages);
		}
	}

	/* KVM checks this last, after its allocations: same errno order. */
	if ((change == KVMMU_MR_CREATE || change == KVMMU_MR_MOVE) &&
	    base_gfn + npages - 1 > host_max_gfn()) {
		r = -EINVAL;
		goto out_free;
	}

	/*
	 * The shadow MMU's reverse map, after that check as in KVM's
	 * kvm_arch_prepare_memory_region(): a flags change keeps the
	 * arrays (and the SPTEs in them); a create or a move gets new ones,
	 * sized for its GFNs. A moved slot's old arrays stay with @old and
	 * @invalid until its SPTEs are zapped.
	 */
	if (change == KVMMU_MR_FLAGS_ONLY) {
		new->rmap = old->rmap;
	} else if (new && slot_needs_rmap(vm, as_id) &&
		   kvmmu_slot_rmap_alloc(&new->rmap, base_gfn, npages)) {
		r = -ENOMEM;
		goto out_free;
	}

	switch (change) {
	case KVMMU_MR_CREATE:
		publish(vm, as_id, NULL, new);
		vm->nr_memslot_pages += npages;
		break;
	case KVMMU_MR_DELETE:
		replace_via_invalid(vm, old, invalid, NULL);
		vm->nr_memslot_pages -= old->npages;
		break;
	case KVMMU_MR_MOVE:
		replace_via_invalid(vm, old, invalid, new);
		break;
	case KVMMU_MR_FLAGS_ONLY:
		publish(vm, as_id, old, new);
		kvmmu_mmu_memslot_flags_changed(vm, old, new);
		break;
	}

	/*
	 * No reader sees @old any more; its bitmap and reverse map go unless
	 * handed on. A deleted or moved slot's SPTEs were zapped: every head
	 * is empty (checked on debug kernels).
	 */
	if (old && (!new || new->dirty_bitmap != old->dirty_bitmap))
		kvfree(old->dirty_bitmap);
	if (old && change != KVMMU_MR_FLAGS_ONLY)
		kvmmu_slot_rmap_free(&old->rmap);
	kfree(invalid);
	kfree(old);
	return 0;

out_free:
	if (!old || new->dirty_bitmap != old->dirty_bitmap)
		kvfree(new->dirty_bitmap);
	kfree(invalid);
	kfree(new);
	return r;
}

/**
 * kvmmu_set_memory_region - create, delete, move or re-flag a memslot.
 * @vm: the VM.
 * @mem: the request, already copied from userspace. For the v1 ioctl the
 *       fields beyond struct kvm_userspace_memory_region must be zero.
 * @v1: the request came from KVM_SET_USER_MEMORY_REGION (not ...2).
 *
 * Semantics and errnos are KVM 6.12's, checked in KVM's order:
 *
 * Return:
 * * 0       - done, or @mem equals the existing slot (nothing to do).
 * * -EINVAL - flags outside LOG_DIRTY_PAGES|READONLY (GUEST_MEMFD included);
 *             slot id >= KVMMU_USER_MEM_SLOTS or address space >= 2; size,
 *             GPA or HVA not page aligned; HVA range not user memory; GPA +
 *             size wraps; more than 2^31 - 1 pages; delete of a slot that
 *             does not exist; on an existing slot, a changed HVA, size or
 *             READONLY flag; total pages of the VM would overflow; a
 *             create or move reaching past the host's MAXPHYADDR.
 * * -EEXIST - a create or move would overlap another slot of the same
 *             address space.
 * * -ENOMEM - out of memory; nothing changed.
 */
int kvmmu_set_memory_region(struct kvmmu_vm *vm,
			    const struct kvm_userspace_memory_region2 *mem,
			    bool v1)
{
	int r;

	r = check_region(mem, v1);
	if (r)
		return r;

	mutex_lock(&vm->slots_lock);
	r = __set_memory_region(vm, mem);
	mutex_unlock(&vm->slots_lock);
	return r;
}

/**
 * kvmmu_memslots_init - set up a new VM's empty memslot sets.
 * @vm: the VM, zeroed.
 *
 * Return: 0, or -ENOMEM when the SRCU structure cannot be allocated.
 */
int kvmmu_memslots_init(struct kvmmu_vm *vm)
{
	int as_id, i;

	for (as_id = 0; as_id < KVMMU_ADDRESS_SPACE_NUM; as_id++) {
		for (i = 0; i < 2; i++) {
			struct kvmmu_memslots *set = &vm->__memslots[as_id][i];

			set->gfn_tree = RB_ROOT;
			set->hva_tree = RB_ROOT_CACHED;
			hash_init(set->id_hash);
			set->node_idx = i;
		}
		RCU_INIT_POINTER(vm->memslots[as_id], &vm->__memslots[as_id][0]);
	}
	mutex_init(&vm->slots_lock);
	return init_srcu_struct(&vm->srcu);
}

/**
 * kvmmu_memslots_destroy - free every slot of a VM that nobody can use.
 * @vm: the VM; no reader or updater may run any more.
 */
void kvmmu_memslots_destroy(struct kvmmu_vm *vm)
{
	int as_id, bkt;

	for (as_id = 0; as_id < KVMMU_ADDRESS_SPACE_NUM; as_id++) {
		/* Both sets hold the same slots; free them through one. */
		struct kvmmu_memslots *set;
		int idx;
		struct kvmmu_memory_slot *slot;
		struct hlist_node *tmp;

		set = rcu_dereference_protected(vm->memslots[as_id], true);
		idx = set->node_idx;
		hash_for_each_safe(set->id_hash, bkt, tmp, slot, id_node[idx]) {
			/* The MMU is gone: every SPTE was zapped. */
			kvmmu_slot_rmap_free(&slot->rmap);
			kvfree(slot->dirty_bitmap);
			kfree(slot);
			/* Up to 32K slots: a soft lockup on a debug kernel. */
			cond_resched();
		}
	}
	cleanup_srcu_struct(&vm->srcu);
	mutex_destroy(&vm->slots_lock);
}

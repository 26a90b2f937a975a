// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging: which guest pages were written since the VMM last asked.
 *
 * A slot with KVM_MEM_LOG_DIRTY_PAGES has a bitmap (memslot.c allocates it
 * and keeps it across moves and flags changes). Turning logging on
 * write-protects the slot's leaves through the reverse map (mmu.c); from
 * then on the fault path maps the slot's pages read-only on reads and, on
 * a write fault, sets the page's bit and makes it writable, at 4K, under
 * the MMU lock. Re-arming a page takes its bit out of the log and
 * write-protects it again, under the same lock for write, then flushes the
 * TLBs before the VMM is answered: no page the guest writes is ever
 * missing from a later log. Design and the choices behind it:
 * Documentation/dirty-logging.rst.
 *
 * Two protocols, as in KVM:
 *
 * - Classic: KVM_GET_DIRTY_LOG takes the whole log and re-arms every page
 *   it reports.
 * - Manual (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled with KVM_ENABLE_CAP):
 *   KVM_GET_DIRTY_LOG only copies the log; KVM_CLEAR_DIRTY_LOG re-arms the
 *   pages the VMM names, in 64-page aligned chunks, typically just before
 *   it copies them. With KVM_DIRTY_LOG_INITIALLY_SET a new log starts full
 *   and turning logging on protects nothing: pages are protected as they
 *   are cleared, spreading the cost over the migration.
 *
 * Exclusion rules: vm->slots_lock keeps the slot (and its bitmap) alive
 * across an ioctl and orders ENABLE_CAP against slot creation; the MMU
 * lock orders re-arming against faults.
 */

#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmmu.h"
#include "mmu.h"

/* The slot of a KVM_GET/CLEAR_DIRTY_LOG request, or an ERR_PTR. */
static struct kvmmu_memory_slot *log_slot(struct kvmmu_vm *vm, u32 slot)
{
	struct kvmmu_memory_slot *s;
	int as_id = slot >> 16, id = (u16)slot;

	lockdep_assert_held(&vm->slots_lock);
	s = kvmmu_id_to_memslot(kvmmu_memslots(vm, as_id), id);
	if (!s || !s->dirty_bitmap)
		return ERR_PTR(-ENOENT);
	return s;
}

static bool bad_slot_id(u32 slot)
{
	return (slot >> 16) >= KVMMU_ADDRESS_SPACE_NUM ||
	       (u16)slot >= KVMMU_USER_MEM_SLOTS;
}

/**
 * kvmmu_get_dirty_log - KVM_GET_DIRTY_LOG: copy out a slot's log.
 * @vm: the VM.
 * @argp: user pointer to a struct kvm_dirty_log.
 *
 * Without manual protection the log is taken (reset) and the pages it
 * reports are write-protected again; with it, the log is only copied.
 *
 * Return:
 * * 0       - the log of kvmmu_dirty_bitmap_bytes(npages) bytes was copied to
 *             dirty_bitmap.
 * * -EFAULT - @argp or dirty_bitmap cannot be accessed (without manual
 *             protection the log is lost, as in KVM).
 * * -EINVAL - address space >= 2 or slot id >= 32764.
 * * -ENOENT - no such slot, or it does not log dirty pages.
 * * -ENOMEM - out of memory.
 */
long kvmmu_get_dirty_log(struct kvmmu_vm *vm, void __user *argp)
{
	struct kvmmu_memory_slot *slot;
	struct kvm_dirty_log log;
	unsigned long *buf, bytes;
	long r;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	if (bad_slot_id(log.slot))
		return -EINVAL;

	mutex_lock(&vm->slots_lock);
	slot = log_slot(vm, log.slot);
	r = PTR_ERR(slot);
	if (IS_ERR(slot))
		goto out_unlock;

	bytes = kvmmu_dirty_bitmap_bytes(slot->npages);
	if (vm->manual_dirty_log_protect) {
		/*
		 * Straight from the log: faults set bits in it meanwhile,
		 * atomically, and each bit is copied as it was at some point.
		 */
		r = copy_to_user(log.dirty_bitmap, slot->dirty_bitmap, bytes) ?
		    -EFAULT : 0;
		goto out_unlock;
	}

	r = -ENOMEM;
	buf = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out_unlock;
	kvmmu_mmu_reprotect_dirty(vm, slot, 0, bytes / sizeof(long), buf, true);
	r = copy_to_user(log.dirty_bitmap, buf, bytes) ? -EFAULT : 0;
	kvfree(buf);
out_unlock:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/**
 * kvmmu_clear_dirty_log - KVM_CLEAR_DIRTY_LOG: re-arm pages of a slot's log.
 * @vm: the VM.
 * @argp: user pointer to a struct kvm_clear_dirty_log: slot, first_page,
 *        num_pages, and dirty_bitmap whose bit i names page first_page + i.
 *
 * The named pages that are in the log leave it and are write-protected,
 * so that their next write is logged again. Allowed whether or not manual
 * protection is enabled, as in KVM.
 *
 * Return:
 * * 0       - done (TLBs flushed).
 * * -EFAULT - @argp or dirty_bitmap cannot be read.
 * * -EINVAL - address space >= 2 or slot id >= 32764; first_page not a
 *             multiple of 64; the range not inside the slot; num_pages not
 *             a multiple of 64 unless the range ends at the slot's end.
 * * -ENOENT - no such slot, or it does not log dirty pages.
 * * -ENOMEM - out of memory.
 */
long kvmmu_clear_dirty_log(struct kvmmu_vm *vm, void __user *argp)
{
	struct kvmmu_memory_slot *slot;
	struct kvm_clear_dirty_log log;
	unsigned long *buf, words;
	long r;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	/* KVM's checks, in KVM's order. */
	if (bad_slot_id(log.slot))
		return -EINVAL;
	if (log.first_page & 63)
		return -EINVAL;

	mutex_lock(&vm->slots_lock);
	slot = log_slot(vm, log.slot);
	r = PTR_ERR(slot);
	if (IS_ERR(slot))
		goto out_unlock;
	r = -EINVAL;
	if (log.first_page > slot->npages ||
	    log.num_pages > slot->npages - log.first_page ||
	    (log.num_pages < slot->npages - log.first_page &&
	     (log.num_pages & 63)))
		goto out_unlock;

	words = DIV_ROUND_UP(log.num_pages, BITS_PER_LONG);
	r = 0;
	if (!words)
		goto out_unlock;
	r = -ENOMEM;
	buf = kvmalloc_array(words, sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out_unlock;
	r = -EFAULT;
	if (!copy_from_user(buf, log.dirty_bitmap, words * sizeof(long))) {
		/* Bits past the slot's end are never set in the log. */
		kvmmu_mmu_reprotect_dirty(vm, slot,
					  log.first_page / BITS_PER_LONG,
					  words, buf, false);
		r = 0;
	}
	kvfree(buf);
out_unlock:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/**
 * kvmmu_enable_manual_dirty_log - KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2).
 * @vm: the VM.
 * @cap: the request.
 *
 * args[0] is a set of KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE and
 * KVM_DIRTY_LOG_INITIALLY_SET (the latter only with the former); 0 turns
 * manual protection off again. Affects later KVM_GET_DIRTY_LOG calls and
 * logs allocated afterwards.
 *
 * Return: 0, or -EINVAL for flags or unknown bits in args[0].
 */
int kvmmu_enable_manual_dirty_log(struct kvmmu_vm *vm,
				  const struct kvm_enable_cap *cap)
{
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

	if (cap->args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed = KVMMU_DIRTY_LOG_MANUAL_CAPS;
	if (cap->flags || (cap->args[0] & ~allowed))
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	vm->manual_dirty_log_protect = cap->args[0];
	mutex_unlock(&vm->slots_lock);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging: which guest pages were written since the VMM last asked.
 *
 * A slot with KVM_MEM_LOG_DIRTY_PAGES has a bitmap (memslot.c allocates it
 * and keeps it across moves and flags changes). Turning logging on zaps the
 * slot; from then on the fault path maps its pages read-only on reads and,
 * on a write fault, sets the page's bit and maps it writable, at 4K, under
 * the MMU lock. KVM_GET_DIRTY_LOG takes the bitmap under the same lock for
 * write and zaps the reported pages, so every later write faults and is
 * logged again: no page the guest writes is ever missing from a log.
 *
 * Not yet here: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 and KVM_CLEAR_DIRTY_LOG,
 * write protection instead of zapping, the dirty ring.
 *
 * Exclusion rules: vm->slots_lock keeps the slot (and its bitmap) alive
 * across the harvest; the MMU lock orders it against faults.
 */

#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmmu.h"
#include "mmu.h"

/**
 * kvmmu_get_dirty_log - KVM_GET_DIRTY_LOG: copy out and reset a slot's log.
 * @vm: the VM.
 * @argp: user pointer to a struct kvm_dirty_log.
 *
 * Return:
 * * 0       - the log of kvmmu_dirty_bitmap_bytes(npages) bytes was copied to
 *             dirty_bitmap and the pages it reports write-protected again.
 * * -EFAULT - @argp or dirty_bitmap cannot be accessed (the log is lost,
 *             as in KVM).
 * * -EINVAL - address space >= 2 or slot id >= 32764.
 * * -ENOENT - no such slot, or it does not log dirty pages.
 * * -ENOMEM - out of memory.
 */
long kvmmu_get_dirty_log(struct kvmmu_vm *vm, void __user *argp)
{
	struct kvmmu_memory_slot *slot;
	struct kvm_dirty_log log;
	unsigned long *buf, bytes;
	int as_id, id;
	long r;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	as_id = log.slot >> 16;
	id = (u16)log.slot;
	if (as_id >= KVMMU_ADDRESS_SPACE_NUM || id >= KVMMU_USER_MEM_SLOTS)
		return -EINVAL;

	mutex_lock(&vm->slots_lock);
	slot = kvmmu_id_to_memslot(kvmmu_memslots(vm, as_id), id);
	r = -ENOENT;
	if (!slot || !slot->dirty_bitmap)
		goto out_unlock;

	bytes = kvmmu_dirty_bitmap_bytes(slot->npages);
	r = -ENOMEM;
	buf = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out_unlock;

	kvmmu_mmu_harvest_dirty(vm, slot, buf);
	r = copy_to_user(log.dirty_bitmap, buf, bytes) ? -EFAULT : 0;
	kvfree(buf);
out_unlock:
	mutex_unlock(&vm->slots_lock);
	return r;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim of shadow pages under host memory pressure (tdp=0).
 *
 * Why
 * ---
 * A VM's shadow pages are bounded by its budget (KVM_SET_NR_MMU_PAGES, or
 * 2% of its memslot pages; shadow_mmu.c), but the budget is the VMM's
 * choice and the host may need the memory sooner. KVM registers one
 * shrinker for all VMs (mmu_shrink_count(), mmu_shrink_scan()): the count
 * is every shadow page of every VM, a scan zaps the oldest pages of one VM
 * and moves that VM to the tail of the list, so that the next scan takes
 * another. kvmmu does the same: the pages zapped are rebuilt on the
 * guest's next faults, nothing the guest can see but time.
 *
 * The TDP MMU's tables are not counted: like KVM's TDP MMU, they are
 * freed when the host unmaps what they map (the notifiers), not by the
 * shrinker.
 *
 * Exclusion
 * ---------
 * The count takes no lock: it reads kvmmu_shadow_total_pages, every VM's
 * shadow pages, an atomic kept by shadow.c (KVM's
 * kvm_total_used_mmu_pages, a percpu_counter there).
 *
 * kvmmu_vms_lock (a mutex) guards the list. A VM is on it from the end of
 * its MMU's set-up to the start of its teardown (main.c), so a VM found
 * under the mutex has its MMU. Nothing allocates under the mutex: a
 * shrinker may run from any allocation that enters reclaim, and would
 * then wait for a mutex held by its own caller. The zap only tries the
 * MMU's lock for write (a VM whose lock is busy, e.g. by a long sync, is
 * skipped: KVM waits for it), so the mutex is never held while waiting;
 * it ends with kvmmu_mmu_zap_unlock() (flush before the lock is dropped,
 * pages freed after), as the budget's reclaim does.
 */

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/shrinker.h>

#include "compat.h"
#include "kvmmu.h"
#include "mmu.h"

static LIST_HEAD(kvmmu_vms);
static DEFINE_MUTEX(kvmmu_vms_lock);
static struct shrinker *kvmmu_shrinker;

/**
 * kvmmu_vm_list_add - make a VM's shadow pages reclaimable.
 * @vm: a VM whose MMU is set up (kvmmu_mmu_vm_init() succeeded).
 */
void kvmmu_vm_list_add(struct kvmmu_vm *vm)
{
	mutex_lock(&kvmmu_vms_lock);
	list_add_tail(&vm->vm_list, &kvmmu_vms);
	mutex_unlock(&kvmmu_vms_lock);
}

/**
 * kvmmu_vm_list_del - take a VM off the list before its MMU goes.
 * @vm: the VM; its list entry initialised, on the list or not. When this
 *      returns no shrinker scan touches the VM any more.
 */
void kvmmu_vm_list_del(struct kvmmu_vm *vm)
{
	mutex_lock(&kvmmu_vms_lock);
	list_del_init(&vm->vm_list);
	mutex_unlock(&kvmmu_vms_lock);
}

static unsigned long shrink_count(struct shrinker *shrink,
				  struct shrink_control *sc)
{
	long n = atomic_long_read(&kvmmu_shadow_total_pages);

	return n > 0 ? n : SHRINK_EMPTY;
}

static unsigned long shrink_scan(struct shrinker *shrink,
				 struct shrink_control *sc)
{
	unsigned long freed = SHRINK_STOP;
	struct kvmmu_vm *vm;

	mutex_lock(&kvmmu_vms_lock);
	list_for_each_entry(vm, &kvmmu_vms, vm_list) {
		if (!kvmmu_shadow_nr_pages(vm->mmu))
			continue;
		/* 0: its lock was busy, or only roots in use are left. */
		freed = kvmmu_shadow_reclaim(vm->mmu, sc->nr_to_scan);
		if (!freed)
			continue;
		/* One VM per scan; the next scan starts with another. */
		list_move_tail(&vm->vm_list, &kvmmu_vms);
		break;
	}
	if (!freed)
		freed = SHRINK_STOP;
	mutex_unlock(&kvmmu_vms_lock);
	return freed;
}

/**
 * kvmmu_shrinker_init - register the shrinker of shadow pages.
 *
 * Only under tdp=0: with the NPT there is nothing for it to count.
 *
 * Return: 0 or -ENOMEM.
 */
int kvmmu_shrinker_init(void)
{
	if (kvmmu_tdp)
		return 0;
	kvmmu_shrinker = kvmmu_shrinker_create(shrink_count, shrink_scan,
					       "kvmmu-mmu");
	return kvmmu_shrinker ? 0 : -ENOMEM;
}

/**
 * kvmmu_shrinker_exit - unregister it (no VM is left: module exit).
 */
void kvmmu_shrinker_exit(void)
{
	if (kvmmu_shrinker)
		kvmmu_shrinker_destroy(kvmmu_shrinker);
	kvmmu_shrinker = NULL;
}

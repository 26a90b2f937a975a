/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmu.h - what the rest of kvmmu asks of the MMU.
 *
 * The MMU (mmu.c, next milestone) turns guest physical addresses into host
 * physical ones in nested (NPT/EPT) or shadow page tables. Memslot updates are
 * its main client here: before a slot is deleted or moved, every SPTE that was
 * built from it must be gone, or the guest would keep reaching host pages that
 * no memslot gives it any more.
 *
 * Until the MMU exists no SPTE is ever built, so the hooks below have nothing
 * to zap and are empty. Their call sites in memslot.c are already where the
 * MMU needs them: after the INVALID copy of the slot is published and before
 * the old slot is freed.
 */
#ifndef KVMMU_MMU_H
#define KVMMU_MMU_H

#include "kvmmu.h"

/**
 * kvmmu_mmu_zap_memslot - drop every SPTE built from @slot and flush TLBs.
 * @vm: the VM owning the slot.
 * @slot: the slot being deleted or moved (already invisible to new faults).
 *
 * Called with vm->slots_lock held. May sleep.
 */
static inline void kvmmu_mmu_zap_memslot(struct kvmmu_vm *vm,
					 const struct kvmmu_memory_slot *slot)
{
}

/**
 * kvmmu_mmu_memslot_flags_changed - react to a flags-only memslot update.
 * @vm: the VM owning the slot.
 * @old: the slot before the change.
 * @new: the slot after it, already published.
 *
 * Dirty logging write-protects here. Called with vm->slots_lock held.
 */
static inline void
kvmmu_mmu_memslot_flags_changed(struct kvmmu_vm *vm,
				const struct kvmmu_memory_slot *old,
				const struct kvmmu_memory_slot *new)
{
}

#endif /* KVMMU_MMU_H */

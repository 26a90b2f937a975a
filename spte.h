/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SPTEs: the entries of the tables the MMU builds for the hardware.
 *
 * Every MMU table in kvmmu is an x86-64 style radix table of 512 64-bit
 * entries per 4K page, four levels (KVMMU_ROOT_LEVEL) down to 4K leaves;
 * a present entry is either a leaf (4K at level 1, 2M or 1G with PS) or
 * points to the next table. What the bits of an entry mean is described
 * by a struct kvmmu_spte_format (one per kind of table: the NPT's today,
 * EPT and shadow SPTEs next), from which the MMU builds its entries;
 * readers use the helpers below, which hold for NPT and shadow SPTEs.
 * Nothing here takes a lock: who may change an entry is the MMU's
 * business (mmu.c, Documentation/locking.rst).
 */
#ifndef KVMMU_SPTE_H
#define KVMMU_SPTE_H

#include <linux/bits.h>
#include <linux/types.h>
#include <asm/page.h>
#include <asm/pgtable_types.h>

#include "kvmmu.h"

/*
 * NPT entries are x86-64 long-mode page-table entries. A leaf maps 4K at
 * level 1, 2M at level 2 (PS) or 1G at level 3 (PS); level 4 is the root.
 * Bits 9-11 are ignored by the CPU and are ours.
 */
#define KVMMU_SPTE_PRESENT	BIT_ULL(0)
#define KVMMU_SPTE_WRITABLE_BIT	1
#define KVMMU_SPTE_WRITABLE	BIT_ULL(KVMMU_SPTE_WRITABLE_BIT)
#define KVMMU_SPTE_USER		BIT_ULL(2)
#define KVMMU_SPTE_ACCESSED_BIT	5
#define KVMMU_SPTE_ACCESSED	BIT_ULL(KVMMU_SPTE_ACCESSED_BIT)
#define KVMMU_SPTE_DIRTY	BIT_ULL(6)
#define KVMMU_SPTE_HUGE		BIT_ULL(7)
/* Software: the host page may be written (a write-protected leaf may be
 * made writable again without GUP; for dirty logging).
 */
#define KVMMU_SPTE_HOST_WRITABLE BIT_ULL(9)
#define KVMMU_SPTE_PFN_MASK	GENMASK_ULL(51, 12)
#define KVMMU_SPTE_NX		BIT_ULL(63)
/*
 * Software, never present: an entry a fault under the read lock took out
 * of service to replace it (KVM's FROZEN_SPTE). Other faults that meet it
 * retry; it is gone before the read lock is dropped.
 */
#define KVMMU_SPTE_FROZEN	BIT_ULL(10)

/* Address spaces with an NPT: only 0; SMM (1) is not supported. */
#define KVMMU_NPT_ADDRESS_SPACES	1

#define KVMMU_ROOT_LEVEL	4
#define KVMMU_MAX_HUGE_LEVEL	PG_LEVEL_1G
#define KVMMU_SPTE_PER_TABLE	512
#define KVMMU_LEVEL_SHIFT(l)	(((l) - 1) * 9)
#define KVMMU_PAGES_PER(l)	(1ULL << KVMMU_LEVEL_SHIFT(l))
#define KVMMU_MAX_PHYS_BITS	48

static inline bool kvmmu_spte_present(u64 spte)
{
	return spte & KVMMU_SPTE_PRESENT;
}

/* Whether a present SPTE of a table at @level maps memory (not a table). */
static inline bool kvmmu_spte_is_leaf(u64 spte, int level)
{
	return level == PG_LEVEL_4K || (spte & KVMMU_SPTE_HUGE);
}

static inline u64 kvmmu_spte_pfn(u64 spte)
{
	return (spte & KVMMU_SPTE_PFN_MASK) >> PAGE_SHIFT;
}

/* The index of the entry covering @gfn in a table of @level. */
static inline unsigned int kvmmu_spte_index(gfn_t gfn, int level)
{
	return (gfn >> KVMMU_LEVEL_SHIFT(level)) & (KVMMU_SPTE_PER_TABLE - 1);
}

/* The table a present non-leaf SPTE points to. */
static inline u64 *kvmmu_spte_table(u64 spte)
{
	return __va(spte & KVMMU_SPTE_PFN_MASK);
}

/* What a leaf allows, whatever the format spells (KVM's ACC_*_MASK). */
#define KVMMU_ACC_EXEC		BIT(0)
#define KVMMU_ACC_WRITE		BIT(1)
#define KVMMU_ACC_USER		BIT(2)
#define KVMMU_ACC_ALL		(KVMMU_ACC_EXEC | KVMMU_ACC_WRITE | \
				 KVMMU_ACC_USER)

/**
 * struct kvmmu_spte_format - how one kind of SPTE spells its bits.
 * @name: for messages.
 * @always: set in every present entry, table or leaf.
 * @table: set in a table entry besides @always.
 * @writable: a leaf allows writes.
 * @user: a leaf allows user accesses.
 * @exec: set in a leaf that allows fetches (EPT's X); 0 if @nx is used.
 * @nx: set in a leaf that forbids fetches (NPT and shadow: bit 63).
 * @accessed: A, set by the CPU (or preset by the MMU).
 * @dirty: D, set by the CPU (or preset for a write fault).
 * @huge: PS: a leaf above 4K.
 * @host_writable: software: the host lets the page be written, so a
 *                 write-protected leaf may get write access back without
 *                 asking the host again (dirty logging's fast path).
 * @mmu_writable: software: the MMU itself does not write-protect the
 *                page (a shadow MMU protects the guest's page tables);
 *                0 in a format where nothing is write-tracked.
 * @pfn_mask: where the host frame's address goes.
 *
 * The MMU builds entries from this (kvmmu_make_leaf_spte(), kvmmu_make_table_spte()),
 * so that a second format (EPT, shadow SPTEs with NX and U from the
 * guest's PTEs) is a second table, not a second set of functions, as
 * KVM's shadow_*_mask variables. Reads of an entry still use the NPT's
 * bits (KVMMU_SPTE_*): NPT and shadow SPTEs agree on them; EPT will not.
 */
struct kvmmu_spte_format {
	const char *name;
	u64 always;
	u64 table;
	u64 writable;
	u64 user;
	u64 exec;
	u64 nx;
	u64 accessed;
	u64 dirty;
	u64 huge;
	u64 host_writable;
	u64 mmu_writable;
	u64 pfn_mask;
};

extern const struct kvmmu_spte_format kvmmu_npt_format;

/* A table entry for @table: the permissions are left to the leaves. */
static inline u64 kvmmu_make_table_spte(const struct kvmmu_spte_format *fmt,
					u64 *table)
{
	return (__pa(table) & fmt->pfn_mask) | fmt->always | fmt->table;
}

/*
 * A leaf for @pfn (aligned to the leaf size) allowing @access
 * (KVMMU_ACC_*), A already set since the guest is about to use it, D set
 * if it is about to write. The host page is writable exactly when the
 * leaf is (a read-only leaf of a writable page goes through the slow
 * path on its first write).
 */
static inline u64 kvmmu_make_leaf_spte(const struct kvmmu_spte_format *fmt,
				       u64 pfn, int level, unsigned int access,
				       bool dirty)
{
	u64 spte = fmt->always | fmt->accessed |
		   ((pfn << PAGE_SHIFT) & fmt->pfn_mask);

	if (level > PG_LEVEL_4K)
		spte |= fmt->huge;
	if (access & KVMMU_ACC_USER)
		spte |= fmt->user;
	spte |= access & KVMMU_ACC_EXEC ? fmt->exec : fmt->nx;
	if (access & KVMMU_ACC_WRITE) {
		spte |= fmt->writable | fmt->host_writable | fmt->mmu_writable;
		if (dirty)
			spte |= fmt->dirty;
	}
	return spte;
}

#endif /* KVMMU_SPTE_H */

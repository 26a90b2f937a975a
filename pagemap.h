/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The GPA pagemap's entry format, shared by the module (mmu.c) and the
 * gpa-pagemap tool: plain C, no kernel or libc types, so both can include
 * it.
 *
 * <debugfs>/kvmmu/<pid>-<vmfd>/pagemap holds one little-endian 64-bit
 * entry per guest frame number of address space 0, at offset GFN * 8, the
 * way /proc/<pid>/pagemap holds one per virtual page. Reads must be
 * 8-byte aligned in offset and size (EINVAL otherwise); the file ends at
 * the guest MAXPHYADDR. An entry is a snapshot: the NPT may change right
 * after it is read.
 */
#ifndef KVMMU_PAGEMAP_H
#define KVMMU_PAGEMAP_H

#define KVMMU_PM_BIT(n)		(1ULL << (n))

/* Host frame backing the GFN (the leaf's PFN plus the offset into it). */
#define KVMMU_PM_PFN_MASK	(KVMMU_PM_BIT(52) - 1)
/* Level of the NPT leaf: 0 4K, 1 2M, 2 1G. */
#define KVMMU_PM_LEVEL_SHIFT	52
#define KVMMU_PM_LEVEL_MASK	(3ULL << KVMMU_PM_LEVEL_SHIFT)
#define KVMMU_PM_WRITABLE	KVMMU_PM_BIT(54)	/* the leaf allows writes */
#define KVMMU_PM_ACCESSED	KVMMU_PM_BIT(55)	/* the leaf's A bit */
#define KVMMU_PM_DIRTY		KVMMU_PM_BIT(56)	/* the leaf's D bit */
#define KVMMU_PM_LOGGING	KVMMU_PM_BIT(57)	/* the slot logs dirty pages */
#define KVMMU_PM_LOGGED		KVMMU_PM_BIT(58)	/* the GFN's bit is in the log */
#define KVMMU_PM_SLOT		KVMMU_PM_BIT(62)	/* a usable memslot covers it */
#define KVMMU_PM_PRESENT	KVMMU_PM_BIT(63)	/* an NPT leaf maps the GFN */

#define KVMMU_PM_ENTRY_BYTES	8

#endif /* KVMMU_PAGEMAP_H */

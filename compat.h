/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where kernel-version differences live.
 *
 * kvmmu builds against Debian's stock 6.1 and 6.12 kernels and a debug 6.12
 * tree. Code elsewhere never tests LINUX_VERSION_CODE or the presence of a
 * UAPI symbol; it uses the names defined here instead. Where no macro
 * tells a kernel API apart, Kbuild greps the headers (KVMMU_HAVE_*).
 *
 * Most differences are in the KVM UAPI as the kernel sees it: 6.1's
 * <linux/kvm.h> predates KVM_SET_USER_MEMORY_REGION2 (Linux 6.8), and 6.9
 * renamed a kvm_run field for kernel code. The ABI is fixed, so defining the
 * missing pieces with their upstream values is safe: the ioctl numbers and
 * the struct layout are what a 6.8+ VMM sends, whatever kernel runs us.
 */
#ifndef KVMMU_COMPAT_H
#define KVMMU_COMPAT_H

#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/kvm.h>

#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231

struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};

#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, \
					 struct kvm_userspace_memory_region2)
#endif

/* 6.12: a slot move or delete may zap only that slot (kvm.h, 6.1 lacks it). */
#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL	BIT(7)
#endif

#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#define KVM_X86_DEFAULT_VM 0
#endif

#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD BIT(2)
#endif

/* The binary stats' name size: UAPI since 6.9, kvm_host.h before. */
#ifndef KVM_STATS_NAME_SIZE
#define KVM_STATS_NAME_SIZE 48
#endif

/*
 * struct kvm_run's immediate_exit is called immediate_exit__unsafe inside the
 * kernel since 6.9, to make KVM read it once. The ABI places it in the byte
 * after request_interrupt_window on every version; read it there, once.
 */
static inline u8 kvmmu_run_immediate_exit(struct kvm_run *run)
{
	return READ_ONCE(*(&run->request_interrupt_window + 1));
}

/* DR7's reserved-to-one bit 10: <asm/debugreg.h> names it from 6.12 on. */
#include <asm/debugreg.h>
#ifndef DR7_FIXED_1
#define DR7_FIXED_1	0x00000400
#endif

/*
 * The PFN behind an HVA of a VM_IO or VM_PFNMAP mapping, for the fault
 * path (KVM's hva_to_pfn_remapped()): follow_pte() on 6.1,
 * follow_pfnmap_start() on 6.12. The host PTE is locked while the page,
 * if the kernel refcounts it (kvmmu_refcounted_page()), gets a reference
 * in *@pagep (NULL for none), so it cannot be freed in between. The mmap
 * lock must be held for read.
 *
 * Return: 0 with *@pfn, *@writable and *@pagep set; -EFAULT if the page
 * is being freed; or the walk's error when no PTE is present.
 */
#include <linux/mm.h>

struct page *kvmmu_refcounted_page(unsigned long pfn);

static inline int kvmmu_pfn_ref(unsigned long pfn, struct page **pagep)
{
	struct page *page = kvmmu_refcounted_page(pfn);

	if (page && !get_page_unless_zero(page))
		return -EFAULT;
	*pagep = page;
	return 0;
}

#ifdef KVMMU_HAVE_FOLLOW_PFNMAP	/* Kbuild looks for it */
static inline int kvmmu_follow_pfn(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long *pfn,
				   bool *writable, struct page **pagep)
{
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };
	int r;

	r = follow_pfnmap_start(&args);
	if (r)
		return r;
	*pfn = args.pfn;
	*writable = args.writable;
	r = kvmmu_pfn_ref(args.pfn, pagep);
	follow_pfnmap_end(&args);
	return r;
}
#else
static inline int kvmmu_follow_pfn(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long *pfn,
				   bool *writable, struct page **pagep)
{
	spinlock_t *ptl;	/* the PTE's lock, held from follow_pte() */
	pte_t *ptep;
	pte_t pte;
	int r;

	r = follow_pte(vma->vm_mm, addr, &ptep, &ptl);
	if (r)
		return r;
	__acquire(ptl);		/* for sparse: follow_pte() returns it held */
	pte = ptep_get(ptep);
	*pfn = pte_pfn(pte);
	*writable = pte_write(pte);
	r = kvmmu_pfn_ref(*pfn, pagep);
	pte_unmap_unlock(ptep, ptl);
	return r;
}
#endif

/*
 * One shrinker (shrinker.c): allocated and registered by shrinker_alloc()
 * and shrinker_register() since 6.7, embedded and register_shrinker()ed
 * before. KVM's seeks: DEFAULT_SEEKS * 10, rebuilding a shadow page costs
 * guest exits.
 */
#include <linux/shrinker.h>
#include <linux/slab.h>

typedef unsigned long (*kvmmu_shrink_fn)(struct shrinker *,
					 struct shrink_control *);

#ifdef KVMMU_HAVE_SHRINKER_ALLOC	/* Kbuild looks for it */
static inline struct shrinker *kvmmu_shrinker_create(kvmmu_shrink_fn count,
						     kvmmu_shrink_fn scan,
						     const char *name)
{
	struct shrinker *s = shrinker_alloc(0, "%s", name);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS * 10;
	shrinker_register(s);
	return s;
}

static inline void kvmmu_shrinker_destroy(struct shrinker *s)
{
	shrinker_free(s);
}
#else
static inline struct shrinker *kvmmu_shrinker_create(kvmmu_shrink_fn count,
						     kvmmu_shrink_fn scan,
						     const char *name)
{
	struct shrinker *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS * 10;
	if (register_shrinker(s, "%s", name)) {
		kfree(s);
		return NULL;
	}
	return s;
}

static inline void kvmmu_shrinker_destroy(struct shrinker *s)
{
	unregister_shrinker(s);
	kfree(s);
}
#endif

#endif /* KVMMU_COMPAT_H */

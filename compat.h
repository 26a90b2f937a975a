/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where kernel-version differences live.
 *
 * kvmmu builds against Debian's stock 6.1 and 6.12 kernels and a debug 6.12
 * tree. Code elsewhere never tests LINUX_VERSION_CODE or the presence of a
 * UAPI symbol; it uses the names defined here instead.
 *
 * The differences are in the KVM UAPI as the kernel sees it: 6.1's
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

#endif /* KVMMU_COMPAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPU requests and the VM-wide TLB flush: see vm.c for the rules.
 * kvmmu.h includes this header, so every room sees it.
 */
#ifndef KVMMU_VM_H
#define KVMMU_VM_H

#include <linux/types.h>

struct kvmmu_vm;
struct kvmmu_vcpu;

/* vcpu->mode: whether a kick must interrupt the vCPU. */
enum kvmmu_vcpu_mode {
	KVMMU_OUTSIDE_GUEST_MODE,
	KVMMU_IN_GUEST_MODE,
};

/* vcpu->requests bits, set by any thread, consumed before guest entry. */
#define KVMMU_REQ_TLB_FLUSH	0
/* tdp=0: resync the unsync shadow pages before entry (KVM_REQ_MMU_SYNC). */
#define KVMMU_REQ_MMU_SYNC	1

void kvmmu_make_request(struct kvmmu_vcpu *vcpu, int req);
bool kvmmu_check_request(struct kvmmu_vcpu *vcpu, int req);
void kvmmu_flush_remote_tlbs(struct kvmmu_vm *vm);

#endif /* KVMMU_VM_H */

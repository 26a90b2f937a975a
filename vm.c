// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU requests and the VM-wide TLB flush.
 *
 * What it is
 * ----------
 * A request is a bit in vcpu->requests (KVMMU_REQ_*) that any thread sets
 * for the vCPU to act on before its next guest entry: a vCPU's own thread
 * (a guest CR4 write that drops its TLB) or another one (the MMU, which
 * has changed the NPT). kvmmu_flush_remote_tlbs() makes a request of every
 * vCPU and kicks those in guest mode out of it; it returns only when none
 * can still run on the old translations.
 *
 * Why a file of its own
 * ---------------------
 * The MMU (mmu.c, notifier.c) flushes, and x86.c is the vCPU file above the
 * MMU: the flush lived there, and the MMU called up into it. Requests sit
 * below both, as KVM's kvm_make_all_cpus_request() and
 * kvm_flush_remote_tlbs() sit in virt/kvm/kvm_main.c below arch/x86/kvm.
 * A second MMU and a second vendor backend use them as they are: a backend
 * only has to honour the entry rule below.
 *
 * Exclusion rules
 * ---------------
 * vcpu->requests is changed only with atomic bit operations and vcpu->mode
 * only with READ_ONCE()/WRITE_ONCE(); neither needs vcpu->mutex. Entry and
 * kick pair as in KVM's vcpu_enter_guest() and kvm_make_vcpu_request():
 *
 *   maker (any thread)             vCPU (svm_vcpu_run(), IRQs off)
 *   set_bit(req, requests)         mode = IN_GUEST_MODE
 *   smp_mb__after_atomic()         smp_mb()
 *   read mode: IN_GUEST_MODE?      test_and_clear_bit(req): act on it
 *     IPI vcpu->cpu, wait          VMRUN ... #VMEXIT
 *                                  mode = OUTSIDE_GUEST_MODE, IRQs on
 *
 * Each side writes, then reads what the other wrote, with a full barrier
 * between: at least one sees the other. Either the vCPU sees the request
 * and acts before VMRUN, or the maker sees IN_GUEST_MODE and its IPI forces
 * a #VMEXIT(INTR); the IPI's handler runs only once the vCPU has enabled
 * interrupts after the exit, and the maker waits for it, so when
 * kvmmu_flush_remote_tlbs() returns, every vCPU either is outside guest
 * mode or will check its requests before entering again. The barrier on
 * the maker's side also orders the SPTE changes made before the flush
 * before the read of vcpu->mode, as in kvm_flush_remote_tlbs().
 *
 * The maker never sleeps (mmu->lock and notifier callbacks in atomic
 * context call it) but waits for IPIs, so it must not run with interrupts
 * disabled. It touches only online vCPUs (vm->online_vcpus), as
 * kvm_for_each_vcpu(): a vCPU still being created is not counted yet, and
 * cannot enter the guest before it is (locking.rst, vcpu->mutex).
 *
 * Differences from KVM: no EXITING_GUEST_MODE (two makers may both send an
 * IPI to the same vCPU, which is harmless), no READING_SHADOW_PAGE_TABLES
 * (nothing walks SPTEs locklessly outside the guest), no wake-up of a
 * halted vCPU (HLT exits to the VMM), and one IPI at a time with
 * smp_call_function_single() instead of a CPU mask.
 */

#include <linux/atomic.h>
#include <linux/smp.h>
#include <linux/xarray.h>

#include "kvmmu.h"

/**
 * kvmmu_make_request - ask @vcpu to act on @req before its next entry.
 * @vcpu: the vCPU; any thread may call this.
 * @req: KVMMU_REQ_*.
 *
 * Does not kick a vCPU in guest mode: it sees @req at its next entry.
 * Whatever the caller wrote before is visible to the thread that consumes
 * @req with kvmmu_check_request(), as with KVM's kvm_make_request().
 */
void kvmmu_make_request(struct kvmmu_vcpu *vcpu, int req)
{
	/* Pairs with the full barrier of test_and_clear_bit(). */
	smp_wmb();
	set_bit(req, &vcpu->requests);
}

/**
 * kvmmu_check_request - test and clear a request bit before guest entry.
 * @vcpu: the vCPU, which the caller runs.
 * @req: KVMMU_REQ_*.
 *
 * A fully ordered atomic: called after publishing KVMMU_IN_GUEST_MODE and
 * a barrier, it sees every request whose maker did not see that mode.
 *
 * Return: whether the request was pending.
 */
bool kvmmu_check_request(struct kvmmu_vcpu *vcpu, int req)
{
	return test_and_clear_bit(req, &vcpu->requests);
}

static void ipi_nop(void *unused)
{
}

/*
 * kvm_make_all_cpus_request() for a request that waits: make @req of every
 * online vCPU and wait until each one in guest mode has left it.
 */
static void make_all_cpus_request(struct kvmmu_vm *vm, int req)
{
	int n = atomic_read(&vm->online_vcpus);
	struct kvmmu_vcpu *vcpu;
	unsigned long i;
	int cpu;

	if (!n)
		return;
	/*
	 * Only online vCPUs, as KVM's kvm_for_each_vcpu(): one that
	 * KVM_CREATE_VCPU has published in the xarray but may still free
	 * (no fd could be made) is never touched.
	 */
	xa_for_each_range(&vm->vcpus, i, vcpu, 0, n - 1) {
		kvmmu_make_request(vcpu, req);
		/* Pairs with the barrier after setting IN_GUEST_MODE. */
		smp_mb__after_atomic();
		if (READ_ONCE(vcpu->mode) != KVMMU_IN_GUEST_MODE)
			continue;
		cpu = READ_ONCE(vcpu->cpu);
		if (cpu >= 0 && cpu != raw_smp_processor_id())
			smp_call_function_single(cpu, ipi_nop, NULL, 1);
	}
}

/**
 * kvmmu_flush_remote_tlbs - make every vCPU of @vm drop stale translations.
 * @vm: the VM whose secondary page tables changed.
 *
 * Sets KVMMU_REQ_TLB_FLUSH on every vCPU, then interrupts those in guest
 * mode and waits until each has left it (see the rules at the top of this
 * file), so none can enter with a stale TLB after this returns. Never
 * sleeps (mmu notifiers call it under spinlocks) but waits for the IPIs;
 * not with interrupts disabled.
 */
void kvmmu_flush_remote_tlbs(struct kvmmu_vm *vm)
{
	atomic64_inc(&vm->remote_tlb_flush);
	make_all_cpus_request(vm, KVMMU_REQ_TLB_FLUSH);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one stretch of code that runs a guest on AMD SVM.
 *
 * VMRUN switches only part of the CPU: it loads the guest's RAX, RSP, RIP,
 * RFLAGS, control registers and segments from the VMCB and, on #VMEXIT,
 * restores the host's from the host save area. Everything else is ours:
 *
 *  - the other GPRs, loaded from and saved to an array in x86 encoding order
 *    (index = __VCPU_REGS_*; the RAX and RSP slots are unused);
 *  - FS, GS, TR, LDTR, KERNEL_GS_BASE, STAR/LSTAR/CSTAR/SFMASK and the
 *    SYSENTER MSRs, switched with VMSAVE/VMLOAD: the host's to a per-CPU page
 *    before VMRUN, the guest's from/to its VMCB around it. Until the host's
 *    are loaded back, GS base is the guest's: no per-CPU access, no C code.
 *
 * The caller has cleared GIF (CLGI), so nothing interrupts this sequence;
 * host interrupts that arrive meanwhile end the guest with #VMEXIT(INTR) and
 * are taken once the caller sets GIF again.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/nospec-branch.h>

#define REG(r)	(__VCPU_REGS_##r * 8)

/* Stack slots below the callee-saved registers, see the pushes below. */
#define SLOT_VMCB	0
#define SLOT_REGS	8
#define SLOT_HOST	16

	.text
/**
 * __kvmmu_svm_run - run the guest until the next #VMEXIT
 * @vmcb_pa:	 physical address of the guest's VMCB (RDI)
 * @regs:	 the guest's GPRs, 16 longs indexed by __VCPU_REGS_* (RSI)
 * @host_pa:	 physical address of this CPU's host VMSAVE area (RDX)
 *
 * Called with GIF clear. Returns with the guest's GPRs in @regs and its
 * VMSAVE state in the VMCB, the host's state fully restored.
 */
SYM_FUNC_START(__kvmmu_svm_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdx
	push	%rsi
	push	%rdi

	/* Host state that VMRUN does not switch. */
	mov	%rdx, %rax
	vmsave	%rax

	/* RAX holds the VMCB for VMLOAD and VMRUN; RDI walks @regs. */
	mov	SLOT_VMCB(%rsp), %rax
	mov	SLOT_REGS(%rsp), %rdi
	vmload	%rax

	mov	REG(RCX)(%rdi), %rcx
	mov	REG(RDX)(%rdi), %rdx
	mov	REG(RBX)(%rdi), %rbx
	mov	REG(RBP)(%rdi), %rbp
	mov	REG(RSI)(%rdi), %rsi
	mov	REG(R8)(%rdi), %r8
	mov	REG(R9)(%rdi), %r9
	mov	REG(R10)(%rdi), %r10
	mov	REG(R11)(%rdi), %r11
	mov	REG(R12)(%rdi), %r12
	mov	REG(R13)(%rdi), %r13
	mov	REG(R14)(%rdi), %r14
	mov	REG(R15)(%rdi), %r15
	mov	REG(RDI)(%rdi), %rdi

	vmrun	%rax

	/* #VMEXIT: RAX (the VMCB) and RSP are the host's again. */
	push	%rdi
	mov	SLOT_REGS + 8(%rsp), %rdi
	mov	%rcx, REG(RCX)(%rdi)
	mov	%rdx, REG(RDX)(%rdi)
	mov	%rbx, REG(RBX)(%rdi)
	mov	%rbp, REG(RBP)(%rdi)
	mov	%rsi, REG(RSI)(%rdi)
	mov	%r8, REG(R8)(%rdi)
	mov	%r9, REG(R9)(%rdi)
	mov	%r10, REG(R10)(%rdi)
	mov	%r11, REG(R11)(%rdi)
	mov	%r12, REG(R12)(%rdi)
	mov	%r13, REG(R13)(%rdi)
	mov	%r14, REG(R14)(%rdi)
	mov	%r15, REG(R15)(%rdi)
	popq	REG(RDI)(%rdi)

	vmsave	%rax
	mov	SLOT_HOST(%rsp), %rax
	vmload	%rax

	/* The guest may have poisoned the return stack buffer. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	/*
	 * ... and the return predictors (Retbleed, SRSO), before the first
	 * RET: what __svm_vcpu_run does. UNTRAIN_RET_VM is 6.12's name, which
	 * also issues IBPB on exit where the host asked for it; 6.1 has only
	 * UNTRAIN_RET (a C macro cannot reach this assembly file, so this is
	 * the one version test outside compat.h).
	 */
#ifdef UNTRAIN_RET_VM
	UNTRAIN_RET_VM
#else
	UNTRAIN_RET
#endif

	/* Leave no guest value in a register for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(__kvmmu_svm_run)

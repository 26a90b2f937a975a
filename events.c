// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts, NMIs and exceptions: the VMM's side of event injection.
 *
 * What it is
 * ----------
 * kvmmu has no in-kernel irqchip (KVM_CAP_IRQCHIP is 0), so the VMM runs
 * the PIC, IOAPIC and LAPIC itself, as QEMU does with kernel_irqchip=off,
 * and talks to the vCPU through KVM's userspace-irqchip ABI:
 * - KVM_INTERRUPT queues an external interrupt, delivered on the next entry
 *   (kvm_vcpu_ioctl_interrupt()); the VMM only does so when kvm_run says
 *   ready_for_interrupt_injection.
 * - kvm_run->request_interrupt_window asks for KVM_EXIT_IRQ_WINDOW_OPEN as
 *   soon as the guest can take one (dm_request_for_irq_injection()).
 * - KVM_NMI queues an NMI (kvm_vcpu_ioctl_nmi(), process_nmi()).
 * - if_flag, cr8, apic_base and ready_for_interrupt_injection are written
 *   to kvm_run on every return from KVM_RUN (post_kvm_run_save()).
 * - KVM_GET/SET_VCPU_EVENTS save and restore what is in flight: an
 *   exception or interrupt to (re)inject, pending and injected NMIs, NMI
 *   masking, the interrupt shadow.
 *
 * Design
 * ------
 * The state is vendor-neutral (struct kvmmu_events in the vCPU); the SVM
 * backend turns it into EVENTINJ, V_IRQ and intercepts before each entry
 * and rebuilds it from EXITINTINFO after each exit (svm.c), as
 * kvm_check_and_inject_events() and svm_complete_interrupts() do. So
 * between two KVM_RUNs nothing lives only in the VMCB, and a VMM that saves
 * the vCPU there (migration) loses no event.
 *
 * Exclusion rules
 * ---------------
 * All of it runs under vcpu->mutex (vCPU ioctls, KVM_RUN).
 */

#include <linux/bitops.h>
#include <linux/kvm.h>
#include <linux/uaccess.h>
#include <asm/traps.h>

#include "kvmmu.h"

#define KVMMU_NR_INTERRUPTS	256

#define SHADOW_ANY	(KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS)

/* The flags KVM 6.12 knows; it refuses others. */
#define VCPUEVENT_KNOWN	(KVM_VCPUEVENT_VALID_NMI_PENDING | \
			 KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
			 KVM_VCPUEVENT_VALID_SHADOW | \
			 KVM_VCPUEVENT_VALID_SMM | \
			 KVM_VCPUEVENT_VALID_PAYLOAD | \
			 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PF };

static enum exc_class exception_class(u8 nr)
{
	switch (nr) {
	case X86_TRAP_PF:
		return EXC_PF;
	case X86_TRAP_DE:
	case X86_TRAP_TS:
	case X86_TRAP_NP:
	case X86_TRAP_SS:
	case X86_TRAP_GP:
		return EXC_CONTRIBUTORY;
	default:
		return EXC_BENIGN;
	}
}

/**
 * kvmmu_queue_exception - an exit handler raises an exception in the guest.
 * @vcpu: the vCPU.
 * @nr: the vector (a fault or trap, never 2 or a software exception).
 * @has_err: it pushes an error code.
 * @err: the error code.
 *
 * As kvm_multiple_exception(): on top of one already queued, two
 * contributory ones or a #PF and a non-benign one make a #DF, a fault
 * while delivering #DF shuts the guest down (KVM_EXIT_SHUTDOWN on the next
 * entry), and anything else replaces the old one, which re-executing the
 * instruction raises again.
 */
void kvmmu_queue_exception(struct kvmmu_vcpu *vcpu, u8 nr, bool has_err,
			   u32 err)
{
	struct kvmmu_events *ev = &vcpu->ev;
	enum exc_class c1, c2;

	if (ev->exc_pending || ev->exc_injected) {
		if (ev->exc_nr == X86_TRAP_DF) {
			ev->exc_pending = false;
			ev->exc_injected = false;
			ev->triple_fault = true;
			return;
		}
		c1 = exception_class(ev->exc_nr);
		c2 = exception_class(nr);
		if ((c1 == EXC_CONTRIBUTORY && c2 == EXC_CONTRIBUTORY) ||
		    (c1 == EXC_PF && c2 != EXC_BENIGN)) {
			nr = X86_TRAP_DF;
			has_err = true;
			err = 0;
		}
	}
	ev->exc_injected = false;
	ev->exc_pending = true;
	ev->exc_nr = nr;
	ev->exc_has_err = has_err;
	ev->exc_err = has_err ? err : 0;
}

/**
 * kvmmu_events_reset - nothing in flight, as after RESET or INIT.
 * @vcpu: the vCPU.
 */
void kvmmu_events_reset(struct kvmmu_vcpu *vcpu)
{
	memset(&vcpu->ev, 0, sizeof(vcpu->ev));
}

/**
 * kvmmu_interrupt_allowed - the guest can take an external interrupt now.
 * @vcpu: the vCPU, state in vcpu->regs.
 *
 * svm_interrupt_blocked() without nesting: RFLAGS.IF and no interrupt
 * shadow (GIF is always set for a kvmmu guest).
 *
 * Return: true if an interrupt would be delivered at the next instruction.
 */
bool kvmmu_interrupt_allowed(const struct kvmmu_vcpu *vcpu)
{
	return (vcpu->regs.rflags & X86_EFLAGS_IF) && !vcpu->ev.int_shadow;
}

/**
 * kvmmu_nmi_allowed - the guest can take an NMI now (svm_nmi_blocked()).
 * @vcpu: the vCPU.
 *
 * Return: true if not in an NMI handler and not in an interrupt shadow.
 */
bool kvmmu_nmi_allowed(const struct kvmmu_vcpu *vcpu)
{
	return !vcpu->ev.nmi_masked && !vcpu->ev.int_shadow;
}

/**
 * kvmmu_ready_for_interrupt_injection - what kvm_run says to the VMM.
 * @vcpu: the vCPU.
 *
 * kvm_vcpu_ready_for_interrupt_injection() without an in-kernel LAPIC:
 * the guest can take an interrupt, none is queued already
 * (kvm_cpu_accept_dm_intr()), and no event is half delivered or pending
 * (kvm_event_needs_reinjection(), kvm_is_exception_pending()): the VMM is
 * told "ready" only at an instruction boundary, with nothing that a new
 * interrupt would have to wait behind.
 *
 * Return: true if KVM_INTERRUPT now would be delivered at once.
 */
bool kvmmu_ready_for_interrupt_injection(const struct kvmmu_vcpu *vcpu)
{
	const struct kvmmu_events *ev = &vcpu->ev;

	return kvmmu_interrupt_allowed(vcpu) && !ev->irq_injected &&
	       !ev->exc_pending && !ev->exc_injected && !ev->nmi_injected;
}

/**
 * kvmmu_irq_window_open - whether KVM_RUN ends with KVM_EXIT_IRQ_WINDOW_OPEN.
 * @vcpu: the vCPU, after an exit handled in the kernel.
 *
 * Return: true if the VMM asked for the window and it is open (vcpu_run()).
 */
bool kvmmu_irq_window_open(const struct kvmmu_vcpu *vcpu)
{
	return vcpu->run->request_interrupt_window &&
	       kvmmu_ready_for_interrupt_injection(vcpu);
}

/**
 * kvmmu_post_run_save - fill kvm_run's x86 fields as KVM_RUN returns.
 * @vcpu: the vCPU.
 *
 * post_kvm_run_save(): whatever ended KVM_RUN, even an error.
 */
void kvmmu_post_run_save(struct kvmmu_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(vcpu->regs.rflags & X86_EFLAGS_IF);
	run->cr8 = vcpu->sregs.cr8;
	run->apic_base = vcpu->sregs.apic_base;
	run->ready_for_interrupt_injection =
		kvmmu_ready_for_interrupt_injection(vcpu);
}

/*
 * process_nmi(): x86 holds one NMI pending, but two may arrive while the
 * vCPU is not running: keep two unless one is being handled or injected.
 */
static void add_nmis(struct kvmmu_vcpu *vcpu, unsigned int n)
{
	struct kvmmu_events *ev = &vcpu->ev;
	unsigned int limit = ev->nmi_masked || ev->nmi_injected ? 1 : 2;

	ev->nmi_pending = min(ev->nmi_pending + n, limit);
}

/**
 * kvmmu_sregs_irq_in - KVM_SET_SREGS's interrupt_bitmap, the old way of
 * restoring a queued interrupt (QEMU still fills it).
 * @vcpu: the vCPU, whose sregs were just set.
 *
 * As __set_sregs(): the lowest vector set is queued; the bitmap itself is
 * not kept.
 */
void kvmmu_sregs_irq_in(struct kvmmu_vcpu *vcpu)
{
	unsigned long *bm = (unsigned long *)vcpu->sregs.interrupt_bitmap;
	unsigned long vec;

	vec = find_first_bit(bm, KVMMU_NR_INTERRUPTS);
	if (vec < KVMMU_NR_INTERRUPTS) {
		vcpu->ev.irq_injected = true;
		vcpu->ev.irq_nr = vec;
	}
	memset(vcpu->sregs.interrupt_bitmap, 0,
	       sizeof(vcpu->sregs.interrupt_bitmap));
}

/**
 * kvmmu_sregs_irq_out - KVM_GET_SREGS's interrupt_bitmap.
 * @vcpu: the vCPU.
 * @s: the sregs being returned, bitmap zeroed.
 *
 * As __get_sregs(): the queued external interrupt's bit.
 */
void kvmmu_sregs_irq_out(const struct kvmmu_vcpu *vcpu, struct kvm_sregs *s)
{
	if (vcpu->ev.irq_injected)
		__set_bit(vcpu->ev.irq_nr, (unsigned long *)s->interrupt_bitmap);
}

static long vcpu_interrupt(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_interrupt irq;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (irq.irq >= KVMMU_NR_INTERRUPTS)
		return -EINVAL;
	/* kvm_queue_interrupt(): a second one replaces the first. */
	vcpu->ev.irq_injected = true;
	vcpu->ev.irq_nr = irq.irq;
	return 0;
}

static long get_vcpu_events(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	const struct kvmmu_events *ev = &vcpu->ev;
	struct kvm_vcpu_events e;

	memset(&e, 0, sizeof(e));
	/*
	 * Without KVM_CAP_EXCEPTION_PAYLOAD, pending and injected are one
	 * (kvm_vcpu_ioctl_x86_get_vcpu_events()). Software exceptions and
	 * interrupts are never queued here: see svm_complete_interrupts().
	 */
	e.exception.injected = ev->exc_injected || ev->exc_pending;
	e.exception.nr = ev->exc_nr;
	e.exception.has_error_code = ev->exc_has_err;
	e.exception.error_code = ev->exc_err;
	e.interrupt.injected = ev->irq_injected;
	e.interrupt.nr = ev->irq_nr;
	e.interrupt.shadow = ev->int_shadow;
	e.nmi.injected = ev->nmi_injected;
	e.nmi.pending = ev->nmi_pending;
	e.nmi.masked = ev->nmi_masked;
	/* KVM reports VALID_SMM whether or not it has SMM; smi is all 0. */
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		  KVM_VCPUEVENT_VALID_SMM;
	return copy_to_user(argp, &e, sizeof(e)) ? -EFAULT : 0;
}

/*
 * kvm_vcpu_ioctl_x86_set_vcpu_events(), with the errors of a KVM built
 * without SMM and with KVM_CAP_EXCEPTION_PAYLOAD and
 * KVM_CAP_X86_TRIPLE_FAULT_EVENT never enabled. Unlike KVM, every check
 * comes before the first change: a refused call changes nothing.
 */
static long set_vcpu_events(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvmmu_events *ev = &vcpu->ev;
	struct kvm_vcpu_events e;

	if (copy_from_user(&e, argp, sizeof(e)))
		return -EFAULT;
	if (e.flags & ~VCPUEVENT_KNOWN)
		return -EINVAL;
	if (e.flags & (KVM_VCPUEVENT_VALID_PAYLOAD |
		       KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;
	/* Without the payload capability "pending" is not part of the ABI. */
	e.exception.pending = 0;
	if (e.exception.injected &&
	    (e.exception.nr > 31 || e.exception.nr == X86_TRAP_NMI))
		return -EINVAL;
	if ((e.flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (e.smi.smm || e.smi.pending || e.smi.smm_inside_nmi))
		return -EINVAL;

	ev->exc_pending = false;
	ev->exc_injected = e.exception.injected;
	ev->exc_nr = e.exception.nr;
	ev->exc_has_err = e.exception.has_error_code;
	ev->exc_err = e.exception.error_code;
	/*
	 * A software interrupt (INTn) is not re-injected but re-executed
	 * (svm_complete_interrupts()); KVM never reports one either.
	 */
	ev->irq_injected = e.interrupt.injected && !e.interrupt.soft;
	ev->irq_nr = e.interrupt.nr;
	if (e.flags & KVM_VCPUEVENT_VALID_SHADOW)
		ev->int_shadow = e.interrupt.shadow ? SHADOW_ANY : 0;
	ev->nmi_injected = e.nmi.injected;
	ev->nmi_masked = e.nmi.masked;
	if (e.flags & KVM_VCPUEVENT_VALID_NMI_PENDING) {
		ev->nmi_pending = 0;
		add_nmis(vcpu, e.nmi.pending);
	}
	/* No LAPIC: sipi_vector and latched_init have nowhere to go (KVM). */
	return 0;
}

/**
 * kvmmu_events_ioctl - KVM_INTERRUPT, KVM_NMI, KVM_GET/SET_VCPU_EVENTS.
 * @vcpu: the vCPU, vcpu->mutex held.
 * @ioctl: the ioctl number.
 * @argp: its user argument.
 *
 * Return:
 * * 0 on success.
 * * -EFAULT - @argp cannot be read or written.
 * * -EINVAL - a vector >= 256 (KVM_INTERRUPT); unknown or unsupported
 *   flags, an exception vector above 31 or 2, SMM state
 *   (KVM_SET_VCPU_EVENTS); an ioctl not handled here.
 */
long kvmmu_events_ioctl(struct kvmmu_vcpu *vcpu, unsigned int ioctl,
			void __user *argp)
{
	switch (ioctl) {
	case KVM_INTERRUPT:
		return vcpu_interrupt(vcpu, argp);
	case KVM_NMI:
		add_nmis(vcpu, 1);
		return 0;
	case KVM_GET_VCPU_EVENTS:
		return get_vcpu_events(vcpu, argp);
	case KVM_SET_VCPU_EVENTS:
		return set_vcpu_events(vcpu, argp);
	default:
		return -EINVAL;
	}
}

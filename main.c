// SPDX-License-Identifier: GPL-2.0
/*
 * Module entry, the device node, VM files and ioctl dispatch.
 *
 * Vendor: module init picks the hardware backend once (SVM today, VMX
 * later), lets it check the CPU, and copies its ops into kvmmu_ops, through
 * which every other file calls it (see struct kvmmu_vendor_ops).
 *
 * A VMM opens the device (/dev/kvmmu, or /dev/kvm when built with
 * MODNAME=kvm), checks the API version and capabilities, and creates VMs.
 * Each VM is an anonymous-inode file whose ioctls this file dispatches to the
 * rooms that own them (memslot.c today; the MMU and vCPUs next).
 *
 * Lifetime: the VM file holds a reference on the VM and, through its
 * file_operations owner, on the module, so the module cannot be unloaded
 * while any VM file is open. The VM is freed when its last reference goes:
 * on the last close, which also happens when the owning process exits.
 *
 * Ownership: a VM belongs to the mm that created it. Like KVM, every VM
 * ioctl from another mm fails with -EIO; a forked child that inherited the
 * fd can only close it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/mce.h>

#include "kvmmu.h"
#include "mmu.h"

#ifdef KVMMU_AS_KVM
/*
 * KVM's selftests read this parameter of the module named "kvm" and skip
 * every test when it is missing. kvmmu never forces emulation: it is 0.
 */
static int force_emulation_prefix;
module_param(force_emulation_prefix, int, 0444);
MODULE_PARM_DESC(force_emulation_prefix, "Always 0: kvmmu has no forced emulation");
#define KVMMU_DEV_NAME	"kvm"
#define KVMMU_DEV_MINOR	KVM_MINOR
#else
#define KVMMU_DEV_NAME	"kvmmu"
#define KVMMU_DEV_MINOR	MISC_DYNAMIC_MINOR
#endif

/*
 * Every capability kvmmu reports, with its value. KVM_CHECK_EXTENSION on the
 * device and on a VM reads only this table; anything absent is 0, as KVM
 * answers for capabilities it does not know.
 */
/*
 * The quirks a VMM may disable. Only SLOT_ZAP_ALL: a slot move or delete
 * in kvmmu zaps that slot alone, which is what disabling it asks of KVM;
 * the others concern emulation kvmmu does not have (in-kernel APIC,
 * MWAIT, hypercall patching).
 */
#define KVMMU_SUPPORTED_QUIRKS	KVM_X86_QUIRK_SLOT_ZAP_ALL
/* KVM_MAX_IRQ_ROUTES: what KVM_CAP_IRQ_ROUTING answers on x86. */
#define KVMMU_MAX_IRQ_ROUTES	4096

static const struct {
	long cap;
	int value;
} kvmmu_caps[] = {
	{ KVM_CAP_USER_MEMORY,			1 },
	{ KVM_CAP_USER_MEMORY2,			1 },
	{ KVM_CAP_DESTROY_MEMORY_REGION_WORKS,	1 },
	{ KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,	1 },
	{ KVM_CAP_READONLY_MEM,			1 },
	{ KVM_CAP_CHECK_EXTENSION_VM,		1 },
	{ KVM_CAP_NR_MEMSLOTS,			KVMMU_USER_MEM_SLOTS },
	{ KVM_CAP_MULTI_ADDRESS_SPACE,		KVMMU_ADDRESS_SPACE_NUM },
	{ KVM_CAP_VM_TYPES,			BIT(KVM_X86_DEFAULT_VM) },
	{ KVM_CAP_IMMEDIATE_EXIT,		1 },
	{ KVM_CAP_GET_TSC_KHZ,			1 },
	{ KVM_CAP_EXT_CPUID,			1 },
	{ KVM_CAP_NR_VCPUS,			KVMMU_MAX_VCPUS },
	{ KVM_CAP_MAX_VCPUS,			KVMMU_MAX_VCPUS },
	{ KVM_CAP_MAX_VCPU_ID,			KVMMU_MAX_VCPU_IDS },
	{ KVM_CAP_NOP_IO_DELAY,			1 },
	{ KVM_CAP_SYNC_MMU,			1 },
	{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,	KVMMU_DIRTY_LOG_MANUAL_CAPS },
	{ KVM_CAP_BINARY_STATS_FD,		1 },
	{ KVM_CAP_MP_STATE,			1 },
	{ KVM_CAP_XSAVE,			1 },
	{ KVM_CAP_DEBUGREGS,			1 },
	{ KVM_CAP_SET_TSS_ADDR,			1 },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR,	1 },
	{ KVM_CAP_DISABLE_QUIRKS2,		KVMMU_SUPPORTED_QUIRKS },
	{ KVM_CAP_MCE,				KVMMU_MAX_MCE_BANKS },
	{ KVM_CAP_USER_NMI,			1 },
	{ KVM_CAP_VCPU_EVENTS,			1 },
	{ KVM_CAP_SREGS2,			1 },
	/*
	 * KVM's answer (KVM_MAX_IRQ_ROUTES) with or without an irqchip; QEMU
	 * refuses to start without it. KVM_SET_GSI_ROUTING itself needs an
	 * in-kernel irqchip, so it always fails here as on such a KVM VM.
	 */
	{ KVM_CAP_IRQ_ROUTING,			KVMMU_MAX_IRQ_ROUTES },
};

static long check_extension(long cap)
{
	int i;

	/* The two whose answer depends on the host's XSAVE features. */
	if (cap == KVM_CAP_XSAVE2)
		return kvmmu_xsave2_size();
	if (cap == KVM_CAP_XCRS)
		return boot_cpu_has(X86_FEATURE_XSAVE);
	for (i = 0; i < ARRAY_SIZE(kvmmu_caps); i++) {
		if (kvmmu_caps[i].cap == cap)
			return kvmmu_caps[i].value;
	}
	return 0;
}

/**
 * kvmmu_vm_get - take a reference on a VM.
 * @vm: a VM the caller already holds a reference on.
 */
void kvmmu_vm_get(struct kvmmu_vm *vm)
{
	kref_get(&vm->refcount);
}

static void vm_destroy(struct kref *kref)
{
	struct kvmmu_vm *vm = container_of(kref, struct kvmmu_vm, refcount);

	/* Debugfs first: its removal waits for readers of the VM. */
	kvmmu_debugfs_vm_destroy(vm);
	/* No shrinker scan may reach the MMU torn down below. */
	kvmmu_vm_list_del(vm);
	/*
	 * kvm_destroy_vm()'s order: the mmu notifier goes first, since its
	 * invalidations flush the TLBs of every vCPU; then the vCPUs (which
	 * hold MMU caches); then the NPT; the memslots last, as a notifier
	 * callback in flight reads them until the unregistration returns.
	 */
	kvmmu_mmu_notifier_stop(vm);
	kvmmu_vcpu_destroy_all(vm);
	kvmmu_mmu_vm_destroy(vm);
	kvmmu_memslots_destroy(vm);
	xa_destroy(&vm->vcpus);
	mutex_destroy(&vm->lock);
	mmdrop(vm->mm);
	kfree(vm);
}

/**
 * kvmmu_vm_put - drop a reference on a VM; the last one frees it.
 * @vm: the VM. May sleep.
 */
void kvmmu_vm_put(struct kvmmu_vm *vm)
{
	kref_put(&vm->refcount, vm_destroy);
}

static int vm_set_memory_region(struct kvmmu_vm *vm, unsigned int ioctl,
				void __user *argp)
{
	struct kvm_userspace_memory_region2 mem;
	bool v1 = ioctl == KVM_SET_USER_MEMORY_REGION;
	size_t size;

	BUILD_BUG_ON(offsetof(struct kvm_userspace_memory_region, userspace_addr) !=
		     offsetof(struct kvm_userspace_memory_region2, userspace_addr));

	/* The v1 struct is a prefix of v2; the rest reads as zero. */
	memset(&mem, 0, sizeof(mem));
	size = v1 ? sizeof(struct kvm_userspace_memory_region) : sizeof(mem);
	if (copy_from_user(&mem, argp, size))
		return -EFAULT;

	return kvmmu_set_memory_region(vm, &mem, v1);
}

static int vm_enable_cap(struct kvmmu_vm *vm, void __user *argp)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	switch (cap.cap) {
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return kvmmu_enable_manual_dirty_log(vm, &cap);
	case KVM_CAP_DISABLE_QUIRKS2:
		/* kvm_vm_ioctl_enable_cap(): flags first, then unknown bits. */
		if (cap.flags || (cap.args[0] & ~KVMMU_SUPPORTED_QUIRKS))
			return -EINVAL;
		mutex_lock(&vm->slots_lock);
		vm->disabled_quirks |= cap.args[0];
		mutex_unlock(&vm->slots_lock);
		return 0;
	default:
		/* What KVM says for a capability it cannot enable. */
		return -EINVAL;
	}
}

static long vm_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvmmu_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;

	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2:
		return vm_set_memory_region(vm, ioctl, argp);
	case KVM_CHECK_EXTENSION:
		return check_extension((long)arg);
	case KVM_GET_DIRTY_LOG:
		return kvmmu_get_dirty_log(vm, argp);
	case KVM_CREATE_VCPU:
		return kvmmu_create_vcpu(vm, arg);
	case KVM_GET_TSC_KHZ:
		return kvmmu_tsc_khz();
	case KVM_CREATE_IRQCHIP:
		/* Accepted so VMMs go on; there is no in-kernel APIC yet. */
		return 0;
	case KVM_SET_NR_MMU_PAGES:
		return kvmmu_mmu_set_nr_mmu_pages(vm, arg);
	case KVM_CLEAR_DIRTY_LOG:
		return kvmmu_clear_dirty_log(vm, argp);
	case KVM_GET_STATS_FD:
		return kvmmu_vm_stats_fd(vm);
	case KVM_ENABLE_CAP:
		return vm_enable_cap(vm, argp);
	case KVM_SET_TSS_ADDR:
		return kvmmu_set_tss_addr(arg);
	case KVM_SET_IDENTITY_MAP_ADDR:
		return kvmmu_set_identity_map_addr(vm, argp);
	case KVM_SET_GSI_ROUTING: {
		struct kvm_irq_routing routing;

		/* kvm_vm_ioctl(): the header, then kvm_arch_can_set_irq_routing(). */
		if (copy_from_user(&routing, argp, sizeof(routing)))
			return -EFAULT;
		return -EINVAL;
	}
	case KVM_REINJECT_CONTROL: {
		struct kvm_reinject_control rc;

		/* kvm_arch_vm_ioctl(): the argument, then the PIT, never made. */
		if (copy_from_user(&rc, argp, sizeof(rc)))
			return -EFAULT;
		return -ENXIO;
	}
	case KVM_RESET_DIRTY_RINGS:
		/* kvm_vm_ioctl_reset_dirty_pages() without a dirty ring. */
		return -EINVAL;
	default:
		return -ENOTTY;
	}
}

static int vm_release(struct inode *inode, struct file *filp)
{
	kvmmu_vm_put(filp->private_data);
	return 0;
}

static const struct file_operations vm_fops = {
	.owner		= THIS_MODULE,
	.release	= vm_release,
	.unlocked_ioctl	= vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static int create_vm(unsigned long type)
{
	struct kvmmu_vm *vm;
	struct file *file;
	int fd, r;

	/* KVM's order: the fd first, so a full fd table wins over a bad type. */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;

	/* Only KVM_X86_DEFAULT_VM (0); KVM says -EINVAL to the rest. */
	r = -EINVAL;
	if (type)
		goto err_fd;

	r = -ENOMEM;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		goto err_fd;
	kref_init(&vm->refcount);
	INIT_LIST_HEAD(&vm->vm_list);
	mutex_init(&vm->lock);
	xa_init(&vm->vcpus);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	snprintf(vm->stats_id, sizeof(vm->stats_id), "kvm-%d",
		 task_pid_nr(current));

	r = kvmmu_memslots_init(vm);
	if (r)
		goto err_free;
	r = kvmmu_mmu_vm_init(vm);
	if (r)
		goto err_put;
	kvmmu_vm_list_add(vm);

	file = anon_inode_getfile("kvmmu-vm", &vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto err_put;
	}

	/* Named after the fd, so it must be known; failure is not fatal. */
	kvmmu_debugfs_vm_create(vm, fd);
	fd_install(fd, file);
	return fd;

err_put:
	/* Takes the debugfs, MMU, memslot and mm teardown of a full VM. */
	kvmmu_vm_put(vm);
	goto err_fd;
err_free:
	mmdrop(vm->mm);
	kfree(vm);
err_fd:
	put_unused_fd(fd);
	return r;
}

static long dev_ioctl(struct file *filp, unsigned int ioctl,
		      unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVMMU_API_VERSION;
	case KVM_CREATE_VM:
		return create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return check_extension((long)arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return 2 * PAGE_SIZE;	/* struct kvm_run, PIO data */
	case KVM_GET_SUPPORTED_CPUID:
		return kvmmu_get_supported_cpuid((void __user *)arg);
	case KVM_GET_MSR_INDEX_LIST:
		return kvmmu_get_msr_index_list((void __user *)arg);
	case KVM_X86_GET_MCE_CAP_SUPPORTED: {
		u64 mce_cap = KVMMU_MCE_CAP_SUPPORTED;

		return copy_to_user((void __user *)arg, &mce_cap,
				    sizeof(mce_cap)) ? -EFAULT : 0;
	}
	default:
		/* KVM's answer on x86 to an unknown system ioctl. */
		return -EINVAL;
	}
}

static const struct file_operations dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kvmmu_dev = {
	.minor	= KVMMU_DEV_MINOR,
	.name	= KVMMU_DEV_NAME,
	.fops	= &dev_fops,
};

/* The backend's ops, copied once at init: see kvmmu_vendor_init(). */
struct kvmmu_vendor_ops kvmmu_ops __ro_after_init;

/*
 * kvm_x86_vendor_init(): the backend for this CPU checks and sets up the
 * hardware, refusing with one dmesg line if it cannot run guests; only
 * then are its ops published for every call site, as kvm_ops_update()
 * does. SVM is the only backend; an Intel CPU would pick VMX's table here.
 */
static int __init kvmmu_vendor_init(void)
{
	const struct kvmmu_vendor_ops *ops = &kvmmu_svm_ops;
	int r;

	r = ops->hardware_setup();
	if (r)
		return r;
	kvmmu_ops = *ops;
	return 0;
}

static int __init kvmmu_init(void)
{
	int r;

	r = kvmmu_vendor_init();
	if (r)
		return r;
	r = kvmmu_shrinker_init();
	if (r) {
		kvmmu_ops.hardware_unsetup();
		return r;
	}
	kvmmu_debugfs_init();
	r = misc_register(&kvmmu_dev);
	if (r) {
		pr_err("cannot register /dev/%s: %d\n", KVMMU_DEV_NAME, r);
		kvmmu_debugfs_exit();
		kvmmu_shrinker_exit();
		kvmmu_ops.hardware_unsetup();
		return r;
	}
	return 0;
}

static void __exit kvmmu_exit(void)
{
	misc_deregister(&kvmmu_dev);
	kvmmu_debugfs_exit();
	kvmmu_shrinker_exit();
	kvmmu_ops.hardware_unsetup();
}

module_init(kvmmu_init);
module_exit(kvmmu_exit);

MODULE_DESCRIPTION("kvmmu: a KVM-style x86 MMU with the KVM ioctl ABI");
MODULE_LICENSE("GPL");

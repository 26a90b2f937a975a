// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_STATS_FD: the VM's and each vCPU's counters in KVM's binary
 * stats format.
 *
 * Format (KVM's, Documentation/virt/kvm/api.rst "KVM_GET_STATS_FD"): a
 * read-only file of
 *
 *   struct kvm_stats_header          at 0
 *   id string, KVM_STATS_NAME_SIZE   at id_offset ("kvm-<pid>",
 *                                    "kvm-<pid>/vcpu-<id>")
 *   num_desc descriptors             at desc_offset, each a struct
 *                                    kvm_stats_desc + a name of
 *                                    KVM_STATS_NAME_SIZE bytes
 *   num_desc u64 values              at data_offset
 *
 * read at any offset with pread. Names are KVM's where the meaning is the
 * same (pages_4k, mmu_shadow_zapped, remote_tlb_flush, exits, io_exits,
 * ...); the others are kvmmu's own (faults, fault_retries, invalidations,
 * ...). Each read builds the file afresh: the descriptors are constant, the
 * values a snapshot taken at that read (each counter read atomically, not
 * all together, as in KVM).
 *
 * Lifetime: a stats file holds a reference on the VM, which keeps its
 * vCPUs alive too (they go only with the VM).
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "kvmmu.h"
#include "mmu.h"

/* One statistic: its name and KVM_STATS_TYPE_* (unit none, base 10). */
struct kvmmu_stat {
	const char *name;
	u32 type;
};

#define CUMULATIVE	KVM_STATS_TYPE_CUMULATIVE
#define INSTANT		KVM_STATS_TYPE_INSTANT

/* Order = order of the values filled in by vm_values(). */
static const struct kvmmu_stat vm_stats[] = {
	{ "remote_tlb_flush",	CUMULATIVE },
	{ "pages_4k",		INSTANT },
	{ "pages_2m",		INSTANT },
	{ "pages_1g",		INSTANT },
	{ "mmu_shadow_zapped",	CUMULATIVE },
	{ "faults",		CUMULATIVE },
	{ "fault_retries",	CUMULATIVE },
	{ "mmio_faults",	CUMULATIVE },
	{ "invalidations",	CUMULATIVE },
	{ "zaps",		CUMULATIVE },
	{ "table_pages",	INSTANT },
	{ "pf_fast",		CUMULATIVE },
	{ "mmu_unsync",		INSTANT },
	{ "mmu_pte_write",	CUMULATIVE },
	{ "mmu_pde_zapped",	CUMULATIVE },
	{ "mmu_flooded",	CUMULATIVE },
};

static void vm_values(struct kvmmu_vm *vm, u64 *v)
{
	struct kvmmu_mmu_counters c;

	kvmmu_mmu_read_counters(vm, &c);
	v[0] = atomic64_read(&vm->remote_tlb_flush);
	v[1] = c.leaves[0];
	v[2] = c.leaves[1];
	v[3] = c.leaves[2];
	v[4] = c.zapped;
	v[5] = c.faults;
	v[6] = c.retries;
	v[7] = c.mmio;
	v[8] = c.invalidations;
	v[9] = c.zaps;
	v[10] = c.tables;
	v[11] = c.fast;
	v[12] = c.unsync;
	v[13] = c.pte_write;
	v[14] = c.pde_zapped;
	v[15] = c.flooded;
}

/* Order = order of the fields of struct kvmmu_vcpu_stat. */
static const struct kvmmu_stat vcpu_stats[] = {
	{ "exits",		CUMULATIVE },
	{ "halt_exits",		CUMULATIVE },
	{ "io_exits",		CUMULATIVE },
	{ "mmio_exits",		CUMULATIVE },
	{ "signal_exits",	CUMULATIVE },
	{ "irq_exits",		CUMULATIVE },
	{ "npf_exits",		CUMULATIVE },
};

/*
 * A descriptor in the file: the fixed fields, then the name. Not sizeof:
 * the kernel's view of the struct has the name inline since 6.9.
 */
#define DESC_BYTES	(offsetof(struct kvm_stats_desc, name) + \
			 KVM_STATS_NAME_SIZE)

/*
 * Build the whole file for @id, @stats and @values into a buffer and copy
 * out what [*@pos, *@pos + @size) asks for.
 */
static ssize_t stats_read(const char *id, const struct kvmmu_stat *stats,
			  unsigned int n, const u64 *values, char __user *ubuf,
			  size_t size, loff_t *pos)
{
	struct kvm_stats_header *h;
	size_t len = sizeof(*h) + KVM_STATS_NAME_SIZE + n * DESC_BYTES +
		     n * sizeof(u64);
	struct kvm_stats_desc *d;
	unsigned int i;
	ssize_t r;
	char *buf;

	buf = kzalloc(len, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	h = (struct kvm_stats_header *)buf;
	h->name_size = KVM_STATS_NAME_SIZE;
	h->num_desc = n;
	h->id_offset = sizeof(*h);
	h->desc_offset = h->id_offset + KVM_STATS_NAME_SIZE;
	h->data_offset = h->desc_offset + n * DESC_BYTES;
	strscpy(buf + h->id_offset, id, KVM_STATS_NAME_SIZE);
	for (i = 0; i < n; i++) {
		d = (struct kvm_stats_desc *)(buf + h->desc_offset +
					      i * DESC_BYTES);
		d->flags = stats[i].type | KVM_STATS_UNIT_NONE |
			   KVM_STATS_BASE_POW10;
		d->size = 1;
		d->offset = i * sizeof(u64);
		strscpy(d->name, stats[i].name, KVM_STATS_NAME_SIZE);
	}
	memcpy(buf + h->data_offset, values, n * sizeof(u64));
	r = simple_read_from_buffer(ubuf, size, pos, buf, len);
	kfree(buf);
	return r;
}

static ssize_t vm_stats_read(struct file *file, char __user *ubuf,
			     size_t size, loff_t *pos)
{
	struct kvmmu_vm *vm = file->private_data;
	u64 v[ARRAY_SIZE(vm_stats)];

	vm_values(vm, v);
	return stats_read(vm->stats_id, vm_stats, ARRAY_SIZE(vm_stats), v,
			  ubuf, size, pos);
}

static ssize_t vcpu_stats_read(struct file *file, char __user *ubuf,
			       size_t size, loff_t *pos)
{
	struct kvmmu_vcpu *vcpu = file->private_data;
	const u64 *counters = (const u64 *)&vcpu->stat;
	u64 v[ARRAY_SIZE(vcpu_stats)];
	char id[KVM_STATS_NAME_SIZE];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		v[i] = READ_ONCE(counters[i]);
	snprintf(id, sizeof(id), "%s/vcpu-%u", vcpu->vm->stats_id,
		 vcpu->vcpu_id);
	return stats_read(id, vcpu_stats, ARRAY_SIZE(vcpu_stats), v, ubuf,
			  size, pos);
}

static int vm_stats_release(struct inode *inode, struct file *file)
{
	kvmmu_vm_put(file->private_data);
	return 0;
}

static int vcpu_stats_release(struct inode *inode, struct file *file)
{
	struct kvmmu_vcpu *vcpu = file->private_data;

	kvmmu_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations vm_stats_fops = {
	.owner		= THIS_MODULE,
	.read		= vm_stats_read,
	.release	= vm_stats_release,
	.llseek		= noop_llseek,
};

static const struct file_operations vcpu_stats_fops = {
	.owner		= THIS_MODULE,
	.read		= vcpu_stats_read,
	.release	= vcpu_stats_release,
	.llseek		= noop_llseek,
};

static int stats_fd(struct kvmmu_vm *vm, const char *name,
		    const struct file_operations *fops, void *data)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = anon_inode_getfile(name, fops, data, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	/* Read with pread at any offset, as KVM's. */
	file->f_mode |= FMODE_PREAD;
	kvmmu_vm_get(vm);
	fd_install(fd, file);
	return fd;
}

/**
 * kvmmu_vm_stats_fd - KVM_GET_STATS_FD on a VM.
 * @vm: the VM.
 *
 * Return: a new read-only fd (O_CLOEXEC) holding a VM reference, or
 * -EMFILE/-ENFILE/-ENOMEM.
 */
int kvmmu_vm_stats_fd(struct kvmmu_vm *vm)
{
	return stats_fd(vm, "kvm-vm-stats", &vm_stats_fops, vm);
}

/**
 * kvmmu_vcpu_stats_fd - KVM_GET_STATS_FD on a vCPU.
 * @vcpu: the vCPU.
 *
 * Return: as kvmmu_vm_stats_fd().
 */
int kvmmu_vcpu_stats_fd(struct kvmmu_vcpu *vcpu)
{
	BUILD_BUG_ON(sizeof(struct kvmmu_vcpu_stat) !=
		     ARRAY_SIZE(vcpu_stats) * sizeof(u64));
	return stats_fd(vcpu->vm, "kvm-vcpu-stats", &vcpu_stats_fops, vcpu);
}

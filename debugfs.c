// SPDX-License-Identifier: GPL-2.0
/*
 * Debugfs: what a running VM looks like from the host.
 *
 * /sys/kernel/debug/kvmmu/<pid>-<fd>/ is made for each VM, named like KVM's
 * own debugfs directories after the creating process and the VM's fd.
 *
 *   memslots  one line per slot, in GFN order per address space:
 *             "as id gpa_start-gpa_end hva_start-hva_end flags npages"
 *             with inclusive ranges. It answers "which host virtual address
 *             backs this guest physical address?".
 *
 * Files are created with debugfs_create_file(), whose proxy makes removal
 * wait for running readers, so a reader never sees a freed VM: the VM removes
 * its directory before it frees anything.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>

#include "kvmmu.h"
#include "mmu.h"

static struct dentry *kvmmu_debugfs_root;

static int memslots_show(struct seq_file *m, void *unused)
{
	struct kvmmu_vm *vm = m->private;
	struct kvmmu_memory_slot *slot;
	int as_id, idx;

	seq_puts(m, "as id gpa_start-gpa_end hva_start-hva_end flags npages\n");

	idx = srcu_read_lock(&vm->srcu);
	for (as_id = 0; as_id < KVMMU_ADDRESS_SPACE_NUM; as_id++) {
		struct kvmmu_memslots *slots = kvmmu_memslots(vm, as_id);

		for (slot = kvmmu_memslot_first(slots); slot;
		     slot = kvmmu_memslot_next(slots, slot)) {
			u64 gpa = slot->base_gfn << PAGE_SHIFT;
			u64 bytes = (u64)slot->npages << PAGE_SHIFT;

			seq_printf(m, "%u %u 0x%016llx-0x%016llx 0x%016lx-0x%016lx 0x%x %lu\n",
				   slot->as_id, slot->id, gpa, gpa + bytes - 1,
				   slot->userspace_addr,
				   slot->userspace_addr + (unsigned long)bytes - 1,
				   slot->flags, slot->npages);
		}
	}
	srcu_read_unlock(&vm->srcu, idx);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(memslots);

/**
 * kvmmu_debugfs_init - create /sys/kernel/debug/kvmmu.
 *
 * Debugfs is optional: on failure the VMs simply have no directory.
 */
void kvmmu_debugfs_init(void)
{
	kvmmu_debugfs_root = debugfs_create_dir("kvmmu", NULL);
}

/**
 * kvmmu_debugfs_exit - remove /sys/kernel/debug/kvmmu and what is left in it.
 */
void kvmmu_debugfs_exit(void)
{
	debugfs_remove_recursive(kvmmu_debugfs_root);
}

/**
 * kvmmu_debugfs_vm_create - give a new VM its debugfs directory.
 * @vm: the VM, fully initialised.
 * @fd: the fd the VM file is about to be installed at.
 *
 * A name already in use (a VM of the same process and fd number still held
 * by a forked child) leaves this VM without a directory, as KVM does.
 */
void kvmmu_debugfs_vm_create(struct kvmmu_vm *vm, int fd)
{
	char name[24];	/* "%d-%d" of two ints and a NUL */
	struct dentry *dent;

	if (IS_ERR_OR_NULL(kvmmu_debugfs_root))
		return;

	snprintf(name, sizeof(name), "%d-%d", task_pid_nr(current), fd);
	dent = debugfs_lookup(name, kvmmu_debugfs_root);
	if (dent) {
		pr_warn_ratelimited("debugfs: duplicate directory %s\n", name);
		dput(dent);
		return;
	}

	dent = debugfs_create_dir(name, kvmmu_debugfs_root);
	if (IS_ERR(dent))
		return;
	debugfs_create_file("memslots", 0444, dent, vm, &memslots_fops);
	vm->debugfs_dentry = dent;
	kvmmu_mmu_debugfs_init(vm, dent);
}

/**
 * kvmmu_debugfs_vm_destroy - remove a VM's directory, waiting for readers.
 * @vm: the VM about to be freed.
 */
void kvmmu_debugfs_vm_destroy(struct kvmmu_vm *vm)
{
	debugfs_remove_recursive(vm->debugfs_dentry);
	vm->debugfs_dentry = NULL;
}

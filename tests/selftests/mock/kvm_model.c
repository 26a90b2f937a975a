// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_model - a userspace model of the KVM 6.12 memslot ioctls, linked
 * into memslot_test with -Wl,--wrap=open,--wrap=ioctl,--wrap=close.
 *
 * This machine cannot run KVM, so this is how the tests themselves get
 * debugged: the model follows our reading of virt/kvm/kvm_main.c
 * (kvm_vm_ioctl, kvm_vm_ioctl_set_memory_region,
 * __kvm_set_memory_region, check_memory_region_flags,
 * kvm_get_dirty_log_protect) and x86's kvm_arch_prepare_memory_region.
 * A test that fails against the model has a bug, or the model does;
 * passing here proves nothing about KVM or kvmmu.  Run it as
 * KVMMU_DEV=/mock/kvm KVMMU_STOCK=1 memslot_test_mock.
 *
 * It also serves our debugfs memslots file (fopen, stat and mount are
 * wrapped too), so that without KVMMU_STOCK the debugfs tests can be
 * run against it: -t debugfs_memslots -t debugfs_dir_per_vm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvmmu_util.h"

#define MOCK_PATH	"/mock/kvm"
#define MAX_FDS		1024
#define NR_AS		2
#define NR_USER_SLOTS	32764
#define MAX_NR_PAGES	((1ULL << 31) - 1)
#define USER_PTR_MAX	0x00007fffffffefffULL	/* 4-level paging */
#define MAX_GFN		((1ULL << (40 - 12)) - 1)	/* MAXPHYADDR 40 */
#define PAGE		4096ULL

int __real_open(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long req, ...);
int __real_close(int fd);
FILE *__real_fopen(const char *path, const char *mode);
int __real_stat(const char *path, struct stat *st);
int __real_mount(const char *src, const char *target, const char *type,
		 unsigned long flags, const void *data);

struct slot {
	uint64_t npages;	/* 0: no slot */
	uint64_t base_gfn;
	uint64_t hva;
	uint32_t flags;
};

struct vm {
	pid_t owner;		/* stands for kvm->mm */
	struct slot slots[NR_AS][NR_USER_SLOTS];
};

enum kind { NONE, DEV, VM };

static enum kind kinds[MAX_FDS];
static struct vm *vms[MAX_FDS];

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int fd;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (strcmp(path, MOCK_PATH))
		return __real_open(path, flags, mode);
	fd = __real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
	if (fd >= 0 && fd < MAX_FDS)
		kinds[fd] = DEV;
	return fd;
}

int __wrap_close(int fd)
{
	if (fd >= 0 && fd < MAX_FDS) {
		free(vms[fd]);
		vms[fd] = NULL;
		kinds[fd] = NONE;
	}
	return __real_close(fd);
}

static long fail(int e)
{
	errno = e;
	return -1;
}

/* copy_from_user(): can size bytes at p be read? */
static bool readable(const void *p, size_t size)
{
	int pfd[2];
	ssize_t n;
	char buf[512];

	if (pipe(pfd))
		abort();
	n = write(pfd[1], p, size);
	if (n > 0 && read(pfd[0], buf, sizeof(buf)) < 0)
		abort();
	__real_close(pfd[0]);
	__real_close(pfd[1]);
	return n == (ssize_t)size;
}

static bool access_ok(uint64_t addr, uint64_t size)
{
	uint64_t sum = addr + size;

	return sum <= USER_PTR_MAX + 1 && sum >= addr;
}

static long set_region(struct vm *vm,
		       const struct kvm_userspace_memory_region2 *m)
{
	uint32_t valid = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
	unsigned int as_id = m->slot >> 16, id = (uint16_t)m->slot, i;
	uint64_t npages = m->memory_size >> 12, base = m->guest_phys_addr >> 12;
	struct slot *old;
	bool create;

	if (id >= NR_USER_SLOTS)
		return fail(EINVAL);
	if (m->flags & ~valid)
		return fail(EINVAL);
	if (m->memory_size & (PAGE - 1))
		return fail(EINVAL);
	if (m->guest_phys_addr & (PAGE - 1))
		return fail(EINVAL);
	if ((m->userspace_addr & (PAGE - 1)) ||
	    !access_ok(m->userspace_addr, m->memory_size))
		return fail(EINVAL);
	if (as_id >= NR_AS)
		return fail(EINVAL);
	if (m->guest_phys_addr + m->memory_size < m->guest_phys_addr)
		return fail(EINVAL);
	if (npages > MAX_NR_PAGES)
		return fail(EINVAL);

	old = &vm->slots[as_id][id];
	if (!m->memory_size) {
		if (!old->npages)
			return fail(EINVAL);
		memset(old, 0, sizeof(*old));
		return 0;
	}
	create = !old->npages;
	if (!create) {
		if (m->userspace_addr != old->hva || npages != old->npages ||
		    ((m->flags ^ old->flags) & KVM_MEM_READONLY))
			return fail(EINVAL);
		if (base == old->base_gfn) {
			old->flags = m->flags;
			return 0;
		}
	}
	for (i = 0; i < NR_USER_SLOTS; i++) {
		struct slot *s = &vm->slots[as_id][i];

		if (i == id || !s->npages)
			continue;
		if (base < s->base_gfn + s->npages &&
		    s->base_gfn < base + npages)
			return fail(EEXIST);
	}
	if (base + npages - 1 > MAX_GFN)
		return fail(EINVAL);
	old->npages = npages;
	old->base_gfn = base;
	old->hva = m->userspace_addr;
	old->flags = m->flags;
	return 0;
}

static long vm_ioctl(struct vm *vm, unsigned long req, unsigned long arg)
{
	struct kvm_userspace_memory_region2 m;
	struct kvm_dirty_log log;
	unsigned int as_id, id;
	void *p = (void *)arg;

	if (vm->owner != getpid())
		return fail(EIO);
	switch (req) {
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2: {
		size_t size = req == KVM_SET_USER_MEMORY_REGION ?
			sizeof(struct kvm_userspace_memory_region) : sizeof(m);

		memset(&m, 0, sizeof(m));
		if (!readable(p, size))
			return fail(EFAULT);
		memcpy(&m, p, size);
		if (req == KVM_SET_USER_MEMORY_REGION &&
		    (m.flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)))
			return fail(EINVAL);
		return set_region(vm, &m);
	}
	case KVM_GET_DIRTY_LOG:
		if (!readable(p, sizeof(log)))
			return fail(EFAULT);
		memcpy(&log, p, sizeof(log));
		as_id = log.slot >> 16;
		id = (uint16_t)log.slot;
		if (as_id >= NR_AS || id >= NR_USER_SLOTS)
			return fail(EINVAL);
		if (!(vm->slots[as_id][id].npages) ||
		    !(vm->slots[as_id][id].flags & KVM_MEM_LOG_DIRTY_PAGES))
			return fail(ENOENT);
		return 0;
	case KVM_CREATE_VCPU:
		return fail(ENOTTY);
	case KVM_CHECK_EXTENSION:
		break;
	default:
		return fail(ENOTTY);
	}
	switch ((long)arg) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_USER_MEMORY2:
	case KVM_CAP_READONLY_MEM:
		return 1;
	case KVM_CAP_NR_MEMSLOTS:
		return NR_USER_SLOTS;
	case KVM_CAP_MULTI_ADDRESS_SPACE:
		return NR_AS;
	}
	return 0;
}

static long dev_ioctl(int fd, unsigned long req, unsigned long arg)
{
	int vmfd;

	(void)fd;
	switch (req) {
	case KVM_GET_API_VERSION:
		return arg ? fail(EINVAL) : KVM_API_VERSION;
	case KVM_CHECK_EXTENSION:
		switch ((long)arg) {
		case KVM_CAP_USER_MEMORY:
		case KVM_CAP_USER_MEMORY2:
		case KVM_CAP_READONLY_MEM:
			return 1;
		case KVM_CAP_NR_MEMSLOTS:
			return NR_USER_SLOTS;
		case KVM_CAP_MULTI_ADDRESS_SPACE:
			return NR_AS;
		}
		return 0;
	case KVM_CREATE_VM:
		if (arg)
			return fail(EINVAL);
		vmfd = __real_open("/dev/null", O_RDWR | O_CLOEXEC);
		if (vmfd < 0 || vmfd >= MAX_FDS)
			return fail(EMFILE);
		vms[vmfd] = calloc(1, sizeof(struct vm));
		if (!vms[vmfd])
			return fail(ENOMEM);
		vms[vmfd]->owner = getpid();
		kinds[vmfd] = VM;
		return vmfd;
	case KVM_GET_VCPU_MMAP_SIZE:
		return 3 * PAGE;
	}
	return fail(ENOTTY);
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (fd < 0 || fd >= MAX_FDS || kinds[fd] == NONE)
		return __real_ioctl(fd, req, arg);
	if (kinds[fd] == DEV)
		return dev_ioctl(fd, req, arg);
	return vm_ioctl(vms[fd], req, arg);
}

#define DEBUGFS_VMS	"/sys/kernel/debug/kvmmu/"

/* "<pid>-<fd>[/memslots|/shadow_pages]" of a live VM: its fd, else -1. */
static int debugfs_vm(const char *path, bool *file)
{
	int pid, fd, n = 0;

	if (strncmp(path, DEBUGFS_VMS, strlen(DEBUGFS_VMS)))
		return -1;
	path += strlen(DEBUGFS_VMS);
	if (sscanf(path, "%d-%d%n", &pid, &fd, &n) != 2)
		return -1;
	if (strcmp(path + n, "") && strcmp(path + n, "/memslots") &&
	    strcmp(path + n, "/shadow_pages"))
		return -1;
	*file = path[n];
	if (fd < 0 || fd >= MAX_FDS || kinds[fd] != VM ||
	    vms[fd]->owner != pid)
		return -1;
	return fd;
}

static size_t slot_line(char *buf, size_t len, unsigned int as_id,
			unsigned int id, const struct slot *s)
{
	unsigned long long gpa = s->base_gfn * PAGE, bytes = s->npages * PAGE;
	int n;

	if (!s->npages || len < 200)
		return 0;
	n = snprintf(buf, len,
		     "%u %u 0x%016llx-0x%016llx 0x%016llx-0x%016llx 0x%x %llu\n",
		     as_id, id, gpa, gpa + bytes - 1,
		     (unsigned long long)s->hva,
		     (unsigned long long)s->hva + bytes - 1, s->flags,
		     (unsigned long long)s->npages);
	return n;
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
	static char buf[1 << 16];
	unsigned int as_id, id;
	size_t len = 0;
	bool file;
	int fd = debugfs_vm(path, &file);

	if (strncmp(path, DEBUGFS_VMS, strlen(DEBUGFS_VMS)))
		return __real_fopen(path, mode);
	if (fd < 0 || !file) {
		errno = ENOENT;
		return NULL;
	}
	/* The model has no MMU: no shadow pages, as kvmmu with TDP. */
	if (strstr(path, "/shadow_pages")) {
		static char header[] = KVMMU_SP_HEADER;

		return fmemopen(header, strlen(header), "r");
	}
	len += snprintf(buf, sizeof(buf), "as id gpa hva flags npages\n");
	for (as_id = 0; as_id < NR_AS; as_id++)
		for (id = 0; id < NR_USER_SLOTS; id++)
			len += slot_line(buf + len, sizeof(buf) - len,
					 as_id, id, &vms[fd]->slots[as_id][id]);
	return fmemopen(buf, len, "r");
}

int __wrap_stat(const char *path, struct stat *st)
{
	bool file;

	if (strncmp(path, DEBUGFS_VMS, strlen(DEBUGFS_VMS) - 1))
		return __real_stat(path, st);
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, DEBUGFS_VMS) ||
	    !strncmp(path, DEBUGFS_VMS, strlen(path)) ||
	    debugfs_vm(path, &file) >= 0)
		return 0;
	errno = ENOENT;
	return -1;
}

int __wrap_mount(const char *src, const char *target, const char *type,
		 unsigned long flags, const void *data)
{
	if (!strcmp(target, "/sys/kernel/debug"))
		return 0;
	return __real_mount(src, target, type, flags, data);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the kvmmu userspace tests.
 *
 * The same binaries run against stock KVM (the control) and against our
 * module, so everything here speaks only the KVM ioctl ABI of Linux 6.12
 * and reports failures as -errno, which lets the tests assert the exact
 * errno KVM returns.  Environment:
 *
 *   KVMMU_DEV     device to open (default /dev/kvmmu)
 *   KVMMU_MODULE  name our module was loaded under: kvmmu or kvm
 *                 (default kvmmu); used for delete_module() only
 *   KVMMU_STOCK   "1" when KVMMU_DEV is stock KVM: tests about our module
 *                 itself (debugfs, module refcount) skip
 *
 * Our debugfs root is /sys/kernel/debug/kvmmu whatever the module name.
 */
#ifndef KVMMU_UTIL_H
#define KVMMU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/kvm.h>

#define KVMMU_PAGE_SIZE		4096UL
#define KVMMU_DEFAULT_DEV	"/dev/kvmmu"
#define KVMMU_DEFAULT_MODULE	"kvmmu"
#define KVMMU_DEBUGFS		"/sys/kernel/debug"
#define KVMMU_DEBUGFS_ROOT	KVMMU_DEBUGFS "/kvmmu"

/*
 * Numbers of KVM 6.12 on x86_64, with their sources in KVM:
 * KVM_USER_MEM_SLOTS = SHRT_MAX - KVM_INTERNAL_MEM_SLOTS (3),
 * KVM_MEM_MAX_NR_PAGES = 2^31 - 1, KVM_MAX_NR_ADDRESS_SPACES = 2 (SMM).
 */
#define KVM612_USER_MEM_SLOTS		32764
#define KVM612_MEM_MAX_NR_PAGES		((1ULL << 31) - 1)
#define KVM612_NR_ADDRESS_SPACES	2

const char *kvmmu_dev_path(void);
const char *kvmmu_module_name(void);
bool kvmmu_is_stock(void);

/* ioctl() returning its result, or -errno on failure. */
long kvmmu_ioctl(int fd, unsigned long req, unsigned long arg);

/* Opens kvmmu_dev_path() O_RDWR|O_CLOEXEC: fd or -errno. */
int kvmmu_open_dev(void);
int kvmmu_check_extension(int fd, long cap);
int kvmmu_create_vm(int devfd, unsigned long type);
/*
 * KVM_GET_SUPPORTED_CPUID into a buffer grown until it fits (E2BIG):
 * a calloc()ed struct for the caller to free, or NULL with errno set.
 */
struct kvm_cpuid2 *kvmmu_supported_cpuid(int devfd);

static inline uint32_t kvmmu_slot(uint16_t as_id, uint16_t id)
{
	return (uint32_t)as_id << 16 | id;
}

/* KVM_SET_USER_MEMORY_REGION: 0 or -errno. */
int kvmmu_set_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
		     uint64_t size, uint64_t hva);
/* KVM_SET_USER_MEMORY_REGION2 with guest_memfd fields zero: 0 or -errno. */
int kvmmu_set_region2(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
		      uint64_t size, uint64_t hva);
/* size 0 through KVM_SET_USER_MEMORY_REGION. */
int kvmmu_delete_region(int vmfd, uint32_t slot);
/* KVM_GET_DIRTY_LOG into a buffer big enough for npages: 0 or -errno. */
int kvmmu_get_dirty_log(int vmfd, uint32_t slot, uint64_t npages);

/* Anonymous private read-write pages, NULL on failure. */
void *kvmmu_alloc(size_t bytes);
/* An address range that is page aligned, user space and not mapped. */
uint64_t kvmmu_unmapped_hva(size_t bytes);

/* One line of <debugfs>/kvmmu/<pid>-<vmfd>/memslots. */
struct kvmmu_slot_info {
	unsigned int as_id;
	unsigned int id;
	uint64_t gpa_start;	/* inclusive */
	uint64_t gpa_end;	/* inclusive */
	uint64_t hva_start;	/* inclusive */
	uint64_t hva_end;	/* inclusive */
	uint32_t flags;
	uint64_t npages;
};

/* Makes sure debugfs is mounted; 0 or -errno. */
int kvmmu_mount_debugfs(void);
void kvmmu_vm_debugfs_dir(char *buf, size_t len, pid_t pid, int vmfd);
/*
 * Parses the memslots file of VM (pid, vmfd): number of slots (at most
 * max are stored), -errno when the file cannot be read, -EPROTO when a
 * line does not follow the format (the line is printed on stderr).
 */
int kvmmu_read_memslots(pid_t pid, int vmfd, struct kvmmu_slot_info *out,
			int max);
/* Strict parser of one slot line; 0 or -EPROTO.  Exposed for tests. */
int kvmmu_parse_slot_line(const char *line, struct kvmmu_slot_info *s);

/*
 * <debugfs>/kvmmu/<pid>-<vmfd>/shadow_pages: this header, then one line
 * per shadow page (Documentation/mmu.rst); only the header under tdp=1.
 */
#define KVMMU_SP_HEADER	"gfn role level direct quadrant access gpte4 " \
			"cr0_wp efer_nx smep_andnot_wp smap_andnot_wp " \
			"pae_root invalid roots parents sptes unsync\n"

/* One line of shadow_pages; @access is "uwx" with '-' for what is not. */
struct kvmmu_sp_info {
	uint64_t gfn;
	uint32_t role;
	unsigned int level, direct, quadrant;
	char access[4];
	unsigned int gpte4, cr0_wp, efer_nx, smep_andnot_wp, smap_andnot_wp;
	unsigned int pae_root, invalid;
	int roots;
	unsigned int parents, sptes, unsync;
};

/*
 * Reads the shadow_pages file of VM @vmfd of this process: the number of
 * pages (at most @max stored), -errno when the file cannot be read,
 * -EPROTO for a wrong header or a line not of the format (printed on
 * stderr).
 */
int kvmmu_read_shadow_pages(int vmfd, struct kvmmu_sp_info *out, int max);

/* Whether /proc/modules lists module name. */
bool kvmmu_module_loaded(const char *name);

/* Write @v to the (sysfs, proc, debugfs, tracefs) file @path: 0 or -errno. */
int kvmmu_write_file(const char *path, const char *v);

/* The decimal number at the start of file @path, or -1. */
long kvmmu_read_long(const char *path);

/*
 * Whether the MMU under test is the shadow one: 1 when stock kvm_amd's
 * npt or the module's tdp parameter says N or 0, 0 when it says otherwise,
 * -1 when it cannot be read.
 */
int kvmmu_shadow_mode(void);

/* /sys/module/<kvmmu_module_name()>/refcnt, or -1. */
long kvmmu_module_refcnt(void);
/*
 * Wait up to 5 s for that refcount to return to @ref0 (the last fput of
 * an exiting task or of a closing vCPU may still be in flight); the last
 * value read.
 */
long kvmmu_module_refcnt_back_to(long ref0);

#endif /* KVMMU_UTIL_H */

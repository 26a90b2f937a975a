// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the kvmmu userspace tests: device and VM setup,
 * memslot ioctls returning -errno so tests can assert KVM's exact errno,
 * and a strict parser of our debugfs memslots file.  See kvmmu_util.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "kvmmu_util.h"

#define DEBUGFS_MAGIC	0x64626720

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

const char *kvmmu_dev_path(void)
{
	return env_or("KVMMU_DEV", KVMMU_DEFAULT_DEV);
}

const char *kvmmu_module_name(void)
{
	return env_or("KVMMU_MODULE", KVMMU_DEFAULT_MODULE);
}

bool kvmmu_is_stock(void)
{
	return !strcmp(env_or("KVMMU_STOCK", "0"), "1");
}

long kvmmu_ioctl(int fd, unsigned long req, unsigned long arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

int kvmmu_open_dev(void)
{
	int fd = open(kvmmu_dev_path(), O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int kvmmu_check_extension(int fd, long cap)
{
	return kvmmu_ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

int kvmmu_create_vm(int devfd, unsigned long type)
{
	return kvmmu_ioctl(devfd, KVM_CREATE_VM, type);
}

struct kvm_cpuid2 *kvmmu_supported_cpuid(int devfd)
{
	struct kvm_cpuid2 *c = NULL;
	long r = -E2BIG;
	int nent;

	for (nent = 64; nent <= 4096 && r == -E2BIG; nent *= 2) {
		free(c);
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = nent;
		r = kvmmu_ioctl(devfd, KVM_GET_SUPPORTED_CPUID, (unsigned long)c);
	}
	if (r) {
		free(c);
		errno = (int)-r;
		return NULL;
	}
	return c;
}

int kvmmu_set_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
		     uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return kvmmu_ioctl(vmfd, KVM_SET_USER_MEMORY_REGION,
			   (unsigned long)&r);
}

int kvmmu_set_region2(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
		      uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return kvmmu_ioctl(vmfd, KVM_SET_USER_MEMORY_REGION2,
			   (unsigned long)&r);
}

int kvmmu_delete_region(int vmfd, uint32_t slot)
{
	return kvmmu_set_region(vmfd, slot, 0, 0, 0, 0);
}

int kvmmu_get_dirty_log(int vmfd, uint32_t slot, uint64_t npages)
{
	struct kvm_dirty_log log = { .slot = slot };
	size_t bytes = (npages + 63) / 64 * 8;
	void *bitmap = calloc(1, bytes ? bytes : 8);
	int r;

	if (!bitmap)
		return -ENOMEM;
	log.dirty_bitmap = bitmap;
	r = kvmmu_ioctl(vmfd, KVM_GET_DIRTY_LOG, (unsigned long)&log);
	free(bitmap);
	return r;
}

void *kvmmu_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

uint64_t kvmmu_unmapped_hva(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return 0;
	munmap(p, bytes);
	return (uint64_t)(unsigned long)p;
}

int kvmmu_mount_debugfs(void)
{
	struct statfs st;

	if (!statfs(KVMMU_DEBUGFS, &st) && st.f_type == DEBUGFS_MAGIC)
		return 0;
	if (mount("debugfs", KVMMU_DEBUGFS, "debugfs", 0, NULL))
		return -errno;
	return 0;
}

void kvmmu_vm_debugfs_dir(char *buf, size_t len, pid_t pid, int vmfd)
{
	snprintf(buf, len, KVMMU_DEBUGFS_ROOT "/%d-%d", (int)pid, vmfd);
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool all_xdigits(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "0x" + 16 hex digits + "-0x" + 16 hex digits */
static bool parse_range(const char *t, size_t n, uint64_t *lo, uint64_t *hi)
{
	if (n != 37 || strncmp(t, "0x", 2) || !all_xdigits(t + 2, 16) ||
	    strncmp(t + 18, "-0x", 3) || !all_xdigits(t + 21, 16))
		return false;
	*lo = strtoull(t + 2, NULL, 16);
	*hi = strtoull(t + 21, NULL, 16);
	return true;
}

int kvmmu_parse_slot_line(const char *line, struct kvmmu_slot_info *s)
{
	const char *tok[7];
	size_t len[7];
	const char *p = line;
	int n = 0;

	while (*p && *p != '\n') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		if (n == 7)
			return -EPROTO;
		tok[n] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		len[n] = p - tok[n];
		n++;
	}
	if (n != 6)
		return -EPROTO;
	if (!all_digits(tok[0], len[0]) || !all_digits(tok[1], len[1]) ||
	    !all_digits(tok[5], len[5]))
		return -EPROTO;
	if (len[4] < 3 || strncmp(tok[4], "0x", 2) ||
	    !all_xdigits(tok[4] + 2, len[4] - 2))
		return -EPROTO;
	if (!parse_range(tok[2], len[2], &s->gpa_start, &s->gpa_end) ||
	    !parse_range(tok[3], len[3], &s->hva_start, &s->hva_end))
		return -EPROTO;
	s->as_id = strtoul(tok[0], NULL, 10);
	s->id = strtoul(tok[1], NULL, 10);
	s->flags = strtoul(tok[4] + 2, NULL, 16);
	s->npages = strtoull(tok[5], NULL, 10);
	return 0;
}

/* One shadow_pages line: 17 fields, nothing after them; 0 or -EPROTO. */
static int parse_sp_line(const char *line, struct kvmmu_sp_info *p)
{
	unsigned long long gfn;
	unsigned int role;
	int end = -1;

	if (sscanf(line, "0x%llx 0x%x %u %u %u %3[-uwx] %u %u %u %u %u %u %u %d %u %u %u%n",
		   &gfn, &role, &p->level, &p->direct, &p->quadrant,
		   p->access, &p->gpte4, &p->cr0_wp, &p->efer_nx,
		   &p->smep_andnot_wp, &p->smap_andnot_wp, &p->pae_root,
		   &p->invalid, &p->roots, &p->parents, &p->sptes, &p->unsync,
		   &end) != 17 || end < 0)
		return -EPROTO;
	if (strcmp(line + end, "\n") || strlen(p->access) != 3)
		return -EPROTO;
	p->gfn = gfn;
	p->role = role;
	return 0;
}

int kvmmu_read_shadow_pages(int vmfd, struct kvmmu_sp_info *out, int max)
{
	struct kvmmu_sp_info tmp;
	char path[128], *line = NULL;
	size_t cap = 0;
	int n = 0, r = 0;
	bool header = true;
	FILE *f;

	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, getpid(), vmfd);
	strcat(path, "/shadow_pages");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (header) {
			header = false;
			if (strcmp(line, KVMMU_SP_HEADER)) {
				fprintf(stderr, "# %s: bad header: %s",
					path, line);
				r = -EPROTO;
				break;
			}
			continue;
		}
		if (parse_sp_line(line, &tmp)) {
			fprintf(stderr, "# %s: bad line: %s", path, line);
			r = -EPROTO;
			break;
		}
		if (n < max)
			out[n] = tmp;
		n++;
	}
	if (!r && header) {
		fprintf(stderr, "# %s: empty file, no header\n", path);
		r = -EPROTO;
	}
	free(line);
	fclose(f);
	return r ? r : n;
}

int kvmmu_read_memslots(pid_t pid, int vmfd, struct kvmmu_slot_info *out,
			int max)
{
	struct kvmmu_slot_info tmp;
	char path[128], *line = NULL;
	size_t cap = 0;
	int n = 0, r = 0;
	bool header = true;
	FILE *f;

	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, pid, vmfd);
	strcat(path, "/memslots");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (header) {
			/* A header is required, and is not a slot line. */
			header = false;
			if (!kvmmu_parse_slot_line(line, &tmp)) {
				fprintf(stderr, "# %s: no header line: %s",
					path, line);
				r = -EPROTO;
				break;
			}
			continue;
		}
		if (kvmmu_parse_slot_line(line, &tmp)) {
			fprintf(stderr, "# %s: bad line: %s", path, line);
			r = -EPROTO;
			break;
		}
		if (n < max)
			out[n] = tmp;
		n++;
	}
	if (!r && header) {
		fprintf(stderr, "# %s: empty file, no header\n", path);
		r = -EPROTO;
	}
	free(line);
	fclose(f);
	return r ? r : n;
}

bool kvmmu_module_loaded(const char *name)
{
	char *line = NULL;
	size_t cap = 0, len = strlen(name);
	bool found = false;
	FILE *f = fopen("/proc/modules", "re");

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = !strncmp(line, name, len) && line[len] == ' ';
	free(line);
	fclose(f);
	return found;
}

int kvmmu_write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) != (ssize_t)strlen(v))
		r = -errno;
	close(fd);
	return r;
}

long kvmmu_read_long(const char *path)
{
	char s[64] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(s, sizeof(s), f))
		s[0] = 0;
	fclose(f);
	return s[0] ? strtol(s, NULL, 10) : -1;
}

int kvmmu_shadow_mode(void)
{
	char path[128], c = 0;
	int fd;

	if (kvmmu_is_stock())
		snprintf(path, sizeof(path), "/sys/module/kvm_amd/parameters/npt");
	else
		snprintf(path, sizeof(path), "/sys/module/%s/parameters/tdp",
			 kvmmu_module_name());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'N' || c == '0';
}

long kvmmu_module_refcnt(void)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt",
		 kvmmu_module_name());
	return kvmmu_read_long(path);
}

long kvmmu_module_refcnt_back_to(long ref0)
{
	long ref = kvmmu_module_refcnt();
	int i;

	for (i = 0; i < 50 && ref != ref0; i++) {
		usleep(100000);
		ref = kvmmu_module_refcnt();
	}
	return ref;
}

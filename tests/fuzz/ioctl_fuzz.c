// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl_fuzz - a bounded, seeded fuzzer of the KVM ioctl ABI and of the
 * guest, for kvmmu (and stock KVM, to check the fuzzer itself).
 *
 *   ioctl_fuzz [-s seed]... [-n calls] [-g guests] [-p phases]
 *              [-r record | -c record]
 *
 * Each seed runs in a child process of its own, with a fresh VM.
 * -p picks the phases (digits, default 123). Phases 1 and 2 are
 * reproducible from the seed:
 *
 * 1. ioctls: @calls calls, each an ioctl picked from every one the system,
 *    VM, vCPU and stats fds know (plus random numbers), on a random fd of
 *    those, with an argument that is a boundary value or a pointer from a
 *    pool: NULL, unaligned, unmapped, read-only, a kernel address, spanning
 *    the end of a mapping, or a valid buffer of random or boundary bytes.
 *    Between them: memslots created, moved and deleted; vCPU fds closed and
 *    re-created; the kvm_run page mmapped at random offsets and lengths,
 *    and scribbled on; KVM_RUN with random registers.
 * 2. guests: @guests random guests of 4 KiB of random bytes in real mode,
 *    32-bit protected mode and 64-bit long mode (identity-mapped by 1 GiB
 *    pages): everything above the 256 KiB slot is MMIO, and a read-only
 *    slot comes and goes between runs. Each KVM_RUN is cut after 20 ms by
 *    a signal; every one must return (an exit or an errno).
 *
 * 3. chaos: as many random guests again, while a second thread changes
 *    memslots (the guest's own RAM slot moved away and back, slots created,
 *    re-flagged and deleted over its GPAs), discards guest pages
 *    (MADV_DONTNEED: notifier invalidations), reads dirty logs, forks (the
 *    child's ioctls must fail EIO) and at last closes the running vCPU's
 *    fd. Seeded too, but two threads: the interleaving is not
 *    reproducible.
 *
 * What it checks:
 *  - the host survives: the harness fails the run on any kernel report
 *    (KASAN, lockdep, WARN, ...) on the console;
 *  - no ioctl gives an errno outside the set KVM gives (a kernel errno
 *    leaking out, such as ERESTARTSYS), and every KVM_RUN returns;
 *  - the guests ran: each phase counts its exits by KVM_EXIT_* reason
 *    ("# seed S phase P exits: reason=count ...") and fails with none;
 *  - phase 1 does what KVM does (the differential pass): -r <file> writes
 *    the result of every call (-errno, or the return value; fd numbers
 *    and KVM_RUN's 0-or-EINTR, which is the timer's, are not compared)
 *    to <file>.<seed>; -c <file> compares each call, errno by errno,
 *    with such a record and fails the phase on any difference, printing
 *    the first ones. The harness records against stock kvm_amd
 *    (control.fuzz, phases 1 and 2) and compares on kvmmu (kvmmu.fuzz).
 * Prints "calls N guests N exits N" and TAP, a test per seed and phase.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvmmu_util.h"

#define PG		4096UL
#define NR_VCPUS	2
#define GUEST_MEM	(64 * PG)
#define RO_GPA		0x80000UL
#define BUF_SIZE	(16 * PG)

static uint64_t rng_state;

/* xorshift64*: small, seeded, the same everywhere. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static const uint64_t boundary[] = {
	0, 1, 2, 3, 7, 8, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0x7fff, 0x8000,
	0xffff, 0x10000, 32763, 32764, 32765, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
	0x8000000000000000ULL, 0xfffffffffffff000ULL, 0xffffffffffffffffULL,
	1ULL << 52, (1ULL << 52) - PG, 1ULL << 47, (1ULL << 47) - PG,
};

static uint64_t rnd_value(void)
{
	switch (rnd_below(4)) {
	case 0:
		return boundary[rnd_below(sizeof(boundary) /
					  sizeof(boundary[0]))];
	case 1:
		return rnd_below(64);
	case 2:
		return rnd() & 0xffffffff;
	default:
		return rnd();
	}
}

static uint8_t *buf, *ro_page, *edge;	/* edge: last page before a hole */
static uint64_t unmapped;

/*
 * What the argument buffer holds before each call: the last random fill
 * of its first page, zeros after it. An ioctl's output (KVM_GET_FPU,
 * KVM_GET_SUPPORTED_CPUID, ...) lands in the buffer and would become a
 * later call's input, so a known difference in what one side writes would
 * turn into differences in what the next calls read, and so would a
 * guest's writes to the slots that buf backs: restore_buf() puts the
 * buffer back before every call, so that both sides are given the same
 * bytes (the differential pass compares results, not outputs).
 */
static uint64_t buf_fill[512];

static void restore_buf(void)
{
	memcpy(buf, buf_fill, sizeof(buf_fill));
	memset(buf + sizeof(buf_fill), 0, BUF_SIZE - sizeof(buf_fill));
}

/* A pointer for an ioctl argument; valid ones get random contents. */
static unsigned long rnd_pointer(void)
{
	size_t i;

	switch (rnd_below(8)) {
	case 0:
		return 0;
	case 1:
		return (unsigned long)buf + 1 + rnd_below(7);
	case 2:
		return unmapped;
	case 3:
		return (unsigned long)ro_page;
	case 4:
		return 0xffff888000000000UL + rnd_below(1 << 20) * PG;
	case 5:
		return (unsigned long)edge + PG - 8 * (1 + rnd_below(8));
	default:
		for (i = 0; i < 512; i++)
			buf_fill[i] = rnd_below(2) ? rnd_value() : 0;
		memcpy(buf, buf_fill, sizeof(buf_fill));
		return (unsigned long)buf;
	}
}

static const unsigned long sys_ioctls[] = {
	KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION,
	KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID, KVM_GET_MSR_INDEX_LIST,
};

static const unsigned long vm_ioctls[] = {
	KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2,
	KVM_CHECK_EXTENSION, KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG,
	KVM_CREATE_VCPU, KVM_GET_TSC_KHZ, KVM_CREATE_IRQCHIP,
	KVM_SET_NR_MMU_PAGES, KVM_ENABLE_CAP, KVM_GET_STATS_FD, KVM_IRQ_LINE,
	KVM_SET_TSS_ADDR,
};

static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
	KVM_SET_CPUID2, KVM_GET_CPUID2, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
	KVM_SET_SIGNAL_MASK, KVM_GET_STATS_FD, KVM_GET_FPU, KVM_SET_MSRS,
	KVM_TRANSLATE, KVM_INTERRUPT,
};

/* Errnos KVM itself returns from these ioctls; anything else is a leak. */
static int errno_ok(int e)
{
	switch (e) {
	case EPERM: case ENOENT: case EINTR: case EIO: case ENXIO:
	case E2BIG: case EBADF: case EAGAIN: case ENOMEM: case EFAULT:
	case EBUSY: case EEXIST: case EINVAL: case ENFILE: case EMFILE:
	case ENOSPC: case ENOTTY: case ERANGE: case ENOSYS: case EOPNOTSUPP:
	case ENODEV:
		return 1;
	default:
		return 0;
	}
}

static int devfd, vmfd, vcpufd[NR_VCPUS], statfd = -1;
static uint8_t *mem;
static long run_size;
static unsigned long calls, bad_errno, runs, exits;

/* Exits of the current phase by KVM_EXIT_* reason (the last: others). */
#define NR_REASONS	64
static unsigned long reason_count[NR_REASONS];

/*
 * The differential pass (phase 1): every call's result is written to
 * @rec_file (against the control) or compared with what the file holds
 * (against kvmmu), one "<index> <request> <result>" line per call.
 */
static FILE *rec_file, *cmp_file;
static unsigned long diffs, compared, last_arg;
#define MAX_DIFFS_SHOWN	20

/* The first bytes of the argument, when it points into buf, for a diff. */
static uint64_t last_in[6];
static int last_in_n;

static void save_arg(unsigned long arg)
{
	unsigned long end = (unsigned long)buf + BUF_SIZE;

	last_arg = arg;
	last_in_n = 0;
	if (arg < (unsigned long)buf || arg >= end)
		return;
	last_in_n = (end - arg) / 8 < 6 ? (end - arg) / 8 : 6;
	memcpy(last_in, (void *)arg, last_in_n * 8);
}

/* Differences outside the known ones, by request, for the summary. */
#define MAX_DIFF_REQS	32
static struct {
	unsigned long req, n;
} diff_reqs[MAX_DIFF_REQS];

static void count_diff(unsigned long req)
{
	unsigned int i;

	for (i = 0; i < MAX_DIFF_REQS; i++) {
		if (!diff_reqs[i].n || diff_reqs[i].req == req) {
			diff_reqs[i].req = req;
			diff_reqs[i].n++;
			return;
		}
	}
}

/*
 * Known differences from KVM: ioctls kvmmu does not implement (yet), or
 * answers otherwise on purpose. A difference in one of these is counted
 * and printed, not failed; every other difference fails phase 1. Keep
 * this list short: each entry is a way kvmmu is not KVM.
 */
static struct {
	unsigned long req;
	const char *why;
	unsigned long n;
} known[] = {
	{ KVM_GET_MSR_INDEX_LIST, "a shorter list (Documentation/msr.rst)", 0 },
	{ KVM_IRQ_LINE, "no in-kernel irqchip (ENOTTY)", 0 },
	{ KVM_CREATE_IRQCHIP, "accepted without an irqchip, also after KVM_CREATE_VCPU", 0 },
	{ KVM_SET_MSRS, "fewer MSRs: the count stops earlier (msr.rst)", 0 },
	{ KVM_TRANSLATE, "not implemented (EINVAL)", 0 },
	{ KVM_INTERRUPT, "no irqchip: queued even after KVM_CREATE_IRQCHIP (KVM: ENXIO)", 0 },
	/* Found by the first differential runs; to fix or to document. */
	{ KVM_CHECK_EXTENSION, "fewer capabilities, some with other values", 0 },
	{ KVM_GET_VCPU_MMAP_SIZE, "2 pages, KVM's 3 (no coalesced-MMIO page)", 0 },
	{ KVM_SET_NR_MMU_PAGES, "accepts any count (KVM: EINVAL below 64)", 0 },
	{ KVM_GET_SUPPORTED_CPUID, "fewer leaves: E2BIG at other nent", 0 },
	{ KVM_CREATE_PIT, "not implemented (ENOTTY)", 0 },
	{ KVM_SET_BOOT_CPU_ID, "not implemented (ENOTTY)", 0 },
	{ KVM_CREATE_VCPU, "vCPU ids below 1024 (KVM: 4096)", 0 },
	{ KVM_SET_TSC_KHZ, "not implemented (ENOTTY)", 0 },
	{ KVM_GET_TSC_KHZ, "the host's, as KVM_SET_TSC_KHZ is not implemented", 0 },
};

/* Whether a difference in @req is a known one (and count it). */
static int known_diff(unsigned long req)
{
	unsigned int i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (known[i].req == req) {
			known[i].n++;
			return 1;
		}
	}
	return 0;
}

/* The last KVM_RUN's vCPU and exit, to describe a difference in it. */
static int last_run_fd = -1;
static uint32_t last_exit[3];	/* exit_reason, internal.suberror, ndata */
static uint64_t last_exit_data[4];

/* "#   vcpu: ..." for a KVM_RUN that differs: where the guest was. */
static void describe_run(void)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(last_run_fd, KVM_GET_REGS, &r) ||
	    ioctl(last_run_fd, KVM_GET_SREGS, &s))
		return;
	printf("#   exit %u suberror %u ndata %u data %llx %llx %llx %llx\n",
	       last_exit[0], last_exit[1], last_exit[2],
	       (unsigned long long)last_exit_data[0],
	       (unsigned long long)last_exit_data[1],
	       (unsigned long long)last_exit_data[2],
	       (unsigned long long)last_exit_data[3]);
	printf("#   rip %llx rflags %llx cs %x/%llx/%x cr0 %llx cr3 %llx cr4 %llx efer %llx\n",
	       (unsigned long long)r.rip, (unsigned long long)r.rflags,
	       s.cs.selector, (unsigned long long)s.cs.base, s.cs.limit,
	       (unsigned long long)s.cr0, (unsigned long long)s.cr3,
	       (unsigned long long)s.cr4, (unsigned long long)s.efer);
}

static void on_alarm(int sig)
{
	(void)sig;	/* only to interrupt KVM_RUN */
}

/* KVM_RUN bounded by a 20 ms timer signal. */
static long run_bounded(int fd)
{
	struct itimerval it = { .it_value = { .tv_usec = 20000 } };
	struct itimerval off = { 0 };
	long r;

	struct kvm_run *run = mmap(NULL, run_size, PROT_READ, MAP_SHARED,
				   fd, 0);
	int e;

	setitimer(ITIMER_REAL, &it, NULL);
	r = ioctl(fd, KVM_RUN, 0);
	e = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	runs++;
	last_run_fd = fd;
	memset(last_exit, 0, sizeof(last_exit));
	if (r == 0 && run != MAP_FAILED) {
		last_exit[0] = run->exit_reason;
		last_exit[1] = run->internal.suberror;
		last_exit[2] = run->internal.ndata;
		memcpy(last_exit_data, run->internal.data,
		       sizeof(last_exit_data));
	}
	if (r == 0) {
		exits++;
		if (run != MAP_FAILED)
			reason_count[run->exit_reason < NR_REASONS - 1 ?
				     run->exit_reason : NR_REASONS - 1]++;
	}
	if (run != MAP_FAILED)
		munmap(run, run_size);
	errno = e;
	return r;
}

/* "# phase N exits: reason=count ...", and whether there was one. */
static int report_exits(unsigned long seed, int phase)
{
	unsigned long total = 0;
	int i;

	printf("# seed %lu phase %d exits:", seed, phase);
	for (i = 0; i < NR_REASONS; i++) {
		if (!reason_count[i])
			continue;
		total += reason_count[i];
		printf(" %s%d=%lu", i == NR_REASONS - 1 ? ">=" : "", i,
		       reason_count[i]);
	}
	printf("%s\n", total ? "" : " none");
	memset(reason_count, 0, sizeof(reason_count));
	return total != 0;
}

/*
 * One phase-1 result for the differential pass: -errno on failure, else
 * the return value. KVM_RUN's 0 and EINTR are one outcome: which of the
 * two it is depends on when the 20 ms timer fires.
 */
static void result(unsigned long req, long r, int err)
{
	long v = r < 0 ? -err : r, want;
	unsigned long i, wreq;
	char line[128];

	if (req == KVM_RUN && (r == 0 || err == EINTR))
		v = 0;
	if (rec_file)
		fprintf(rec_file, "%lu %lx %ld\n", compared, req, v);
	if (cmp_file) {
		if (!fgets(line, sizeof(line), cmp_file) ||
		    sscanf(line, "%lu %lx %ld", &i, &wreq, &want) != 3 ||
		    i != compared || wreq != req) {
			if (diffs++ < MAX_DIFFS_SHOWN)
				printf("# diff: call %lu (ioctl 0x%lx): the control's sequence ends or differs here\n",
				       compared, req);
			fclose(cmp_file);
			cmp_file = NULL;
		} else if (want != v && !known_diff(req)) {
			count_diff(req);
			if (diffs++ < MAX_DIFFS_SHOWN) {
				int k;

				printf("# diff: call %lu ioctl 0x%lx arg 0x%lx: control %ld%s%s, here %ld%s%s\n",
				       compared, req, last_arg, want,
				       want < 0 ? " " : "",
				       want < 0 ? strerror(-want) : "", v,
				       v < 0 ? " " : "",
				       v < 0 ? strerror(-v) : "");
				if (last_in_n)
					printf("#   arg bytes:");
				for (k = 0; k < last_in_n; k++)
					printf(" %016llx",
					       (unsigned long long)last_in[k]);
				if (last_in_n)
					printf("\n");
				if (req == KVM_RUN)
					describe_run();
			}
		}
	}
	compared++;
}

static void note(long r, unsigned long req)
{
	calls++;
	result(req, r, errno);
	if (r < 0 && !errno_ok(errno)) {
		bad_errno++;
		printf("# ioctl 0x%lx: unexpected errno %d\n", req, errno);
	}
}

static int new_vcpu(int i)
{
	int fd;

	save_arg(i);
	fd = ioctl(vmfd, KVM_CREATE_VCPU, i);

	/* The fd number is not compared: which are free is our business. */
	result(KVM_CREATE_VCPU, fd < 0 ? fd : 0, errno);
	return fd;
}

static void one_call(void)
{
	unsigned long req, arg;
	int fd, r, i;

	save_arg(0);

	switch (rnd_below(16)) {
	case 0:		/* memslot churn over valid memory */
		i = 1 + rnd_below(4);
		r = kvmmu_set_region(vmfd, i, rnd_below(4) & 3,
				     0x100000 * i + rnd_below(4) * PG,
				     rnd_below(2) ? 0 : (1 + rnd_below(8)) * PG,
				     (unsigned long)buf + rnd_below(4) * PG);
		result(KVM_SET_USER_MEMORY_REGION, r < 0 ? -1 : r, -r);
		calls++;
		return;
	case 1:		/* a vCPU fd closed and re-created (new id) */
		i = rnd_below(NR_VCPUS);
		close(vcpufd[i]);
		vcpufd[i] = new_vcpu(NR_VCPUS + (int)rnd_below(900));
		calls++;
		return;
	case 2: {	/* mmap of a vCPU fd, random offset and length */
		size_t len = PG * (1 + rnd_below(4));
		off_t off = rnd_below(4) * PG;
		uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_SHARED, vcpufd[rnd_below(NR_VCPUS)], off);

		/* Only pages 0 (kvm_run) and 1 (PIO data) exist: SIGBUS
		 * beyond, as in KVM. Scribble on kvm_run.
		 */
		result(0, p == MAP_FAILED ? -1 : 0, errno);
		if (p != MAP_FAILED) {
			if (!off)
				p[rnd_below(PG)] = rnd();
			munmap(p, len);
		}
		calls++;
		return;
	}
	case 3:		/* KVM_RUN with random registers */
		i = rnd_below(NR_VCPUS);
		if (vcpufd[i] < 0)
			return;
		{
			struct kvm_regs regs;
			unsigned int k;

			for (k = 0; k < sizeof(regs) / 8; k++)
				((uint64_t *)&regs)[k] = rnd_value();
			r = ioctl(vcpufd[i], KVM_SET_REGS, &regs);
			result(KVM_SET_REGS, r, errno);
		}
		note(run_bounded(vcpufd[i]), KVM_RUN);
		return;
	default:
		break;
	}

	switch (rnd_below(4)) {
	case 0:
		fd = devfd;
		req = sys_ioctls[rnd_below(sizeof(sys_ioctls) / sizeof(long))];
		if (req == KVM_CREATE_VM)
			return;	/* each would be a new VM: done elsewhere */
		break;
	case 1:
		fd = vmfd;
		req = vm_ioctls[rnd_below(sizeof(vm_ioctls) / sizeof(long))];
		break;
	case 2:
		fd = vcpufd[rnd_below(NR_VCPUS)];
		req = vcpu_ioctls[rnd_below(sizeof(vcpu_ioctls) / sizeof(long))];
		if (req == KVM_RUN) {
			note(run_bounded(fd), req);
			return;
		}
		break;
	default:
		fd = rnd_below(2) ? statfd : vmfd;
		req = rnd_below(2) ? 0xae00 | rnd_below(256) : rnd();
		break;
	}
	restore_buf();
	arg = rnd_below(3) ? rnd_pointer() : rnd_value();
	save_arg(arg);
	r = ioctl(fd, req, arg);
	if (r >= 0 && (req == KVM_GET_STATS_FD || req == KVM_CREATE_VCPU)) {
		close(r);
		r = 0;	/* an fd: its number is not compared */
	}
	note(r, req);
}

/* Flat segments for protected (@l 0) or long (@l 1) mode. */
static void set_flat(struct kvm_sregs *s, int l)
{
	struct kvm_segment seg = {
		.base = 0, .limit = 0xffffffff, .present = 1, .s = 1, .g = 1,
		.db = !l, .l = l, .type = 3, .selector = 0x10,
	};

	s->ds = s->es = s->fs = s->gs = s->ss = seg;
	seg.type = 11;
	seg.selector = 0x8;
	s->cs = seg;
}

static void random_guest(int fd, int mode)
{
	struct kvm_sregs s;
	struct kvm_regs regs = { .rflags = 2, .rip = 0x1000, .rsp = 0x8000 };
	uint64_t *pml4 = (uint64_t *)(mem + 0x2000);
	uint64_t *pdpt = (uint64_t *)(mem + 0x3000);
	unsigned int i, n;
	long r;

	for (i = 0; i < PG; i++)
		mem[0x1000 + i] = rnd();
	if (ioctl(fd, KVM_GET_SREGS, &s))
		return;
	if (mode == 0) {
		s.cs.base = 0;
		s.cs.selector = 0;
	} else if (mode == 1) {
		set_flat(&s, 0);
		s.cr0 = 0x11;	/* PE | ET */
	} else {
		memset(pml4, 0, PG);
		memset(pdpt, 0, PG);
		pml4[0] = 0x3000 | 3;
		for (i = 0; i < 4; i++)	/* 4 GiB identity, 1G pages */
			pdpt[i] = ((uint64_t)i << 30) | 0x83;
		set_flat(&s, 1);
		s.cr3 = 0x2000;
		s.cr4 = 0x20;		/* PAE */
		s.efer = 0x500;		/* LME | LMA */
		s.cr0 = 0x80000011;	/* PG | PE | ET */
	}
	if (ioctl(fd, KVM_SET_SREGS, &s) || ioctl(fd, KVM_SET_REGS, &regs))
		return;
	n = 1 + rnd_below(8);
	for (i = 0; i < n; i++) {
		struct kvm_run *run = mmap(NULL, run_size, PROT_READ |
					   PROT_WRITE, MAP_SHARED, fd, 0);

		r = run_bounded(fd);
		if (run != MAP_FAILED) {
			/* Scribble on what the next run completes. */
			if (r == 0 && run->exit_reason == KVM_EXIT_MMIO)
				memset(run->mmio.data, rnd(), 8);
			munmap(run, run_size);
		}
		if (r < 0 && errno != EINTR && errno != EFAULT)
			note(r, KVM_RUN);
		/* A slot churned under the running guest. */
		kvmmu_set_region(vmfd, 2, KVM_MEM_READONLY, RO_GPA,
				 rnd_below(2) ? PG : 0, (unsigned long)buf);
	}
}

/* ---- phase 3: a second thread works on the VM under the guests ---- */

static atomic_int chaos_stop, chaos_close;
static atomic_ulong chaos_ops, chaos_forks, chaos_bad;

static void chaos_note(long r, const char *what)
{
	if (r < 0 && !errno_ok(errno)) {
		atomic_fetch_add(&chaos_bad, 1);
		printf("# chaos %s: unexpected errno %d\n", what, errno);
	}
}

/* A forked child of a VMM: every VM and vCPU ioctl fails EIO. */
static void chaos_fork(void)
{
	/*
	 * This thread closes vcpufd[0] once chaos_close is 1: after that,
	 * the number is no vCPU's (EBADF, or another file's), only the VM's.
	 */
	bool vcpu_open = atomic_load(&chaos_close) == 0;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int bad = vcpu_open &&
			  (ioctl(vcpufd[0], KVM_GET_REGS, buf) != -1 ||
			   errno != EIO);

		bad |= ioctl(vmfd, KVM_GET_STATS_FD, 0) != -1 || errno != EIO;
		_exit(bad);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status)) {
		atomic_fetch_add(&chaos_bad, 1);
		printf("# chaos: forked child status 0x%x\n", status);
	}
	atomic_fetch_add(&chaos_forks, 1);
}

static void *chaos_thread(void *p)
{
	uint64_t st = *(uint64_t *)p | 1;
	struct kvm_dirty_log log = { .dirty_bitmap = buf };
	sigset_t set;
	uint64_t x;
	long r;

	/* The guests' 20 ms timer is for the main thread's KVM_RUN. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!atomic_load(&chaos_stop)) {
		st ^= st >> 12;
		st ^= st << 25;
		st ^= st >> 27;
		x = st * 0x2545f4914f6cdd1dULL;
		switch (x % 8) {
		case 0: case 1: case 2:	/* a slot over the guest's GPAs */
			r = kvmmu_set_region(vmfd, 3 + (x >> 8) % 4,
					     (x >> 12) % 3 == 0 ? KVM_MEM_READONLY :
					     (x >> 12) % 3 == 1 ?
					     KVM_MEM_LOG_DIRTY_PAGES : 0,
					     ((x >> 16) % 512) * PG,
					     ((x >> 28) % 4) * PG,
					     (unsigned long)buf);
			errno = r < 0 ? -r : 0;
			chaos_note(r, "set_region");
			break;
		case 3:			/* the RAM slot away and back */
			r = kvmmu_set_region(vmfd, 0, 0, 0x400000, GUEST_MEM,
					     (unsigned long)mem);
			if (!r) {
				usleep(x % 2000);
				r = kvmmu_set_region(vmfd, 0, 0, 0, GUEST_MEM,
						     (unsigned long)mem);
			}
			errno = r < 0 ? -r : 0;
			chaos_note(r, "move RAM slot");
			break;
		case 4:			/* invalidate a guest page */
			madvise(mem + ((x >> 8) % (GUEST_MEM / PG)) * PG, PG,
				MADV_DONTNEED);
			break;
		case 5:
			if ((x >> 8) % 16 == 0)
				chaos_fork();
			break;
		case 6:
			log.slot = 3 + (x >> 8) % 4;
			r = ioctl(vmfd, KVM_GET_DIRTY_LOG, &log);
			chaos_note(r, "GET_DIRTY_LOG");
			break;
		default:
			usleep(x % 500);
			break;
		}
		atomic_fetch_add(&chaos_ops, 1);
		if (atomic_load(&chaos_close) == 1) {
			/* Closed while (perhaps) inside KVM_RUN. */
			close(vcpufd[0]);
			atomic_store(&chaos_close, 2);
		}
	}
	return NULL;
}

/* Which phases run (-p), and the differential files (-r, -c). */
static int phase_on[4] = { 0, 1, 1, 1 };
static const char *rec_path, *cmp_path;

/* Open @path.<seed> for the differential pass; NULL if it fails. */
static FILE *diff_file(const char *path, unsigned long seed, const char *mode)
{
	char name[4096];
	FILE *f;

	snprintf(name, sizeof(name), "%s.%lu", path, seed);
	f = fopen(name, mode);
	if (!f)
		printf("# %s: %s\n", name, strerror(errno));
	return f;
}

/* One seed's phases, in a child of its own (a fresh VM). */
static int fuzz_seed(unsigned long seed, unsigned long ncalls,
		     unsigned long nguests, int *tap)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned long i, runs0, exits0;
	int fail = 0, bad, seen;

	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: KVM_RUN -> EINTR */

	buf = mmap(NULL, BUF_SIZE + PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_page = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem = kvmmu_alloc(GUEST_MEM);
	if (buf == MAP_FAILED || ro_page == MAP_FAILED || !mem) {
		printf("Bail out! mmap\n");
		return 1;
	}
	munmap(buf + BUF_SIZE, PG);	/* a hole after the buffer */
	edge = buf + BUF_SIZE - PG;
	unmapped = kvmmu_unmapped_hva(PG);

	devfd = kvmmu_open_dev();
	vmfd = devfd < 0 ? devfd : kvmmu_create_vm(devfd, 0);
	if (vmfd < 0) {
		printf("Bail out! VM: %s\n", strerror(-vmfd));
		return 1;
	}
	run_size = ioctl(devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	kvmmu_set_region(vmfd, 0, 0, 0, GUEST_MEM, (unsigned long)mem);
	for (i = 0; i < NR_VCPUS; i++)
		vcpufd[i] = new_vcpu(i);
	statfd = ioctl(vmfd, KVM_GET_STATS_FD, 0);

	/* Phase 1: the ioctls, recorded or compared. */
	if (phase_on[1]) {
		int cmp_missing = 0;

		if (rec_path)
			rec_file = diff_file(rec_path, seed, "w");
		if (cmp_path) {
			cmp_file = diff_file(cmp_path, seed, "r");
			cmp_missing = !cmp_file;
		}
		compared = 0;
		for (i = 0; i < ncalls; i++)
			one_call();
		if (rec_file) {
			fprintf(rec_file, "end %lu\n", compared);
			fclose(rec_file);
			rec_file = NULL;
		}
		if (cmp_file) {
			char line[64];
			unsigned long n;

			if (!fgets(line, sizeof(line), cmp_file) ||
			    sscanf(line, "end %lu", &n) != 1 || n != compared) {
				printf("# diff: the control made more calls than %lu\n",
				       compared);
				diffs++;
			}
		}
		seen = report_exits(seed, 1);
		bad = bad_errno || !seen || cmp_missing || diffs ||
		      (rec_path && !compared);
		if (cmp_path) {
			unsigned int k;

			for (k = 0; k < MAX_DIFF_REQS && diff_reqs[k].n; k++)
				printf("# seed %lu: differs, ioctl 0x%lx: %lu calls\n",
				       seed, diff_reqs[k].req, diff_reqs[k].n);
			for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				if (known[k].n)
					printf("# seed %lu: known difference, ioctl 0x%lx: %lu calls (%s)\n",
					       seed, known[k].req, known[k].n,
					       known[k].why);
			printf("# seed %lu: %lu results compared with the control's, %lu differ%s\n",
			       seed, compared, diffs,
			       diffs > MAX_DIFFS_SHOWN ? " (first ones shown)" : "");
		}
		if (cmp_file) {
			fclose(cmp_file);
			cmp_file = NULL;
		}
		printf("%s %d - seed %lu: %lu ioctl calls, %lu KVM_RUN, %lu unexpected errnos%s%s\n",
		       bad ? "not ok" : "ok", (*tap)++, seed, calls, runs,
		       bad_errno, seen ? "" : ", no exit",
		       cmp_path ? (diffs || cmp_missing ? ", differs from the control" :
				   ", as the control") : "");
		fail |= bad;
	}

	/* Phase 2 on a fresh vCPU, so phase 1's state does not matter. */
	close(vcpufd[0]);
	for (i = 1000, vcpufd[0] = -1; i < 1024 && vcpufd[0] < 0; i++)
		vcpufd[0] = new_vcpu(i);
	kvmmu_set_region(vmfd, 1, 0, 0x100000, 0, 0);
	if (phase_on[2]) {
		runs0 = runs;
		exits0 = exits;
		for (i = 0; i < nguests && vcpufd[0] >= 0; i++)
			random_guest(vcpufd[0], i % 3);
		seen = report_exits(seed, 2);
		bad = bad_errno || vcpufd[0] < 0 || !seen;
		printf("%s %d - seed %lu: %lu random guests, %lu runs, %lu exits, %lu unexpected errnos%s\n",
		       bad ? "not ok" : "ok", (*tap)++, seed, nguests,
		       runs - runs0, exits - exits0, bad_errno,
		       seen ? "" : ", no exit");
		fail |= bad;
	}
	if (bad_errno || vcpufd[0] < 0)
		return 1;

	/* Phase 3: the same again, with the chaos thread. */
	if (phase_on[3]) {
		uint64_t cseed = rnd();
		pthread_t t;

		runs0 = runs;
		kvmmu_set_region(vmfd, 0, 0, 0, GUEST_MEM, (unsigned long)mem);
		if (pthread_create(&t, NULL, chaos_thread, &cseed)) {
			printf("Bail out! pthread_create\n");
			return 1;
		}
		for (i = 0; i < nguests; i++) {
			if (i == nguests - nguests / 10 - 1)
				atomic_store(&chaos_close, 1);
			if (atomic_load(&chaos_close) == 2)
				break;
			random_guest(vcpufd[0], i % 3);
		}
		atomic_store(&chaos_stop, 1);
		pthread_join(t, NULL);
		seen = report_exits(seed, 3);
		bad = bad_errno || chaos_bad || !seen;
		printf("%s %d - seed %lu: %lu guests beside %lu chaos operations (%lu forks), %lu runs, %lu unexpected errnos%s\n",
		       bad ? "not ok" : "ok", (*tap)++, seed,
		       i, (unsigned long)chaos_ops,
		       (unsigned long)chaos_forks, runs - runs0,
		       bad_errno + chaos_bad, seen ? "" : ", no exit");
		fail |= bad;
	}
	printf("# seed %lu: calls %lu guests %lu exits %lu\n", seed, calls,
	       (phase_on[2] + phase_on[3]) * nguests, exits);
	return fail;
}

static const char usage[] =
	"usage: %s [-s seed]... [-n calls] [-g guests] [-p phases]\n"
	"          [-r record-file | -c compare-file]\n";

int main(int argc, char **argv)
{
	unsigned long ncalls = 100000, nguests = 200, seeds[64];
	int opt, nseeds = 0, nphases, i, status, failed = 0, tap;
	const char *c;
	pid_t pid;

	/*
	 * Pointers are ioctl arguments, and some become state (a pointer
	 * passed to KVM_SET_TSC_KHZ is the VM's TSC rate, read back by
	 * KVM_GET_TSC_KHZ): without ASLR, runs of a seed are alike.
	 */
	if (!(personality(0xffffffff) & ADDR_NO_RANDOMIZE) &&
	    personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE) != -1)
		execv("/proc/self/exe", argv);

	while ((opt = getopt(argc, argv, "s:n:g:p:r:c:")) != -1) {
		switch (opt) {
		case 's':
			if (nseeds < 64)
				seeds[nseeds++] = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			ncalls = strtoul(optarg, NULL, 0);
			break;
		case 'g':
			nguests = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			memset(phase_on, 0, sizeof(phase_on));
			for (c = optarg; *c; c++) {
				if (*c < '1' || *c > '3') {
					fprintf(stderr, usage, argv[0]);
					return 2;
				}
				phase_on[*c - '0'] = 1;
			}
			break;
		case 'r':
			rec_path = optarg;
			break;
		case 'c':
			cmp_path = optarg;
			break;
		default:
			fprintf(stderr, usage, argv[0]);
			return 2;
		}
	}
	if (rec_path && cmp_path) {
		fprintf(stderr, usage, argv[0]);
		return 2;
	}
	if (!nseeds)
		seeds[nseeds++] = 1;
	nphases = phase_on[1] + phase_on[2] + phase_on[3];
	printf("TAP version 13\n1..%d\n# device %s, %d seeds, %lu calls and %lu guests each\n",
	       nphases * nseeds, kvmmu_dev_path(), nseeds, ncalls, nguests);
	fflush(stdout);
	for (i = 0; i < nseeds; i++) {
		pid = fork();
		if (pid == 0) {
			tap = nphases * i + 1;
			_exit(fuzz_seed(seeds[i], ncalls, nguests, &tap));
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("# seed %lu: child failed (status 0x%x)\n",
			       seeds[i], status);
			failed = 1;
		}
	}
	return failed;
}

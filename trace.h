/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmmu's tracepoints, system "kvmmu" in tracefs:
 *
 *   echo 1 > /sys/kernel/tracing/events/kvmmu/enable
 *   cat /sys/kernel/tracing/trace_pipe
 *
 * kvmmu_fault       a nested page fault enters the MMU
 * kvmmu_map         a leaf is installed (or made writable)
 * kvmmu_zap         a range of GFNs is zapped
 * kvmmu_invalidate  the host invalidates a range of HVAs (mmu notifier)
 * kvmmu_mmio        an MMIO exit to the VMM
 * kvmmu_exit        the guest exits to the host (vendor exit code)
 *
 * Defined in trace.c (CREATE_TRACE_POINTS); a call site costs a static
 * branch while its event is disabled.
 */
#undef TRACE_SYSTEM
#ifdef KVMMU_TRACE_KUNIT
#define TRACE_SYSTEM kvmmu_test		/* tests/kunit/mmu_test.c */
#else
#define TRACE_SYSTEM kvmmu
#endif

#if !defined(KVMMU_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVMMU_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(kvmmu_fault,
	    TP_PROTO(unsigned int vcpu_id, u64 gpa, u64 error_code),
	    TP_ARGS(vcpu_id, gpa, error_code),
	    TP_STRUCT__entry(__field(unsigned int, vcpu_id)
			     __field(u64, gpa)
			     __field(u64, error_code)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;
			   __entry->gpa = gpa;
			   __entry->error_code = error_code;),
	    TP_printk("vcpu %u gpa 0x%llx error_code 0x%llx", __entry->vcpu_id,
		      __entry->gpa, __entry->error_code)
);

TRACE_EVENT(kvmmu_map,
	    TP_PROTO(u64 gfn, u64 pfn, int level, bool writable),
	    TP_ARGS(gfn, pfn, level, writable),
	    TP_STRUCT__entry(__field(u64, gpa)
			     __field(u64, pfn)
			     __field(int, level)
			     __field(bool, writable)),
	    TP_fast_assign(__entry->gpa = gfn << PAGE_SHIFT;
			   __entry->pfn = pfn;
			   __entry->level = level;
			   __entry->writable = writable;),
	    TP_printk("gpa 0x%llx pfn 0x%llx level %d %s",
		      __entry->gpa, __entry->pfn, __entry->level,
		      __entry->writable ? "w" : "r")
);

TRACE_EVENT(kvmmu_zap,
	    TP_PROTO(int as_id, u64 start, u64 end, bool zapped),
	    TP_ARGS(as_id, start, end, zapped),
	    TP_STRUCT__entry(__field(int, as_id)
			     __field(u64, start)
			     __field(u64, end)
			     __field(bool, zapped)),
	    TP_fast_assign(__entry->as_id = as_id;
			   __entry->start = start << PAGE_SHIFT;
			   __entry->end = end << PAGE_SHIFT;
			   __entry->zapped = zapped;),
	    TP_printk("as %d gpa 0x%llx-0x%llx %s", __entry->as_id,
		      __entry->start, __entry->end,
		      __entry->zapped ? "zapped" : "empty")
);

TRACE_EVENT(kvmmu_invalidate,
	    TP_PROTO(unsigned long start, unsigned long end),
	    TP_ARGS(start, end),
	    TP_STRUCT__entry(__field(unsigned long, start)
			     __field(unsigned long, end)),
	    TP_fast_assign(__entry->start = start;
			   __entry->end = end;),
	    TP_printk("hva 0x%lx-0x%lx", __entry->start, __entry->end)
);

TRACE_EVENT(kvmmu_mmio,
	    TP_PROTO(unsigned int vcpu_id, u64 gpa, unsigned int len, bool write),
	    TP_ARGS(vcpu_id, gpa, len, write),
	    TP_STRUCT__entry(__field(unsigned int, vcpu_id)
			     __field(u64, gpa)
			     __field(unsigned int, len)
			     __field(bool, write)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;
			   __entry->gpa = gpa;
			   __entry->len = len;
			   __entry->write = write;),
	    TP_printk("vcpu %u %s gpa 0x%llx len %u", __entry->vcpu_id,
		      __entry->write ? "write" : "read", __entry->gpa,
		      __entry->len)
);

TRACE_EVENT(kvmmu_exit,
	    TP_PROTO(unsigned int vcpu_id, u32 exit_code, u64 rip),
	    TP_ARGS(vcpu_id, exit_code, rip),
	    TP_STRUCT__entry(__field(unsigned int, vcpu_id)
			     __field(u32, exit_code)
			     __field(u64, rip)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;
			   __entry->exit_code = exit_code;
			   __entry->rip = rip;),
	    TP_printk("vcpu %u exit_code 0x%x rip 0x%llx", __entry->vcpu_id,
		      __entry->exit_code, __entry->rip)
);

#endif /* KVMMU_TRACE_H */

/* Out of tree: the header is found next to the sources. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

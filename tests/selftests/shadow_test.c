// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_test - 64-bit, PAE and 32-bit guests on the shadow MMU (kvmmu
 * tdp=0; the control is stock kvm_amd npt=0), editing their own page
 * tables. The 64-bit guest is fixture sh, below; the PAE and 2-level
 * guests are fixture sh32 (variants pae and two_level), further down.
 *
 * The guest runs in long mode with 4-level paging from the start
 * (KVM_SET_SREGS). Its code (one page at GPA 0x1000) is a loop driven by
 * registers, as lib/guest32.h's: RAX = operation, RBX = address, RCX =
 * value; it reports at OUT to port 0x10. Its #PF handler reports at OUT to
 * port 0x11 with RDX = error code and RSI = CR2; any other exception at
 * port 0x12. The host builds address space A; the guest builds B itself,
 * and every later change of a page table is the guest's own store.
 *
 *   rw_through_mappings   guest <-> host bytes through 4K and 2M mappings
 *   sregs_are_the_guests  KVM_GET_SREGS: the guest's CR0/CR3/CR4/EFER, and
 *                         MOV from CR0/CR3 reads them too
 *   pf_not_present        read and write: error 0 and 2, CR2
 *   pf_write_read_only    error 3 (CR0.WP), the read works
 *   pf_user_supervisor    CPL 3 read of a supervisor page: error 5
 *   pte_edit_invlpg       PTE rewritten by the guest + INVLPG: new page
 *                         (fails if the MMU does not write-protect tables)
 *   pte_edit_self_mapped  the same in a table that maps itself (the store
 *                         goes through the table it changes)
 *   cr3_switch            guest-built space B vs A, and back
 *   accessed_dirty        A in every level, D in the leaf on writes only
 *   mmio_behind_mapping   an unmapped GPA behind a guest mapping: MMIO exit
 *                         with that GPA, load and store
 *   host_dontneed         MADV_DONTNEED under a mapped page: zeros
 *   host_dontneed_page_table  MADV_DONTNEED of a guest page table the
 *                         guest has used: its translations stay (also
 *                         after INVLPG) until the guest writes the table,
 *                         as KVM's (a host invalidation zaps leaves, not
 *                         shadow pages); a new walk reads zeros; the
 *                         guest's next PTE store is seen after INVLPG
 *   dirty_log             LOG_DIRTY_PAGES: exactly the pages written, again
 *                         after each harvest
 *   slot_delete           a deleted slot behind a guest mapping: MMIO
 *   page_budget           KVM_SET_NR_MMU_PAGES: below 64 is -EINVAL; a
 *                         guest cycling through 150 address spaces keeps
 *                         running, and on kvmmu its shadow pages (stats
 *                         table_pages) stay within the budget of 64
 *   sec_pagetables_counted  a new address space's shadow pages add to
 *                         /proc/vmstat nr_sec_page_table_pages (memcg
 *                         sec_pagetables), as KVM's do
 *   shrinker_reclaims     drop_caches (every shrinker) takes shadow pages
 *                         of 150 address spaces a large budget kept
 *                         (kvmmu: table_pages halves; KVM: mmu_recycled
 *                         grows); the guest runs on in all of them
 *   debugfs_shadow_pages  kvmmu only: debugfs shadow_pages lists the root
 *                         of CR3 (level 4, a root user), a page per guest
 *                         table and a direct page under the 2M page; none
 *                         is left mapping anything after a slot delete
 *   debugfs_mappings      kvmmu only: debugfs mappings and pagemap list a
 *                         frame read through two guest mappings once
 *                         (4K, read-only, the host's PFN), a written one
 *                         writable, not an untouched one; none after the
 *                         slot is deleted; stats pages_4k counts leaves
 *   vmm_repoints_huge_pde  kvmmu only: the VMM rewrites a 2M PDE the guest
 *                         used; a fault under it maps the new page (no
 *                         host WARN), and so does the old page after
 *                         INVLPG
 *   no_pku                KVM_GET_SUPPORTED_CPUID hides PKU and
 *                         KVM_SET_SREGS refuses CR4.PKE (no protection
 *                         keys without TDP)
 *   review_pt_in_rom      a guest page table in a KVM_MEM_READONLY slot:
 *                         the access works, its A bit is left clear
 *   review_pt_write_maps_code  a store, through an alias, to the PT that
 *                         maps the running code (no livelock)
 *   review_huge_dirty_again  D of a 2M page: set, cleared by the guest,
 *                         set again by the next write
 *   review_smsw           SMSW r64 at CPL 0: CR0[15:0]
 *   smsw_lmsw_mem         SMSW m16 stores CR0[15:0] (2 bytes), LMSW m16
 *                         loads MP/EM/TS (PE stays); #PF 3 and 0 on a
 *                         read-only or absent operand; SMSW to MMIO: a
 *                         2-byte MMIO exit
 *   wp0_smep_no_exec      CR0.WP=0 with SMEP: a supervisor write to a
 *                         read-only user page works, a supervisor call
 *                         into it is a #PF (fetch), not executed
 *                         (skipped where SMEP is not offered)
 *   string_noncanonical   OUTSB, SS: OUTSB, INSB and MOVSB from MMIO
 *                         with a non-canonical operand: #GP(0) or #SS(0)
 *                         (OUTSB before its port exit, the others after
 *                         their port read or MMIO load exit)
 *   string_in_to_pt       INSL (emulated in the kernel) rewrites a PTE of
 *                         a shadowed table: INVLPG, the new page is seen
 *   pt_xchg, pt_lock_cmpxchg, pt_lock_cmpxchg8b, pt_lock_bts_btr,
 *   pt_lock_or_and, pt_rep_stosq, pt_mov_forms
 *                         a page directory that maps itself, rewritten
 *                         through that mapping (so emulated) by XCHG,
 *                         LOCK CMPXCHG and CMPXCHG8B (equal and not),
 *                         LOCK BTS with a
 *                         bit offset of 64 and LOCK BTR $0, LOCK OR and
 *                         LOCK ANDB, REP STOSQ over the whole page, MOV
 *                         r32, MOV to base + index * 8 + disp and a MOV
 *                         crossing out of the table's page: the host
 *                         reads the entries, the guest uses the new
 *                         mappings (flags and RAX checked too)
 *   pt_mov_cross_to_mmio  a MOV crossing from that directory into a
 *                         page with no memslot: the directory's half
 *                         stored, the rest an MMIO exit with its bytes
 *   pt_cross_fault        MOV, XCHG, CMPXCHG, BTS crossing from that
 *                         directory into a page the guest does not map
 *                         (#PF 2, the RMWs 0), then maps read-only (#PF
 *                         3), CR2 the second page; kvmmu leaves the
 *                         directory as it was (stock KVM stores the
 *                         first part: logged, not checked)
 *   pt_cross_rmw          XCHG, CMPXCHG (unequal and equal) and LOCK BTS
 *                         crossing from the directory into RAM: both
 *                         parts written (or neither), old value and flags
 *                         right, the guest reads the new value
 *   pt_cross_into_table   MOV and XCHG crossing from RAM into the
 *                         directory's first entry: both parts written,
 *                         the new mapping seen at once
 *   pt_entry_write_keeps_siblings  one entry of that directory rewritten
 *                         four times: the new mapping seen at once, the
 *                         old after INVLPG; 8 sibling entries read after
 *                         without a #PF exit (vCPU "exits"); no flood
 *                         ("mmu_flooded" 0, "mmu_pde_zapped" >= 4)
 *   pt_entry_write_by_alias  an entry of that directory rewritten by MOV
 *                         through the identity map (not the store's own
 *                         walk): emulated, 8 sibling entries read after
 *                         without a #PF exit, "mmu_pde_zapped" +1; LOCK
 *                         BTR $0 there is retried (the siblings refault)
 *   live_top_level        entries of the live PML4 added, used, repointed
 *                         and removed by the guest, CR3 unchanged
 *   two_vcpus_share_tables  a page vCPU 1 maps writable becomes a PT of
 *                         vCPU 0; vCPU 1's next store to it is a PTE
 *                         write vCPU 0 sees after INVLPG; and back
 *   permission_matrix     R/W, U/S, XD x CR0.WP x EFER.NXE for a 4K leaf,
 *                         a 4K page under a restricting PDE, a 2M and a
 *                         1G page (if offered): supervisor read, write,
 *                         fetch and user read complete or #PF with the
 *                         error code and CR2 the SDM gives
 *   smep_smap_matrix      the same under CR4.SMEP and CR4.SMAP (each
 *                         on or off) and EFLAGS.AC 0/1 for supervisor
 *                         reads and writes (skipped where neither is
 *                         offered)
 *   smap_implicit_cpl3    CPL 3 loading DS from a GDT entry on a user
 *                         page: under SMAP a #PF (error 1, CR2 at the
 *                         entry), none without
 *                         (skipped where SMAP is not offered)
 *   unsync_edit_invlpg, unsync_edit_cr3, unsync_edit_cr4_pge
 *                         in one run: read through a PTE, rewrite it,
 *                         flush (INVLPG, MOV CR3, CR4.PGE on and off),
 *                         read again: the new page (the leaf table went
 *                         unsync on the store and the flush synced it)
 *   unsync_many_pte_writes  2000 PTE stores to a leaf table in use in
 *                         one run: under 200 exits (vCPU stat "exits"),
 *                         "mmu_unsync" >= 1, 0 after MOV CR3
 *   unsync_orphan_table   a written (unsync) leaf table whose PDE the
 *                         guest clears in the same run: kvmmu has no
 *                         unsync page left ("mmu_unsync" 0); with the PDE
 *                         back the store is seen
 *   unsync_unreachable_left  space B's leaf table written from space
 *                         A stays unsync ("mmu_unsync" 1) across A's MOV
 *                         CR3, and is synced (0, the new entry seen) when
 *                         B is loaded
 *   unsync_below_linked_directory  a page directory whose leaf table is
 *                         unsync, linked into a second space whose CR3
 *                         was reloaded since: the first access through
 *                         it sees the table's new entry
 *   unsync_invlpg_one_address  PTEs of two leaf tables rewritten and
 *                         one address INVLPGed in one run: that address
 *                         sees its new page, both tables stay unsync
 *                         ("mmu_unsync" 2) until a MOV CR3
 *   unsync_pf_drops_entry  a PTE of an unsync table repointed to a
 *                         read-only page without INVLPG, and a store
 *                         through it in the same run: #PF 3; the next
 *                         read (no KVM_SET_SREGS, which would sync)
 *                         sees the new page (the #PF synced the entry)
 *   unsync_pt_becomes_directory  a written (unsync) leaf table then
 *                         also used as a page directory: a store to it
 *                         is seen after INVLPG (protected again)
 *
 * sh32.{pae,two_level} (32-bit code, 8- or 4-byte entries):
 *   rw_through_mappings   guest <-> host bytes through 4K pages, the 2M/4M
 *                         page (both of its 2M halves) and, 2-level, the
 *                         second half of a guest PT (a second shadow PT)
 *   pf_not_present        error 0 and 2 with CR2, also under a PAE PDPTE
 *                         or a 2-level PDE that is not present
 *   pf_write_read_only    error 3 (CR0.WP), the read works
 *   pte_edit_invlpg       the guest's PTE store + INVLPG (2-level: in both
 *                         halves of the PT)
 *   cr3_switch            a guest-built space B vs A, and back
 *   accessed_dirty        A in PDE and PTE, D on writes only, no A in a
 *                         PAE PDPTE
 *   huge_page             A/D of the 2M/4M page; the guest remaps it
 *                         read-only in its live PD: error 3
 *   page_above_4g         a 4M PSE-36 page (skipped without PSE-36 in the
 *                         supported CPUID) or a 2M PAE page above 4G
 *   pdpte_loaded_copy     PAE: a PDPTE changed in memory counts from the
 *                         next MOV CR3 on, not before
 *   pdpte_reserved_gp     PAE: MOV CR3 to a PDPT with a reserved bit in a
 *                         present PDPTE is #GP(0), CR3 unchanged; in a
 *                         PDPTE that is not present it is no error
 *   paging_on_by_guest    MOV CR0 turning paging on (PAE: PDPTEs loaded)
 *   pf_table_outside_memory  a PDE pointing to a page table in no
 *                         memslot: #PF as not present, error 0/2, and 0
 *                         for a fetch (no I/D bit without EFER.NX)
 *   pf_cross_4g_cr2       a MOV crossing 4G out of a self-mapped table
 *                         into page 0: #PF with CR2 0 (wrapped), not 4G
 *   pse_toggle            2-level: CR4.PSE cleared and set again by the
 *                         guest: a PDE with PS is a page table pointer,
 *                         then a 4M page again, at mapped and fresh
 *                         addresses (kvmmu only: stock KVM keeps the 4M
 *                         page's shadow pages)
 *
 * Each test checks that the MMU really is the shadow one:
 * /sys/module/kvmmu/parameters/tdp or /sys/module/kvm_amd/parameters/npt
 * reads N (a test run on NPT would prove nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "kvmmu_util.h"
#include "guest32.h"
#include "../../pagemap.h"

#define MEM_SIZE	(8UL << 20)
#define CODE_GPA	0x1000UL
#define GDT_GPA		0x2000UL
#define IDT_GPA		0x3000UL
#define TSS_GPA		0x4000UL
#define STACK_TOP	0x9000UL
#define PML4_A		0x10000UL
#define PDPT_A		0x11000UL
#define PD_A		0x12000UL
#define PT_A0		0x13000UL	/* 0-2M identity, 4K pages */
#define PT_A1		0x14000UL	/* the window at 2M-4M */
#define PML4_B		0x20000UL
#define PDPT_B		0x21000UL
#define PD_B		0x22000UL
#define PT_B1		0x24000UL
#define DATA_GPA	0x100000UL	/* data pages: 1M + n * 4K */
#define WINDOW		0x200000UL	/* VA of the window */
#define HUGE_VA		0x400000UL	/* a 2M page, identity */
#define MMIO_GPA	0x10000000UL	/* no slot */

#define P	0x1ULL
#define RW	0x2ULL
#define US	0x4ULL
#define ACC	0x20ULL
#define DIRTY	0x40ULL
#define PS	0x80ULL

#define OP_R64		1
#define OP_W64		2
#define OP_INVLPG	3
#define OP_SETCR3	4
#define OP_GETCR3	5
#define OP_USER_R64	6
#define OP_GETCR0	7
#define OP_SMSW		8
#define OP_CALL		9
#define OP_INSL		10
#define OP_XCHG		11
#define OP_CMPXCHG	12
#define OP_BTS		13
#define OP_BTR0		14
#define OP_ORQ		15
#define OP_ANDB_RW	16
#define OP_STOSQ	17
#define OP_W32		18
#define OP_W64_SIB	19
#define OP_CMPXCHG8B	20
#define OP_EDIT_INVLPG	21
#define OP_EDIT_CR3	22
#define OP_EDIT_PGE	23
#define OP_PTE_LOOP	24
#define OP_SMSW_M	25
#define OP_LMSW_M	26
#define OP_W64_CLEAR	27
#define OP_EDIT2_INVLPG	28
#define OP_R2		29
#define OP_USER_LDS	30
#define OP_OUTSB	31
#define OP_OUTSB_SS	32
#define OP_INSB		33
#define OP_MOVSB	34

#define PORT_DONE	0x10
#define PORT_PF		0x11
#define PORT_BAD	0x12

#define AC_FLAG		0x40000ULL	/* EFLAGS.AC */
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)

#define S_(x) #x
#define S(x) S_(x)

#define OP(n, insn)			\
	"	cmp $" S(n) ", %eax\n"	\
	"	jne 1f\n"		\
	"	" insn "\n"		\
	"	jmp .Lsh_done\n"	\
	"1:\n"

/* 64-bit code, only RIP-relative references: it runs at CODE_GPA. */
asm(".pushsection .rodata.sh, \"a\"\n"
	".balign 16\n"
	".globl sh_code_start, sh_loop, sh_user, sh_pf, sh_gp, sh_ss, sh_bad\n"
	".globl sh_code_end\n"
	"sh_code_start:\n"
	"sh_loop:\n"
	OP(OP_R64, "mov (%rbx), %rcx")
	OP(OP_W64, "mov %rcx, (%rbx)")
	OP(OP_INVLPG, "invlpg (%rbx)")
	OP(OP_SETCR3, "mov %rbx, %cr3")
	OP(OP_GETCR3, "mov %cr3, %rcx")
	OP(OP_GETCR0, "mov %cr0, %rcx")
	OP(OP_SMSW, "smsw %rcx")
	OP(OP_CALL, "call *%rbx")
	OP(OP_INSL, "mov %rbx, %rdi\n\tmov $0x20, %edx\n\tinsl (%dx), %es:(%rdi)")
	OP(OP_XCHG, "xchg %rcx, (%rbx)")
	OP(OP_CMPXCHG, "mov %rdx, %rax\n\tlock cmpxchg %rcx, (%rbx)\n\t"
		       "mov %rax, %rcx\n\tsetz %dl\n\tmovzbl %dl, %edx")
	OP(OP_BTS, "lock btsq %rcx, (%rbx)\n\tsbb %rdx, %rdx")
	OP(OP_BTR0, "lock btrq $0, (%rbx)\n\tsbb %rdx, %rdx")
	OP(OP_ORQ, "lock orq %rcx, (%rbx)")
	OP(OP_ANDB_RW, "lock andb $0xfd, (%rbx)")
	OP(OP_STOSQ, "mov %rbx, %rdi\n\tmov %rcx, %rax\n\tmov $512, %ecx\n\t"
		     "rep stosq")
	OP(OP_W32, "mov %ecx, (%rbx)")
	OP(OP_W64_SIB, "mov %rcx, -8(%rbx,%rdx,8)")
	/* RBX address, RCX new, RDX expected; out: RCX = ZF, RDX = EDX:EAX */
	OP(OP_CMPXCHG8B, "mov %rbx, %rsi\n\tmov %ecx, %ebx\n\tshr $32, %rcx\n\t"
			 "mov %edx, %eax\n\tshr $32, %rdx\n\t"
			 "lock cmpxchg8b (%rsi)\n\tsetz %cl\n\t"
			 "movzbl %cl, %ecx\n\tshl $32, %rdx\n\tor %rax, %rdx")
	/*
	 * One run each: read RDX (RSI = old value), store RCX to the PTE at
	 * RBX, flush by INVLPG RDX, by MOV CR3 or by toggling CR4.PGE, read
	 * RDX again (RCX); no exit in between but the intercepted flush.
	 */
	OP(OP_EDIT_INVLPG, "mov (%rdx), %rsi\n\tmov %rcx, (%rbx)\n\t"
			   "invlpg (%rdx)\n\tmov (%rdx), %rcx")
	OP(OP_EDIT_CR3, "mov (%rdx), %rsi\n\tmov %rcx, (%rbx)\n\t"
			"mov %cr3, %rax\n\tmov %rax, %cr3\n\tmov (%rdx), %rcx")
	OP(OP_EDIT_PGE, "mov (%rdx), %rsi\n\tmov %rcx, (%rbx)\n\t"
			"mov %cr4, %rax\n\txor $0x80, %rax\n\tmov %rax, %cr4\n\t"
			"xor $0x80, %rax\n\tmov %rax, %cr4\n\tmov (%rdx), %rcx")
	/* RCX times: store RCX << 12 to the PTE at RBX, read RDX. */
	OP(OP_PTE_LOOP, "5:\tmov %rcx, %rsi\n\tshl $12, %rsi\n\t"
			"mov %rsi, (%rbx)\n\tmov (%rdx), %rsi\n\t"
			"dec %rcx\n\tjnz 5b")
	OP(OP_SMSW_M, "smsw (%rbx)")
	OP(OP_LMSW_M, "lmsw (%rbx)\n\tmov %cr0, %rcx")
	/* String operands at RBX (MOVSB: from RCX); the port is 0x20. */
	OP(OP_OUTSB, "mov %rbx, %rsi\n\tmov $0x20, %edx\n\toutsb")
	OP(OP_OUTSB_SS, "mov %rbx, %rsi\n\tmov $0x20, %edx\n\t"
			".byte 0x36\n\toutsb")
	OP(OP_INSB, "mov %rbx, %rdi\n\tmov $0x20, %edx\n\tinsb")
	OP(OP_MOVSB, "mov %rbx, %rdi\n\tmov %rcx, %rsi\n\tmovsb")
	/* One run: store RCX to RBX, then 0 to RDX. */
	OP(OP_W64_CLEAR, "mov %rcx, (%rbx)\n\tmovq $0, (%rdx)")
	/* One run: read RDX (into RSI), then RBX (into RCX). */
	OP(OP_R2, "mov (%rdx), %rsi\n\tmov (%rbx), %rcx")
	/* One run: RCX to [RBX], RDI to [RSI], INVLPG RDX, read RDX. */
	OP(OP_EDIT2_INVLPG, "mov %rcx, (%rbx)\n\tmov %rdi, (%rsi)\n\t"
			    "invlpg (%rdx)\n\tmov (%rdx), %rcx")
	"	cmp $" S(OP_USER_R64) ", %eax\n"
	"	je 6f\n"
	"	cmp $" S(OP_USER_LDS) ", %eax\n"
	"	jne .Lsh_done\n"
	/* iretq to CPL 3 (IOPL 3: the user code may OUT), R9 or'ed in RFLAGS */
	"6:	pushq $0x1b\n"
	"	pushq $0\n"
	"	mov $0x3002, %edx\n"
	"	or %r9, %rdx\n"
	"	push %rdx\n"
	"	pushq $0x23\n"
	"	lea .Lsh_user(%rip), %rdx\n"
	"	cmp $" S(OP_USER_R64) ", %eax\n"
	"	je 7f\n"
	"	lea .Lsh_user_lds(%rip), %rdx\n"
	/* R8: where the user alias of the code is (0: the code itself) */
	"7:	add %r8, %rdx\n"
	"	push %rdx\n"
	"	iretq\n"
	".Lsh_done:\n"
	"	out %al, $" S(PORT_DONE) "\n"
	"	jmp sh_loop\n"
	"sh_user:\n"
	".Lsh_user:\n"
	"	mov (%rbx), %rcx\n"
	"	out %al, $" S(PORT_DONE) "\n"
	"2:	jmp 2b\n"
	/* CPL 3: load DS with the selector in RCX (reads the GDT) */
	".Lsh_user_lds:\n"
	"	mov %ecx, %ds\n"
	"	out %al, $" S(PORT_DONE) "\n"
	"8:	jmp 8b\n"
	"sh_pf:\n"
	"	pop %rdx\n"
	"	mov %cr2, %rsi\n"
	"	out %al, $" S(PORT_PF) "\n"
	"3:	jmp 3b\n"
	/* #GP and #SS: RDX = error code, RSI = vector, then as sh_bad */
	"sh_gp:\n"
	"	pop %rdx\n"
	"	mov $13, %esi\n"
	"	jmp sh_bad\n"
	"sh_ss:\n"
	"	pop %rdx\n"
	"	mov $12, %esi\n"
	"sh_bad:\n"
	"	out %al, $" S(PORT_BAD) "\n"
	"4:	jmp 4b\n"
	"sh_code_end:\n"
	".popsection\n");

extern const unsigned char sh_code_start[], sh_loop[], sh_user[], sh_pf[],
	sh_gp[], sh_ss[], sh_bad[], sh_code_end[];

#define OFF(sym)	(CODE_GPA + (uint64_t)((sym) - sh_code_start))

/* What one operation ended with. */
struct sh_result {
	int port;		/* PORT_*, or 0 for an MMIO exit */
	uint64_t rcx, rdx, rsi;
	struct kvm_run mmio;	/* the MMIO exit, when port is 0 */
};

FIXTURE(sh)
{
	int devfd, vmfd, vcpufd;
	struct kvm_run *run;
	long run_size;
	uint8_t *mem;
	struct kvm_sregs sregs0;
};

static uint64_t *pte(FIXTURE_DATA(sh) *self, uint64_t gpa)
{
	return (uint64_t *)(self->mem + gpa);
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = l;
	s->db = !l;
	s->g = 1;
	s->dpl = sel & 3;
}

/* Address space A: 0-2M identity (4K), the window (2M-4M), 4M-6M huge. */
static void build_space_a(FIXTURE_DATA(sh) *self)
{
	uint64_t i;

	*pte(self, PML4_A) = PDPT_A | P | RW | US;
	*pte(self, PDPT_A) = PD_A | P | RW | US;
	*pte(self, PD_A) = PT_A0 | P | RW | US;
	*pte(self, PD_A + 8) = PT_A1 | P | RW | US;
	*pte(self, PD_A + 16) = HUGE_VA | P | RW | PS;
	for (i = 0; i < 512; i++)
		*pte(self, PT_A0 + i * 8) = (i << 12) | P | RW;
	/* The code page is the user's too (OP_USER_R64). */
	*pte(self, PT_A0 + (CODE_GPA >> 12) * 8) |= US;
	*pte(self, PT_A0) = 0;	/* page 0 unmapped */
	/* Window: page n -> data page n, for n < 16. */
	for (i = 0; i < 16; i++)
		*pte(self, PT_A1 + i * 8) = (DATA_GPA + (i << 12)) | P | RW;
}

static void put_gate(FIXTURE_DATA(sh) *self, int vec, uint64_t handler)
{
	uint32_t *g = (uint32_t *)(self->mem + IDT_GPA + vec * 16);

	g[0] = (handler & 0xffff) | (0x08 << 16);
	g[1] = (handler & 0xffff0000) | 0x8e00;	/* P, DPL 0, interrupt gate */
	g[2] = handler >> 32;
	g[3] = 0;
}

FIXTURE_SETUP(sh)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
	};
	uint64_t *gdt;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs *s = &self->sregs0;
	int i, m;

	m = kvmmu_shadow_mode();
	ASSERT_EQ(1, m) TH_LOG("the MMU under test is not the shadow one (tdp/npt)");
	self->devfd = kvmmu_open_dev();
	ASSERT_LE(0, self->devfd);
	self->vmfd = kvmmu_create_vm(self->devfd, 0);
	ASSERT_LE(0, self->vmfd);
	self->mem = kvmmu_alloc(MEM_SIZE);
	ASSERT_NE(NULL, self->mem);
	r.userspace_addr = (uintptr_t)self->mem;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	self->vcpufd = kvmmu_ioctl(self->vmfd, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, self->vcpufd);
	self->run_size = kvmmu_ioctl(self->devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, self->run_size);
	self->run = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->vcpufd, 0);
	ASSERT_NE(MAP_FAILED, self->run);
	cpuid = kvmmu_supported_cpuid(self->devfd);
	ASSERT_NE(NULL, cpuid);
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_CPUID2,
				 (unsigned long)cpuid));
	free(cpuid);

	memcpy(self->mem + CODE_GPA, sh_code_start, sh_code_end - sh_code_start);
	gdt = (uint64_t *)(self->mem + GDT_GPA);
	gdt[1] = 0x00209a0000000000ULL;	/* 0x08 code64 DPL 0 */
	gdt[2] = 0x0000920000000000ULL;	/* 0x10 data DPL 0 */
	gdt[3] = 0x0000f20000000000ULL;	/* 0x18 data DPL 3 */
	gdt[4] = 0x0020fa0000000000ULL;	/* 0x20 code64 DPL 3 */
	for (i = 0; i < 32; i++)
		put_gate(self, i, OFF(sh_bad));
	put_gate(self, 14, OFF(sh_pf));
	put_gate(self, 12, OFF(sh_ss));
	put_gate(self, 13, OFF(sh_gp));
	*(uint64_t *)(self->mem + TSS_GPA + 4) = STACK_TOP;	/* RSP0 */
	build_space_a(self);

	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS, (unsigned long)s));
	seg(&s->cs, 0x08, 11, 1);
	seg(&s->ds, 0x10, 3, 0);
	s->es = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ss = s->ds;
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = 0x28;
	s->tr.base = TSS_GPA;
	s->tr.limit = 0x67;
	s->tr.type = 11;
	s->tr.present = 1;
	s->gdt.base = GDT_GPA;
	s->gdt.limit = 0x37;
	s->idt.base = IDT_GPA;
	s->idt.limit = 0xfff;
	s->cr0 = 0x80010033;	/* PG WP NE ET MP PE */
	s->cr3 = PML4_A;
	s->cr4 = 0x20;		/* PAE */
	s->efer = 0x500;	/* LME LMA */
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS, (unsigned long)s));
}

FIXTURE_TEARDOWN(sh)
{
	if (self->run && self->run != MAP_FAILED)
		munmap(self->run, self->run_size);
	if (self->vcpufd >= 0)
		close(self->vcpufd);
	if (self->vmfd >= 0)
		close(self->vmfd);
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->mem)
		munmap(self->mem, MEM_SIZE);
}

/* Run until the guest reports; MMIO exits are returned to the caller. */
static int run_report(int vcpufd, struct kvm_run *run, struct sh_result *res)
{
	struct kvm_regs regs;
	int r;

	r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
	if (r)
		return r;
	memset(res, 0, sizeof(*res));
	if (run->exit_reason == KVM_EXIT_MMIO) {
		res->mmio = *run;
		return 0;
	}
	if (run->exit_reason != KVM_EXIT_IO)
		return -1000 - (int)run->exit_reason;
	res->port = run->io.port;
	r = kvmmu_ioctl(vcpufd, KVM_GET_REGS, (unsigned long)&regs);
	if (r)
		return r;
	res->rcx = regs.rcx;
	res->rdx = regs.rdx;
	res->rsi = regs.rsi;
	return 0;
}

static int sh_run(FIXTURE_DATA(sh) *self, struct sh_result *res)
{
	return run_report(self->vcpufd, self->run, res);
}

/*
 * Start the operation in @regs (RAX) at the top of the loop, in ring 0,
 * and run it.
 */
static int sh_do_regs(FIXTURE_DATA(sh) *self, struct kvm_regs *regs,
		      struct sh_result *res)
{
	struct kvm_sregs s;
	int r;

	regs->rip = OFF(sh_loop);
	regs->rsp = STACK_TOP;
	/* EFLAGS.AC as the caller asks (SMAP), else only the fixed bit. */
	regs->rflags = 2 | (regs->rflags & AC_FLAG);
	/* Back to ring 0 after a user operation or an exception. */
	r = kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS, (unsigned long)&s);
	if (r)
		return r;
	s.cs = self->sregs0.cs;
	s.ss = self->sregs0.ss;
	s.ds = self->sregs0.ds;
	r = kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS, (unsigned long)&s);
	if (!r)
		r = kvmmu_ioctl(self->vcpufd, KVM_SET_REGS, (unsigned long)regs);
	return r ? r : sh_run(self, res);
}

/* Operation @op; RDX is a second operand of a few. */
static int sh_do_rdx(FIXTURE_DATA(sh) *self, int op, uint64_t rbx,
		     uint64_t rcx, uint64_t rdx, struct sh_result *res)
{
	struct kvm_regs regs = {
		.rax = op, .rbx = rbx, .rcx = rcx, .rdx = rdx,
	};

	return sh_do_regs(self, &regs, res);
}

static int sh_do(FIXTURE_DATA(sh) *self, int op, uint64_t rbx, uint64_t rcx,
		 struct sh_result *res)
{
	return sh_do_rdx(self, op, rbx, rcx, 0, res);
}

/* Operations that must simply complete. */
static uint64_t must(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sh) *self, int op, uint64_t rbx,
		     uint64_t rcx)
{
	struct sh_result res;

	EXPECT_EQ(0, sh_do(self, op, rbx, rcx, &res));
	EXPECT_EQ(PORT_DONE, res.port) {
		TH_LOG("op %d at %#llx: port %#x error %#llx cr2 %#llx", op,
		       (unsigned long long)rbx, res.port,
		       (unsigned long long)res.rdx,
		       (unsigned long long)res.rsi);
	}
	return res.rcx;
}

/* As must(), with RDX; the guest's RCX and RDX after it. */
static struct sh_result must_rdx(struct __test_metadata *_metadata,
				 FIXTURE_DATA(sh) *self, int op, uint64_t rbx,
				 uint64_t rcx, uint64_t rdx)
{
	struct sh_result res;

	EXPECT_EQ(0, sh_do_rdx(self, op, rbx, rcx, rdx, &res));
	EXPECT_EQ(PORT_DONE, res.port) {
		TH_LOG("op %d at %#llx: port %#x exit %d error %#llx cr2 %#llx",
		       op, (unsigned long long)rbx, res.port,
		       self->run->exit_reason, (unsigned long long)res.rdx,
		       (unsigned long long)res.rsi);
	}
	return res;
}

static void expect_pf(struct __test_metadata *_metadata,
		      FIXTURE_DATA(sh) *self, int op, uint64_t addr,
		      uint64_t error)
{
	struct sh_result res;

	ASSERT_EQ(0, sh_do(self, op, addr, 0x1234, &res));
	ASSERT_EQ(PORT_PF, res.port);
	EXPECT_EQ(error, res.rdx);
	EXPECT_EQ(addr, res.rsi);
}

TEST_F(sh, rw_through_mappings)
{
	uint64_t v = 0x1122334455667788ULL;

	must(_metadata, self, OP_W64, WINDOW + 8, v);
	EXPECT_EQ(v, *(uint64_t *)(self->mem + DATA_GPA + 8));
	*(uint64_t *)(self->mem + DATA_GPA + 0x1010) = ~v;
	EXPECT_EQ(~v, must(_metadata, self, OP_R64, WINDOW + 0x1010, 0));
	/* Through the 0-2M identity map and the 2M page at 4M. */
	*(uint64_t *)(self->mem + 0x50000) = 0xfeedULL;
	EXPECT_EQ(0xfeedULL, must(_metadata, self, OP_R64, 0x50000, 0));
	*(uint64_t *)(self->mem + HUGE_VA + 0x12340) = 0xbeefULL;
	EXPECT_EQ(0xbeefULL, must(_metadata, self, OP_R64,
				  HUGE_VA + 0x12340, 0));
	must(_metadata, self, OP_W64, HUGE_VA + 0x1ff000, v);
	EXPECT_EQ(v, *(uint64_t *)(self->mem + HUGE_VA + 0x1ff000));
}

TEST_F(sh, sregs_are_the_guests)
{
	struct kvm_sregs s;

	EXPECT_EQ(PML4_A, must(_metadata, self, OP_GETCR3, 0, 0));
	EXPECT_EQ(0x80010033ULL, must(_metadata, self, OP_GETCR0, 0, 0));
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS,
				 (unsigned long)&s));
	EXPECT_EQ(0x80010033ULL, s.cr0);
	EXPECT_EQ(PML4_A, s.cr3);
	EXPECT_EQ(0x20ULL, s.cr4);
	EXPECT_EQ(0x500ULL, s.efer);
}

TEST_F(sh, pf_not_present)
{
	*pte(self, PT_A1 + 3 * 8) = 0;
	expect_pf(_metadata, self, OP_R64, WINDOW + 0x3008, 0);
	expect_pf(_metadata, self, OP_W64, WINDOW + 0x3010, 2);
	/* Page 0 of the identity map is not present either. */
	expect_pf(_metadata, self, OP_R64, 0x18, 0);
	/* Nothing was written where the PTE used to point. */
	EXPECT_EQ(0ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x3010));
}

TEST_F(sh, pf_write_read_only)
{
	*pte(self, PT_A1 + 4 * 8) &= ~RW;
	*(uint64_t *)(self->mem + DATA_GPA + 0x4000) = 77;
	EXPECT_EQ(77ULL, must(_metadata, self, OP_R64, WINDOW + 0x4000, 0));
	expect_pf(_metadata, self, OP_W64, WINDOW + 0x4000, 3);
	EXPECT_EQ(77ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x4000));
}

TEST_F(sh, pf_user_supervisor)
{
	/* The window is supervisor-only. */
	expect_pf(_metadata, self, OP_USER_R64, WINDOW + 0x5000, 5);
	/* A user page reads fine from CPL 3. */
	*(uint64_t *)(self->mem + DATA_GPA + 0x5000) = 99;
	*pte(self, PT_A1 + 5 * 8) |= US;
	EXPECT_EQ(99ULL, must(_metadata, self, OP_USER_R64,
			      WINDOW + 0x5000, 0));
}

TEST_F(sh, pte_edit_invlpg)
{
	uint64_t va = WINDOW + 6 * 0x1000, ptep = PT_A1 + 6 * 8;

	*(uint64_t *)(self->mem + DATA_GPA + 0x6000) = 0x6666;
	*(uint64_t *)(self->mem + DATA_GPA + 0x7000) = 0x7777;
	EXPECT_EQ(0x6666ULL, must(_metadata, self, OP_R64, va, 0));
	/* The guest points the PTE at data page 7, through its identity map. */
	must(_metadata, self, OP_W64, ptep, (DATA_GPA + 0x7000) | P | RW);
	EXPECT_EQ((DATA_GPA + 0x7000) | P | RW, *pte(self, ptep) & ~ACC);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x7777ULL, must(_metadata, self, OP_R64, va, 0));
	/* ...and a write goes to page 7 too. */
	must(_metadata, self, OP_W64, va + 8, 0xabcd);
	EXPECT_EQ(0xabcdULL, *(uint64_t *)(self->mem + DATA_GPA + 0x7008));
	EXPECT_EQ(0ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x6008));
	/* Unmapped by the guest: not present. */
	must(_metadata, self, OP_W64, ptep, 0);
	must(_metadata, self, OP_INVLPG, va, 0);
	expect_pf(_metadata, self, OP_R64, va, 0);
}

TEST_F(sh, pte_edit_self_mapped)
{
	/* PT_A0 maps itself: the store's own walk goes through it. */
	uint64_t va = 0x60000, ptep = PT_A0 + (va >> 12) * 8;

	*(uint64_t *)(self->mem + 0x60000) = 0x60;
	*(uint64_t *)(self->mem + 0x61000) = 0x61;
	EXPECT_EQ(0x60ULL, must(_metadata, self, OP_R64, va, 0));
	must(_metadata, self, OP_R64, ptep, 0);
	must(_metadata, self, OP_W64, ptep, 0x61000 | P | RW);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x61ULL, must(_metadata, self, OP_R64, va, 0));
	EXPECT_EQ(0x61000 | P | RW, *pte(self, ptep) & ~(ACC | DIRTY));
}

TEST_F(sh, cr3_switch)
{
	uint64_t i;

	*(uint64_t *)(self->mem + DATA_GPA + 0x8000) = 0xaaaa;
	*(uint64_t *)(self->mem + DATA_GPA + 0x9000) = 0xbbbb;
	/* The guest builds space B: same low 2M, window page 0 -> data 9. */
	must(_metadata, self, OP_W64, PML4_B, PDPT_B | P | RW | US);
	must(_metadata, self, OP_W64, PDPT_B, PD_B | P | RW | US);
	must(_metadata, self, OP_W64, PD_B, PT_A0 | P | RW | US);
	must(_metadata, self, OP_W64, PD_B + 8, PT_B1 | P | RW | US);
	must(_metadata, self, OP_W64, PT_B1, (DATA_GPA + 0x9000) | P | RW);
	*pte(self, PT_A1) = (DATA_GPA + 0x8000) | P | RW;

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0xaaaaULL, must(_metadata, self, OP_R64, WINDOW, 0));
		must(_metadata, self, OP_SETCR3, PML4_B, 0);
		EXPECT_EQ(PML4_B, must(_metadata, self, OP_GETCR3, 0, 0));
		EXPECT_EQ(0xbbbbULL, must(_metadata, self, OP_R64, WINDOW, 0));
		/* Window page 1: mapped in A only. */
		expect_pf(_metadata, self, OP_R64, WINDOW + 0x1000, 0);
		must(_metadata, self, OP_W64, WINDOW + 16, 0xb0 + i);
		must(_metadata, self, OP_SETCR3, PML4_A, 0);
	}
	EXPECT_EQ(0xb2ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x9010));
	EXPECT_EQ(0ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x8010));
}

TEST_F(sh, accessed_dirty)
{
	uint64_t w = PT_A1 + 10 * 8, r = PT_A1 + 11 * 8;

	/* Fresh entries without A: the host cleared them at build time. */
	*pte(self, PML4_A) &= ~(ACC | DIRTY);
	*pte(self, PDPT_A) &= ~(ACC | DIRTY);
	*pte(self, PD_A + 8) &= ~(ACC | DIRTY);
	EXPECT_EQ(0ULL, *pte(self, w) & (ACC | DIRTY));
	must(_metadata, self, OP_R64, WINDOW + 11 * 0x1000, 0);
	must(_metadata, self, OP_W64, WINDOW + 10 * 0x1000, 5);
	EXPECT_EQ(ACC | DIRTY, *pte(self, w) & (ACC | DIRTY));
	EXPECT_EQ(ACC, *pte(self, r) & (ACC | DIRTY));
	EXPECT_EQ(ACC, *pte(self, PML4_A) & ACC);
	EXPECT_EQ(ACC, *pte(self, PDPT_A) & ACC);
	EXPECT_EQ(ACC, *pte(self, PD_A + 8) & ACC);
	/* A read-then-write page gets D at the write. */
	must(_metadata, self, OP_W64, WINDOW + 11 * 0x1000, 6);
	EXPECT_EQ(ACC | DIRTY, *pte(self, r) & (ACC | DIRTY));
	EXPECT_EQ(6ULL, *(uint64_t *)(self->mem + DATA_GPA + 11 * 0x1000));
}

TEST_F(sh, mmio_behind_mapping)
{
	struct sh_result res;
	uint64_t va = WINDOW + 12 * 0x1000 + 0x18;
	uint64_t v = 0x0102030405060708ULL;

	*pte(self, PT_A1 + 12 * 8) = MMIO_GPA | P | RW;
	ASSERT_EQ(0, sh_do(self, OP_R64, va, 0, &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 0x18, res.mmio.mmio.phys_addr);
	EXPECT_EQ(8U, res.mmio.mmio.len);
	EXPECT_EQ(0, res.mmio.mmio.is_write);
	memcpy(self->run->mmio.data, &v, 8);
	ASSERT_EQ(0, sh_run(self, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(v, res.rcx);

	ASSERT_EQ(0, sh_do(self, OP_W64, va, ~v, &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 0x18, res.mmio.mmio.phys_addr);
	EXPECT_EQ(1, res.mmio.mmio.is_write);
	EXPECT_EQ(0, memcmp(res.mmio.mmio.data, &(uint64_t){ ~v }, 8));
	ASSERT_EQ(0, sh_run(self, &res));
	EXPECT_EQ(PORT_DONE, res.port);
}

TEST_F(sh, host_dontneed)
{
	uint64_t va = WINDOW + 13 * 0x1000;
	uint8_t *page = self->mem + DATA_GPA + 13 * 0x1000;

	*(uint64_t *)page = 0x1313;
	EXPECT_EQ(0x1313ULL, must(_metadata, self, OP_R64, va, 0));
	must(_metadata, self, OP_W64, va + 8, 0x1414);
	ASSERT_EQ(0, madvise(page, 0x1000, MADV_DONTNEED));
	EXPECT_EQ(0ULL, must(_metadata, self, OP_R64, va, 0));
	EXPECT_EQ(0ULL, must(_metadata, self, OP_R64, va + 8, 0));
	must(_metadata, self, OP_W64, va, 0x1515);
	EXPECT_EQ(0x1515ULL, *(uint64_t *)page);
}

/*
 * The VMM drops the host page of a guest page table (PT_A1, the window's)
 * that the guest has translated through. KVM's invalidation zaps the
 * leaves that map the dropped range, not the shadow page of the table
 * (kvm_unmap_gfn_range() walks the rmap only): the shadow keeps the old
 * translation, and INVLPG of a table in sync does not reread it. A walk
 * that the shadow cannot answer reads the table anew (zeros: not
 * present), and a store by the guest to the table is tracked as before.
 * kvmmu zapped the table's shadow page here once, so the first read
 * after the madvise was a #PF. The data pages are 2M and more above
 * PT_A1: a THP split by the madvise invalidates the whole 2M around it
 * (their leaves would go, and the next walk would read zeros).
 */
#define DONTNEED_DATA	0x300000UL

TEST_F(sh, host_dontneed_page_table)
{
	uint64_t va = WINDOW + 3 * 0x1000, ptep = PT_A1 + 3 * 8;

	*(uint64_t *)(self->mem + DONTNEED_DATA) = 0x3333;
	*(uint64_t *)(self->mem + DONTNEED_DATA + 0x1000) = 0x5555;
	*pte(self, ptep) = DONTNEED_DATA | P | RW;
	EXPECT_EQ(0x3333ULL, must(_metadata, self, OP_R64, va, 0));
	ASSERT_EQ(0, madvise(self->mem + PT_A1, 0x1000, MADV_DONTNEED));
	EXPECT_EQ(0ULL, *pte(self, ptep));
	EXPECT_EQ(0x3333ULL, must(_metadata, self, OP_R64, va, 0));
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x3333ULL, must(_metadata, self, OP_R64, va, 0));
	/* Entry 12 was never used (nor prefetched: A clear): read anew. */
	expect_pf(_metadata, self, OP_R64, WINDOW + 12 * 0x1000, 0);
	/* The guest's own store to the table, then INVLPG: the next page. */
	must(_metadata, self, OP_W64, ptep, (DONTNEED_DATA + 0x1000) | P | RW);
	EXPECT_EQ((DONTNEED_DATA + 0x1000) | P | RW, *pte(self, ptep) & ~ACC);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x5555ULL, must(_metadata, self, OP_R64, va, 0));
}

/* KVM_GET_DIRTY_LOG of slot 0: is the page at @gpa logged? */
static int logged(const uint64_t *bits, uint64_t gpa)
{
	return !!(bits[(gpa >> 12) / 64] & (1ULL << ((gpa >> 12) % 64)));
}

static int get_log(FIXTURE_DATA(sh) *self, uint64_t *bits)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };

	memset(bits, 0, MEM_SIZE / 4096 / 8);
	return kvmmu_ioctl(self->vmfd, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

TEST_F(sh, dirty_log)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)self->mem,
	};
	uint64_t bits[MEM_SIZE / 4096 / 64];
	int i;

	/* Map pages 0-3 of the window writable in the shadow tables first. */
	for (i = 0; i < 4; i++)
		must(_metadata, self, OP_W64, WINDOW + i * 0x1000, i);
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	ASSERT_EQ(0, get_log(self, bits));
	for (i = 0; i < 3; i++) {
		must(_metadata, self, OP_W64, WINDOW + 0x1000, 0x100 + i);
		must(_metadata, self, OP_R64, WINDOW + 0x2000, 0);
		ASSERT_EQ(0, get_log(self, bits));
		EXPECT_EQ(1, logged(bits, DATA_GPA + 0x1000));
		EXPECT_EQ(0, logged(bits, DATA_GPA + 0x2000));
		EXPECT_EQ(0, logged(bits, DATA_GPA));
		EXPECT_EQ(0, logged(bits, DATA_GPA + 0x3000));
	}
	EXPECT_EQ(0x102ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x1000));
	/* Nothing written since the last harvest: nothing logged. */
	must(_metadata, self, OP_R64, WINDOW + 0x1000, 0);
	ASSERT_EQ(0, get_log(self, bits));
	EXPECT_EQ(0, logged(bits, DATA_GPA + 0x1000));
}

TEST_F(sh, slot_delete)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = MMIO_GPA, .memory_size = 0x10000,
	};
	uint64_t va = WINDOW + 14 * 0x1000;
	uint8_t *mem2 = kvmmu_alloc(0x10000);
	struct sh_result res;

	ASSERT_NE(NULL, mem2);
	r.userspace_addr = (uintptr_t)mem2;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	*(uint64_t *)(mem2 + 0x2000) = 0x2222;
	*pte(self, PT_A1 + 14 * 8) = (MMIO_GPA + 0x2000) | P | RW;
	EXPECT_EQ(0x2222ULL, must(_metadata, self, OP_R64, va, 0));
	r.memory_size = 0;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	ASSERT_EQ(0, sh_do(self, OP_R64, va, 0, &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 0x2000, res.mmio.mmio.phys_addr);
	munmap(mem2, 0x10000);
}

/* A VM statistic from KVM_GET_STATS_FD, or -1 if there is none. */
static long long vm_stat(struct __test_metadata *_metadata, int vmfd,
			 const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	long long r = -1;
	unsigned int i;
	size_t dsize;
	char *descs;
	uint64_t v;
	int fd = kvmmu_ioctl(vmfd, KVM_GET_STATS_FD, 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(h), pread(fd, &h, sizeof(h), 0));
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	ASSERT_NE(NULL, descs);
	ASSERT_EQ((ssize_t)(h.num_desc * dsize),
		  pread(fd, descs, h.num_desc * dsize, h.desc_offset));
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strcmp(d->name, name))
			continue;
		ASSERT_EQ(sizeof(v), pread(fd, &v, sizeof(v),
					   h.data_offset + d->offset));
		r = (long long)v;
	}
	free(descs);
	close(fd);
	return r;
}

#define SPACES_GPA	0x600000UL	/* 3 pages per space, up to 8M */
#define NR_SPACES	150

/*
 * The shadow page budget (KVM's n_max_mmu_pages): each address space has
 * its own PML4, PDPT and PD (PD[0] is space A's PT_A0), so each CR3 load
 * and the code fetch after it shadow three new guest tables. Without
 * reclaim the VM would keep about 450 shadow pages.
 */
TEST_F(sh, page_budget)
{
	long long tables;
	uint64_t base;
	int i;

	EXPECT_EQ(-EINVAL, kvmmu_ioctl(self->vmfd, KVM_SET_NR_MMU_PAGES, 63));
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_NR_MMU_PAGES, 64));
	for (i = 0; i < NR_SPACES; i++) {
		base = SPACES_GPA + i * 3 * 0x1000UL;
		*pte(self, base) = (base + 0x1000) | P | RW | US;
		*pte(self, base + 0x1000) = (base + 0x2000) | P | RW | US;
		*pte(self, base + 0x2000) = PT_A0 | P | RW | US;
	}
	for (i = 0; i < NR_SPACES; i++) {
		base = SPACES_GPA + i * 3 * 0x1000UL;
		must(_metadata, self, OP_SETCR3, base, 0);
		ASSERT_EQ(base, must(_metadata, self, OP_GETCR3, 0, 0));
	}
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	*(uint64_t *)(self->mem + DATA_GPA) = 0xb0d6e7;
	EXPECT_EQ(0xb0d6e7ULL, must(_metadata, self, OP_R64, WINDOW, 0));
	tables = vm_stat(_metadata, self->vmfd, "table_pages");
	if (kvmmu_is_stock())
		return;
	EXPECT_LE(1, tables);
	/* KVM's check is soft too: a fault may pass it by a few pages. */
	EXPECT_GE(64 + 8, tables);
}

/* /proc/vmstat's nr_sec_page_table_pages, per-CPU deltas folded first. */
static long long vmstat_sec_pagetables(void)
{
	long long v = -1;
	char line[128];
	FILE *f;

	kvmmu_write_file("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nr_sec_page_table_pages %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Shadow pages are the VMM's secondary page tables (KVM's
 * kvm_account_mmu_page()): a second address space, whose PML4, PDPT and
 * PD are new to the MMU, adds at least three to /proc/vmstat's count.
 */
TEST_F(sh, sec_pagetables_counted)
{
	uint64_t base = SPACES_GPA;
	long long before, after;

	*pte(self, base) = (base + 0x1000) | P | RW | US;
	*pte(self, base + 0x1000) = (base + 0x2000) | P | RW | US;
	*pte(self, base + 0x2000) = PT_A0 | P | RW | US;
	must(_metadata, self, OP_GETCR3, 0, 0);
	before = vmstat_sec_pagetables();
	ASSERT_LE(0, before) TH_LOG("no nr_sec_page_table_pages in /proc/vmstat");
	must(_metadata, self, OP_SETCR3, base, 0);
	ASSERT_EQ(base, must(_metadata, self, OP_GETCR3, 0, 0));
	after = vmstat_sec_pagetables();
	EXPECT_LE(before + 3, after) TH_LOG("nr_sec_page_table_pages %lld -> %lld",
					    before, after);
}

/*
 * Host memory pressure (drop_caches runs every shrinker): shadow pages go
 * (KVM: mmu_shrink_scan() zaps the oldest, counted in mmu_recycled; kvmmu:
 * table_pages falls) while the budget would have kept them, and the guest
 * runs on through all its address spaces. KVM's shrinker counts ten seeks
 * per object, so one drop may only defer the work: up to 20 drops.
 */
static void drop_caches(struct __test_metadata *_metadata)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(1, write(fd, "2", 1));
	close(fd);
}

TEST_F(sh, shrinker_reclaims)
{
	const char *stat = kvmmu_is_stock() ? "mmu_recycled" : "table_pages";
	long long before, after = 0;
	uint64_t base;
	int i;

	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_NR_MMU_PAGES, 4096));
	for (i = 0; i < NR_SPACES; i++) {
		base = SPACES_GPA + i * 3 * 0x1000UL;
		*pte(self, base) = (base + 0x1000) | P | RW | US;
		*pte(self, base + 0x1000) = (base + 0x2000) | P | RW | US;
		*pte(self, base + 0x2000) = PT_A0 | P | RW | US;
	}
	for (i = 0; i < NR_SPACES; i++)
		must(_metadata, self, OP_SETCR3,
		     SPACES_GPA + i * 3 * 0x1000UL, 0);
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	before = vm_stat(_metadata, self->vmfd, stat);
	ASSERT_LE(0, before);
	if (!kvmmu_is_stock())
		ASSERT_LE(3 * NR_SPACES, before);
	for (i = 0; i < 20; i++) {
		drop_caches(_metadata);
		after = vm_stat(_metadata, self->vmfd, stat);
		if (kvmmu_is_stock() ? after > before : after < before / 2)
			break;
	}
	if (kvmmu_is_stock()) {
		EXPECT_LT(before, after);
	} else {
		EXPECT_GT(before / 2, after);
	}
	TH_LOG("%s: %lld before, %lld after %d drops", stat, before, after,
	       i + 1);
	/* Every space still works, and the data through space A. */
	for (i = 0; i < NR_SPACES; i++) {
		base = SPACES_GPA + i * 3 * 0x1000UL;
		must(_metadata, self, OP_SETCR3, base, 0);
		ASSERT_EQ(base, must(_metadata, self, OP_GETCR3, 0, 0));
	}
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	*(uint64_t *)(self->mem + DATA_GPA) = 0x5a1e;
	EXPECT_EQ(0x5a1eULL, must(_metadata, self, OP_R64, WINDOW, 0));
}

#define SP_MAX	256

/* The page of @sp[0 .. n - 1] shadowing guest table @gfn, valid; or NULL. */
static const struct kvmmu_sp_info *sp_table(const struct kvmmu_sp_info *sp,
					    int n, uint64_t gfn)
{
	const struct kvmmu_sp_info *found = NULL;
	int i;

	for (i = 0; i < n; i++) {
		if (sp[i].gfn != gfn || sp[i].direct || sp[i].invalid)
			continue;
		if (found)	/* one role per table in this guest */
			return NULL;
		found = &sp[i];
	}
	return found;
}

/*
 * debugfs shadow_pages (kvmmu only): after the guest ran through its
 * 4-level tables, a root of the guest's CR3 (level 4, one root user, no
 * parent), a page per guest table below it (one parent each) and a direct
 * page under the 2M guest page; after the slot is deleted no valid page
 * of those tables is left and no page maps anything.
 */
TEST_F(sh, debugfs_shadow_pages)
{
	static const struct {
		uint64_t gpa;
		unsigned int level;
	} tables[] = {
		{ PML4_A, 4 }, { PDPT_A, 3 }, { PD_A, 2 }, { PT_A0, 1 },
		{ PT_A1, 1 },
	};
	struct kvm_userspace_memory_region r = { .slot = 0 };
	const struct kvmmu_sp_info *t;
	struct kvmmu_sp_info *sp;
	struct kvm_sregs s;
	unsigned int i;
	int n, j, huge = 0;

	if (kvmmu_is_stock())
		SKIP(return, "kvmmu's debugfs");
	ASSERT_EQ(0, kvmmu_mount_debugfs());
	sp = calloc(SP_MAX, sizeof(*sp));
	ASSERT_NE(NULL, sp);

	must(_metadata, self, OP_W64, WINDOW + 8, 0x5a);
	*(uint64_t *)(self->mem + HUGE_VA + 0x3000) = 0x77;
	EXPECT_EQ(0x77ULL, must(_metadata, self, OP_R64, HUGE_VA + 0x3000, 0));
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS,
				 (unsigned long)&s));
	ASSERT_EQ(PML4_A, s.cr3);

	n = kvmmu_read_shadow_pages(self->vmfd, sp, SP_MAX);
	ASSERT_LE(1, n) TH_LOG("shadow_pages: %s", strerror(-n));
	ASSERT_GE(SP_MAX, n);
	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		t = sp_table(sp, n, tables[i].gpa >> 12);
		ASSERT_NE(NULL, t) TH_LOG("no single page for table %#llx",
					  (unsigned long long)tables[i].gpa);
		EXPECT_EQ(tables[i].level, t->level);
		EXPECT_EQ(0U, t->gpte4);
		EXPECT_EQ(0U, t->quadrant);
		EXPECT_EQ(0U, t->pae_root);
		EXPECT_EQ(1U, t->cr0_wp);
		EXPECT_EQ(0U, t->efer_nx);	/* EFER 0x500: no NXE */
		EXPECT_STREQ("uwx", t->access);
		EXPECT_EQ(0U, t->unsync);
		EXPECT_LE(1U, t->sptes);
		if (tables[i].level == 4) {
			EXPECT_EQ(s.cr3 >> 12, t->gfn);
			EXPECT_EQ(1, t->roots);
			EXPECT_EQ(0U, t->parents);
		} else {
			EXPECT_EQ(0, t->roots);
			EXPECT_EQ(1U, t->parents);
		}
	}
	/* The 2M guest page: a direct level-1 page of its first frame. */
	for (j = 0; j < n; j++) {
		if (sp[j].gfn != HUGE_VA >> 12 || !sp[j].direct)
			continue;
		huge++;
		EXPECT_EQ(1U, sp[j].level);
		EXPECT_EQ(1U, sp[j].parents);
		EXPECT_LE(1U, sp[j].sptes);
	}
	EXPECT_EQ(1, huge);

	/* The slot goes: the tables' pages with it, and every leaf. */
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	n = kvmmu_read_shadow_pages(self->vmfd, sp, SP_MAX);
	ASSERT_LE(0, n) TH_LOG("shadow_pages: %s", strerror(-n));
	ASSERT_GE(SP_MAX, n);
	for (i = 0; i < ARRAY_SIZE(tables); i++)
		EXPECT_EQ(NULL, sp_table(sp, n, tables[i].gpa >> 12))
			TH_LOG("table %#llx still shadowed",
			       (unsigned long long)tables[i].gpa);
	for (j = 0; j < n; j++)
		EXPECT_EQ(0U, sp[j].sptes) TH_LOG("gfn %#llx level %u",
						  (unsigned long long)sp[j].gfn,
						  sp[j].level);
	free(sp);
}

/* Entry @gfn of the VM's debugfs pagemap (pagemap.h), or 0 on error. */
static uint64_t sh_pagemap_entry(int vmfd, uint64_t gfn)
{
	char path[160];
	uint64_t e = 0;
	int fd;

	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, getpid(), vmfd);
	strcat(path, "/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), gfn * KVMMU_PM_ENTRY_BYTES) != sizeof(e))
		e = 0;
	close(fd);
	return e;
}

/*
 * debugfs mappings and pagemap under tdp=0: the GPA -> HPA half of the
 * shadow leaves. A frame read through two guest mappings is one 4K line,
 * read-only (clean guest PTEs), with the host's PFN of its HVA; a frame
 * written is writable; a frame never touched is not listed; after the
 * slot is deleted nothing is.
 */
TEST_F(sh, debugfs_mappings)
{
	static struct g32_leaf l[4096];
	struct kvm_userspace_memory_region r = { .slot = 0 };
	uint64_t rd = DATA_GPA + 0x1000, wr = DATA_GPA + 0x2000;
	uint64_t untouched = DATA_GPA + 0x5000, pfn, e;
	const struct g32_leaf *f;
	int n, i, lines = 0;

	if (kvmmu_is_stock())
		SKIP(return, "kvmmu's debugfs");
	ASSERT_EQ(0, kvmmu_mount_debugfs());
	*(uint64_t *)(self->mem + rd) = 0x1234;

	EXPECT_EQ(0x1234ULL, must(_metadata, self, OP_R64, WINDOW + 0x1000, 0));
	EXPECT_EQ(0x1234ULL, must(_metadata, self, OP_R64, rd, 0));
	must(_metadata, self, OP_W64, WINDOW + 0x2000, 0x77);
	EXPECT_EQ(0x77ULL, *(uint64_t *)(self->mem + wr));

	n = g32_read_mappings(getpid(), self->vmfd, l, 4096);
	ASSERT_LE(1, n) TH_LOG("mappings: %s", strerror(-n));
	ASSERT_GT(4096, n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(1U, l[i].level);
		lines += l[i].gpa == rd;
	}
	EXPECT_EQ(1, lines) TH_LOG("GPA %#llx: %d lines",
				   (unsigned long long)rd, lines);
	/* The stats count leaf SPTEs: rd has two. */
	EXPECT_LE(n + 1, g32_read_stat(getpid(), self->vmfd, "pages_4k"));

	f = g32_find_leaf(l, n, rd);
	ASSERT_NE(NULL, f);
	EXPECT_EQ('-', f->flags[0]);
	pfn = g32_pagemap_pfn(self->mem + rd);
	ASSERT_NE(0ULL, pfn) TH_LOG("/proc/self/pagemap hides PFNs");
	EXPECT_EQ(pfn, f->pfn);
	e = sh_pagemap_entry(self->vmfd, rd >> 12);
	EXPECT_TRUE(e & KVMMU_PM_PRESENT);
	EXPECT_EQ(pfn, e & KVMMU_PM_PFN_MASK);
	EXPECT_EQ(0ULL, e & KVMMU_PM_LEVEL_MASK);
	EXPECT_FALSE(e & KVMMU_PM_WRITABLE);

	f = g32_find_leaf(l, n, wr);
	ASSERT_NE(NULL, f);
	EXPECT_EQ('w', f->flags[0]);
	EXPECT_EQ(g32_pagemap_pfn(self->mem + wr), f->pfn);
	EXPECT_TRUE(sh_pagemap_entry(self->vmfd, wr >> 12) & KVMMU_PM_WRITABLE);

	EXPECT_EQ(NULL, g32_find_leaf(l, n, untouched));
	e = sh_pagemap_entry(self->vmfd, untouched >> 12);
	EXPECT_EQ(KVMMU_PM_SLOT, e) TH_LOG("entry %#llx", (unsigned long long)e);

	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	n = g32_read_mappings(getpid(), self->vmfd, l, 4096);
	EXPECT_EQ(0, n) TH_LOG("%d leaves after the slot's deletion", n);
	EXPECT_EQ(0, g32_read_stat(getpid(), self->vmfd, "pages_4k"));
	EXPECT_EQ(0ULL, sh_pagemap_entry(self->vmfd, rd >> 12));
}

/*
 * The VMM repoints the guest's 2M PDE behind the MMU (write protection
 * sees only the guest's stores) after the guest used the 2M page: the
 * next fault under it maps the new frames, not the old direct page's
 * (kvmmu only: stock KVM keeps the old child and WARNs in
 * kvm_mmu_page_set_translation(), which the console scan would charge to
 * the control).
 */
TEST_F(sh, vmm_repoints_huge_pde)
{
	const uint64_t new_pa = 0x600000;

	if (kvmmu_is_stock())
		SKIP(return, "stock KVM WARNs on this (kvm_mmu_page_set_translation)");
	/*
	 * +0x9000 is outside the aligned 8 frames around +0x3000 that the
	 * fault at +0x3000 may prefetch (direct_pte_prefetch()): a frame the
	 * old direct page has not mapped, so its first access faults.
	 */
	*(uint64_t *)(self->mem + HUGE_VA + 0x3000) = 0x11;
	*(uint64_t *)(self->mem + HUGE_VA + 0x9000) = 0x22;
	*(uint64_t *)(self->mem + new_pa + 0x9000) = 0x33;
	EXPECT_EQ(0x11ULL, must(_metadata, self, OP_R64, HUGE_VA + 0x3000, 0));

	/* The host's store, not the guest's: nothing is zapped. */
	*pte(self, PD_A + 16) = new_pa | P | RW | PS;
	EXPECT_EQ(0x33ULL, must(_metadata, self, OP_R64, HUGE_VA + 0x9000, 0));
	/* And a page the old direct page had mapped, after a flush. */
	must(_metadata, self, OP_INVLPG, HUGE_VA + 0x3000, 0);
	*(uint64_t *)(self->mem + new_pa + 0x3000) = 0x44;
	EXPECT_EQ(0x44ULL, must(_metadata, self, OP_R64, HUGE_VA + 0x3000, 0));
}

/*
 * A fault under a guest huge page (a direct shadow page) also maps the
 * frames of its aligned group of 8 whose host pages are present (KVM's
 * direct_pte_prefetch()): the next seven reads take no #PF exit, only
 * the port I/O that ends each operation (14 exits without prefetch).
 * kvm_amd npt=0 prefetches the same way, or maps the 2M page whole.
 * KVM_GET_STATS_FD: vCPU "exits".
 */
TEST_F(sh, prefetch_direct)
{
	const uint64_t va = HUGE_VA + 0x10000;
	long long exits;
	int i;

	for (i = 0; i < 8; i++)
		*(uint64_t *)(self->mem + va + i * 0x1000) = 0x100 + i;
	EXPECT_EQ(0x100ULL, must(_metadata, self, OP_R64, va, 0));
	exits = vm_stat(_metadata, self->vcpufd, "exits");
	ASSERT_LE(0, exits);
	for (i = 1; i < 8; i++)
		EXPECT_EQ(0x100ULL + i,
			  must(_metadata, self, OP_R64, va + i * 0x1000, 0));
	exits = vm_stat(_metadata, self->vcpufd, "exits") - exits;
	TH_LOG("7 reads beside a first one, %lld exits", exits);
	EXPECT_GT(11, exits);
}

/* Without TDP KVM offers no PKU (kvm_set_cpu_caps()), so CR4.PKE is reserved. */
TEST_F(sh, no_pku)
{
	struct kvm_cpuid2 *cpuid = kvmmu_supported_cpuid(self->devfd);
	struct kvm_sregs s = self->sregs0;
	unsigned int i;

	ASSERT_NE(NULL, cpuid);
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 7 && !cpuid->entries[i].index)
			EXPECT_EQ(0, cpuid->entries[i].ecx & (1U << 3));
	free(cpuid);
	s.cr4 |= 1ULL << 22;	/* PKE */
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS,
				       (unsigned long)&s));
}

/* A guest PT in a read-only slot, A clear: KVM skips the A update. */
TEST_F(sh, review_pt_in_rom)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = 0x800000, .memory_size = 0x1000,
		.flags = KVM_MEM_READONLY,
	};
	uint64_t *rom = kvmmu_alloc(0x1000);

	ASSERT_NE(NULL, rom);
	rom[0] = (DATA_GPA + 14 * 0x1000) | P | RW;
	r.userspace_addr = (uintptr_t)rom;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	*pte(self, PD_A + 24) = 0x800000 | P | RW;
	*(uint64_t *)(self->mem + DATA_GPA + 14 * 0x1000) = 0x1414;
	EXPECT_EQ(0x1414ULL, must(_metadata, self, OP_R64, 0x600000, 0));
	EXPECT_EQ(0ULL, rom[0] & ACC);
}

/* A write to the PT that maps the running code, through an alias. */
TEST_F(sh, review_pt_write_maps_code)
{
	uint64_t alias = WINDOW + 13 * 0x1000;

	*pte(self, PT_A1 + 13 * 8) = PT_A0 | P | RW;
	*(uint64_t *)(self->mem + 0x61000) = 0x61;
	must(_metadata, self, OP_W64, alias + (0x60000 >> 12) * 8,
	     0x61000 | P | RW);
	must(_metadata, self, OP_INVLPG, 0x60000, 0);
	EXPECT_EQ(0x61ULL, must(_metadata, self, OP_R64, 0x60000, 0));
}

/* D of a 2M page set again after the guest cleared it. */
TEST_F(sh, review_huge_dirty_again)
{
	uint64_t pde = PD_A + 16;

	must(_metadata, self, OP_W64, HUGE_VA + 0x1000, 1);
	must(_metadata, self, OP_W64, HUGE_VA, 2);
	EXPECT_EQ(DIRTY, *pte(self, pde) & DIRTY);
	must(_metadata, self, OP_W64, pde, HUGE_VA | P | RW | PS | ACC);
	must(_metadata, self, OP_INVLPG, HUGE_VA, 0);
	EXPECT_EQ(0ULL, *pte(self, pde) & DIRTY);
	must(_metadata, self, OP_R64, HUGE_VA, 0);
	must(_metadata, self, OP_W64, HUGE_VA + 0x1008, 3);
	EXPECT_EQ(DIRTY, *pte(self, pde) & DIRTY);
}

/* SMSW at CPL 0 reads CR0 (a CR0 read intercept on AMD). */
TEST_F(sh, review_smsw)
{
	EXPECT_EQ(0x0033ULL, must(_metadata, self, OP_SMSW, 0, 0) & 0xffff);
}

/*
 * SMSW m16 and LMSW m16 (the CR0 read and write intercepts; KVM hands
 * them to its emulator: em_smsw(), em_lmsw()): SMSW stores CR0[15:0], two
 * bytes and no more; LMSW loads MP, EM and TS and cannot clear PE; a
 * read-only page is #PF 3 for SMSW, an absent one #PF 0 for LMSW; SMSW
 * to a page no memslot backs is an MMIO exit of two bytes.
 */
TEST_F(sh, smsw_lmsw_mem)
{
	uint8_t *page = self->mem + DATA_GPA + 3 * 0x1000;
	uint64_t va = WINDOW + 3 * 0x1000;
	uint16_t cr0_low = 0x0033;
	struct sh_result res;
	struct kvm_sregs s;

	memset(page, 0xaa, 16);
	must(_metadata, self, OP_SMSW_M, va + 8, 0);
	EXPECT_EQ(0x0033, *(uint16_t *)(page + 8));
	EXPECT_EQ(0xaaaa, *(uint16_t *)(page + 6));
	EXPECT_EQ(0xaaaa, *(uint16_t *)(page + 10));

	*(uint16_t *)page = 0x0008;	/* TS; MP and PE clear */
	EXPECT_EQ(0x80010039ULL, must(_metadata, self, OP_LMSW_M, va, 0));
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS,
				 (unsigned long)&s));
	EXPECT_EQ(0x80010039ULL, s.cr0);
	*(uint16_t *)page = 0x0002;	/* MP back, TS clear */
	EXPECT_EQ(0x80010033ULL, must(_metadata, self, OP_LMSW_M, va, 0));

	*pte(self, PT_A1 + 4 * 8) = (DATA_GPA + 4 * 0x1000) | P;
	expect_pf(_metadata, self, OP_SMSW_M, WINDOW + 4 * 0x1000 + 2, 3);
	expect_pf(_metadata, self, OP_LMSW_M, WINDOW + 16 * 0x1000, 0);

	*pte(self, PT_A1 + 12 * 8) = MMIO_GPA | P | RW;
	ASSERT_EQ(0, sh_do(self, OP_SMSW_M, WINDOW + 12 * 0x1000 + 0x10, 0,
			   &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 0x10, res.mmio.mmio.phys_addr);
	EXPECT_EQ(2U, res.mmio.mmio.len);
	EXPECT_EQ(1, res.mmio.mmio.is_write);
	EXPECT_EQ(0, memcmp(res.mmio.mmio.data, &cr0_low, 2));
	ASSERT_EQ(0, sh_run(self, &res));
	EXPECT_EQ(PORT_DONE, res.port);
}

/*
 * CR0.WP=0 and CR4.SMEP: the shadow leaf that lets the supervisor write a
 * read-only user page is a supervisor one, so SMEP would no longer see a
 * user page: it must not be executable (FNAME(page_fault)).
 */
TEST_F(sh, wp0_smep_no_exec)
{
	struct kvm_cpuid2 *cpuid = kvmmu_supported_cpuid(self->devfd);
	struct kvm_sregs s = self->sregs0;
	uint64_t va = WINDOW + 12 * 0x1000;
	struct sh_result res;
	int smep = 0;
	unsigned int i;

	ASSERT_NE(NULL, cpuid);
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 7 && !cpuid->entries[i].index)
			smep = !!(cpuid->entries[i].ebx & (1U << 7));
	free(cpuid);
	if (!smep)
		SKIP(return, "SMEP not in KVM_GET_SUPPORTED_CPUID");
	s.cr0 &= ~(1ULL << 16);	/* WP */
	s.cr4 |= 1ULL << 20;	/* SMEP */
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS,
				 (unsigned long)&s));
	/* The code must be the supervisor's under SMEP. */
	*pte(self, PT_A0 + (CODE_GPA >> 12) * 8) &= ~US;
	*pte(self, PT_A1 + 12 * 8) = (DATA_GPA + 12 * 0x1000) | P | US;
	must(_metadata, self, OP_W64, va, 0xc3);	/* RET */
	EXPECT_EQ(0xc3ULL, *(uint64_t *)(self->mem + DATA_GPA + 12 * 0x1000));
	ASSERT_EQ(0, sh_do(self, OP_CALL, va, 0, &res));
	EXPECT_EQ(PORT_PF, res.port);
	EXPECT_EQ(0x11ULL, res.rdx);	/* P, fetch */
	EXPECT_EQ(va, res.rsi);
}

/*
 * A PTE rewritten by INSL, which the kernel emulates (IOIO intercept):
 * the store bypasses write protection, so it must zap the table's shadow
 * pages itself (KVM: kvm_page_track_write()).
 */
TEST_F(sh, string_in_to_pt)
{
	uint64_t va = WINDOW + 5 * 0x1000;
	uint32_t newpte = (DATA_GPA + 6 * 0x1000) | P | RW;
	struct sh_result res;

	*(uint64_t *)(self->mem + DATA_GPA + 5 * 0x1000) = 0x5555;
	*(uint64_t *)(self->mem + DATA_GPA + 6 * 0x1000) = 0x6666;
	EXPECT_EQ(0x5555ULL, must(_metadata, self, OP_R64, va, 0));
	ASSERT_EQ(0, sh_do(self, OP_INSL, PT_A1 + 5 * 8, 0, &res));
	ASSERT_EQ(0x20, res.port);
	ASSERT_EQ(KVM_EXIT_IO_IN, self->run->io.direction);
	ASSERT_EQ(4, self->run->io.size);
	memcpy((uint8_t *)self->run + self->run->io.data_offset, &newpte, 4);
	ASSERT_EQ(0, sh_run(self, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(newpte, (uint32_t)*pte(self, PT_A1 + 5 * 8));
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x6666ULL, must(_metadata, self, OP_R64, va, 0));
}

/* The guest took #GP or #SS (@vector) with error code 0. */
static void expect_gp_ss(struct __test_metadata *_metadata,
			 const struct sh_result *res, uint64_t vector)
{
	EXPECT_EQ(PORT_BAD, res->port);
	EXPECT_EQ(vector, res->rsi);
	EXPECT_EQ(0, res->rdx);
}

/*
 * A string operand at a non-canonical address: linearize()'s #GP(0), or
 * #SS(0) for an SS-based one, not an internal error. OUTSB faults before
 * its port exit, INSB after it (the store follows the port read), MOVSB
 * from MMIO after the load exit.
 */
TEST_F(sh, string_noncanonical)
{
	uint64_t nc = 1ULL << 47, mmio = WINDOW + 12 * 0x1000 + 8;
	struct sh_result res;

	ASSERT_EQ(0, sh_do(self, OP_OUTSB, nc, 0, &res));
	expect_gp_ss(_metadata, &res, 13);
	ASSERT_EQ(0, sh_do(self, OP_OUTSB_SS, nc, 0, &res));
	expect_gp_ss(_metadata, &res, 12);

	ASSERT_EQ(0, sh_do(self, OP_INSB, nc, 0, &res));
	ASSERT_EQ(0x20, res.port);
	ASSERT_EQ(KVM_EXIT_IO_IN, self->run->io.direction);
	ASSERT_EQ(0, sh_run(self, &res));
	expect_gp_ss(_metadata, &res, 13);

	*pte(self, PT_A1 + 12 * 8) = MMIO_GPA | P | RW;
	ASSERT_EQ(0, sh_do(self, OP_MOVSB, nc, mmio, &res));
	ASSERT_EQ(0, res.port);
	ASSERT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 8, res.mmio.mmio.phys_addr);
	EXPECT_EQ(0, res.mmio.mmio.is_write);
	ASSERT_EQ(0, sh_run(self, &res));
	expect_gp_ss(_metadata, &res, 13);
}

/*
 * A page directory that maps itself: PML4[3] -> PDPT_X -> PD_X, and
 * PD_X[1] points at PD_X as a page table, so SELF (PD_X[1]'s entry 1)
 * is PD_X itself and PD_X[k] is at SELF + 8k. A store there walks
 * through the table it writes, so the MMU must emulate it; PD_X is a
 * directory, so stock KVM cannot unsync it either (a non-leaf shadow page
 * stays write-protected) and emulates too. PD_X[k] maps VA_X + k * 2M.
 */
#define PDPT_X		0x30000UL
#define PD_X		0x31000UL
#define VA_X		(3ULL << 39)
#define SELF		(VA_X + 0x200000 + 0x1000)
#define PDX(k)		(SELF + 8 * (k))
#define VA_PDX(k)	(VA_X + (uint64_t)(k) * 0x200000)

static void build_self_pd(FIXTURE_DATA(sh) *self)
{
	uint64_t i;

	*pte(self, PML4_A + 3 * 8) = PDPT_X | P | RW;
	*pte(self, PDPT_X) = PD_X | P | RW;
	*pte(self, PD_X + 8) = PD_X | P | RW;
	/* Data page n holds 0x1000 + n at offset 0. */
	for (i = 0; i < 16; i++)
		*(uint64_t *)(self->mem + DATA_GPA + (i << 12)) = 0x1000 + i;
	*(uint64_t *)(self->mem + 0x50000) = 0x5050;
}

static uint64_t pd_x(FIXTURE_DATA(sh) *self, int k)
{
	return *pte(self, PD_X + 8 * k) & ~(ACC | DIRTY);
}

/* XCHG (implicitly locked) of a live PDE through its self-mapping. */
TEST_F(sh, pt_xchg)
{
	build_self_pd(self);
	expect_pf(_metadata, self, OP_R64, VA_PDX(2) + 0x3000, 0);
	EXPECT_EQ(0ULL, must(_metadata, self, OP_XCHG, PDX(2),
			     PT_A1 | P | RW));
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 2));
	EXPECT_EQ(0x1003ULL, must(_metadata, self, OP_R64,
				  VA_PDX(2) + 0x3000, 0));
	/* Swapped back to the identity table: the old entry comes back. */
	EXPECT_EQ(PT_A1 | P | RW,
		  must(_metadata, self, OP_XCHG, PDX(2), PT_A0 | P | RW) &
		  ~(ACC | DIRTY));
	EXPECT_EQ(PT_A0 | P | RW, pd_x(self, 2));
	must(_metadata, self, OP_INVLPG, VA_PDX(2) + 0x50000, 0);
	EXPECT_EQ(0x5050ULL, must(_metadata, self, OP_R64,
				  VA_PDX(2) + 0x50000, 0));
}

/* LOCK CMPXCHG: ZF, RAX and memory both when equal and when not. */
TEST_F(sh, pt_lock_cmpxchg)
{
	struct sh_result res;

	build_self_pd(self);
	res = must_rdx(_metadata, self, OP_CMPXCHG, PDX(4), PT_A1 | P | RW, 0);
	EXPECT_EQ(1ULL, res.rdx);	/* ZF: swapped */
	EXPECT_EQ(0ULL, res.rcx);	/* RAX unchanged */
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 4));
	EXPECT_EQ(0x1002ULL, must(_metadata, self, OP_R64,
				  VA_PDX(4) + 0x2000, 0));
	/* Expecting 0 again: fails, RAX gets the entry, memory stays. */
	res = must_rdx(_metadata, self, OP_CMPXCHG, PDX(4), PT_A0 | P | RW, 0);
	EXPECT_EQ(0ULL, res.rdx);
	EXPECT_EQ(PT_A1 | P | RW, res.rcx & ~(ACC | DIRTY));
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 4));
	EXPECT_EQ(0x1002ULL, must(_metadata, self, OP_R64,
				  VA_PDX(4) + 0x2000, 0));
}

/* LOCK CMPXCHG8B (a PAE kernel's set_pte()/cmpxchg64()): ZF, EDX:EAX. */
TEST_F(sh, pt_lock_cmpxchg8b)
{
	struct sh_result res;

	build_self_pd(self);
	res = must_rdx(_metadata, self, OP_CMPXCHG8B, PDX(10),
		       PT_A1 | P | RW, 0);
	EXPECT_EQ(1ULL, res.rcx);	/* ZF: swapped */
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 10));
	EXPECT_EQ(0x1008ULL, must(_metadata, self, OP_R64,
				  VA_PDX(10) + 0x8000, 0));
	res = must_rdx(_metadata, self, OP_CMPXCHG8B, PDX(10),
		       PT_A0 | P | RW, 0);
	EXPECT_EQ(0ULL, res.rcx);
	EXPECT_EQ(PT_A1 | P | RW, res.rdx & ~(ACC | DIRTY));
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 10));
}

/*
 * LOCK BTS with a register bit offset of 64 (the operand is the next
 * quadword, as set_bit() on a bitmap) sets P; LOCK BTR $0 clears it.
 */
TEST_F(sh, pt_lock_bts_btr)
{
	struct sh_result res;

	build_self_pd(self);
	*pte(self, PD_X + 6 * 8) = PT_A1 | RW;	/* not present */
	expect_pf(_metadata, self, OP_R64, VA_PDX(6) + 0x4000, 0);
	res = must_rdx(_metadata, self, OP_BTS, PDX(5), 64, 0);
	EXPECT_EQ(0ULL, res.rdx);	/* CF: the bit was clear */
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 6));
	EXPECT_EQ(0ULL, *pte(self, PD_X + 5 * 8));
	EXPECT_EQ(0x1004ULL, must(_metadata, self, OP_R64,
				  VA_PDX(6) + 0x4000, 0));
	res = must_rdx(_metadata, self, OP_BTR0, PDX(6), 0, 0);
	EXPECT_EQ(~0ULL, res.rdx);	/* CF: the bit was set */
	EXPECT_EQ(PT_A1 | RW, pd_x(self, 6));
	must(_metadata, self, OP_INVLPG, VA_PDX(6) + 0x4000, 0);
	expect_pf(_metadata, self, OP_R64, VA_PDX(6) + 0x4000, 0);
}

/* LOCK OR sets an entry; LOCK ANDB clears its RW (set_bit/clear_bit). */
TEST_F(sh, pt_lock_or_and)
{
	build_self_pd(self);
	must(_metadata, self, OP_ORQ, PDX(7), PT_A1 | P | RW);
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 7));
	must(_metadata, self, OP_W64, VA_PDX(7) + 0x5008, 0x77);
	EXPECT_EQ(0x77ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x5008));
	must(_metadata, self, OP_ANDB_RW, PDX(7), 0);
	EXPECT_EQ(PT_A1 | P, pd_x(self, 7));
	must(_metadata, self, OP_INVLPG, VA_PDX(7) + 0x5008, 0);
	EXPECT_EQ(0x1005ULL, must(_metadata, self, OP_R64,
				  VA_PDX(7) + 0x5000, 0));
	expect_pf(_metadata, self, OP_W64, VA_PDX(7) + 0x5008, 3);
}

/*
 * REP STOSQ over the whole self-mapped directory (clear_page()'s form):
 * every entry becomes PD_X as a page table, so the self-mapping survives
 * each store and every VA_PDX(k) + j * 4K now shows PD_X.
 */
TEST_F(sh, pt_rep_stosq)
{
	uint64_t v = PD_X | P | RW;
	int k;

	build_self_pd(self);
	expect_pf(_metadata, self, OP_R64, VA_PDX(5) + 0x7000, 0);
	must(_metadata, self, OP_STOSQ, SELF, v);
	for (k = 0; k < 512; k++)
		if (pd_x(self, k) != v)
			break;
	EXPECT_EQ(512, k);
	EXPECT_EQ(v, must(_metadata, self, OP_R64, VA_PDX(5) + 0x7000 + 16,
			  0) & ~(ACC | DIRTY));
}

/*
 * MOV forms: a 32-bit store, base + index * 8 + disp, and a quadword
 * that crosses from the directory into the next page (two stores).
 */
TEST_F(sh, pt_mov_forms)
{
	build_self_pd(self);
	must(_metadata, self, OP_W32, PDX(8), PT_A1 | P | RW);
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 8));
	EXPECT_EQ(0x1006ULL, must(_metadata, self, OP_R64,
				  VA_PDX(8) + 0x6000, 0));
	must_rdx(_metadata, self, OP_W64_SIB, SELF, PT_A1 | P | RW, 10);
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 9));
	EXPECT_EQ(0x1007ULL, must(_metadata, self, OP_R64,
				  VA_PDX(9) + 0x7000, 0));
	/* SELF + 0x1000 is PD_X[2] as a PTE: data page 9. */
	*pte(self, PD_X + 2 * 8) = (DATA_GPA + 0x9000) | P | RW;
	*pte(self, PD_X + 511 * 8) = 0x7ff0000000000000ULL;	/* not present */
	must(_metadata, self, OP_W64, SELF + 0xffc, 0xdeadbeef00000000ULL);
	EXPECT_EQ(0ULL, *pte(self, PD_X + 511 * 8));
	EXPECT_EQ(0xdeadbeefULL, *(uint32_t *)(self->mem + DATA_GPA + 0x9000));
}

/*
 * A MOV crossing from the self-mapped directory into a page no memslot
 * backs: the directory's half is stored, the other half is an MMIO exit
 * with its bytes (KVM's emulator_read_write() splits the store and the
 * second fragment is MMIO), and the guest goes on after it.
 */
TEST_F(sh, pt_mov_cross_to_mmio)
{
	uint32_t hi = 0xdeadbeef;
	struct sh_result res;

	build_self_pd(self);
	*pte(self, PD_X + 2 * 8) = MMIO_GPA | P | RW;
	*pte(self, PD_X + 511 * 8) = 0x7ff0000000000000ULL;	/* not present */
	ASSERT_EQ(0, sh_do(self, OP_W64, SELF + 0xffc, (uint64_t)hi << 32,
			   &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA, res.mmio.mmio.phys_addr);
	EXPECT_EQ(4U, res.mmio.mmio.len);
	EXPECT_EQ(1, res.mmio.mmio.is_write);
	EXPECT_EQ(0, memcmp(res.mmio.mmio.data, &hi, 4));
	EXPECT_EQ(0ULL, *pte(self, PD_X + 511 * 8));
	ASSERT_EQ(0, sh_run(self, &res));
	EXPECT_EQ(PORT_DONE, res.port);
}

/*
 * Page-crossing stores from the self-mapped directory: its last entry
 * (PD_X[511], not present) holds the first 4 bytes of an operand at
 * SELF + 0xffc, SELF + 0x1000 (PD_X[2] as a PTE) the other 4.
 */
#define CROSS		(SELF + 0xffc)
#define E511_HI		0x7ff0000000000000ULL	/* not present */

/*
 * The second page not mapped by the guest, then read-only: #PF with CR2
 * the second page's address (the fragment emulator_read_write() failed
 * on). A MOV faults with error 2, then 3. XCHG, CMPXCHG and BTS read the
 * operand first (KVM's emulator, and the CPU here): error 0, then 3 when
 * the write finds the page read-only. kvmmu translates both pages before
 * writing either, so the directory keeps its entry. KVM's
 * emulator_read_write_onepage() stores the first page's part before it
 * translates the second: on the control what is left there is logged,
 * not checked.
 */
static void cross_fault(struct __test_metadata *_metadata,
			FIXTURE_DATA(sh) *self, uint64_t err_store,
			uint64_t err_rmw)
{
	static const int ops[] = { OP_W64, OP_XCHG, OP_CMPXCHG, OP_BTS };
	uint64_t e2 = pd_x(self, 2), e511;
	struct sh_result res;
	unsigned int i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		*pte(self, PD_X + 511 * 8) = E511_HI;
		ASSERT_EQ(0, sh_do_rdx(self, ops[i], CROSS, ops[i] == OP_BTS ?
				       0 : 0xdeadbeef00000000ULL,
				       E511_HI >> 32, &res));
		ASSERT_EQ(PORT_PF, res.port) {
			TH_LOG("op %d: port %#x exit %d", ops[i], res.port,
			       self->run->exit_reason);
		}
		EXPECT_EQ(ops[i] == OP_W64 ? err_store : err_rmw, res.rdx) {
			TH_LOG("op %d", ops[i]);
		}
		EXPECT_EQ(SELF + 0x1000, res.rsi);
		e511 = *pte(self, PD_X + 511 * 8);
		if (kvmmu_is_stock())
			TH_LOG("stock, op %d, #PF %#llx: PD_X[511] %#llx",
			       ops[i], (unsigned long long)res.rdx,
			       (unsigned long long)e511);
		else
			EXPECT_EQ(E511_HI, e511) {
				TH_LOG("op %d wrote the first page", ops[i]);
			}
		EXPECT_EQ(e2, pd_x(self, 2));	/* A set by the walk */
		EXPECT_EQ(0x1009U,
			  *(uint32_t *)(self->mem + DATA_GPA + 0x9000));
	}
}

TEST_F(sh, pt_cross_fault)
{
	build_self_pd(self);
	*pte(self, PD_X + 2 * 8) = 0;
	cross_fault(_metadata, self, 2, 0);
	*pte(self, PD_X + 2 * 8) = (DATA_GPA + 0x9000) | P;
	cross_fault(_metadata, self, 3, 3);
}

/*
 * Read-modify-write operands crossing from the directory into RAM (data
 * page 9): KVM reads them page by page and writes them back with
 * emulator_cmpxchg_emulated(), which falls back to a plain split write
 * for a page-crossing operand. Both parts written, the old value
 * returned, the guest reads the new one back; an unequal CMPXCHG writes
 * neither part.
 */
TEST_F(sh, pt_cross_rmw)
{
	uint32_t *d9 = (uint32_t *)(self->mem + DATA_GPA + 0x9000);
	uint64_t *e511 = pte(self, PD_X + 511 * 8);
	struct sh_result res;

	build_self_pd(self);
	*pte(self, PD_X + 2 * 8) = (DATA_GPA + 0x9000) | P | RW;
	*e511 = E511_HI;
	EXPECT_EQ(0x000010097ff00000ULL, must(_metadata, self, OP_XCHG, CROSS,
					      0xdeadbeef00000000ULL));
	EXPECT_EQ(0ULL, *e511);
	EXPECT_EQ(0xdeadbeefU, *d9);
	EXPECT_EQ(0xdeadbeef00000000ULL, must(_metadata, self, OP_R64, CROSS,
					      0));

	/* CMPXCHG expecting another value: RAX gets the operand. */
	res = must_rdx(_metadata, self, OP_CMPXCHG, CROSS, 0x1234, 1);
	EXPECT_EQ(0ULL, res.rdx);
	EXPECT_EQ(0xdeadbeef00000000ULL, res.rcx);
	EXPECT_EQ(0ULL, *e511);
	EXPECT_EQ(0xdeadbeefU, *d9);
	/* Expecting the operand: both parts swapped in, RAX kept. */
	res = must_rdx(_metadata, self, OP_CMPXCHG, CROSS,
		       0x0000100a7ff00000ULL, 0xdeadbeef00000000ULL);
	EXPECT_EQ(1ULL, res.rdx);
	EXPECT_EQ(0xdeadbeef00000000ULL, res.rcx);
	EXPECT_EQ(E511_HI, *e511);
	EXPECT_EQ(0x100aU, *d9);

	/* LOCK BTS of bit 63: the second page's part; CF clear. */
	res = must_rdx(_metadata, self, OP_BTS, CROSS, 63, 0);
	EXPECT_EQ(0ULL, res.rdx);
	EXPECT_EQ(E511_HI, *e511);
	EXPECT_EQ(0x8000100aU, *d9);
	EXPECT_EQ(0x8000100a7ff00000ULL, must(_metadata, self, OP_R64, CROSS,
					      0));
}

/*
 * The other way round: MOV and XCHG at SELF - 4, whose first 4 bytes are
 * in data page 10 (PD_X[0] as a PTE maps SELF - 0x1000) and the other 4
 * PD_X[0]'s low half. Both parts written; the SPTE of the entry goes
 * (kvm_mmu_track_write()), so the guest sees the new page at once.
 */
TEST_F(sh, pt_cross_into_table)
{
	uint64_t va = SELF - 0x1000, pa = DATA_GPA + 0xa000;
	uint64_t pb = DATA_GPA + 0xb000;

	build_self_pd(self);
	*pte(self, PD_X) = pa | P | RW;
	EXPECT_EQ(0x100aULL, must(_metadata, self, OP_R64, va, 0));
	must(_metadata, self, OP_W64, SELF - 4,
	     (pb | P | RW) << 32 | 0x11223344);
	EXPECT_EQ(0x11223344U, *(uint32_t *)(self->mem + pa + 0xffc));
	EXPECT_EQ(pb | P | RW, pd_x(self, 0));
	EXPECT_EQ(0x100bULL, must(_metadata, self, OP_R64, va, 0));

	/* Back, by XCHG: its first part now lands in data page 11. */
	EXPECT_EQ((pb | P | RW) << 32,
		  must(_metadata, self, OP_XCHG, SELF - 4,
		       (pa | P | RW) << 32 | 0x55667788) &
		  ~((ACC | DIRTY) << 32));
	EXPECT_EQ(0x55667788U, *(uint32_t *)(self->mem + pb + 0xffc));
	EXPECT_EQ(pa | P | RW, pd_x(self, 0));
	EXPECT_EQ(0x100aULL, must(_metadata, self, OP_R64, va, 0));
}

/*
 * One entry of a live page directory rewritten by the guest through the
 * directory's self-mapping (so the store is emulated): the SPTE of that
 * entry goes, the others stay (KVM's kvm_mmu_track_write()). The guest
 * sees the new entry at once (an address only it maps reads), the old
 * one again after it is put back and INVLPGed; reading through 8 sibling
 * entries used before takes no #PF exit (vCPU "exits": the 8 OUTs only;
 * a zap of the directory's shadow page costs a fault per entry). Four
 * stores in a row do not flood the page, as each one's fault goes
 * through it (shadow_page_table_clear_flood()): VM "mmu_flooded" stays,
 * "mmu_pde_zapped" counts each store (KVM's statistics).
 */
#define SIBLINGS	8

static long long sibling_read_exits(struct __test_metadata *_metadata,
				    FIXTURE_DATA(sh) *self)
{
	long long exits = vm_stat(_metadata, self->vcpufd, "exits");
	int k;

	for (k = 3; k < 3 + SIBLINGS; k++)
		EXPECT_EQ(0x5050ULL, must(_metadata, self, OP_R64,
					  VA_PDX(k) + 0x50000, 0));
	return vm_stat(_metadata, self->vcpufd, "exits") - exits;
}

TEST_F(sh, pt_entry_write_keeps_siblings)
{
	long long exits, flooded, pde;
	int k;

	build_self_pd(self);
	*pte(self, PD_X + 2 * 8) = PT_A1 | P | RW;
	for (k = 3; k < 3 + SIBLINGS; k++)
		*pte(self, PD_X + k * 8) = PT_A0 | P | RW;
	EXPECT_EQ(0x1003ULL, must(_metadata, self, OP_R64,
				  VA_PDX(2) + 0x3000, 0));
	expect_pf(_metadata, self, OP_R64, VA_PDX(2) + 0x50000, 0);
	sibling_read_exits(_metadata, self);
	flooded = vm_stat(_metadata, self->vmfd, "mmu_flooded");
	pde = vm_stat(_metadata, self->vmfd, "mmu_pde_zapped");
	ASSERT_LE(0, flooded);
	ASSERT_LE(0, pde);

	/* Entry 2: the window's PT -> the identity PT. */
	must(_metadata, self, OP_W64, PDX(2), PT_A0 | P | RW);
	EXPECT_EQ(0x5050ULL, must(_metadata, self, OP_R64,
				  VA_PDX(2) + 0x50000, 0));
	exits = sibling_read_exits(_metadata, self);
	TH_LOG("%d sibling reads after the store: %lld exits", SIBLINGS,
	       exits);
	EXPECT_GT(SIBLINGS + SIBLINGS / 2, exits);

	/* Three more in a row, back to the window's PT. */
	must(_metadata, self, OP_W64, PDX(2), PT_A1 | P | RW);
	must(_metadata, self, OP_W64, PDX(2), PT_A0 | P | RW);
	must(_metadata, self, OP_W64, PDX(2), PT_A1 | P | RW);
	EXPECT_EQ(PT_A1 | P | RW, pd_x(self, 2));
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_flooded") - flooded);
	EXPECT_LE(4, vm_stat(_metadata, self->vmfd, "mmu_pde_zapped") - pde);
	exits = sibling_read_exits(_metadata, self);
	EXPECT_GT(SIBLINGS + SIBLINGS / 2, exits);
	must(_metadata, self, OP_INVLPG, VA_PDX(2) + 0x3000, 0);
	must(_metadata, self, OP_INVLPG, VA_PDX(2) + 0x50000, 0);
	EXPECT_EQ(0x1003ULL, must(_metadata, self, OP_R64,
				  VA_PDX(2) + 0x3000, 0));
	expect_pf(_metadata, self, OP_R64, VA_PDX(2) + 0x50000, 0);
}

/*
 * The same directory's entry rewritten through an ordinary data mapping of
 * its page (the 0-2M identity map), which the store's own walk does not
 * use: the store is emulated first (KVM's kvm_mmu_write_protect_fault()),
 * only that entry's SPTE goes ("mmu_pde_zapped" counts it) and the 8
 * sibling entries read after take no #PF exit. Unprotecting the directory
 * and retrying the store zaps its shadow page: a fault per sibling. LOCK
 * BTR, which KVM's emulator does not count as a page-table store
 * (x86_page_table_writing_insn()), is unprotected and retried instead:
 * its bit clear, CF set, the siblings fault again.
 */
TEST_F(sh, pt_entry_write_by_alias)
{
	uint64_t alias = PD_X + 2 * 8;
	struct sh_result res;
	long long exits, pde;
	int k;

	build_self_pd(self);
	*pte(self, PD_X + 2 * 8) = PT_A1 | P | RW;
	for (k = 3; k < 3 + SIBLINGS; k++)
		*pte(self, PD_X + k * 8) = PT_A0 | P | RW;
	EXPECT_EQ(0x1003ULL, must(_metadata, self, OP_R64,
				  VA_PDX(2) + 0x3000, 0));
	sibling_read_exits(_metadata, self);
	pde = vm_stat(_metadata, self->vmfd, "mmu_pde_zapped");
	ASSERT_LE(0, pde);

	/* Entry 2: the window's PT -> the identity PT, seen at once. */
	must(_metadata, self, OP_W64, alias, PT_A0 | P | RW);
	EXPECT_EQ(PT_A0 | P | RW, pd_x(self, 2));
	EXPECT_LE(1, vm_stat(_metadata, self->vmfd, "mmu_pde_zapped") - pde);
	EXPECT_EQ(0x5050ULL, must(_metadata, self, OP_R64,
				  VA_PDX(2) + 0x50000, 0));
	exits = sibling_read_exits(_metadata, self);
	TH_LOG("%d sibling reads after a MOV by the alias: %lld exits",
	       SIBLINGS, exits);
	EXPECT_GT(SIBLINGS + SIBLINGS / 2, exits);

	/* LOCK BTR $0 (P) by the alias: retried by the guest. */
	res = must_rdx(_metadata, self, OP_BTR0, alias, 0, 0);
	EXPECT_EQ(~0ULL, res.rdx);
	EXPECT_EQ(PT_A0 | RW, pd_x(self, 2));
	must(_metadata, self, OP_INVLPG, VA_PDX(2) + 0x50000, 0);
	expect_pf(_metadata, self, OP_R64, VA_PDX(2) + 0x50000, 0);
	exits = sibling_read_exits(_metadata, self);
	TH_LOG("%d sibling reads after a BTR by the alias: %lld exits",
	       SIBLINGS, exits);
	EXPECT_LE(SIBLINGS + SIBLINGS / 2, exits);
}

/*
 * Stores to the live PML4 (the root's own guest table): an entry added,
 * used, pointed elsewhere and removed while CR3 stays. PML4_A[1] (VA
 * 512G) -> PDPT_B -> PD_B -> PT_B1 -> data page 10, then data page 11
 * through a second PDPT (PDPT_A's copy at PDPT_L).
 */
#define PDPT_L		0x25000UL

TEST_F(sh, live_top_level)
{
	uint64_t va = (1ULL << 39) + WINDOW;

	*(uint64_t *)(self->mem + DATA_GPA + 0xa000) = 0xaa;
	*(uint64_t *)(self->mem + DATA_GPA + 0xb000) = 0xbb;
	must(_metadata, self, OP_W64, PDPT_B, PD_B | P | RW);
	must(_metadata, self, OP_W64, PD_B + 8, PT_B1 | P | RW);
	must(_metadata, self, OP_W64, PT_B1, (DATA_GPA + 0xa000) | P | RW);
	must(_metadata, self, OP_W64, PDPT_L, PD_A | P | RW);
	expect_pf(_metadata, self, OP_R64, va, 0);
	/* Added to the live PML4: no flush needed for a not-present entry. */
	must(_metadata, self, OP_W64, PML4_A + 8, PDPT_B | P | RW);
	EXPECT_EQ(0xaaULL, must(_metadata, self, OP_R64, va, 0));
	must(_metadata, self, OP_W64, va + 8, 0xa8);
	EXPECT_EQ(0xa8ULL, *(uint64_t *)(self->mem + DATA_GPA + 0xa008));
	/* Pointed at another PDPT: PD_A's window, data page 0 at WINDOW. */
	*(uint64_t *)(self->mem + DATA_GPA) = 0xd0;
	must(_metadata, self, OP_W64, PML4_A + 8, PDPT_L | P | RW);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0xd0ULL, must(_metadata, self, OP_R64, va, 0));
	/* Both PDPTs, the same PD: the window through space A still works. */
	EXPECT_EQ(0xd0ULL, must(_metadata, self, OP_R64, WINDOW, 0));
	/* Removed. */
	must(_metadata, self, OP_W64, PML4_A + 8, 0);
	must(_metadata, self, OP_INVLPG, va, 0);
	expect_pf(_metadata, self, OP_R64, va, 0);
	EXPECT_EQ(PDPT_A | P | RW | US, *pte(self, PML4_A) & ~ACC);
}

/* Leaf @fn (index 0) of the supported CPUID into *@e; 0 if absent. */
static int supported_leaf(int devfd, uint32_t fn, struct kvm_cpuid_entry2 *e)
{
	struct kvm_cpuid2 *cpuid = kvmmu_supported_cpuid(devfd);
	unsigned int i;
	int r = 0;

	if (!cpuid)
		return 0;
	for (i = 0; i < cpuid->nent && !r; i++) {
		if (cpuid->entries[i].function == fn &&
		    !cpuid->entries[i].index) {
			*e = cpuid->entries[i];
			r = 1;
		}
	}
	free(cpuid);
	return r;
}

/* The vendor of the supported CPUID (the fixture's vCPU takes it) is AMD. */
static int cpuid_vendor_amd(int devfd)
{
	struct kvm_cpuid_entry2 e;

	return supported_leaf(devfd, 0, &e) && e.ebx == 0x68747541 &&
	       e.edx == 0x69746e65 && e.ecx == 0x444d4163;
}

/*
 * An AMD guest's PML4E with bit 8 set is a reserved-bit fault (P | RSVD),
 * as KVM's walker has it (__reset_rsvds_bits_mask(), nonleaf_bit8_rsvd);
 * bit 8 of a PDPTE that points to a PD is ignored. Set by the guest's
 * own stores into its live PML4, so the shadow walk must see it.
 */
TEST_F(sh, pml4e_bit8_reserved)
{
	uint64_t va = (1ULL << 39) + WINDOW;

	if (!cpuid_vendor_amd(self->devfd))
		SKIP(return, "not an AMD guest");
	*(uint64_t *)(self->mem + DATA_GPA + 0xa000) = 0xaa;
	must(_metadata, self, OP_W64, PDPT_B, PD_B | P | RW | (1ULL << 8));
	must(_metadata, self, OP_W64, PD_B + 8, PT_B1 | P | RW);
	must(_metadata, self, OP_W64, PT_B1, (DATA_GPA + 0xa000) | P | RW);
	must(_metadata, self, OP_W64, PML4_A + 8,
	     PDPT_B | P | RW | (1ULL << 8));
	expect_pf(_metadata, self, OP_R64, va, 0x9);	/* P | RSVD */
	expect_pf(_metadata, self, OP_W64, va, 0xb);	/* P | W | RSVD */
	must(_metadata, self, OP_W64, PML4_A + 8, PDPT_B | P | RW);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0xaaULL, must(_metadata, self, OP_R64, va, 0));
}

/*
 * Two vCPUs on one set of tables. vCPU 1 holds a writable mapping of a
 * page (its shadow SPTE writable); vCPU 0 then links that page in as a
 * page table and reads through it. vCPU 1's next store into the page is
 * a PTE write, which must reach vCPU 0's shadow of it (after vCPU 0's
 * INVLPG): so vCPU 1's writable SPTE must have been write-protected
 * when the page became a table, whichever vCPU made it one. Then the
 * other way: vCPU 0 edits a PTE vCPU 1 uses; vCPU 1's INVLPG shows it.
 */
#define PT_SHARED	(DATA_GPA + 0xc000)	/* data page 12, later a PT */

TEST_F(sh, two_vcpus_share_tables)
{
	uint64_t pt_va = WINDOW + 0xc000, va = 3ULL << 21;
	int fd0 = self->vcpufd, fd1;
	struct kvm_run *run0 = self->run, *run1;
	struct kvm_cpuid2 *cpuid;

	fd1 = kvmmu_ioctl(self->vmfd, KVM_CREATE_VCPU, 1);
	ASSERT_LE(0, fd1);
	run1 = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd1, 0);
	ASSERT_NE(MAP_FAILED, run1);
	cpuid = kvmmu_supported_cpuid(self->devfd);
	ASSERT_NE(NULL, cpuid);
	ASSERT_EQ(0, kvmmu_ioctl(fd1, KVM_SET_CPUID2, (unsigned long)cpuid));
	free(cpuid);
	ASSERT_EQ(0, kvmmu_ioctl(fd1, KVM_SET_SREGS,
				 (unsigned long)&self->sregs0));
	*(uint64_t *)(self->mem + DATA_GPA + 0xd000) = 0xdd;
	*(uint64_t *)(self->mem + DATA_GPA + 0xe000) = 0xee;

	/* vCPU 1: a writable mapping of the page, used. */
	self->vcpufd = fd1;
	self->run = run1;
	must(_metadata, self, OP_W64, pt_va, (DATA_GPA + 0xd000) | P | RW);
	/* vCPU 0: the page becomes the PT of VA 6M (PD_A[3]), read through. */
	self->vcpufd = fd0;
	self->run = run0;
	must(_metadata, self, OP_W64, PD_A + 24, PT_SHARED | P | RW);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0xddULL, must(_metadata, self, OP_R64, va, 0));
	/* vCPU 1: the same store as before, now a PTE write. */
	self->vcpufd = fd1;
	self->run = run1;
	must(_metadata, self, OP_W64, pt_va, (DATA_GPA + 0xe000) | P | RW);
	EXPECT_EQ((DATA_GPA + 0xe000) | P | RW,
		  *pte(self, PT_SHARED) & ~(ACC | DIRTY));
	/* vCPU 0: after its own INVLPG, the new page. */
	self->vcpufd = fd0;
	self->run = run0;
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0xeeULL, must(_metadata, self, OP_R64, va, 0));
	/* vCPU 1 reads through it too, then vCPU 0 unmaps it. */
	self->vcpufd = fd1;
	self->run = run1;
	EXPECT_EQ(0xeeULL, must(_metadata, self, OP_R64, va, 0));
	self->vcpufd = fd0;
	self->run = run0;
	must(_metadata, self, OP_W64, PT_SHARED, 0);
	self->vcpufd = fd1;
	self->run = run1;
	must(_metadata, self, OP_INVLPG, va, 0);
	expect_pf(_metadata, self, OP_R64, va, 0);
	self->vcpufd = fd0;
	self->run = run0;
	munmap(run1, self->run_size);
	close(fd1);
}

/*
 * The permission matrix: every combination of R/W, U/S and XD in one
 * paging level, under CR0.WP 0 and 1 and EFER.NXE 0 and 1, for a 4K
 * leaf, a 4K page restricted in its PDE, a 2M and a 1G page, accessed by
 * a supervisor read, write and fetch and a user read. The outcome is
 * what the SDM (4.6, access rights; 4.7, #PF error code) gives: XD with
 * NXE 0 is a reserved bit (P | RSVD, no I/D); U=0 anywhere stops CPL 3;
 * a supervisor write to a read-only page faults only under WP; XD stops
 * fetches under NXE (I/D set). Every entry change is the guest's own
 * store followed by INVLPG, so the shadow pages must follow it.
 */
#define XD		(1ULL << 63)
#define PFE_P		0x1ULL
#define PFE_W		0x2ULL
#define PFE_U		0x4ULL
#define PFE_RSVD	0x8ULL
#define PFE_ID		0x10ULL

enum { ACC_R, ACC_W, ACC_X, ACC_UR, NR_ACC };

/* The #PF error code hardware gives, or 0 when the access completes. */
static uint64_t perm_error(int acc, uint64_t flags, int wp, int nxe)
{
	int write = acc == ACC_W, user = acc == ACC_UR, fetch = acc == ACC_X;
	uint64_t e = PFE_P | (write ? PFE_W : 0) | (user ? PFE_U : 0);

	if ((flags & XD) && !nxe)
		return e | PFE_RSVD;
	if (fetch && nxe)
		e |= PFE_ID;
	if (user && !(flags & US))
		return e;
	if (write && !(flags & RW) && (user || wp))
		return e;
	if (fetch && nxe && (flags & XD))
		return e;
	return 0;
}

static int has_1g_pages(int devfd)
{
	struct kvm_cpuid_entry2 e;

	return supported_leaf(devfd, 0x80000001, &e) && (e.edx & (1U << 26));
}

/* The matrices' accesses, by ACC_*, and their page layouts. */
static const int perm_ops[NR_ACC] = {
	[ACC_R] = OP_R64, [ACC_W] = OP_W64, [ACC_X] = OP_CALL,
	[ACC_UR] = OP_USER_R64,
};

static const char * const perm_names[] = {
	"4K leaf", "4K under a PDE", "2M page", "1G page",
};

/* Per layout: the entry's GPA, its value without flags, the VA, data. */
static const struct {
	uint64_t entry, base, va, data;
} perm_lay[] = {
	{ PT_A1 + 6 * 8, DATA_GPA + 0x6000, WINDOW + 0x6000,
	  DATA_GPA + 0x6000 },
	{ PD_A + 8, PT_A1, WINDOW + 0x7000, DATA_GPA + 0x7000 },
	{ PD_A + 16, HUGE_VA | PS, HUGE_VA + 0x3000, HUGE_VA + 0x3000 },
	{ PDPT_A + 8, PS, (1ULL << 30) + DATA_GPA + 0x8000,
	  DATA_GPA + 0x8000 },
};

TEST_F(sh, permission_matrix)
{
	int nlay = has_1g_pages(self->devfd) ? 4 : 3;
	int l, f, wp, nxe, acc, checked = 0;

	*pte(self, PT_A1 + 7 * 8) = (DATA_GPA + 0x7000) | P | RW | US;
	for (l = 0; l < nlay; l++) {
		/* RET for the fetch at va, the data at va + 8. */
		*(uint64_t *)(self->mem + perm_lay[l].data) = 0xc3;
		for (f = 0; f < 8; f++) {
			uint64_t flags = (f & 1 ? RW : 0) | (f & 2 ? US : 0) |
					 (f & 4 ? XD : 0);

			must(_metadata, self, OP_W64, perm_lay[l].entry,
			     perm_lay[l].base | P | flags);
			must(_metadata, self, OP_INVLPG, perm_lay[l].va, 0);
			for (wp = 0; wp < 2; wp++)
			for (nxe = 0; nxe < 2; nxe++) {
				struct kvm_sregs s = self->sregs0;

				s.cr0 = wp ? s.cr0 | (1ULL << 16) :
					     s.cr0 & ~(1ULL << 16);
				s.efer = nxe ? s.efer | 0x800 : s.efer & ~0x800ULL;
				ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd,
							 KVM_SET_SREGS,
							 (unsigned long)&s));
				for (acc = 0; acc < NR_ACC; acc++) {
					uint64_t want = perm_error(acc, flags,
								   wp, nxe);
					uint64_t va = perm_lay[l].va +
						      (acc == ACC_X ? 0 : 8);
					uint64_t mark = 0x5a00 + checked;
					uint64_t *host = (uint64_t *)(self->mem +
						perm_lay[l].data + 8);
					struct sh_result res;

					*host = 0x77;
					ASSERT_EQ(0, sh_do(self, perm_ops[acc], va,
							   mark, &res));
					checked++;
					if (want) {
						EXPECT_EQ(PORT_PF, res.port);
						EXPECT_EQ(want, res.rdx);
						EXPECT_EQ(va, res.rsi);
						EXPECT_EQ(0x77ULL, *host);
					} else {
						EXPECT_EQ(PORT_DONE, res.port);
						if (acc == ACC_W) {
							EXPECT_EQ(mark, *host);
						} else if (acc != ACC_X) {
							EXPECT_EQ(0x77ULL,
								  res.rcx);
						}
					}
					if (_metadata->exit_code ==
					    KSFT_FAIL) {
						TH_LOG("%s flags %#llx wp %d nxe %d access %d: port %#x error %#llx cr2 %#llx, want %#llx",
						       perm_names[l],
						       (unsigned long long)flags,
						       wp, nxe, acc, res.port,
						       (unsigned long long)res.rdx,
						       (unsigned long long)res.rsi,
						       (unsigned long long)want);
						return;
					}
				}
			}
		}
	}
	EXPECT_EQ(nlay * 8 * 4 * NR_ACC, checked);
}

/*
 * The permission matrix again under CR4.SMEP and CR4.SMAP (each on or off,
 * not both off: permission_matrix has that), with EFLAGS.AC 0 and 1 for
 * the supervisor's reads and writes. SDM 4.6: under SMEP a supervisor
 * fetch from a user page faults; under SMAP a supervisor data access to a
 * user page faults unless EFLAGS.AC is set (CPL 0, an explicit access),
 * CR0.WP=0 letting the write through then; 4.7: I/D is set for a fetch
 * with EFER.NXE or CR4.SMEP. The supervisor code runs from a supervisor
 * page, the user code from a user alias of it (R8), so that SMEP lets
 * both run. In each setting the write with AC set comes last: KVM's
 * CR0.WP=0 supervisor leaf (U=0) it may leave would hide a later SMAP
 * fault from the CPU. Each setting stores the entry again and flushes it
 * first: after the entry changed under one setting, both stock KVM and
 * kvmmu were seen (TCG) to keep the old flags' leaf in the shadow pages
 * of a CR0.WP=0 + SMAP setting (a supervisor read of the now user page
 * completing); that is not what this matrix is about.
 */
#define USER_ALIAS	0x7000UL	/* VA of the user alias of the code */

/* As perm_error(), under SMEP, SMAP and EFLAGS.AC too. */
static uint64_t smx_error(int acc, uint64_t flags, int wp, int nxe, int smep,
			  int smap, int ac)
{
	int write = acc == ACC_W, user = acc == ACC_UR, fetch = acc == ACC_X;
	uint64_t e = PFE_P | (write ? PFE_W : 0) | (user ? PFE_U : 0);

	if (fetch && (nxe || smep))
		e |= PFE_ID;
	if ((flags & XD) && !nxe)
		return e | PFE_RSVD;
	if (user && !(flags & US))
		return e;
	if (write && !(flags & RW) && (user || wp))
		return e;
	if (fetch && nxe && (flags & XD))
		return e;
	if (!user && (flags & US)) {
		if (fetch && smep)
			return e;
		if (!fetch && smap && !ac)
			return e;
	}
	return 0;
}

static uint32_t leaf7_ebx(int devfd)
{
	struct kvm_cpuid_entry2 e;

	return supported_leaf(devfd, 7, &e) ? e.ebx : 0;
}

TEST_F(sh, smep_smap_matrix)
{
	int nlay = has_1g_pages(self->devfd) ? 4 : 3;
	uint32_t ebx = leaf7_ebx(self->devfd);
	int l, f, wp, nxe, sm, ac, acc, checked = 0, want_checked = 0;

	if (!(ebx & (1U << 7)) && !(ebx & (1U << 20)))
		SKIP(return, "neither SMEP nor SMAP in KVM_GET_SUPPORTED_CPUID");
	/* The supervisor's code page, and a user alias of it. */
	*pte(self, PT_A0 + (CODE_GPA >> 12) * 8) &= ~US;
	*pte(self, PT_A0 + (USER_ALIAS >> 12) * 8) = CODE_GPA | P | US;
	*pte(self, PT_A1 + 7 * 8) = (DATA_GPA + 0x7000) | P | RW | US;
	for (l = 0; l < nlay; l++) {
		*(uint64_t *)(self->mem + perm_lay[l].data) = 0xc3;	/* RET */
		for (f = 0; f < 8; f++) {
			uint64_t flags = (f & 1 ? RW : 0) | (f & 2 ? US : 0) |
					 (f & 4 ? XD : 0);

			must(_metadata, self, OP_W64, perm_lay[l].entry,
			     perm_lay[l].base | P | flags);
			must(_metadata, self, OP_INVLPG, perm_lay[l].va, 0);
			for (wp = 0; wp < 2; wp++)
			for (nxe = 0; nxe < 2; nxe++)
			for (sm = 1; sm < 4; sm++) {
				int smep = sm & 1, smap = !!(sm & 2);
				struct kvm_sregs s = self->sregs0;

				if ((smep && !(ebx & (1U << 7))) ||
				    (smap && !(ebx & (1U << 20))))
					continue;
				s.cr0 = wp ? s.cr0 | (1ULL << 16) :
					     s.cr0 & ~(1ULL << 16);
				s.efer = nxe ? s.efer | 0x800 : s.efer & ~0x800ULL;
				s.cr4 |= (smep ? CR4_SMEP : 0) |
					 (smap ? CR4_SMAP : 0);
				ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd,
							 KVM_SET_SREGS,
							 (unsigned long)&s));
				/*
				 * The entry stored again and flushed in this
				 * setting: the shadow pages of another setting
				 * (role) may still hold the entry's previous
				 * flags, see the comment above.
				 */
				must(_metadata, self, OP_W64, perm_lay[l].entry,
				     perm_lay[l].base | P | flags);
				must(_metadata, self, OP_INVLPG, perm_lay[l].va, 0);
				for (ac = 0; ac < 2; ac++)
				for (acc = 0; acc < NR_ACC; acc++) {
					uint64_t want;
					uint64_t va = perm_lay[l].va +
						      (acc == ACC_X ? 0 : 8);
					uint64_t mark = 0x6a00 + checked;
					uint64_t *host = (uint64_t *)(self->mem +
						perm_lay[l].data + 8);
					struct kvm_regs regs = {
						.rax = perm_ops[acc], .rbx = va,
						.rcx = mark,
						.r8 = USER_ALIAS - CODE_GPA,
						.rflags = ac ? AC_FLAG : 0,
					};
					struct sh_result res;

					/* AC matters to supervisor data only. */
					if (ac && (acc == ACC_X || acc == ACC_UR))
						continue;
					want = smx_error(acc, flags, wp, nxe,
							 smep, smap, ac);
					want_checked++;
					*host = 0x77;
					ASSERT_EQ(0, sh_do_regs(self, &regs,
								&res));
					checked++;
					if (want) {
						EXPECT_EQ(PORT_PF, res.port);
						EXPECT_EQ(want, res.rdx);
						EXPECT_EQ(va, res.rsi);
						EXPECT_EQ(0x77ULL, *host);
					} else {
						EXPECT_EQ(PORT_DONE, res.port);
						if (acc == ACC_W) {
							EXPECT_EQ(mark, *host);
						} else if (acc != ACC_X) {
							EXPECT_EQ(0x77ULL,
								  res.rcx);
						}
					}
					if (_metadata->exit_code ==
					    KSFT_FAIL) {
						TH_LOG("%s flags %#llx wp %d nxe %d smep %d smap %d ac %d access %d: port %#x error %#llx cr2 %#llx, want %#llx",
						       perm_names[l],
						       (unsigned long long)flags,
						       wp, nxe, smep, smap, ac,
						       acc, res.port,
						       (unsigned long long)res.rdx,
						       (unsigned long long)res.rsi,
						       (unsigned long long)want);
						return;
					}
				}
			}
		}
	}
	EXPECT_EQ(want_checked, checked);
	TH_LOG("%d accesses checked", checked);
}

/*
 * SMAP and an implicit supervisor access at CPL 3 (SDM 4.6: such accesses
 * are subject to SMAP whatever EFLAGS.AC says; KVM's permission_fault()
 * applies AC only below CPL 3). The GDT straddles a page boundary: its
 * entries 0-6 on a supervisor page, entry 7 (a DPL 3 data segment, A set:
 * no write) on a user page. User code loading DS with it makes the CPU
 * read the descriptor as the supervisor: a #PF with error code P (read,
 * not user) and CR2 at the descriptor under SMAP; a plain
 * load without SMAP. Only AC 0 is run: with AC 1 stock KVM injects the
 * same #PF, but kvmmu was seen to loop on the fault (not understood yet).
 */
#define GDT_SPLIT_VA	0x6000UL	/* entry 7's page; entries 0-6 below */

TEST_F(sh, smap_implicit_cpl3)
{
	uint64_t base = GDT_SPLIT_VA - 7 * 8;
	uint64_t user_gdt = DATA_GPA + 0xe000;
	int smap, ac;

	if (!(leaf7_ebx(self->devfd) & (1U << 20)))
		SKIP(return, "SMAP not in KVM_GET_SUPPORTED_CPUID");
	/* VA 0x5000: the GDT page (entries 0-6 at its end); 0x6000: user. */
	memcpy(self->mem + GDT_GPA + 0x1000 - 7 * 8, self->mem + GDT_GPA,
	       7 * 8);
	*(uint64_t *)(self->mem + user_gdt) = 0x0000f30000000000ULL;
	*pte(self, PT_A0 + (GDT_SPLIT_VA - 0x1000) / 0x1000 * 8) =
		GDT_GPA | P | RW;
	*pte(self, PT_A0 + GDT_SPLIT_VA / 0x1000 * 8) = user_gdt | P | RW | US;
	/*
	 * AC=1 on kvmmu only: stock kvm_amd npt=0 loops there under QEMU
	 * TCG (the #PF exit repeats, nothing is injected).
	 */
	for (smap = 0; smap < 2; smap++)
	for (ac = 0; ac < (kvmmu_is_stock() ? 1 : 2); ac++) {
		struct kvm_sregs s = self->sregs0;
		struct kvm_regs regs = {
			.rax = OP_USER_LDS, .rcx = 0x3b,
			.r9 = ac ? AC_FLAG : 0,
		};
		struct sh_result res;

		s.gdt.base = base;
		s.gdt.limit = 8 * 8 - 1;
		if (smap)
			s.cr4 |= CR4_SMAP;
		ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS,
					 (unsigned long)&s));
		ASSERT_EQ(0, sh_do_regs(self, &regs, &res));
		if (smap) {
			EXPECT_EQ(PORT_PF, res.port);
			EXPECT_EQ(PFE_P, res.rdx);
			EXPECT_EQ(GDT_SPLIT_VA, res.rsi);
		} else {
			EXPECT_EQ(PORT_DONE, res.port);
		}
		if (_metadata->exit_code == KSFT_FAIL) {
			TH_LOG("smap %d ac %d: port %#x error %#llx cr2 %#llx",
			       smap, ac, res.port,
			       (unsigned long long)res.rdx,
			       (unsigned long long)res.rsi);
			return;
		}
	}
}

/*
 * Unsync (tdp=0: kvmmu makes a written leaf table unsync, as KVM does):
 * the guest rewrites a PTE of PT_A1, a leaf table in use, and flushes in
 * the same run. The old translation was used just before, so an unsync
 * shadow page left unsynced by the flush would still show it.
 */
static void edit_then_flush(struct __test_metadata *_metadata,
			    FIXTURE_DATA(sh) *self, int op, int n)
{
	uint64_t va = WINDOW + n * 0x1000UL, ptep = PT_A1 + n * 8;
	uint64_t old = DATA_GPA + n * 0x1000UL, new = old + 0x1000;
	struct sh_result res;

	*(uint64_t *)(self->mem + old) = 0x1000 + n;
	*(uint64_t *)(self->mem + new) = 0x2000 + n;
	EXPECT_EQ(0x1000ULL + n, must(_metadata, self, OP_R64, va, 0));
	res = must_rdx(_metadata, self, op, ptep, new | P | RW, va);
	EXPECT_EQ(0x1000ULL + n, res.rsi);
	EXPECT_EQ(0x2000ULL + n, res.rcx);
	EXPECT_EQ(new | P | RW, *pte(self, ptep) & ~ACC);
	/* Writes go to the new page too. */
	must(_metadata, self, OP_W64, va + 8, 0x3000 + n);
	EXPECT_EQ(0x3000ULL + n, *(uint64_t *)(self->mem + new + 8));
	EXPECT_EQ(0ULL, *(uint64_t *)(self->mem + old + 8));
	/* Unmapped and flushed in one run: not present. */
	ASSERT_EQ(0, sh_do_rdx(self, op, ptep, 0, va, &res));
	ASSERT_EQ(PORT_PF, res.port);
	EXPECT_EQ(0ULL, res.rdx);
	EXPECT_EQ(va, res.rsi);
}

TEST_F(sh, unsync_edit_invlpg)
{
	edit_then_flush(_metadata, self, OP_EDIT_INVLPG, 2);
}

TEST_F(sh, unsync_edit_cr3)
{
	edit_then_flush(_metadata, self, OP_EDIT_CR3, 4);
}

TEST_F(sh, unsync_edit_cr4_pge)
{
	edit_then_flush(_metadata, self, OP_EDIT_PGE, 6);
}

/*
 * Many stores to a leaf table in use (PT_A1, read through at WINDOW
 * after each store) in one run: after the first, none exits (the table
 * went unsync), where write protection alone exits at least once per
 * store. KVM_GET_STATS_FD: vCPU "exits", VM "mmu_unsync" (both KVM's).
 */
#define PTE_STORES	2000

TEST_F(sh, unsync_many_pte_writes)
{
	long long exits;

	*(uint64_t *)(self->mem + DATA_GPA) = 0x5a5a;
	EXPECT_EQ(0x5a5aULL, must(_metadata, self, OP_R64, WINDOW, 0));
	exits = vm_stat(_metadata, self->vcpufd, "exits");
	ASSERT_LE(0, exits);
	must_rdx(_metadata, self, OP_PTE_LOOP, PT_A1 + 20 * 8, PTE_STORES,
		 WINDOW);
	EXPECT_EQ(1ULL << 12, *pte(self, PT_A1 + 20 * 8));
	exits = vm_stat(_metadata, self->vcpufd, "exits") - exits;
	EXPECT_GT(PTE_STORES / 10, exits);
	TH_LOG("%d PTE stores, %lld exits", PTE_STORES, exits);
	EXPECT_LE(1, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	/* MOV CR3 syncs every unsync page the root leads to. */
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	EXPECT_EQ(0x5a5aULL, must(_metadata, self, OP_R64, WINDOW, 0));
}

/*
 * An unsync leaf table orphaned: in one run the guest stores to PT_A1
 * (in use at WINDOW, so it goes unsync) and then clears PD_A's entry for
 * it. No root leads to PT_A1's shadow page any more: kvmmu drops it from
 * the unsync pages at once (VM stat "mmu_unsync" 0 before any further
 * entry; stock KVM leaves it unsync, parentless, until found again).
 * With the PDE back, the store is seen.
 */
TEST_F(sh, unsync_orphan_table)
{
	long long unsync;

	*(uint64_t *)(self->mem + DATA_GPA) = 0x0a0a;
	*(uint64_t *)(self->mem + DATA_GPA + 0x5000) = 0x5a5a;
	EXPECT_EQ(0x0a0aULL, must(_metadata, self, OP_R64, WINDOW, 0));
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	must_rdx(_metadata, self, OP_W64_CLEAR, PT_A1 + 3 * 8,
		 (DATA_GPA + 0x5000) | P | RW, PD_A + 8);
	EXPECT_EQ(0ULL, *pte(self, PD_A + 8));
	unsync = vm_stat(_metadata, self->vmfd, "mmu_unsync");
	TH_LOG("mmu_unsync after the PDE went: %lld", unsync);
	if (!kvmmu_is_stock())
		EXPECT_EQ(0, unsync);
	must(_metadata, self, OP_W64, PD_A + 8, PT_A1 | P | RW | US);
	EXPECT_EQ(0x5a5aULL, must(_metadata, self, OP_R64, WINDOW + 0x3000, 0));
	EXPECT_EQ(0x0a0aULL, must(_metadata, self, OP_R64, WINDOW, 0));
	/* KVM syncs a page it finds but leaves it unsync until a flush. */
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
}

/*
 * A sync reaches what the vCPU's roots lead to, no more
 * (kvm_mmu_sync_roots()): PT_B1 of the guest's space B, written from
 * space A (so it goes unsync), stays unsync across A's MOV CR3 ("mmu_unsync"
 * 1; a sync of every unsync page of the VM made it 0), and is synced when
 * B is loaded: the entry rewritten there is seen.
 */
TEST_F(sh, unsync_unreachable_left)
{
	*(uint64_t *)(self->mem + DATA_GPA + 0x9000) = 0x9999;
	*(uint64_t *)(self->mem + DATA_GPA + 0xa000) = 0xaaaa;
	must(_metadata, self, OP_W64, PML4_B, PDPT_B | P | RW | US);
	must(_metadata, self, OP_W64, PDPT_B, PD_B | P | RW | US);
	must(_metadata, self, OP_W64, PD_B, PT_A0 | P | RW | US);
	must(_metadata, self, OP_W64, PD_B + 8, PT_B1 | P | RW | US);
	must(_metadata, self, OP_W64, PT_B1, (DATA_GPA + 0x9000) | P | RW);
	must(_metadata, self, OP_SETCR3, PML4_B, 0);
	EXPECT_EQ(0x9999ULL, must(_metadata, self, OP_R64, WINDOW, 0));
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	/* From A: PT_B1's entry for WINDOW, in use in B, now data page 10. */
	must(_metadata, self, OP_W64, PT_B1, (DATA_GPA + 0xa000) | P | RW);
	EXPECT_EQ(1, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	EXPECT_EQ(1, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	must(_metadata, self, OP_SETCR3, PML4_B, 0);
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	EXPECT_EQ(0xaaaaULL, must(_metadata, self, OP_R64, WINDOW, 0));
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
}

/*
 * An upper page is synced below before a new path leads to it
 * (FNAME(fetch)'s mmu_sync_children()): PT_A1, in use under PD_A in
 * space A, is written from the guest's space B (unsync, and no root of B
 * leads to it); then B's PDPT gets PD_A at 1G and B's CR3 is reloaded.
 * In one run, a read of window page 1 through 1G + 2M faults and links
 * PD_A's shadow page into B, and a read of window page 0 there, whose
 * shadow PTE was built in A, must see the new entry, not the stale one.
 */
TEST_F(sh, unsync_below_linked_directory)
{
	struct sh_result res;

	*(uint64_t *)(self->mem + DATA_GPA) = 0x0a0a;
	*(uint64_t *)(self->mem + DATA_GPA + 0x1000) = 0x1a1a;
	EXPECT_EQ(0x0a0aULL, must(_metadata, self, OP_R64, WINDOW, 0));
	must(_metadata, self, OP_W64, PML4_B, PDPT_B | P | RW | US);
	must(_metadata, self, OP_W64, PDPT_B, PD_B | P | RW | US);
	must(_metadata, self, OP_W64, PD_B, PT_A0 | P | RW | US);
	must(_metadata, self, OP_SETCR3, PML4_B, 0);
	must(_metadata, self, OP_W64, PT_A1, (DATA_GPA + 0x1000) | P | RW);
	EXPECT_EQ(1, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	must(_metadata, self, OP_W64, PDPT_B + 8, PD_A | P | RW | US);
	must(_metadata, self, OP_SETCR3, PML4_B, 0);
	EXPECT_EQ(1, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	res = must_rdx(_metadata, self, OP_R2, 0x40000000UL + WINDOW, 0,
		       0x40000000UL + WINDOW + 0x1000);
	/* Window page 1 is data page 1; page 0 is now data page 1 too. */
	EXPECT_EQ(0x1a1aULL, res.rsi);
	EXPECT_EQ(0x1a1aULL, res.rcx);
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	EXPECT_EQ(0x1a1aULL, must(_metadata, self, OP_R64, WINDOW, 0));
}

/*
 * INVLPG syncs what maps its address, no more (KVM's kvm_mmu_invlpg()):
 * PT_A2 (the host adds it at 6M) and PT_A1 in use, in one run the guest
 * rewrites a PTE in each (both go unsync), INVLPGs the window's address
 * only and reads it: the new page. Both pages are still unsync after it
 * ("mmu_unsync" 2; a sync of every unsync page made it 0); a MOV CR3
 * syncs both and 6M shows its new page too.
 */
#define PT_A2		0x16000UL
#define VA_6M		0x600000UL

TEST_F(sh, unsync_invlpg_one_address)
{
	struct kvm_regs regs = {
		.rax = OP_EDIT2_INVLPG,
		.rbx = PT_A1, .rcx = (DATA_GPA + 0x1000) | P | RW,
		.rsi = PT_A2, .rdi = (DATA_GPA + 0x21000) | P | RW,
		.rdx = WINDOW,
	};
	struct sh_result res;

	*pte(self, PD_A + 24) = PT_A2 | P | RW | US;
	*pte(self, PT_A2) = (DATA_GPA + 0x20000) | P | RW;
	*(uint64_t *)(self->mem + DATA_GPA) = 0x0a0a;
	*(uint64_t *)(self->mem + DATA_GPA + 0x1000) = 0x1a1a;
	*(uint64_t *)(self->mem + DATA_GPA + 0x20000) = 0x2020;
	*(uint64_t *)(self->mem + DATA_GPA + 0x21000) = 0x2121;
	EXPECT_EQ(0x0a0aULL, must(_metadata, self, OP_R64, WINDOW, 0));
	EXPECT_EQ(0x2020ULL, must(_metadata, self, OP_R64, VA_6M, 0));
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	ASSERT_EQ(0, sh_do_regs(self, &regs, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(0x1a1aULL, res.rcx);
	EXPECT_EQ(2, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	EXPECT_EQ(0x2121ULL, must(_metadata, self, OP_R64, VA_6M, 0));
	EXPECT_EQ(0x1a1aULL, must(_metadata, self, OP_R64, WINDOW, 0));
	EXPECT_EQ(0, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
}

/*
 * A #PF the guest gets for a present entry drops what maps its address
 * (KVM's __kvm_inject_emulated_page_fault() -> kvm_mmu_invalidate_addr()).
 * PT_A1 goes unsync; the guest repoints a PTE it read through just
 * before to another page, read-only, without INVLPG; its store there
 * faults, and its next read sees the new page, not the old SPTE.
 */
TEST_F(sh, unsync_pf_drops_entry)
{
	uint64_t va = WINDOW + 7 * 0x1000UL, ptep = PT_A1 + 7 * 8;
	uint64_t old = DATA_GPA + 7 * 0x1000UL, new = old + 0x1000;
	struct kvm_regs regs;
	struct sh_result res;

	*(uint64_t *)(self->mem + old) = 0x0707;
	*(uint64_t *)(self->mem + new) = 0x0808;
	EXPECT_EQ(0x0707ULL, must(_metadata, self, OP_R64, va, 0));
	/* A store to another entry of PT_A1 makes it unsync. */
	must(_metadata, self, OP_W64, PT_A1 + 15 * 8,
	     (DATA_GPA + 0xf000) | P | RW);
	EXPECT_EQ(1, vm_stat(_metadata, self->vmfd, "mmu_unsync"));
	/* One run: the PTE rewritten, then the store through it. */
	ASSERT_EQ(0, sh_do_rdx(self, OP_W64_CLEAR, ptep, new | P, va, &res));
	ASSERT_EQ(PORT_PF, res.port);
	EXPECT_EQ(3ULL, res.rdx);
	EXPECT_EQ(va, res.rsi);
	/*
	 * Only the registers set for the read (sh_do() sets the sregs too,
	 * which syncs every unsync page): ring 0 still, in the #PF handler.
	 */
	memset(&regs, 0, sizeof(regs));
	regs.rax = OP_R64;
	regs.rbx = va;
	regs.rip = OFF(sh_loop);
	regs.rsp = STACK_TOP;
	regs.rflags = 2;
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_REGS,
				 (unsigned long)&regs));
	ASSERT_EQ(0, sh_run(self, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(0x0808ULL, res.rcx)
		TH_LOG("read through the SPTE of before the #PF");
	EXPECT_EQ(0x0707ULL, *(uint64_t *)(self->mem + old));
	EXPECT_EQ(0x0808ULL, *(uint64_t *)(self->mem + new));
}

/*
 * A leaf table written (unsync) then used as a page directory too:
 * PDPT_A[1] = PT_A1 makes PT_A1's entries PDEs for 1G-2G (entry 0 points
 * at data page 0 as a PT). Its leaf shadow pages must go and it must be
 * write-protected again: a later store to it as a directory is seen
 * after INVLPG (an upper-level shadow page is never unsync).
 */
TEST_F(sh, unsync_pt_becomes_directory)
{
	uint64_t va = 0x40000000UL;

	*(uint64_t *)(self->mem + DATA_GPA) = (DATA_GPA + 0xc000) | P | RW;
	*(uint64_t *)(self->mem + DATA_GPA + 0x1000) =
		(DATA_GPA + 0xd000) | P | RW;
	*(uint64_t *)(self->mem + DATA_GPA + 0xc000) = 0xc0c0;
	*(uint64_t *)(self->mem + DATA_GPA + 0xd000) = 0xd0d0;
	must(_metadata, self, OP_R64, WINDOW + 0x5000, 0);
	must(_metadata, self, OP_W64, PT_A1 + 20 * 8, 0);
	must(_metadata, self, OP_W64, PDPT_A + 8, PT_A1 | P | RW);
	EXPECT_EQ(0xc0c0ULL, must(_metadata, self, OP_R64, va, 0));
	/* Its PDE 0 (also WINDOW's PTE 0) now names data page 1. */
	must(_metadata, self, OP_W64, PT_A1, (DATA_GPA + 0x1000) | P | RW);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0xd0d0ULL, must(_metadata, self, OP_R64, va, 0));
	/* And as a leaf table: WINDOW page 0 is data page 1. */
	must(_metadata, self, OP_INVLPG, WINDOW, 0);
	EXPECT_EQ((DATA_GPA + 0xd000) | P | RW,
		  must(_metadata, self, OP_R64, WINDOW, 0) & ~(ACC | DIRTY));
}

/*
 * ---- PAE and 32-bit (2-level) guests: fixture sh32, variants pae and
 * two_level ----
 *
 * The same register-driven loop in 32-bit code (EAX = operation, EBX =
 * address, ECX = value; OUT to port 0x10), a #PF handler (port 0x11, EDX
 * = error code, ESI = CR2) and a #GP handler (port 0x13, EDX = error
 * code). Each operation starts with KVM_SET_REGS only: no KVM_SET_SREGS
 * between operations, which would load the PDPTEs again. The host builds
 * space A; 8-byte entries for PAE, 4-byte ones for 2-level paging:
 *
 *   VA 0 - 2M (PAE) / 0 - 4M (2-level)  identity, 4K pages, page 0 absent
 *   win  = 2M (PAE) / 4M (2-level)      page n -> data page n (n < 16);
 *                                       2-level also page 512 + n ->
 *                                       data page 16 + n (the second
 *                                       shadow PT of that guest PT)
 *   huge = 4M (PAE, a 2M page) / 8M (2-level, a 4M PSE page) -> GPA 4M
 *   PAE: PDPTEs 1-3 not present; 2-level: PDEs from 3 up not present
 */
#define T32_TOP_A	0x10000UL	/* PAE: PDPT; 2-level: PD */
#define T32_PD_A	0x11000UL	/* PAE only */
#define T32_PT0		0x12000UL
#define T32_PT1		0x13000UL
#define T32_TOP_B	0x20000UL
#define T32_PD_B	0x21000UL
#define T32_PT1_B	0x22000UL
#define T32_BAD_PDPT	0x23000UL
#define T32_ODD_PDPT	0x24000UL
#define T32_HUGE_GPA	0x400000UL
#define T32_HIGH_GPA	0x100000000UL	/* slot 1, above 4G */
#define T32_HIGH_SIZE	0x400000UL

#define OP32_R		1
#define OP32_W		2
#define OP32_INVLPG	3
#define OP32_SETCR3	4
#define OP32_GETCR3	5
#define OP32_SETCR0	6
#define OP32_SETCR4	7
#define OP32_CALL	8

#define PORT_GP		0x13

#define OP32(n, insn)			\
	"	cmp $" S(n) ", %eax\n"	\
	"	jne 1f\n"		\
	"	" insn "\n"		\
	"	jmp .Lsh32_done\n"	\
	"1:\n"

/* 32-bit code, only relative jumps: it runs at CODE_GPA. */
asm(".pushsection .rodata.sh32, \"a\"\n"
	".balign 16\n"
	".code32\n"
	".globl sh32_code_start, sh32_loop, sh32_pf, sh32_gp, sh32_bad\n"
	".globl sh32_code_end\n"
	"sh32_code_start:\n"
	"sh32_loop:\n"
	OP32(OP32_R, "mov (%ebx), %ecx")
	OP32(OP32_W, "mov %ecx, (%ebx)")
	OP32(OP32_INVLPG, "invlpg (%ebx)")
	OP32(OP32_SETCR3, "mov %ebx, %cr3")
	OP32(OP32_GETCR3, "mov %cr3, %ecx")
	OP32(OP32_SETCR0, "mov %ebx, %cr0")
	OP32(OP32_SETCR4, "mov %ebx, %cr4")
	OP32(OP32_CALL, "call *%ebx")
	".Lsh32_done:\n"
	"	out %al, $" S(PORT_DONE) "\n"
	"	jmp sh32_loop\n"
	"sh32_pf:\n"
	"	pop %edx\n"
	"	mov %cr2, %esi\n"
	"	out %al, $" S(PORT_PF) "\n"
	"2:	jmp 2b\n"
	"sh32_gp:\n"
	"	pop %edx\n"
	"	out %al, $" S(PORT_GP) "\n"
	"3:	jmp 3b\n"
	"sh32_bad:\n"
	"	out %al, $" S(PORT_BAD) "\n"
	"4:	jmp 4b\n"
	"sh32_code_end:\n"
	".code64\n"
	".popsection\n");

extern const unsigned char sh32_code_start[], sh32_loop[], sh32_pf[],
	sh32_gp[], sh32_bad[], sh32_code_end[];

#define OFF32(sym)	(CODE_GPA + (uint64_t)((sym) - sh32_code_start))

FIXTURE(sh32)
{
	int devfd, vmfd, vcpufd;
	struct kvm_run *run;
	long run_size;
	uint8_t *mem;
	struct kvm_sregs sregs0;
	int pae;
	unsigned int esize;	/* bytes per guest entry */
	uint64_t win, huge, huge_size;
};

FIXTURE_VARIANT(sh32)
{
	int pae;
};

FIXTURE_VARIANT_ADD(sh32, pae)
{
	.pae = 1,
};

FIXTURE_VARIANT_ADD(sh32, two_level)
{
	.pae = 0,
};

/* Entry @idx of the guest table at @table, 8 or 4 bytes wide. */
static void put_e(FIXTURE_DATA(sh32) *self, uint64_t table, unsigned int idx,
		  uint64_t val)
{
	if (self->pae)
		*(uint64_t *)(self->mem + table + idx * 8) = val;
	else
		*(uint32_t *)(self->mem + table + idx * 4) = (uint32_t)val;
}

static uint64_t get_e(FIXTURE_DATA(sh32) *self, uint64_t table,
		      unsigned int idx)
{
	if (self->pae)
		return *(uint64_t *)(self->mem + table + idx * 8);
	return *(uint32_t *)(self->mem + table + idx * 4);
}

/* The PD of a space: the PDPT's first PD for PAE, the top for 2-level. */
static uint64_t pd_of(FIXTURE_DATA(sh32) *self, uint64_t top, uint64_t pd)
{
	if (!self->pae)
		return top;
	put_e(self, top, 0, pd | P);
	return pd;
}

static void build_space32(FIXTURE_DATA(sh32) *self)
{
	uint64_t pd = pd_of(self, T32_TOP_A, T32_PD_A);
	unsigned int i, n = self->pae ? 512 : 1024;

	put_e(self, pd, 0, T32_PT0 | P | RW | US);
	put_e(self, pd, 1, T32_PT1 | P | RW | US);
	put_e(self, pd, 2, T32_HUGE_GPA | P | RW | PS);
	for (i = 1; i < n; i++)
		put_e(self, T32_PT0, i, (i << 12) | P | RW);
	for (i = 0; i < 16; i++) {
		put_e(self, T32_PT1, i, (DATA_GPA + (i << 12)) | P | RW);
		if (!self->pae)
			put_e(self, T32_PT1, 512 + i,
			      (DATA_GPA + ((16 + i) << 12)) | P | RW);
	}
}

static void put_gate32(FIXTURE_DATA(sh32) *self, int vec, uint64_t handler)
{
	uint32_t *g = (uint32_t *)(self->mem + IDT_GPA + vec * 8);

	g[0] = (handler & 0xffff) | (0x08 << 16);
	g[1] = (handler & 0xffff0000) | 0x8e00;	/* P, DPL 0, interrupt gate */
}

FIXTURE_SETUP(sh32)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
	};
	struct kvm_sregs *s = &self->sregs0;
	struct kvm_cpuid2 *cpuid;
	uint64_t *gdt;
	int i;

	ASSERT_EQ(1, kvmmu_shadow_mode()) TH_LOG("the MMU under test is not the shadow one (tdp/npt)");
	self->pae = variant->pae;
	self->esize = self->pae ? 8 : 4;
	self->win = self->pae ? 0x200000 : 0x400000;
	self->huge = self->pae ? 0x400000 : 0x800000;
	self->huge_size = self->pae ? 0x200000 : 0x400000;
	self->devfd = kvmmu_open_dev();
	ASSERT_LE(0, self->devfd);
	self->vmfd = kvmmu_create_vm(self->devfd, 0);
	ASSERT_LE(0, self->vmfd);
	self->mem = kvmmu_alloc(MEM_SIZE);
	ASSERT_NE(NULL, self->mem);
	r.userspace_addr = (uintptr_t)self->mem;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	self->vcpufd = kvmmu_ioctl(self->vmfd, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, self->vcpufd);
	self->run_size = kvmmu_ioctl(self->devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, self->run_size);
	self->run = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->vcpufd, 0);
	ASSERT_NE(MAP_FAILED, self->run);
	cpuid = kvmmu_supported_cpuid(self->devfd);
	ASSERT_NE(NULL, cpuid);
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_CPUID2,
				 (unsigned long)cpuid));
	free(cpuid);

	memcpy(self->mem + CODE_GPA, sh32_code_start,
	       sh32_code_end - sh32_code_start);
	gdt = (uint64_t *)(self->mem + GDT_GPA);
	gdt[1] = 0x00cf9a000000ffffULL;	/* 0x08 code32 DPL 0 */
	gdt[2] = 0x00cf92000000ffffULL;	/* 0x10 data DPL 0 */
	gdt[5] = 0x00008b0040000067ULL;	/* 0x28 busy TSS at TSS_GPA */
	for (i = 0; i < 32; i++)
		put_gate32(self, i, OFF32(sh32_bad));
	put_gate32(self, 13, OFF32(sh32_gp));
	put_gate32(self, 14, OFF32(sh32_pf));
	build_space32(self);

	/* The tables first: KVM_SET_SREGS loads the PDPTEs from CR3. */
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS, (unsigned long)s));
	seg(&s->cs, 0x08, 11, 0);
	seg(&s->ds, 0x10, 3, 0);
	s->es = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ss = s->ds;
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = 0x28;
	s->tr.base = TSS_GPA;
	s->tr.limit = 0x67;
	s->tr.type = 11;
	s->tr.present = 1;
	s->gdt.base = GDT_GPA;
	s->gdt.limit = 0x37;
	s->idt.base = IDT_GPA;
	s->idt.limit = 0xff;
	s->cr0 = 0x80010033;	/* PG WP NE ET MP PE */
	s->cr3 = T32_TOP_A;
	s->cr4 = self->pae ? 0x20 : 0x10;	/* PAE, or PSE */
	s->efer = 0;
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS, (unsigned long)s));
}

FIXTURE_TEARDOWN(sh32)
{
	if (self->run && self->run != MAP_FAILED)
		munmap(self->run, self->run_size);
	if (self->vcpufd >= 0)
		close(self->vcpufd);
	if (self->vmfd >= 0)
		close(self->vmfd);
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->mem)
		munmap(self->mem, MEM_SIZE);
}

/* Operation @op from the top of the loop: KVM_SET_REGS, no SET_SREGS. */
static int sh32_do(FIXTURE_DATA(sh32) *self, int op, uint64_t ebx,
		   uint64_t ecx, struct sh_result *res)
{
	struct kvm_regs regs = {
		.rax = op, .rbx = ebx, .rcx = ecx,
		.rip = OFF32(sh32_loop), .rsp = STACK_TOP, .rflags = 2,
	};
	int r = kvmmu_ioctl(self->vcpufd, KVM_SET_REGS, (unsigned long)&regs);

	return r ? r : run_report(self->vcpufd, self->run, res);
}

static uint32_t must32(struct __test_metadata *_metadata,
		       FIXTURE_DATA(sh32) *self, int op, uint64_t ebx,
		       uint64_t ecx)
{
	struct sh_result res;

	EXPECT_EQ(0, sh32_do(self, op, ebx, ecx, &res));
	EXPECT_EQ(PORT_DONE, res.port) {
		TH_LOG("op %d at %#llx: port %#x error %#llx cr2 %#llx", op,
		       (unsigned long long)ebx, res.port,
		       (unsigned long long)res.rdx,
		       (unsigned long long)res.rsi);
	}
	return (uint32_t)res.rcx;
}

static void expect_pf32(struct __test_metadata *_metadata,
			FIXTURE_DATA(sh32) *self, int op, uint64_t addr,
			uint64_t error)
{
	struct sh_result res;

	ASSERT_EQ(0, sh32_do(self, op, addr, 0x1234, &res));
	ASSERT_EQ(PORT_PF, res.port);
	EXPECT_EQ(error, (uint32_t)res.rdx);
	EXPECT_EQ(addr, (uint32_t)res.rsi);
}

/* The guest stores entry @idx of @table (its low 32 bits), identity-mapped. */
static void guest_put_e(struct __test_metadata *_metadata,
			FIXTURE_DATA(sh32) *self, uint64_t table,
			unsigned int idx, uint32_t val)
{
	must32(_metadata, self, OP32_W, table + idx * self->esize, val);
}

static uint32_t *u32_at(FIXTURE_DATA(sh32) *self, uint64_t gpa)
{
	return (uint32_t *)(self->mem + gpa);
}

TEST_F(sh32, rw_through_mappings)
{
	uint64_t last = self->huge + self->huge_size - 0x1000;

	must32(_metadata, self, OP32_W, self->win + 8, 0x11223344);
	EXPECT_EQ(0x11223344U, *u32_at(self, DATA_GPA + 8));
	*u32_at(self, DATA_GPA + 0x1010) = 0x55667788;
	EXPECT_EQ(0x55667788U, must32(_metadata, self, OP32_R,
				      self->win + 0x1010, 0));
	/* The identity map. */
	*u32_at(self, 0x50000) = 0xfeed;
	EXPECT_EQ(0xfeedU, must32(_metadata, self, OP32_R, 0x50000, 0));
	/* The 2M/4M page: its first and its last 4K (another shadow PT). */
	*u32_at(self, T32_HUGE_GPA + 0x12340) = 0xbeef;
	EXPECT_EQ(0xbeefU, must32(_metadata, self, OP32_R,
				  self->huge + 0x12340, 0));
	must32(_metadata, self, OP32_W, last + 4, 0x4242);
	EXPECT_EQ(0x4242U, *u32_at(self, T32_HUGE_GPA + (last - self->huge) + 4));
	if (self->pae)
		return;
	/* 2-level: entry 514 of the window's PT, in its second half. */
	*u32_at(self, DATA_GPA + 18 * 0x1000 + 0x20) = 0x1818;
	EXPECT_EQ(0x1818U, must32(_metadata, self, OP32_R,
				  self->win + 0x202020, 0));
	must32(_metadata, self, OP32_W, self->win + 0x202024, 0x1919);
	EXPECT_EQ(0x1919U, *u32_at(self, DATA_GPA + 18 * 0x1000 + 0x24));
	/* ...and entry 2 still maps data page 2. */
	EXPECT_EQ(0U, *u32_at(self, DATA_GPA + 2 * 0x1000 + 0x24));
}

TEST_F(sh32, pf_not_present)
{
	put_e(self, T32_PT1, 3, 0);
	expect_pf32(_metadata, self, OP32_R, self->win + 0x3008, 0);
	expect_pf32(_metadata, self, OP32_W, self->win + 0x3010, 2);
	expect_pf32(_metadata, self, OP32_R, 0x18, 0);
	/* PAE: PDPTE 1 not present; 2-level: PDE 256 not present. */
	expect_pf32(_metadata, self, OP32_R, 0x40001008, 0);
	expect_pf32(_metadata, self, OP32_W, 0xc0000010, 2);
	EXPECT_EQ(0U, *u32_at(self, DATA_GPA + 0x3010));
}

TEST_F(sh32, pf_write_read_only)
{
	put_e(self, T32_PT1, 4, (DATA_GPA + 0x4000) | P);
	*u32_at(self, DATA_GPA + 0x4000) = 77;
	EXPECT_EQ(77U, must32(_metadata, self, OP32_R, self->win + 0x4000, 0));
	expect_pf32(_metadata, self, OP32_W, self->win + 0x4004, 3);
	EXPECT_EQ(77U, *u32_at(self, DATA_GPA + 0x4000));
	EXPECT_EQ(0U, *u32_at(self, DATA_GPA + 0x4004));
}

TEST_F(sh32, pte_edit_invlpg)
{
	uint64_t va = self->win + 6 * 0x1000;

	*u32_at(self, DATA_GPA + 0x6000) = 0x6666;
	*u32_at(self, DATA_GPA + 0x7000) = 0x7777;
	EXPECT_EQ(0x6666U, must32(_metadata, self, OP32_R, va, 0));
	/* The guest points the PTE at data page 7. */
	guest_put_e(_metadata, self, T32_PT1, 6, (DATA_GPA + 0x7000) | P | RW);
	EXPECT_EQ((DATA_GPA + 0x7000) | P | RW, get_e(self, T32_PT1, 6) & ~ACC);
	must32(_metadata, self, OP32_INVLPG, va, 0);
	EXPECT_EQ(0x7777U, must32(_metadata, self, OP32_R, va, 0));
	must32(_metadata, self, OP32_W, va + 8, 0xabcd);
	EXPECT_EQ(0xabcdU, *u32_at(self, DATA_GPA + 0x7008));
	EXPECT_EQ(0U, *u32_at(self, DATA_GPA + 0x6008));
	guest_put_e(_metadata, self, T32_PT1, 6, 0);
	must32(_metadata, self, OP32_INVLPG, va, 0);
	expect_pf32(_metadata, self, OP32_R, va, 0);
	if (self->pae)
		return;
	/* 2-level: the same in the PT's second half (entry 518). */
	va = self->win + 0x200000 + 6 * 0x1000;
	*u32_at(self, DATA_GPA + 22 * 0x1000) = 0x2222;
	EXPECT_EQ(0x2222U, must32(_metadata, self, OP32_R, va, 0));
	guest_put_e(_metadata, self, T32_PT1, 518, (DATA_GPA + 0x7000) | P | RW);
	must32(_metadata, self, OP32_INVLPG, va, 0);
	EXPECT_EQ(0x7777U, must32(_metadata, self, OP32_R, va, 0));
	/* Entry 6 is still not present. */
	expect_pf32(_metadata, self, OP32_R, self->win + 6 * 0x1000, 0);
}

TEST_F(sh32, cr3_switch)
{
	uint64_t pd_b = self->pae ? T32_PD_B : T32_TOP_B;
	int i;

	*u32_at(self, DATA_GPA + 0x8000) = 0xaaaa;
	*u32_at(self, DATA_GPA + 0x9000) = 0xbbbb;
	/* The guest builds space B: same low identity map, window 0 -> 9. */
	if (self->pae)
		guest_put_e(_metadata, self, T32_TOP_B, 0, T32_PD_B | P);
	guest_put_e(_metadata, self, pd_b, 0, T32_PT0 | P | RW | US);
	guest_put_e(_metadata, self, pd_b, 1, T32_PT1_B | P | RW | US);
	guest_put_e(_metadata, self, T32_PT1_B, 0, (DATA_GPA + 0x9000) | P | RW);
	put_e(self, T32_PT1, 0, (DATA_GPA + 0x8000) | P | RW);

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0xaaaaU, must32(_metadata, self, OP32_R, self->win, 0));
		must32(_metadata, self, OP32_SETCR3, T32_TOP_B, 0);
		EXPECT_EQ(T32_TOP_B, must32(_metadata, self, OP32_GETCR3, 0, 0));
		EXPECT_EQ(0xbbbbU, must32(_metadata, self, OP32_R, self->win, 0));
		expect_pf32(_metadata, self, OP32_R, self->win + 0x1000, 0);
		must32(_metadata, self, OP32_W, self->win + 16, 0xb0 + i);
		must32(_metadata, self, OP32_SETCR3, T32_TOP_A, 0);
	}
	EXPECT_EQ(0xb2U, *u32_at(self, DATA_GPA + 0x9010));
	EXPECT_EQ(0U, *u32_at(self, DATA_GPA + 0x8010));
}

TEST_F(sh32, accessed_dirty)
{
	uint64_t pd = self->pae ? T32_PD_A : T32_TOP_A;

	put_e(self, pd, 1, get_e(self, pd, 1) & ~(ACC | DIRTY));
	EXPECT_EQ(0ULL, get_e(self, T32_PT1, 10) & (ACC | DIRTY));
	must32(_metadata, self, OP32_R, self->win + 11 * 0x1000, 0);
	must32(_metadata, self, OP32_W, self->win + 10 * 0x1000, 5);
	EXPECT_EQ(ACC | DIRTY, get_e(self, T32_PT1, 10) & (ACC | DIRTY));
	EXPECT_EQ(ACC, get_e(self, T32_PT1, 11) & (ACC | DIRTY));
	EXPECT_EQ(ACC, get_e(self, pd, 1) & (ACC | DIRTY));
	/* PAE's PDPTEs have no A bit: left as they were. */
	if (self->pae)
		EXPECT_EQ(T32_PD_A | P, get_e(self, T32_TOP_A, 0));
	must32(_metadata, self, OP32_W, self->win + 11 * 0x1000, 6);
	EXPECT_EQ(ACC | DIRTY, get_e(self, T32_PT1, 11) & (ACC | DIRTY));
	EXPECT_EQ(6U, *u32_at(self, DATA_GPA + 11 * 0x1000));
}

/* The 2M (PAE) or 4M (PSE) page: A on a read, D on the first write. */
TEST_F(sh32, huge_page)
{
	uint64_t pd = self->pae ? T32_PD_A : T32_TOP_A;
	uint64_t off = self->huge_size - 8;

	put_e(self, pd, 2, T32_HUGE_GPA | P | RW | PS);
	*u32_at(self, T32_HUGE_GPA + 0x10) = 0x1010;
	EXPECT_EQ(0x1010U, must32(_metadata, self, OP32_R, self->huge + 0x10, 0));
	EXPECT_EQ(ACC, get_e(self, pd, 2) & (ACC | DIRTY));
	must32(_metadata, self, OP32_W, self->huge + off, 0xd1d1);
	EXPECT_EQ(ACC | DIRTY, get_e(self, pd, 2) & (ACC | DIRTY));
	EXPECT_EQ(0xd1d1U, *u32_at(self, T32_HUGE_GPA + off));
	/* The guest remaps it read-only in its live PD, then INVLPG. */
	guest_put_e(_metadata, self, pd, 2, T32_HUGE_GPA | P | PS | ACC | DIRTY);
	must32(_metadata, self, OP32_INVLPG, self->huge + off, 0);
	EXPECT_EQ(0xd1d1U, must32(_metadata, self, OP32_R, self->huge + off, 0));
	expect_pf32(_metadata, self, OP32_W, self->huge + off, 3);
}

/* PSE-36 (a 4M page) or PAE (a 2M page) above 4G. */
TEST_F(sh32, page_above_4g)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = T32_HIGH_GPA,
		.memory_size = T32_HIGH_SIZE,
	};
	struct kvm_cpuid2 *cpuid = kvmmu_supported_cpuid(self->devfd);
	uint64_t pd = self->pae ? T32_PD_A : T32_TOP_A, va, size, pde;
	uint8_t *high;
	int pse36 = 0;
	unsigned int i;

	ASSERT_NE(NULL, cpuid);
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			pse36 = !!(cpuid->entries[i].edx & (1U << 17));
	free(cpuid);
	if (!self->pae && !pse36)
		SKIP(return, "PSE-36 not in KVM_GET_SUPPORTED_CPUID");
	high = kvmmu_alloc(T32_HIGH_SIZE);
	ASSERT_NE(NULL, high);
	r.userspace_addr = (uintptr_t)high;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	/* PDE 3: bit 32 of the address in bit 13 (PSE-36), or in bit 32. */
	pde = self->pae ? T32_HIGH_GPA : (1ULL << 13);
	put_e(self, pd, 3, pde | P | RW | PS);
	size = self->huge_size;
	va = 3 * size;
	*(uint32_t *)(high + 0x1234) = 0x4321;
	EXPECT_EQ(0x4321U, must32(_metadata, self, OP32_R, va + 0x1234, 0));
	must32(_metadata, self, OP32_W, va + size - 0x1000, 0x5678);
	EXPECT_EQ(0x5678U, *(uint32_t *)(high + size - 0x1000));
	EXPECT_EQ(ACC | DIRTY, get_e(self, pd, 3) & (ACC | DIRTY));
	munmap(high, T32_HIGH_SIZE);
}

/*
 * PAE: the PDPTEs are loaded with CR3 and used from that copy: a PDPTE
 * the guest changes in memory counts from its next MOV CR3 on, not before.
 */
TEST_F(sh32, pdpte_loaded_copy)
{
	uint64_t va = 0x40000000 + 0x50000;

	if (!self->pae)
		SKIP(return, "PAE only");
	*u32_at(self, 0x50000) = 0x5050;
	/* PDPTE 1 -> the PD of GB 0, in memory only. */
	guest_put_e(_metadata, self, T32_TOP_A, 1, T32_PD_A | P);
	expect_pf32(_metadata, self, OP32_R, va, 0);
	must32(_metadata, self, OP32_SETCR3, T32_TOP_A, 0);
	EXPECT_EQ(0x5050U, must32(_metadata, self, OP32_R, va, 0));
	/* Cleared in memory: still mapped until the next MOV CR3. */
	guest_put_e(_metadata, self, T32_TOP_A, 1, 0);
	must32(_metadata, self, OP32_INVLPG, va, 0);
	EXPECT_EQ(0x5050U, must32(_metadata, self, OP32_R, va, 0));
	must32(_metadata, self, OP32_SETCR3, T32_TOP_A, 0);
	expect_pf32(_metadata, self, OP32_R, va, 0);
}

/*
 * PAE: MOV CR3 to a PDPT with a reserved bit in a present PDPTE is #GP(0)
 * and changes nothing; reserved bits in a PDPTE that is not present are
 * no error (load_pdptrs()).
 */
TEST_F(sh32, pdpte_reserved_gp)
{
	struct sh_result res;

	if (!self->pae)
		SKIP(return, "PAE only");
	put_e(self, T32_BAD_PDPT, 0, T32_PD_A | P);
	put_e(self, T32_BAD_PDPT, 1, T32_PD_A | P | RW);
	put_e(self, T32_ODD_PDPT, 0, T32_PD_A | P);
	put_e(self, T32_ODD_PDPT, 1, RW | US);
	*u32_at(self, DATA_GPA) = 0xd0d0;
	ASSERT_EQ(0, sh32_do(self, OP32_SETCR3, T32_BAD_PDPT, 0, &res));
	EXPECT_EQ(PORT_GP, res.port);
	EXPECT_EQ(0U, (uint32_t)res.rdx);
	EXPECT_EQ(T32_TOP_A, must32(_metadata, self, OP32_GETCR3, 0, 0));
	EXPECT_EQ(0xd0d0U, must32(_metadata, self, OP32_R, self->win, 0));
	must32(_metadata, self, OP32_SETCR3, T32_ODD_PDPT, 0);
	EXPECT_EQ(T32_ODD_PDPT, must32(_metadata, self, OP32_GETCR3, 0, 0));
	EXPECT_EQ(0xd0d0U, must32(_metadata, self, OP32_R, self->win, 0));
	expect_pf32(_metadata, self, OP32_R, 0x40000000, 0);
}

/* The guest turns paging on itself (MOV CR0; PAE: the PDPTEs load). */
TEST_F(sh32, paging_on_by_guest)
{
	struct kvm_sregs s = self->sregs0;

	s.cr0 &= ~0x80000000ULL;
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS,
				 (unsigned long)&s));
	*u32_at(self, self->win + 0x1010) = 0x0ff;
	*u32_at(self, DATA_GPA + 0x1010) = 0x0a;
	EXPECT_EQ(0x0ffU, must32(_metadata, self, OP32_R, self->win + 0x1010, 0));
	must32(_metadata, self, OP32_SETCR0, self->sregs0.cr0, 0);
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS,
				 (unsigned long)&s));
	EXPECT_EQ(self->sregs0.cr0, s.cr0);
	EXPECT_EQ(0x0aU, must32(_metadata, self, OP32_R, self->win + 0x1010, 0));
}

/*
 * A PDE pointing to a page table in no memslot: the walk reads it as not
 * present, as KVM's walker does (FNAME(walk_addr_generic)'s error path):
 * error 0 for a read, 2 for a write, and for an instruction fetch 0 too,
 * since without EFER.NX (and SMEP) the I/D bit is reserved.
 */
TEST_F(sh32, pf_table_outside_memory)
{
	uint64_t pd = self->pae ? T32_PD_A : T32_TOP_A;
	uint64_t va = 5 * (self->pae ? 0x200000ULL : 0x400000ULL);

	put_e(self, pd, 5, MMIO_GPA | P | RW);
	expect_pf32(_metadata, self, OP32_R, va + 0x10, 0);
	expect_pf32(_metadata, self, OP32_W, va + 0x20, 2);
	expect_pf32(_metadata, self, OP32_CALL, va + 0x30, 0);
}

/*
 * A MOV crossing 4G (DS base 4K, offset 0xffffeffe) out of a live table,
 * which a self-map puts at 0xfffff000, into page 0 (not present): linear
 * addresses wrap at 4G outside long mode, so the #PF of the second half
 * has CR2 0, not 1 << 32 (KVM's emulator_read_write() truncates the
 * second fragment's address). The guest's MOV from CR2 reads 32 bits: the
 * host looks at the whole register.
 */
#define T32_PD_HI	0x25000UL	/* PAE: the PD of 3G-4G */

TEST_F(sh32, pf_cross_4g_cr2)
{
	uint64_t table = self->pae ? T32_PD_HI : T32_TOP_A;
	struct sh_result res;
	struct kvm_sregs s;
	uint16_t top;

	if (self->pae) {
		put_e(self, T32_TOP_A, 3, T32_PD_HI | P);
		put_e(self, T32_PD_HI, 511, T32_PD_HI | P | RW);
	} else {
		put_e(self, T32_TOP_A, 1023, T32_TOP_A | P | RW);
	}
	/* The table's half of the store writes what is there already. */
	top = *(uint16_t *)(self->mem + table + 0xffe);
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS,
				 (unsigned long)&s));
	s.ds.base = 0x1000;
	/* Loads the PDPTEs too (PAE: PDPTE 3 is new). */
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS,
				 (unsigned long)&s));
	ASSERT_EQ(0, sh32_do(self, OP32_W, 0xffffeffe, 0x12340000 | top,
			     &res));
	ASSERT_EQ(PORT_PF, res.port);
	EXPECT_EQ(2U, (uint32_t)res.rdx);
	EXPECT_EQ(0U, (uint32_t)res.rsi);
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS,
				 (unsigned long)&s));
	EXPECT_EQ(0ULL, s.cr2);
	EXPECT_EQ(top, *(uint16_t *)(self->mem + table + 0xffe));
}

static void sh32_on_alarm(int sig)
{
	(void)sig;
}

/*
 * 2-level: CR4.PSE decides whether a PDE with PS set is a 4M page or
 * points to a page table. The guest reads through PDE 2 (PS set, GPA 4M)
 * as a 4M page, clears CR4.PSE, and reads the same 4M of addresses again:
 * now GPA 4M is the page table, both at an address mapped before (no
 * stale 4M translation may survive the CR4 write, which flushes the TLB)
 * and at one never mapped; then PSE back on, the 4M page again. Not run
 * on stock KVM 6.12: its page role ignores CR4.PSE too, it keeps the 4M
 * page's shadow (the stale read) and WARNs in
 * kvm_mmu_page_set_translation() on the fresh one.
 */
TEST_F(sh32, pse_toggle)
{
	struct sigaction sa = { .sa_handler = sh32_on_alarm };
	uint64_t pd = T32_TOP_A, va = self->huge, pt = T32_HUGE_GPA;
	struct sh_result res;

	if (self->pae)
		SKIP(return, "2-level only");
	if (kvmmu_is_stock())
		SKIP(return, "KVM 6.12 keeps the 4M page's shadow after CR4.PSE=0");
	/* A livelocked KVM_RUN returns EINTR instead of hanging the test. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	put_e(self, pd, 2, T32_HUGE_GPA | P | RW | PS);
	/* GPA 4M as a page table: PTE 256 -> data 40, PTE 128 -> data 41. */
	put_e(self, pt, 256, (DATA_GPA + 40 * 0x1000) | P | RW);
	put_e(self, pt, 128, (DATA_GPA + 41 * 0x1000) | P | RW);
	*u32_at(self, DATA_GPA + 40 * 0x1000) = 0x4040;
	*u32_at(self, DATA_GPA + 41 * 0x1000) = 0x4141;
	*u32_at(self, T32_HUGE_GPA + 0x100000) = 0x1010;
	*u32_at(self, T32_HUGE_GPA + 0x80000) = 0x0808;
	/* PSE on: the 4M page. */
	EXPECT_EQ(0x1010U, must32(_metadata, self, OP32_R, va + 0x100000, 0));
	/* PSE off: PDE 2 points to the page table at GPA 4M. */
	must32(_metadata, self, OP32_SETCR4, 0, 0);
	alarm(10);
	ASSERT_EQ(0, sh32_do(self, OP32_R, va + 0x100000, 0, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(0x4040U, (uint32_t)res.rcx);
	ASSERT_EQ(0, sh32_do(self, OP32_R, va + 0x80000, 0, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(0x4141U, (uint32_t)res.rcx);
	/* PSE on again: the 4M page. */
	must32(_metadata, self, OP32_SETCR4, 0x10, 0);
	ASSERT_EQ(0, sh32_do(self, OP32_R, va + 0x80000, 0, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(0x0808U, (uint32_t)res.rcx);
	EXPECT_EQ(0x1010U, must32(_metadata, self, OP32_R, va + 0x100000, 0));
	alarm(0);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The native baseline of `npm run bench`: the same page-table operations the
 * JS bench times for arm-64-lpae-s1-4k (src/bench/main.ts, formatOps() and
 * scaling()), written as a plain C program, so that the bench can print the
 * JS/native ratio of each operation measured in one run on one machine.
 *
 * What it implements (a straightforward implementation from the Arm
 * architecture's VMSAv8-64 descriptor formats, not derived from the kernel's
 * io-pgtable-arm.c):
 * - A stage-1 table, 4 KiB granule, 48-bit input and output addresses: four
 *   levels (0..3) of 512 little-endian 64-bit descriptors. A table descriptor
 *   holds the next table's physical address | 0b11; a leaf holds the output
 *   address | the type bits (0b11 page at level 3, 0b01 block at levels 1, 2)
 *   | AF | the attributes a prot asks for.
 * - Tables come from a preallocated pool of 4 KiB pages at a "physical" base
 *   (0x40000000, as the JS TableMemory's), handed out from a free list or a
 *   bump pointer and zeroed when handed out. A table descriptor is turned
 *   back into a pointer by its offset from the base, as __va() would.
 * - map_pages(iova, paddr, pgsize, pgcount, prot): the range and alignment
 *   checks, the walk down creating tables, then up to pgcount leaves,
 *   stopping at the end of the leaf table; an existing leaf is -EEXIST, an
 *   existing table where a block goes is freed with all under it.
 * - unmap_pages(iova, pgsize, pgcount): clears up to pgcount leaves in one
 *   table; tables that become empty stay in place. (Unmapping part of a
 *   block is not needed by the bench and is refused.)
 * - iova_to_phys(iova): the walk, 0 when nothing maps the address.
 * - The timing harness is the JS bench's time(): warm-up of at least 3 runs
 *   and warmup_ns, one run to size a round to round_ns, then `rounds` rounds;
 *   each phase's median ns per operation.
 *
 * Every operation's result is checked: a failed map or unmap, or a
 * translation that is not the expected address, aborts with a message (exit
 * status 2), so the timed loops cannot be optimised away or measure nothing.
 *
 * Output: one JSON object per line on stdout (see main()).
 * Usage: pgtable-baseline [--pages N] [--batches B] [--blocks K] [--ops M]
 *          [--scales a,b,...] [--rounds R] [--round-ns NS] [--warmup-ns NS]
 *          [--inject-fault]
 * --inject-fault corrupts one leaf before the iova_to_phys loop, to show
 * that the check fires.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EINVAL_ 22
#define ENOMEM_ 12
#define EEXIST_ 17
#define ERANGE_ 34

/* Geometry: 4 KiB granule, 9 index bits per level, levels 0..3. */
#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define ENTRIES 512u
#define LAST_LEVEL 3
#define ADDR_BITS 48
#define ADDR_LIMIT (1ull << ADDR_BITS)
#define level_shift(l) (PAGE_SHIFT + 9 * (LAST_LEVEL - (l)))
#define level_size(l) (1ull << level_shift(l))
#define level_index(l, iova) ((unsigned)((iova) >> level_shift(l)) & (ENTRIES - 1))

/* VMSAv8-64 descriptor fields (stage 1). */
#define DESC_TYPE_MASK 3ull
#define DESC_TYPE_TABLE 3ull /* levels 0..2 */
#define DESC_TYPE_PAGE 3ull  /* level 3 */
#define DESC_TYPE_BLOCK 1ull /* levels 1, 2 */
#define DESC_OA_MASK (ADDR_LIMIT - PAGE_SIZE) /* bits 47:12 */
#define DESC_ATTRINDX(i) ((uint64_t)(i) << 2)
#define DESC_NS (1ull << 5)
#define DESC_AP_UNPRIV (1ull << 6)
#define DESC_AP_RDONLY (1ull << 7)
#define DESC_SH_OUTER (2ull << 8)
#define DESC_SH_INNER (3ull << 8)
#define DESC_AF (1ull << 10)
#define DESC_NG (1ull << 11)
#define DESC_XN (3ull << 53) /* PXN | UXN */

/* MAIR slots the tables' users program (NC = 0, cacheable = 1, device = 2). */
#define MAIR_IDX_NC 0
#define MAIR_IDX_CACHE 1
#define MAIR_IDX_DEV 2

/* include/linux/iommu.h prot flags, as the JS bench passes them. */
#define PROT_READ (1 << 0)
#define PROT_WRITE (1 << 1)
#define PROT_CACHE (1 << 2)
#define PROT_NOEXEC (1 << 3)
#define PROT_MMIO (1 << 4)
#define PROT_PRIV (1 << 5)
#define PROT_RW (PROT_READ | PROT_WRITE)

#define POOL_BASE 0x40000000ull
/** The JS bench's PA: above 2^32, as real ones often are. */
#define BENCH_PA 0x8000000000ull

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("pgtable-baseline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- Table pool ---- */

struct pgtable {
	uint64_t *pool;     /* capacity pages of 512 descriptors */
	uint32_t capacity;  /* pages */
	uint32_t bump;      /* pages ever handed out */
	uint32_t *free;     /* stack of free page numbers */
	uint32_t nfree;
	uint32_t live;      /* tables in use, the root included */
	uint64_t root;      /* physical address of the level-0 table */
};

static inline uint64_t *table_of(const struct pgtable *pt, uint64_t phys)
{
	return pt->pool + ((phys - POOL_BASE) >> 3);
}

/** A zeroed table's physical address, or 0 when the pool is exhausted. */
static uint64_t table_alloc(struct pgtable *pt)
{
	uint32_t page;

	if (pt->nfree)
		page = pt->free[--pt->nfree];
	else if (pt->bump < pt->capacity)
		page = pt->bump++;
	else
		return 0;
	memset(pt->pool + (size_t)page * ENTRIES, 0, PAGE_SIZE);
	pt->live++;
	return POOL_BASE + ((uint64_t)page << PAGE_SHIFT);
}

static void table_free(struct pgtable *pt, uint64_t phys)
{
	pt->free[pt->nfree++] = (uint32_t)((phys - POOL_BASE) >> PAGE_SHIFT);
	pt->live--;
}

static inline int is_table(uint64_t d, int level)
{
	return level < LAST_LEVEL && (d & DESC_TYPE_MASK) == DESC_TYPE_TABLE;
}

static inline int is_leaf(uint64_t d, int level)
{
	if (level == LAST_LEVEL)
		return (d & DESC_TYPE_MASK) == DESC_TYPE_PAGE;
	return level > 0 && (d & DESC_TYPE_MASK) == DESC_TYPE_BLOCK;
}

/** Frees the table at phys (of the given level) and every table under it. */
static void free_subtree(struct pgtable *pt, uint64_t phys, int level)
{
	if (level < LAST_LEVEL) {
		const uint64_t *t = table_of(pt, phys);

		for (unsigned i = 0; i < ENTRIES; i++)
			if (is_table(t[i], level))
				free_subtree(pt, t[i] & DESC_OA_MASK, level + 1);
	}
	table_free(pt, phys);
}

static void pgtable_init(struct pgtable *pt, uint32_t capacity)
{
	memset(pt, 0, sizeof(*pt));
	pt->pool = aligned_alloc(PAGE_SIZE, (size_t)capacity * PAGE_SIZE);
	pt->free = malloc((size_t)capacity * sizeof(*pt->free));
	if (!pt->pool || !pt->free)
		die("cannot allocate a pool of %u pages", capacity);
	pt->capacity = capacity;
	pt->root = table_alloc(pt);
}

static void pgtable_destroy(struct pgtable *pt)
{
	free_subtree(pt, pt->root, 0);
	if (pt->live != 0)
		die("%u tables still live after freeing the whole table", pt->live);
	free(pt->pool);
	free(pt->free);
}

/* ---- Operations ---- */

/** Leaf attributes for a prot: VMSAv8-64 stage-1 lower attributes plus XN. */
static inline uint64_t leaf_attrs(int prot)
{
	uint64_t a = DESC_NG | DESC_AF;

	if ((prot & PROT_READ) && !(prot & PROT_WRITE))
		a |= DESC_AP_RDONLY;
	if (!(prot & PROT_PRIV))
		a |= DESC_AP_UNPRIV;
	if (prot & PROT_MMIO)
		a |= DESC_ATTRINDX(MAIR_IDX_DEV);
	else if (prot & PROT_CACHE)
		a |= DESC_ATTRINDX(MAIR_IDX_CACHE);
	else
		a |= DESC_ATTRINDX(MAIR_IDX_NC);
	a |= (prot & PROT_CACHE) ? DESC_SH_INNER : DESC_SH_OUTER;
	if (prot & PROT_NOEXEC)
		a |= DESC_XN;
	return a;
}

/** The level whose leaves are pgsize bytes, or -1 (4K pages, 2M and 1G blocks). */
static inline int leaf_level(uint64_t pgsize)
{
	for (int l = LAST_LEVEL; l >= 1; l--)
		if (pgsize == level_size(l))
			return l;
	return -1;
}

/**
 * Maps up to pgcount leaves of pgsize from iova to paddr, stopping at the end
 * of the leaf table; adds the bytes mapped to *mapped; 0 or a negative errno.
 */
static int map_pages(struct pgtable *pt, uint64_t iova, uint64_t paddr, uint64_t pgsize,
		     unsigned pgcount, int prot, uint64_t *mapped)
{
	int leaf = leaf_level(pgsize);
	uint64_t *t = table_of(pt, pt->root);

	if (leaf < 0 || ((iova | paddr) & (pgsize - 1)))
		return -EINVAL_;
	if (iova >= ADDR_LIMIT || paddr >= ADDR_LIMIT)
		return -ERANGE_;
	if (!(prot & PROT_RW))
		return -EINVAL_;

	for (int l = 0; l < leaf; l++) {
		uint64_t *e = &t[level_index(l, iova)];

		if (*e == 0) {
			uint64_t next = table_alloc(pt);

			if (!next)
				return -ENOMEM_;
			*e = next | DESC_TYPE_TABLE;
		} else if (!is_table(*e, l)) {
			return -EEXIST_; /* a block maps this range */
		}
		t = table_of(pt, *e & DESC_OA_MASK);
	}

	unsigned idx = level_index(leaf, iova);
	unsigned n = ENTRIES - idx < pgcount ? ENTRIES - idx : pgcount;
	uint64_t type = leaf == LAST_LEVEL ? DESC_TYPE_PAGE : DESC_TYPE_BLOCK;
	uint64_t bits = leaf_attrs(prot) | type;

	for (unsigned i = 0; i < n; i++) {
		uint64_t d = t[idx + i];

		if (d == 0)
			continue;
		if (is_leaf(d, leaf))
			return -EEXIST_;
		/* A table where a block goes: it goes, with everything under it. */
		t[idx + i] = 0;
		free_subtree(pt, d & DESC_OA_MASK, leaf + 1);
	}
	for (unsigned i = 0; i < n; i++)
		t[idx + i] = ((paddr + i * pgsize) & DESC_OA_MASK) | bits;
	*mapped += n * pgsize;
	return 0;
}

/** Unmaps up to pgcount leaves of pgsize from iova in one table; the bytes unmapped (0 on error). */
static uint64_t unmap_pages(struct pgtable *pt, uint64_t iova, uint64_t pgsize, unsigned pgcount)
{
	int leaf = leaf_level(pgsize);
	uint64_t *t = table_of(pt, pt->root);

	if (leaf < 0 || pgcount == 0 || (iova & (pgsize - 1)) || iova >= ADDR_LIMIT)
		return 0;
	for (int l = 0; l < leaf; l++) {
		uint64_t d = t[level_index(l, iova)];

		if (!is_table(d, l))
			return 0; /* nothing mapped, or part of a block (not supported here) */
		t = table_of(pt, d & DESC_OA_MASK);
	}

	unsigned idx = level_index(leaf, iova);
	unsigned n = ENTRIES - idx < pgcount ? ENTRIES - idx : pgcount;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t d = t[idx + i];

		if (d == 0)
			break;
		if (is_table(d, leaf))
			free_subtree(pt, d & DESC_OA_MASK, leaf + 1);
		t[idx + i] = 0;
	}
	return (uint64_t)i * pgsize;
}

/** The physical address iova translates to, 0 if none. */
static inline uint64_t iova_to_phys(const struct pgtable *pt, uint64_t iova)
{
	const uint64_t *t = table_of(pt, pt->root);

	iova &= ADDR_LIMIT - 1;
	for (int l = 0; l <= LAST_LEVEL; l++) {
		uint64_t d = t[level_index(l, iova)];

		if (is_leaf(d, l))
			return (d & DESC_OA_MASK) | (iova & (level_size(l) - 1));
		if (!is_table(d, l))
			return 0;
		t = table_of(pt, d & DESC_OA_MASK);
	}
	return 0;
}

/* ---- What the bench does, and the checks ---- */

static struct {
	uint64_t maps, unmaps, translations, checksum;
} verified;

static void check_map(struct pgtable *pt, uint64_t iova, uint64_t pa, uint64_t pgsize, unsigned count)
{
	uint64_t mapped = 0;
	int ret = map_pages(pt, iova, pa, pgsize, count, PROT_RW, &mapped);

	if (ret != 0 || mapped != pgsize * count)
		die("map_pages(0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ", %u) = %d, mapped 0x%" PRIx64,
		    iova, pa, pgsize, count, ret, mapped);
	verified.maps += count;
}

static void check_unmap(struct pgtable *pt, uint64_t iova, uint64_t pgsize, unsigned count)
{
	uint64_t got = unmap_pages(pt, iova, pgsize, count);

	if (got != pgsize * count)
		die("unmap_pages(0x%" PRIx64 ", 0x%" PRIx64 ", %u) unmapped 0x%" PRIx64 " bytes",
		    iova, pgsize, count, got);
	verified.unmaps += count;
}

static void check_phys(const struct pgtable *pt, uint64_t iova, uint64_t want)
{
	uint64_t got = iova_to_phys(pt, iova);

	if (got != want)
		die("iova_to_phys(0x%" PRIx64 ") = 0x%" PRIx64 ", expected 0x%" PRIx64, iova, got, want);
	verified.translations++;
	verified.checksum += got;
}

/** The JS bench's randomIndices(): xorshift32 from 0x9e3779b9, each value mod n. */
static uint32_t *random_indices(uint32_t n, uint32_t count)
{
	uint32_t *out = malloc((size_t)count * sizeof(*out));
	uint32_t x = 0x9e3779b9u;

	if (!out)
		die("out of memory");
	for (uint32_t i = 0; i < count; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[i] = x % n;
	}
	return out;
}

/* ---- The timing harness: the JS bench's time() ---- */

static struct {
	int rounds;
	double round_ns, warmup_ns;
} timing = { 7, 10e6, 100e6 };

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct ctx {
	struct pgtable *pt;
	uint64_t pa;
	uint32_t n;             /* operations per phase */
	const uint32_t *idx;    /* per-operation index (scaling, iova_to_phys) */
};

typedef void (*phase_fn)(struct ctx *);

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/** Runs the phases (together leaving the state as found) as time() does; out[i] = phase i's median ns/op. */
static void time_phases(struct ctx *c, uint32_t ops, int nphases, const phase_fn *phases, double *out)
{
	double samples[4][64];
	double t0 = now_ns();

	if (timing.rounds > 64 || nphases > 4)
		die("too many rounds or phases");
	for (int i = 0; i < 3 || now_ns() - t0 < timing.warmup_ns; i++)
		for (int p = 0; p < nphases; p++)
			phases[p](c);
	t0 = now_ns();
	for (int p = 0; p < nphases; p++)
		phases[p](c);
	double once = now_ns() - t0;
	double reps_d = timing.round_ns / (once > 1 ? once : 1);
	long reps = reps_d > 1 ? (long)reps_d + (reps_d > (long)reps_d) : 1;

	for (int r = 0; r < timing.rounds; r++) {
		double spent[4] = { 0, 0, 0, 0 };

		for (long k = 0; k < reps; k++)
			for (int p = 0; p < nphases; p++) {
				double s = now_ns();

				phases[p](c);
				spent[p] += now_ns() - s;
			}
		for (int p = 0; p < nphases; p++)
			samples[p][r] = spent[p] / ((double)reps * ops);
	}
	for (int p = 0; p < nphases; p++) {
		qsort(samples[p], (size_t)timing.rounds, sizeof(double), cmp_double);
		out[p] = samples[p][timing.rounds >> 1];
	}
}

/* formatOps(): n consecutive 4K pages, iova i*4K -> PA + i*4K. */
static void map_consecutive(struct ctx *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		check_map(c->pt, (uint64_t)i * PAGE_SIZE, c->pa + (uint64_t)i * PAGE_SIZE, PAGE_SIZE, 1);
}

static void unmap_consecutive(struct ctx *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		check_unmap(c->pt, (uint64_t)i * PAGE_SIZE, PAGE_SIZE, 1);
}

/* formatOps(): n batches of 256 pages per call, each batch at b*256 pages -> PA. */
static void map_batches(struct ctx *c)
{
	for (uint32_t b = 0; b < c->n; b++)
		check_map(c->pt, (uint64_t)b * 256 * PAGE_SIZE, c->pa, PAGE_SIZE, 256);
}

static void unmap_batches(struct ctx *c)
{
	for (uint32_t b = 0; b < c->n; b++)
		check_unmap(c->pt, (uint64_t)b * 256 * PAGE_SIZE, PAGE_SIZE, 256);
}

/* formatOps(): n 2M blocks, iova i*2M -> i*2M. */
static void map_blocks(struct ctx *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		check_map(c->pt, (uint64_t)i * level_size(2), (uint64_t)i * level_size(2), level_size(2), 1);
}

static void unmap_blocks(struct ctx *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		check_unmap(c->pt, (uint64_t)i * level_size(2), level_size(2), 1);
}

/* formatOps(): iova_to_phys 8 bytes into page idx[i], mapped to PA + idx[i]*4K. */
static void walk_random(struct ctx *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		uint64_t off = (uint64_t)c->idx[i] * PAGE_SIZE + 8;

		check_phys(c->pt, off, c->pa + off);
	}
}

/* scaling(): live pages at even page numbers 2*i, all -> PA; the holes are the odd pages. */
static void map_unmap_hole(struct ctx *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		uint64_t iova = (2 * (uint64_t)c->idx[i] + 1) * PAGE_SIZE;

		check_map(c->pt, iova, c->pa, PAGE_SIZE, 1);
		check_unmap(c->pt, iova, PAGE_SIZE, 1);
	}
}

static void walk_live(struct ctx *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		check_phys(c->pt, 2 * (uint64_t)c->idx[i] * PAGE_SIZE, c->pa);
}

static void print_op(const char *name, double ns)
{
	printf("{\"op\":\"%s\",\"ns\":%.3f}\n", name, ns);
}

/** Tables needed for `pages` pages spread over 2*pages of IOVA space, with room to spare. */
static uint32_t pool_pages(uint64_t pages)
{
	return (uint32_t)(2 * pages / ENTRIES + 2 * pages / (ENTRIES * ENTRIES) + 64);
}

/**
 * One map checked bit for bit against the descriptors the bench's JS engine
 * writes for the same map (test/bench/native-baseline.test.ts compares them).
 */
static void descriptor_check(void)
{
	struct pgtable pt;
	uint64_t mapped = 0, d[4];

	pgtable_init(&pt, 8);
	if (map_pages(&pt, PAGE_SIZE, BENCH_PA + PAGE_SIZE, PAGE_SIZE, 1, PROT_RW, &mapped) != 0)
		die("descriptor check: map failed");
	const uint64_t *t = table_of(&pt, pt.root);

	for (int l = 0; l <= LAST_LEVEL; l++) {
		d[l] = t[level_index(l, PAGE_SIZE)];
		if (l < LAST_LEVEL)
			t = table_of(&pt, d[l] & DESC_OA_MASK);
	}
	if (iova_to_phys(&pt, PAGE_SIZE + 8) != BENCH_PA + PAGE_SIZE + 8)
		die("descriptor check: iova_to_phys");
	printf("{\"check\":\"descriptors\",\"iova\":\"0x%" PRIx64 "\",\"root\":\"0x%" PRIx64
	       "\",\"walk\":[\"0x%016" PRIx64 "\",\"0x%016" PRIx64 "\",\"0x%016" PRIx64
	       "\",\"0x%016" PRIx64 "\"]}\n",
	       (uint64_t)PAGE_SIZE, pt.root, d[0], d[1], d[2], d[3]);
	pgtable_destroy(&pt);
}

static uint32_t parse_count(const char *opt, const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0 || v > 100000000ul)
		die("bad value '%s' for %s", s, opt);
	return (uint32_t)v;
}

int main(int argc, char **argv)
{
	uint32_t pages = 100000, batches = 400, blocks = 2000, ops = 100000;
	uint32_t scales[16] = { 1000, 10000, 100000, 1000000 };
	int nscales = 4, inject_fault = 0;

	for (int a = 1; a < argc; a++) {
		const char *opt = argv[a];

		if (!strcmp(opt, "--inject-fault")) {
			inject_fault = 1;
			continue;
		}
		if (a + 1 >= argc)
			die("usage: %s [--pages N] [--batches B] [--blocks K] [--ops M] [--scales a,b,...]"
			    " [--rounds R] [--round-ns NS] [--warmup-ns NS] [--inject-fault]", argv[0]);
		const char *val = argv[++a];

		if (!strcmp(opt, "--pages"))
			pages = parse_count(opt, val);
		else if (!strcmp(opt, "--batches"))
			batches = parse_count(opt, val);
		else if (!strcmp(opt, "--blocks"))
			blocks = parse_count(opt, val);
		else if (!strcmp(opt, "--ops"))
			ops = parse_count(opt, val);
		else if (!strcmp(opt, "--rounds"))
			timing.rounds = (int)parse_count(opt, val);
		else if (!strcmp(opt, "--round-ns"))
			timing.round_ns = strtod(val, NULL);
		else if (!strcmp(opt, "--warmup-ns"))
			timing.warmup_ns = strtod(val, NULL);
		else if (!strcmp(opt, "--scales")) {
			char buf[256], *tok, *save;

			snprintf(buf, sizeof(buf), "%s", val);
			nscales = 0;
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (nscales == 16)
					die("at most 16 scales");
				scales[nscales++] = parse_count(opt, tok);
			}
		} else
			die("unknown option %s", opt);
	}
	if (timing.rounds > 64)
		die("at most 64 rounds");
	/* The 2M blocks must stay below 2^48. */
	if ((uint64_t)blocks * level_size(2) >= ADDR_LIMIT)
		die("--blocks too large");

	printf("{\"baseline\":\"pgtable-native\",\"format\":\"arm-64-lpae-s1-4k\",\"pages\":%u,"
	       "\"batches\":%u,\"blocks\":%u,\"ops\":%u,\"rounds\":%d,\"round_ns\":%.0f,\"warmup_ns\":%.0f,"
	       "\"scales\":[",
	       pages, batches, blocks, ops, timing.rounds, timing.round_ns, timing.warmup_ns);
	for (int s = 0; s < nscales; s++)
		printf("%s%u", s ? "," : "", scales[s]);
	printf("]}\n");

	descriptor_check();

	/* formatOps() for arm-64-lpae-s1-4k, on one table. */
	{
		uint64_t most = pages > (uint64_t)batches * 256 ? pages : (uint64_t)batches * 256;
		struct pgtable pt;
		struct ctx c = { &pt, BENCH_PA, pages, NULL };
		double r[2];

		pgtable_init(&pt, pool_pages(most) + blocks / ENTRIES + 8);
		time_phases(&c, pages, 2, (phase_fn[]){ map_consecutive, unmap_consecutive }, r);
		print_op("map", r[0]);
		print_op("unmap", r[1]);

		c.n = batches;
		time_phases(&c, batches * 256, 2, (phase_fn[]){ map_batches, unmap_batches }, r);
		print_op("batch_map", r[0]);
		print_op("batch_unmap", r[1]);

		c.n = blocks;
		time_phases(&c, blocks, 2, (phase_fn[]){ map_blocks, unmap_blocks }, r);
		print_op("block_map", r[0]);
		print_op("block_unmap", r[1]);

		c.n = pages;
		map_consecutive(&c);
		uint32_t *idx = random_indices(pages, pages);

		c.idx = idx;
		if (inject_fault) {
			/* Point the leaf of the first probed page one page off. */
			uint64_t iova = (uint64_t)idx[0] * PAGE_SIZE;
			uint64_t *t = table_of(&pt, pt.root);

			for (int l = 0; l < LAST_LEVEL; l++)
				t = table_of(&pt, t[level_index(l, iova)] & DESC_OA_MASK);
			t[level_index(LAST_LEVEL, iova)] ^= PAGE_SIZE;
		}
		time_phases(&c, pages, 1, (phase_fn[]){ walk_random }, r);
		print_op("iova_to_phys", r[0]);
		unmap_consecutive(&c);
		free(idx);
		pgtable_destroy(&pt);
	}

	/* scaling(): per live count, a fresh table with every other page mapped. */
	for (int s = 0; s < nscales; s++) {
		uint32_t live = scales[s];
		struct pgtable pt;
		struct ctx c = { &pt, BENCH_PA, ops, NULL };
		double rnd[2], seq[2];

		pgtable_init(&pt, pool_pages(live));
		for (uint32_t i = 0; i < live; i++)
			check_map(&pt, 2 * (uint64_t)i * PAGE_SIZE, BENCH_PA, PAGE_SIZE, 1);
		uint32_t *r = random_indices(live, ops);
		uint32_t *q = malloc((size_t)ops * sizeof(*q));

		if (!q)
			die("out of memory");
		for (uint32_t i = 0; i < ops; i++)
			q[i] = (uint32_t)(((uint64_t)(live >> 1) + i) % live);
		c.idx = r;
		time_phases(&c, ops, 2, (phase_fn[]){ map_unmap_hole, walk_live }, rnd);
		c.idx = q;
		time_phases(&c, ops, 2, (phase_fn[]){ map_unmap_hole, walk_live }, seq);
		printf("{\"scaling\":%u,\"ns\":[%.3f,%.3f,%.3f,%.3f]}\n", live, rnd[0], rnd[1], seq[0], seq[1]);
		free(r);
		free(q);
		pgtable_destroy(&pt);
	}

	printf("{\"verified\":{\"maps\":%" PRIu64 ",\"unmaps\":%" PRIu64 ",\"translations\":%" PRIu64
	       "},\"checksum\":\"0x%" PRIx64 "\"}\n",
	       verified.maps, verified.unmaps, verified.translations, verified.checksum);
	return 0;
}

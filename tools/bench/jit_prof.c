// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * jit_prof - where in the source a running BPF program spends its time.
 *
 *   perf script -F ip,sym | jit_prof [--top N] PROG_ID...
 *
 * Reads perf samples ("IP SYMBOL" lines, as `perf script -F ip,sym` prints
 * them) on stdin and maps each one that falls in one of the programs to the
 * source line the JIT emitted it for: the program's jited line info (the
 * address of each line_info record's first instruction) and its BTF's line
 * strings, read from the kernel while the programs are loaded. perf's own
 * BPF annotation needs a libbfd-linked perf, which Debian does not ship.
 *
 * Prints one JSON object: per program, its samples and the top N source
 * lines with their share of the program's samples. A sample lands on the
 * instruction after the one that stalled (skid): read a line's share as the
 * cost of the line just before it, or of the load it waits for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define PROGS_MAX 16

struct line {
	__u64 addr;
	const char *file, *src;
	__u32 lineno;
	unsigned long hits;
};

struct prog {
	__u32 id;
	char name[BPF_OBJ_NAME_LEN];
	struct line *lines;
	__u32 n;
	__u64 *fn_addr;		/* the JIT images: the program's and its subprograms' */
	__u32 *fn_len;
	__u32 nfn;
	unsigned long samples;
	struct btf *btf;
};

static int by_addr(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_hits(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	return x->hits > y->hits ? -1 : x->hits < y->hits;
}

static int by_place(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}

/* One entry per source line: a line the compiler split over several places
 * in the code (inlined, unrolled) gets the hits of all of them. */
static void merge_places(struct prog *p)
{
	qsort(p->lines, p->n, sizeof(*p->lines), by_place);
	for (__u32 i = 1, k = 0; i < p->n; i++) {
		if (!by_place(&p->lines[k], &p->lines[i])) {
			p->lines[k].hits += p->lines[i].hits;
			p->lines[i].hits = 0;
		} else {
			k = i;
		}
	}
	qsort(p->lines, p->n, sizeof(*p->lines), by_hits);
}

static int prog_open(struct prog *p, __u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), n, rs;
	__u64 *addrs;
	char *li;
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	p->id = id;
	memcpy(p->name, info.name, sizeof(p->name));
	p->nfn = info.nr_jited_ksyms;
	n = info.nr_jited_line_info;
	rs = info.line_info_rec_size;
	if (!n || n != info.nr_line_info || rs < sizeof(struct bpf_line_info))
		return -ENODATA;	/* no line info: built without BTF, or not jited */
	addrs = calloc(n, sizeof(*addrs));
	li = calloc(n, rs);
	p->lines = calloc(n, sizeof(*p->lines));
	p->fn_addr = calloc(p->nfn, sizeof(*p->fn_addr));
	p->fn_len = calloc(p->nfn, sizeof(*p->fn_len));
	if (!addrs || !li || !p->lines || !p->fn_addr || !p->fn_len)
		return -ENOMEM;
	p->btf = btf__load_from_kernel_by_id(info.btf_id);
	memset(&info, 0, sizeof(info));
	info.nr_jited_line_info = n;
	info.jited_line_info_rec_size = sizeof(__u64);
	info.jited_line_info = (unsigned long)addrs;
	info.nr_line_info = n;
	info.line_info_rec_size = rs;
	info.line_info = (unsigned long)li;
	info.nr_jited_ksyms = p->nfn;
	info.jited_ksyms = (unsigned long)p->fn_addr;
	info.nr_jited_func_lens = p->nfn;
	info.jited_func_lens = (unsigned long)p->fn_len;
	len = sizeof(info);
	if (!p->btf || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	for (__u32 i = 0; i < n; i++) {
		const struct bpf_line_info *l = (const void *)(li + (size_t)i * rs);
		const char *f = btf__name_by_offset(p->btf, l->file_name_off);
		const char *base = f ? strrchr(f, '/') : NULL;

		p->lines[i] = (struct line){
			.addr = addrs[i], .file = base ? base + 1 : f ? f : "?",
			.src = btf__name_by_offset(p->btf, l->line_off),
			.lineno = BPF_LINE_INFO_LINE_NUM(l->line_col),
		};
	}
	p->n = n;
	qsort(p->lines, n, sizeof(*p->lines), by_addr);
	free(addrs);
	free(li);
	return 0;
}

/* The line whose code holds ip (inside one of the program's images): the
 * last one starting at or below it. */
static struct line *line_of(struct prog *p, __u64 ip)
{
	__u32 lo = 0, hi = p->n, f;

	for (f = 0; f < p->nfn; f++)
		if (ip >= p->fn_addr[f] && ip < p->fn_addr[f] + p->fn_len[f])
			break;
	if (f == p->nfn || !p->n || ip < p->lines[0].addr)
		return NULL;
	while (hi - lo > 1) {
		__u32 mid = (lo + hi) / 2;

		if (p->lines[mid].addr <= ip)
			lo = mid;
		else
			hi = mid;
	}
	return &p->lines[lo];
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			putchar(' ');
		else
			putchar(*s);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	static struct prog progs[PROGS_MAX];
	int np = 0, top = 15;
	unsigned long total = 0;
	char buf[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--top") && i + 1 < argc) {
			top = atoi(argv[++i]);
			continue;
		}
		if (np == PROGS_MAX) {
			fprintf(stderr, "jit_prof: at most %d programs\n", PROGS_MAX);
			return 2;
		}
		int rc = prog_open(&progs[np], strtoul(argv[i], NULL, 0));

		if (rc) {
			fprintf(stderr, "jit_prof: program id %s: %s\n", argv[i], strerror(-rc));
			return 1;
		}
		np++;
	}
	if (!np) {
		fprintf(stderr, "usage: perf script -F ip,sym | jit_prof [--top N] PROG_ID...\n");
		return 2;
	}
	/* "ffffffffc0001234 bpf_prog_<tag>_<name>": the address says which
	 * (programs of two processes share names). */
	while (fgets(buf, sizeof(buf), stdin)) {
		char sym[256];
		unsigned long long ip;

		total++;
		if (sscanf(buf, "%llx %255s", &ip, sym) != 2 || strncmp(sym, "bpf_prog_", 9))
			continue;
		for (int i = 0; i < np; i++) {
			struct line *l = line_of(&progs[i], ip);

			if (!l)
				continue;
			l->hits++;
			progs[i].samples++;
			break;
		}
	}
	printf("{\"samples\":%lu,\"programs\":[", total);
	for (int i = 0; i < np; i++) {
		struct prog *p = &progs[i];

		merge_places(p);
		printf("%s{\"id\":%u,\"name\":", i ? "," : "", p->id);
		json_str(p->name);
		printf(",\"samples\":%lu,\"lines\":[", p->samples);
		for (int j = 0; j < top && j < (int)p->n && p->lines[j].hits; j++) {
			struct line *l = &p->lines[j];

			printf("%s{\"at\":\"%s:%u\",\"pct\":%.1f,\"source\":", j ? "," : "", l->file,
			       l->lineno, 100.0 * l->hits / p->samples);
			json_str(l->src);
			putchar('}');
		}
		printf("]}");
	}
	printf("]}\n");
	return 0;
}

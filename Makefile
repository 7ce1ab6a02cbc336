# mtuscope - find path-MTU black holes on live gateways.
#
#   make            build build/mtuscope
#   make check      unit, BPF and network-namespace tests (root)
#   make demo       the black-hole lab, detected and fixed (root)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean
#   V=1             print every command

OUTPUT   := build
CLANG    ?= clang
CC       ?= cc
BPFTOOL  ?= bpftool
LLVM_STRIP ?= $(shell command -v llvm-strip || command -v llvm-strip-14)
PREFIX   ?= /usr/local
DESTDIR  ?=

ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRIPLET  := $(shell $(CC) -dumpmachine)
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

DEPFLAGS  = -MMD -MP
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wextra \
	      -Wno-unused-parameter -Iinclude -idirafter /usr/include/$(TRIPLET)
# CFLAGS is the builder's (make CFLAGS='-O1 -fsanitize=address'); what the
# tree needs is added to it either way.
CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Iinclude -I$(OUTPUT) -Iuser -Itests \
	    -DMTS_VERSION='"$(VERSION)"' $(shell pkg-config --cflags json-c)
LDLIBS   := $(shell pkg-config --libs libbpf json-c libmicrohttpd ncursesw libcurl libpcap) -lelf -lz -lpthread

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# The correlator and model are pure: the unit tests link them without libbpf.
CORE_OBJS := correlator.o model.o format.o
APP_OBJS  := main.o loader.o watch.o replay.o feed.o probe.o autoprobe.o discover.o http.o snapshot.o out_text.o out_json.o out_prom.o top.o \
	     $(CORE_OBJS)

APP   := $(OUTPUT)/mtuscope
UNIT  := $(OUTPUT)/test_correlator
BPFT  := $(OUTPUT)/test_bpf
BENCH := $(OUTPUT)/bench_bpf
BENCH_TOOLS := $(addprefix $(OUTPUT)/,bench_corr bench_gen bench_sweep stats_on empty_tc jit_prof)

.PHONY: all check san fuzz bench-tools test-unit test-bpf bench demo install clean
.DELETE_ON_ERROR:
.SECONDARY:

all: $(APP)

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -MF $@.d -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/%.bpf.o: tests/lab/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -MF $@.d -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/tests/%.o: tests/*/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/bench/%.o: tools/bench/%.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# Everything that includes the skeleton waits for it.
$(OUTPUT)/user/loader.o $(OUTPUT)/tests/test_bpf.o $(OUTPUT)/bench/bench_bpf.o: \
	$(OUTPUT)/flow.skel.h

$(APP): $(addprefix $(OUTPUT)/user/,$(APP_OBJS))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(UNIT): $(OUTPUT)/tests/test_correlator.o $(addprefix $(OUTPUT)/user/,correlator.o discover.o format.o)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(shell pkg-config --libs json-c) -o $@

$(BPFT): $(OUTPUT)/tests/test_bpf.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BENCH): $(OUTPUT)/bench/bench_bpf.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/bench_corr: $(OUTPUT)/bench/bench_corr.o $(OUTPUT)/user/correlator.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/bench_gen $(OUTPUT)/bench_sweep $(OUTPUT)/stats_on $(OUTPUT)/empty_tc $(OUTPUT)/jit_prof: $(OUTPUT)/%: $(OUTPUT)/bench/%.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# Performance (root, not part of check): tables on stdout, build/bench.json.
bench: bench-tools
	$(Q)tools/bench/run.sh

bench-tools: $(APP) $(BENCH) $(BENCH_TOOLS)

# The unit and BPF tests once more, built with AddressSanitizer and
# UndefinedBehaviorSanitizer (any finding fails them), beside the plain build.
SAN       := $(OUTPUT)/san
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

san:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(SAN) CFLAGS='$(SAN_FLAGS)' \
		$(SAN)/test_correlator $(SAN)/test_bpf

# libFuzzer harnesses (clang -fsanitize=fuzzer, with ASan and UBSan): the
# capture reader, the frame splitter, the packet programs (through
# BPF_PROG_TEST_RUN, root). make fuzz runs each FUZZ_S seconds.
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CC     = $(CLANG) $(FUZZ_FLAGS) -std=gnu11 -Wall -Wextra -Iinclude -Iuser -I$(OUTPUT)
FUZZERS    := $(addprefix $(OUTPUT)/fuzz/fuzz_,feed pcap bpf text http)

$(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c user/feed.c user/feed.h include/mtuscope.h | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $< user/feed.c -lpcap -o $@

$(OUTPUT)/fuzz/fuzz_bpf: tests/fuzz/fuzz_bpf.c $(OUTPUT)/flow.skel.h include/mtuscope.h | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $< $(shell pkg-config --libs libbpf) -lelf -lz -o $@

$(OUTPUT)/fuzz/fuzz_text: tests/fuzz/fuzz_text.c user/discover.c user/discover.h | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $< user/discover.c user/format.c $(shell pkg-config --libs json-c) -o $@

HTTP_SRCS := $(addprefix user/,http.c snapshot.c out_prom.c model.c correlator.c format.c)
$(OUTPUT)/fuzz/fuzz_http: tests/fuzz/fuzz_http.c $(HTTP_SRCS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) -DMTS_VERSION='"fuzz"' $(shell pkg-config --cflags json-c) $< $(HTTP_SRCS) \
		$(shell pkg-config --libs json-c libmicrohttpd) -lpthread -o $@

fuzz: $(FUZZERS)
	$(Q)tests/fuzz/run.sh

check: $(APP) $(UNIT) $(BPFT) $(OUTPUT)/other_tool.bpf.o $(OUTPUT)/empty_tc san $(FUZZERS)
	$(Q)tests/run.sh

test-unit: $(UNIT)
	$(Q)$(UNIT)

test-bpf: $(BPFT)
	$(Q)$(BPFT)

demo: $(APP)
	$(Q)tools/demo.sh

# install: the program, its man page, the systemd unit (ExecStart pointed at
# this PREFIX's sbin) and /etc/default/mtuscope, the latter only when absent:
# an administrator's file is never overwritten (nor removed by uninstall).
UNITDIR ?= /lib/systemd/system
INSTALL_FILES := $(PREFIX)/sbin/mtuscope $(PREFIX)/share/man/man8/mtuscope.8 \
		 $(UNITDIR)/mtuscope.service
.PHONY: uninstall

install: $(APP)
	install -D -m 0755 $(APP) $(DESTDIR)$(PREFIX)/sbin/mtuscope
	install -D -m 0644 docs/mtuscope.8 $(DESTDIR)$(PREFIX)/share/man/man8/mtuscope.8
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/mtuscope |$(PREFIX)/sbin/mtuscope |' \
		tools/mtuscope.service > $(DESTDIR)$(UNITDIR)/mtuscope.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/mtuscope.service.tmp
	mv -f $(DESTDIR)$(UNITDIR)/mtuscope.service.tmp $(DESTDIR)$(UNITDIR)/mtuscope.service
	@if [ -e $(DESTDIR)/etc/default/mtuscope ]; then \
		echo "  keeping $(DESTDIR)/etc/default/mtuscope"; \
	else \
		echo "install -D -m 0644 tools/mtuscope.default $(DESTDIR)/etc/default/mtuscope"; \
		install -D -m 0644 tools/mtuscope.default $(DESTDIR)/etc/default/mtuscope; \
	fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
	@if [ -e $(DESTDIR)/etc/default/mtuscope ]; then \
		echo "  kept $(DESTDIR)/etc/default/mtuscope (your settings; remove it by hand)"; \
	fi

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/user/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/bench/*.d)

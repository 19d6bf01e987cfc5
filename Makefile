# vioblk: one GNU make build.
#
#   make                 build every library and program into build/
#   make SANITIZE=1      the same with ASan + UBSan, into build-san/
#   make deps            install the Debian packages (as root) or name them
#   make test            deps, build, then every test; ends "N passed, N failed"
#   make bench           the benchmark table
#   make demo            the guided tour
#   make crashtest       the long crash-consistency run
#   make fuzz            every libFuzzer target for FUZZ_SECONDS (60) each
#
# Sources are found by convention, so adding a file needs no edit here:
#   compat/*.c, imsg-proto/*.c, qcow2/*.c   one static library each
#   vioblk/*.c                              library build/libvioblk.a, except
#                                           vioblk/main.c: the program
#   vioblkctl/*.c                           one program
#   regress/vmm/*.c                         the regress VMM library, except
#                                           regress/vmm/main-*.c: a program each
#   regress/tools/*.c                       one program per file
#   regress/unit/test_*.c                   one cmocka binary per file
#   regress/crash/*.c                       objects linked ahead of the
#                                           libraries into each
#                                           regress/crash/main-*.c program,
#                                           replacing qcow2/hostio.c there
#   regress/fuzz/fuzz-*.c                   one libFuzzer target each, built
#                                           by `make fuzz` with clang

SANITIZE ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
# libFuzzer needs clang; every library gets coverage instrumentation.
B ?=		build-fuzz
CC :=		clang
SANFLAGS :=	-fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SANITIZE),1)
B ?=		build-san
SANFLAGS :=	-fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
else
B ?=		build
SANFLAGS :=
endif

CC ?=		cc
PKG_CONFIG ?=	pkg-config
OPT ?=		-O2

WARNFLAGS :=	-Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual \
		-Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS +=	-D_GNU_SOURCE -Icompat -I. -MMD -MP
CFLAGS +=	-std=gnu11 $(OPT) -g $(WARNFLAGS) $(SANFLAGS)
LDFLAGS +=	$(SANFLAGS)

# pkg-config runs only when a recipe needs it, after `make deps`.
pc =		$(shell $(PKG_CONFIG) $(1) $(2))
QCOW2_PC :=	zlib libzstd
VIOBLK_PC :=	libevent libseccomp libbsd
TEST_PC :=	cmocka

# Debian packages: to build, and the tools the tests check against.
DEB_BUILD :=	gcc make libevent-dev libseccomp-dev libbsd-dev libcmocka-dev \
		zlib1g-dev libzstd-dev pkg-config mandoc
DEB_TEST :=	qemu-utils qemu-system-x86 busybox-static cpio e2fsprogs clang \
		libclang-rt-14-dev strace
DEB_PKGS :=	$(DEB_BUILD) $(DEB_TEST)

COMPAT_SRCS :=	$(wildcard compat/*.c)
PROTO_SRCS :=	$(wildcard imsg-proto/*.c)
QCOW2_SRCS :=	$(wildcard qcow2/*.c)
VIOBLK_MAIN :=	$(wildcard vioblk/main.c)
VIOBLK_SRCS :=	$(filter-out $(VIOBLK_MAIN),$(wildcard vioblk/*.c))
CTL_SRCS :=	$(wildcard vioblkctl/*.c)
VMM_MAINS :=	$(wildcard regress/vmm/main-*.c)
VMM_SRCS :=	$(filter-out $(VMM_MAINS),$(wildcard regress/vmm/*.c))
TOOL_SRCS :=	$(wildcard regress/tools/*.c)
UNIT_SRCS :=	$(wildcard regress/unit/test_*.c)
CRASH_MAINS :=	$(wildcard regress/crash/main-*.c)
CRASH_SRCS :=	$(filter-out $(CRASH_MAINS),$(wildcard regress/crash/*.c))
FUZZ_SRCS :=	$(wildcard regress/fuzz/fuzz-*.c)

obj =		$(patsubst %.c,$(B)/obj/%.o,$(1))

LIBCOMPAT :=	$(if $(COMPAT_SRCS),$(B)/libcompat.a)
LIBPROTO :=	$(if $(PROTO_SRCS),$(B)/libproto.a)
LIBQCOW2 :=	$(if $(QCOW2_SRCS),$(B)/libqcow2.a)
LIBVMM :=	$(if $(VMM_SRCS),$(B)/libvmm.a)
LIBVIOBLK :=	$(if $(VIOBLK_SRCS),$(B)/libvioblk.a)
VIOBLK :=	$(if $(VIOBLK_MAIN),$(B)/vioblk)
VIOBLKCTL :=	$(if $(CTL_SRCS),$(B)/vioblkctl)
VMM_PROGS :=	$(patsubst regress/vmm/main-%.c,$(B)/regress/vmm/%,$(VMM_MAINS))
TOOLS :=	$(patsubst %.c,$(B)/%,$(TOOL_SRCS))
UNITS :=	$(patsubst %.c,$(B)/%,$(UNIT_SRCS))
CRASH_PROGS :=	$(patsubst regress/crash/main-%.c,$(B)/regress/crash/%,\
		    $(CRASH_MAINS))
FUZZERS :=	$(patsubst %.c,$(B)/%,$(FUZZ_SRCS))

# Link order: dependents before what they depend on.
ALL_LIBS :=	$(LIBVMM) $(LIBVIOBLK) $(LIBPROTO) $(LIBQCOW2) $(LIBCOMPAT)
ALL_PC :=	$(QCOW2_PC) $(VIOBLK_PC)

PROGS :=	$(VIOBLK) $(VIOBLKCTL)
REGRESS :=	$(VMM_PROGS) $(TOOLS) $(UNITS) $(CRASH_PROGS)

.PHONY: all deps test bench demo lint clean crashtest fuzz fuzzers
# Keep objects that pattern rules made on the way to a program.
.SECONDARY:
.DEFAULT_GOAL := all

all: $(PROGS) $(REGRESS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,$(ALL_PC) $(TEST_PC)) \
	    -c $< -o $@

$(B)/libcompat.a: $(call obj,$(COMPAT_SRCS))
$(B)/libproto.a: $(call obj,$(PROTO_SRCS))
$(B)/libqcow2.a: $(call obj,$(QCOW2_SRCS))
$(B)/libvmm.a: $(call obj,$(VMM_SRCS))
$(B)/libvioblk.a: $(call obj,$(VIOBLK_SRCS))
$(B)/%.a:
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/vioblk: $(call obj,$(VIOBLK_MAIN)) $(LIBVIOBLK) $(LIBPROTO) $(LIBQCOW2) \
    $(LIBCOMPAT)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc,--libs,$(ALL_PC))

$(B)/vioblkctl: $(call obj,$(CTL_SRCS)) $(LIBQCOW2) $(LIBCOMPAT)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc,--libs,$(QCOW2_PC))

$(B)/regress/vmm/%: $(B)/obj/regress/vmm/main-%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc,--libs,$(ALL_PC))

$(B)/regress/tools/%: $(B)/obj/regress/tools/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc,--libs,$(ALL_PC))

$(B)/regress/unit/%: $(B)/obj/regress/unit/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc,--libs,$(ALL_PC) $(TEST_PC))

# The recording I/O layer comes first, so qcow2/hostio.o is never pulled.
$(B)/regress/crash/%: $(B)/obj/regress/crash/main-%.o \
    $(call obj,$(CRASH_SRCS)) $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc,--libs,$(ALL_PC))

$(B)/regress/fuzz/%: $(B)/obj/regress/fuzz/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(call pc,--libs,$(ALL_PC))

fuzzers: $(FUZZERS)

deps:
	@missing=; \
	for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q ' installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "deps: every package is installed"; \
	elif [ "$$(id -u)" -eq 0 ]; then \
		echo "deps: installing$$missing"; \
		apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
		echo "deps: missing Debian packages:$$missing" >&2; \
		echo "deps: as root, run: apt-get install$$missing" >&2; \
		exit 1; \
	fi

# Build in a sub-make so that pkg-config runs after deps installed it.
test: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) SANITIZE=$(SANITIZE) sh regress/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) sh regress/bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) sh regress/demo.sh

# The larger crash-state run; `make test` runs a smaller count.
crashtest: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) SANITIZE=$(SANITIZE) sh regress/crash/crashtest.sh

# Every fuzz target for FUZZ_SECONDS each (default 60), in build-fuzz/.
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 B=build-fuzz fuzzers
	@B=build-fuzz sh regress/fuzz/run.sh

lint:
	mandoc -Tlint -W warning $(wildcard *.8)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)

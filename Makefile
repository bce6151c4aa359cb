# wsd — build.  `make` → build/wsd; `make asan` → build/asan/wsd; `make test` → everything.
# Knobs: CC=clang, O=0 (no optimisation), V=1.
CC      ?= cc
O       ?= 2
BUILD   ?= build
LLHTTP_SRC ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp

PKGS    := libuv openssl zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O$(O) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -DLLHTTP_STRICT_MODE=1 $(WARN) -MMD -MP -Isrc -I$(LLHTTP_INC) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
LDLIBS  += $(PKG_LIBS)

# Protocol and pure modules: no uv.h (checked by `make check-purity`).
PURE    := util log config ws utf8 outframe http handshake env origin route tls record pmd httpfile cgi
# Modules linked into wsd; a new module joins when the server uses it (its
# unit test can exist earlier: see TDEPS_*).
SRCS    := $(addprefix src/,$(addsuffix .c,$(PURE) server httpserve main))
OBJS    := $(SRCS:src/%.c=$(BUILD)/%.o)
LLOBJS  := $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o $(BUILD)/llhttp/llhttp.o

# What each unit test links (pure modules only; tests never link libuv glue).
o = $(addprefix $(BUILD)/,$(addsuffix .o,$(1)))
TDEPS_utf8      := $(call o,utf8 util)
TDEPS_ws        := $(call o,ws utf8 util)
TDEPS_outframe  := $(call o,outframe ws utf8 util)
TDEPS_http      := $(call o,http util) $(LLOBJS)
TDEPS_handshake := $(call o,handshake http util) $(LLOBJS)
TDEPS_config    := $(call o,config log util)
TDEPS_env       := $(call o,env config log http util) $(LLOBJS)
TDEPS_log       := $(call o,log util)
TDEPS_util      := $(call o,util)
TDEPS_pmd       := $(call o,pmd ws utf8 util)
TDEPS_origin    := $(call o,origin util)
TDEPS_route     := $(call o,route util)
TDEPS_httpfile  := $(call o,httpfile http util) $(LLOBJS)
TDEPS_cgi       := $(call o,cgi httpfile http util) $(LLOBJS)
TDEPS_record    := $(call o,record ws utf8 util)
TDEPS_tls       := $(call o,tls util)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPERS   := $(BUILD)/tests/child

ifneq ($(V),1)
Q := @
endif

.PHONY: all asan unit test check-purity clean demo
all: $(BUILD)/wsd $(HELPERS)

$(BUILD)/wsd: $(OBJS) $(LLOBJS)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
	@echo "  LD    $@"

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# Third-party: compiled with our flags minus the warnings we don't own.
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -g -std=c11 -w -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) $(EXTRA_CFLAGS) -c -o $@ $<

.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(TDEPS_$$*) tests/unit/harness.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(TDEPS_$*) $(LDLIBS)

$(BUILD)/tests/child: tests/helpers/child.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

asan:
	$(MAKE) BUILD=build/asan O=1 EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" EXTRA_LDFLAGS="-fsanitize=address,undefined"

check-purity:
	@! grep -l 'include <uv.h>\|include "uv.h"' $(addprefix src/,$(addsuffix .c,$(PURE)) $(addsuffix .h,$(PURE)))

test:
	./tests/run

demo: all
	./examples/demo

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)

# wsd — build.  `make` → build/wsd; `make asan` → build/asan/wsd; `make test` → everything.
# Knobs: CC=clang, O=0 (no optimisation), V=1.
CC      ?= cc
O       ?= 2
BUILD   ?= build
LLHTTP_SRC ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp

PKGS    := libuv openssl zlib libcrypt hiredis libsystemd inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WERROR  ?= -Werror
WARN    := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O$(O) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -DLLHTTP_STRICT_MODE=1 $(WARN) -MMD -MP -Isrc -I$(LLHTTP_INC) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
LDLIBS  += $(PKG_LIBS)

# Protocol and pure modules: no uv.h (checked by `make check-purity`).
PURE    := util log promtext metrics goflag cfgfile config cfgsnap ws utf8 outframe http handshake env origin route tls record pmd httpfile cgi linkproto termctl termpage realip proxyproto basicauth htpasswd authout clients redisurl
# Modules linked into wsd; a new module joins when the server uses it (its
# unit test can exist earlier: see TDEPS_*).
SRCS    := $(addprefix src/,$(addsuffix .c,$(PURE) termassets defer ctlchan process pty privdrop listen \
           takeover sdnotify program transport hubcore hublink redislink conn terminal inetd shared \
           access session httpserve monitor upgrade reload drain supervisor server main))
OBJS    := $(SRCS:src/%.c=$(BUILD)/%.o)
LLOBJS  := $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o $(BUILD)/llhttp/llhttp.o

# What each unit test links (pure modules; glue modules only where a test runs
# them on a real loop, see TDEPS_program).
o = $(addprefix $(BUILD)/,$(addsuffix .o,$(1)))
TDEPS_utf8      := $(call o,utf8 util)
TDEPS_ws        := $(call o,ws utf8 util)
TDEPS_outframe  := $(call o,outframe ws utf8 util)
TDEPS_http      := $(call o,http util) $(LLOBJS)
TDEPS_handshake := $(call o,handshake http util) $(LLOBJS)
TDEPS_config    := $(call o,config cfgfile goflag origin log realip redisurl utf8 util)
TDEPS_cfgfile   := $(call o,cfgfile util)
TDEPS_cfgsnap   := $(call o,cfgsnap config cfgfile goflag origin pmd ws utf8 log realip redisurl http util) $(LLOBJS)
TDEPS_goflag    := $(call o,goflag util)
TDEPS_env       := $(call o,env config cfgfile goflag origin log realip redisurl utf8 http util) $(LLOBJS)
TDEPS_log       := $(call o,log utf8 util)
TDEPS_promtext  := $(call o,promtext metrics utf8 util)
TDEPS_util      := $(call o,util)
TDEPS_pmd       := $(call o,pmd ws utf8 util)
TDEPS_origin    := $(call o,origin util)
TDEPS_route     := $(call o,route util)
TDEPS_httpfile  := $(call o,httpfile http util) $(LLOBJS)
TDEPS_cgi       := $(call o,cgi env httpfile http util) $(LLOBJS)
TDEPS_record    := $(call o,record outframe ws utf8 util)
TDEPS_tls       := $(call o,tls util)
TDEPS_linkproto := $(call o,linkproto ws utf8 util)
TDEPS_redisurl  := $(call o,redisurl util)
TDEPS_termctl   := $(call o,termctl)
TDEPS_termpage  := $(call o,termpage termassets httpfile http util) $(LLOBJS)
TDEPS_realip    := $(call o,realip log utf8 util)
TDEPS_proxyproto := $(call o,proxyproto)
TDEPS_basicauth := $(call o,basicauth util)
TDEPS_htpasswd  := $(call o,htpasswd util)
TDEPS_authout   := $(call o,authout util)
TDEPS_clients   := $(call o,clients util)
TDEPS_listen    := $(call o,listen privdrop log utf8 util)
# Glue modules tested on a real loop, with real children:
TDEPS_program   := $(call o,program process pty log metrics promtext utf8 util)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPERS   := $(BUILD)/tests/child

ifneq ($(V),1)
Q := @
endif

.PHONY: all asan unit test check-purity check-layers clean demo
all: $(BUILD)/wsd $(HELPERS)

$(BUILD)/wsd: $(OBJS) $(LLOBJS)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
	@echo "  LD    $@"

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The web terminal's files (--pty --devconsole): web/terminal.html and
# xterm.js with its fit addon from npm (web/package.json and its lock file
# pin the versions), gzipped into $(BUILD)/web/ and embedded by
# src/termassets.c (.incbin). `npm ci` runs once, when web/node_modules is
# missing or older than the lock file; XTERM_DIR=/path/to/@xterm builds
# from an unpacked copy instead (no npm, no network).
XTERM_DIR ?= web/node_modules/@xterm
WEB_OUT   := $(BUILD)/web
WEB_GZ    := $(addprefix $(WEB_OUT)/,terminal.html.gz xterm.mjs.gz xterm.css.gz addon-fit.mjs.gz)
ifeq ($(XTERM_DIR),web/node_modules/@xterm)
XTERM_STAMP := web/node_modules/.package-lock.json
$(XTERM_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "wsd: npm is needed once to fetch xterm.js (scripts/install-deps installs it), or set XTERM_DIR"; exit 1; }
	@echo "  NPM   web (xterm.js)"
	$(Q)cd web && npm ci --no-audit --no-fund --loglevel=error
	$(Q)touch $@
endif
# minified files lose their source-map comment (no map is served)
gzip_web = @mkdir -p $(dir $@); echo "  GZIP  $@"; sed '/^\/\/\# sourceMappingURL=/d' $(1) | gzip -9n > $@.tmp && mv $@.tmp $@
$(WEB_OUT)/terminal.html.gz: web/terminal.html
	$(call gzip_web,$<)
$(WEB_OUT)/xterm.mjs.gz: $(XTERM_STAMP)
	$(call gzip_web,$(XTERM_DIR)/xterm/lib/xterm.mjs)
$(WEB_OUT)/xterm.css.gz: $(XTERM_STAMP)
	$(call gzip_web,$(XTERM_DIR)/xterm/css/xterm.css)
$(WEB_OUT)/addon-fit.mjs.gz: $(XTERM_STAMP)
	$(call gzip_web,$(XTERM_DIR)/addon-fit/lib/addon-fit.mjs)
$(BUILD)/termassets.o: src/termassets.c src/termassets.h $(WEB_GZ)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -DWSD_WEB_DIR='"$(WEB_OUT)"' -c -o $@ $<

# Third-party: compiled with our flags minus the warnings we don't own.
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -g -std=c11 -w -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) $(EXTRA_CFLAGS) -c -o $@ $<

.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(TDEPS_$$*) tests/unit/harness.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(TDEPS_$*) $(LDLIBS)

$(BUILD)/tests/test_program: $(BUILD)/tests/child

$(BUILD)/tests/child: tests/helpers/child.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

asan:
	$(MAKE) BUILD=build/asan O=1 EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" EXTRA_LDFLAGS="-fsanitize=address,undefined"

check-purity:
	@! grep -l 'include <uv.h>\|include "uv.h"' $(addprefix src/,$(addsuffix .c,$(PURE)) $(addsuffix .h,$(PURE)))

# The dependency rules of src/ (layers, TLS behind the transport, programs
# through program.c): scripts/check-layers.
check-layers:
	@scripts/check-layers

test:
	./tests/run

demo: all
	./examples/demo

clean:
	rm -rf build

# `make install` (PREFIX=/usr/local, DESTDIR for staging): the binary
# (stripped; INSTALL_STRIP= keeps its symbols, as debian/rules does for the
# -dbgsym package), the man page, the systemd units of systemd/ under
# UNITDIR with their /usr/bin/wsd turned into $(BINDIR)/wsd, and the
# sample configuration as $(SYSCONFDIR)/wsd/wsd.conf (an existing one is
# kept), and $(LOGDIR), the directory its /logs route serves (wsd.service
# hands it to its dynamic user: LogsDirectory=). `make uninstall` removes them all but an edited configuration.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
LOGDIR     ?= /var/log/wsd
INSTALL_STRIP ?= -s
UNITS      := $(wildcard systemd/*.service systemd/*.socket)
.PHONY: install uninstall
install: $(BUILD)/wsd
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/wsd $(DESTDIR)$(LOGDIR)
	install -m 755 $(INSTALL_STRIP) $(BUILD)/wsd $(DESTDIR)$(BINDIR)/wsd
	install -m 644 wsd.1 $(DESTDIR)$(MANDIR)/man1/wsd.1
	for u in $(UNITS); do \
		sed 's|/usr/bin/wsd|$(BINDIR)/wsd|g' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp && \
		mv $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	test -e $(DESTDIR)$(SYSCONFDIR)/wsd/wsd.conf || \
		install -m 644 examples/wsd.conf $(DESTDIR)$(SYSCONFDIR)/wsd/wsd.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/wsd $(DESTDIR)$(MANDIR)/man1/wsd.1 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	if cmp -s examples/wsd.conf $(DESTDIR)$(SYSCONFDIR)/wsd/wsd.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/wsd/wsd.conf; rmdir $(DESTDIR)$(SYSCONFDIR)/wsd 2>/dev/null; fi; true
	rmdir $(DESTDIR)$(LOGDIR) 2>/dev/null; true

# The xterm.js files the build embeds, for a build without npm or network
# (the Debian package, an offline machine): build/xterm-<version>.tar.gz
# holds @xterm/xterm and @xterm/addon-fit's shipped files and licences;
# unpack it anywhere and build with XTERM_DIR=/that/place/@xterm.
XTERM_VERSION = $(shell sed -n 's/.*"@xterm\/xterm": "\(.*\)".*/\1/p' web/package.json)
.PHONY: xterm-tarball
xterm-tarball: $(XTERM_STAMP)
	@mkdir -p $(BUILD)
	tar -C $(XTERM_DIR)/.. -czf $(BUILD)/xterm-$(XTERM_VERSION).tar.gz --owner=0 --group=0 \
		@xterm/xterm/LICENSE @xterm/xterm/package.json @xterm/xterm/lib/xterm.mjs \
		@xterm/xterm/css/xterm.css @xterm/addon-fit/LICENSE @xterm/addon-fit/package.json \
		@xterm/addon-fit/lib/addon-fit.mjs
	@echo "  TAR   $(BUILD)/xterm-$(XTERM_VERSION).tar.gz"

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)

# ---- libFuzzer harnesses: `make fuzz` → build/fuzz/fuzz_*; `make fuzz-smoke`
# runs each on its seed corpus plus FUZZ_SMOKE_TIME seconds of fuzzing (new
# inputs go to build/fuzz/smoke/, never to fuzz/corpus/). docs/fuzzing.md.
FUZZ_CC     ?= clang
FUZZ_DIR    ?= build/fuzz
FUZZ_SMOKE_TIME ?= 4
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -DLLHTTP_STRICT_MODE=1 -Isrc -I$(LLHTTP_INC) \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_NAMES  := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS   := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))
FUZZ_LLHTTP := $(addprefix $(LLHTTP_SRC)/,api.c http.c llhttp.c)
# Per harness: the sources it links (FSRC_), libraries (FLIB_), run options (FOPT_).
FSRC_fuzz_config    := $(addprefix src/,config.c cfgfile.c goflag.c origin.c log.c realip.c redisurl.c utf8.c util.c)
FSRC_fuzz_configfile := $(addprefix src/,config.c cfgfile.c cfgsnap.c goflag.c origin.c pmd.c ws.c utf8.c http.c log.c realip.c redisurl.c util.c) $(FUZZ_LLHTTP)
FSRC_fuzz_http      := $(addprefix src/,http.c handshake.c util.c) $(FUZZ_LLHTTP)
FSRC_fuzz_ws_decode := $(addprefix src/,ws.c utf8.c)
FSRC_fuzz_outframe  := $(addprefix src/,outframe.c ws.c utf8.c)
FSRC_fuzz_record    := $(addprefix src/,record.c outframe.c ws.c utf8.c util.c)
FSRC_fuzz_addressed := $(addprefix src/,record.c outframe.c ws.c utf8.c util.c)
FSRC_fuzz_linkproto := $(addprefix src/,linkproto.c ws.c utf8.c util.c)
FSRC_fuzz_redis     := $(addprefix src/,redisurl.c linkproto.c ws.c utf8.c util.c)
FSRC_fuzz_inflate   := $(addprefix src/,pmd.c ws.c utf8.c util.c)
FSRC_fuzz_tls       := $(addprefix src/,tls.c util.c)
FSRC_fuzz_termctl   := src/termctl.c
FSRC_fuzz_logjson   := $(addprefix src/,log.c utf8.c util.c)
FSRC_fuzz_proxyproto := src/proxyproto.c
FSRC_fuzz_realip    := $(addprefix src/,realip.c log.c utf8.c util.c)
FSRC_fuzz_basicauth := $(addprefix src/,basicauth.c util.c)
FSRC_fuzz_htpasswd  := $(addprefix src/,htpasswd.c util.c)
FSRC_fuzz_authout   := $(addprefix src/,authout.c util.c)
FLIB_fuzz_config    := -linih
FLIB_fuzz_configfile := -linih -lz -lcrypto
FLIB_fuzz_http      := -lcrypto
FLIB_fuzz_inflate   := -lz
FLIB_fuzz_tls       := -lssl -lcrypto
FLIB_fuzz_htpasswd  := -lcrypt
FOPT_fuzz_config    := -max_len=512 -dict=$(CURDIR)/fuzz/config.dict
FOPT_fuzz_configfile := -max_len=4096 -dict=$(CURDIR)/fuzz/configfile.dict
FOPT_fuzz_http      := -max_len=20000 -dict=$(CURDIR)/fuzz/http.dict
FOPT_fuzz_ws_decode := -max_len=4096
FOPT_fuzz_outframe  := -max_len=4096
FOPT_fuzz_record    := -max_len=4096
FOPT_fuzz_addressed := -max_len=4096 -dict=$(CURDIR)/fuzz/addressed.dict
FOPT_fuzz_linkproto := -max_len=4096
FOPT_fuzz_redis     := -max_len=4096 -dict=$(CURDIR)/fuzz/redis.dict
FOPT_fuzz_inflate   := -max_len=70000
FOPT_fuzz_tls       := -max_len=4096
FOPT_fuzz_termctl   := -max_len=2048 -dict=$(CURDIR)/fuzz/termctl.dict
FOPT_fuzz_logjson   := -max_len=4096 -dict=$(CURDIR)/fuzz/logjson.dict
FOPT_fuzz_proxyproto := -max_len=2200 -dict=$(CURDIR)/fuzz/proxyproto.dict
FOPT_fuzz_realip    := -max_len=2048 -dict=$(CURDIR)/fuzz/realip.dict
FOPT_fuzz_basicauth := -max_len=1600
FOPT_fuzz_htpasswd  := -max_len=4096 -dict=$(CURDIR)/fuzz/htpasswd.dict
FOPT_fuzz_authout   := -max_len=20000 -dict=$(CURDIR)/fuzz/authout.dict

.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_BINS)

$(FUZZ_BINS): $(FUZZ_DIR)/%: fuzz/%.c $$(FSRC_$$*) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZ-CC $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FSRC_$*) $(FLIB_$*)

fuzz-smoke: $(addprefix fuzz-smoke-,$(FUZZ_NAMES))

fuzz-smoke-%: $(FUZZ_DIR)/%
	@rm -rf $(FUZZ_DIR)/smoke/$* $(FUZZ_DIR)/smoke/$*.ok
	@mkdir -p $(FUZZ_DIR)/smoke/$*/new $(FUZZ_DIR)/smoke/$*/crash
	@echo "  FUZZ  $* (seeds + $(FUZZ_SMOKE_TIME) s)"
	$(Q)$< $(FOPT_$*) -max_total_time=$(FUZZ_SMOKE_TIME) -timeout=60 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/smoke/$*/crash/ $(FUZZ_DIR)/smoke/$*/new \
		$(wildcard fuzz/corpus/$(*:fuzz_%=%)) >$(FUZZ_DIR)/smoke/$*.log 2>&1 || \
		{ echo "  FAIL  $*: see $(FUZZ_DIR)/smoke/$*.log"; tail -n 40 $(FUZZ_DIR)/smoke/$*.log; exit 1; }
	@grep -h '^#[0-9]*.*DONE' $(FUZZ_DIR)/smoke/$*.log | sed 's/^/        /'
	@touch $(FUZZ_DIR)/smoke/$*.ok

# Long run of one harness (`make fuzz-long-fuzz_http`), niced, in
# build/fuzz/long/NAME/ (libFuzzer's -jobs log: fuzz-0.log there), new inputs
# in build/fuzz/long/NAME/new; `make fuzz-merge-NAME` then adds those that
# bring new edges to fuzz/corpus/ (checked in, so kept small: -use_counters=0
# merges on edges alone, not on hit counts, and -set_cover_merge=1 keeps a
# small set that covers them: fuzz_http 374 files with -merge=1, 207 with it).
# A 16 MB quarantine (ASan's default is 256 MB): freed memory is reused
# while still hot instead of faulting in fresh pages, 1.6x the executions per
# second for fuzz_tls (OpenSSL allocates its buffers per connection).
FUZZ_RUNS     ?= 10000000
FUZZ_MAX_TIME ?= 0
FUZZ_LONG_ASAN ?= quarantine_size_mb=16:malloc_context_size=10
fuzz-long-%: $(FUZZ_DIR)/%
	@mkdir -p $(FUZZ_DIR)/long/$*/new $(FUZZ_DIR)/long/$*/crash
	cd $(FUZZ_DIR)/long/$* && ASAN_OPTIONS=$(FUZZ_LONG_ASAN) WSD_FUZZ_CERTS=$(CURDIR)/tests/certs nice -n 19 $(CURDIR)/$< \
		$(FOPT_$*) -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_MAX_TIME) -jobs=1 \
		-print_final_stats=1 -artifact_prefix=crash/ new $(wildcard $(CURDIR)/fuzz/corpus/$(*:fuzz_%=%))
	@tail -n 12 $(FUZZ_DIR)/long/$*/fuzz-0.log

fuzz-merge-%: $(FUZZ_DIR)/%
	@mkdir -p fuzz/corpus/$(*:fuzz_%=%)
	WSD_FUZZ_CERTS=$(CURDIR)/tests/certs $< $(FOPT_$*) -use_counters=0 -set_cover_merge=1 fuzz/corpus/$(*:fuzz_%=%) $(FUZZ_DIR)/long/$*/new

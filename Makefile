# gcam: Darknet plugin for saliency-guided fine-tuning.
# Targets: all (library + programs; installs nothing, names missing packages), deps
# (installs missing Debian packages), test, bench and run (each installs first), format,
# clean.

CC ?= cc
DARKNET_DIR := /usr/lib/darknet
BUILD := build
BIN := bin

# Sanitizer builds go to build-$(SANITIZER): address (ASan + LSan + UBSan) or thread.
SANITIZER ?=
comma := ,
OPT ?= -O3 -march=native
CFLAGS := -std=c11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
          -D_POSIX_C_SOURCE=200809L -Iinclude
# The library, tests and benchmarks also see the internal headers and the engine's; the
# programs in src/cli/ are built against include/ alone.
# Open MPI as Debian installs it (data-parallel training, src/distributed.c).
MPI_DIR := /usr/lib/$(shell $(CC) -print-multiarch)/openmpi
INTERNAL_CFLAGS := -Isrc -I$(DARKNET_DIR)/include -I/usr/include/stb -I/usr/include/cairo \
                   -I/usr/include/freetype2 -I/usr/include/libpng16 -I$(MPI_DIR)/include
LDFLAGS := -L$(DARKNET_DIR) -Wl,-rpath,$(DARKNET_DIR) -L$(MPI_DIR)/lib
LDLIBS := -ldarknet -lopenblas -ldnnl -lgomp -lcairo -lturbojpeg -lmpi -lpthread -lm
ifeq ($(SANITIZER),fuzzer)
# libFuzzer builds (make fuzz): clang, with ASan and UBSan.
SANITIZE_FLAGS := -fsanitize=fuzzer-no-link,address,undefined
else ifneq ($(SANITIZER),)
SANITIZE_FLAGS := -fsanitize=$(if $(filter address,$(SANITIZER)),address$(comma)undefined,$(SANITIZER))
endif
ifneq ($(SANITIZER),)
CFLAGS += $(SANITIZE_FLAGS) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += $(SANITIZE_FLAGS)
BUILD := build-$(SANITIZER)
endif

# Debian packages the build and tests need; `make deps` installs the missing ones.
DEB_PACKAGES := darknet libopenblas-dev libstb-dev libcairo2-dev fonts-dejavu-core \
                dataset-fashion-mnist valgrind clang-format openmpi-bin libopenmpi-dev \
                libdnnl-dev libturbojpeg0-dev

LIB_SRC := $(wildcard src/*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/lib/%.o)
LIB := $(BUILD)/libgcam.a
PROGRAMS := $(patsubst src/cli/%.c,$(BIN)/%,$(wildcard src/cli/*.c))
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench_*.c))

.PHONY: all deps deps-check data example cluttered hires transfer test bench fuzz run docs format clean
all: deps-check $(LIB) $(PROGRAMS)

# `make` only checks: it names the missing packages and stops. deps installs them (as
# root), and test, bench and run install first, so that the README's two commands work
# on a fresh machine.
deps-check:
	@./scripts/ensure_packages.sh --check $(DEB_PACKAGES)
deps:
	@./scripts/ensure_packages.sh $(DEB_PACKAGES)

$(BUILD)/lib/%.o: src/%.c $(wildcard src/*.h include/*.h include/gcam/*.h) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL_CFLAGS) -fvisibility=hidden -c $< -o $@

# The kernel pool runs on OpenMP's threads, those of oneDNN (src/parallel.c).
$(BUILD)/lib/parallel.o: CFLAGS += -fopenmp

# The kernels' selects (max pooling, leaky activations) vectorise only when comparisons
# may be assumed not to trap; gcam never enables floating-point traps, and values and
# rounding are unchanged.
$(BUILD)/lib/kernels_%.o: CFLAGS += -fno-trapping-math

# rebuilt from scratch: `ar r` would keep the objects of deleted sources
$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN)/%: src/cli/%.c $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/check.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL_CFLAGS) -Itests $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL_CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

# The core-path tests also run under AddressSanitizer, LeakSanitizer and UBSan, and the
# threaded ones (loader, kernel pool, trainer with its map cache) under ThreadSanitizer.
THREAD_SANITIZED_TESTS := $(addprefix build-thread/tests/,test_guided test_kernels test_dataset \
                                                         test_train)
SANITIZED_TESTS := $(addprefix build-address/tests/,test_cfg test_eval test_guided test_weights test_gradients test_kernels \
                                                   test_dataset test_train test_plot test_settings test_mix \
                                                   test_image_folder test_crop_source)

# The built-in data set: Fashion-MNIST as PNG files with Darknet lists (scripts/make_fmnist.sh).
data: deps $(BUILD)/fmnist_to_png
	@./scripts/make_fmnist.sh

$(BUILD)/fmnist_to_png: scripts/fmnist_to_png.c | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL_CFLAGS) $< -o $@

# The tutorial's folder of images by class, data/example/<class>/ (scripts/make_example.sh).
example: data
	@./scripts/make_example.sh

# The experiment data set: Cluttered Fashion-MNIST (scripts/make_cluttered.sh).
cluttered: deps $(BUILD)/make_cluttered
	@./scripts/make_cluttered.sh

# The high-resolution regime: the same items on 192x192 canvases, data/hires/, with 2,000
# held-out canvases for the experiment's choices.
hires: deps $(BUILD)/make_cluttered
	@CLUTTERED_NAME=hires CLUTTERED_SIDE=192 CLUTTERED_SEED=2192 CLUTTERED_HELDOUT=2000 ./scripts/make_cluttered.sh
	@TRANSFER_NAME=hires_transfer TRANSFER_SIDE=192 TRANSFER_SEED=4434 ./scripts/make_transfer.sh

# The transfer regime: pretraining on six classes, fine-tuning on the four upper-body
# garments (scripts/make_transfer.sh).
transfer: deps $(BUILD)/make_cluttered
	@./scripts/make_transfer.sh

$(BUILD)/make_cluttered: scripts/make_cluttered.c src/rng.h | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL_CFLAGS) $< -o $@ -lm

# The settings reference, docs/settings.md, from the settings table (written whole, then
# renamed).
$(BUILD)/settings_doc: scripts/settings_doc.c $(LIB)
	$(CC) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

docs: deps-check $(BUILD)/settings_doc
	@mkdir -p docs
	@$(BUILD)/settings_doc > docs/settings.md.next && mv docs/settings.md.next docs/settings.md

test: deps all data $(TESTS) $(BUILD)/settings_doc $(BUILD)/make_cluttered
	@$(MAKE) --no-print-directory SANITIZER=address $(SANITIZED_TESTS)
	@$(MAKE) --no-print-directory SANITIZER=thread $(THREAD_SANITIZED_TESTS)
	@./tests/run_tests.sh $(TESTS) $(wildcard tests/test_*.sh) $(SANITIZED_TESTS) \
	  $(THREAD_SANITIZED_TESTS)

# The high-resolution rows: test-time crops cut from 192x192 sources, and the default
# refresh and fresh maps with 192x192 sources.
bench: deps all data cluttered hires $(BENCHES)
	@for b in $(BENCHES) $(wildcard bench/*.sh); do echo "== $$b"; $$b || exit 1; done
	@echo "== bench/bench_tta.sh, hires" && DATASET=hires bench/bench_tta.sh
	@echo "== bench/bench_guided.sh, hires" && CFG=cfg/hires.cfg \
	  ROWS="groupcam_g8_32img fresh_gradcam" bench/bench_guided.sh

# Fuzzing with libFuzzer (clang): each target in tests/fuzz/ runs FUZZ_SECONDS (60) from
# its seed corpus; crashes are saved under build-fuzzer/artifacts/ and fail the target.
FUZZ_PACKAGES := clang libclang-rt-14-dev
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build-fuzzer/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
fuzz: deps
	@./scripts/ensure_packages.sh $(FUZZ_PACKAGES)
	@$(MAKE) --no-print-directory CC=clang SANITIZER=fuzzer OPT=-O1 $(FUZZ_TARGETS)
	@./tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

build-fuzzer/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(LIB)
	$(CC) $(CFLAGS) $(INTERNAL_CFLAGS) -fsanitize=fuzzer $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

run: deps all transfer
	./scripts/run_main.sh

format:
	clang-format -i src/*.c src/*.h src/cli/*.c include/*.h include/gcam/*.h tests/*.c tests/*.h bench/*.c

clean:
	rm -rf build build-* $(BIN)

# gcam: Darknet plugin for saliency-guided fine-tuning.
# Targets: all (library + programs), test, bench, deps (install missing Debian packages),
# run (the main job), format, clean.

CC ?= cc
DARKNET_DIR := /usr/lib/darknet
BUILD := build
BIN := bin

# Sanitizer builds go to build-$(SANITIZER): address (ASan + LSan + UBSan) or thread.
SANITIZER ?=
comma := ,
OPT ?= -O3 -march=native
CFLAGS := -std=c11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
          -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -I$(DARKNET_DIR)/include -I/usr/include/stb
LDFLAGS := -L$(DARKNET_DIR) -Wl,-rpath,$(DARKNET_DIR)
LDLIBS := -ldarknet -lopenblas -lpthread -lm
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
DEB_PACKAGES := darknet libopenblas-dev libstb-dev dataset-fashion-mnist valgrind clang-format

LIB_SRC := $(wildcard src/*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/lib/%.o)
LIB := $(BUILD)/libgcam.a
PROGRAMS := $(patsubst src/cli/%.c,$(BIN)/%,$(wildcard src/cli/*.c))
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench_*.c))

.PHONY: all deps data cluttered test bench fuzz run format clean
all: deps-check $(LIB) $(PROGRAMS)

# deps-check is cheap when everything is installed, so every entry point can depend on it.
deps-check:
	@./scripts/ensure_packages.sh $(DEB_PACKAGES)
deps: deps-check

$(BUILD)/lib/%.o: src/%.c $(wildcard src/*.h include/*.h) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	ar rcs $@ $^

$(BIN)/%: src/cli/%.c $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/check.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

# The core-path tests also run under AddressSanitizer, LeakSanitizer and UBSan, and the
# threaded ones (loader, kernel pool, trainer with its map cache) under ThreadSanitizer.
THREAD_SANITIZED_TESTS := $(addprefix build-thread/tests/,test_guided test_kernels test_dataset \
                                                         test_train)
SANITIZED_TESTS := $(addprefix build-address/tests/,test_cfg test_eval test_guided test_weights test_gradients test_kernels \
                                                   test_dataset test_train)

# The built-in data set: Fashion-MNIST as PNG files with Darknet lists (scripts/make_fmnist.sh).
data: deps-check $(BUILD)/fmnist_to_png
	@./scripts/make_fmnist.sh

$(BUILD)/fmnist_to_png: scripts/fmnist_to_png.c | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@

# The experiment data set of issue 5: Cluttered Fashion-MNIST (scripts/make_cluttered.sh).
cluttered: deps-check $(BUILD)/make_cluttered
	@./scripts/make_cluttered.sh

$(BUILD)/make_cluttered: scripts/make_cluttered.c src/rng.h | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ -lm

test: all data $(TESTS)
	@$(MAKE) --no-print-directory SANITIZER=address $(SANITIZED_TESTS)
	@$(MAKE) --no-print-directory SANITIZER=thread $(THREAD_SANITIZED_TESTS)
	@./tests/run_tests.sh $(TESTS) $(wildcard tests/test_*.sh) $(SANITIZED_TESTS) \
	  $(THREAD_SANITIZED_TESTS)

bench: all data cluttered $(BENCHES)
	@for b in $(BENCHES) $(wildcard bench/*.sh); do echo "== $$b"; $$b || exit 1; done

# Fuzzing with libFuzzer (clang): each target in tests/fuzz/ runs FUZZ_SECONDS (60) from
# its seed corpus; crashes are saved under build-fuzzer/artifacts/ and fail the target.
FUZZ_PACKAGES := clang libclang-rt-14-dev
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build-fuzzer/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
fuzz: deps-check
	@./scripts/ensure_packages.sh $(FUZZ_PACKAGES)
	@$(MAKE) --no-print-directory CC=clang SANITIZER=fuzzer OPT=-O1 $(FUZZ_TARGETS)
	@./tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

build-fuzzer/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

run: all data
	./scripts/run_main.sh

format:
	clang-format -i src/*.c src/*.h src/cli/*.c include/*.h tests/*.c tests/*.h bench/*.c

clean:
	rm -rf build build-* $(BIN)

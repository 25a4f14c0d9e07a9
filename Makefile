# The two commands a newcomer needs:
#   make run    build (release) and start `tempovoice serve` on 127.0.0.1:3000
#   make test   build with sanitizers and run every test (unit, fuzz corpora, integration)
# Both install missing Debian packages first.
.PHONY: run test deps test-deps build release dev dev-configure test-module test-one check-format format check-headers tidy check-self-contained bench fuzz fuzz-campaign clean

ARGS ?=

run: deps
	@cmake --preset app >/dev/null
	cmake --build --preset app --target tempovoice
	./build/app/tempovoice serve $(ARGS)

test: test-deps dev
	bash tools/run-tests.sh build/dev

deps:
	@bash tools/install-deps.sh

test-deps:
	@bash tools/install-deps.sh --test

release: test-deps
	@cmake --preset release >/dev/null
	cmake --build --preset release --target bench_programs

dev: dev-configure
	cmake --build --preset dev

# Configures build/dev once; after that ninja re-runs cmake by itself when a CMakeLists changes.
dev-configure: test-deps
	@test -f build/dev/build.ninja || cmake --preset dev >/dev/null

# The one-module loop (see docs/development.md):
#   make test-module M=aws      rebuild module aws and its test programs, run only their tests
#   make test-one T=call_flow   rebuild the binary, run one integration test file (or any ctest
#                               name: T=aws_test, T=fuzz_wav)
M ?=
T ?=
test-module: dev-configure
	@test -n "$(M)" || { echo "usage: make test-module M=<module> (a folder of tests/unit/tempo/)"; exit 2; }
	cmake --build build/dev --target module_$(M)
	bash tools/run-tests.sh build/dev -L '^module:$(M)$$'

test-one: dev-configure
	@test -n "$(T)" || { echo "usage: make test-one T=<integration file stem or ctest name>"; exit 2; }
	@if [ -f tests/integration/$(T).test.mjs ]; then \
	  cmake --build build/dev --target integration_programs && \
	  bash tools/run-tests.sh build/dev -R '^integration_$(T)$$'; \
	else \
	  cmake --build build/dev --target $(T) && bash tools/run-tests.sh build/dev -R '^$(T)$$'; \
	fi

check-self-contained: dev-configure
	bash tools/check-self-contained.sh build/dev

check-format: test-deps
	bash tools/check-format.sh

format:
	bash tools/check-format.sh --fix

check-headers: dev-configure
	cmake --build --preset dev --target check_headers

tidy: dev-configure
	bash tools/run-tidy.sh build/dev

bench: test-deps release
	bash bench/run-all.sh build/release

fuzz: test-deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz

# make fuzz-campaign SECONDS=N [TARGETS="http_request wav"]: every fuzz target (or TARGETS)
# for min(10M executions, N s), nice'd, two at a time, then merged into fuzz/corpus/ (see
# docs/fuzzing.md).
SECONDS ?= 1800
TARGETS ?=
fuzz-campaign: test-deps
	bash tools/fuzz-campaign.sh --seconds $(SECONDS) $(TARGETS)

clean:
	rm -rf build

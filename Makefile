# The two commands a newcomer needs:
#   make run    build (release) and start `tempovoice serve` on 127.0.0.1:3000
#   make test   build with sanitizers and run every test (unit, fuzz corpora, integration)
# Both install missing Debian packages first.
.PHONY: run test deps test-deps build release dev check-format format check-headers tidy bench fuzz fuzz-campaign clean

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

release: deps
	@cmake --preset release >/dev/null
	cmake --build --preset release

dev: test-deps
	@cmake --preset dev >/dev/null
	cmake --build --preset dev

check-format: test-deps
	bash tools/check-format.sh

format:
	bash tools/check-format.sh --fix

check-headers: dev
	cmake --build --preset dev --target check_headers

tidy: dev
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

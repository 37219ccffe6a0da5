# Procdesc — build, test and run. `make` builds everything; `make test` runs every test.
DOTNET   ?= dotnet
CONFIG   ?= Release
TFM      := net10.0
RESULTS  := artifacts/test-results
TEST_BIN := src/Procdesc.Tests/bin/$(CONFIG)/$(TFM)
CLI_BIN  := src/Procdesc.Cli/bin/$(CONFIG)/$(TFM)
COMPAT_BIN     := compat-tests/bin/$(CONFIG)/$(TFM)
COMPAT_RESULTS := artifacts/compat-results
# The conformance suite (compat-tests/); it writes artifacts/compat-report.md and .json itself.
# Followed by the directory for its TRX results.
COMPAT_TEST = $(DOTNET) test compat-tests/Procdesc.Compat.Tests.csproj -c $(CONFIG) --no-build -nologo \
	--logger "trx;LogFileName=compat-tests.trx" --logger "console;verbosity=normal" --results-directory

.PHONY: all build test compat run clean

all: build

# Also compiles the C helper (src/native) with the system cc, through Procdesc.csproj.
build:
	$(DOTNET) build Procdesc.sln -c $(CONFIG) -nologo -v:q

# The library must never need Mono.Posix's native helper (there is none for FreeBSD), so the
# suites run with it deleted from the test output. Both suites run; either failing fails the target.
test: build
	find $(TEST_BIN) $(COMPAT_BIN) -name 'libMonoPosixHelper*' -delete
	rm -rf $(RESULTS)
	status=0; \
	$(DOTNET) test src/Procdesc.Tests/Procdesc.Tests.csproj -c $(CONFIG) --no-build -nologo \
		--logger "trx;LogFileName=procdesc-tests.trx" --logger "console;verbosity=normal" \
		--results-directory $(RESULTS) || status=$$?; \
	$(COMPAT_TEST) $(RESULTS) || status=$$?; \
	exit $$status

# The conformance suite alone: the report goes to artifacts/compat-report.md and .json
# (PROCDESC_COMPAT_REPORT_DIR=dir puts it elsewhere), the TRX results to artifacts/compat-results.
compat: build
	find $(COMPAT_BIN) -name 'libMonoPosixHelper*' -delete
	rm -rf $(COMPAT_RESULTS)
	$(COMPAT_TEST) $(COMPAT_RESULTS)

# make run ARGS="run -- /bin/sh -c 'exit 3'"
run: build
	$(DOTNET) $(CLI_BIN)/Procdesc.Cli.dll $(ARGS)

clean:
	$(DOTNET) clean Procdesc.sln -c $(CONFIG) -nologo -v:q
	rm -rf artifacts src/*/bin src/*/obj compat-tests/bin compat-tests/obj

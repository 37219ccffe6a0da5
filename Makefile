# Procdesc — build, test and run. `make` builds everything; `make test` runs every test.
DOTNET   ?= dotnet
CONFIG   ?= Release
TFM      := net10.0
RESULTS  := artifacts/test-results
TEST_BIN := src/Procdesc.Tests/bin/$(CONFIG)/$(TFM)
CLI_BIN  := src/Procdesc.Cli/bin/$(CONFIG)/$(TFM)

.PHONY: all build test run clean

all: build

# Also compiles the C helper (src/native) with the system cc, through Procdesc.csproj.
build:
	$(DOTNET) build Procdesc.sln -c $(CONFIG) -nologo -v:q

# The library must never need Mono.Posix's native helper (there is none for FreeBSD), so the
# suite runs with it deleted from the test output.
test: build
	find $(TEST_BIN) -name 'libMonoPosixHelper*' -delete
	rm -rf $(RESULTS)
	$(DOTNET) test src/Procdesc.Tests/Procdesc.Tests.csproj -c $(CONFIG) --no-build -nologo \
		--logger "trx;LogFileName=procdesc-tests.trx" --logger "console;verbosity=normal" \
		--results-directory $(RESULTS)

# make run ARGS="run -- /bin/sh -c 'exit 3'"
run: build
	$(DOTNET) $(CLI_BIN)/Procdesc.Cli.dll $(ARGS)

clean:
	$(DOTNET) clean Procdesc.sln -c $(CONFIG) -nologo -v:q
	rm -rf artifacts src/*/bin src/*/obj

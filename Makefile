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

.PHONY: all build test compat pack run clean test-kernels aot

all: build

# Also compiles the C helper (src/native) with the system cc, through Procdesc.csproj.
build:
	$(DOTNET) build Procdesc.sln -c $(CONFIG) -nologo -v:q

# The library must never need Mono.Posix's native helper (there is none for FreeBSD), so the
# suites run with it deleted from the test output. Both suites run, and the conformance suite once
# more with every child made by the helper parent (PROCDESC_LINUX_PARENT=helper; its report in
# artifacts/helper-parent/); any failing fails the target.
test: build
	find $(TEST_BIN) $(COMPAT_BIN) -name 'libMonoPosixHelper*' -delete
	rm -rf $(RESULTS)
	status=0; \
	$(DOTNET) test src/Procdesc.Tests/Procdesc.Tests.csproj -c $(CONFIG) --no-build -nologo \
		--logger "trx;LogFileName=procdesc-tests.trx" --logger "console;verbosity=normal" \
		--results-directory $(RESULTS) || status=$$?; \
	$(COMPAT_TEST) $(RESULTS) || status=$$?; \
	PROCDESC_LINUX_PARENT=helper PROCDESC_COMPAT_REPORT_DIR=artifacts/helper-parent \
		$(DOTNET) test compat-tests/Procdesc.Compat.Tests.csproj -c $(CONFIG) --no-build -nologo \
		--logger "trx;LogFileName=compat-tests-helper-parent.trx" --logger "console;verbosity=minimal" \
		--results-directory $(RESULTS) || status=$$?; \
	exit $$status

# The conformance suite alone: the report goes to artifacts/compat-report.md and .json
# (PROCDESC_COMPAT_REPORT_DIR=dir puts it elsewhere), the TRX results to artifacts/compat-results.
compat: build
	find $(COMPAT_BIN) -name 'libMonoPosixHelper*' -delete
	rm -rf $(COMPAT_RESULTS)
	$(COMPAT_TEST) $(COMPAT_RESULTS)

# The kernel matrix: Debian 12's (6.1), 13's (6.12) and unstable's (7.x) kernels booted in QEMU
# over this machine's root, the unit tests and the conformance suite run in each, then on this
# machine's own kernel; one summary line per kernel, a conformance report per kernel under
# artifacts/kernels/<release>/. KERNEL_MODE=ci runs the conformance suite and the smoke set only.
KERNEL_MODE ?= full
test-kernels: build
	find $(TEST_BIN) $(COMPAT_BIN) -name 'libMonoPosixHelper*' -delete
	bash .ci/kernel-matrix $(KERNEL_MODE) $(KERNELS)

# The benchmarks of issue 7 (src/Procdesc.Benchmarks, Linux, always Release; a few minutes): every
# figure against baselines measured in the same run, interleaved, into artifacts/bench-report.md and
# .json. BENCH_ARGS="--rows 1,3" runs some rows only; "--smoke" a few iterations of each (make test
# runs that through BenchmarkSmokeTests).
.PHONY: bench
bench: aot
	$(DOTNET) build src/Procdesc.Benchmarks/Procdesc.Benchmarks.csproj -c Release -nologo -v:q
	$(DOTNET) build src/Procdesc.Cli/Procdesc.Cli.csproj -c Release -nologo -v:q
	$(DOTNET) src/Procdesc.Benchmarks/bin/Release/$(TFM)/Procdesc.Benchmarks.dll --out artifacts $(BENCH_ARGS)

# The NuGet packages, into artifacts/: Procdesc (the library, with the C helper under
# runtimes/<rid>/native/) and Procdesc.Tool (the procdesc command, for dotnet tool install).
# The linux-arm64 helper needs Debian's cross gcc: installed here when missing and run as root
# on Linux x86-64; without it the package leaves linux-arm64 out and the pack says so.
pack:
	@if [ "$$(uname -s)" = Linux ] && [ "$$(uname -m)" = x86_64 ] && [ "$$(id -u)" = 0 ] && \
	    ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
		echo "pack: installing gcc-aarch64-linux-gnu for the linux-arm64 helper"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu >/dev/null; } || \
		echo "pack: could not install gcc-aarch64-linux-gnu; linux-arm64 is left out"; \
	fi
	mkdir -p artifacts
	rm -f artifacts/*.nupkg
	$(DOTNET) pack src/Procdesc/Procdesc.csproj -c $(CONFIG) -nologo -v:m -o artifacts
	$(DOTNET) pack src/Procdesc.Cli/Procdesc.Cli.csproj -c $(CONFIG) -nologo -v:m -o artifacts

# The procdesc tool as one NativeAOT executable (it starts like a C tool; no .NET runtime needed on
# the machine that runs it), with the C helper and the helper parent beside it, into
# artifacts/aot/<rid>/procdesc. AOT_RID=linux-arm64 cross-compiles on x86-64 with clang and
# Debian's aarch64 gcc and libc (installed here as root when missing); on FreeBSD, AOT_RID=freebsd-x64.
AOT_RID ?=
AOT_DIR ?=
aot:
	@rid="$(AOT_RID)"; \
	if [ -z "$$rid" ]; then \
		case "$$(uname -s)" in FreeBSD) os=freebsd ;; *) os=linux ;; esac; \
		case "$$(uname -m)" in aarch64|arm64) arch=arm64 ;; *) arch=x64 ;; esac; \
		rid=$$os-$$arch; \
	fi; \
	dir="$(AOT_DIR)"; [ -n "$$dir" ] || dir=artifacts/aot/$$rid; \
	cross=; \
	if [ "$$rid" = linux-arm64 ] && [ "$$(uname -m)" = x86_64 ]; then \
		cross="-p:CppCompilerAndLinker=$$(command -v clang-22 || echo clang) -p:ObjCopyName=aarch64-linux-gnu-objcopy"; \
		if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "aot: installing the aarch64 cross toolchain"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null 2>&1 || \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null; }; \
		fi; \
	fi; \
	rm -rf "$$dir" && \
	$(DOTNET) publish src/Procdesc.Cli/Procdesc.Cli.csproj -c Release -r $$rid -p:PublishAot=true -nologo -v:q -o "$$dir" $$cross && \
	mv "$$dir/Procdesc.Cli" "$$dir/procdesc" && \
	rm -f "$$dir"/*.pdb "$$dir"/*.xml "$$dir/Procdesc.Cli.dbg" && \
	echo "aot: $$dir/procdesc (with libprocdesc_native.so and procdesc-parent beside it)"

# make run ARGS="run -- /bin/sh -c 'exit 3'"
run: build
	$(DOTNET) $(CLI_BIN)/Procdesc.Cli.dll $(ARGS)

clean:
	$(DOTNET) clean Procdesc.sln -c $(CONFIG) -nologo -v:q
	rm -rf artifacts src/*/bin src/*/obj compat-tests/bin compat-tests/obj

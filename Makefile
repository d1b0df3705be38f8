# crmsync — build, test, lint and benchmark.
GO          ?= go
PKGS        ?= ./...
# -race on 2 cores multiplies run time; -p 2 keeps packages from starving each other.
TESTFLAGS   ?= -race -count=1 -p 2 -timeout 9m
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck

.PHONY: all build test test-short lint fmt vet staticcheck bench chaos samples sar-screenshots

all: build

build:
	$(GO) build -o bin/crmsync ./cmd/crmsync

## test: lint, then every test with the race detector (this is what CI runs).
test: lint
	$(GO) test $(TESTFLAGS) $(PKGS)

## test-short: the tests without lint or the race detector, for a quick loop.
test-short:
	$(GO) test -count=1 -short $(PKGS)

lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(STATICCHECK) $(PKGS)

## bench: speed and memory targets, as benchmarks (never timed unit tests).
## The package benchmarks run first; then internal/benchrun generates 1M- and
## 5M-row inputs into bench-data/ (never committed), runs the built binary on
## them, against the tamio emulator limited to 500 requests/s, against the
## tiquo emulator limited to 50 requests/s (10,000 updates, about 4 minutes)
## against the COUNT emulator limited to 20 requests/s (2,000 updates, a
## tenth of them email changes, about 2 minutes) and against the Revnue
## emulator limited to 20 requests/s (2,000 whole-record updates of customers
## entered with every field, calls per update with the list reads, and every
## field outside the mapping kept; about 2 minutes), and migrates 20,000 and
## then 100,000 seeded tiquo customers into an empty tamio account with the
## shipped mapping and a state, rate limits off (rows/s, the verification
## that ends the run, crmsync's peak RSS at both sizes, each emulator's
## calls per customer; about 6 minutes, and 4 more the first time, which
## seeds the two accounts into bench-data/), prints one table and fails
## when a target is missed.
## Flags: BENCHFLAGS='-only count-rate' limits benchrun to some of its rows
## (dry-run, tamio-rate, tiquo-rate, count-rate, revnue-rate, migrate;
## comma-separated).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./sinks/tamio/tamiotest/ ./sinks/tiquo/tiquotest/ ./sinks/count/counttest/ ./sinks/revnue/revnuetest/ ./sources/... ./mappings/ ./pipeline/
	$(GO) run ./internal/benchrun -bin bin/crmsync $(BENCHFLAGS)

## chaos: for tamio, tiquo, COUNT and Revnue at once, each against its own emulator,
## sync generated rows under faults (10% 5xx, dropped connections, lost
## answers, 429 bursts), SIGKILL crmsync at random moments at least 10 times
## and rerun it until it finishes, on a first load and on days of changes;
## then check the CRM, the rejects and the state against the source, print
## the figures and fail on any difference. tamio gets 20,000 rows; tiquo,
## which makes a request or two per row where tamio's bulk endpoints make one
## per thousand, 3,000; COUNT, per row too and paced without rate headers,
## 2,000; Revnue, per row, paced, each update a whole record read from list
## pages, 2,000, a third of them entered beforehand with every field set,
## which every update must keep. The four take as long as the slowest: on 2
## busy cores (-seed 132858) the four together took 12 minutes, tamio 11,
## tiquo 11, COUNT 11 and Revnue 7.
## Flags: CHAOSAPI=revnue for one API; CHAOSFLAGS='-rows 20000 -kills 10 -seed 1 -v'.
CHAOSAPI ?= tamio,tiquo,count,revnue
chaos: build
	$(GO) run ./internal/chaos -bin bin/crmsync -api $(CHAOSAPI) $(CHAOSFLAGS)

## samples: regenerate samples/ (deterministic: the same seed gives the same files).
samples:
	$(GO) run ./internal/fixtures/gensamples -dir samples

## sar-screenshots: regenerate docs/sar-subject.png and docs/sar-cover.png, the
## README's pictures of the readable subject-access reports, from the sample
## run: the first 12 sample customers synced into the tamio and tiquo
## sandboxes (in SARDIR, started afresh), two of them exported from both with
## samples/gdpr.yaml, and each page shot by headless Chromium at 1280 px
## (its stderr, D-Bus complaints on a machine without a session, dropped).
SARDIR   ?= /tmp/crmsync-sar-screenshots
CHROMIUM ?= chromium
sar-screenshots: build
	rm -rf $(SARDIR) && mkdir -p $(SARDIR) docs
	head -n 13 samples/customers.csv > $(SARDIR)/customers.csv
	for api in tamio tiquo; do \
	  bin/crmsync sync --source $(SARDIR)/customers.csv --mapping samples/customers.$$api.yaml --target sandbox \
	    --sandbox-db '$(SARDIR)/<api>.db' --out $(SARDIR)/sync-$$api --progress none >/dev/null || [ $$? -eq 3 ] || exit 1; \
	done
	printf 'email\noliver.nakamura.1@mail.example.net\nchloe.lindqvist.2@mail.example.net\n' > $(SARDIR)/request.csv
	bin/crmsync export --targets sandbox:tamio,sandbox:tiquo --sandbox-db '$(SARDIR)/<api>.db' --subjects $(SARDIR)/request.csv \
	  --controller samples/gdpr.yaml --request-id SAR-2026-0117 --requested-at 2026-11-28T09:30:00Z --out $(SARDIR)/out --progress none
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
	  --window-size=1280,3650 --screenshot=docs/sar-subject.png file://$(SARDIR)/out/subjects/row-1.html 2>/dev/null
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
	  --window-size=1280,1750 --screenshot=docs/sar-cover.png file://$(SARDIR)/out/report.html 2>/dev/null

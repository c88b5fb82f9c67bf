# Dalil — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
DATA    ?= ./data
ADDR    ?= 127.0.0.1:8080
export CGO_ENABLED = 1

.PHONY: run test bench lint build web fuzz clean

## run: start the server with the embedded store and a living demo Mina
run: web
	$(GO) run ./cmd/dalil serve --demo --open-ingest --data $(DATA) --addr $(ADDR)

## build: the dalil binary in ./bin
build: web
	$(GO) build -o bin/dalil ./cmd/dalil

## web: install the console's npm packages (Leaflet, Arabic and Bangla fonts) into web/static/vendor
# Idempotent and fast: npm ci runs only when package-lock.json is newer than the
# last install, and the dist files are copied only after an install.
WEB_NPM_STAMP    = web/node_modules/.dalil-installed
WEB_VENDOR_STAMP = web/static/vendor/.dalil-copied
web: $(WEB_VENDOR_STAMP)

$(WEB_NPM_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make web: npm not found; install Node.js and npm (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(WEB_VENDOR_STAMP): $(WEB_NPM_STAMP)
	rm -rf web/static/vendor
	mkdir -p web/static/vendor/leaflet web/static/vendor/markercluster
	cp -R web/node_modules/leaflet/dist/leaflet.js web/node_modules/leaflet/dist/leaflet.css \
	  web/node_modules/leaflet/dist/images web/node_modules/leaflet/LICENSE web/static/vendor/leaflet/
	cp web/node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
	  web/node_modules/leaflet.markercluster/dist/MarkerCluster.css \
	  web/node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css \
	  web/node_modules/leaflet.markercluster/MIT-LICENCE.txt web/static/vendor/markercluster/
	# Arabic (also Urdu) and Bangla fonts: only the woff2 of each script's own
	# subset, so a page downloads a font only when it shows that script
	# (unicode-range). fonts.css has 400+700 for the console; fonts-bold.css has
	# 700 only, for the tent finder's small page.
	mkdir -p web/static/vendor/fonts
	set -e; for f in noto-naskh-arabic/files/noto-naskh-arabic-arabic-400-normal.woff2 \
	  noto-naskh-arabic/files/noto-naskh-arabic-arabic-700-normal.woff2 \
	  noto-sans-bengali/files/noto-sans-bengali-bengali-400-normal.woff2 \
	  noto-sans-bengali/files/noto-sans-bengali-bengali-700-normal.woff2; do \
	  cp web/node_modules/@fontsource/$$f web/static/vendor/fonts/; done
	cp web/node_modules/@fontsource/noto-naskh-arabic/LICENSE web/static/vendor/fonts/LICENSE-noto-naskh-arabic
	cp web/node_modules/@fontsource/noto-sans-bengali/LICENSE web/static/vendor/fonts/LICENSE-noto-sans-bengali
	# The blocks are taken from the weight files (400.css, 700.css), which carry
	# each subset's unicode-range; the subset files alone do not.
	fontblocks() { awk -v want="$$2" '/^\/\*/{keep = index($$0, want) > 0} keep' "$$1" \
	  | sed -e 's#url(./files/#url(./#g' -e "s#, url([^)]*\.woff) format('woff')##g"; }; \
	nna=web/node_modules/@fontsource/noto-naskh-arabic; nsb=web/node_modules/@fontsource/noto-sans-bengali; \
	{ fontblocks $$nna/400.css -arabic-400-normal; fontblocks $$nna/700.css -arabic-700-normal; \
	  fontblocks $$nsb/400.css -bengali-400-normal; fontblocks $$nsb/700.css -bengali-700-normal; } > web/static/vendor/fonts/fonts.css; \
	{ fontblocks $$nna/700.css -arabic-700-normal; fontblocks $$nsb/700.css -bengali-700-normal; } > web/static/vendor/fonts/fonts-bold.css
	@touch $@

## test: lint, then every test with the race detector
test: lint web
	$(GO) test -race -count=1 ./...

## bench: the Go benchmarks (1 s each), then the standard load run against a server it starts
##        itself: embedded store, and PostgreSQL too when DALIL_TEST_POSTGRES is set (sim/load/standard.sh)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=1s -count=1 -timeout 10m ./...
	GO="$(GO)" bash sim/load/standard.sh

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

clean:
	rm -rf bin

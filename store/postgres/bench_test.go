package postgres_test

import (
	"context"
	"testing"

	"dalil"
	"dalil/store/postgres"
	"dalil/store/storetest"
)

// benchOpener opens a store in a fresh schema on every call (benchmark
// functions run several times).
func benchOpener(b *testing.B) func(b *testing.B) dalil.Store {
	db := newTestDB(b)
	return func(b *testing.B) dalil.Store {
		st, err := postgres.Open(context.Background(), withParam(b, db.url, "search_path", db.newSchema(b)))
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, benchOpener(b)) }

func BenchmarkSizePerMillion(b *testing.B) { storetest.BenchSize(b, benchOpener(b)) }

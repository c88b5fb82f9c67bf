package api
import ("testing";"time";"bytes";"compress/gzip")
func TestLayoutSize(t *testing.T){
 ix:=testIndex(t)
 s:=time.Now(); var b bytes.Buffer; ix.Layout().WriteGeoJSON(&b); t.Log("encode",time.Since(s), b.Len(), len(ix.Layout().Tents))
 for _,lv:=range []int{gzip.BestSpeed, gzip.DefaultCompression, gzip.BestCompression}{ s=time.Now(); var z bytes.Buffer; w,_:=gzip.NewWriterLevel(&z,lv); w.Write(b.Bytes()); w.Close(); t.Log(lv, time.Since(s), z.Len())}
}

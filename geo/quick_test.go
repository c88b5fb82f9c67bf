package geo
import ("testing";"time";"bytes";"reflect";"encoding/json")
func TestQuickGen(t *testing.T){
 t0:=time.Now(); l:=Default(); t.Log("gen", time.Since(t0), len(l.Areas), len(l.Camps), len(l.Tents))
 t0=time.Now(); err:=Validate(l); t.Log("validate", time.Since(t0), err)
 z:=map[int]int{}; cat:=map[string]int{}
 for _,c:=range l.Camps{ z[c.Zone]++; cat[string(c.Site)+c.Category]++}
 t.Log(z, cat)
 c,_:=l.Camp("mina-050"); t.Log(c.Polygon, c.Gates, len(l.TentsOf("mina-050")), c.Capacity)
 t.Log(l.Area("mina"))
}
func TestQuickRT(t *testing.T){
 l:=Default(); var b bytes.Buffer; t0:=time.Now(); if err:=l.WriteGeoJSON(&b);err!=nil{t.Fatal(err)}; t.Log("write",time.Since(t0), b.Len())
 t0=time.Now(); l2,err:=ReadGeoJSON(bytes.NewReader(b.Bytes())); t.Log("read",time.Since(t0), err)
 if !reflect.DeepEqual(l.Camps,l2.Camps) || !reflect.DeepEqual(l.Tents,l2.Tents)|| !reflect.DeepEqual(l.Areas,l2.Areas){t.Fatal("differ")}
}
func TestQuickLoc(t *testing.T){
 l:=Default(); t0:=time.Now(); ix,err:=NewIndex(l); t.Log("index",time.Since(t0),err, len(ix.cells), len(ix.campRefs), len(ix.tentRefs), ix.cellR)
 tt,_:=l.Tent("mina-050/3"); c:=tt.Polygon.Centroid()
 for _,acc:=range []float64{3,8,13,30}{ loc:=ix.Locate(c.Lat,c.Lon,acc); b,_:=json.Marshal(loc); t.Log(string(b), loc.Candidates())}
 loc:=ix.Locate(21.41,39.89,8); t.Logf("%+v",loc)
 t.Log(testing.AllocsPerRun(100, func(){ ix.Locate(c.Lat,c.Lon,8)}))
}

package geo

type walkGraph struct{}

func buildWalkGraph(ix *Index) *walkGraph { return &walkGraph{} }

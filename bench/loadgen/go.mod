module rex/bench/loadgen

go 1.22

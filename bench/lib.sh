# lib.sh - number formatting helpers shared by the benchmark scripts (sourced).

# num X - X with thousands separators, no decimals
num() {
	awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); o = ""; neg = (s ~ /^-/); if (neg) s = substr(s, 2);
	                       while (length(s) > 3) { o = "," substr(s, length(s) - 2) o;
	                                               s = substr(s, 1, length(s) - 3) }
	                       print (neg ? "-" : "") s o }'
}

# calc EXPR - a floating point expression, printed with FORMAT ($2, default %.2f)
calc() {
	awk "BEGIN { printf \"${2:-%.2f}\", ($1) }"
}

# field FILE K - the K-th number of a bench-rusage line
field() {
	awk -v k="$2" '{ print $k }' "$1"
}

# verdict OK - PASS or MISS
verdict() {
	if [ "$1" = 1 ]; then echo PASS; else echo MISS; fi
}

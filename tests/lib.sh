# lib.sh - helpers for the shell test suites (sourced). Each check prints "PASS name" or
# "FAIL name: why"; tests/run.sh adds them up.
: "${MAILSIFT:?run through tests/run.sh (MAILSIFT unset)}"
TOP=${MAILSIFT_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mailsift-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# check NAME CONDITION-COMMAND... : PASS when the command succeeds
check() {
	name=$1; shift
	if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got [$2], want [$3]"; fi
}

# check_contains NAME FILE TEXT
check_contains() {
	if grep -qF -- "$3" "$2"; then pass "$1"; else fail "$1" "$2 lacks [$3]: $(head -c 600 "$2")"; fi
}

# data_rows FILE - rows of an exported CSV (header excluded), counting records not lines
data_rows() {
	python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8", errors="surrogateescape"))); print(max(len(r)-1,0))' "$1"
}

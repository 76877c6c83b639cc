#!/bin/sh
# t_dnsbound - memory follows the work in flight (DESIGN "Memory"): a run over 5,000 domains
# whose in-memory DNS caches keep 100 names (--dns-cache 100) gives the same verdicts as a run
# with the default, asks the world's DNS server about every domain once (its query log counts
# them), ends with at most 100 names held and the rest evicted (`status` says so), and a host
# paused for pushing back stays paused while the DNS answers of its domains come and go: the
# domains are claimed in rounds (the working set spans at most 2,000 domains), so most of the
# pushing host's domains are looked up after the pause began and after earlier ones were
# evicted, and none of them opens a session to it.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

cat > personas.conf <<'EOF'
127.0.1.50 strict  users=alice
127.0.1.52 strict  users=alice
127.0.1.51 dropper users=alice after=0 drops=0
EOF
# 3,000 domains on one shared MX name, 1,800 with an MX name each (one host address), 200 with
# an MX name each on the host that drops every session after its banner (pushback)
awk 'BEGIN {
	print "a mx.shared.test 127.0.1.50"
	for (i = 0; i < 3000; i++) print "mx s" i ".test 10 mx.shared.test"
	for (i = 0; i < 1800; i++) { print "mx o" i ".test 10 mx" i ".own.test"; print "a mx" i ".own.test 127.0.1.52" }
	for (i = 0; i < 200; i++) { print "mx p" i ".test 10 mx" i ".push.test"; print "a mx" i ".push.test 127.0.1.51" }
}' > world.zone
world_start $((30000 + ($$ * 13 + 7000) % 20000)) "$WORK/personas.conf"
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
SLOG="$WORK/world/smtpd.log"
DLOG="$WORK/world/dnsd.log"
RUN="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--allow-private-mx --timeout 3 --connect-timeout 2 --max-attempts 1 --concurrency 20 --quiet"

# the list: one address a domain, the pushing host's domains spread through it (every 25th row)
awk 'BEGIN {
	print "email"
	s = 0; o = 0; p = 0
	for (i = 0; i < 5000; i++) {
		if (i % 25 == 0) print "alice@p" p++ ".test"
		else if (i % 8 < 3 && o < 1800) print "alice@o" o++ ".test"
		else if (s < 3000) print "alice@s" s++ ".test"
		else print "alice@o" o++ ".test"
	}
}' > list.csv
check_eq "the list has 5,000 distinct domains" "$(tail -n +2 list.csv | sort -u | wc -l | tr -d ' ')" 5000

# run_count DB CACHE... - import the list into DB and run it; the dnsd and smtpd log lines it
# added are left in DB.dns and DB.smtp
run_count() {
	db=$1
	shift
	d0=$(wc -l < "$DLOG")
	s0=$(wc -l < "$SLOG")
	"$MAILSIFT" import list.csv --db "$db" --quiet
	# shellcheck disable=SC2086
	timeout 300 "$MAILSIFT" run --db "$db" $RUN "$@" > "$db.out" 2>&1
	rc=$?
	tail -n +$((d0 + 1)) "$DLOG" > "$db.dns"
	tail -n +$((s0 + 1)) "$SLOG" > "$db.smtp"
	return $rc
}

run_count small.db --dns-cache 100
check_eq "run with --dns-cache 100 exits 0 ($(head -c 300 small.db.out))" "$?" 0
run_count default.db
check_eq "run with the default cache exits 0 ($(head -c 300 default.db.out))" "$?" 0

verdicts() {
	sqlite3 "$1" "SELECT key || ' ' || status || CASE WHEN domain LIKE 'p%' THEN ''
		ELSE ' ' || reason END FROM addresses ORDER BY key"
}
verdicts small.db > small.verdicts
verdicts default.db > default.verdicts
check_eq "5,000 verdicts" "$(wc -l < small.verdicts | tr -d ' ')" 5000
check "the same verdicts with 100 names cached as with the default" cmp -s small.verdicts default.verdicts
check_eq "the domains on live hosts are valid" \
	"$(grep -c ' valid accepted$' small.verdicts)" 4800
check_eq "the pushing host's are unknown" "$(grep -c '^alice@p[0-9]*\.test unknown$' small.verdicts)" 200

# every domain asked once (the job store is the second level: an evicted domain is read back
# from it), every MX host name at most... once per domain that needs it
check_eq "--dns-cache 100: 5,000 domains, each asked its MX once" \
	"$(awk '$2 == "MX" && $1 ~ /^[spo][0-9]+\.test$/ {print $1}' small.db.dns | sort | uniq -c | awk '$1 == 1' | wc -l | tr -d ' ')" 5000
check_eq "--dns-cache 100: no MX question asked twice" \
	"$(awk '$2 == "MX" {print $1}' small.db.dns | sort | uniq -d | wc -l | tr -d ' ')" 0
check_eq "--dns-cache 100: each own MX name's address asked once" \
	"$(awk '$2 == "A" && $1 ~ /\.own\.test$/ {print $1}' small.db.dns | sort | uniq -d | wc -l | tr -d ' ')" 0

# the caches were bounded: what the run's statistics and `status` say
STATUS=$("$MAILSIFT" status --db small.db)
echo "$STATUS" | grep -E "DNS cache|last run" | sed 's/^/  /'
check "status: the domain cache ends within its limit of 100" \
	sh -c "echo '$STATUS' | grep -Eq 'DNS cache, domains: ([0-9]|[1-9][0-9]|100) held \(peak [0-9]+, limit 100\)'"
evicted=$(echo "$STATUS" | sed -n 's/.*DNS cache, domains: .* \([0-9]*\) evicted.*/\1/p')
check "status: domains were evicted (${evicted:-none}; at least 4,000 of 5,000)" \
	test "${evicted:-0}" -ge 4000
check "status: the default run's cache kept every domain (none evicted)" \
	sh -c "\"$MAILSIFT\" status --db default.db | grep -q 'DNS cache, domains: .* 0 evicted'"
peak=$(echo "$STATUS" | sed -n 's/.* over \([0-9]*\) domains (limit 2000).*/\1/p')
check "status: the working set spanned at most its 2,000 domains (${peak:-?})" \
	test "${peak:-99999}" -le 2000 -a "${peak:-0}" -ge 1000

# the pause: sessions opened to the pushing host, over the whole run
opened=$(awk '$2 == "127.0.1.51" && $4 == "OPEN"' small.db.smtp | wc -l | tr -d ' ')
late=$(awk 'NR > 1 && /^alice@p/ {n++} NR > 2001 && /^alice@p/ {l++} END {print l + 0}' list.csv)
check "the pushing host got at most 4 sessions ($opened) though $late of its domains came after the first 2,000 rows" \
	test "$opened" -ge 1 -a "$opened" -le 4
check "those domains were looked up after the pause began (their MX questions are in the log)" \
	test "$(grep -c '^p[0-9]*\.test MX' small.db.dns)" -eq 200
# the hosts were let go while idle and read back: the pause came back from the job store
let_go=$(echo "$STATUS" | sed -n 's/.*MX hosts (\([0-9]*\) let go while idle).*/\1/p')
check "idle hosts were let go (${let_go:-none})" test "${let_go:-0}" -ge 1
check_eq "the pushing host's state kept in the store: paused, pushback counted" \
	"$(sqlite3 small.db "SELECT pauses >= 1, pushback >= 3, sessions FROM host_state WHERE ip = '127.0.1.51'")" \
	"1|1|$opened"
check_eq "report: the hosts of the run, from the store (3)" \
	"$(sqlite3 small.db "SELECT json_array_length(stats, '$.hosts') FROM runs ORDER BY id DESC LIMIT 1")" 3

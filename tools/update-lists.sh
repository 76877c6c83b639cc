#!/bin/sh
# update-lists.sh - regenerate the flag lists importers/data/{role,disposable,free}.txt from their
# npm packages (importers/data/SOURCES says which, under what license, and how they are derived).
#
# Run from the repository top (`make data` does). Needs npm and node, and the npm registry.
# The package versions are pinned below, so a rerun gives byte-identical files; to move to a newer
# release, change a version here (or set e.g. FREE_VERSION=latest in the environment), rerun,
# review the diff, and update the versions in importers/data/SOURCES.
# Never runs package code: the tarballs come from `npm pack` (no install scripts) and are read as
# data (JSON.parse, or a line match for the role list, which is a .js file).
set -eu

ROLE_PKG=role-based-email-addresses
ROLE_VERSION=${ROLE_VERSION:-3.1.0}
DISPOSABLE_PKG=disposable-email-domains
DISPOSABLE_VERSION=${DISPOSABLE_VERSION:-1.0.62}
FREE_PKG=free-email-domains
FREE_VERSION=${FREE_VERSION:-1.12.6}

# Role entries dropped on purpose: common given names and surnames that the upstream list carries
# (alexa, gardner), which would mark real people's mailboxes as role accounts.
ROLE_EXCLUDE="alexa gardner"

out=importers/data
if [ ! -d "$out" ] || [ ! -f tools/embed.sh ]; then
	echo "update-lists.sh: run from the mailsift repository top" >&2
	exit 2
fi
for tool in npm node tar; do
	command -v "$tool" >/dev/null 2>&1 || { echo "update-lists.sh: $tool not found" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# fetch PKG VERSION - unpack PKG@VERSION into $tmp/PKG (the tarball's package/ folder)
fetch() {
	tgz=$(cd "$tmp" && npm pack --silent "$1@$2" | tail -n 1)
	[ -f "$tmp/$tgz" ] || { echo "update-lists.sh: npm pack $1@$2 gave no tarball" >&2; exit 1; }
	mkdir "$tmp/$1"
	tar xzf "$tmp/$tgz" -C "$tmp/$1"
}

fetch "$ROLE_PKG" "$ROLE_VERSION"
fetch "$DISPOSABLE_PKG" "$DISPOSABLE_VERSION"
fetch "$FREE_PKG" "$FREE_VERSION"

# The conversion: one entry a line into $tmp/{role,disposable,free}.lines, and each package's
# resolved name, version and license into $tmp/{role,disposable,free}.meta.
cat > "$tmp/convert.js" <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const url = require('url');
const [tmp, roleExclude] = process.argv.slice(2);

const pkgDir = (name) => path.join(tmp, name, 'package');
const readJson = (name, file) => JSON.parse(fs.readFileSync(path.join(pkgDir(name), file), 'utf8'));
const meta = (name) => {
	const p = readJson(name, 'package.json');
	return `${p.name} ${p.version} (${p.license})`;
};

// keep - the entries matching RE; report the others (upstream data can hold anything)
function keep(list, re, what) {
	const bad = list.filter((s) => !re.test(s));
	if (bad.length)
		process.stderr.write(`update-lists.sh: ${what}: skipped ${bad.length} malformed: ` +
			`${bad.join(' ')}\n`);
	return list.filter((s) => re.test(s));
}

// domain - lowercase A-label form, as the importer normalizes addresses (IDN entries upstream
// are U-labels such as instágram.com); '' when it is not a domain
function domain(s) {
	const a = url.domainToASCII(s.trim().toLowerCase());
	return a.endsWith('.') ? a.slice(0, -1) : a;
}

function write(kind, entries, min) {
	const uniq = [...new Set(entries)];
	if (uniq.length < min)
		throw new Error(`${kind}: only ${uniq.length} entries (expected at least ${min}): ` +
			'upstream format changed?');
	fs.writeFileSync(path.join(tmp, kind + '.lines'), uniq.join('\n') + '\n');
}

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
// no '#' (tools/embed.sh reads it as a comment), no quote or backslash (it does not escape)
const LOCAL_RE = /^[a-z0-9!$%&*\/=?^_`{|}~.-]{1,64}$/;

// role: src/index.js holds arrays of quoted local parts, one a line ("  'info',")
const roleName = 'role-based-email-addresses';
const roleSrc = fs.readFileSync(path.join(pkgDir(roleName), 'src', 'index.js'), 'utf8');
const excluded = new Set(roleExclude.split(/\s+/).filter(Boolean));
const role = [];
for (const m of roleSrc.matchAll(/^\s*'([^'\n]*)',?\s*$/gm))
	role.push(m[1].trim().toLowerCase());
write('role', keep(role, LOCAL_RE, 'role').filter((s) => !excluded.has(s)), 500);
fs.writeFileSync(path.join(tmp, 'role.meta'), meta(roleName));

// disposable: exact domains (index.json) and wildcard bases (wildcard.json: every subdomain of
// the entry is disposable); flags.c matches parent domains too, so both become plain entries
const dispName = 'disposable-email-domains';
const disposable = keep([...readJson(dispName, 'index.json'),
	...readJson(dispName, 'wildcard.json')].map(domain), DOMAIN_RE, 'disposable');
write('disposable', disposable, 10000);
fs.writeFileSync(path.join(tmp, 'disposable.meta'), meta(dispName));

// free: domains.json, less every domain that is also disposable (the upstream list merges
// disposable-domain lists into its free-provider list; disposable is the flag that holds)
const freeName = 'free-email-domains';
const dispSet = new Set(disposable);
const free = keep(readJson(freeName, 'domains.json').map(domain), DOMAIN_RE, 'free');
const freeKept = free.filter((d) => !dispSet.has(d));
write('free', freeKept, 1000);
const overlap = new Set(free).size - new Set(freeKept).size;
fs.writeFileSync(path.join(tmp, 'free.meta'),
	`${meta(freeName)}; ${overlap} entries also in ${meta(dispName)} left to disposable.txt`);
EOF
node "$tmp/convert.js" "$tmp" "$ROLE_EXCLUDE"

# emit KIND WHAT - write $out/KIND.txt: a header, then the entries in byte order (LC_ALL=C), as
# tools/embed.sh sorts them for bsearch
emit() {
	{
		echo "# $1.txt - $2"
		echo "# source: npm $(cat "$tmp/$1.meta")"
		echo "# generated by tools/update-lists.sh (see importers/data/SOURCES) - do not edit by hand"
		LC_ALL=C sort -u "$tmp/$1.lines"
	} > "$tmp/$1.txt"
	mv "$tmp/$1.txt" "$out/$1.txt"
	echo "$out/$1.txt: $(grep -vc '^#' "$out/$1.txt") entries"
}

emit role "role-account local parts (lowercase, no +tag) for FLAG_ROLE"
emit disposable "disposable (throwaway) mail domains for FLAG_DISPOSABLE, lowercase A-labels"
emit free "free mailbox provider domains for FLAG_FREE, lowercase A-labels"

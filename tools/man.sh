#!/bin/sh
# man.sh MAILSIFT OUTDIR - the man pages, made from the commands' own --help by help2man
# (Debian's help2man), so they cannot drift from it: mailsift(1) from `mailsift --help`, and
# mailsift-CMD(1) from `mailsift CMD --help` for each command. make man runs it; tests/t_man.sh
# checks the pages.
set -eu
mailsift=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
version=$("$mailsift" --version | sed -n '1s/^mailsift //p')
mkdir -p "$out/bin"
# name: the page's one-line summary
pages="mailsift:bulk email list cleaning without sending mail
clean:import, verify and export lists of email addresses in one command
import:read lists into a mailsift job store
run:verify the pending addresses of a mailsift job store
export:write the annotated files of a mailsift job store
merge:join the job stores of a list's shards into one set of files
status:show what a mailsift job store holds
explain:show why an address got its verdict, from a mailsift job store
verify:verify email addresses and print one JSON object each
serve:the mailsift HTTP API and web page
doctor:check whether this machine can verify email addresses"
printf '%s\n' "$pages" | while IFS=: read -r cmd summary; do
	if [ "$cmd" = mailsift ]; then
		prog=mailsift
		printf '#!/bin/sh\nexec "%s" "$@"\n' "$mailsift" > "$out/bin/$prog"
	else
		prog=mailsift-$cmd
		printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$mailsift" "$cmd" > "$out/bin/$prog"
	fi
	chmod +x "$out/bin/$prog"
	help2man --no-info --no-discard-stderr --version-string="$version" --name="$summary" \
		--section=1 --output="$out/$prog.1" "$out/bin/$prog"
done
rm -rf "$out/bin"

#!/bin/sh
# t_man - the man pages (tools/man.sh: help2man over each command's --help) and the bash
# completion (deploy/bash-completion/mailsift): every page is made and renders without a groff
# warning, every option a command's --help lists is in its page, the completion offers the
# commands and each command's options as its --help lists them, and make install puts the
# binary, the pages and the completion where they belong.
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

for bin in help2man groff; do
	if ! command -v $bin > /dev/null 2>&1; then
		fail "$bin is installed" "not found: apt-get install help2man groff-base (.ci/run does)"
		exit 0
	fi
done
sh "$TOP/tools/man.sh" "$MAILSIFT" man > man.out 2>&1
check_eq "tools/man.sh makes the pages: exit 0" "$?" 0
cmds="clean import run export merge status explain verify serve doctor"
for c in "" $cmds; do
	page=man/mailsift${c:+-$c}.1
	check "mailsift${c:+-$c}(1) is made" test -s "$page"
	groff -man -Tutf8 -ww -z "$page" > "groff-$c.err" 2>&1
	check_eq "mailsift${c:+-$c}(1) renders without a groff warning" "$(cat "groff-$c.err")" ""
	# shellcheck disable=SC2086
	"$MAILSIFT" $c --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u > "help-$c.opts"
	groff -man -Tascii -rLL=2000n -rHY=0 -P-c -P-b -P-u "$page" 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' |
		sort -u > "page-$c.opts"
	check_eq "mailsift${c:+-$c}(1) lists every option of its --help" \
		"$(comm -23 "help-$c.opts" "page-$c.opts" | tr '\n' ' ')" ""
done
check_contains "a page names its command and summary" man/mailsift-merge.1 \
	"join the job stores of a list's shards into one set of files"

# the completion, as bash calls it
complete_words() { # WORD... - what the completion offers for the last word
	bash -c '. "$1/deploy/bash-completion/mailsift"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_mailsift; printf "%s\n" "${COMPREPLY[@]}"' sh "$TOP" "$@" | sort | tr '\n' ' '
}
check_eq "completion: the commands" "$(complete_words "$MAILSIFT" m)" "merge "
check_eq "completion: every command" "$(complete_words "$MAILSIFT" "" | wc -w)" 12
check_eq "completion: a command's options from its --help" \
	"$(complete_words "$MAILSIFT" clean --sha)" "--shard --shards "
check_eq "completion: all of them" "$(complete_words "$MAILSIFT" merge --)" \
	"$(tr '\n' ' ' < help-merge.opts)"
mkdir -p files && : > files/list-a.csv
check_eq "completion: file names for arguments" "$(complete_words "$MAILSIFT" clean files/li)" \
	"files/list-a.csv "

# make install into a staging folder
make -s -C "$TOP" install BUILD="${MAILSIFT_BUILD#$TOP/}" DESTDIR="$WORK/stage" PREFIX=/usr > install.out 2>&1
check_eq "make install: exit 0" "$?" 0
check "make install: the binary" test -x stage/usr/bin/mailsift
check_eq "make install: the pages" "$(ls stage/usr/share/man/man1 | wc -l)" 11
check "make install: the completion" test -s stage/usr/share/bash-completion/completions/mailsift

#!/bin/sh
# man/lint.sh -- checks that Porter's manual pages render without a warning.
#
# Each page is linted with `mandoc -T lint -W warning` when mandoc is
# installed, else with `groff -ww -z -man`, and then rendered the way a
# reader sees it, `man -l` at 80 columns, whose warnings (lines groff
# cannot break, unknown macros) must be none either.  A page is judged by
# what the tools print, not only by their status, because groff and man
# report most problems on stderr and still exit 0.  With no linter at all
# the test is skipped (77), as automake's harness expects.
#
# Usage: man/lint.sh [page...]; without arguments, every page in man/ and
# in contrib/*/ (the tools' own pages, such as inetd2porter.8).
# `make check` runs it with top_srcdir exported (see Makefile.am).
set -u

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}

if command -v mandoc >/dev/null 2>&1; then
	linter=mandoc
elif command -v groff >/dev/null 2>&1; then
	linter=groff
else
	echo "lint.sh: neither mandoc nor groff is installed; skipping"
	exit 77
fi
# man-db renders through groff; a man without it cannot tell us anything.
if command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1; then
	render=yes
	checks="$linter, man -l"
else
	render=no
	checks=$linter
	echo "lint.sh: man or groff missing; not checking the rendering"
fi
# A locale man cannot set is a warning of its own: use one that exists.
if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
	loc=C.UTF-8
else
	loc=C
fi

if [ $# -eq 0 ]; then
	for page in "$srcdir"/man/*.[1-9] "$srcdir"/contrib/*/*.[1-9]; do
		[ -e "$page" ] && set -- "$@" "$page"
	done
	if [ $# -eq 0 ]; then
		echo "FAIL: no manual pages in $srcdir/man"
		exit 1
	fi
fi

failed=0
for page in "$@"; do
	if [ ! -r "$page" ]; then
		echo "FAIL $page: cannot read it"
		failed=1
		continue
	fi
	case $linter in
	mandoc)
		out=$(mandoc -T lint -W warning "$page" 2>&1)
		status=$? ;;
	groff)
		out=$(groff -ww -z -man "$page" 2>&1)
		status=$? ;;
	esac
	if [ "$status" -ne 0 ] || [ -n "$out" ]; then
		echo "FAIL $page: $linter (status $status):"
		printf '%s\n' "$out"
		failed=1
		continue
	fi
	if [ "$render" = yes ]; then
		# Only stderr is kept: the rendered page itself is thrown away.
		out=$(env LC_ALL="$loc" MANWIDTH=80 MANOPT= MANROFFOPT= \
		    man -l "$page" 2>&1 >/dev/null)
		status=$?
		if [ "$status" -ne 0 ] || [ -n "$out" ]; then
			echo "FAIL $page: man -l (status $status):"
			printf '%s\n' "$out"
			failed=1
			continue
		fi
	fi
	echo "ok   $page ($checks)"
done
exit $failed

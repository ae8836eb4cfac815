#!/bin/bash
# The main job (iovctl demo) inside the lab, for hosts whose KVM cannot run a guest: boots the
# lab with tests/demo.sh, which starts iovkitd there and runs iovctl demo on the lab's nested
# KVM, and prints the demo's own output as it comes (the rest of the console is left out).
#
#   tests/lab/demo.sh [lab.sh options: --cache DIR, --bin PROGRAM, --file FILE...] [-- DEMO-OPTIONS...]
#
# The lab guest sometimes freezes whole while iovm guests run in it (docs/lab.md, "Quirks"):
# lab.sh then boots it again, at most 3 boots in all, and says so.
# Exit status: 0 the demo passed, 1 it failed, 77 the lab cannot run on this host.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lab=() demo=()
while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; demo=("$@"); break; fi
    lab+=("$1"); shift
done

in=$(mktemp -d)
trap 'rm -rf "$in"' EXIT
printf '%s\n' "${demo[*]}" > "$in/demo-args"

result=none
while IFS= read -r line; do
    case $line in
    "# | demo| "*) echo "${line#"# | demo| "}" ;;          # the demo's own output
    "# | "*) ;;                                             # the rest of the lab's console
    "ok "*" - demo") result=ok ;;
    "ok "*" - demo # SKIP "*) echo "demo: the lab could not run it: ${line#*# SKIP }"; result=skip ;;
    "1..0 # SKIP "*) echo "demo: the lab cannot run on this host: ${line#1..0 # SKIP }"; result=skip ;;
    "not ok "*) echo "demo: FAILED in the lab ($line); the test said:"; result=failed ;;
    "# guest kernel "*) echo "lab: ${line#"# "}" ;;
    "# lab: "*) echo "${line#"# "}" ;;
    "Bail out! "*) echo "demo: the lab failed: ${line#Bail out! }"; result=failed ;;
    "# "*) [ $result = failed ] && echo "  ${line#"# "}" ;;
    esac
done < <("$here/lab.sh" "${lab[@]}" --verbose --boots 3 --timeout 300 --test-timeout 200 --in "$in" demo)
case $result in
ok) exit 0 ;;
skip) exit 77 ;;
*) exit 1 ;;
esac

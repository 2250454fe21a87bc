#!/bin/sh
# man/gen-catalog.sh — prints the CHECKS section body of ovl2fsck(8) from the
# headers of the check files (-- check: / -- severity: / -- meaning:), in
# file-name order as the binary embeds them.
#
#   man/gen-catalog.sh sql/checks/*.sql          # print it
#   man/gen-catalog.sh --update man/ovl2fsck.8 sql/checks/*.sql
#                                                # replace the text between
#                                                # the CATALOG markers
# `make man` runs the second form; tests/integration/t-ops-man.t fails when
# the page and the catalog differ.
set -eu

catalog() {
    for f in "$@"; do
        awk '
            !/^--/ { exit }
            /^-- *check:/    { sub(/^-- *check: */, ""); name = $0 }
            /^-- *severity:/ { sub(/^-- *severity: */, ""); sev = $0 }
            /^-- *meaning:/  { sub(/^-- *meaning: */, ""); meaning = $0 }
            END {
                if (name == "" || sev == "" || meaning == "") {
                    print FILENAME ": incomplete check header" > "/dev/stderr"
                    exit 1
                }
                gsub(/[ \t\r]+$/, "", name); gsub(/[ \t\r]+$/, "", sev); gsub(/[ \t\r]+$/, "", meaning)
                gsub(/\\/, "\\e", meaning)
                if (meaning ~ /^[.\047]/) meaning = "\\&" meaning
                print ".TP"
                print ".BR " name " \" (" sev ")\""
                # text lines of at most 72 bytes (mandoc -Tlint style)
                n = split(meaning, w, " ")
                line = ""
                for (i = 1; i <= n; i++) {
                    if (line != "" && length(line) + 1 + length(w[i]) > 72) {
                        print line
                        line = w[i]
                    } else
                        line = line == "" ? w[i] : line " " w[i]
                }
                print line
            }' "$f"
    done
}

if [ "${1:-}" = --update ]; then
    page=$2
    shift 2
    body=$(catalog "$@")
    tmp=$page.tmp
    BODY=$body awk '
        /^\.\\" BEGIN CATALOG/ { print; print ENVIRON["BODY"]; skip = 1; next }
        /^\.\\" END CATALOG/   { skip = 0 }
        !skip { print }' "$page" > "$tmp"
    mv "$tmp" "$page"
else
    catalog "$@"
fi

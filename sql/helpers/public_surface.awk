# The public surface as the docs give it, for sql/public_surface.sql: one line
# "kind<TAB>name" per documented object, read by psql's \copy ... FROM PROGRAM
# (on the client: the server may not be able to read the checkout).
#
#   awk -f sql/helpers/public_surface.awk README.md docs/segmentation.md
#
# README.md, section "## Reference" (docs/segmentation.md#internal-functions says why):
#   function   the name that starts a line of a plain code block (one without a
#              language): a signature, "rfm(ordered_at timestamptz, ...) → rfm_metrics";
#   type, table, view
#              the names in the first column of the tables under "### Types",
#              "### Tables" and "### Views" (a row naming `<name>_...` is about a
#              segmentation's objects, not the extension's: skipped);
# docs/segmentation.md, section "### Internal functions":
#   internal   the names in the first column of its table: the internal functions
#              that must stay executable by every role.
# Plain POSIX awk (mawk in the Debian chroots).

# print_names(kind, cell): every `name` code span of a table cell
function print_names(kind, cell,    name) {
    while (match(cell, /`[^`]*`/)) {
        name = substr(cell, RSTART + 1, RLENGTH - 2)
        cell = substr(cell, RSTART + RLENGTH)
        if (name ~ /^[a-z_][a-z0-9_]*$/)
            print kind "\t" name
    }
}

# first_cell(row): the text between the first two "|" of a table row
function first_cell(row) {
    sub(/^ *\| */, "", row)
    sub(/\|.*/, "", row)
    return row
}

FNR == 1 { section = 0; table = ""; fence = "" }

# Fenced code: fence is "plain" or "other" inside a block, "" outside.
/^ *```/ {
    if (fence != "")
        fence = ""
    else
        fence = ($0 ~ /^ *``` *$/) ? "plain" : "other"
    next
}

FILENAME ~ /README\.md$/ {
    if (fence == "" && /^## /) {
        section = ($0 ~ /^## Reference *$/)
        table = ""
        next
    }
    if (!section)
        next
    if (fence == "plain" && /^ *[a-z_][a-z0-9_]*\(/) {
        name = $0
        sub(/^ */, "", name)
        sub(/\(.*/, "", name)
        print "function\t" name
        next
    }
    if (fence != "")
        next
    if (/^### /) {
        table = ""
        if (/^### Types *$/) table = "type"
        if (/^### Tables *$/) table = "table"
        if (/^### Views *$/) table = "view"
        next
    }
    if (table != "" && /^ *\|/ && !/^ *\|[-| :]*$/ && first_cell($0) !~ /</)
        print_names(table, first_cell($0))
    next
}

FILENAME ~ /segmentation\.md$/ {
    if (fence == "" && /^#/) {
        section = ($0 ~ /^### Internal functions *$/)
        next
    }
    if (section && fence == "" && /^ *\|/ && !/^ *\|[-| :]*$/)
        print_names("internal", first_cell($0))
}

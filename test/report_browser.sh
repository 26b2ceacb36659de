#!/usr/bin/env bash
# test/report_browser.sh: the demo's report as a person sees it. In the cluster of the
# caller (PGHOST etc., as test/run_tests.sh exports them), makes the demo's segmentation
# of the Online Retail data (cp_demo_shop, test/cluster.sh), writes its report
# (segmentation_report(), docs/report.md) as `psql -Atc` does, and renders it in
# headless Chromium (Debian's chromium package), which asserts:
#   - the screenshot (1280 x 4000) is not blank: many colours, a good share of ink;
#   - the DOM holds each chart's <svg role="img"> with its <title> first and its data
#     table in the same <figure>, and no element that could load or run anything;
#   - the page made no network request: Chromium's net log, recorded while it renders
#     the report with its Content-Security-Policy removed (so that the page itself,
#     not the policy, is what is tested), holds no URL request made for the page.  The
#     detector is tested too: on a page that loads an image and a style sheet it must
#     see both requests.
# One test for test/run_tests.sh (one_test_step): its last line is the summary
# "report_browser: ...".  With an argument, also writes the top of the screenshot,
# reduced to 64 colours, to that file (docs/report.png, shown in the README):
#
#   bash test/report_browser.sh docs/report.png

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"

readme_png=${1:-}
dir=$(mktemp -d /tmp/customer_priority_report.XXXXXX)
cp_at_exit "rm -rf '$dir'"

export PGDATABASE=report_browser
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$PGDATABASE"
createdb "$PGDATABASE"
cp_at_exit "dropdb --if-exists '$PGDATABASE' 2>/dev/null"
cp_demo_shop
psql -X -At -v ON_ERROR_STOP=1 -c "SELECT customer_priority.segmentation_report('shop')" > "$dir/shop.html"
sed '/Content-Security-Policy/d' "$dir/shop.html" > "$dir/shop_without_csp.html"
# The detector's control: a page that loads (the port refuses at once).
cat > "$dir/loads.html" <<'HTML'
<!DOCTYPE html><html><head><link rel="stylesheet" href="http://127.0.0.1:9/style.css"></head>
<body><p>loads</p><img src="http://127.0.0.1:9/image.png" alt=""></body></html>
HTML

# Chromium refuses to run as root with its sandbox: as postgres then, without it (the
# pages are ours).
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
    as_user=(runuser -u postgres --)
fi
chrome() {
    local profile=$1
    shift
    "${as_user[@]}" chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --disable-extensions --disable-sync --user-data-dir="$dir/profile-$profile" "$@" 2>>"$dir/chromium.log"
}
chrome shot --window-size=1280,4000 --screenshot="$dir/shot.png" "file://$dir/shop.html" >/dev/null
chrome dom --dump-dom "file://$dir/shop.html" >"$dir/dom.html"
chrome net --log-net-log="$dir/net.json" --dump-dom "file://$dir/shop_without_csp.html" >/dev/null
chrome control --log-net-log="$dir/net_control.json" --dump-dom "file://$dir/loads.html" >/dev/null

# Debian's python3 (python3-pil), not one of another python earlier on PATH.
/usr/bin/python3 - "$dir" "$readme_png" <<'PY'
import html.parser, json, os, sys
from PIL import Image

d, readme_png = sys.argv[1], sys.argv[2]
failures = []

# The DOM: each chart's svg, its title first, its table in the same figure.
charts = ['chart-rfm-grid', 'chart-segments', 'chart-pareto', 'chart-abc-xyz', 'chart-lifecycle-stage',
          'chart-primary-type', 'chart-profiles', 'chart-transitions', 'chart-cohorts', 'chart-p-alive',
          'chart-expected', 'chart-clv']
forbidden = {'script', 'img', 'iframe', 'object', 'embed', 'link', 'image', 'use', 'foreignobject', 'video', 'audio'}

class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.figure = None      # id of the figure we are in
        self.found = {}         # figure id -> {'title': text, 'table': bool}
        self.svg_child = None   # the first element inside the svg, while unseen
        self.in_title = False
        self.bad = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in forbidden:
            self.bad.append(tag)
        if any(k.startswith('on') for k in a):
            self.bad.append(tag + ' with an on* attribute')
        if tag == 'figure':
            self.figure = a.get('id')
            self.found[self.figure] = {'title': None, 'table': False, 'svg': False}
        elif tag == 'svg' and self.figure and a.get('role') == 'img':
            self.found[self.figure]['svg'] = True
            self.svg_child = 'expect'
        elif self.svg_child == 'expect':
            self.svg_child = tag
            self.in_title = tag == 'title'
            if self.in_title:
                self.found[self.figure]['title'] = ''
        elif tag == 'table' and self.figure:
            self.found[self.figure]['table'] = True
    def handle_endtag(self, tag):
        if tag == 'title':
            self.in_title = False
        elif tag == 'figure':
            self.figure = None
    def handle_data(self, data):
        if self.in_title and self.figure:
            self.found[self.figure]['title'] += data

dom = Dom()
dom.feed(open(os.path.join(d, 'dom.html'), encoding='utf-8').read())
for c in charts:
    f = dom.found.get(c)
    if not f or not f['svg'] or not f['title'] or not f['table']:
        failures.append('chart %s: %s' % (c, f))
if dom.bad:
    failures.append('elements that load or run: %s' % sorted(set(dom.bad)))
titles = [dom.found[c]['title'] for c in charts if c in dom.found]

# The network: URL requests made for the page (their isolation key or site is the
# page's file:// origin), or to any URL other than the page itself.
def page_requests(name, page):
    log = json.load(open(os.path.join(d, name)))
    start = log['constants']['logEventTypes']['URL_REQUEST_START_JOB']
    seen = []
    for e in log['events']:
        p = e.get('params') or {}
        if e.get('type') != start or 'url' not in p:
            continue
        for_page = 'file://' in p.get('network_isolation_key', '') or 'file://' in p.get('site_for_cookies', '')
        if (for_page or p['url'].startswith('file:')) and p['url'] != page:
            seen.append(p['url'])
    return sorted(set(seen))

requests = page_requests('net.json', 'file://' + os.path.join(d, 'shop_without_csp.html'))
control = page_requests('net_control.json', 'file://' + os.path.join(d, 'loads.html'))
if requests:
    failures.append('the report made requests: %s' % requests)
if len(control) != 2:
    failures.append('the detector saw %s on the page that loads two URLs' % control)

# The picture: not blank.
im = Image.open(os.path.join(d, 'shot.png')).convert('RGB')
colours = len(im.getcolors(maxcolors=1 << 24))
grey = im.convert('L').histogram()
ink = 1 - sum(grey[250:]) / (im.width * im.height)
if im.size != (1280, 4000) or colours < 32 or ink < 0.05:
    failures.append('blank screenshot? size %s, %d colours, %.1f%% ink' % (im.size, colours, 100 * ink))

if readme_png:
    top = im.crop((0, 0, 1280, 2300)).quantize(colors=64)
    top.save(readme_png, optimize=True)
    print('report_browser: wrote %s (%d bytes)' % (readme_png, os.path.getsize(readme_png)))

for f in failures:
    print('report_browser: FAILED: ' + f)
print('report_browser: %s: %d charts with their titles and tables (%s), %d requests by the page '
      '(the detector saw %d on a page that loads), screenshot %dx%d with %d colours and %.0f%% ink'
      % ('FAILED' if failures else 'ok', len(titles), '; '.join(titles), len(requests), len(control),
         im.width, im.height, colours, 100 * ink))
sys.exit(1 if failures else 0)
PY

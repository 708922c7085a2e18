#!/usr/bin/env python3
"""The dashboard in headless Chromium, driven through the DevTools protocol.

Run by tests/web.rs (`browser_walkthrough`) against a `bindbridge serve --dev`:
log in with the demo password, create a token and see it once (a reload no
longer shows it), use it with curl, create a zone and a record through the
pages and see dig serve it, see a validation error next to its field, edit and
delete the record, delete the zone and see named stop serving it, revoke the
token and get 401. Every page gets a screenshot and a basic accessibility check
(labels, field errors tied to their fields, headings, contrast).
Exits 1 with the reason on the first failure.
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import websocket  # Debian: python3-websocket


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Browser:
    """One headless Chromium with one page, spoken to over its websocket."""

    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="bindbridge-chromium-")
        self.process = subprocess.Popen(
            [
                chromium,
                "--headless=new",
                # The tests run as root in CI, where the sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "--window-size=1280,900",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        browser_url = None
        deadline = time.time() + 30
        seen = []
        while time.time() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                browser_url = found.group(1)
                break
        check(browser_url, "chromium did not start its DevTools endpoint:\n" + "".join(seen))
        port = re.search(r"ws://[^:/]+:(\d+)/", browser_url).group(1)
        page_url = None
        for _ in range(100):
            out = subprocess.run(
                ["curl", "-s", f"http://127.0.0.1:{port}/json/list"], capture_output=True, text=True
            ).stdout
            pages = [t for t in json.loads(out or "[]") if t.get("type") == "page"]
            if pages:
                page_url = pages[0]["webSocketDebuggerUrl"]
                break
            time.sleep(0.1)
        check(page_url, "chromium has no page target")
        self.ws = websocket.create_connection(page_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.kill()
            self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                check("error" not in message, f"{method}: {message.get('error')}")
                return message["result"]

    def eval(self, expression):
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        check("exceptionDetails" not in result, f"{expression}: {result.get('exceptionDetails')}")
        return result["result"].get("value")

    def wait_new_document(self, what):
        """Waits until the page marked by `mark()` is replaced and loaded."""
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                done = self.eval(
                    "window.__old === undefined && document.readyState === 'complete'"
                )
            except (Failure, websocket.WebSocketException):
                done = False
            if done:
                return
            time.sleep(0.05)
        raise Failure(f"{what}: no new page within 20 s")

    def mark(self):
        self.eval("window.__old = true")

    def goto(self, url):
        self.mark()
        self.call("Page.navigate", url=url)
        self.wait_new_document(f"GET {url}")

    def reload(self):
        """Reloads the page as the browser's reload button does."""
        self.mark()
        self.call("Page.reload")
        self.wait_new_document("reload")

    def submit(self, script, what):
        """Runs `script` (which fills a form and clicks its button) and waits
        for the answer's page."""
        self.mark()
        self.eval(script)
        self.wait_new_document(what)

    def path(self):
        return self.eval("location.pathname")

    def html(self):
        return self.eval("document.documentElement.outerHTML")

    def screenshot(self, out, name):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path = os.path.join(out, f"{name}.png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data["data"]))
        print(f"screenshot: {path}")

    def accessible(self, page):
        """Labels on every field, field errors tied to their fields, one h1
        and no skipped heading level, a language, and WCAG AA contrast for
        every piece of text."""
        problems = self.eval(ACCESSIBILITY_CHECK)
        check(problems == [], f"{page}: accessibility problems: {problems}")


# Runs in the page; the problems it finds, as strings.
ACCESSIBILITY_CHECK = r"""
(() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (field.type === "hidden") continue;
    const named = (field.labels && field.labels.length > 0) || field.getAttribute("aria-label");
    if (!named) problems.push(`field without a label: ${field.outerHTML}`);
  }
  for (const button of document.querySelectorAll("button")) {
    if (!button.textContent.trim() && !button.getAttribute("aria-label"))
      problems.push(`button without a name: ${button.outerHTML}`);
  }
  // A field's error (not a form's, which is an alert) is named by the
  // field's aria-describedby, and the field says it is invalid.
  const describedBy = f => (f.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  for (const error of document.querySelectorAll("p.error:not([role=alert])")) {
    const fields = [...document.querySelectorAll("input, select, textarea")]
      .filter(f => error.id && describedBy(f).includes(error.id));
    if (!fields.some(f => f.getAttribute("aria-invalid") === "true"))
      problems.push(`field error not tied to an invalid field: ${error.outerHTML}`);
  }
  for (const field of document.querySelectorAll("[aria-invalid=true]")) {
    const ids = describedBy(field);
    if (ids.length === 0 || !ids.every(id => document.getElementById(id)))
      problems.push(`invalid field without its error: ${field.outerHTML}`);
  }
  const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")];
  if (headings.filter(h => h.tagName === "H1").length !== 1) problems.push("not exactly one h1");
  let level = 0;
  for (const h of headings) {
    const next = Number(h.tagName[1]);
    if (next > level + 1) problems.push(`heading level skipped before ${h.outerHTML}`);
    level = next;
  }
  const rgb = text => (text.match(/[\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none" || el.offsetParent === null && el.tagName !== "BODY") continue;
    const fg = luminance(rgb(style.color).slice(0, 3));
    const bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5))
      problems.push(`contrast ${ratio.toFixed(2)} of "${el.textContent.trim().slice(0, 40)}"`);
  }
  return problems;
})()
"""


def js(value):
    return json.dumps(value)


def curl_status(url, token):
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def dig(dns, name, rtype="A"):
    """The answer's status (NOERROR, NXDOMAIN, REFUSED...) and its data."""
    host, port = dns.rsplit(":", 1)
    out = subprocess.run(
        ["dig", f"@{host}", "-p", port, name, rtype, "+norecurse", "+tries=1", "+time=2",
         "+noall", "+comments", "+answer"],
        capture_output=True,
        text=True,
    ).stdout
    status = re.search(r"status: (\w+)", out)
    data = [line.split()[-1] for line in out.splitlines() if line and not line.startswith(";")]
    return (status.group(1) if status else out.strip(), data)


def wait_dig(dns, name, rtype, expected):
    deadline = time.time() + 30
    while (answer := dig(dns, name, rtype)) != expected:
        check(time.time() < deadline, f"dig {name} {rtype}: {answer}, not {expected}")
        time.sleep(0.2)


# The record row (its div) whose value field holds `value`, in page scripts.
def record_row(value):
    return (
        "[...document.querySelectorAll('.record')]"
        f".find(r => r.querySelector('input[name=value]').value === {js(value)})"
    )


def walk(browser, args):
    base, out = args.base, args.out
    # Log in, first with a wrong password.
    browser.goto(f"{base}/account/login")
    browser.accessible("login")
    browser.screenshot(out, "login")
    log_in = (
        "document.querySelector('#password').value = {};"
        f"document.querySelector('#username').value = {js(args.user)};"
        "document.querySelector('main form button[type=submit]').click()"
    )
    browser.submit(log_in.format(js("wrong password")), "login with a wrong password")
    error = browser.eval("document.querySelector('#login-error[role=alert]').textContent")
    check(error == "Wrong user name or password.", f"the login's error: {error!r}")
    browser.accessible("login with an error")
    browser.screenshot(out, "login-error")
    browser.submit(log_in.format(js(args.password)), "login")
    check(browser.path() == "/account/dns/", f"after login: {browser.path()}")

    # A token, shown once, with the document's warning and a copy button.
    browser.goto(f"{base}/account/developers/")
    browser.accessible("developers")
    create = "document.querySelector('#create-heading').parentElement.querySelector('button[type=submit]').click()"
    # First without a permission: the error, next to and tied to them.
    browser.submit("document.querySelector('#token-name').value = 'browser';" + create, "create a token without permissions")
    tied = browser.eval(
        "(() => { const f = document.querySelector('#perm-dns-list');"
        " return f.getAttribute('aria-invalid') === 'true' && f.getAttribute('aria-describedby') === 'permissions-error'"
        " && document.querySelector('#permissions-error').textContent })()"
    )
    check(tied == "Choose at least one permission.", f"the permissions' error, tied to them: {tied!r}")
    browser.accessible("developers with an error")
    browser.screenshot(out, "developers-error")
    browser.submit("document.querySelector('#perm-dns-all').checked = true;" + create, "create token")
    # POST, then redirect: the page showing the token is a GET.
    check(browser.path() == "/account/developers/", f"after creating: {browser.path()}")
    token = browser.eval("document.querySelector('#new-token') && document.querySelector('#new-token').value")
    check(token and token.startswith("vps_") and len(token) == 68, f"a new token on the page: {token!r}")
    check(
        "API tokens are shown only once during creation" in browser.html(),
        "the warning of the API document is shown",
    )
    check(browser.eval("!document.querySelector('#copy-token').hidden"), "the copy button shows with JavaScript")
    browser.eval("document.querySelector('#copy-token').click()")
    time.sleep(0.3)
    status = browser.eval("document.querySelector('#copy-status').textContent")
    check(status in ("Copied.", "Selected: press Ctrl+C to copy."), f"the copy button answers: {status!r}")
    browser.accessible("developers with a new token")
    browser.screenshot(out, "developers-new-token")
    check(curl_status(f"{base}/api/v1/dns-zones/", token) == "200", "curl with the new token gets 200")
    # Reloaded, the page shows the prefix only, and no form was sent again.
    count = "document.querySelectorAll('tr.token-row').length"
    before = browser.eval(count)
    browser.reload()
    check(browser.eval("performance.getEntriesByType('navigation')[0].type") == "reload", "a reload")
    html = browser.html()
    check(token not in html, "the token is not shown a second time")
    check("shown only once" not in html, "no new token's warning after a reload")
    check(token[:12] in html, "its prefix is listed")
    after = browser.eval(count)
    check(after == before, f"the reload made no second token: {before} tokens, then {after}")

    # A zone and a record through the pages; dig sees the record.
    browser.goto(f"{base}/account/dns/")
    browser.submit(
        "document.querySelector('#zone-domain').value = 'browser.example';"
        "document.querySelector('#zone-domain').form.querySelector('button[type=submit]').click()",
        "add zone",
    )
    zone_path = browser.path()
    check(re.fullmatch(r"/account/dns/[0-9a-f-]{36}/", zone_path), f"the zone's page: {zone_path}")
    browser.submit(
        "document.querySelector('#new-name').value = 'www';"
        "document.querySelector('#new-type').value = 'A';"
        "document.querySelector('#new-value').value = '192.0.2.55';"
        "document.querySelector('#add-record button[type=submit]').click()",
        "add record",
    )
    check(browser.path() == zone_path, f"back on the zone page: {browser.path()}")
    wait_dig(args.dns, "www.browser.example", "A", ("NOERROR", ["192.0.2.55"]))
    browser.goto(f"{base}{zone_path}")
    check("192.0.2.55" in browser.html(), "the record is listed")
    browser.accessible("zone")
    browser.screenshot(out, "zone")

    # A wrong value: the API's message, next to the value field.
    browser.submit(
        "document.querySelector('#new-name').value = 'bad';"
        "document.querySelector('#new-value').value = 'not-an-address';"
        "document.querySelector('#add-record button[type=submit]').click()",
        "add a wrong record",
    )
    error = browser.eval(
        "(() => { const e = document.querySelector('#new-value-error');"
        " return e && e.parentElement.contains(document.querySelector('#new-value')) ? e.textContent : null })()"
    )
    check(error and "Invalid A value" in error, f"the error next to the value field: {error!r}")
    tied = browser.eval(
        "(() => { const f = document.querySelector('#new-value');"
        " return [f.getAttribute('aria-invalid'), f.getAttribute('aria-describedby')] })()"
    )
    check(tied == ["true", "new-value-error"], f"the value field names its error: {tied}")
    browser.accessible("zone with an error")
    browser.screenshot(out, "zone-error")

    # The record edited in its row's form; dig serves the new value.
    browser.goto(f"{base}{zone_path}")
    browser.submit(
        f"(() => {{ const row = {record_row('192.0.2.55')};"
        " row.querySelector('input[name=value]').value = '192.0.2.56';"
        " row.querySelector('button[type=submit]').click() })()",
        "edit the record",
    )
    check(browser.path() == zone_path, f"back on the zone page after the edit: {browser.path()}")
    wait_dig(args.dns, "www.browser.example", "A", ("NOERROR", ["192.0.2.56"]))
    # A wrong TTL in the row: the error next to that row's field.
    browser.submit(
        f"(() => {{ const row = {record_row('192.0.2.56')};"
        " row.querySelector('input[name=ttl]').value = 'ten';"
        " row.querySelector('button[type=submit]').click() })()",
        "edit the record with a wrong TTL",
    )
    error = browser.eval(
        f"(() => {{ const f = {record_row('192.0.2.56')}.querySelector('input[name=ttl]');"
        " const e = document.getElementById(f.getAttribute('aria-describedby'));"
        " return f.getAttribute('aria-invalid') === 'true' && e.parentElement.contains(f) && e.textContent })()"
    )
    check(error == "ttl must be a whole number", f"the TTL's error next to it: {error!r}")
    browser.accessible("record edit with an error")
    browser.screenshot(out, "record-edit-error")

    # Deleted after its confirmation page; named answers NXDOMAIN.
    browser.goto(f"{base}{zone_path}")
    browser.submit(f"{record_row('192.0.2.56')}.querySelector('a.delete').click()", "delete the record")
    check(re.fullmatch(zone_path + r"records/[0-9a-f-]{36}/delete", browser.path()), f"the confirmation: {browser.path()}")
    check("Delete the record www A 192.0.2.56?" in browser.html(), "the confirmation names the record")
    browser.accessible("record delete")
    browser.screenshot(out, "record-delete")
    browser.submit("document.querySelector('main form button.danger').click()", "confirm the record's deletion")
    check(browser.path() == zone_path, f"back on the zone page after the deletion: {browser.path()}")
    check("192.0.2.56" not in browser.html(), "the record is no longer listed")
    wait_dig(args.dns, "www.browser.example", "A", ("NXDOMAIN", []))

    # The list shows the zone deployed once the worker has recorded it.
    deadline = time.time() + 30
    while True:
        browser.goto(f"{base}/account/dns/")
        state = browser.eval(
            "(() => { const a = [...document.querySelectorAll('td a')].find(a => a.textContent === 'browser.example');"
            " return a && a.closest('tr').querySelector('.state').textContent })()"
        )
        if state == "deployed":
            break
        check(time.time() < deadline, f"the zone is listed, deployed: {state!r}")
        time.sleep(0.2)
    browser.accessible("dns")
    browser.screenshot(out, "dns")

    # The zone deleted after its confirmation page; named stops serving it.
    browser.goto(f"{base}{zone_path}")
    browser.submit("document.querySelector('#delete-zone').click()", "delete the zone")
    check(browser.path() == f"{zone_path}delete", f"the confirmation: {browser.path()}")
    check("Delete the zone browser.example and all its records?" in browser.html(), "the confirmation names the zone")
    browser.accessible("zone delete")
    browser.screenshot(out, "zone-delete")
    browser.submit("document.querySelector('main form button.danger').click()", "confirm the zone's deletion")
    check(browser.path() == "/account/dns/", f"back on the zones after the deletion: {browser.path()}")
    check("browser.example" not in browser.html(), "the zone is no longer listed")
    wait_dig(args.dns, "browser.example", "SOA", ("REFUSED", []))

    # A zone that is not there (any more): a page that says so.
    browser.goto(f"{base}{zone_path}")
    check(browser.eval("document.querySelector('h1').textContent") == "Not found", "the deleted zone's page")
    browser.accessible("not found")
    browser.screenshot(out, "not-found")

    # Revoked, the token gets 401.
    browser.goto(f"{base}/account/developers/")
    browser.submit(
        f"document.querySelector('tr[data-prefix={js(token[:12])}] button[type=submit]').click()",
        "revoke",
    )
    check("revoked" in browser.html(), "the token shows as revoked")
    browser.accessible("developers after revoking")
    browser.screenshot(out, "developers")
    check(curl_status(f"{base}/api/v1/dns-zones/", token) == "401", "curl with the revoked token gets 401")


def main():
    parser = argparse.ArgumentParser()
    for option in ("--chromium", "--base", "--user", "--password", "--dns", "--out"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    browser = Browser(args.chromium)
    try:
        walk(browser, args)
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        browser.close()
    print("browser walkthrough passed")


if __name__ == "__main__":
    main()

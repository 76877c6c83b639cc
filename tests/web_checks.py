"""web_checks - mailsift serve's page in a real browser (Debian's chromium, headless, driven by
chromium-driver and python3-selenium), for tests/t_web.sh. Runs under /usr/bin/python3 (Debian's
selenium). Every check prints "PASS name" or "FAIL name: why".

Usage: web_checks.py COMMAND ARGS... with URL, KEY and SHOTS (a folder for screenshots) in the
environment.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

URL = os.environ["URL"]
KEY = os.environ["KEY"]
SHOTS = os.environ["SHOTS"]


def ok(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)))
    return cond


def browser(downloads):
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"download.default_directory": downloads,
                                        "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return d


def wait(what, fn, limit=120):
    t0 = time.time()
    while time.time() - t0 < limit:
        try:
            v = fn()
            if v:
                return v
        except Exception:  # the page is changing under us: look again
            pass
        time.sleep(0.2)
    return None


def shot(d, name):
    """the whole page (the window made as tall as it), then the window as it was"""
    h = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(1280, max(900, h + 40))
    d.save_screenshot(os.path.join(SHOTS, name + ".png"))
    d.set_window_size(1280, 900)


def text(d, id_):
    return d.find_element(By.ID, id_).text


def enter_key(d, k):
    box = d.find_element(By.ID, "key")
    box.clear()
    box.send_keys(k)
    d.find_element(By.CSS_SELECTOR, "#keyform button").click()


def clean(listfile, downloads):
    """the whole path in the browser: key (a wrong one first), a list, its preview and
    column, upload, progress, the results and their downloads"""
    d = browser(downloads)
    try:
        d.get(URL + "/")
        ok("the page loads from the server itself", "mailsift" in d.title, d.title)
        shot(d, "1-key")
        enter_key(d, "ms_" + "x" * 43)
        err = wait("key error", lambda: text(d, "keyerr"), 20)
        ok("a wrong key: the page says so next to the key", err and "not one of this server's" in err, err)
        enter_key(d, KEY)
        ok("the right key opens the page", wait("app", lambda: d.find_element(By.ID, "app").is_displayed(), 20))
        d.find_element(By.ID, "file").send_keys(os.path.abspath(listfile))
        ok("a preview of the list", wait("preview", lambda: d.find_element(By.ID, "previewbox").is_displayed(), 20))
        picked = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#preview th.pick")]
        ok("the email column is the one highlighted", picked == ["email"], picked)
        shot(d, "2-preview")
        d.find_element(By.ID, "upload").click()
        done = wait("results", lambda: d.find_element(By.ID, "resultbox").is_displayed(), 180)
        ok("the job ends with results on the page", done, text(d, "jobtext") + " " + text(d, "joberr"))
        ok("the upload bar reached 100%", "100%" in text(d, "uptext"), text(d, "uptext"))
        ok("done / total on the page", "done: " in text(d, "jobtext"), text(d, "jobtext"))
        bars = d.find_elements(By.CSS_SELECTOR, "#chart svg rect")
        ok("a bar chart of six verdicts", len(bars) == 6, len(bars))
        shot(d, "3-done")
        buttons = d.find_elements(By.CSS_SELECTOR, "#files button")
        names = []
        for b in buttons:
            names.append(b.text.split()[1])
            b.click()
        ok("a download button per file, report.json among them", "report.json" in names, names)
        want = [n for n in names]
        got = wait("downloads", lambda: all(os.path.exists(os.path.join(downloads, n)) for n in want), 60)
        ok("every file downloaded through the page (%d)" % len(want), got, os.listdir(downloads))
        rows = d.find_elements(By.CSS_SELECTOR, "#jobs tr")
        ok("the past lists show this one", len(rows) >= 2 and os.path.basename(listfile) in rows[1].text,
           [r.text for r in rows])
    finally:
        d.quit()


def bad_file(path, want):
    """a file that is not a list: the page says so next to the file chooser"""
    d = browser(SHOTS)
    try:
        d.get(URL + "/")
        enter_key(d, KEY)
        wait("app", lambda: d.find_element(By.ID, "app").is_displayed(), 20)
        d.find_element(By.ID, "file").send_keys(os.path.abspath(path))
        err = wait("file error", lambda: text(d, "fileerr"), 20)
        ok("%s: the page says %r" % (os.path.basename(path), want), err and want in err, err)
        shot(d, "4-bad-file")
    finally:
        d.quit()


def resume(path, downloads, restart):
    """a gzip list uploaded through a slow link (16 KiB chunks, 40 KB/s); the server is killed
    and started again mid-upload; choosing the same file again goes on where the server says"""
    import json
    import subprocess
    import urllib.request
    d = browser(downloads)
    try:
        d.get(URL + "/?chunk=16384")
        enter_key(d, KEY)
        wait("app", lambda: d.find_element(By.ID, "app").is_displayed(), 20)
        d.set_network_conditions(offline=False, latency=5, download_throughput=10 << 20,
                                 upload_throughput=40000)
        d.find_element(By.ID, "file").send_keys(os.path.abspath(path))
        wait("preview", lambda: d.find_element(By.ID, "previewbox").is_displayed(), 20)
        picked = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#preview th.pick")]
        ok("a gzip list: previewed, its email column picked", picked == ["email"], picked)
        d.find_element(By.ID, "upload").click()

        def offset():
            req = urllib.request.Request(URL + "/v1/jobs", headers={"Authorization": "Bearer " + KEY})
            jobs = json.load(urllib.request.urlopen(req, timeout=10))["jobs"]
            up = [j for j in jobs if j["name"] == os.path.basename(path)]
            return up[-1]["upload_bytes"] if up else 0
        size = os.path.getsize(path)
        got = wait("some chunks", lambda: offset() >= 3 * 16384, 60)
        ok("the upload is under way when the server is killed (%s of %d bytes)" % (got, size),
           got and got < size, got)
        subprocess.run(["sh", restart], check=True)
        err = wait("upload error", lambda: text(d, "uploaderr"), 60)
        ok("the cut upload: the page says so and how to go on", err and "same file again" in err, err)
        shot(d, "6-cut")
        before = offset()
        d.set_network_conditions(offline=False, latency=0, download_throughput=10 << 20,
                                 upload_throughput=10 << 20)
        d.find_element(By.ID, "file").send_keys(os.path.abspath(path))
        wait("preview", lambda: d.find_element(By.ID, "previewbox").is_displayed(), 20)
        d.find_element(By.ID, "upload").click()
        done = wait("results", lambda: d.find_element(By.ID, "resultbox").is_displayed(), 240)
        ok("chosen again, the upload goes on from %d bytes and the job ends" % before, done,
           text(d, "uptext") + " " + text(d, "uploaderr") + " " + text(d, "joberr"))
        rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#jobs tr")]
        ok("one job for the list, not two", sum(os.path.basename(path) in r for r in rows) == 1, rows)
        names = []
        for b in d.find_elements(By.CSS_SELECTOR, "#files button"):
            names.append(b.text.split()[1])
            b.click()
        ok("its files downloaded", wait("downloads", lambda: all(
            os.path.exists(os.path.join(downloads, n)) for n in names), 60), os.listdir(downloads))
    finally:
        d.quit()


def greylist(path):
    """while a list's addresses wait for greylisting servers, the page says when they are asked
    again, in a sentence; the job then ends"""
    d = browser(SHOTS)
    try:
        d.get(URL + "/")
        enter_key(d, KEY)
        wait("app", lambda: d.find_element(By.ID, "app").is_displayed(), 20)
        d.find_element(By.ID, "file").send_keys(os.path.abspath(path))
        wait("preview", lambda: d.find_element(By.ID, "previewbox").is_displayed(), 20)
        d.find_element(By.ID, "upload").click()
        said = wait("retry sentence", lambda: text(d, "retrytext"), 60)
        ok("greylisted addresses: the page says when they are asked again (%s)" % said,
           said and "wait for a retry at" in said and "come back later" in said, said)
        shot(d, "7-greylisted")
        done = wait("results", lambda: d.find_element(By.ID, "resultbox").is_displayed(), 120)
        ok("after the retries the job ends", done, text(d, "jobtext"))
        ok("the sentence is gone once nothing waits", text(d, "retrytext") == "", text(d, "retrytext"))
    finally:
        d.quit()


def layout():
    """every control has a label or text; the page fits a phone's width without sideways
    scrolling; the drop zone is reached with the keyboard"""
    d = browser(SHOTS)
    try:
        d.get(URL + "/")
        enter_key(d, KEY)
        wait("app", lambda: d.find_element(By.ID, "app").is_displayed(), 20)
        unlabelled = d.execute_script("""
            return [...document.querySelectorAll('input, select, button')].filter((e) => {
              if (e.tagName === 'BUTTON') return !e.textContent.trim() && !e.getAttribute('aria-label');
              return !document.querySelector('label[for="' + e.id + '"]');
            }).map((e) => e.id || e.outerHTML);""")
        ok("every control has a label or text", unlabelled == [], unlabelled)
        d.set_window_size(390, 844)
        over = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        ok("at a phone's width (390 px) nothing sticks out sideways (%d px)" % over, over <= 0, over)
        d.save_screenshot(os.path.join(SHOTS, "8-phone.png"))
        d.set_window_size(1280, 900)
        focusable = d.execute_script("return document.getElementById('drop').tabIndex")
        ok("the drop zone takes the keyboard's focus", focusable == 0, focusable)
        # delete a past list: asked first; declined nothing happens, accepted it is gone
        rows = lambda: [r.text for r in d.find_elements(By.CSS_SELECTOR, "#jobs tr")][1:]
        before = rows()
        d.find_elements(By.CSS_SELECTOR, "#jobs button.secondary")[0].click()
        alert = d.switch_to.alert
        asked = alert.text
        alert.dismiss()
        time.sleep(0.5)
        ok("delete asks first (%s); declined, the list stays" % asked, "cannot be undone" in asked and rows() == before,
           (asked, rows()))
        d.find_elements(By.CSS_SELECTOR, "#jobs button.secondary")[0].click()
        d.switch_to.alert.accept()
        ok("delete accepted: one list fewer", wait("gone", lambda: len(rows()) == len(before) - 1, 20),
           (before, rows()))
        # forget the key: the page asks for one again, and remembers none after a reload
        d.find_element(By.ID, "forget").click()
        ok("forget key: the key form again", d.find_element(By.ID, "keybox").is_displayed())
        d.refresh()
        ok("forget key: not remembered after a reload",
           wait("keybox", lambda: d.find_element(By.ID, "keybox").is_displayed(), 10) and
           d.execute_script("return localStorage.getItem('mailsift_key')") is None)
    finally:
        d.quit()


def too_large(path):
    """a list over the server's --max-upload: the page says so next to the upload button"""
    d = browser(SHOTS)
    try:
        d.get(URL + "/")
        enter_key(d, KEY)
        wait("app", lambda: d.find_element(By.ID, "app").is_displayed(), 20)
        d.find_element(By.ID, "file").send_keys(os.path.abspath(path))
        wait("preview", lambda: d.find_element(By.ID, "previewbox").is_displayed(), 20)
        d.find_element(By.ID, "upload").click()
        err = wait("upload error", lambda: text(d, "uploaderr"), 60)
        ok("a list over the size limit: the page says it is too large", err and "too large" in err, err)
        shot(d, "5-too-large")
    finally:
        d.quit()


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])

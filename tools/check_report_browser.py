#!/usr/bin/env python3
"""Clicks through a sweep report's index.html in headless Chromium and checks what it shows.

    python3 tools/check_report_browser.py --probe-cli .build/debug/probe-cli
    python3 tools/check_report_browser.py --report reports/tmp/sweep --db sweeps.sqlite

With --probe-cli it makes a small sweep database (resnet20 for 28x28 gray images, vanilla and
SPConv 1/2 with groups 1 and 2, 16 synthetic images, block outputs) and its report in a temporary
folder; with --report and --db it checks an existing report against its database.

It opens index.html through file:// and checks, reading the database independently with sqlite3:
  - the runs table sorts by a header click (params ascending then descending, numerically; a text
    column in text order) and the filter box keeps the rows that match (count and row text);
  - hovering a heatmap cell shows the channel pair the picture puts there and its similarity,
    equal to the stored matrix entry; the diagonal shows a channel with itself;
  - clicking the cell opens the two feature maps side by side, named by channel, with the value
    ranges stored in feature_maps and pixels that follow the stored codes;
  - a chart marker shows its values on hover, and a chart's data table opens;
  - no console error and no http(s)/ws request (Chrome's performance log; host names also resolve
    to nothing, so a request could not leave the machine anyway).

Needs Debian's chromium and chromium-driver and Python's selenium (pip install selenium).
Prints one line per check and "N passed, N failed"; exits 1 when a check fails.
"""
import argparse
import json
import math
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PASSED, FAILED = [], []


def check(condition, what):
    (PASSED if condition else FAILED).append(what)
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    return condition


def make_report(probe_cli, folder):
    database = os.path.join(folder, "sweep.sqlite")
    report = os.path.join(folder, "report")
    sweep = [probe_cli, "sweep", "--model", "resnet20", "--in-channels", "1", "--input-size", "28", "--ratios", "1/2",
             "--groups", "1,2", "--input", "synthetic:16", "--layers", "blocks", "--db", database]
    for command in (sweep, [probe_cli, "report", "--db", database, "--out", report]):
        print("$ " + " ".join(command), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return report, database


def start_browser():
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-default-apps",
                     "--host-resolver-rules=MAP * ~NOTFOUND"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def table_column(driver, table_id, header_text):
    headers = driver.find_elements(By.CSS_SELECTOR, "#%s thead th" % table_id)
    names = [h.text.strip() for h in headers]
    return names.index(header_text), headers


def column_values(driver, table_id, column):
    return driver.execute_script("""
        var rows = document.querySelectorAll('#' + arguments[0] + ' tbody tr'), out = [];
        for (var i = 0; i < rows.length; i++) {
          if (rows[i].hidden) continue;
          var cell = rows[i].cells[arguments[1]];
          out.push([cell.getAttribute('data-value'), cell.textContent.trim(), rows[i].cells[0].textContent.trim()]);
        }
        return out;""", table_id, column)


def check_tables(driver, database):
    runs = database.execute("SELECT id, variant, params FROM runs").fetchall()
    column, headers = table_column(driver, "runs-table", "params")
    headers[column].click()
    shown = column_values(driver, "runs-table", column)
    numbers = [float(v) for v, _, _ in shown if v]
    check(numbers == sorted(numbers) and all(v for v, _, _ in shown[:len(numbers)]),
          "runs table sorts by params ascending, numerically: %s" % numbers)
    expected = sorted(p for _, _, p in runs if p is not None)
    check(numbers == [float(p) for p in expected], "the sorted params are the database's params")
    params_of = {r[0]: r[2] for r in runs}
    check(all(params_of[int(i)] == (int(v) if v else None) for v, _, i in shown),
          "each row kept its run's params (by id)")
    headers[column].click()
    shown = column_values(driver, "runs-table", column)
    numbers = [float(v) for v, _, _ in shown if v]
    check(numbers == sorted(numbers, reverse=True), "a second click sorts params descending: %s" % numbers)
    check(headers[column].get_attribute("aria-sort") == "descending", "the header says descending")

    column, headers = table_column(driver, "runs-table", "variant")
    headers[column].click()
    variants = [t for _, t, _ in column_values(driver, "runs-table", column)]
    check(variants == sorted(variants), "runs table sorts by variant in text order: %s" % variants)

    box = driver.find_element(By.CSS_SELECTOR, "input.table-filter[data-table='runs-table']")
    count = driver.find_element(By.CSS_SELECTOR, ".filter-count[data-table='runs-table']")
    for word in ["vanilla", "spconv"]:
        box.clear()
        box.send_keys(word)
        visible = driver.execute_script(
            "return Array.prototype.filter.call(document.querySelectorAll('#runs-table tbody tr'), function (r) { return !r.hidden; })"
            ".map(function (r) { return r.textContent.toLowerCase(); });")
        expected = sum(1 for r in runs if r[1] == word)
        check(len(visible) == expected and all(word in t for t in visible),
              "filter '%s' shows %d rows (database: %d)" % (word, len(visible), expected))
        check(count.text == "%d of %d runs" % (expected, len(runs)), "filter count reads '%s'" % count.text)
    box.clear()
    box.send_keys("no-such-run-xyz")
    check(count.text == "0 of %d runs" % len(runs), "a filter that matches nothing leaves 0 rows")
    box.clear()
    box.send_keys(" ")
    box.clear()
    driver.execute_script("arguments[0].dispatchEvent(new Event('input'));", box)
    check(count.text == "%d of %d runs" % (len(runs), len(runs)), "clearing the filter shows every run again")


def stored_matrix(database, run, layer, metric):
    channels, blob = database.execute("SELECT channels, matrix FROM similarity WHERE run_id = ? AND layer = ? AND metric = ?",
                                      (run, layer, metric)).fetchone()
    values = struct.unpack("<%df" % (channels * channels), blob)
    return channels, values


def move_to_cell(driver, canvas, channels, row, column):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    box = driver.execute_script("var b = arguments[0].getBoundingClientRect(); return [b.width, b.height];", canvas)
    dx = (column + 0.5) / channels * box[0] - box[0] / 2
    dy = (row + 0.5) / channels * box[1] - box[1] / 2
    ActionChains(driver).move_to_element_with_offset(canvas, int(round(dx)), int(round(dy))).perform()
    return box


TOOLTIP = re.compile(r"channel (\d+) × channel (\d+)\n(\w+) similarity (\S+)")


def check_heatmap(driver, database):
    figures = driver.find_elements(By.CSS_SELECTOR, "figure.heatmap[data-heatmap]")
    check(len(figures) > 0, "%d interactive heatmaps" % len(figures))
    page = driver.execute_script("return JSON.parse(document.getElementById('report-data').textContent);")
    # The largest heatmap (most channels) is the hardest to hit; take it.
    figure = max(figures, key=lambda f: page["heatmaps"][int(f.get_attribute("data-heatmap"))]["channels"])
    entry = page["heatmaps"][int(figure.get_attribute("data-heatmap"))]
    canvas = figure.find_element(By.CSS_SELECTOR, "canvas.heatmap-canvas")
    channels, matrix = stored_matrix(database, entry["run"], entry["layer"], entry["metric"])
    check(channels == entry["channels"] and sorted(entry["order"]) == list(range(channels)),
          "heatmap of run %d %s %s: %d channels, its order a permutation" % (entry["run"], entry["layer"], entry["metric"], channels))
    tooltip = driver.find_element(By.ID, "report-tooltip")
    row, column = 1, channels - 2
    move_to_cell(driver, canvas, channels, row, column)
    WebDriverWait(driver, 5).until(lambda d: tooltip.is_displayed())
    match = TOOLTIP.fullmatch(tooltip.text)
    check(match is not None, "hovering a cell shows a tooltip: %r" % tooltip.text)
    if not match:
        return
    first, second, metric, value = int(match[1]), int(match[2]), match[3], float(match[4])
    check((first, second) == (entry["order"][row], entry["order"][column]),
          "the tooltip names the channels at display row %d, column %d in the picture's order: %d × %d" % (row, column, first, second))
    stored = matrix[first * channels + second]
    check(metric == entry["metric"] and math.isclose(value, stored, rel_tol=1e-5, abs_tol=1e-6),
          "the tooltip's %s similarity %s is the database's %.7g" % (metric, match[4], stored))

    # A diagonal cell compares a channel with itself.
    move_to_cell(driver, canvas, channels, 3, 3)
    diagonal = TOOLTIP.fullmatch(tooltip.text)
    check(diagonal is not None and diagonal[1] == diagonal[2] == str(entry["order"][3]) and
          math.isclose(float(diagonal[4]), matrix[int(diagonal[1]) * (channels + 1)], rel_tol=1e-5),
          "the diagonal cell shows a channel with itself: %r" % tooltip.text)

    # Click the first cell again: its two feature maps side by side.
    move_to_cell(driver, canvas, channels, row, column)
    ActionChains(driver).click().perform()
    maps = WebDriverWait(driver, 5).until(
        lambda d: [c for c in figure.find_elements(By.CSS_SELECTOR, ".pair-panel canvas.feature-map")] or None)
    check(len(maps) == 2 and all(m.is_displayed() and m.size["width"] > 0 for m in maps),
          "clicking the cell shows two feature-map pictures")
    shown_channels = [int(m.get_attribute("data-channel")) for m in maps]
    check(shown_channels == [first, second], "the pictures are channels %s" % shown_channels)
    heading = figure.find_element(By.CSS_SELECTOR, ".pair-panel .pair-heading").text
    check("channel %d × channel %d" % (first, second) in heading and match[4] in heading,
          "the panel names the pair and the value: %r" % heading)
    locations = [m.location["x"] for m in maps]
    tops = [m.location["y"] for m in maps]
    check(locations[1] > locations[0] and abs(tops[1] - tops[0]) < 2, "the two pictures are side by side")

    row_ = database.execute("SELECT channels, height, width, minimum, maximum, maps FROM feature_maps "
                            "WHERE run_id = ? AND layer = ? ORDER BY image LIMIT 1", (entry["run"], entry["layer"])).fetchone()
    check(row_ is not None, "the database holds the feature maps of run %d %s" % (entry["run"], entry["layer"]))
    if row_ is None:
        return
    c, h, w, minimum, maximum, codes = row_
    minimum = struct.unpack("<%df" % c, minimum)
    maximum = struct.unpack("<%df" % c, maximum)
    captions = [f.text for f in figure.find_elements(By.CSS_SELECTOR, ".pair-panel figcaption")]
    for channel, caption in zip([first, second], captions):
        numbers = re.fullmatch(r"channel (\d+): (\S+) to (\S+)", caption)
        check(numbers is not None and int(numbers[1]) == channel and
              math.isclose(float(numbers[2]), minimum[channel], rel_tol=1e-5, abs_tol=1e-6) and
              math.isclose(float(numbers[3]), maximum[channel], rel_tol=1e-5, abs_tol=1e-6),
              "caption %r states channel %d's stored range %.6g to %.6g" % (caption, channel, minimum[channel], maximum[channel]))
    for canvas_, channel in zip(maps, [first, second]):
        pixels = driver.execute_script("""
            var c = arguments[0], h = arguments[1], w = arguments[2], s = c.width / w;
            var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = [];
            for (var y = 0; y < h; y++) for (var x = 0; x < w; x++) {
              var p = 4 * ((Math.floor((y + 0.5) * s)) * c.width + Math.floor((x + 0.5) * s));
              out.push([d[p], d[p + 1], d[p + 2]]);
            }
            return out;""", canvas_, h, w)
        plane = codes[channel * h * w:(channel + 1) * h * w]
        colour_of = {}
        consistent = len(pixels) == h * w
        for code, pixel in zip(plane, pixels):
            consistent = consistent and colour_of.setdefault(code, tuple(pixel)) == tuple(pixel)
        spread = len(set(plane)) < 2 or colour_of[min(plane)] != colour_of[max(plane)]
        check(consistent and spread, "channel %d's picture is %dx%d pixels coloured by its stored codes" % (channel, w, h))


def check_charts(driver):
    markers = driver.find_elements(By.CSS_SELECTOR, "figure.chart .chart-marker")
    check(len(markers) > 0, "%d chart markers" % len(markers))
    if not markers:
        return
    # The markers are placed in fractions of the wrapper, which must be exactly the picture.
    sizes = driver.execute_script("""
        var w = document.querySelector('.chart-wrap'), i = w.querySelector('img');
        var a = w.getBoundingClientRect(), b = i.getBoundingClientRect();
        return [a.width - 2, a.height - 2, b.width, b.height];""")
    check(abs(sizes[0] - sizes[2]) < 0.5 and abs(sizes[1] - sizes[3]) < 0.5,
          "the marker layer covers exactly the chart picture (%s)" % sizes)
    marker = markers[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", marker)
    ActionChains(driver).move_to_element(marker).perform()
    tooltip = driver.find_element(By.ID, "report-tooltip")
    WebDriverWait(driver, 5).until(lambda d: tooltip.is_displayed())
    check(tooltip.text == marker.get_attribute("aria-label") and "=" in tooltip.text,
          "hovering a chart marker shows its values: %r" % tooltip.text)
    figure = driver.find_element(By.CSS_SELECTOR, "figure.chart[data-chart]")
    summary = figure.find_element(By.CSS_SELECTOR, "details.chart-data summary")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()
    rows = figure.find_elements(By.CSS_SELECTOR, "details.chart-data tbody tr")
    check(len(rows) > 0 and rows[0].is_displayed(), "a chart's data table opens with %d rows" % len(rows))


def check_logs(driver):
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    check(not errors, "no console errors%s" % (": %s" % errors if errors else ""))
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    remote = [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:", "chrome:"))]
    check(not remote and requests, "no network request (%d file requests, none remote%s)" % (len(requests), ": %s" % remote if remote else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probe-cli", help="make a small sweep and its report with this binary")
    parser.add_argument("--report", help="an existing report folder (with --db)")
    parser.add_argument("--db", help="the report's experiment database")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if not args.probe_cli and not (args.report and args.db):
        parser.error("give --probe-cli, or --report and --db")
    folder = tempfile.mkdtemp(prefix="report-browser-")
    try:
        report, database_path = (args.report, args.db) if args.report else make_report(args.probe_cli, folder)
        database = sqlite3.connect("file:%s?mode=ro" % os.path.abspath(database_path), uri=True)
        driver = start_browser()
        try:
            driver.get("file://" + os.path.abspath(os.path.join(report, "index.html")))
            WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "canvas.heatmap-canvas"))
            check_tables(driver, database)
            check_heatmap(driver, database)
            check_charts(driver)
            check_logs(driver)
        finally:
            driver.quit()
    finally:
        if args.keep:
            print("kept " + folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

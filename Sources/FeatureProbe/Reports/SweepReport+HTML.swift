import Foundation

extension SweepReport {
    /// The content of `index.html` and its encoder.
    struct Page {
        struct ChartEntry {
            /// The picture, or nil when the chart was left out.
            let file: String?
            let caption: String
            let note: String?
            /// The same figure in other formats (SVG, PDF), linked under it.
            var alternates: [String] = []
            /// The chart's index in the interactive data and its data table, when drawn.
            var dataIndex: Int? = nil
            var dataTable: String? = nil
        }

        struct HeatmapEntry {
            let runID: Int64
            let file: String
            let layer: String
            let metric: String
            let channels: Int
            /// The same figure in other formats (SVG, PDF), linked under it.
            var alternates: [String] = []
            /// The heatmap's index in the interactive data; nil: the picture only.
            var dataIndex: Int? = nil
        }

        let title: String
        let generatedAt: Date
        let runs: [RunRecord]
        let summaries: [ConfigurationSummary]
        var charts: [ChartEntry] = []
        var heatmaps: [HeatmapEntry] = []
        /// What the trained grid shows about the paper's claim (``GridFindings``), when it can say.
        var findings: String?
        /// ``InteractiveData`` as HTML-safe JSON, read by `report.js`.
        var interactiveJSON = "{}"

        init(title: String, generatedAt: Date, runs: [RunRecord], summaries: [ConfigurationSummary] = []) {
            self.title = title
            self.generatedAt = generatedAt
            self.runs = runs
            self.summaries = summaries
        }

        static let style = """
            body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1280px; padding: 0 16px; color: #222; line-height: 1.4; }
            h1 { font-size: 1.6em; margin-bottom: 0.2em; }
            h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 2em; }
            .meta { color: #555; }
            table { border-collapse: collapse; font-size: 0.9em; }
            th, td { border: 1px solid #d0d0d0; padding: 4px 8px; text-align: left; vertical-align: top; }
            th { background: #f0f0f0; position: sticky; top: 0; }
            tbody tr:nth-child(even) { background: #fafafa; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            td.reason { max-width: 320px; overflow-wrap: anywhere; color: #555; }
            .status-done { color: #1a7f37; } .status-failed { color: #c62828; font-weight: bold; }
            .status-skipped { color: #8a6d00; } .status-pending, .status-running { color: #555; }
            .table-wrap { overflow-x: auto; }
            figure { margin: 1.5em 0; }
            figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
            figcaption { color: #444; font-size: 0.9em; margin-top: 4px; }
            .note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; }
            .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
            .grid figure { margin: 0; }
            """

        /// The page as HTML5 text.
        func html(labels: RunLabels) -> String {
            var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            html += "<title>\(escapeHTML(title))</title>\n<style>\n\(Page.style)\n\(ReportScript.style)\n</style>\n</head>\n<body>\n"
            html += "<h1>\(escapeHTML(title))</h1>\n"
            let counts = RunStatus.allCases.compactMap { status -> String? in
                let count = runs.filter { $0.status == status }.count
                return count == 0 ? nil : "\(count) \(status.rawValue)"
            }
            html += "<p class=\"meta\">Generated \(escapeHTML(Page.timestamp(generatedAt))). \(runs.count) run\(runs.count == 1 ? "" : "s")"
            html += counts.isEmpty ? "." : " (\(counts.joined(separator: ", ")))."
            html += " Tables: <a href=\"runs.csv\">runs.csv</a>, <a href=\"configurations.csv\">configurations.csv</a>, <a href=\"layer_metrics.csv\">layer_metrics.csv</a>.</p>\n"
            html += "<p class=\"meta\">\(escapeHTML(Page.weightsSentence(runs)))</p>\n"

            if let findings { html += "<h2>What this grid shows</h2>\n<p>\(escapeHTML(findings))</p>\n" }
            html += "<h2>Configurations</h2>\n" + configurationsTable(labels: labels)
            html += "<h2>Runs</h2>\n" + runsTable()

            html += "<h2>Charts</h2>\n"
            for chart in charts {
                if let file = chart.file {
                    html += "<figure class=\"chart\"\(chart.dataIndex.map { " data-chart=\"\($0)\"" } ?? "")><img src=\"\(escapeHTML(file))\" alt=\"\(escapeHTML(chart.caption))\">"
                    html += "<figcaption>\(escapeHTML(chart.caption))\(Page.alternateLinks(chart.alternates))</figcaption>"
                    if let table = chart.dataTable { html += "<details class=\"chart-data\"><summary>Data</summary>\n\(table)</details>" }
                    html += "</figure>\n"
                } else if let note = chart.note {
                    html += "<p class=\"note\">\(escapeHTML(note))</p>\n"
                }
            }

            html += "<h2>Similarity heatmaps</h2>\n"
            if heatmaps.isEmpty {
                html += "<p class=\"note\">No similarity matrices stored for these runs.</p>\n"
            }
            var order: [Int64] = runs.map(\.id).filter { id in heatmaps.contains { $0.runID == id } }
            for entry in heatmaps where !order.contains(entry.runID) { order.append(entry.runID) }
            var shown = Set<Int64>()
            for id in order where shown.insert(id).inserted {
                html += "<h3>Run \(id): \(escapeHTML(labels.long(id)))</h3>\n<div class=\"grid\">\n"
                for entry in heatmaps where entry.runID == id {
                    let caption = "\(entry.layer), \(entry.metric), \(entry.channels) channels"
                    html += "<figure class=\"heatmap\"\(entry.dataIndex.map { " data-heatmap=\"\($0)\"" } ?? "")><a href=\"\(escapeHTML(entry.file))\"><img src=\"\(escapeHTML(entry.file))\" alt=\"\(escapeHTML(caption))\"></a>"
                    html += "<figcaption>\(escapeHTML(caption))\(Page.alternateLinks([entry.file] + entry.alternates))</figcaption></figure>\n"
                }
                html += "</div>\n"
            }
            html += "<script type=\"application/json\" id=\"report-data\">\(interactiveJSON)</script>\n"
            html += "<script src=\"report.js\"></script>\n</body>\n</html>\n"
            return html
        }

        /// " (SVG · PDF)" linking the other formats of a figure, or nothing.
        static func alternateLinks(_ files: [String]) -> String {
            guard !files.isEmpty else { return "" }
            let links = files.map { file in
                let format = file.split(separator: ".").last.map { $0.uppercased() } ?? file
                return "<a href=\"\(escapeHTML(file))\">\(escapeHTML(format))</a>"
            }
            return " <span class=\"formats\">(" + links.joined(separator: " · ") + ")</span>"
        }

        func runsTable() -> String {
            guard !runs.isEmpty else { return "<p class=\"note\">No runs recorded.</p>\n" }
            let header = ["id", "model", "variant", "ratio", "groups", "weights", "status", "reason", "params", "MACs", "FLOPs",
                          "latency (ms)", "accuracy", "images"]
            var html = "<p class=\"table-tools\"><input type=\"search\" class=\"table-filter\" data-table=\"runs-table\" placeholder=\"Filter runs\" aria-label=\"Filter runs\"> <span class=\"filter-count\" data-table=\"runs-table\">\(runs.count) of \(runs.count) runs</span> <span class=\"meta\">Click a column header to sort.</span></p>\n"
            html += "<div class=\"table-wrap\"><table class=\"sortable\" id=\"runs-table\">\n<thead><tr>"
            html += header.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            for run in runs {
                // data-value holds the exact number the column sorts by.
                func numeric(_ text: String, exact: String? = nil, value: String? = nil) -> String {
                    let title = exact.map { " title=\"\(escapeHTML($0))\"" } ?? ""
                    let sortValue = value.map { " data-value=\"\(escapeHTML($0))\"" } ?? ""
                    return "<td class=\"num\"\(title)\(sortValue)>\(escapeHTML(text))</td>"
                }
                func count(_ value: Int?) -> String {
                    numeric(value.map { ChartTicks.compact(Double($0)) } ?? "", exact: value.map { String($0) }, value: value.map { String($0) })
                }
                html += "<tr>" + numeric(String(run.id))
                html += "<td>\(escapeHTML(run.model))</td><td>\(escapeHTML(run.variant))</td>"
                html += numeric(run.ratio.map { CSVWriter.formatG6($0) } ?? "") + numeric(run.groups.map { String($0) } ?? "")
                html += "<td title=\"\(escapeHTML(run.checkpointSHA256.map { "checkpoint SHA-256 \($0)" } ?? run.weightsSHA256.map { "file SHA-256 \($0)" } ?? ""))\">\(escapeHTML(WeightsDescription.short(run)))</td>"
                html += "<td class=\"status-\(escapeHTML(run.status.rawValue))\">\(escapeHTML(run.status.rawValue))</td>"
                html += "<td class=\"reason\">\(escapeHTML(run.reason ?? ""))</td>"
                html += count(run.params) + count(run.macs) + count(run.flops)
                html += numeric(run.latencyMS.map { String(format: "%.3f", $0) } ?? "", value: run.latencyMS.map { "\($0)" })
                html += numeric(run.accuracy.map { String(format: "%.4f", $0) } ?? "", value: run.accuracy.map { "\($0)" })
                html += numeric(String(run.images)) + "</tr>\n"
            }
            return html + "</tbody>\n</table></div>\n"
        }

        /// One sentence on where the runs' weights came from.
        static func weightsSentence(_ runs: [RunRecord]) -> String {
            let done = runs.filter { $0.status == .done }
            let counts = WeightsSource.allCases.compactMap { source -> String? in
                let n = done.filter { $0.weightsSource == source }.count
                return n == 0 ? nil : "\(n) with \(source.rawValue) weights"
            }
            guard !counts.isEmpty else { return "No run is done yet." }
            let mixed = WeightsMixing.isMixed(runs) ? " Random and trained weights are shown together on request; every label marks which is which." : ""
            return "Done runs: \(counts.joined(separator: ", "))." + mixed
        }

        /// The configurations over their seeds: mean ± standard deviation.
        func configurationsTable(labels: RunLabels) -> String {
            guard !summaries.isEmpty else { return "<p class=\"note\">No run is done yet.</p>\n" }
            let metrics = Array(Set(summaries.flatMap { $0.redundancy.keys })).sorted()
            let header = ["configuration", "weights", "seeds", "params", "MACs", "accuracy (%)", "latency (ms)"]
                + metrics.map { "mean |off-diag| \($0)" } + ["runs"]
            var html = "<div class=\"table-wrap\"><table class=\"sortable\" id=\"configurations-table\">\n<thead><tr>"
            html += header.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            for summary in summaries {
                let r = summary.representative
                func cell(_ text: String) -> String { "<td class=\"num\">\(escapeHTML(text))</td>" }
                html += "<tr><td>\(escapeHTML(labels.configuration(r)))</td><td>\(escapeHTML(r.weightsSource.rawValue + (r.trainEpochs.map { ", \($0) epochs" } ?? "")))</td>"
                html += cell(summary.seeds.map { $0.map(String.init) ?? "-" }.joined(separator: ", "))
                html += cell(r.params.map { ChartTicks.compact(Double($0)) } ?? "") + cell(r.macs.map { ChartTicks.compact(Double($0)) } ?? "")
                html += cell(summary.accuracy?.formatted(decimals: 2, scale: 100) ?? "")
                html += cell(summary.latencyMS?.formatted(decimals: 2) ?? "")
                for metric in metrics { html += cell(summary.redundancy[metric]?.formatted(decimals: 3) ?? "") }
                html += cell(summary.runIDs.map(String.init).joined(separator: ", ")) + "</tr>\n"
            }
            return html + "</tbody>\n</table></div>\n<p class=\"meta\">Mean ± sample standard deviation over the seeds of each configuration (one value: no spread). The per-seed runs are listed below.</p>\n"
        }

        /// `date` as `2025-01-31 14:05:09 UTC`.
        static func timestamp(_ date: Date) -> String {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            return String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        }
    }
}

import Foundation

/// `vpt health --output html`: one self-contained page (inline CSS, no scripts, no external
/// assets) with the fleet summary and every check of every tenant.
public enum HealthHTML {
    public static func render(_ report: HealthReport) -> String {
        let generated = ISO8601DateFormatter().string(from: report.generatedAt)
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>vpt health: \(escape(report.status.rawValue)) (\(report.summary.tenants) tenants)</title>
            <style>
            body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1f2328; }
            h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
            table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
            th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
            th { background: #f6f8fa; }
            .status { font-weight: 600; text-transform: uppercase; white-space: nowrap; }
            .status-ok { color: #1a7f37; } .status-warn { color: #9a6700; }
            .status-fail { color: #cf222e; } .status-unknown { color: #6e7781; }
            .badge { display: inline-block; padding: 0 .5rem; border-radius: 1rem; border: 1px solid currentColor; }
            .remedy { color: #57606a; font-size: 90%; }
            code { font-size: 90%; }
            </style>
            </head>
            <body>
            <h1>Fleet health: <span class="status badge status-\(report.status.rawValue)" id="fleet-status" data-status="\(report.status.rawValue)">\(report.status.rawValue)</span></h1>
            <p>Generated \(escape(generated)) in \(String(format: "%.0f", report.durationMs)) ms. Schema <code>\(escape(report.schema))</code>. Exit code \(report.exitCode).</p>
            <table id="summary">
            <thead><tr><th>Tenants</th><th>ok</th><th>warn</th><th>fail</th><th>unknown</th></tr></thead>
            <tbody><tr><td>\(report.summary.tenants)</td><td>\(report.summary.ok)</td><td>\(report.summary.warn)</td><td>\(report.summary.fail)</td><td>\(report.summary.unknown)</td></tr></tbody>
            </table>
            <table id="tenants">
            <thead><tr><th>Tenant</th><th>Status</th><th>Checks not ok</th></tr></thead>
            <tbody>

            """
        for tenant in report.tenants {
            let bad = tenant.checks.filter { $0.status != .ok }.map(\.id)
            html += """
                <tr data-tenant="\(escape(tenant.name))" data-status="\(tenant.status.rawValue)"><td><a href="#tenant-\(escape(tenant.name))">\(escape(tenant.name))</a></td>\
                <td class="status status-\(tenant.status.rawValue)">\(tenant.status.rawValue)</td><td>\(escape(bad.isEmpty ? "none" : bad.joined(separator: ", ")))</td></tr>

                """
        }
        html += "</tbody>\n</table>\n"
        for tenant in report.tenants {
            html += """
                <h2 id="tenant-\(escape(tenant.name))">\(escape(tenant.name)) <span class="status badge status-\(tenant.status.rawValue)">\(tenant.status.rawValue)</span></h2>
                <table class="checks" data-tenant="\(escape(tenant.name))">
                <thead><tr><th>Check</th><th>Status</th><th>Observed</th><th>Threshold</th><th>Remedy</th><th>ms</th></tr></thead>
                <tbody>

                """
            for check in tenant.checks {
                html += """
                    <tr data-check="\(escape(check.id))" data-status="\(check.status.rawValue)"><td><code>\(escape(check.id))</code><br>\(escape(check.title))</td>\
                    <td class="status status-\(check.status.rawValue)">\(check.status.rawValue)</td><td>\(escape(check.observed))</td>\
                    <td>\(escape(check.threshold))</td><td class="remedy">\(escape(check.remedy))</td><td>\(String(format: "%.1f", check.durationMs))</td></tr>

                    """
            }
            html += "</tbody>\n</table>\n"
        }
        html += "</body>\n</html>\n"
        return html
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
